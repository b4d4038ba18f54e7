package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	connconv "github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

// ledger plays the runtime for tests that restart the task: it keeps every
// record the task hands over, commits the offset of the newest one
// periodically (as offset.flush.interval.ms does once Kafka acknowledged
// them), and at a task failure either drains and commits everything (the
// runtime's behaviour) or commits nothing more, as if Kafka had not
// acknowledged what was sent since the last commit. The records handed
// over but not committed at a failure are that failure's uncommitted
// window: the only records a restart may deliver again.
type ledger struct {
	mu           sync.Mutex
	recs         []*connect.Record
	runOf        []int // attempt (Run call) that delivered each record
	run          int
	committed    map[string]any
	committedLen int
	windows      [][2]int // [first, end) record index of each failure's uncommitted window
	failures     []error
	failedAt     []time.Time
	held         bool // periodic commits paused (Kafka slow to acknowledge)
}

func (l *ledger) Write(ctx context.Context, recs []*connect.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		l.recs = append(l.recs, r)
		l.runOf = append(l.runOf, l.run)
	}
	return nil
}

func (l *ledger) Offset(ctx context.Context, p map[string]any) (map[string]any, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.committed == nil {
		return nil, nil
	}
	// offsets go through JSON in the real store
	b, err := json.Marshal(l.committed)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return m, d.Decode(&m)
}

// commit commits the newest record's offset if the current attempt
// delivered it: after a failure without drain, nothing of the failed
// attempt is committed any more.
func (l *ledger) commit() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.held {
		l.commitLocked()
	}
}

// hold pauses or resumes the periodic commits.
func (l *ledger) hold(h bool) {
	l.mu.Lock()
	l.held = h
	l.mu.Unlock()
}

func (l *ledger) commitLocked() {
	n := len(l.recs)
	if n == 0 || l.runOf[n-1] != l.run {
		return
	}
	for i := n - 1; i >= l.committedLen; i-- {
		if l.recs[i].SourceOffset != nil {
			l.committed = l.recs[i].SourceOffset
			break
		}
	}
	l.committedLen = n
}

// fail records a failed attempt; drain says whether the runtime committed
// everything handed over before running the task again.
func (l *ledger) fail(err error, drain bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if drain {
		l.commitLocked()
	}
	l.windows = append(l.windows, [2]int{l.committedLen, len(l.recs)})
	l.failures = append(l.failures, err)
	l.failedAt = append(l.failedAt, time.Now())
	l.run++
}

func (l *ledger) snapshot() (recs []*connect.Record, runOf []int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*connect.Record(nil), l.recs...), append([]int(nil), l.runOf...)
}

func (l *ledger) failureCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.failures)
}

// retryLoop runs the task as the runtime does with a retriable error:
// again on the same task value after retriable.restart.connector.wait.ms,
// without limit (errors.max.retries=-1).
type retryLoop struct {
	done  chan struct{}
	err   error
	drain atomic.Bool
}

func startRetryLoop(ctx context.Context, t *testing.T, st connect.SourceTask, l *ledger, wait time.Duration) *retryLoop {
	rl := &retryLoop{done: make(chan struct{})}
	rl.drain.Store(true)
	stopCommits := make(chan struct{})
	go func() {
		// offset.flush.interval.ms
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopCommits:
				return
			case <-tick.C:
				l.commit()
			}
		}
	}()
	go func() {
		defer close(rl.done)
		defer close(stopCommits)
		for {
			err := st.Run(ctx, l)
			if ctx.Err() != nil || !connect.IsRetriable(err) {
				rl.err = err
				return
			}
			l.fail(err, rl.drain.Load())
			t.Logf("task failed retriably (restart %d): %v", l.failureCount(), err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
	return rl
}

// newSourceTask builds a task of plugin on the env's Kafka.
func (e *env) newSourceTask(t *testing.T, plugin *connect.Plugin, props map[string]string, offsets connect.OffsetReader) connect.SourceTask {
	t.Helper()
	v, err := plugin.Config().Parse(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	// named as the runtime names a task's logger
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("connector", "test", "task", 0)
	tc := connect.TaskContext{ConnectorName: "test", Offsets: offsets, Logger: log, Producer: e.raw}
	st, err := plugin.NewSourceTask(context.Background(), v, tc)
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	return st
}

// seqWriter keeps writing transactions that insert a new row (id from
// 1000 on) and bump the version of one of hotKeys rows, in turn, so every
// row and every version has a known place in the sequence. Failed
// transactions (the server is down) are retried with the next id; what
// committed is read back from the table at the end.
type seqWriter struct {
	stop              chan struct{}
	done              chan struct{}
	committed, failed atomic.Int64
}

const hotKeys = 10

func startSeqWriter(t *testing.T, dsn string) *seqWriter {
	w := &seqWriter{stop: make(chan struct{}), done: make(chan struct{})}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		defer db.Close()
		for id := 1000; ; id++ {
			select {
			case <-w.stop:
				return
			default:
			}
			// bounded, so that a hung server does not hold the writer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := db.ExecContext(ctx, fmt.Sprintf("BEGIN; INSERT INTO t (id, ver) VALUES (%d, 0); UPDATE t SET ver = ver + 1 WHERE id = %d; COMMIT", id, id%hotKeys+1))
			cancel()
			if err != nil {
				w.failed.Add(1)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			w.committed.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *seqWriter) halt() {
	close(w.stop)
	<-w.done
}

// rowEvent is a data event of table t.
type rowEvent struct {
	op      string
	id, ver int64
}

func rowEventOf(t *testing.T, r *connect.Record) (rowEvent, bool) {
	if r.Topic != "mariadb1.inventory.t" || r.Value == nil {
		return rowEvent{}, false
	}
	v := r.Value.(*connect.StructValue)
	ev := rowEvent{op: v.Get("op").(string)}
	after, _ := v.Get("after").(*connect.StructValue)
	if after == nil {
		t.Fatalf("event without after image: %v", v)
	}
	ev.id, _ = after.Get("id").(int64)
	ev.ver, _ = after.Get("ver").(int64)
	return ev, true
}

// TestServerRestart streams while the server is stopped cleanly, killed,
// and frozen (SIGSTOP: it accepts TCP connections but answers nothing, as
// behind a network that drops packets), each twice, while a writer keeps
// committing. The task must fail retriably each time and, run again by the
// loop the runtime runs, deliver every committed row and every version of
// the hot rows, in order per key, with duplicates only from the
// uncommitted windows. The first outage of each case drains and commits
// before the restart (what the runtime does); the second commits nothing
// of the failed attempt, so its uncommitted window is replayed.
func TestServerRestart(t *testing.T) {
	const keepAlive = 2 * time.Second
	cases := []struct {
		name   string
		outage func(t *testing.T, e *env) (down, up time.Time)
	}{
		{"clean stop", func(t *testing.T, e *env) (time.Time, time.Time) {
			down := time.Now()
			e.db.Stop(t)
			time.Sleep(time.Second)
			e.db.Start(t)
			return down, time.Now()
		}},
		{"crash", func(t *testing.T, e *env) (time.Time, time.Time) {
			down := time.Now()
			e.db.Crash(t)
			time.Sleep(time.Second)
			e.db.Start(t)
			return down, time.Now()
		}},
		{"hung server", func(t *testing.T, e *env) (time.Time, time.Time) {
			pid := serverPID(t, e)
			t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
			down := time.Now()
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			// long enough for the idle timeout and a few failed restarts
			time.Sleep(3 * keepAlive)
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			return down, time.Now()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory")
			vals := make([]string, hotKeys)
			for i := range vals {
				vals[i] = fmt.Sprintf("(%d, 0)", i+1)
			}
			e.db.Exec(t, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, ver BIGINT NOT NULL)", "INSERT INTO t VALUES "+strings.Join(vals, ","))
			props := e.props(map[string]string{
				"connect.keep.alive.interval.ms": strconv.Itoa(int(keepAlive.Milliseconds())),
				"connect.timeout.ms":             "3000",
			})
			l := &ledger{}
			st := e.newSourceTask(t, MariaDBPlugin(), props, l)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			loop := startRetryLoop(ctx, t, st, l, 200*time.Millisecond)
			defer func() {
				cancel()
				<-loop.done
			}()
			w := startSeqWriter(t, e.db.DSN("inventory"))
			stopped := false
			defer func() {
				if !stopped {
					w.halt()
				}
			}()

			waitRecords := func(n int, what string) {
				t.Helper()
				deadline := time.Now().Add(60 * time.Second)
				for {
					recs, _ := l.snapshot()
					if len(recs) >= n {
						return
					}
					select {
					case <-loop.done:
						t.Fatalf("task ended (%v) waiting for %s", loop.err, what)
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("timed out waiting for %s: %d of %d records", what, len(recs), n)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			waitRecords(hotKeys+300, "the snapshot and some streaming")
			for round := 0; round < 2; round++ {
				drain := round == 0
				loop.drain.Store(drain)
				if !drain {
					// a backlog of unacknowledged records when the
					// server goes: what the restart must deliver again
					l.hold(true)
					time.Sleep(300 * time.Millisecond)
				}
				failuresBefore := l.failureCount()
				recsBefore, _ := l.snapshot()
				down, up := tc.outage(t, e)
				l.hold(false)
				// recovered: records of an attempt after the outage
				deadline := time.Now().Add(60 * time.Second)
				var recovered time.Time
				for recovered.IsZero() {
					recs, runOf := l.snapshot()
					l.mu.Lock()
					run := l.run
					l.mu.Unlock()
					if l.failureCount() > failuresBefore && len(recs) > len(recsBefore) && runOf[len(runOf)-1] == run {
						recovered = time.Now()
					}
					if time.Now().After(deadline) {
						t.Fatalf("round %d: no records after the outage (%d failures so far, loop error %v)", round+1, l.failureCount(), loop.err)
					}
					time.Sleep(10 * time.Millisecond)
				}
				l.mu.Lock()
				noticed := l.failedAt[failuresBefore].Sub(down)
				restarts := len(l.failures) - failuresBefore
				l.mu.Unlock()
				t.Logf("round %d (drain=%v): failure noticed %s after the outage began; %d failed attempt(s); streaming again %s after the server was back",
					round+1, drain, noticed.Round(time.Millisecond), restarts, recovered.Sub(up).Round(time.Millisecond))
				if tc.name == "hung server" && noticed > keepAlive+3*time.Second {
					t.Errorf("a silent server was noticed only after %s (connect.keep.alive.interval.ms=%s)", noticed, keepAlive)
				}
				recs, _ := l.snapshot()
				waitRecords(len(recs)+200, "streaming after the outage")
			}
			w.halt()
			stopped = true

			// the truth: what the table holds now
			want := map[int64]int64{}
			db, err := sql.Open("mysql", e.db.DSN("inventory"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rows, err := db.Query("SELECT id, ver FROM t")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id, ver int64
				if err := rows.Scan(&id, &ver); err != nil {
					t.Fatal(err)
				}
				want[id] = ver
			}
			rows.Close()

			// wait for every row and the final version of every hot row
			deadline := time.Now().Add(90 * time.Second)
			for {
				recs, _ := l.snapshot()
				have := map[int64]int64{}
				for _, r := range recs {
					if ev, ok := rowEventOf(t, r); ok {
						have[ev.id] = max(have[ev.id], ev.ver)
					}
				}
				missing := 0
				for id, ver := range want {
					if v, ok := have[id]; !ok || v < ver {
						missing++
					}
				}
				if missing == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d rows (or their last version) never delivered", missing, len(want))
				}
				time.Sleep(50 * time.Millisecond)
			}
			cancel()
			<-loop.done
			if loop.err != nil {
				t.Fatalf("task ended with a non-retriable error: %v", loop.err)
			}
			recs, runOf := l.snapshot()
			l.mu.Lock()
			windows := append([][2]int(nil), l.windows...)
			failures := len(l.failures)
			l.mu.Unlock()
			for _, f := range l.failures {
				if !connect.IsRetriable(f) {
					t.Errorf("failure not retriable: %v", f)
				}
			}
			dups, inWindow := checkDelivery(t, recs, runOf, windows, want)
			inSome := map[int]bool{}
			for _, w := range windows {
				for i := w[0]; i < w[1]; i++ {
					inSome[i] = true
				}
			}
			windowed := len(inSome)
			t.Logf("%s: writer committed %d transactions (%d failed attempts); %d rows, %d data events delivered in %d attempts (%d retriable failures); %d duplicates, all within the uncommitted windows (%d records), %d of them replayed",
				tc.name, w.committed.Load(), w.failed.Load(), len(want), countData(t, recs), failures+1, failures, dups, windowed, inWindow)
		})
	}
}

func countData(t *testing.T, recs []*connect.Record) int {
	n := 0
	for _, r := range recs {
		if _, ok := rowEventOf(t, r); ok {
			n++
		}
	}
	return n
}

// checkDelivery checks the events of table t against the table's final
// contents (want: id -> version): every row created, every version of every
// row delivered, per key in order within an attempt and without a gap
// across attempts, and every event delivered more than once first
// delivered inside an uncommitted window. It returns the number of
// repeated deliveries.
func checkDelivery(t *testing.T, recs []*connect.Record, runOf []int, windows [][2]int, want map[int64]int64) (dups, inWindow int) {
	t.Helper()
	type seen struct {
		ver int64
		run int
	}
	last := map[int64]seen{}
	first := map[rowEvent]int{}
	for i, r := range recs {
		ev, ok := rowEventOf(t, r)
		if !ok {
			continue
		}
		if _, ok := want[ev.id]; !ok {
			t.Errorf("event %+v for a row that is not in the table", ev)
		}
		switch ev.op {
		case "r", "c", "u":
		default:
			t.Errorf("unexpected event %+v", ev)
		}
		if p, ok := last[ev.id]; ok {
			switch {
			case runOf[i] == p.run && ev.ver != p.ver+1:
				t.Errorf("row %d: version %d follows %d within attempt %d (record %d)", ev.id, ev.ver, p.ver, runOf[i], i)
			case runOf[i] != p.run && ev.ver > p.ver+1:
				t.Errorf("row %d: version %d follows %d across a restart: versions lost (record %d)", ev.id, ev.ver, p.ver, i)
			}
		} else if ev.op != "r" && ev.ver != 0 {
			// the snapshot may see any version; streaming starts at 0
			t.Errorf("row %d: first event has version %d (record %d)", ev.id, ev.ver, i)
		}
		last[ev.id] = seen{ev.ver, runOf[i]}
		if j, ok := first[ev]; ok {
			dups++
			in := false
			for _, w := range windows {
				if j >= w[0] && j < w[1] {
					in = true
				}
			}
			if !in {
				t.Errorf("event %+v delivered again (record %d, attempt %d) although its first delivery (record %d, attempt %d) was committed", ev, i, runOf[i], j, runOf[j])
			} else {
				inWindow++
			}
			continue
		}
		first[ev] = i
	}
	ids := make([]int64, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		p, ok := last[id]
		if !ok {
			t.Errorf("row %d never delivered", id)
			continue
		}
		if p.ver != want[id] {
			t.Errorf("row %d: last delivered version %d, the table has %d", id, p.ver, want[id])
		}
	}
	return dups, inWindow
}

// serverPID reads the MariaDB server's process id from its pid file.
func serverPID(t *testing.T, e *env) int {
	t.Helper()
	db, err := sql.Open("mysql", e.db.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var path string
	if err := db.QueryRow("SELECT @@GLOBAL.pid_file").Scan(&path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Fatalf("pid file %s: %q", path, b)
	}
	return pid
}

// TestServerRestartThroughRuntime runs the connector in the real runtime
// (offsets in a file, records in Kafka) while the server is killed and
// then stopped under a writer: the runtime's restart loop must bring the
// task back each time, and the topic must hold every row and every version
// of the hot rows, per key in order.
func TestServerRestartThroughRuntime(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	vals := make([]string, hotKeys)
	for i := range vals {
		vals[i] = fmt.Sprintf("(%d, 0)", i+1)
	}
	e.db.Exec(t, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, ver BIGINT NOT NULL)", "INSERT INTO t VALUES "+strings.Join(vals, ","))
	props := e.props(map[string]string{"connector.class": "mariadb", "name": "restart",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false",
		"retriable.restart.connector.wait.ms": "200", "connect.keep.alive.interval.ms": "2000", "connect.timeout.ms": "3000"})
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sc, err := kafka.ClientConfig{Brokers: e.broker.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	producer, err := kafka.NewProducer(e.broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	store, err := offsets.OpenFile(filepath.Join(t.TempDir(), "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := runtime.ParseConnector(connect.Plugins{MariaDBPlugin()}, config.Connector{Name: "restart", Config: props})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := runtime.NewSource(ctx, conn, runtime.SourceDeps{Producer: producer, Raw: e.raw, Converters: &connconv.Factory{},
		Transforms: transforms.Builtin(log), Offsets: store, Worker: map[string]string{"offset.flush.interval.ms": "100"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	w := startSeqWriter(t, e.db.DSN("inventory"))
	const topic = "mariadb1.inventory.t"
	type event struct {
		Op    string `json:"op"`
		After *struct {
			ID  int64 `json:"id"`
			Ver int64 `json:"ver"`
		} `json:"after"`
	}
	read := func() []event {
		kvs, err := e.raw.ReadAll(context.Background(), topic)
		if err != nil {
			return nil // not created yet
		}
		var out []event
		for _, kv := range kvs {
			var ev event
			if err := json.Unmarshal(kv.Value, &ev); err != nil || ev.After == nil {
				t.Fatalf("record %s: %v", kv.Value, err)
			}
			out = append(out, ev)
		}
		return out
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for len(read()) < n {
			select {
			case err := <-done:
				t.Fatalf("the runtime stopped: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %d records in %s", n, topic)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor(hotKeys + 200)
	for _, crash := range []bool{true, false} {
		if crash {
			e.db.Crash(t)
		} else {
			e.db.Stop(t)
		}
		time.Sleep(time.Second)
		e.db.Start(t)
		up := time.Now()
		n := len(read())
		waitFor(n + 200)
		t.Logf("crash=%v: %d new records in Kafka %s after the server was back", crash, len(read())-n, time.Since(up).Round(time.Millisecond))
	}
	w.halt()
	want := map[int64]int64{}
	db, err := sql.Open("mysql", e.db.DSN("inventory"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, ver FROM t")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, ver int64
		if err := rows.Scan(&id, &ver); err != nil {
			t.Fatal(err)
		}
		want[id] = ver
	}
	rows.Close()
	deadline := time.Now().Add(90 * time.Second)
	for {
		evs := read()
		last := map[int64]int64{}
		seen := map[[2]int64]bool{}
		dups, problems := 0, []string{}
		for _, ev := range evs {
			id, ver := ev.After.ID, ev.After.Ver
			if p, ok := last[id]; ok && ver > p+1 {
				problems = append(problems, fmt.Sprintf("row %d: version %d follows %d", id, ver, p))
			}
			last[id] = ver
			if seen[[2]int64{id, ver}] {
				dups++
			}
			seen[[2]int64{id, ver}] = true
		}
		missing := 0
		for id, ver := range want {
			if v, ok := last[id]; !ok || v != ver {
				missing++
			}
		}
		if missing == 0 {
			for _, p := range problems {
				t.Error(p)
			}
			t.Logf("writer committed %d transactions (%d failed attempts); all %d rows and their last versions in Kafka; %d records, %d duplicates",
				w.committed.Load(), w.failed.Load(), len(want), len(evs), dups)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows (or their last versions) not in Kafka", missing, len(want))
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runtime: %v", err)
	}
	done <- nil // for the deferred receive
}

// TestSnapshotInterrupted kills the server while the initial snapshot
// streams a table: the task fails retriably, the restarted run takes the
// snapshot again (the stored offset says it was not completed), and every
// row arrives as a read event before streaming goes on.
func TestSnapshotInterrupted(t *testing.T) {
	const rows = 100000
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, ver BIGINT NOT NULL, pad VARCHAR(100) NOT NULL)",
		"SET SESSION max_recursive_iterations = 1000000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < %d) SELECT n, 0, REPEAT('x', 100) FROM g", rows))
	l := &ledger{}
	st := e.newSourceTask(t, MariaDBPlugin(), e.props(map[string]string{"connect.timeout.ms": "3000"}), l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	loop := startRetryLoop(ctx, t, st, l, 200*time.Millisecond)
	defer func() {
		cancel()
		<-loop.done
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		recs, _ := l.snapshot()
		if len(recs) >= 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the snapshot did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.db.Crash(t)
	recs, _ := l.snapshot()
	if len(recs) >= rows {
		t.Skipf("the snapshot (%d rows) finished before the crash", rows)
	}
	time.Sleep(500 * time.Millisecond)
	e.db.Start(t)
	// wait is for events of the runs after the crash
	wait := func(what string, done func(read map[int64]bool, created map[int64]bool) bool) {
		t.Helper()
		deadline := time.Now().Add(120 * time.Second)
		for {
			recs, runOf := l.snapshot()
			read, created := map[int64]bool{}, map[int64]bool{}
			for i, r := range recs {
				if ev, ok := rowEventOf(t, r); ok && runOf[i] > 0 {
					switch ev.op {
					case "r":
						read[ev.id] = true
					case "c":
						created[ev.id] = true
					}
				}
			}
			if done(read, created) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after the restart, waiting for %s: %d of %d rows read (failures %d, loop error %v)", what, len(read), rows, l.failureCount(), loop.err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("the new snapshot", func(read, _ map[int64]bool) bool { return len(read) == rows })
	e.db.Exec(t, "inventory", fmt.Sprintf("INSERT INTO t VALUES (%d, 0, 'after the snapshot')", rows+1))
	wait("the insert after the snapshot", func(_, created map[int64]bool) bool { return created[rows+1] })
	l.mu.Lock()
	first := l.failures[0]
	n := len(l.failures)
	l.mu.Unlock()
	if !strings.Contains(first.Error(), "snapshot") {
		t.Errorf("first failure does not say it happened in the snapshot: %v", first)
	}
	t.Logf("crashed after %d snapshot records; %d retriable failures, first: %v; the new snapshot read all %d rows and streaming followed", len(recs), n, first, rows)
}
