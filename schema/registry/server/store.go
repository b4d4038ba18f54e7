package server

import (
	"context"
	"fmt"
	"sync"
)

// Store is the registry's durable log together with the State built from it.
// Writes go through the log: Append returns only once the records have been
// applied, so a read after a successful Append sees them.
type Store interface {
	Append(ctx context.Context, recs ...Record) error
	// Sync returns once the state reflects every record already in the
	// log, including ones other registries wrote; the server calls it
	// before deciding a write, so ids and versions are not handed out twice.
	Sync(ctx context.Context) error
	// Read runs fn with the current state; fn must not keep references.
	Read(fn func(*State))
}

// RawRecord is an encoded log record; a nil Value is a tombstone.
type RawRecord struct {
	Key, Value []byte
}

// MemoryStore keeps the log in memory. It encodes and applies records exactly
// as the Kafka store does, so tests of the server exercise the same path.
type MemoryStore struct {
	mu    sync.RWMutex
	state *State
	log   []RawRecord
}

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{state: NewState()}
}

// Append implements Store.
func (m *MemoryStore) Append(ctx context.Context, recs ...Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range recs {
		k, v, err := r.encode()
		if err != nil {
			return fmt.Errorf("encode %s record: %w", r.Key.KeyType, err)
		}
		if err := m.state.Apply(k, v); err != nil {
			return err
		}
		m.log = append(m.log, RawRecord{k, v})
	}
	return nil
}

// Sync implements Store; a memory store is always in sync.
func (m *MemoryStore) Sync(ctx context.Context) error { return ctx.Err() }

// Read implements Store.
func (m *MemoryStore) Read(fn func(*State)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(m.state)
}

// Log returns a copy of every record appended so far.
func (m *MemoryStore) Log() []RawRecord {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return append([]RawRecord(nil), m.log...)
}
