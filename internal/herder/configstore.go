package herder

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"sort"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/herder/kafkalog"
)

// Config topic record keys, as Kafka Connect's KafkaConfigBackingStore
// writes them.
const (
	connectorPrefix   = "connector-"
	taskPrefix        = "task-"
	commitPrefix      = "commit-"
	targetStatePrefix = "target-state-"
	restartPrefix     = "restart-connector-"
	loggerPrefix      = "logger-cluster-"
	taskCountPrefix   = "tasks-fencing-"
	sessionKeyKey     = "session-key"
)

// Record values are Kafka Connect's schemaless JsonConverter output.
type propertiesRecord struct {
	Properties map[string]*string `json:"properties"`
}

type commitRecord struct {
	Tasks int32 `json:"tasks"`
}

type targetStateRecord struct {
	State   string  `json:"state"`
	StateV2 *string `json:"state.v2,omitempty"`
}

type restartRecord struct {
	IncludeTasks *bool `json:"include-tasks"`
	OnlyFailed   *bool `json:"only-failed"`
}

type loggerRecord struct {
	Level string `json:"level"`
}

func encodeProperties(props map[string]string) []byte {
	rec := propertiesRecord{Properties: make(map[string]*string, len(props))}
	for k, v := range props {
		v := v
		rec.Properties[k] = &v
	}
	b, _ := json.Marshal(rec) // maps of strings always encode
	return b
}

func encodeTargetState(s TargetState) []byte {
	// Workers older than KIP-875 know no STOPPED; they read "state" and
	// see PAUSED, which is what Kafka Connect writes there too.
	old := string(s)
	if s == TargetStopped {
		old = string(TargetPaused)
	}
	v2 := string(s)
	b, _ := json.Marshal(targetStateRecord{State: old, StateV2: &v2})
	return b
}

// ClusterConfig is a consistent snapshot of the config topic.
type ClusterConfig struct {
	// Offset is the offset after the last applied record, the
	// config-offset carried in group metadata.
	Offset      int64
	Connectors  map[string]map[string]string
	Targets     map[string]TargetState
	TaskConfigs map[TaskID]map[string]string
	TaskCounts  map[string]int
	// Inconsistent connectors had a task commit whose task configs were
	// incomplete (compaction or a leader dying mid-write); the leader
	// regenerates their tasks.
	Inconsistent map[string]bool
}

func newClusterConfig() *ClusterConfig {
	return &ClusterConfig{Offset: -1, Connectors: map[string]map[string]string{}, Targets: map[string]TargetState{},
		TaskConfigs: map[TaskID]map[string]string{}, TaskCounts: map[string]int{}, Inconsistent: map[string]bool{}}
}

func (c *ClusterConfig) clone() *ClusterConfig {
	out := &ClusterConfig{Offset: c.Offset, Connectors: make(map[string]map[string]string, len(c.Connectors)),
		Targets: maps.Clone(c.Targets), TaskConfigs: make(map[TaskID]map[string]string, len(c.TaskConfigs)),
		TaskCounts: maps.Clone(c.TaskCounts), Inconsistent: maps.Clone(c.Inconsistent)}
	for k, v := range c.Connectors {
		out.Connectors[k] = maps.Clone(v)
	}
	for k, v := range c.TaskConfigs {
		out.TaskConfigs[k] = maps.Clone(v)
	}
	return out
}

// Contains reports whether connector is configured.
func (c *ClusterConfig) Contains(connector string) bool { _, ok := c.Connectors[connector]; return ok }

// Names returns the configured connectors, sorted.
func (c *ClusterConfig) Names() []string {
	out := make([]string, 0, len(c.Connectors))
	for n := range c.Connectors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Target returns the connector's target state (STARTED by default).
func (c *ClusterConfig) Target(connector string) TargetState {
	if t, ok := c.Targets[connector]; ok {
		return t
	}
	return TargetStarted
}

// Tasks returns the connector's committed tasks, none while inconsistent.
func (c *ClusterConfig) Tasks(connector string) []TaskID {
	if c.Inconsistent[connector] {
		return nil
	}
	n := c.TaskCounts[connector]
	out := make([]TaskID, 0, n)
	for i := 0; i < n; i++ {
		id := TaskID{connector, i}
		if _, ok := c.TaskConfigs[id]; ok {
			out = append(out, id)
		}
	}
	return out
}

// configEventKind says what changed in the config topic.
type configEventKind int

const (
	evConnectorUpdated configEventKind = iota
	evConnectorRemoved
	evTasksCommitted
	evTargetChanged
	evRestart
	evLoggerLevel
)

type configEvent struct {
	kind      configEventKind
	connector string
	restart   RestartRequest
	namespace string
	level     string
}

// configState applies config topic records exactly as Kafka Connect's
// KafkaConfigBackingStore does (task configs are buffered until their
// commit record, tombstones remove connectors, target states default to
// STARTED). Both stores use it so that standalone and distributed mode
// interpret records identically.
type configState struct {
	cc       *ClusterConfig
	deferred map[string]map[TaskID]map[string]string
	log      *slog.Logger
}

func newConfigState(log *slog.Logger) *configState {
	return &configState{cc: newClusterConfig(), deferred: map[string]map[TaskID]map[string]string{}, log: log}
}

func decodeProperties(value []byte) (map[string]string, error) {
	var rec propertiesRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return nil, err
	}
	if rec.Properties == nil {
		return nil, fmt.Errorf("'properties' field is missing")
	}
	out := make(map[string]string, len(rec.Properties))
	for k, v := range rec.Properties {
		if v != nil {
			out[k] = *v
		}
	}
	return out, nil
}

// apply processes one record at offset and returns the resulting events.
func (s *configState) apply(key string, value []byte, offset int64) []configEvent {
	s.cc.Offset = offset + 1
	bad := func(err error) []configEvent {
		s.log.Error("ignoring config record in the wrong format", "key", key, "error", err)
		return nil
	}
	switch {
	case strings.HasPrefix(key, targetStatePrefix):
		name := strings.TrimPrefix(key, targetStatePrefix)
		if value == nil {
			delete(s.cc.Targets, name)
			if s.cc.Contains(name) {
				s.cc.Targets[name] = TargetStarted
			}
			return nil
		}
		var rec targetStateRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return bad(err)
		}
		st := rec.State
		if rec.StateV2 != nil && *rec.StateV2 != "" {
			st = *rec.StateV2
		}
		ts := TargetState(st)
		if ts != TargetStarted && ts != TargetPaused && ts != TargetStopped {
			return bad(fmt.Errorf("invalid target state %q", st))
		}
		prev, had := s.cc.Targets[name]
		s.cc.Targets[name] = ts
		if s.cc.Contains(name) && (!had || prev != ts) {
			return []configEvent{{kind: evTargetChanged, connector: name}}
		}
		return nil
	case strings.HasPrefix(key, connectorPrefix):
		name := strings.TrimPrefix(key, connectorPrefix)
		if value == nil {
			s.removeConnector(name)
			return []configEvent{{kind: evConnectorRemoved, connector: name}}
		}
		props, err := decodeProperties(value)
		if err != nil {
			return bad(err)
		}
		s.cc.Connectors[name] = props
		if _, ok := s.cc.Targets[name]; !ok {
			s.cc.Targets[name] = TargetStarted
		}
		return []configEvent{{kind: evConnectorUpdated, connector: name}}
	case strings.HasPrefix(key, taskPrefix):
		id, ok := parseTaskSuffix(strings.TrimPrefix(key, taskPrefix))
		if !ok {
			return bad(fmt.Errorf("cannot parse task id"))
		}
		if value == nil {
			return bad(fmt.Errorf("unexpected tombstone for task configuration"))
		}
		props, err := decodeProperties(value)
		if err != nil {
			return bad(err)
		}
		d := s.deferred[id.Connector]
		if d == nil {
			d = map[TaskID]map[string]string{}
			s.deferred[id.Connector] = d
		}
		d[id] = props
		return nil
	case strings.HasPrefix(key, commitPrefix):
		name := strings.TrimPrefix(key, commitPrefix)
		if value == nil {
			return nil
		}
		var rec commitRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return bad(err)
		}
		if !s.cc.Contains(name) {
			// Deleted before its tasks were published, and compaction
			// removed both the config and its tombstone.
			s.removeConnector(name)
			return nil
		}
		d := s.deferred[name]
		n := int(rec.Tasks)
		complete := true
		for i := 0; i < n; i++ {
			if _, ok := d[TaskID{name, i}]; !ok {
				complete = false
			}
		}
		for id := range d {
			if id.Task >= n {
				complete = false
			}
		}
		if !complete {
			s.cc.Inconsistent[name] = true
		} else {
			for id := range s.cc.TaskConfigs {
				if id.Connector == name && id.Task >= n {
					delete(s.cc.TaskConfigs, id)
				}
			}
			for id, p := range d {
				s.cc.TaskConfigs[id] = p
			}
			delete(s.cc.Inconsistent, name)
		}
		delete(s.deferred, name)
		s.cc.TaskCounts[name] = n
		return []configEvent{{kind: evTasksCommitted, connector: name}}
	case strings.HasPrefix(key, restartPrefix):
		name := strings.TrimPrefix(key, restartPrefix)
		if value == nil {
			return nil
		}
		var rec restartRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return bad(err)
		}
		r := RestartRequest{Connector: name}
		if rec.IncludeTasks != nil {
			r.IncludeTasks = *rec.IncludeTasks
		}
		if rec.OnlyFailed != nil {
			r.OnlyFailed = *rec.OnlyFailed
		}
		return []configEvent{{kind: evRestart, connector: name, restart: r}}
	case strings.HasPrefix(key, loggerPrefix):
		ns := strings.TrimPrefix(key, loggerPrefix)
		if value == nil {
			return nil
		}
		var rec loggerRecord
		if err := json.Unmarshal(value, &rec); err != nil {
			return bad(err)
		}
		return []configEvent{{kind: evLoggerLevel, namespace: ns, level: rec.Level}}
	case strings.HasPrefix(key, taskCountPrefix), key == sessionKeyKey:
		// Exactly-once fencing counts and internal-request session keys of
		// Kafka Connect workers: understood, not used by Tributary.
		return nil
	}
	s.log.Error("discarding config record with an unknown key", "key", key)
	return nil
}

func (s *configState) removeConnector(name string) {
	delete(s.cc.Connectors, name)
	delete(s.cc.Targets, name)
	delete(s.cc.TaskCounts, name)
	delete(s.cc.Inconsistent, name)
	delete(s.deferred, name)
	for id := range s.cc.TaskConfigs {
		if id.Connector == name {
			delete(s.cc.TaskConfigs, id)
		}
	}
}

// ConfigStore holds connector configurations, task configurations and
// target states.
type ConfigStore interface {
	Snapshot() *ClusterConfig
	// Refresh waits until every record written before the call is applied.
	Refresh(ctx context.Context) error
	PutConnectorConfig(ctx context.Context, name string, props map[string]string, target TargetState) error
	RemoveConnector(ctx context.Context, name string) error
	PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error
	PutTargetState(ctx context.Context, name string, s TargetState) error
	PutRestartRequest(ctx context.Context, r RestartRequest) error
	PutLoggerLevel(ctx context.Context, namespace, level string) error
	// SetListener registers the function receiving changes; it is called
	// with the store's lock held and must not block or call back.
	SetListener(func(configEvent))
	Close() error
}

type kv struct {
	key   string
	value []byte
}

func restartValue(r RestartRequest) []byte {
	b, _ := json.Marshal(restartRecord{IncludeTasks: &r.IncludeTasks, OnlyFailed: &r.OnlyFailed})
	return b
}

func loggerValue(level string) []byte {
	b, _ := json.Marshal(loggerRecord{Level: level})
	return b
}

func taskRecords(name string, configs []map[string]string) []kv {
	out := make([]kv, 0, len(configs))
	for i, c := range configs {
		out = append(out, kv{fmt.Sprintf("%s%s-%d", taskPrefix, name, i), encodeProperties(c)})
	}
	return out
}

func commitValue(n int) []byte {
	b, _ := json.Marshal(commitRecord{Tasks: int32(n)})
	return b
}

// MemoryConfigStore is standalone mode's store: changes made through the
// REST API live as long as the process, as in Kafka Connect standalone.
// It runs the same record path as the Kafka store.
type MemoryConfigStore struct {
	mu       sync.Mutex
	state    *configState
	next     int64
	listener func(configEvent)
}

// NewMemoryConfigStore returns an empty store.
func NewMemoryConfigStore(log *slog.Logger) *MemoryConfigStore {
	if log == nil {
		log = slog.Default()
	}
	return &MemoryConfigStore{state: newConfigState(log)}
}

func (m *MemoryConfigStore) write(recs ...kv) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		evs := m.state.apply(r.key, r.value, m.next)
		m.next++
		if m.listener != nil {
			for _, e := range evs {
				m.listener(e)
			}
		}
	}
}

func (m *MemoryConfigStore) Snapshot() *ClusterConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.cc.clone()
}

func (m *MemoryConfigStore) Refresh(context.Context) error { return nil }

func (m *MemoryConfigStore) PutConnectorConfig(_ context.Context, name string, props map[string]string, target TargetState) error {
	var recs []kv
	if target != "" {
		recs = append(recs, kv{targetStatePrefix + name, encodeTargetState(target)})
	}
	m.write(append(recs, kv{connectorPrefix + name, encodeProperties(props)})...)
	return nil
}

func (m *MemoryConfigStore) RemoveConnector(_ context.Context, name string) error {
	m.write(kv{connectorPrefix + name, nil}, kv{targetStatePrefix + name, nil})
	return nil
}

func (m *MemoryConfigStore) PutTaskConfigs(_ context.Context, name string, configs []map[string]string) error {
	m.write(append(taskRecords(name, configs), kv{commitPrefix + name, commitValue(len(configs))})...)
	return nil
}

func (m *MemoryConfigStore) PutTargetState(_ context.Context, name string, s TargetState) error {
	m.write(kv{targetStatePrefix + name, encodeTargetState(s)})
	return nil
}

func (m *MemoryConfigStore) PutRestartRequest(_ context.Context, r RestartRequest) error {
	m.write(kv{restartPrefix + r.Connector, restartValue(r)})
	return nil
}

func (m *MemoryConfigStore) PutLoggerLevel(_ context.Context, ns, level string) error {
	m.write(kv{loggerPrefix + ns, loggerValue(level)})
	return nil
}

func (m *MemoryConfigStore) SetListener(f func(configEvent)) {
	m.mu.Lock()
	m.listener = f
	m.mu.Unlock()
}

func (m *MemoryConfigStore) Close() error { return nil }

// KafkaConfigStore is Kafka Connect's KafkaConfigBackingStore on
// config.storage.topic (one partition, compacted).
type KafkaConfigStore struct {
	log *kafkalog.Log

	mu       sync.Mutex
	state    *configState
	listener func(configEvent)
	started  bool
}

// OpenKafkaConfigStore reads the config topic to its end and keeps
// tailing it.
func OpenKafkaConfigStore(ctx context.Context, brokers []string, sc *sarama.Config, topic string, logger *slog.Logger) (*KafkaConfigStore, error) {
	if logger == nil {
		logger = slog.Default()
	}
	s := &KafkaConfigStore{state: newConfigState(logger)}
	l, err := kafkalog.Open(ctx, kafkalog.Options{Brokers: brokers, Config: sc, Topic: topic, Partitions: 1, Logger: logger,
		Apply: func(r kafkalog.Record) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if r.Key == nil {
				logger.Error("discarding config record without key", "offset", r.Offset)
				return
			}
			evs := s.state.apply(string(r.Key), r.Value, r.Offset)
			// Like Kafka Connect, changes read while catching up at start
			// are not events: the herder starts from the snapshot.
			if s.started && s.listener != nil {
				for _, e := range evs {
					s.listener(e)
				}
			}
		}})
	if err != nil {
		return nil, fmt.Errorf("config store: %w", err)
	}
	if n := l.Partitions(); n > 1 {
		l.Close()
		return nil, fmt.Errorf("topic '%s' supplied via the 'config.storage.topic' property is required to have a single partition in order to guarantee consistency of connector configurations, but found %d partitions", topic, n)
	}
	s.log = l
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	return s, nil
}

func (s *KafkaConfigStore) Snapshot() *ClusterConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.cc.clone()
}

func (s *KafkaConfigStore) Refresh(ctx context.Context) error { return s.log.ReadToEnd(ctx) }

func (s *KafkaConfigStore) send(ctx context.Context, recs ...kv) error {
	for _, r := range recs {
		if err := s.log.Send(ctx, []byte(r.key), r.value); err != nil {
			return fmt.Errorf("writing %s to the config topic: %w", r.key, err)
		}
	}
	return s.log.ReadToEnd(ctx)
}

func (s *KafkaConfigStore) PutConnectorConfig(ctx context.Context, name string, props map[string]string, target TargetState) error {
	var recs []kv
	if target != "" {
		recs = append(recs, kv{targetStatePrefix + name, encodeTargetState(target)})
	}
	return s.send(ctx, append(recs, kv{connectorPrefix + name, encodeProperties(props)})...)
}

func (s *KafkaConfigStore) RemoveConnector(ctx context.Context, name string) error {
	return s.send(ctx, kv{connectorPrefix + name, nil}, kv{targetStatePrefix + name, nil})
}

func (s *KafkaConfigStore) PutTaskConfigs(ctx context.Context, name string, configs []map[string]string) error {
	if err := s.log.ReadToEnd(ctx); err != nil {
		return err
	}
	if err := s.send(ctx, taskRecords(name, configs)...); err != nil {
		return err
	}
	return s.send(ctx, kv{commitPrefix + name, commitValue(len(configs))})
}

func (s *KafkaConfigStore) PutTargetState(ctx context.Context, name string, st TargetState) error {
	return s.send(ctx, kv{targetStatePrefix + name, encodeTargetState(st)})
}

func (s *KafkaConfigStore) PutRestartRequest(ctx context.Context, r RestartRequest) error {
	return s.send(ctx, kv{restartPrefix + r.Connector, restartValue(r)})
}

func (s *KafkaConfigStore) PutLoggerLevel(ctx context.Context, ns, level string) error {
	return s.send(ctx, kv{loggerPrefix + ns, loggerValue(level)})
}

func (s *KafkaConfigStore) SetListener(f func(configEvent)) {
	s.mu.Lock()
	s.listener = f
	s.mu.Unlock()
}

func (s *KafkaConfigStore) Close() error { return s.log.Close() }
