package mysql

import (
	"fmt"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// TestParallelSnapshot reads five tables with snapshot.max.threads=3 while
// a writer changes one of them: every row is read exactly once, each
// table in key order with its first/last_in_data_collection markers, the
// first and last records of the snapshot are marked first and last, and
// after streaming every key's last record equals the table.
func TestParallelSnapshot(t *testing.T) {
	const rows = 3000
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory", "CREATE TABLE inventory.marker (id INT PRIMARY KEY)",
		"CREATE TABLE inventory.t (id BIGINT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40) NOT NULL)",
		fmt.Sprintf("INSERT INTO inventory.t SELECT seq, 0, MD5(seq) FROM inventory.seq_1_to_%d", rows))
	tables := []string{"a", "b", "c", "d"}
	for n, tbl := range tables {
		e.db.Exec(t, "", fmt.Sprintf("CREATE TABLE inventory.%s (id INT PRIMARY KEY, v VARCHAR(20))", tbl),
			fmt.Sprintf("INSERT INTO inventory.%s SELECT seq, 'x' FROM inventory.seq_1_to_%d", tbl, 1000*(n+1)))
	}
	w := startChurn(t, e.db.DSN(""), rows, 500)
	c := &capture{}
	sink := signaltest.NewLog(t)
	run := e.startLogged(t, Plugin(), e.props(map[string]string{"snapshot.max.threads": "3", "max.batch.size": "300"}), c, sink)
	sink.Wait(t, 2*time.Minute, "streaming started")
	if _, ok := sink.Find("snapshotting data", "threads=3"); !ok {
		t.Error("the snapshot did not run on 3 readers")
	}
	time.Sleep(300 * time.Millisecond)
	w.finish(t)
	e.db.Exec(t, "", "INSERT INTO inventory.marker VALUES (1)")
	c.waitFor(t, 1, onTopic("mariadb1.inventory.marker"))
	run.stop(t)
	recs := c.records()
	var reads []*connect.Record
	for _, r := range recs {
		if v, ok := r.Value.(*connect.StructValue); ok && v.Schema.Field("op") != nil && v.Get("op") == string(debezium.OpRead) {
			reads = append(reads, r)
		}
	}
	marker := func(r *connect.Record) string {
		return r.Value.(*connect.StructValue).Get("source").(*connect.StructValue).Get("snapshot").(string)
	}
	if m := marker(reads[0]); m != debezium.SnapshotFirst {
		t.Errorf("first record marked %q", m)
	}
	if m := marker(reads[len(reads)-1]); m != debezium.SnapshotLast {
		t.Errorf("last record marked %q", m)
	}
	byTopic := map[string][]int64{}
	markers := map[string][]string{}
	for _, r := range reads {
		id := toI64(r.Key.(*connect.StructValue).Get("id"))
		byTopic[r.Topic] = append(byTopic[r.Topic], id)
		markers[r.Topic] = append(markers[r.Topic], marker(r))
	}
	// tables read at once interleave their batches
	interleaved := false
	left := map[string]bool{}
	for i := 1; i < len(reads); i++ {
		if reads[i].Topic != reads[i-1].Topic {
			left[reads[i-1].Topic] = true
			interleaved = interleaved || left[reads[i].Topic]
		}
	}
	if !interleaved {
		t.Error("the tables' records did not interleave: they were not read at once")
	}
	for n, tbl := range tables {
		topic := "mariadb1.inventory." + tbl
		ids := byTopic[topic]
		if len(ids) != 1000*(n+1) {
			t.Fatalf("%s: %d read records, want %d", topic, len(ids), 1000*(n+1))
		}
		for i, id := range ids {
			if id != int64(i+1) {
				t.Fatalf("%s: record %d has key %d", topic, i, id)
			}
		}
		ms := markers[topic]
		if ms[0] != debezium.SnapshotFirstInDataCollection && ms[0] != debezium.SnapshotFirst {
			t.Errorf("%s: first record marked %q", topic, ms[0])
		}
		if l := ms[len(ms)-1]; l != debezium.SnapshotLastInDataCollection && l != debezium.SnapshotLast {
			t.Errorf("%s: last record marked %q", topic, l)
		}
	}
	live, keys := checkConverged(t, e.db.DSN(""), recs)
	t.Logf("%d read records of 5 tables on 3 readers (interleaved: %v); inventory.t converged: %d rows, %d keys", len(reads), interleaved, live, keys)
}
