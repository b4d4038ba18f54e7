package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// DefaultTopic is the topic Confluent Schema Registry uses by default.
const DefaultTopic = "_schemas"

var errStoreTimeout = errors.New("timed out waiting for the schema store")

// KafkaStoreConfig configures a KafkaStore.
type KafkaStoreConfig struct {
	Brokers []string
	// Topic defaults to DefaultTopic.
	Topic string
	// ReplicationFactor for a topic this store creates; 0 picks
	// min(3, number of brokers) like Confluent's default of 3 would on a
	// large enough cluster.
	ReplicationFactor int16
	// Sarama is the base client configuration (TLS, SASL, version); nil
	// means sarama's defaults. The store sets the producer and consumer
	// options it depends on.
	Sarama *sarama.Config
	// WriteTimeout bounds how long Append waits for its records to be read
	// back when the caller's context has no deadline; 0 means 30s.
	WriteTimeout time.Duration
	Logger       *slog.Logger
}

// KafkaStore keeps the registry in a single-partition compacted Kafka topic,
// in Confluent's record format. It reads the topic from the start, applies
// every record in order (its own and other registries'), and treats a write
// as done only once it has read it back, so every instance sharing the topic
// converges on the same state.
type KafkaStore struct {
	topic        string
	log          *slog.Logger
	writeTimeout time.Duration

	client   sarama.Client
	producer sarama.SyncProducer
	consumer sarama.Consumer
	pc       sarama.PartitionConsumer
	done     chan struct{}

	mu      sync.RWMutex
	state   *State
	applied int64         // offset of the last applied record, -1 before any
	notify  chan struct{} // closed and replaced whenever applied moves
}

// NewKafkaStore connects, creates the topic if it is missing, and returns
// once the whole existing topic has been applied.
func NewKafkaStore(ctx context.Context, cfg KafkaStoreConfig) (*KafkaStore, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka schema store: no brokers configured")
	}
	topic := cfg.Topic
	if topic == "" {
		topic = DefaultTopic
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conf := sarama.NewConfig()
	if cfg.Sarama != nil {
		c := *cfg.Sarama
		conf = &c
	}
	conf.Producer.Return.Successes = true
	conf.Producer.Return.Errors = true
	conf.Producer.RequiredAcks = sarama.WaitForAll
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	// Idempotence would change nothing for a single synchronous writer and
	// needs broker support some test brokers lack.
	conf.Producer.Idempotent = false
	conf.Consumer.Return.Errors = true
	conf.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Every write waits to read itself back, so a long fetch wait would be
	// paid on each registration.
	conf.Consumer.MaxWaitTime = 50 * time.Millisecond

	client, err := sarama.NewClient(cfg.Brokers, conf)
	if err != nil {
		return nil, fmt.Errorf("kafka schema store: connect to %v: %w", cfg.Brokers, err)
	}
	s := &KafkaStore{
		topic: topic, log: logger, writeTimeout: cfg.WriteTimeout, client: client,
		state: NewState(), applied: -1, notify: make(chan struct{}), done: make(chan struct{}),
	}
	if s.writeTimeout == 0 {
		s.writeTimeout = 30 * time.Second
	}
	if err := s.start(ctx, cfg.ReplicationFactor); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *KafkaStore) start(ctx context.Context, rf int16) error {
	if err := s.ensureTopic(rf); err != nil {
		return err
	}
	var err error
	if s.producer, err = sarama.NewSyncProducerFromClient(s.client); err != nil {
		return fmt.Errorf("kafka schema store: producer for %s: %w", s.topic, err)
	}
	if s.consumer, err = sarama.NewConsumerFromClient(s.client); err != nil {
		return fmt.Errorf("kafka schema store: consumer for %s: %w", s.topic, err)
	}
	if s.pc, err = s.consumer.ConsumePartition(s.topic, 0, sarama.OffsetOldest); err != nil {
		return fmt.Errorf("kafka schema store: consume %s: %w", s.topic, err)
	}
	go s.run()
	if err := s.Sync(ctx); err != nil {
		return fmt.Errorf("kafka schema store: load %s: %w", s.topic, err)
	}
	s.log.Info("schema store loaded", "topic", s.topic)
	return nil
}

// Sync implements Store: it waits until the consumer has applied everything
// up to the topic's current end.
func (s *KafkaStore) Sync(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.writeTimeout)
		defer cancel()
	}
	end, err := s.client.GetOffset(s.topic, 0, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("end offset of %s: %w", s.topic, err)
	}
	if end == 0 {
		return nil
	}
	return s.waitApplied(ctx, end-1)
}

func (s *KafkaStore) ensureTopic(rf int16) error {
	admin, err := sarama.NewClusterAdminFromClient(s.client)
	if err != nil {
		return fmt.Errorf("kafka schema store: admin client: %w", err)
	}
	// admin.Close would close the shared client; it holds nothing else.
	metas, err := admin.DescribeTopics([]string{s.topic})
	if err == nil && len(metas) == 1 && errors.Is(metas[0].Err, sarama.ErrNoError) {
		if n := len(metas[0].Partitions); n != 1 {
			return fmt.Errorf("kafka schema store: topic %s has %d partitions; the schema log needs exactly one", s.topic, n)
		}
		return nil
	}
	if rf == 0 {
		rf = int16(min(3, len(s.client.Brokers())))
	}
	compact := "compact"
	err = admin.CreateTopic(s.topic, &sarama.TopicDetail{
		NumPartitions:     1,
		ReplicationFactor: rf,
		ConfigEntries:     map[string]*string{"cleanup.policy": &compact},
	}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("kafka schema store: create topic %s: %w", s.topic, err)
	}
	s.log.Info("schema store topic created", "topic", s.topic, "replication_factor", rf)
	return s.client.RefreshMetadata(s.topic)
}

func (s *KafkaStore) run() {
	defer close(s.done)
	msgs, errs := s.pc.Messages(), s.pc.Errors()
	for msgs != nil || errs != nil {
		select {
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			s.apply(m)
		case e, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.log.Error("schema store consumer error", "topic", s.topic, "err", e.Err)
		}
	}
}

func (s *KafkaStore) apply(m *sarama.ConsumerMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.state.Apply(m.Key, m.Value); err != nil {
		// One bad record must not stop the registry: Confluent skips them too.
		s.log.Warn("schema store skipped a record", "topic", s.topic, "offset", m.Offset, "err", err)
	}
	s.applied = m.Offset
	close(s.notify)
	s.notify = make(chan struct{})
}

func (s *KafkaStore) waitApplied(ctx context.Context, offset int64) error {
	for {
		s.mu.RLock()
		applied, ch := s.applied, s.notify
		s.mu.RUnlock()
		if applied >= offset {
			return nil
		}
		select {
		case <-ch:
		case <-s.done:
			return errors.New("kafka schema store: consumer stopped")
		case <-ctx.Done():
			return fmt.Errorf("%w: offset %d not yet read back (at %d): %w", errStoreTimeout, offset, applied, ctx.Err())
		}
	}
}

// Append implements Store.
func (s *KafkaStore) Append(ctx context.Context, recs ...Record) error {
	if len(recs) == 0 {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.writeTimeout)
		defer cancel()
	}
	msgs := make([]*sarama.ProducerMessage, 0, len(recs))
	for _, r := range recs {
		k, v, err := r.encode()
		if err != nil {
			return fmt.Errorf("encode %s record: %w", r.Key.KeyType, err)
		}
		m := &sarama.ProducerMessage{Topic: s.topic, Partition: 0, Key: sarama.ByteEncoder(k)}
		if v != nil {
			m.Value = sarama.ByteEncoder(v)
		}
		msgs = append(msgs, m)
	}
	if err := s.producer.SendMessages(msgs); err != nil {
		return fmt.Errorf("write to %s: %w", s.topic, err)
	}
	last := msgs[len(msgs)-1].Offset
	return s.waitApplied(ctx, last)
}

// Read implements Store.
func (s *KafkaStore) Read(fn func(*State)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.state)
}

// Close stops consuming and closes the Kafka clients.
func (s *KafkaStore) Close() error {
	var errs []error
	if s.pc != nil {
		errs = append(errs, s.pc.Close())
		<-s.done
	}
	if s.consumer != nil {
		errs = append(errs, s.consumer.Close())
	}
	if s.producer != nil {
		errs = append(errs, s.producer.Close())
	}
	errs = append(errs, s.client.Close())
	return errors.Join(errs...)
}

// KafkaClusterID returns the id of the Kafka cluster holding the topic, as
// Confluent's /v1/metadata/id reports it.
func (s *KafkaStore) KafkaClusterID(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	b, err := s.client.Controller()
	if err != nil {
		return "", fmt.Errorf("find the controller: %w", err)
	}
	resp, err := b.GetMetadata(&sarama.MetadataRequest{Version: 2, Topics: []string{s.topic}})
	if err != nil {
		return "", fmt.Errorf("metadata request: %w", err)
	}
	if resp.ClusterID == nil {
		return "", nil
	}
	return *resp.ClusterID, nil
}
