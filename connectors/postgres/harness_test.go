package postgres

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/testdb"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/postgres")

// capture is a RecordWriter that keeps every record and, like the runtime
// once Kafka acknowledged them, reports their offsets as committed.
type capture struct {
	mu      sync.Mutex
	recs    []*connect.Record
	task    *pgTask
	commit  bool
	changed chan struct{}
	stored  map[string]any // last committed offset
	writes  int            // Write calls
}

func newCapture() *capture { return &capture{commit: true, changed: make(chan struct{}, 1)} }

func (c *capture) Write(ctx context.Context, recs []*connect.Record) error {
	c.mu.Lock()
	c.recs = append(c.recs, recs...)
	c.writes++
	var last map[string]any
	for _, r := range recs {
		if r.SourceOffset != nil {
			last = r.SourceOffset
		}
	}
	if last != nil && c.commit {
		c.stored = last
	}
	t := c.task
	commit := c.commit
	c.mu.Unlock()
	if last != nil && t != nil && commit {
		if err := t.OffsetsCommitted(ctx, t.partition, last); err != nil {
			return err
		}
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return nil
}

// AllCommitted implements connect.CommitReporter: with commit set every
// record is committed as soon as it is written.
func (c *capture) AllCommitted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commit
}

func (c *capture) records() []*connect.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*connect.Record(nil), c.recs...)
}

// dataRecords returns records on topics starting with prefix+"." other
// than heartbeats and transaction metadata.
func (c *capture) waitFor(t *testing.T, n int, pred func(*connect.Record) bool) []*connect.Record {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var out []*connect.Record
		for _, r := range c.records() {
			if pred == nil || pred(r) {
				out = append(out, r)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d records, have %d: %s", n, len(out), describe(out))
		}
		select {
		case <-c.changed:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func describe(recs []*connect.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "\n  %s", r.Topic)
	}
	return b.String()
}

func onTopicPrefix(p string) func(*connect.Record) bool {
	return func(r *connect.Record) bool { return strings.HasPrefix(r.Topic, p) }
}

func isData(prefix string) func(*connect.Record) bool {
	return func(r *connect.Record) bool {
		return strings.HasPrefix(r.Topic, prefix+".") && !strings.HasSuffix(r.Topic, ".transaction") && !strings.HasSuffix(r.Topic, ".message")
	}
}

// memOffsets is an OffsetReader over a fixed map.
type memOffsets struct{ m map[string]any }

func (o memOffsets) Offset(context.Context, map[string]any) (map[string]any, error) { return o.m, nil }

// env is a throwaway PostgreSQL server with a test database.
type env struct {
	pg *testdb.Postgres
	db string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	return &env{pg: pg, db: "app"}
}

func (e *env) exec(t *testing.T, sql ...string) { t.Helper(); e.pg.Exec(t, e.db, sql...) }

func (e *env) props(extra ...string) map[string]string {
	p := map[string]string{
		"database.hostname": e.pg.Host,
		"database.port":     fmt.Sprint(e.pg.Port),
		"database.user":     "postgres",
		"database.dbname":   e.db,
		"database.sslmode":  "disable",
		"topic.prefix":      "dbserver1",
		"plugin.name":       "pgoutput",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	return p
}

// running is a task running in the background.
type running struct {
	task   *pgTask
	cap    *capture
	cancel context.CancelFunc
	done   chan error
}

// testSignals stand for a worker's REST signal inboxes: the tasks the
// harness starts take REST signals through them.
var testSignals = signal.NewInboxes()

func startTask(t *testing.T, props map[string]string, stored map[string]any, cap *capture) *running {
	t.Helper()
	vals, err := Def().Parse(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	task, err := newTask(vals, connect.TaskContext{ConnectorName: "test", Offsets: memOffsets{stored}, Logger: logger})
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

func (r *running) stop(t *testing.T) error {
	t.Helper()
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("task did not stop")
	}
	return nil
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Volatile values are replaced in golden files: timestamps (ts_ms, ts_us,
// ts_ns in the envelope and source), transaction ids (txId), WAL
// positions (lsn, sequence, the LSN part of transaction ids) and xmin.
var volatile = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`"(ts_ms|ts_us|ts_ns|txId|lsn|xmin|origin_lsn)":-?\d+`), `"$1":"<$1>"`},
	{regexp.MustCompile(`"sequence":"(\\"|[^"])*"`), `"sequence":"<sequence>"`},
	{regexp.MustCompile(`"id":"\d+:\d+"`), `"id":"<txid:lsn>"`},
}

func normalize(s string) string {
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.repl)
	}
	return s
}

// renderRecords renders records as the JsonConverter (schemas enabled)
// would write them to Kafka.
func renderRecords(t *testing.T, recs []*connect.Record) string {
	t.Helper()
	conv := &converter.JSON{SchemasEnabled: true}
	var b bytes.Buffer
	for _, r := range recs {
		k, err := conv.FromConnect(r.Topic, r.KeySchema, r.Key)
		if err != nil {
			t.Fatalf("key of %s: %v", r.Topic, err)
		}
		v, err := conv.FromConnect(r.Topic, r.ValueSchema, r.Value)
		if err != nil {
			t.Fatalf("value of %s: %v", r.Topic, err)
		}
		fmt.Fprintf(&b, "topic: %s\nkey: %s\nvalue: %s\n", r.Topic, normalize(string(k)), normalize(string(v)))
		for _, h := range r.Headers {
			hv, err := conv.FromConnect(r.Topic, h.Schema, h.Value)
			if err != nil {
				t.Fatalf("header %s of %s: %v", h.Key, r.Topic, err)
			}
			fmt.Fprintf(&b, "header %s: %s\n", h.Key, hv)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func goldenPath(name string) string { return filepath.Join("..", "..", "testdata", "postgres", name) }

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := goldenPath(name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run with -update to create): %v", path, err)
	}
	if string(want) != got {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

// waitSlotActive waits until the task streams from its slot.
func waitSlotActive(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
		if err == nil {
			var active bool
			// A slot being created is active before it has a
			// confirmed_flush_lsn (NULL until its consistent point).
			err = conn.QueryRow(context.Background(), "SELECT active AND confirmed_flush_lsn IS NOT NULL FROM pg_replication_slots WHERE slot_name = 'debezium'").Scan(&active)
			conn.Close(context.Background())
			if err == nil && active {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("replication slot never became active")
}
