// Package offsets stores source offsets the way Kafka Connect does: keyed
// by connector name and source partition, with the key serialised as the
// JSON array ["<connector>", {partition}] and the value as the JSON offset
// map, so offsets can move between Tributary and Kafka Connect.
package offsets

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// Entry is one committed offset.
type Entry struct {
	Partition map[string]any
	Offset    map[string]any // nil deletes the partition's offset
}

// Store persists offsets. Put writes a batch atomically.
type Store interface {
	Get(ctx context.Context, connector string, partition map[string]any) (map[string]any, error)
	Put(ctx context.Context, connector string, entries []Entry) error
	// List returns every partition and offset of connector (KIP-875's GET /offsets).
	List(ctx context.Context, connector string) ([]Entry, error)
}

// Key serialises a connector's partition as Kafka Connect's offset key.
func Key(connector string, partition map[string]any) ([]byte, error) {
	b, err := json.Marshal([]any{connector, partition})
	if err != nil {
		return nil, fmt.Errorf("encoding offset key for %s: %w", connector, err)
	}
	return b, nil
}

// ParseKey is the inverse of Key.
func ParseKey(b []byte) (connector string, partition map[string]any, err error) {
	var arr []json.RawMessage
	if err := json.Unmarshal(b, &arr); err != nil || len(arr) != 2 {
		return "", nil, fmt.Errorf("offset key %s: expected [\"connector\", {partition}]", b)
	}
	if err := json.Unmarshal(arr[0], &connector); err != nil {
		return "", nil, fmt.Errorf("offset key %s: connector name: %w", b, err)
	}
	partition, err = DecodeMap(arr[1])
	if err != nil {
		return "", nil, fmt.Errorf("offset key %s: %w", b, err)
	}
	return connector, partition, nil
}

// DecodeMap decodes a JSON object keeping integers as int64 (LSNs and
// binlog positions exceed float64's exact range).
func DecodeMap(b []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(b)) == 0 || string(bytes.TrimSpace(b)) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return normalise(m).(map[string]any), nil
}

func normalise(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = normalise(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = normalise(e)
		}
		return t
	}
	return v
}

// Memory is an in-memory Store for tests.
type Memory struct {
	mu sync.Mutex
	m  map[string][]byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

func (s *Memory) Get(_ context.Context, connector string, partition map[string]any) (map[string]any, error) {
	k, err := Key(connector, partition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return DecodeMap(s.m[string(k)])
}

func (s *Memory) Put(_ context.Context, connector string, entries []Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return putAll(s.m, connector, entries)
}

func (s *Memory) List(_ context.Context, connector string) ([]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return list(s.m, connector)
}

func putAll(m map[string][]byte, connector string, entries []Entry) error {
	for _, e := range entries {
		k, err := Key(connector, e.Partition)
		if err != nil {
			return err
		}
		if e.Offset == nil {
			delete(m, string(k))
			continue
		}
		v, err := json.Marshal(e.Offset)
		if err != nil {
			return fmt.Errorf("encoding offset for %s %s: %w", connector, k, err)
		}
		m[string(k)] = v
	}
	return nil
}

func list(m map[string][]byte, connector string) ([]Entry, error) {
	var out []Entry
	for k, v := range m {
		c, p, err := ParseKey([]byte(k))
		if err != nil {
			return nil, err
		}
		if c != connector {
			continue
		}
		o, err := DecodeMap(v)
		if err != nil {
			return nil, fmt.Errorf("offset %s: %w", k, err)
		}
		out = append(out, Entry{Partition: p, Offset: o})
	}
	return out, nil
}
