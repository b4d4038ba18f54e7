package mysql

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/tributary-io/tributary/connect"
	connconv "github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/testdb"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/mysql")

// capture is a RecordWriter that keeps every record and treats each batch
// as committed, as the runtime does once Kafka acknowledged it.
type capture struct {
	mu        sync.Mutex
	recs      []*connect.Record
	batches   [][]*connect.Record // one per Write, as the task handed them over
	stored    map[string]any
	failAt    int // fail the Write that would exceed this many records (0: never)
	taskErr   error
	taskEnded bool
}

func (c *capture) Write(ctx context.Context, recs []*connect.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failAt > 0 && len(c.recs)+len(recs) > c.failAt {
		return fmt.Errorf("simulated crash")
	}
	c.recs = append(c.recs, recs...)
	c.batches = append(c.batches, append([]*connect.Record(nil), recs...))
	for _, r := range recs {
		if r.SourceOffset != nil {
			c.stored = r.SourceOffset
		}
	}
	return nil
}

func (c *capture) Offset(ctx context.Context, p map[string]any) (map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stored == nil {
		return nil, nil
	}
	// offsets go through JSON in the real store
	b, _ := json.Marshal(c.stored)
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	d.Decode(&m)
	return m, nil
}

func (c *capture) records() []*connect.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*connect.Record(nil), c.recs...)
}

func (c *capture) reset() {
	c.mu.Lock()
	c.recs, c.batches = nil, nil
	c.mu.Unlock()
}

func (c *capture) writes() [][]*connect.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]*connect.Record(nil), c.batches...)
}

// waitFor waits until n records satisfy pred.
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
		c.mu.Lock()
		ended, terr := c.taskEnded, c.taskErr
		c.mu.Unlock()
		if ended {
			t.Fatalf("task ended (%v) with %d of %d records", terr, len(out), n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d records, have %d", n, len(out))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func onTopic(topic string) func(*connect.Record) bool {
	return func(r *connect.Record) bool { return r.Topic == topic }
}

// env is one test's MariaDB server and Kafka broker.
type env struct {
	db     *testdb.MariaDB
	broker *kafka.Embedded
	raw    *kafka.Raw
}

func newEnv(t *testing.T) *env { return newEnvTB(t) }

func newEnvTB(t testing.TB) *env {
	t.Helper()
	e := &env{db: testdb.StartMariaDB(t)}
	b, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e.broker = b
	sc, err := kafka.ClientConfig{Brokers: b.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(b.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	e.raw = raw
	return e
}

func (e *env) props(extra map[string]string) map[string]string {
	p := map[string]string{
		"topic.prefix":                        "mariadb1",
		"database.hostname":                   e.db.Host,
		"database.port":                       fmt.Sprint(e.db.Port),
		"database.user":                       "root",
		"database.server.id":                  "5501",
		"schema.history.internal.kafka.topic": "schemahistory.mariadb1",
		"database.include.list":               "inventory",
	}
	for k, v := range extra {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return p
}

// running is a task running in the background.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	return r.wait(t)
}

func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(60 * time.Second):
		t.Fatal("task did not stop")
	}
	return nil
}

// start runs a task of plugin in the background; tweaks adjust it before
// it runs.
func (e *env) start(t *testing.T, plugin *connect.Plugin, props map[string]string, c *capture, tweaks ...func(*task)) *running {
	t.Helper()
	// named as the runtime names a task's logger
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})).With("connector", "test", "task", 0)
	return e.startWith(t, plugin, props, c, log, tweaks...)
}

// testSignals stand for a worker's REST signal inboxes: the tasks the
// harness starts take REST signals through them.
var testSignals = signal.NewInboxes()

// startWith is start with the task logging to log.
func (e *env) startWith(t *testing.T, plugin *connect.Plugin, props map[string]string, c *capture, log *slog.Logger, tweaks ...func(*task)) *running {
	t.Helper()
	v, err := plugin.Config().Parse(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	tc := connect.TaskContext{ConnectorName: "test", Offsets: c, Logger: log, Producer: e.raw}
	ctx, cancel := context.WithCancel(signal.WithInboxes(context.Background(), testSignals))
	st, err := plugin.NewSourceTask(ctx, v, tc)
	if err != nil {
		cancel()
		t.Fatalf("new task: %v", err)
	}
	for _, tweak := range tweaks {
		tweak(st.(*task))
	}
	c.mu.Lock()
	c.taskEnded, c.taskErr = false, nil
	c.mu.Unlock()
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		err := st.Run(ctx, c)
		c.mu.Lock()
		c.taskEnded, c.taskErr = true, err
		c.mu.Unlock()
		r.err = err
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
		}
	})
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	if testing.Verbose() {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

// eventJSON renders a record as Kafka Connect's JsonConverter would
// (schemas enabled), key and value, with volatile fields normalised.
func eventJSON(t *testing.T, r *connect.Record) string {
	t.Helper()
	conv := connconv.JSON{SchemasEnabled: true}
	var b strings.Builder
	fmt.Fprintf(&b, "topic: %s\n", r.Topic)
	k, err := conv.FromConnect(r.Topic, r.KeySchema, r.Key)
	if err != nil {
		t.Fatalf("key of %s: %v", r.Topic, err)
	}
	v, err := conv.FromConnect(r.Topic, r.ValueSchema, r.Value)
	if err != nil {
		t.Fatalf("value of %s: %v", r.Topic, err)
	}
	fmt.Fprintf(&b, "key: %s\nvalue: %s\n", pretty(k), pretty(normalize(v)))
	for _, h := range r.Headers {
		hv, _ := conv.FromConnect(r.Topic, h.Schema, h.Value)
		fmt.Fprintf(&b, "header %s: %s\n", h.Key, hv)
	}
	return b.String()
}

var volatile = []*regexp.Regexp{
	regexp.MustCompile(`("ts_(ms|us|ns)":)-?\d+`),
	regexp.MustCompile(`("ts_sec":)\d+`),
	regexp.MustCompile(`("pos":)\d+`),
	regexp.MustCompile(`("file":)"[^"]*"`),
	regexp.MustCompile(`("gtid":)"[^"]*"`),
	regexp.MustCompile(`("thread":)\d+`),
	regexp.MustCompile(`("server_id":)\d+`),
	regexp.MustCompile(`("gtids":)"[^"]*"`),
}

func normalize(b []byte) []byte {
	for _, re := range volatile {
		b = re.ReplaceAll(b, []byte(`${1}"<volatile>"`))
	}
	return b
}

func pretty(b []byte) string {
	if b == nil {
		return "null"
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// golden compares got with testdata/mysql/<name>, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "mysql", name)
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
		t.Fatalf("golden file %s: %v (run with -update to create it)", path, err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file; run with -update to accept.\n%s", name, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := max(len(w), len(g))
	shown := 0
	for i := 0; i < n && shown < 40; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// inventorySQL creates the Debezium tutorial's customers table.
const inventorySQL = `CREATE DATABASE inventory;
USE inventory;
CREATE TABLE customers (
  id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY,
  first_name VARCHAR(255) NOT NULL,
  last_name VARCHAR(255) NOT NULL,
  email VARCHAR(255) NOT NULL UNIQUE KEY
) AUTO_INCREMENT=1001;
INSERT INTO customers VALUES (default,"Sally","Thomas","sally.thomas@acme.com"),
       (default,"George","Bailey","gbailey@foobar.com"),
       (default,"Edward","Walker","ed@walker.com"),
       (default,"Anne","Kretchmar","annek@noanswer.org");`
