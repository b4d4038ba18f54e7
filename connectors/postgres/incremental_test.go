package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// startLogged is startTask with the task's log going to sink.
func startLogged(t *testing.T, props map[string]string, stored map[string]any, cap *capture, sink *signaltest.Log) *running {
	t.Helper()
	vals, err := Def().Parse(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	task, err := newTask(vals, connect.TaskContext{ConnectorName: "test", Offsets: memOffsets{stored}, Logger: slog.New(sink)})
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	if cap == nil {
		cap = newCapture()
	}
	cap.mu.Lock()
	cap.task = task
	cap.mu.Unlock()
	ctx, cancel := context.WithCancel(signal.WithInboxes(context.Background(), testSignals))
	r := &running{task: task, cap: cap, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- task.Run(ctx, cap) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

const signalTableDDL = `CREATE TABLE debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)`

// rowState is a row as the last event of its key shows it; nil when the
// key ends deleted.
type rowState map[string]any

// lastEvents folds the records of topic into each key's last state, keyed
// by the key's "id" field.
func lastEvents(t *testing.T, recs []*connect.Record, topic string) map[int64]rowState {
	t.Helper()
	out := map[int64]rowState{}
	for _, r := range recs {
		if r.Topic != topic {
			continue
		}
		k, ok := r.Key.(*connect.StructValue)
		if !ok {
			t.Fatalf("record on %s without a struct key: %v", topic, r.Key)
		}
		id, _ := k.Get("id").(int64)
		if r.Value == nil {
			out[id] = nil // tombstone
			continue
		}
		env := r.Value.(*connect.StructValue)
		if env.Get("op") == "d" {
			out[id] = nil
			continue
		}
		after := env.Get("after").(*connect.StructValue)
		st := rowState{}
		for i, f := range after.Schema.Fields {
			st[f.Name] = after.Values[i]
		}
		out[id] = st
	}
	return out
}

// checkConverged compares every key's last event with the table: rows in
// the table have an event with their current values, deleted rows end
// deleted (or never appeared).
func checkConverged(t *testing.T, e *env, recs []*connect.Record, table string) {
	t.Helper()
	last := lastEvents(t, recs, "dbserver1.public."+table)
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), "SELECT id, v, pad FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	live := map[int64]bool{}
	bad := 0
	for rows.Next() {
		var id int64
		var v int32
		var pad string
		if err := rows.Scan(&id, &v, &pad); err != nil {
			t.Fatal(err)
		}
		live[id] = true
		st, ok := last[id]
		switch {
		case !ok || st == nil:
			bad++
			if bad <= 5 {
				t.Errorf("row %d is in the table but its last event is %v (present: %v)", id, st, ok)
			}
		case st["v"] != v || st["pad"] != pad:
			bad++
			if bad <= 5 {
				t.Errorf("row %d is (%d, %q) but its last event says (%v, %v)", id, v, pad, st["v"], st["pad"])
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, st := range last {
		if st != nil && !live[id] {
			bad++
			if bad <= 10 {
				t.Errorf("row %d was deleted but its last event shows it: %v", id, st)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d keys differ between the table and their last events (%d rows in the table, %d keys in events)", bad, len(live), len(last))
	}
	t.Logf("converged: %d rows in the table, %d keys in events", len(live), len(last))
}

// churn updates, deletes and inserts random rows of table until stop is
// closed, about rate changes per second.
type churn struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	changes atomic.Int64
	err     atomic.Value
}

func startChurn(t *testing.T, e *env, table string, maxID int64, rate int) *churn {
	t.Helper()
	c := &churn{stop: make(chan struct{})}
	var next atomic.Int64
	next.Store(maxID)
	// Several connections, so that the rate holds on a loaded machine
	// where one statement takes several milliseconds.
	workers := max(1, rate/100)
	for w := 0; w < workers; w++ {
		conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
		if err != nil {
			t.Fatal(err)
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer conn.Close(context.Background())
			rng := rand.New(rand.NewSource(time.Now().UnixNano() + int64(w)))
			tick := time.NewTicker(time.Second * time.Duration(workers) / time.Duration(rate))
			defer tick.Stop()
			for {
				select {
				case <-c.stop:
					return
				case <-tick.C:
				}
				var q string
				switch p := rng.Intn(100); {
				case p < 60:
					q = fmt.Sprintf("UPDATE %s SET v = v + 1, pad = md5(random()::text) WHERE id = %d", table, 1+rng.Int63n(next.Load()))
				case p < 85:
					q = fmt.Sprintf("DELETE FROM %s WHERE id = %d", table, 1+rng.Int63n(next.Load()))
				default:
					q = fmt.Sprintf("INSERT INTO %s VALUES (%d, 0, 'new')", table, next.Add(1))
				}
				if _, err := conn.Exec(context.Background(), q); err != nil {
					c.err.Store(err)
					return
				}
				c.changes.Add(1)
			}
		}()
	}
	return c
}

func (c *churn) finish(t *testing.T) int64 {
	t.Helper()
	close(c.stop)
	c.wg.Wait()
	if err, _ := c.err.Load().(error); err != nil {
		t.Fatalf("writer: %v", err)
	}
	return c.changes.Load()
}

// caughtUp writes a row to a marker table and waits until the stream has
// delivered it, so every earlier change is in the capture.
func caughtUp(t *testing.T, e *env, cap *capture, n int) {
	t.Helper()
	e.exec(t, fmt.Sprintf("INSERT INTO marker VALUES (%d)", n))
	cap.waitFor(t, 1, func(r *connect.Record) bool {
		if r.Topic != "dbserver1.public.marker" || r.Value == nil {
			return false
		}
		after, _ := r.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
		return after != nil && after.Get("id") == int32(n)
	})
}

func incrementalReads(recs []*connect.Record, topic string) []*connect.Record {
	var out []*connect.Record
	for _, r := range recs {
		if r.Topic != topic || r.Value == nil {
			continue
		}
		env := r.Value.(*connect.StructValue)
		if env.Get("op") == "r" && env.Get("source").(*connect.StructValue).Get("snapshot") == "incremental" {
			out = append(out, r)
		}
	}
	return out
}

func longTests() bool { return os.Getenv("TRIBUTARY_LONG_TESTS") == "1" }

// TestIncrementalSnapshotConverges snapshots a table incrementally while a
// writer updates, deletes and inserts random rows of it; afterwards the
// last event of every key equals the table. 20k rows locally, 1M rows
// with TRIBUTARY_LONG_TESTS=1.
func TestIncrementalSnapshotConverges(t *testing.T) {
	rows, rate, chunk := int64(20000), 400, "200"
	if longTests() {
		rows, rate, chunk = 1_000_000, 500, "1024"
	}
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE marker (id int PRIMARY KEY)`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, %d) g`, rows))
	sink := signaltest.NewLog(t)
	// Small chunks make many windows, so that many of them see changes.
	r := startLogged(t, e.props("snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal",
		"incremental.snapshot.chunk.size", chunk, "status.update.interval.ms", "500"), nil, nil, sink)
	waitSlotActive(t, e)
	w := startChurn(t, e, "t", rows, rate)
	started := time.Now()
	e.exec(t, `INSERT INTO debezium_signal VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
	sink.Wait(t, 30*time.Minute, "incremental snapshot completed")
	el := time.Since(started)
	changes := w.finish(t)
	caughtUp(t, e, r.cap, 1)
	recs := r.cap.records()
	reads := incrementalReads(recs, "dbserver1.public.t")
	t.Logf("incremental snapshot of %d rows: %d read events in %s (%.0f rows/s) while the writer made %d changes (%.0f/s)",
		rows, len(reads), el.Round(time.Millisecond), float64(len(reads))/el.Seconds(), changes, float64(changes)/el.Seconds())
	if len(reads) == 0 || int64(len(reads)) > rows+changes {
		t.Fatalf("%d incremental read events for %d rows", len(reads), rows)
	}
	checkConverged(t, e, recs, "t")
	// Every read event's offset carries the snapshot context; after the
	// snapshot the offsets carry none.
	off := reads[len(reads)-1].SourceOffset
	if off[signal.KeyCollections] == nil || off[keySnapshot] != snapshotIncremental {
		t.Fatalf("offset of a read event: %v", off)
	}
	if _, ok := recs[len(recs)-1].SourceOffset[signal.KeyCollections]; ok {
		t.Fatalf("offset after the snapshot still has the snapshot context: %v", recs[len(recs)-1].SourceOffset)
	}
}

// TestIncrementalSnapshotWindowDedup changes rows of every chunk after it
// is read and before its close watermark is written: the streamed changes
// must win over the chunk's stale copies, so the stale values never end up
// as a key's last event.
func TestIncrementalSnapshotWindowDedup(t *testing.T) {
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE marker (id int PRIMARY KEY)`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`,
		`INSERT INTO t SELECT g, 0, 'x' FROM generate_series(1, 2000) g`)
	sink := signaltest.NewLog(t)
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var changed atomic.Int64
	hook := func(_ tableID, last []any) {
		// Update two rows and delete one of the chunk just read (ids
		// last-99..last), committed before the close watermark.
		end := last[0].(int64)
		if _, err := conn.Exec(context.Background(), fmt.Sprintf(
			"UPDATE t SET v = v + 1, pad = 'changed' WHERE id IN (%d, %d); DELETE FROM t WHERE id = %d", end-10, end-50, end-70)); err != nil {
			t.Error(err)
		}
		changed.Add(3)
	}
	r := startLoggedHook(t, e.props("snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal",
		"incremental.snapshot.chunk.size", "100"), sink, hook)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
	line := sink.Wait(t, 2*time.Minute, "incremental snapshot: finished table")
	caughtUp(t, e, r.cap, 1)
	checkConverged(t, e, r.cap.records(), "t")
	if !strings.Contains(line, "replaced_by_stream=60") {
		t.Fatalf("expected the 60 changed rows (3 in each of 20 chunks) to be replaced by streamed changes: %s", line)
	}
	reads := incrementalReads(r.cap.records(), "dbserver1.public.t")
	if len(reads) != 2000-60 {
		t.Fatalf("%d read events, want %d", len(reads), 2000-60)
	}
}

// startLoggedHook is startLogged with an afterChunkRead hook.
func startLoggedHook(t *testing.T, props map[string]string, sink *signaltest.Log, hook func(tableID, []any)) *running {
	t.Helper()
	vals, err := Def().Parse(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	task, err := newTask(vals, connect.TaskContext{ConnectorName: "test", Offsets: memOffsets{}, Logger: slog.New(sink)})
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	task.afterChunkRead = hook
	cap := newCapture()
	cap.task = task
	ctx, cancel := context.WithCancel(signal.WithInboxes(context.Background(), testSignals))
	r := &running{task: task, cap: cap, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- task.Run(ctx, cap) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// TestIncrementalSnapshotResumesAfterRestart stops the connector in the
// middle of an incremental snapshot while a writer changes the table; the
// next run continues after the last key the stored offset names (not from
// the start) and the table still converges.
func TestIncrementalSnapshotResumesAfterRestart(t *testing.T) {
	const rows = 5000
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE marker (id int PRIMARY KEY)`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, %d) g`, rows))
	props := e.props("snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal",
		"incremental.snapshot.chunk.size", "50", "status.update.interval.ms", "500")
	cap := newCapture()
	first := startLogged(t, props, nil, cap, signaltest.NewLog(t))
	waitSlotActive(t, e)
	w := startChurn(t, e, "t", rows, 200)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
	cap.waitFor(t, 1500, func(r *connect.Record) bool {
		return len(incrementalReads([]*connect.Record{r}, "dbserver1.public.t")) == 1
	})
	if err := first.stop(t); err != nil {
		t.Fatalf("first run: %v", err)
	}
	cap.mu.Lock()
	stored := cap.stored
	cap.mu.Unlock()
	hexKey, _ := stored[signal.KeyPrimaryKey].(string)
	key, err := signal.DecodeKey(hexKey)
	if err != nil || len(key) != 1 {
		t.Fatalf("stored offset has no readable %s: %v (%v)", signal.KeyPrimaryKey, stored, err)
	}
	before := len(incrementalReads(cap.records(), "dbserver1.public.t"))
	t.Logf("stopped after %d rows; stored position %v", before, key)

	sink := signaltest.NewLog(t)
	startLogged(t, props, stored, cap, sink)
	sink.Wait(t, time.Minute, "incremental snapshot in progress; continuing", fmt.Sprintf("after_key=[%d]", key[0]))
	sink.Wait(t, 5*time.Minute, "incremental snapshot completed")
	w.finish(t)
	caughtUp(t, e, cap, 1)
	recs := cap.records()
	reads := incrementalReads(recs, "dbserver1.public.t")
	resumed := reads[before:]
	if len(resumed) == 0 {
		t.Fatal("the second run read nothing")
	}
	firstID := resumed[0].Key.(*connect.StructValue).Get("id").(int64)
	if firstID <= key[0].(int64) {
		t.Fatalf("the second run started at id %d, not after the stored %d", firstID, key[0])
	}
	checkConverged(t, e, recs, "t")
}

func slogDiscard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestIncrementalSnapshotKeys reads tables chunked by different kinds of
// keys (uuid, a composite text+int key, a nullable column named by
// message.key.columns, a surrogate key of a keyless table) in small chunks:
// every row is read exactly once. Conditions restrict the rows read.
func TestIncrementalSnapshotKeys(t *testing.T) {
	e := newEnv(t)
	e.exec(t, signalTableDDL,
		`CREATE TABLE k_uuid (id uuid PRIMARY KEY, v int)`,
		`INSERT INTO k_uuid SELECT gen_random_uuid(), g FROM generate_series(1, 100) g`,
		`CREATE TABLE k_comp (a text, b int, v int, PRIMARY KEY (a, b))`,
		`INSERT INTO k_comp SELECT 'g''' || (g % 7), g, g FROM generate_series(1, 100) g`,
		`CREATE TABLE k_null (x int UNIQUE, v int)`,
		`INSERT INTO k_null SELECT g, g FROM generate_series(1, 50) g`, `INSERT INTO k_null VALUES (NULL, 0)`,
		`CREATE TABLE k_surr (s bigint NOT NULL, v int)`,
		`INSERT INTO k_surr SELECT g * 3, g FROM generate_series(1, 100) g`,
		`CREATE TABLE k_cond (id int PRIMARY KEY, v int)`,
		`INSERT INTO k_cond SELECT g, g FROM generate_series(1, 100) g`)
	sink := signaltest.NewLog(t)
	r := startLogged(t, e.props("snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal",
		"incremental.snapshot.chunk.size", "7", "message.key.columns", "public.k_null:x"), nil, nil, sink)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('keys', 'execute-snapshot', '{"data-collections": ["public.k_uuid", "public.k_comp", "public.k_null"]}')`,
		`INSERT INTO debezium_signal VALUES ('surrogate', 'execute-snapshot', '{"data-collections": ["public.k_surr"], "surrogate-key": "s"}')`,
		`INSERT INTO debezium_signal VALUES ('cond', 'execute-snapshot', '{"data-collections": ["public.k_cond"],
			"additional-conditions": [{"data-collection": "public.k_cond", "filter": "v % 10 = 0 OR v > 95"}]}')`)
	for _, tt := range []struct {
		table string
		rows  int
	}{{"k_uuid", 100}, {"k_comp", 100}, {"k_null", 51}, {"k_surr", 100}, {"k_cond", 14}} {
		sink.Wait(t, time.Minute, "incremental snapshot: finished table", "table=public."+tt.table+" ", fmt.Sprintf("rows=%d", tt.rows))
		// The log line may come before the last window is handed over.
		reads := r.cap.waitFor(t, tt.rows, func(rec *connect.Record) bool {
			return len(incrementalReads([]*connect.Record{rec}, "dbserver1.public."+tt.table)) == 1
		})
		seen := map[string]bool{}
		for _, rec := range reads {
			after := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
			k := fmt.Sprint(after.Values)
			if seen[k] {
				t.Errorf("%s: row %s read twice", tt.table, k)
			}
			seen[k] = true
		}
		if len(seen) != tt.rows {
			t.Errorf("%s: %d distinct rows read, want %d", tt.table, len(seen), tt.rows)
		}
	}
}

// TestBlockingSnapshotConverges runs a blocking snapshot while a writer
// changes the table: the snapshot reads while the stream is paused, the
// stream then delivers what changed meanwhile, and every key's last event
// equals the table.
func TestBlockingSnapshotConverges(t *testing.T) {
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE marker (id int PRIMARY KEY)`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`,
		`INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, 20000) g`)
	sink := signaltest.NewLog(t)
	r := startLogged(t, e.props("snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal"), nil, nil, sink)
	waitSlotActive(t, e)
	w := startChurn(t, e, "t", 20000, 300)
	time.Sleep(500 * time.Millisecond)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('block', 'execute-snapshot', '{"data-collections": ["public.t"], "type": "blocking"}')`)
	sink.Wait(t, 5*time.Minute, "blocking snapshot completed", "rows=")
	time.Sleep(500 * time.Millisecond)
	changes := w.finish(t)
	caughtUp(t, e, r.cap, 1)
	t.Logf("%d changes during the test", changes)
	checkConverged(t, e, r.cap.records(), "t")
}

// TestIncrementalSnapshotOfNewlyIncludedTable: a table outside
// table.include.list is refused with a log line naming the signal; once
// the include list names it (a restart; the filtered publication is
// altered), a signal snapshots it while the stream goes on.
func TestIncrementalSnapshotOfNewlyIncludedTable(t *testing.T) {
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE a (id bigint PRIMARY KEY, v int)`, `CREATE TABLE b (id bigint PRIMARY KEY, v int)`,
		`INSERT INTO b SELECT g, g FROM generate_series(1, 500) g`)
	base := []string{"snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal", "publication.autocreate.mode", "filtered"}
	cap := newCapture()
	sink := signaltest.NewLog(t)
	first := startLogged(t, e.props(append(base, "table.include.list", "public.a")...), nil, cap, sink)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('too-early', 'execute-snapshot', '{"data-collections": ["public.b"]}')`)
	sink.Wait(t, time.Minute, "not captured", "signal_id=too-early", "table=public.b")
	e.exec(t, `INSERT INTO a VALUES (1, 1)`)
	cap.waitFor(t, 1, onTopicPrefix("dbserver1.public.a"))
	if err := first.stop(t); err != nil {
		t.Fatal(err)
	}
	cap.mu.Lock()
	stored := cap.stored
	cap.mu.Unlock()

	sink = signaltest.NewLog(t)
	startLogged(t, e.props(append(base, "table.include.list", "public.a,public.b")...), stored, cap, sink)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('now', 'execute-snapshot', '{"data-collections": ["public.b"]}')`)
	sink.Wait(t, time.Minute, "incremental snapshot: finished table", "table=public.b", "rows=500")
	cap.waitFor(t, 500, func(r *connect.Record) bool {
		return len(incrementalReads([]*connect.Record{r}, "dbserver1.public.b")) == 1
	})
	e.exec(t, `UPDATE b SET v = 0 WHERE id = 1`)
	cap.waitFor(t, 1, func(r *connect.Record) bool {
		return r.Topic == "dbserver1.public.b" && r.Value != nil && r.Value.(*connect.StructValue).Get("op") == "u"
	})
}

// TestIncrementalSnapshotInsertDelete: with
// incremental.snapshot.watermarking.strategy=insert_delete a window is
// closed by deleting its open row, so the signal table keeps no
// watermarks.
func TestIncrementalSnapshotInsertDelete(t *testing.T) {
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE marker (id int PRIMARY KEY)`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`,
		`INSERT INTO t SELECT g, 0, 'x' FROM generate_series(1, 1000) g`)
	sink := signaltest.NewLog(t)
	r := startLogged(t, e.props("snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal",
		"incremental.snapshot.chunk.size", "50", "incremental.snapshot.watermarking.strategy", "insert_delete"), nil, nil, sink)
	waitSlotActive(t, e)
	w := startChurn(t, e, "t", 1000, 200)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('snap', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
	sink.Wait(t, time.Minute, "incremental snapshot completed")
	w.finish(t)
	caughtUp(t, e, r.cap, 1)
	checkConverged(t, e, r.cap.records(), "t")
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM debezium_signal WHERE type LIKE 'snapshot-window-%'").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d watermark rows left in the signal table", left)
	}
}
