package mysql

import (
	"fmt"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// TestBlockingSnapshot runs a blocking snapshot while a writer changes the
// table: the stream pauses, the table is read in one consistent snapshot
// (first/last markers, offset snapshot=BLOCKING but for the last record),
// streaming resumes, and every key's last record equals the table.
func TestBlockingSnapshot(t *testing.T) {
	const rows = 5000
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory", signalTableDDL, "CREATE TABLE inventory.marker (id INT PRIMARY KEY)",
		"CREATE TABLE inventory.t (id BIGINT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40) NOT NULL)",
		fmt.Sprintf("INSERT INTO inventory.t SELECT seq, 0, MD5(seq) FROM inventory.seq_1_to_%d", rows))
	props := e.props(map[string]string{"snapshot.mode": "no_data", "signal.data.collection": "inventory.debezium_signal"})
	c := &capture{}
	sink := signaltest.NewLog(t)
	run := e.startLogged(t, Plugin(), props, c, sink)
	sink.Wait(t, time.Minute, "streaming started")
	w := startChurn(t, e.db.DSN(""), rows, 500)
	time.Sleep(300 * time.Millisecond)
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('block-1', 'execute-snapshot', '{"data-collections": ["inventory.t", "inventory.nosuch"], "type": "blocking"}')`)
	sink.Wait(t, time.Minute, "does not exist", "signal_id=block-1", "inventory.nosuch")
	sink.Wait(t, time.Minute, "blocking snapshot completed; streaming resumes", "signal_id=block-1")
	time.Sleep(300 * time.Millisecond)
	w.finish(t)
	e.db.Exec(t, "", "INSERT INTO inventory.marker VALUES (1)")
	c.waitFor(t, 1, onTopic("mariadb1.inventory.marker"))
	run.stop(t)
	recs := c.records()
	var reads []*connect.Record
	for _, r := range recs {
		if v, ok := r.Value.(*connect.StructValue); ok && r.Topic == "mariadb1.inventory.t" && v.Get("op") == string(debezium.OpRead) {
			reads = append(reads, r)
		}
	}
	if len(reads) < rows-500 {
		t.Fatalf("%d read records, want about %d", len(reads), rows)
	}
	marker := func(r *connect.Record) any {
		return r.Value.(*connect.StructValue).Get("source").(*connect.StructValue).Get("snapshot")
	}
	if m := marker(reads[0]); m != debezium.SnapshotFirst {
		t.Errorf("first read record's source.snapshot = %v", m)
	}
	last := reads[len(reads)-1]
	if m := marker(last); m != debezium.SnapshotLast {
		t.Errorf("last read record's source.snapshot = %v", m)
	}
	if s := reads[1].SourceOffset[offSnapshot]; s != "BLOCKING" {
		t.Errorf("a blocking snapshot record's offset snapshot = %v", s)
	}
	if _, ok := last.SourceOffset[offSnapshot]; ok {
		t.Errorf("the last record's offset still says snapshot: %v", last.SourceOffset)
	}
	live, keys := checkConverged(t, e.db.DSN(""), recs)
	t.Logf("converged: %d rows, %d keys, %d blocking read records", live, keys, len(reads))
}
