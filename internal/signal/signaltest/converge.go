package signaltest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
)

// Row is a row (id, v, pad) of the table the convergence tests write to
// while an incremental snapshot reads it.
type Row struct {
	V   int32  `json:"v"`
	Pad string `json:"pad"`
}

// Diverged compares the table's rows with each key's last record (nil: a
// delete or tombstone) and returns how many keys differ; the first
// differences are reported as test errors.
func Diverged(t testing.TB, table map[int64]Row, last map[int64]*Row) int {
	t.Helper()
	bad := 0
	for id, r := range table {
		if got := last[id]; got == nil || *got != r {
			bad++
			if bad <= 5 {
				t.Errorf("row %d is %+v in the table, %+v in its last record", id, r, got)
			}
		}
	}
	for id, r := range last {
		if _, live := table[id]; r != nil && !live {
			bad++
			if bad <= 10 {
				t.Errorf("row %d was deleted but its last record shows %+v", id, *r)
			}
		}
	}
	return bad
}

// Rows is what ReadTable needs of *sql.Rows or pgx.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ReadTable reads the result of SELECT id, v, pad.
func ReadTable(t testing.TB, rows Rows) map[int64]Row {
	t.Helper()
	table := map[int64]Row{}
	for rows.Next() {
		var id int64
		var r Row
		if err := rows.Scan(&id, &r.V, &r.Pad); err != nil {
			t.Fatal(err)
		}
		table[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return table
}

// LastPerKey decodes the convergence table's change events as Kafka holds
// them (JsonConverter without schemas or with: a key with "id", a
// Debezium envelope value): each key's last row (nil: deleted) and how
// many of the events were incremental snapshot reads.
func LastPerKey(t testing.TB, kvs []connect.KV) (last map[int64]*Row, reads int) {
	t.Helper()
	last = map[int64]*Row{}
	for _, kv := range kvs {
		var k struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(kv.Key, &k); err != nil {
			t.Fatalf("key %s: %v", kv.Key, err)
		}
		if kv.Value == nil {
			last[k.ID] = nil
			continue
		}
		var v struct {
			Op     string `json:"op"`
			After  *Row   `json:"after"`
			Source struct {
				Snapshot string `json:"snapshot"`
			} `json:"source"`
		}
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			t.Fatalf("value %s: %v", kv.Value, err)
		}
		if v.Op == "r" && v.Source.Snapshot == "incremental" {
			reads++
		}
		last[k.ID] = v.After
	}
	return last, reads
}

// WaitTopic waits up to three minutes for a record in topic (a marker
// row written after the load: everything before it was streamed).
func WaitTopic(t testing.TB, raw *kafka.Raw, topic string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		kvs, err := raw.ReadAll(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no record in %s within 3 minutes", topic)
		}
	}
}
