package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// logBuffer collects a task's log lines for a test to search.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logTo makes the task log into buf (as well as the test's log).
func logTo(buf *logBuffer) func(*task) {
	return func(tk *task) {
		tk.c.log = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
}

func sourceQuery(r *connect.Record) any {
	return r.Value.(*connect.StructValue).Get("source").(*connect.StructValue).Get("query")
}

// include.query on MariaDB asks the server for its ANNOTATE_ROWS events:
// source.query carries the statement of each streamed row. With the
// server's binlog_annotate_row_events off there is nothing to carry, and
// validate says so; without include.query source.query is null.
func TestIncludeQueryMariaDB(t *testing.T) {
	const stmt = "INSERT INTO t VALUES (7, 'seven') /* the statement */"
	cases := []struct {
		name       string
		include    string
		annotate   string
		wantQuery  any
		wantNotice bool
	}{
		{"include.query with annotations", "true", "ON", stmt, false},
		{"include.query without annotations", "true", "OFF", nil, true},
		{"no include.query", "false", "ON", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "SET GLOBAL binlog_annotate_row_events = "+tc.annotate, "CREATE DATABASE inventory")
			e.db.Exec(t, "inventory", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'one')")
			props := e.props(map[string]string{"include.query": tc.include})
			v, err := MariaDBPlugin().Config().Parse(props)
			if err != nil {
				t.Fatal(err)
			}
			verr := MariaDBPlugin().Validate(context.Background(), v)
			switch {
			case tc.wantNotice && (verr == nil || !strings.Contains(verr.Error(), "binlog_annotate_row_events=OFF")):
				t.Errorf("validate: %v, want it to report binlog_annotate_row_events=OFF", verr)
			case !tc.wantNotice && verr != nil:
				t.Errorf("validate: %v", verr)
			}
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), props, c)
			c.waitFor(t, 1, onTopic("mariadb1.inventory.t"))
			e.db.Exec(t, "inventory", stmt, "UPDATE t SET v = 'uno' WHERE id = 1")
			recs := c.waitFor(t, 3, onTopic("mariadb1.inventory.t"))
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			if q := sourceQuery(recs[0]); q != nil {
				t.Errorf("snapshot event has query %v", q)
			}
			if q := sourceQuery(recs[1]); q != tc.wantQuery {
				t.Errorf("insert: source.query %v, want %v", q, tc.wantQuery)
			}
			wantUpdate := any(nil)
			if tc.wantQuery != nil {
				wantUpdate = "UPDATE t SET v = 'uno' WHERE id = 1"
			}
			if q := sourceQuery(recs[2]); q != wantUpdate {
				t.Errorf("update: source.query %v, want %v", q, wantUpdate)
			}
		})
	}
}

// gtid.source.includes/excludes select the transactions whose row events
// are streamed by their GTID's source, "domain-server" on MariaDB, with
// gtid.source.filter.dml.events (the default); DDL of any source is
// applied. Without gtid.source.filter.dml.events nothing is left out.
func TestGtidSourceFilterDML(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]string
		want  string // ids streamed
	}{
		{"excludes a server", map[string]string{"gtid.source.excludes": "0-7"}, "1,4,5"},
		{"includes a server", map[string]string{"gtid.source.includes": "0-1"}, "1,4"},
		{"excludes a domain", map[string]string{"gtid.source.excludes": "5-.*"}, "1,2,4"},
		{"not for DML", map[string]string{"gtid.source.excludes": "0-7", "gtid.source.filter.dml.events": "false"}, "1,2,4,5"},
		{"no filter", nil, "1,2,4,5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory")
			e.db.Exec(t, "inventory", "CREATE TABLE t (id INT PRIMARY KEY)")
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), e.props(tc.props), c)
			c.waitFor(t, 1, onTopic("mariadb1"))
			e.db.Exec(t, "inventory", "INSERT INTO t VALUES (1)")
			e.db.Exec(t, "inventory", "SET SESSION server_id = 7", "INSERT INTO t VALUES (2)")
			// DDL from a left-out source still changes the table
			e.db.Exec(t, "inventory", "SET SESSION server_id = 7", "ALTER TABLE t ADD COLUMN x INT NULL")
			e.db.Exec(t, "inventory", "INSERT INTO t VALUES (4, 40)")
			e.db.Exec(t, "inventory", "SET SESSION gtid_domain_id = 5", "INSERT INTO t VALUES (5, 50)")
			e.db.Exec(t, "inventory", "INSERT INTO t VALUES (6, 60)") // the end marker
			c.waitFor(t, 1, func(rec *connect.Record) bool { return rec.Topic == "mariadb1.inventory.t" && rowID(rec) == 6 })
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, rec := range c.records() {
				if rec.Topic != "mariadb1.inventory.t" || rowID(rec) == 6 {
					continue
				}
				after := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
				if id := rowID(rec); id >= 4 && after.Schema.Field("x") == nil {
					t.Errorf("row %d streamed without the column added by the left-out source's DDL", id)
				}
				ids = append(ids, fmt.Sprint(rowID(rec)))
			}
			if got := strings.Join(ids, ","); got != tc.want {
				t.Errorf("rows streamed %s, want %s", got, tc.want)
			}
		})
	}
}

// Debezium's TinyIntOneToBooleanConverter under its class names: TINYINT(1)
// columns (also BOOLEAN ones, which SHOW CREATE TABLE reports as
// tinyint(1)) become BOOLEAN fields in the snapshot and while streaming,
// default values included; the selector and length.checker narrow or
// widen the columns it takes.
func TestTinyIntOneToBooleanConverter(t *testing.T) {
	const class = "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter"
	cases := []struct {
		name  string
		props map[string]string
		want  map[string]connect.Type // field types
	}{
		{"every TINYINT(1)", map[string]string{"converters": "boolean", "boolean.type": class},
			map[string]connect.Type{"flag": connect.Boolean, "b": connect.Boolean, "n": connect.Int16, "u": connect.Boolean}},
		{"MySQL-named class, selector, no length check",
			map[string]string{"converters": "tinyint-one-to-boolean", "tinyint-one-to-boolean.type": "io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter",
				"tinyint-one-to-boolean.selector": "inventory.t.n", "tinyint-one-to-boolean.length.checker": "false"},
			map[string]connect.Type{"flag": connect.Int16, "b": connect.Int16, "n": connect.Boolean, "u": connect.Int16}},
		{"no converter", nil, map[string]connect.Type{"flag": connect.Int16, "b": connect.Int16, "n": connect.Int16, "u": connect.Int16}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory")
			e.db.Exec(t, "inventory", "CREATE TABLE t (id INT PRIMARY KEY, flag TINYINT(1) NOT NULL DEFAULT 1, b BOOLEAN NULL, n TINYINT(4) NULL, u TINYINT(1) UNSIGNED NULL)",
				"INSERT INTO t VALUES (1, 0, TRUE, 3, 2)")
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), e.props(tc.props), c)
			c.waitFor(t, 1, onTopic("mariadb1.inventory.t"))
			e.db.Exec(t, "inventory", "INSERT INTO t VALUES (2, 1, FALSE, 0, 0)")
			recs := c.waitFor(t, 2, onTopic("mariadb1.inventory.t"))
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			want := map[int64]map[string]int64{1: {"flag": 0, "b": 1, "n": 3, "u": 2}, 2: {"flag": 1, "b": 0, "n": 0, "u": 0}}
			for _, rec := range recs {
				after := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
				id := rowID(rec)
				for col, typ := range tc.want {
					f := after.Schema.Field(col)
					if f.Schema.Type != typ {
						t.Errorf("row %d %s: %s field, want %s", id, col, f.Schema.Type, typ)
						continue
					}
					w := want[id][col]
					var wv any = int16(w)
					if typ == connect.Boolean {
						wv = w != 0
					}
					if got := after.Get(col); got != wv {
						t.Errorf("row %d %s: %v (%T), want %v", id, col, got, got, wv)
					}
				}
				if flag := after.Schema.Field("flag").Schema; tc.want["flag"] == connect.Boolean && (!flag.HasDefault || flag.Default != true) {
					t.Errorf("flag's default: %v %v, want true", flag.HasDefault, flag.Default)
				}
			}
		})
	}
}

// skip.messages.without.change drops updates that change no captured
// column (here only an excluded one).
func TestSkipMessagesWithoutChange(t *testing.T) {
	for _, skip := range []bool{true, false} {
		t.Run(fmt.Sprint(skip), func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", "CREATE DATABASE inventory")
			e.db.Exec(t, "inventory", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10), noise INT)", "INSERT INTO t VALUES (1, 'a', 0)")
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), e.props(map[string]string{"skip.messages.without.change": fmt.Sprint(skip),
				"column.exclude.list": "inventory.t.noise"}), c)
			c.waitFor(t, 1, onTopic("mariadb1.inventory.t"))
			e.db.Exec(t, "inventory", "UPDATE t SET noise = 1 WHERE id = 1", "UPDATE t SET v = 'b' WHERE id = 1")
			want := 3
			if skip {
				want = 2
			}
			c.waitFor(t, want, onTopic("mariadb1.inventory.t"))
			e.db.Exec(t, "inventory", "INSERT INTO t VALUES (9, 'end', 0)")
			recs := c.waitFor(t, want+1, onTopic("mariadb1.inventory.t"))
			if err := r.stop(t); err != nil {
				t.Fatal(err)
			}
			if len(recs) != want+1 {
				t.Errorf("%d events, want %d", len(recs), want+1)
			}
			if skip {
				after := recs[1].Value.(*connect.StructValue).Get("after").(*connect.StructValue)
				if after.Get("v") != "b" {
					t.Errorf("the update that changed v is not the one kept: %v", after)
				}
			}
		})
	}
}

// The snapshot and streaming properties: snapshot.include.collection.list
// limits the tables whose data the snapshot reads,
// snapshot.select.statement.overrides the rows, snapshot.delay.ms and
// streaming.delay.ms delay the phases, heartbeat.action.query runs with
// each heartbeat, on the topic.heartbeat.name topic, include.schema.comments
// carries comments into schemas and schema change events, and
// binlog.net.*.timeout are set on the binlog connection's session.
func TestSnapshotAndStreamingProperties(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory",
		"CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10) COMMENT 'the value') COMMENT 'table a'",
		"CREATE TABLE b (id INT PRIMARY KEY)",
		"CREATE TABLE hb (id INT AUTO_INCREMENT PRIMARY KEY)",
		"INSERT INTO a VALUES (1, 'x'), (2, 'y'), (3, 'z')", "INSERT INTO b VALUES (1), (2)")
	var logs logBuffer
	c := &capture{}
	start := time.Now()
	r := e.start(t, MariaDBPlugin(), e.props(map[string]string{
		"table.include.list":                              "inventory.a,inventory.b",
		"snapshot.include.collection.list":                "inventory.a",
		"snapshot.select.statement.overrides":             "inventory.a",
		"snapshot.select.statement.overrides.inventory.a": "SELECT * FROM inventory.a WHERE id > 1",
		"snapshot.delay.ms":                               "300",
		"streaming.delay.ms":                              "300",
		"heartbeat.interval.ms":                           "200",
		"heartbeat.action.query":                          "INSERT INTO inventory.hb VALUES (NULL)",
		"topic.heartbeat.name":                            "all-heartbeats",
		"include.schema.comments":                         "true",
		"binlog.net.read.timeout":                         "77",
		"binlog.net.write.timeout":                        "88",
	}), c, logTo(&logs))
	snap := c.waitFor(t, 2, onTopic("mariadb1.inventory.a"))
	snapshotted := time.Now()
	if d := snapshotted.Sub(start); d < 300*time.Millisecond {
		t.Errorf("snapshot events after %s, despite snapshot.delay.ms=300", d)
	}
	e.db.Exec(t, "inventory", "INSERT INTO b VALUES (3)")
	c.waitFor(t, 1, onTopic("mariadb1.inventory.b"))
	// the snapshot's events are handed over when it completes, streaming
	// begins 300 ms later
	if d := time.Since(snapshotted); d < 200*time.Millisecond {
		t.Errorf("streamed event %s after the snapshot's, despite streaming.delay.ms=300", d)
	}
	c.waitFor(t, 2, onTopic("all-heartbeats"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, rec := range c.records() {
		if strings.HasPrefix(rec.Topic, "mariadb1.inventory.") {
			ids = append(ids, strings.TrimPrefix(rec.Topic, "mariadb1.inventory.")+fmt.Sprint(rowID(rec)))
		}
	}
	if got := strings.Join(ids, ","); got != "a2,a3,b3" {
		t.Errorf("events %s, want a2,a3 from the snapshot and b3 streamed", got)
	}
	after := snap[0].Value.(*connect.StructValue).Get("after").(*connect.StructValue)
	if doc := after.Schema.Field("v").Schema.Doc; doc != "the value" {
		t.Errorf("field doc %q, want the column comment", doc)
	}
	for _, rec := range c.records() {
		if rec.Topic != "mariadb1" {
			continue
		}
		for _, ch := range rec.Value.(*connect.StructValue).Get("tableChanges").([]any) {
			tbl, _ := ch.(*connect.StructValue).Get("table").(*connect.StructValue)
			if tbl == nil || ch.(*connect.StructValue).Get("id") != `"inventory"."a"` {
				continue
			}
			if tbl.Get("comment") != "table a" {
				t.Errorf("schema change event: table comment %v", tbl.Get("comment"))
			}
			col := tbl.Get("columns").([]any)[1].(*connect.StructValue)
			if col.Get("comment") != "the value" {
				t.Errorf("schema change event: column comment %v", col.Get("comment"))
			}
		}
	}
	db, err := sql.Open("mysql", e.db.DSN("inventory"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM hb").Scan(&n); err != nil || n == 0 {
		t.Errorf("heartbeat.action.query ran %d times (%v)", n, err)
	}
	for _, want := range []string{"waiting before the snapshot (snapshot.delay.ms)", "waiting before streaming (streaming.delay.ms)",
		"net_read_timeout=77", "net_write_timeout=88"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log does not say %q", want)
		}
	}
}

// Without include.schema.comments (the default) comments are left out of
// the schemas, the schema change events and the schema history, as
// Debezium's parser skips them then.
func TestSchemaCommentsLeftOut(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10) COMMENT 'the value') COMMENT 'table a'", "INSERT INTO a VALUES (1, 'x')")
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), e.props(nil), c)
	recs := c.waitFor(t, 1, onTopic("mariadb1.inventory.a"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	after := recs[0].Value.(*connect.StructValue).Get("after").(*connect.StructValue)
	if doc := after.Schema.Field("v").Schema.Doc; doc != "" {
		t.Errorf("field doc %q", doc)
	}
	kvs, err := e.raw.ReadAll(context.Background(), "schemahistory.mariadb1")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range kvs {
		// (the DDL text keeps its comments, as in Debezium's history)
		if bytes.Contains(kv.Value, []byte(`"comment":"the value"`)) || bytes.Contains(kv.Value, []byte(`"comment":"table a"`)) {
			t.Errorf("history record carries a comment: %s", kv.Value)
		}
	}
}
