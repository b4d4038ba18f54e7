package offsets

import (
	"context"
	"encoding/json"
	"fmt"
)

// Encode renders one offset as the key and value of an offsets topic
// record (a nil value is the tombstone that deletes it), for writers that
// produce the record themselves: exactly-once source tasks write it in
// the transaction of the records it covers.
func Encode(connector string, e Entry) (key, value []byte, err error) {
	if key, err = Key(connector, e.Partition); err != nil {
		return nil, nil, err
	}
	if e.Offset == nil {
		return key, nil, nil
	}
	if value, err = json.Marshal(e.Offset); err != nil {
		return nil, nil, fmt.Errorf("encoding offset for %s %s: %w", connector, key, err)
	}
	return key, value, nil
}

// WithFallback is a connector's offsets.storage.topic in front of the
// worker's offsets topic, as Kafka Connect's ConnectorOffsetBackingStore
// combines them: writes go to the connector's store, and a partition it
// has no offset for is read from the worker's (a connector that moved to
// its own topic resumes where it was).
func WithFallback(connector, worker Store) Store { return fallback{connector, worker} }

type fallback struct{ primary, secondary Store }

func (f fallback) Get(ctx context.Context, connector string, partition map[string]any) (map[string]any, error) {
	o, err := f.primary.Get(ctx, connector, partition)
	if err != nil || o != nil {
		return o, err
	}
	return f.secondary.Get(ctx, connector, partition)
}

func (f fallback) Put(ctx context.Context, connector string, entries []Entry) error {
	return f.primary.Put(ctx, connector, entries)
}

func (f fallback) List(ctx context.Context, connector string) ([]Entry, error) {
	own, err := f.primary.List(ctx, connector)
	if err != nil {
		return nil, err
	}
	other, err := f.secondary.List(ctx, connector)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, e := range own {
		k, err := Key(connector, e.Partition)
		if err != nil {
			return nil, err
		}
		seen[string(k)] = true
	}
	for _, e := range other {
		k, err := Key(connector, e.Partition)
		if err != nil {
			return nil, err
		}
		if !seen[string(k)] {
			own = append(own, e)
		}
	}
	return own, nil
}
