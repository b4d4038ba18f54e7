package postgres

import (
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// TestParallelSnapshot reads four tables with snapshot.max.threads=3: all
// readers see the exported snapshot, every row is read exactly once, each
// table in key order with its per-table markers, the snapshot's first
// and last records are marked first and last, and the tables' records
// interleave (they were read at once).
func TestParallelSnapshot(t *testing.T) {
	e := newEnv(t)
	tables := []string{"a", "b", "c", "d"}
	for n, tbl := range tables {
		e.exec(t, fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, v text)", tbl),
			fmt.Sprintf("INSERT INTO %s SELECT g, 'x' FROM generate_series(1, %d) g", tbl, 3000*(n+1)))
	}
	c := newCapture()
	startTask(t, e.props("snapshot.max.threads", "3", "max.batch.size", "200"), nil, c)
	total := 3000 * (1 + 2 + 3 + 4)
	isRead := func(r *connect.Record) bool {
		v, ok := r.Value.(*connect.StructValue)
		return ok && v.Schema.Field("op") != nil && v.Get("op") == string(debezium.OpRead)
	}
	reads := c.waitFor(t, total, isRead)
	marker := func(r *connect.Record) string {
		return r.Value.(*connect.StructValue).Get("source").(*connect.StructValue).Get("snapshot").(string)
	}
	if m := marker(reads[0]); m != debezium.SnapshotFirst {
		t.Errorf("first record marked %q", m)
	}
	if m := marker(reads[len(reads)-1]); m != debezium.SnapshotLast {
		t.Errorf("last record marked %q", m)
	}
	byTopic := map[string][]*connect.Record{}
	interleaved := false
	left := map[string]bool{}
	for i, r := range reads {
		byTopic[r.Topic] = append(byTopic[r.Topic], r)
		if i > 0 && r.Topic != reads[i-1].Topic {
			left[reads[i-1].Topic] = true
			interleaved = interleaved || left[r.Topic]
		}
	}
	if !interleaved {
		t.Error("the tables' records did not interleave: they were not read at once")
	}
	for n, tbl := range tables {
		recs := byTopic["dbserver1.public."+tbl]
		if len(recs) != 3000*(n+1) {
			t.Fatalf("%s: %d records, want %d", tbl, len(recs), 3000*(n+1))
		}
		for i, r := range recs {
			if id := r.Key.(*connect.StructValue).Get("id"); id != int32(i+1) {
				t.Fatalf("%s: record %d has key %v", tbl, i, id)
			}
		}
		if m := marker(recs[0]); m != debezium.SnapshotFirstInDataCollection && m != debezium.SnapshotFirst {
			t.Errorf("%s: first record marked %q", tbl, m)
		}
		if m := marker(recs[len(recs)-1]); m != debezium.SnapshotLastInDataCollection && m != debezium.SnapshotLast {
			t.Errorf("%s: last record marked %q", tbl, m)
		}
	}
	t.Logf("%d records of %d tables on 3 readers", len(reads), len(tables))
}
