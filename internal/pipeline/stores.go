package pipeline

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/internal/offsets"
)

// RedisStore keeps offsets in one Redis hash (as Debezium Server's
// RedisOffsetBackingStore): field = Kafka Connect's offset key, value =
// the offset JSON. A batch is one HSET, applied atomically.
type RedisStore struct {
	C   *goredis.Client
	Key string
}

var _ offsets.Store = (*RedisStore)(nil)

func (s *RedisStore) Get(ctx context.Context, connector string, partition map[string]any) (map[string]any, error) {
	k, err := offsets.Key(connector, partition)
	if err != nil {
		return nil, err
	}
	v, err := s.C.HGet(ctx, s.Key, string(k)).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("offset.storage.redis.key=%s: %w", s.Key, err)
	}
	return offsets.DecodeMap(v)
}

func (s *RedisStore) Put(ctx context.Context, connector string, entries []offsets.Entry) error {
	var set []any
	var del []string
	for _, e := range entries {
		k, err := offsets.Key(connector, e.Partition)
		if err != nil {
			return err
		}
		if e.Offset == nil {
			del = append(del, string(k))
			continue
		}
		v, err := offsetJSON(e.Offset)
		if err != nil {
			return err
		}
		set = append(set, string(k), v)
	}
	_, err := s.C.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		if len(set) > 0 {
			p.HSet(ctx, s.Key, set...)
		}
		if len(del) > 0 {
			p.HDel(ctx, s.Key, del...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("offset.storage.redis.key=%s: %w", s.Key, err)
	}
	return nil
}

func (s *RedisStore) List(ctx context.Context, connector string) ([]offsets.Entry, error) {
	all, err := s.C.HGetAll(ctx, s.Key).Result()
	if err != nil {
		return nil, fmt.Errorf("offset.storage.redis.key=%s: %w", s.Key, err)
	}
	return listEntries(connector, all)
}

// KVStore keeps offsets in a JetStream key-value bucket; keys are the
// Kafka Connect offset keys in unpadded base64url (KV keys allow only
// letters, digits and -/_=.).
type KVStore struct {
	KV jetstream.KeyValue
}

var _ offsets.Store = (*KVStore)(nil)

// OpenKV opens (creating it when missing) the bucket.
func OpenKV(ctx context.Context, js jetstream.JetStream, bucket string) (*KVStore, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, History: 1, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("offset.storage.nats.bucket=%s: %w", bucket, err)
	}
	return &KVStore{KV: kv}, nil
}

func kvKey(k []byte) string { return base64.RawURLEncoding.EncodeToString(k) }

func (s *KVStore) Get(ctx context.Context, connector string, partition map[string]any) (map[string]any, error) {
	k, err := offsets.Key(connector, partition)
	if err != nil {
		return nil, err
	}
	e, err := s.KV.Get(ctx, kvKey(k))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("offset.storage.nats.bucket=%s: %w", s.KV.Bucket(), err)
	}
	return offsets.DecodeMap(e.Value())
}

// Put writes each entry; a connector's entries are for different source
// partitions, each of which is consistent on its own.
func (s *KVStore) Put(ctx context.Context, connector string, entries []offsets.Entry) error {
	for _, e := range entries {
		k, err := offsets.Key(connector, e.Partition)
		if err != nil {
			return err
		}
		if e.Offset == nil {
			if err := s.KV.Delete(ctx, kvKey(k)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
				return fmt.Errorf("offset.storage.nats.bucket=%s: %w", s.KV.Bucket(), err)
			}
			continue
		}
		v, err := offsetJSON(e.Offset)
		if err != nil {
			return err
		}
		if _, err := s.KV.Put(ctx, kvKey(k), []byte(v)); err != nil {
			return fmt.Errorf("offset.storage.nats.bucket=%s: %w", s.KV.Bucket(), err)
		}
	}
	return nil
}

func (s *KVStore) List(ctx context.Context, connector string) ([]offsets.Entry, error) {
	lister, err := s.KV.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("offset.storage.nats.bucket=%s: %w", s.KV.Bucket(), err)
	}
	all := map[string]string{}
	for k := range lister.Keys() {
		raw, err := base64.RawURLEncoding.DecodeString(k)
		if err != nil {
			continue
		}
		e, err := s.KV.Get(ctx, k)
		if err != nil {
			continue
		}
		all[string(raw)] = string(e.Value())
	}
	return listEntries(connector, all)
}

func offsetJSON(o map[string]any) (string, error) {
	var b strings.Builder
	enc := jsonEncoder(&b)
	if err := enc.Encode(o); err != nil {
		return "", fmt.Errorf("encoding offset: %w", err)
	}
	return strings.TrimSpace(b.String()), nil
}

func listEntries(connector string, all map[string]string) ([]offsets.Entry, error) {
	var out []offsets.Entry
	for k, v := range all {
		c, part, err := offsets.ParseKey([]byte(k))
		if err != nil || c != connector {
			continue
		}
		off, err := offsets.DecodeMap([]byte(v))
		if err != nil {
			return nil, err
		}
		out = append(out, offsets.Entry{Partition: part, Offset: off})
	}
	return out, nil
}

// retrying retries a store's writes until they succeed or ctx ends. The
// JetStream and Redis stores live on the sink's server: while it is down
// the pipeline waits for it (its events are not acknowledged either)
// instead of failing on the first offset commit.
type retrying struct {
	offsets.Store
	log *slog.Logger
}

func (r retrying) Put(ctx context.Context, connector string, entries []offsets.Entry) error {
	backoff := 200 * time.Millisecond
	for {
		err := r.Store.Put(ctx, connector, entries)
		if err == nil || ctx.Err() != nil {
			return err
		}
		r.log.Warn("committing offsets failed; retrying", "backoff", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return err
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
