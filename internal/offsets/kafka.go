package offsets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/herder/kafkalog"
)

// Kafka is Kafka Connect's KafkaOffsetBackingStore (offset.storage.topic):
// every record's key is ["<connector>",{partition}] and its value the
// offset JSON, both as Kafka Connect's schemaless JsonConverter writes
// them; a tombstone deletes the partition's offset. A distributed
// Tributary cluster can therefore take over the offsets topic of a Kafka
// Connect cluster running Debezium, and vice versa.
type Kafka struct {
	log *kafkalog.Log

	mu sync.Mutex
	m  map[string][]byte
}

// KafkaOptions configure OpenKafka.
type KafkaOptions struct {
	Brokers []string
	Config  *sarama.Config
	Topic   string
	// Partitions is used when the topic is created (Kafka Connect's
	// offset.storage.partitions, default 25).
	Partitions int32
	Logger     *slog.Logger
	// ReadCommitted skips records of aborted and open transactions: the
	// offsets exactly-once source tasks write in their transactions.
	ReadCommitted bool
}

// OpenKafka reads the offsets topic to its end and keeps tailing it.
func OpenKafka(ctx context.Context, o KafkaOptions) (*Kafka, error) {
	if o.Partitions <= 0 {
		o.Partitions = 25
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	k := &Kafka{m: map[string][]byte{}}
	l, err := kafkalog.Open(ctx, kafkalog.Options{Brokers: o.Brokers, Config: o.Config, Topic: o.Topic,
		Partitions: o.Partitions, Logger: logger, ReadCommitted: o.ReadCommitted, Apply: func(r kafkalog.Record) {
			if r.Key == nil {
				logger.Warn("ignoring offset record without key", "topic", o.Topic, "partition", r.Partition, "offset", r.Offset)
				return
			}
			if _, _, err := ParseKey(r.Key); err != nil {
				// Kafka Connect logs and skips keys it cannot read; so do we,
				// rather than refusing to start on someone else's record.
				logger.Warn("ignoring offset record with an unreadable key", "topic", o.Topic, "key", string(r.Key), "error", err)
				return
			}
			k.mu.Lock()
			defer k.mu.Unlock()
			if r.Value == nil {
				delete(k.m, string(r.Key))
				return
			}
			k.m[string(r.Key)] = append([]byte(nil), r.Value...)
		}})
	if err != nil {
		return nil, fmt.Errorf("offset store: %w", err)
	}
	k.log = l
	return k, nil
}

// Get reads the topic to its end first, so a task that moved here from
// another worker resumes from that worker's last commit.
func (k *Kafka) Get(ctx context.Context, connector string, partition map[string]any) (map[string]any, error) {
	key, err := Key(connector, partition)
	if err != nil {
		return nil, err
	}
	if err := k.log.ReadToEnd(ctx); err != nil {
		return nil, fmt.Errorf("offset store: %w", err)
	}
	k.mu.Lock()
	v := k.m[string(key)]
	k.mu.Unlock()
	o, err := DecodeMap(v)
	if err != nil {
		return nil, fmt.Errorf("offset store: offset for %s: %w", key, err)
	}
	return o, nil
}

// Put writes every entry and waits for Kafka to acknowledge each.
func (k *Kafka) Put(ctx context.Context, connector string, entries []Entry) error {
	type kv struct{ key, val []byte }
	recs := make([]kv, 0, len(entries))
	for _, e := range entries {
		key, err := Key(connector, e.Partition)
		if err != nil {
			return err
		}
		var val []byte
		if e.Offset != nil {
			if val, err = json.Marshal(e.Offset); err != nil {
				return fmt.Errorf("encoding offset for %s %s: %w", connector, key, err)
			}
		}
		recs = append(recs, kv{key, val})
	}
	for _, r := range recs {
		if err := k.log.Send(ctx, r.key, r.val); err != nil {
			return fmt.Errorf("offset store: %w", err)
		}
	}
	// Apply locally as well: the tail will deliver the same records, but a
	// Get right after Put must not depend on its timing.
	k.mu.Lock()
	for _, r := range recs {
		if r.val == nil {
			delete(k.m, string(r.key))
		} else {
			k.m[string(r.key)] = r.val
		}
	}
	k.mu.Unlock()
	return nil
}

// List returns every partition and offset of connector.
func (k *Kafka) List(ctx context.Context, connector string) ([]Entry, error) {
	if err := k.log.ReadToEnd(ctx); err != nil {
		return nil, fmt.Errorf("offset store: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return list(k.m, connector)
}

// Close stops tailing the topic.
func (k *Kafka) Close() error { return k.log.Close() }
