// Package kafkalog is Kafka Connect's KafkaBasedLog: a topic read from the
// beginning and then tailed in the background, with synchronous writes and
// a read-to-end barrier. It backs the config, status and offset stores of
// distributed mode, whose records must be seen by every worker in order.
package kafkalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/kafka"
)

// Record is one record read from the log.
type Record struct {
	Key, Value []byte
	Partition  int32
	Offset     int64
}

// Options configure a Log.
type Options struct {
	Brokers []string
	// Config is the base client configuration (security settings); Open
	// copies it.
	Config *sarama.Config
	Topic  string
	// Partitions is used when the topic has to be created (compacted).
	Partitions int32
	// Apply is called for every record, one at a time, in offset order
	// within a partition. It must not call back into the Log.
	Apply  func(Record)
	Logger *slog.Logger
	// ReadCommitted reads only records of committed transactions
	// (isolation.level=read_committed), as Kafka Connect reads its offsets
	// topic when exactly-once source support is enabled.
	ReadCommitted bool
}

// Log tails one topic.
type Log struct {
	topic    string
	client   sarama.Client
	consumer sarama.Consumer
	raw      *kafka.Raw
	apply    func(Record)
	log      *slog.Logger

	mu  sync.Mutex
	pos map[int32]int64 // next offset to read, per partition
	// hwm reports, per partition, the high-water mark of the consumer's
	// last fetch (read_committed only; see ReadToEnd).
	hwm           map[int32]func() int64
	readCommitted bool
	progress      chan struct{} // closed and replaced whenever pos advances

	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// idleGrace is how long ReadToEnd waits without progress before accepting
// a partition whose high-water mark it cannot reach by reading records:
// transaction markers written by exactly-once Kafka Connect workers occupy
// offsets but are never delivered as records.
const idleGrace = 2 * time.Second

// committedQuiet is how long a read_committed log must deliver nothing
// after its fetches reached the end before ReadToEnd accepts the end: a
// few fetch waits (MaxWaitTime 100 ms), since a fetch that reached the
// high-water mark delivers any record below it in the same response.
const committedQuiet = 300 * time.Millisecond

// Open creates the topic if it is missing (compacted), starts tailing it
// from the beginning and returns once everything present at the time of
// the call has been applied.
func Open(ctx context.Context, o Options) (*Log, error) {
	if o.Topic == "" {
		return nil, errors.New("kafkalog: topic is required")
	}
	sc := *o.Config
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.AutoCommit.Enable = false
	sc.Consumer.MaxWaitTime = 100 * time.Millisecond
	if o.ReadCommitted {
		sc.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	client, err := sarama.NewClient(o.Brokers, &sc)
	if err != nil {
		return nil, fmt.Errorf("topic %s: connecting to kafka: %w", o.Topic, err)
	}
	parts := o.Partitions
	if parts <= 0 {
		parts = 1
	}
	if err := kafka.CreateCompacted(client, o.Topic, parts, true); err != nil {
		client.Close()
		return nil, err
	}
	raw, err := kafka.NewRaw(o.Brokers, &sc)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("topic %s: %w", o.Topic, err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	l := &Log{topic: o.Topic, client: client, raw: raw, apply: o.Apply, log: logger.With("topic", o.Topic),
		pos: map[int32]int64{}, hwm: map[int32]func() int64{}, readCommitted: o.ReadCommitted, progress: make(chan struct{})}
	if err := l.start(ctx); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.ReadToEnd(ctx); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Log) start(ctx context.Context) error {
	var parts []int32
	var err error
	// A topic created a moment ago may not be in the metadata yet.
	for attempt := 0; ; attempt++ {
		if err = l.client.RefreshMetadata(l.topic); err == nil {
			if parts, err = l.client.Partitions(l.topic); err == nil && len(parts) > 0 {
				break
			}
		}
		if attempt >= 50 {
			return fmt.Errorf("topic %s: reading partitions: %v", l.topic, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	consumer, err := sarama.NewConsumerFromClient(l.client)
	if err != nil {
		return fmt.Errorf("topic %s: %w", l.topic, err)
	}
	l.consumer = consumer
	runCtx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	for _, p := range parts {
		oldest, err := l.client.GetOffset(l.topic, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("topic %s partition %d: start offset: %w", l.topic, p, err)
		}
		pc, err := consumer.ConsumePartition(l.topic, p, oldest)
		if err != nil {
			return fmt.Errorf("topic %s partition %d: %w", l.topic, p, err)
		}
		l.mu.Lock()
		l.pos[p] = oldest
		l.hwm[p] = pc.HighWaterMarkOffset
		l.mu.Unlock()
		l.wg.Add(1)
		go l.tail(runCtx, p, pc)
	}
	return nil
}

func (l *Log) tail(ctx context.Context, p int32, pc sarama.PartitionConsumer) {
	defer l.wg.Done()
	defer pc.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-pc.Messages():
			if !ok {
				return
			}
			l.mu.Lock()
			if l.apply != nil {
				l.apply(Record{Key: m.Key, Value: m.Value, Partition: p, Offset: m.Offset})
			}
			l.pos[p] = m.Offset + 1
			close(l.progress)
			l.progress = make(chan struct{})
			l.mu.Unlock()
		case e, ok := <-pc.Errors():
			if !ok {
				return
			}
			l.log.Warn("error reading internal topic", "partition", p, "error", e.Err)
		}
	}
}

// Partitions returns the number of partitions being tailed.
func (l *Log) Partitions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pos)
}

// ReadToEnd waits until every record written before the call has been
// applied.
func (l *Log) ReadToEnd(ctx context.Context) error {
	l.mu.Lock()
	parts := make([]int32, 0, len(l.pos))
	for p := range l.pos {
		parts = append(parts, p)
	}
	l.mu.Unlock()
	ends := make(map[int32]int64, len(parts))
	for _, p := range parts {
		hw, err := l.client.GetOffset(l.topic, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("topic %s partition %d: reading end offset: %w", l.topic, p, err)
		}
		ends[p] = hw
	}
	idle := time.NewTimer(idleGrace)
	defer idle.Stop()
	// At read_committed every committed transaction leaves a marker at the
	// end, so the end is normally never reached by records. Once the
	// consumer's fetches report a high-water mark at or past the end and
	// deliver nothing more for a short while, the rest is markers and
	// aborted records: waiting the whole idleGrace would delay every task
	// start of an exactly-once worker.
	var quiet <-chan time.Time
	if l.readCommitted {
		t := time.NewTicker(committedQuiet)
		defer t.Stop()
		quiet = t.C
	}
	lastProgress := time.Now()
	for {
		l.mu.Lock()
		behind := false
		for p, end := range ends {
			if l.pos[p] < end && !(l.readCommitted && l.hwm[p]() >= end && time.Since(lastProgress) >= committedQuiet) {
				behind = true
				break
			}
		}
		wait := l.progress
		l.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-quiet:
		case <-wait:
			lastProgress = time.Now()
			if !idle.Stop() {
				<-idle.C
			}
			idle.Reset(idleGrace)
		case <-idle.C:
			l.log.Debug("no progress towards the end of the topic; assuming trailing transaction markers")
			return nil
		case <-ctx.Done():
			return fmt.Errorf("topic %s: reading to end: %w", l.topic, ctx.Err())
		}
	}
}

// Send writes one record (value nil is a tombstone) and waits for Kafka's
// acknowledgement. The key's partition follows Kafka's default partitioner
// so the same key lands where a Java Kafka Connect worker would put it.
func (l *Log) Send(ctx context.Context, key, value []byte) error {
	return l.raw.ProduceSync(ctx, l.topic, key, value)
}

// Close stops tailing and releases the clients.
func (l *Log) Close() error {
	var err error
	l.once.Do(func() {
		if l.cancel != nil {
			l.cancel()
		}
		l.wg.Wait()
		if l.consumer != nil {
			l.consumer.Close()
		}
		err = l.raw.Close()
		if cerr := l.client.Close(); err == nil {
			err = cerr
		}
	})
	return err
}
