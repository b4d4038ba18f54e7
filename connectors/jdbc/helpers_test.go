package jdbc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testdb"
)

// env is one throwaway database server with a dialect's SQL spellings.
type env struct {
	name string
	pg   *testdb.Postgres
	my   *testdb.MariaDB
	seq  int
}

func startEnvs(t *testing.T) []*env {
	pg := testdb.StartPostgres(t)
	my := testdb.StartMariaDB(t)
	return []*env{{name: "postgres", pg: pg}, {name: "mariadb", my: my}}
}

// newDB creates a fresh database for one subtest.
func (e *env) newDB(t *testing.T) string {
	e.seq++
	name := fmt.Sprintf("t%d", e.seq)
	if e.pg != nil {
		e.pg.CreateDatabase(t, name)
	} else {
		e.my.Exec(t, "", "CREATE DATABASE "+name)
	}
	return name
}

func (e *env) url(db string) string {
	if e.pg != nil {
		return fmt.Sprintf("jdbc:postgresql://%s:%d/%s?user=postgres&sslmode=disable", e.pg.Host, e.pg.Port, db)
	}
	return fmt.Sprintf("jdbc:mariadb://%s:%d/%s?user=root&useSSL=false", e.my.Host, e.my.Port, db)
}

func (e *env) exec(t *testing.T, db string, stmts ...string) {
	t.Helper()
	if e.pg != nil {
		e.pg.Exec(t, db, stmts...)
	} else {
		e.my.Exec(t, db, stmts...)
	}
}

// pick returns the statement for this dialect.
func (e *env) pick(pg, my string) string {
	if e.pg != nil {
		return pg
	}
	return my
}

// session is a connection kept open across statements, for transactions
// that stay open while the connector polls.
type session interface {
	exec(t *testing.T, sql string)
	close()
}

type pgSession struct{ c *pgx.Conn }

func (s pgSession) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := s.c.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
func (s pgSession) close() { s.c.Close(context.Background()) }

type sqlSession struct {
	db *sql.DB
	c  *sql.Conn
}

func (s sqlSession) exec(t *testing.T, q string) {
	t.Helper()
	if _, err := s.c.ExecContext(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
func (s sqlSession) close() { s.c.Close(); s.db.Close() }

func (e *env) session(t *testing.T, db string) session {
	t.Helper()
	ctx := context.Background()
	if e.pg != nil {
		c, err := pgx.Connect(ctx, e.pg.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return pgSession{c}
	}
	d, err := sql.Open("mysql", e.my.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := sqlSession{d, c}
	t.Cleanup(s.close)
	return s
}

// memOffsets is an offset store that keeps offsets as JSON, as Kafka
// Connect's stores do, so numbers come back as float64.
type memOffsets struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newOffsets() *memOffsets { return &memOffsets{m: map[string][]byte{}} }

func partKey(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func (o *memOffsets) Offset(_ context.Context, p map[string]any) (map[string]any, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.m[partKey(p)]
	if !ok {
		return nil, nil
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func (o *memOffsets) put(p, off map[string]any) {
	b, err := json.Marshal(off)
	if err != nil {
		panic(err)
	}
	o.mu.Lock()
	o.m[partKey(p)] = b
	o.mu.Unlock()
}

func (o *memOffsets) get(t *testing.T, p map[string]any) map[string]any {
	m, err := o.Offset(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var errCrash = errors.New("simulated crash")

// capture is a RecordWriter that keeps records and commits each batch's
// offsets at once; failAfter > 0 fails that many writes in.
type capture struct {
	mu        sync.Mutex
	recs      []*connect.Record
	offsets   *memOffsets
	writes    int
	failAfter int
}

func (c *capture) Write(_ context.Context, recs []*connect.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failAfter > 0 && c.writes >= c.failAfter {
		return errCrash
	}
	c.writes++
	c.recs = append(c.recs, recs...)
	for _, r := range recs {
		if r.SourceOffset != nil {
			c.offsets.put(r.SourcePartition, r.SourceOffset)
		}
	}
	return nil
}

func (c *capture) take() []*connect.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.recs
	c.recs = nil
	return r
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.recs)
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// newTestTask builds a task the way the runtime would.
func newTestTask(t *testing.T, props map[string]string, offs *memOffsets) *task {
	t.Helper()
	s, err := parseProps(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s.log = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tk := newTask(s, connect.TaskContext{ConnectorName: "jdbc-test", Offsets: offs})
	t.Cleanup(func() {
		if tk.d != nil {
			tk.d.close()
		}
	})
	return tk
}

func parseProps(props map[string]string) (*settings, error) {
	v, err := Def().Parse(props)
	if err != nil {
		return nil, err
	}
	return parseSettings(v)
}

func mustPoll(t *testing.T, tk *task, w *capture) []*connect.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tk.pollAll(ctx, w); err != nil {
		t.Fatalf("poll: %v", err)
	}
	return w.take()
}

func envelope(t *testing.T, r *connect.Record) *connect.StructValue {
	t.Helper()
	v, ok := r.Value.(*connect.StructValue)
	if !ok {
		t.Fatalf("record value is %T, not an envelope", r.Value)
	}
	return v
}

func op(t *testing.T, r *connect.Record) string {
	if r.Value == nil {
		return "tombstone"
	}
	return envelope(t, r).Get("op").(string)
}

func after(t *testing.T, r *connect.Record) *connect.StructValue {
	a, _ := envelope(t, r).Get("after").(*connect.StructValue)
	return a
}

// field reads an integer-like field of after (or before for deletes) as int64.
func rowInt(t *testing.T, r *connect.Record, name string) int64 {
	t.Helper()
	row := after(t, r)
	if row == nil {
		row, _ = envelope(t, r).Get("before").(*connect.StructValue)
	}
	if row == nil {
		t.Fatalf("record has no row")
	}
	switch x := row.Get(name).(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	}
	t.Fatalf("field %s is %T", name, row.Get(name))
	return 0
}

func ids(t *testing.T, recs []*connect.Record) []int64 {
	var out []int64
	for _, r := range recs {
		if r.Value != nil {
			out = append(out, rowInt(t, r, "id"))
		}
	}
	return out
}

func baseProps(e *env, db string, extra ...string) map[string]string {
	p := map[string]string{
		"connection.url":         e.url(db),
		"topic.prefix":           "jdbc-",
		"poll.interval.ms":       "50",
		"table.poll.interval.ms": "60000",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		p[extra[i]] = extra[i+1]
	}
	return p
}
