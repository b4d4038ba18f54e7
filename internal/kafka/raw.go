package kafka

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/connect"
)

// Raw writes and reads whole topics synchronously. Debezium's schema
// history topic and Kafka Connect's internal topics are used this way.
type Raw struct {
	client sarama.Client
	sp     sarama.SyncProducer
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
	return &Raw{client: client, sp: sp}, nil
}

// Client returns the underlying client.
func (r *Raw) Client() sarama.Client { return r.client }

// ProduceSync writes one record and waits for its acknowledgement.
func (r *Raw) ProduceSync(ctx context.Context, topic string, key, value []byte) error {
	m := &sarama.ProducerMessage{Topic: topic, Metadata: &Pending{Partition: -1}}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	if value != nil {
		m.Value = sarama.ByteEncoder(value)
	}
	if _, _, err := r.sp.SendMessage(m); err != nil {
		return fmt.Errorf("writing to %s: %w", topic, err)
	}
	return ctx.Err()
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
		hw, err := r.client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("reading %s/%d high-water mark: %w", topic, p, err)
		}
		lo, err := r.client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("reading %s/%d start: %w", topic, p, err)
		}
		if hw <= lo {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, lo)
		if err != nil {
			return nil, fmt.Errorf("reading %s/%d: %w", topic, p, err)
		}
		for next := lo; next < hw; {
			select {
			case m := <-pc.Messages():
				out = append(out, connect.KV{Key: m.Key, Value: m.Value})
				next = m.Offset + 1
			case e := <-pc.Errors():
				pc.Close()
				return nil, fmt.Errorf("reading %s/%d: %w", topic, p, e)
			case <-ctx.Done():
				pc.Close()
				return nil, ctx.Err()
			}
		}
		pc.Close()
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
