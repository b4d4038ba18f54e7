package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// churn updates and deletes random rows of inventory.t (and inserts
// above the initial range) at about rate changes per second until stopped.
type churn struct {
	stop    chan struct{}
	done    chan struct{}
	changes atomic.Int64
	err     error
}

func startChurn(t *testing.T, dsn string, rows int64, rate int) *churn {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	w := &churn{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer db.Close()
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		next := rows + 1
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			id := rng.Int63n(rows) + 1
			var q string
			switch n := rng.Intn(10); {
			case n < 6:
				q = fmt.Sprintf("UPDATE inventory.t SET v = v + 1 WHERE id = %d", id)
			case n < 9:
				q = fmt.Sprintf("DELETE FROM inventory.t WHERE id = %d", id)
			default:
				q = fmt.Sprintf("INSERT INTO inventory.t VALUES (%d, 0, 'new')", next)
				next++
			}
			if _, err := db.Exec(q); err != nil {
				w.err = err
				return
			}
			w.changes.Add(1)
		}
	}()
	return w
}

func (w *churn) finish(t *testing.T) int64 {
	t.Helper()
	close(w.stop)
	<-w.done
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	return w.changes.Load()
}

// lastPerKey returns the state of inventory.t every key's last record
// describes (nil: deleted).
func lastPerKey(t *testing.T, recs []*connect.Record) map[int64]*signaltest.Row {
	t.Helper()
	out := map[int64]*signaltest.Row{}
	for _, r := range recs {
		if r.Topic != "mariadb1.inventory.t" || r.Key == nil {
			continue
		}
		id := toI64(r.Key.(*connect.StructValue).Get("id"))
		v, ok := r.Value.(*connect.StructValue)
		if !ok || v == nil {
			out[id] = nil // tombstone
			continue
		}
		after, _ := v.Get("after").(*connect.StructValue)
		if after == nil {
			out[id] = nil
			continue
		}
		out[id] = &signaltest.Row{V: after.Get("v").(int32), Pad: after.Get("pad").(string)}
	}
	return out
}

// checkConverged compares every key's last record with the table.
func checkConverged(t *testing.T, dsn string, recs []*connect.Record) (rows, keys int) {
	t.Helper()
	return checkLast(t, dsn, lastPerKey(t, recs))
}

// checkLast compares inventory.t with each key's last row (nil: deleted).
func checkLast(t *testing.T, dsn string, last map[int64]*signaltest.Row) (rows, keys int) {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Query("SELECT id, v, pad FROM inventory.t")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	table := signaltest.ReadTable(t, res)
	if bad := signaltest.Diverged(t, table, last); bad > 0 {
		t.Fatalf("%d keys differ", bad)
	}
	return len(table), len(last)
}

func incrementalRows() int64 {
	if os.Getenv("TRIBUTARY_FAULT_TESTS") == "1" {
		return 1_000_000
	}
	return 20_000
}

// TestIncrementalSnapshotConverges snapshots a table incrementally while a
// writer updates, deletes and inserts random rows at about 500 changes/s;
// afterwards every key's last record equals the table (deleted rows end
// deleted). Variants: signal-table watermarks; read.only=true with GTID
// watermarks as a user without any write privilege (signals through the
// file channel); and watermarks with three simulated crashes during the
// snapshot (a write to Kafka fails, the task ends, a new one resumes from
// the committed offset at the chunk it stopped in). 1M rows with
// TRIBUTARY_FAULT_TESTS=1.
func TestIncrementalSnapshotConverges(t *testing.T) {
	rows := incrementalRows()
	for _, tc := range []struct {
		name     string
		readOnly bool
		crashes  int
	}{{"watermarks", false, 0}, {"read-only", true, 0}, {"watermarks-crashes", false, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory", signalTableDDL, "CREATE TABLE inventory.marker (id INT PRIMARY KEY)",
				"CREATE TABLE inventory.t (id BIGINT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40) NOT NULL)",
				fmt.Sprintf("INSERT INTO inventory.t SELECT seq, 0, MD5(seq) FROM inventory.seq_1_to_%d", rows))
			dir := t.TempDir()
			file := filepath.Join(dir, "signals.txt")
			extra := map[string]string{"snapshot.mode": "no_data", "incremental.snapshot.chunk.size": "1024", "max.batch.size": "512"}
			if tc.readOnly {
				// also @localhost: MariaDB's anonymous ''@'localhost' would
				// otherwise take the connection
				e.db.Exec(t, "", "CREATE USER 'reader'@'%' IDENTIFIED BY 'secret'", "CREATE USER 'reader'@'localhost' IDENTIFIED BY 'secret'",
					"GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'reader'@'%'",
					"GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'reader'@'localhost'")
				extra["database.user"], extra["database.password"] = "reader", "secret"
				extra["read.only"], extra["snapshot.locking.mode"] = "true", "none"
				extra["signal.enabled.channels"], extra["signal.file"], extra["signal.poll.interval.ms"] = "file", file, "100"
			} else {
				extra["signal.data.collection"] = "inventory.debezium_signal"
			}
			props := e.props(extra)
			c := &capture{}
			sink := signaltest.NewLog(t)
			var chunks atomic.Int64
			hook := func(tk *task) { tk.afterChunkRead = func(TableID, []any) { chunks.Add(1) } }
			run := e.startLogged(t, Plugin(), props, c, sink, hook)
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
				if _, ok := sink.Find("streaming started"); ok {
					break
				}
				c.mu.Lock()
				ended, err := c.taskEnded, c.taskErr
				c.mu.Unlock()
				if ended || time.Now().After(deadline) {
					t.Fatalf("streaming did not start: %v", err)
				}
			}
			w := startChurn(t, e.db.DSN(""), rows, 500)
			signalSent := time.Now()
			if tc.readOnly {
				if err := os.WriteFile(file, []byte(`{"id": "ro-1", "type": "execute-snapshot", "data": {"data-collections": ["inventory.t"]}}`+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["inventory.t"]}')`)
			}
			total := rows / 1024
			resumed := 0
			for k := 0; k < tc.crashes; k++ {
				target := int64(k+1) * total / int64(tc.crashes+1)
				for chunks.Load() < target {
					time.Sleep(5 * time.Millisecond)
				}
				c.mu.Lock()
				c.failAt = len(c.recs) + 1 + rand.Intn(300)
				c.mu.Unlock()
				if err := run.wait(t); err == nil {
					t.Fatal("the task did not fail on the failed write")
				}
				c.mu.Lock()
				c.failAt = 0
				c.mu.Unlock()
				run = e.startLogged(t, Plugin(), props, c, sink, hook)
				line := sink.WaitConsume(t, time.Minute, "incremental snapshot in progress; continuing")
				if !strings.Contains(line, "after_key=<start>") {
					resumed++
				}
			}
			sink.Wait(t, 10*time.Minute, "incremental snapshot completed")
			took := time.Since(signalSent)
			changes := w.finish(t)
			e.db.Exec(t, "", "INSERT INTO inventory.marker VALUES (1)")
			c.waitFor(t, 1, onTopic("mariadb1.inventory.marker"))
			run.stop(t)
			recs := c.records()
			reads := 0
			for _, r := range recs {
				if v, ok := r.Value.(*connect.StructValue); ok && r.Topic == "mariadb1.inventory.t" && v.Get("op") == string(debezium.OpRead) {
					reads++
				}
			}
			live, keys := checkConverged(t, e.db.DSN(""), recs)
			if tc.crashes > 0 && resumed == 0 {
				t.Fatal("no restart continued the snapshot from a stored position")
			}
			if tc.readOnly {
				var n int
				db, _ := sql.Open("mysql", e.db.DSN(""))
				defer db.Close()
				if err := db.QueryRow("SELECT COUNT(*) FROM inventory.debezium_signal").Scan(&n); err != nil || n != 0 {
					t.Fatalf("read-only snapshot wrote %d signal rows (%v)", n, err)
				}
			}
			t.Logf("%s: converged; %d rows in the table, %d keys, %d incremental reads of %d rows in %s (%.0f rows/s), %d writer changes, %d of %d restarts resumed mid-table",
				tc.name, live, keys, reads, rows, took.Round(time.Millisecond), float64(reads)/took.Seconds(), changes, resumed, tc.crashes)
		})
	}
}

// TestIncrementalSnapshotKill runs an incremental snapshot through the
// real runtime in a child process (offsets and records in an embedded
// Kafka broker) while the writer changes the table at about 500
// changes/s, and kills the child with SIGKILL three times during the
// snapshot. Every restart continues from the committed offset; at the
// end the last record of every key read back from Kafka equals the table
// (deleted rows end deleted).
func TestIncrementalSnapshotKill(t *testing.T) {
	rows := incrementalRows()
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory", signalTableDDL, "CREATE TABLE inventory.marker (id INT PRIMARY KEY)",
		"CREATE TABLE inventory.t (id BIGINT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40) NOT NULL)",
		fmt.Sprintf("INSERT INTO inventory.t SELECT seq, 0, MD5(seq) FROM inventory.seq_1_to_%d", rows))
	chunk := "20" // a few seconds of snapshot, for the kills to land in
	if rows > 100_000 {
		chunk = "1024"
	}
	props := e.props(map[string]string{"connector.class": "mariadb", "name": "crash",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
		"snapshot.mode": "no_data", "signal.data.collection": "inventory.debezium_signal", "incremental.snapshot.chunk.size": chunk})
	ccJSON, _ := json.Marshal(mysqlCrashChildConfig{Brokers: e.broker.Addrs(), Props: props})
	run := func() *crashtest.Child { return crashtest.Start(t, "TestMySQLCrashChild", mysqlCrashChildEnv, ccJSON) }
	waitOut := func(c *crashtest.Child, s string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Minute); !strings.Contains(c.Output(), s); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) || c.Exited() {
				t.Fatalf("child never logged %q\n%s", s, crashtest.Tail(c.Output(), 30))
			}
		}
	}
	child := run()
	waitOut(child, "streaming started")
	w := startChurn(t, e.db.DSN(""), rows, 500)
	e.db.Exec(t, "", `INSERT INTO inventory.debezium_signal VALUES ('kill-snap', 'execute-snapshot', '{"data-collections": ["inventory.t"]}')`)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	resumed, kills, completedEarly := 0, 0, false
	for i := 0; i < 3; i++ {
		if i == 0 {
			waitOut(child, "incremental snapshot: reading table")
		}
		time.Sleep(time.Duration(200+rng.Intn(600)) * time.Millisecond)
		child.Kill()
		if strings.Contains(child.Output(), "incremental snapshot completed") {
			// The killed child finished the snapshot first: a new one
			// must stream the marker below.
			t.Logf("kill %d came after the snapshot completed", i+1)
			completedEarly = true
			child = run()
			waitOut(child, "streaming started")
			break
		}
		kills++
		child = run()
		waitOut(child, "incremental snapshot in progress; continuing")
		if !strings.Contains(child.Output(), "after_key=<start>") {
			resumed++
		}
	}
	if !completedEarly {
		waitOut(child, "incremental snapshot completed")
	}
	changes := w.finish(t)
	e.db.Exec(t, "", "INSERT INTO inventory.marker VALUES (1)")
	signaltest.WaitTopic(t, e.raw, "mariadb1.inventory.marker")
	if completedEarly && strings.Contains(child.Output(), "incremental snapshot in progress; continuing") {
		// The snapshot's end was not committed before the kill: the new
		// child redoes the rest of it.
		waitOut(child, "incremental snapshot completed")
	}
	child.Kill()
	if kills == 0 || resumed == 0 {
		t.Fatalf("%d kills during the snapshot, %d restarts continued from a stored position", kills, resumed)
	}
	kvs, err := e.raw.ReadAll(context.Background(), "mariadb1.inventory.t")
	if err != nil {
		t.Fatal(err)
	}
	last, reads := signaltest.LastPerKey(t, kvs)
	live, keys := checkLast(t, e.db.DSN(""), last)
	t.Logf("%d kills: converged; %d rows in the table, %d keys in Kafka, %d incremental read records (%d rows at the start), %d writer changes, %d runs continued mid-table",
		kills, live, keys, reads, rows, changes, resumed)
}
