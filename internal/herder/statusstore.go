package herder

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/herder/kafkalog"
)

// Status topic keys, as Kafka Connect's KafkaStatusBackingStore writes them.
const (
	connectorStatusPrefix = "status-connector-"
	taskStatusPrefix      = "status-task-"
	topicStatusPrefix     = "status-topic-"
	topicStatusSeparator  = ":connector-"
)

// Status is a connector's or task's reported state.
type Status struct {
	State      State
	Trace      string
	WorkerID   string
	Generation int32
}

// TopicStatus records that a connector's task used a topic (KIP-558).
type TopicStatus struct {
	Topic             string
	Connector         string
	Task              int
	DiscoverTimestamp int64
}

// statusRecord is STATUS_SCHEMA_V0 through the schemaless JsonConverter;
// field order matches the schema.
type statusRecord struct {
	State      string  `json:"state"`
	Trace      *string `json:"trace"`
	WorkerID   string  `json:"worker_id"`
	Generation int32   `json:"generation"`
}

type topicStatusValue struct {
	Name              string `json:"name"`
	Connector         string `json:"connector"`
	Task              int32  `json:"task"`
	DiscoverTimestamp int64  `json:"discoverTimestamp"`
}

type topicStatusRecord struct {
	Topic topicStatusValue `json:"topic"`
}

func encodeStatus(s Status) []byte {
	rec := statusRecord{State: string(s.State), WorkerID: s.WorkerID, Generation: s.Generation}
	if s.Trace != "" {
		t := s.Trace
		rec.Trace = &t
	}
	b, _ := json.Marshal(rec)
	return b
}

func decodeStatus(b []byte) (Status, error) {
	var rec statusRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return Status{}, err
	}
	s := Status{State: State(rec.State), WorkerID: rec.WorkerID, Generation: rec.Generation}
	if rec.Trace != nil {
		s.Trace = *rec.Trace
	}
	return s, nil
}

// StatusStore records connector, task and topic statuses.
type StatusStore interface {
	PutConnector(ctx context.Context, name string, s Status) error
	PutTask(ctx context.Context, id TaskID, s Status) error
	// DeleteConnector removes the connector's and its tasks' statuses.
	DeleteConnector(ctx context.Context, name string, tasks []TaskID) error
	PutTopic(ctx context.Context, t TopicStatus) error
	DeleteTopic(ctx context.Context, connector, topic string) error
	Connector(name string) (Status, bool)
	Task(id TaskID) (Status, bool)
	Tasks(connector string) map[int]Status
	Topics(connector string) []TopicStatus
	Close() error
}

type statusState struct {
	connectors map[string]Status
	tasks      map[string]map[int]Status
	topics     map[string]map[string]TopicStatus
}

func newStatusState() *statusState {
	return &statusState{connectors: map[string]Status{}, tasks: map[string]map[int]Status{}, topics: map[string]map[string]TopicStatus{}}
}

func (s *statusState) apply(key string, value []byte, log *slog.Logger) {
	switch {
	case strings.HasPrefix(key, connectorStatusPrefix):
		name := strings.TrimPrefix(key, connectorStatusPrefix)
		if value == nil {
			delete(s.connectors, name)
			return
		}
		st, err := decodeStatus(value)
		if err != nil {
			log.Error("ignoring unreadable connector status", "key", key, "error", err)
			return
		}
		s.connectors[name] = st
	case strings.HasPrefix(key, taskStatusPrefix):
		id, ok := parseTaskSuffix(strings.TrimPrefix(key, taskStatusPrefix))
		if !ok {
			log.Error("ignoring task status with an unreadable key", "key", key)
			return
		}
		if value == nil {
			if m := s.tasks[id.Connector]; m != nil {
				delete(m, id.Task)
			}
			return
		}
		st, err := decodeStatus(value)
		if err != nil {
			log.Error("ignoring unreadable task status", "key", key, "error", err)
			return
		}
		m := s.tasks[id.Connector]
		if m == nil {
			m = map[int]Status{}
			s.tasks[id.Connector] = m
		}
		m[id.Task] = st
	case strings.HasPrefix(key, topicStatusPrefix):
		rest := strings.TrimPrefix(key, topicStatusPrefix)
		i := strings.Index(rest, topicStatusSeparator)
		if i < 0 {
			log.Error("ignoring topic status with an unreadable key", "key", key)
			return
		}
		topic, conn := rest[:i], rest[i+len(topicStatusSeparator):]
		if value == nil {
			delete(s.topics[conn], topic)
			return
		}
		var rec topicStatusRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			log.Error("ignoring unreadable topic status", "key", key, "error", err)
			return
		}
		m := s.topics[conn]
		if m == nil {
			m = map[string]TopicStatus{}
			s.topics[conn] = m
		}
		m[topic] = TopicStatus{Topic: rec.Topic.Name, Connector: rec.Topic.Connector, Task: int(rec.Topic.Task), DiscoverTimestamp: rec.Topic.DiscoverTimestamp}
	default:
		log.Warn("discarding status record with an unknown key", "key", key)
	}
}

func (s *statusState) tasksOf(connector string) map[int]Status {
	out := map[int]Status{}
	for k, v := range s.tasks[connector] {
		out[k] = v
	}
	return out
}

func (s *statusState) topicsOf(connector string) []TopicStatus {
	var out []TopicStatus
	for _, t := range s.topics[connector] {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out
}

func taskStatusKey(id TaskID) string { return taskStatusPrefix + id.String() }

func topicStatusKey(connector, topic string) string {
	return topicStatusPrefix + topic + topicStatusSeparator + connector
}

func encodeTopicStatus(t TopicStatus) []byte {
	b, _ := json.Marshal(topicStatusRecord{Topic: topicStatusValue{Name: t.Topic, Connector: t.Connector, Task: int32(t.Task), DiscoverTimestamp: t.DiscoverTimestamp}})
	return b
}

// statusStoreBase implements the reads and the record encoding; write
// sends the records.
type statusStoreBase struct {
	mu    sync.Mutex
	state *statusState
	log   *slog.Logger
	write func(ctx context.Context, recs []kv) error
}

func (b *statusStoreBase) applyLocal(recs []kv) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range recs {
		b.state.apply(r.key, r.value, b.log)
	}
}

func (b *statusStoreBase) PutConnector(ctx context.Context, name string, s Status) error {
	var v []byte
	if s.State != StateDestroyed {
		v = encodeStatus(s)
	}
	return b.write(ctx, []kv{{connectorStatusPrefix + name, v}})
}

func (b *statusStoreBase) PutTask(ctx context.Context, id TaskID, s Status) error {
	var v []byte
	if s.State != StateDestroyed {
		v = encodeStatus(s)
	}
	return b.write(ctx, []kv{{taskStatusKey(id), v}})
}

func (b *statusStoreBase) DeleteConnector(ctx context.Context, name string, tasks []TaskID) error {
	recs := []kv{{connectorStatusPrefix + name, nil}}
	b.mu.Lock()
	seen := map[int]bool{}
	for _, id := range tasks {
		seen[id.Task] = true
		recs = append(recs, kv{taskStatusKey(id), nil})
	}
	for n := range b.state.tasks[name] {
		if !seen[n] {
			recs = append(recs, kv{taskStatusKey(TaskID{name, n}), nil})
		}
	}
	for topic := range b.state.topics[name] {
		recs = append(recs, kv{topicStatusKey(name, topic), nil})
	}
	b.mu.Unlock()
	return b.write(ctx, recs)
}

func (b *statusStoreBase) PutTopic(ctx context.Context, t TopicStatus) error {
	return b.write(ctx, []kv{{topicStatusKey(t.Connector, t.Topic), encodeTopicStatus(t)}})
}

func (b *statusStoreBase) DeleteTopic(ctx context.Context, connector, topic string) error {
	return b.write(ctx, []kv{{topicStatusKey(connector, topic), nil}})
}

func (b *statusStoreBase) Connector(name string) (Status, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.state.connectors[name]
	return s, ok
}

func (b *statusStoreBase) Task(id TaskID) (Status, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.state.tasks[id.Connector][id.Task]
	return s, ok
}

func (b *statusStoreBase) Tasks(connector string) map[int]Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state.tasksOf(connector)
}

func (b *statusStoreBase) Topics(connector string) []TopicStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state.topicsOf(connector)
}

// MemoryStatusStore is standalone mode's status store.
type MemoryStatusStore struct{ statusStoreBase }

// NewMemoryStatusStore returns an empty store.
func NewMemoryStatusStore(log *slog.Logger) *MemoryStatusStore {
	if log == nil {
		log = slog.Default()
	}
	m := &MemoryStatusStore{statusStoreBase{state: newStatusState(), log: log}}
	m.write = func(_ context.Context, recs []kv) error { m.applyLocal(recs); return nil }
	return m
}

func (m *MemoryStatusStore) Close() error { return nil }

// KafkaStatusStore is Kafka Connect's KafkaStatusBackingStore on
// status.storage.topic. Writes are applied locally at once, so this
// worker's API reflects them immediately, and become visible to the other
// workers when they read them back.
type KafkaStatusStore struct {
	statusStoreBase
	klog *kafkalog.Log
}

// OpenKafkaStatusStore reads the status topic and keeps tailing it.
func OpenKafkaStatusStore(ctx context.Context, brokers []string, sc *sarama.Config, topic string, partitions int32, logger *slog.Logger) (*KafkaStatusStore, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if partitions <= 0 {
		partitions = 5
	}
	s := &KafkaStatusStore{statusStoreBase: statusStoreBase{state: newStatusState(), log: logger}}
	l, err := kafkalog.Open(ctx, kafkalog.Options{Brokers: brokers, Config: sc, Topic: topic, Partitions: partitions, Logger: logger,
		Apply: func(r kafkalog.Record) {
			if r.Key == nil {
				return
			}
			s.applyLocal([]kv{{string(r.Key), r.Value}})
		}})
	if err != nil {
		return nil, fmt.Errorf("status store: %w", err)
	}
	s.klog = l
	s.write = func(ctx context.Context, recs []kv) error {
		for _, r := range recs {
			if err := l.Send(ctx, []byte(r.key), r.value); err != nil {
				return fmt.Errorf("status store: writing %s: %w", r.key, err)
			}
		}
		s.applyLocal(recs)
		return nil
	}
	return s, nil
}

// Refresh reads the status topic to its end.
func (s *KafkaStatusStore) Refresh(ctx context.Context) error { return s.klog.ReadToEnd(ctx) }

func (s *KafkaStatusStore) Close() error { return s.klog.Close() }
