package mysql

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// startLogged runs a task whose log goes to sink.
func (e *env) startLogged(t *testing.T, plugin *connect.Plugin, props map[string]string, c *capture, sink *signaltest.Log, tweaks ...func(*task)) *running {
	t.Helper()
	return e.startWith(t, plugin, props, c, slog.New(sink), tweaks...)
}

const signalTableDDL = "CREATE TABLE inventory.debezium_signal (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data TEXT NULL)"

// incrementalReads returns the incremental snapshot read events of topic
// by their id column.
func incrementalReads(recs []*connect.Record, topic string) map[int64]int {
	out := map[int64]int{}
	for _, r := range recs {
		if r.Topic != topic {
			continue
		}
		v, ok := r.Value.(*connect.StructValue)
		if !ok || v.Get("op") != string(debezium.OpRead) {
			continue
		}
		src := v.Get("source").(*connect.StructValue)
		if src.Get("snapshot") != debezium.SnapshotIncremental {
			continue
		}
		after := v.Get("after").(*connect.StructValue)
		out[toI64(after.Get("id"))]++
	}
	return out
}

func toI64(v any) int64 {
	switch x := v.(type) {
	case int32:
		return int64(x)
	case int64:
		return x
	}
	return -1
}

// TestSignalsEveryChannel sends every action through the signal table, the
// file and kafka channels and the REST API: log, execute-snapshot with
// additional-conditions and surrogate-key, pause/resume/stop, a malformed
// signal and one naming a table that does not exist; the stream keeps
// going throughout.
func TestSignalsEveryChannel(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory", signalTableDDL,
		"CREATE TABLE inventory.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"CREATE TABLE inventory.nokey (code INT NOT NULL, v VARCHAR(20))",
		"CREATE TABLE inventory.big (id BIGINT PRIMARY KEY, v INT NOT NULL)")
	var vals, nk, big []string
	for i := 1; i <= 50; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'v%d')", i, i))
		nk = append(nk, fmt.Sprintf("(%d, 'n%d')", i, i))
	}
	for i := 1; i <= 3000; i++ {
		big = append(big, fmt.Sprintf("(%d, %d)", i, i))
	}
	e.db.Exec(t, "", "INSERT INTO inventory.t VALUES "+strings.Join(vals, ","),
		"INSERT INTO inventory.nokey VALUES "+strings.Join(nk, ","),
		"INSERT INTO inventory.big VALUES "+strings.Join(big, ","))
	file := filepath.Join(t.TempDir(), "signals.txt")
	props := e.props(map[string]string{"snapshot.mode": "no_data", "signal.data.collection": "inventory.debezium_signal",
		"signal.enabled.channels": "source,file,kafka", "signal.file": file, "signal.poll.interval.ms": "100",
		"signal.kafka.bootstrap.servers": strings.Join(e.broker.Addrs(), ","), "signal.kafka.topic": "signals",
		"incremental.snapshot.chunk.size": "10"})
	c := &capture{}
	sink := signaltest.NewLog(t)
	chunks := make(chan struct{}, 1000)
	e.startLogged(t, Plugin(), props, c, sink, func(tk *task) {
		tk.afterChunkRead = func(id TableID, _ []any) {
			if id.Table == "big" {
				chunks <- struct{}{}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
	sink.Wait(t, time.Minute, "streaming started")

	// source channel: log, malformed row, unknown table
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('log-1', 'log', '{"message": "hello from the table at {}"}')`)
	sink.Wait(t, 30*time.Second, "hello from the table at {", "signal_id=log-1", "file=")
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('bad-1', '', '{}')`)
	sink.Wait(t, 30*time.Second, "malformed signal row", "signal_id=bad-1")
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('bad-2', 'execute-snapshot', '{"data-collections": 5}')`)
	sink.Wait(t, 30*time.Second, "signal ignored: malformed data", "signal_id=bad-2")
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('missing-1', 'execute-snapshot', '{"data-collections": ["inventory.nosuch"]}')`)
	sink.Wait(t, 30*time.Second, "does not exist", "signal_id=missing-1", "table=inventory.nosuch")

	// source channel: execute-snapshot with an additional condition
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('snap-1', 'execute-snapshot',
		'{"data-collections": ["inventory[.]t"], "additional-conditions": [{"data-collection": "inventory.t", "filter": "id <= 30"}]}')`)
	sink.Wait(t, time.Minute, "incremental snapshot completed")
	reads := incrementalReads(c.records(), "mariadb1.inventory.t")
	if len(reads) != 30 {
		t.Fatalf("additional condition id <= 30: %d keys read, want 30", len(reads))
	}
	for id, n := range reads {
		if id < 1 || id > 30 || n != 1 {
			t.Fatalf("key %d read %d times", id, n)
		}
	}

	// file channel: surrogate key on a keyless table, and a malformed line
	if err := os.WriteFile(file, []byte(`{"id": "file-1", "type": "execute-snapshot", "data": {"data-collections": ["inventory.nokey"], "surrogate-key": "code"}}`+"\nnot json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sink.Wait(t, 30*time.Second, "skipped a malformed signal", "channel=file")
	sink.Wait(t, time.Minute, "incremental snapshot: finished table", "table=inventory.nokey", "rows=50")

	// REST: pause during a long snapshot, resume, then stop
	if _, err := testSignals.Deliver(context.Background(), "test", signal.Record{ID: "rest-1", Type: "execute-snapshot", Data: `{"data-collections": ["inventory.big"]}`}); err != nil {
		t.Fatal(err)
	}
	<-chunks
	if _, err := testSignals.Deliver(context.Background(), "test", signal.Record{ID: "rest-pause", Type: "pause-snapshot"}); err != nil {
		t.Fatal(err)
	}
	sink.Wait(t, 30*time.Second, "incremental snapshot paused", "signal_id=rest-pause")
	time.Sleep(500 * time.Millisecond)
	for len(chunks) > 0 {
		<-chunks
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(chunks); n > 0 {
		t.Fatalf("%d chunks read while paused", n)
	}
	// kafka channel: resume
	if err := e.raw.ProduceSync(context.Background(), "signals", []byte("mariadb1"), []byte(`{"id": "kafka-resume", "type": "resume-snapshot", "data": {}}`)); err != nil {
		t.Fatal(err)
	}
	sink.Wait(t, 30*time.Second, "incremental snapshot resumed", "signal_id=kafka-resume")
	<-chunks
	if err := e.raw.ProduceSync(context.Background(), "signals", []byte("mariadb1"), []byte(`{"id": "kafka-stop", "type": "stop-snapshot", "data": {"data-collections": ["inventory.big"], "type": "incremental"}}`)); err != nil {
		t.Fatal(err)
	}
	sink.Wait(t, 30*time.Second, "incremental snapshot stop requested", "signal_id=kafka-stop")
	sink.Wait(t, 30*time.Second, "incremental snapshot: tables removed", "inventory.big")
	if n := len(incrementalReads(c.records(), "mariadb1.inventory.big")); n == 0 || n >= 3000 {
		t.Fatalf("stopped snapshot of inventory.big emitted %d rows, want some but not all", n)
	}
	if _, err := testSignals.Deliver(context.Background(), "test", signal.Record{ID: "rest-log", Type: "log", Data: `{"message": "still streaming"}`}); err != nil {
		t.Fatal(err)
	}
	sink.Wait(t, 30*time.Second, "still streaming", "signal_id=rest-log", "channel=rest")
	// a DDL statement ends a MariaDB GTID group without a COMMIT: signals
	// still act right after it on a quiet database
	e.db.Exec(t, "", "CREATE TABLE inventory.later (id INT PRIMARY KEY)")
	time.Sleep(500 * time.Millisecond)
	if _, err := testSignals.Deliver(context.Background(), "test", signal.Record{ID: "rest-after-ddl", Type: "log", Data: `{"message": "after a DDL"}`}); err != nil {
		t.Fatal(err)
	}
	sink.Wait(t, 5*time.Second, "after a DDL", "signal_id=rest-after-ddl")
	// the stream kept going
	e.db.Exec(t, "", "INSERT INTO inventory.t VALUES (1000, 'after')")
	c.waitFor(t, 1, func(r *connect.Record) bool {
		v, ok := r.Value.(*connect.StructValue)
		return ok && r.Topic == "mariadb1.inventory.t" && v.Get("op") == string(debezium.OpCreate)
	})
}
