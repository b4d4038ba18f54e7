package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
)

// Raw writes and reads whole topics synchronously. Debezium's schema
// history topic and Kafka Connect's internal topics are used this way.
type Raw struct {
	client  sarama.Client
	sp      sarama.SyncProducer
	brokers []string
}

// NewRaw opens a synchronous producer on its own client so closing it
// never disturbs the record producer.
func NewRaw(brokers []string, sc *sarama.Config) (*Raw, error) {
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to kafka: %w", err)
	}
	sp, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("creating kafka producer: %w", err)
	}
	return &Raw{client: client, sp: sp, brokers: brokers}, nil
}

// BootstrapServers returns the brokers the client was opened with.
func (r *Raw) BootstrapServers() []string { return r.brokers }

// Client returns the underlying client.
func (r *Raw) Client() sarama.Client { return r.client }

// ProduceSync writes one record and waits for its acknowledgement. The
// partition is chosen by key hash (a random one for a nil key).
func (r *Raw) ProduceSync(ctx context.Context, topic string, key, value []byte) error {
	return r.ProducePartition(ctx, topic, -1, key, value)
}

// ProducePartition is ProduceSync to one partition (-1: chosen by key
// hash). Records that must be read back in the order they were written,
// such as Debezium's schema history, all go to one partition.
func (r *Raw) ProducePartition(ctx context.Context, topic string, partition int32, key, value []byte) error {
	m := &sarama.ProducerMessage{Topic: topic, Metadata: &Pending{Partition: partition}}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	if value != nil {
		m.Value = sarama.ByteEncoder(value)
	}
	got, _, err := r.sp.SendMessage(m)
	if err != nil {
		return fmt.Errorf("writing to %s: %w", topic, err)
	}
	if partition >= 0 && got != partition {
		// only a client configured with another partitioner than this
		// package's can get here; the record is in the wrong place
		return fmt.Errorf("writing to %s: the record went to partition %d instead of %d (the client's partitioner ignores the requested partition)", topic, got, partition)
	}
	return ctx.Err()
}

// Partitions returns the number of partitions of topic, 0 when it does
// not exist. It asks the broker, not the client's metadata cache, and
// never creates the topic.
func (r *Raw) Partitions(ctx context.Context, topic string) (int, error) {
	admin, err := sarama.NewClusterAdminFromClient(r.client)
	if err != nil {
		return 0, fmt.Errorf("kafka admin client: %w", err)
	}
	// Closing the admin would close the shared client.
	md, err := admin.DescribeTopics([]string{topic})
	if err != nil {
		return 0, fmt.Errorf("describing topic %s: %w", topic, err)
	}
	for _, t := range md {
		if t.Name != topic {
			continue
		}
		if errors.Is(t.Err, sarama.ErrUnknownTopicOrPartition) {
			return 0, nil
		}
		if t.Err != sarama.ErrNoError {
			return 0, fmt.Errorf("describing topic %s: %w", topic, t.Err)
		}
		return len(t.Partitions), nil
	}
	return 0, ctx.Err()
}

// CreateTopic creates topic with the given partitions, the broker's
// default replication factor and configs, unless it exists; created
// reports whether this call created it.
func (r *Raw) CreateTopic(ctx context.Context, topic string, partitions int32, configs map[string]string) (created bool, err error) {
	admin, err := sarama.NewClusterAdminFromClient(r.client)
	if err != nil {
		return false, fmt.Errorf("kafka admin client: %w", err)
	}
	entries := make(map[string]*string, len(configs))
	for k, v := range configs {
		entries[k] = &v
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: -1, ConfigEntries: entries}, false)
	var te *sarama.TopicError
	if errors.As(err, &te) && te.Err == sarama.ErrTopicAlreadyExists || errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("creating topic %s: %w", topic, err)
	}
	return true, ctx.Err()
}

// ReadAll returns every record of topic, partition by partition, from the
// oldest offset up to the high-water mark at the time of the call. A
// missing topic reads as empty.
func (r *Raw) ReadAll(ctx context.Context, topic string) ([]connect.KV, error) {
	if err := r.client.RefreshMetadata(topic); err != nil {
		if err == sarama.ErrUnknownTopicOrPartition {
			return nil, nil
		}
	}
	parts, err := r.client.Partitions(topic)
	if err != nil {
		if err == sarama.ErrUnknownTopicOrPartition {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	defer consumer.Close()
	var out []connect.KV
	for _, p := range parts {
		if out, err = r.readPartition(ctx, consumer, topic, p, out, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReadPartition returns the records of one partition of topic in offset
// order, from the oldest up to the high-water mark at the time of the
// call. A missing topic reads as empty.
func (r *Raw) ReadPartition(ctx context.Context, topic string, partition int32) ([]connect.KV, error) {
	return r.readPartitionNotify(ctx, topic, partition, nil)
}

// ErrStalled is returned by ReadPartitionStall when no record arrived
// for the allowed time before the end of the partition was reached.
var ErrStalled = errors.New("no record arrived before the end of the partition")

// ReadPartitionStall is ReadPartition failing with ErrStalled when no
// record arrives for stall (0: no limit) before the high-water mark.
func (r *Raw) ReadPartitionStall(ctx context.Context, topic string, partition int32, stall time.Duration) ([]connect.KV, error) {
	if stall <= 0 {
		return r.ReadPartition(ctx, topic, partition)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	progress := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(stall)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-progress:
				t.Reset(stall)
			case <-t.C:
				cancel(ErrStalled)
				return
			}
		}
	}()
	out, err := r.readPartitionNotify(ctx, topic, partition, progress)
	if err != nil && errors.Is(context.Cause(ctx), ErrStalled) {
		return nil, fmt.Errorf("reading %s/%d: %w", topic, partition, ErrStalled)
	}
	return out, err
}

func (r *Raw) readPartitionNotify(ctx context.Context, topic string, partition int32, progress chan<- struct{}) ([]connect.KV, error) {
	if err := r.client.RefreshMetadata(topic); err != nil {
		if err == sarama.ErrUnknownTopicOrPartition {
			return nil, nil
		}
	}
	if _, err := r.client.Partitions(topic); err != nil {
		if err == sarama.ErrUnknownTopicOrPartition {
			return nil, nil
		}
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(r.client)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", topic, err)
	}
	defer consumer.Close()
	return r.readPartition(ctx, consumer, topic, partition, nil, progress)
}

// readPartition appends the records of topic/p to out, signalling each
// one on progress when it is not nil.
func (r *Raw) readPartition(ctx context.Context, consumer sarama.Consumer, topic string, p int32, out []connect.KV, progress chan<- struct{}) ([]connect.KV, error) {
	hw, err := r.client.GetOffset(topic, p, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("reading %s/%d high-water mark: %w", topic, p, err)
	}
	lo, err := r.client.GetOffset(topic, p, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("reading %s/%d start: %w", topic, p, err)
	}
	if hw <= lo {
		return out, nil
	}
	pc, err := consumer.ConsumePartition(topic, p, lo)
	if err != nil {
		return nil, fmt.Errorf("reading %s/%d: %w", topic, p, err)
	}
	defer pc.Close()
	for next := lo; next < hw; {
		select {
		case m := <-pc.Messages():
			out = append(out, connect.KV{Key: m.Key, Value: m.Value})
			next = m.Offset + 1
			select {
			case progress <- struct{}{}:
			default:
			}
		case e := <-pc.Errors():
			return nil, fmt.Errorf("reading %s/%d: %w", topic, p, e)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

// Close releases the producer and client.
func (r *Raw) Close() error {
	err := r.sp.Close()
	if cerr := r.client.Close(); err == nil {
		err = cerr
	}
	return err
}
