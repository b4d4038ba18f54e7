package jdbc

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// TestIntegration runs every scenario against a private PostgreSQL and a
// private MariaDB, one database per scenario.
func TestIntegration(t *testing.T) {
	for _, e := range startEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) { sc.run(t, e) })
			}
		})
	}
}

var scenarios = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"bulk", testBulk},
	{"incrementing", testIncrementing},
	{"timestamp", testTimestamp},
	{"timestamp+incrementing", testTimestampIncrementing},
	{"custom query", testCustomQuery},
	{"shared timestamp across batches", testSharedTimestamp},
	{"late commit", testLateCommit},
	{"restart resumes", testRestart},
	{"new tables while running", testNewTables},
	{"soft delete", testSoftDelete},
	{"bad config", testBadConfig},
}

func (e *env) itemsTable() string {
	return e.pick(
		`CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty integer, updated timestamp(6) NOT NULL DEFAULT now())`,
		`CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, qty int, updated datetime(6) NOT NULL DEFAULT current_timestamp(6))`)
}

func testBulk(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(), `INSERT INTO items (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3)`)
	w := &capture{offsets: newOffsets()}
	tk := newTestTask(t, baseProps(e, db, "mode", "bulk", "batch.max.rows", "2"), w.offsets)
	for round := 0; round < 2; round++ {
		recs := mustPoll(t, tk, w)
		if got := ids(t, recs); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
			t.Fatalf("round %d: ids %v, want 1 2 3 (bulk re-reads the table every poll)", round, got)
		}
		for _, r := range recs {
			if op(t, r) != "r" || r.SourceOffset != nil || r.Topic != "jdbc-items" {
				t.Fatalf("bulk record: op %s offset %v topic %s", op(t, r), r.SourceOffset, r.Topic)
			}
		}
	}
	if w.writes != 4 {
		t.Errorf("writes = %d, want 2 batches per poll with batch.max.rows=2", w.writes)
	}
}

func testIncrementing(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(), `INSERT INTO items (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3)`)
	w := &capture{offsets: newOffsets()}
	// Empty incrementing.column.name: the auto-increment column is used.
	tk := newTestTask(t, baseProps(e, db, "mode", "incrementing"), w.offsets)
	recs := mustPoll(t, tk, w)
	if got := ids(t, recs); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Fatalf("ids %v", got)
	}
	for _, r := range recs {
		if op(t, r) != "c" {
			t.Fatalf("op %s, want c", op(t, r))
		}
		if k := r.Key.(interface{ Get(string) any }).Get("id"); k == nil {
			t.Fatalf("key has no id: %v", r.Key)
		}
	}
	part := map[string]any{"table": e.pick("public.items", db+".items"), "protocol": "1"}
	if got := w.offsets.get(t, part); got["incrementing"] != float64(3) {
		t.Fatalf("offset %v, want incrementing 3", got)
	}
	e.exec(t, db, `UPDATE items SET qty = 10 WHERE id = 1`, `INSERT INTO items (name) VALUES ('d')`)
	if got := ids(t, mustPoll(t, tk, w)); !reflect.DeepEqual(got, []int64{4}) {
		t.Fatalf("second poll ids %v, want only the new row 4 (incrementing mode does not see updates)", got)
	}
	if got := mustPoll(t, tk, w); len(got) != 0 {
		t.Fatalf("idle poll returned %d records", len(got))
	}
}

func testTimestamp(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(),
		`INSERT INTO items (name, updated) VALUES ('a', '2024-01-01 00:00:01'), ('b', '2024-01-01 00:00:02'), ('c', '2024-01-01 00:00:02')`)
	w := &capture{offsets: newOffsets()}
	tk := newTestTask(t, baseProps(e, db, "mode", "timestamp", "timestamp.column.name", "updated"), w.offsets)
	recs := mustPoll(t, tk, w)
	if got := ids(t, recs); !reflect.DeepEqual(got, []int64{1, 2, 3}) {
		t.Fatalf("ids %v", got)
	}
	last := recs[len(recs)-1]
	wantTS := time.Date(2024, 1, 1, 0, 0, 2, 0, time.UTC)
	if last.SourceOffset["timestamp"] != wantTS.UnixMilli() || last.SourceOffset["timestamp_nanos"] != int64(0) {
		t.Fatalf("offset %v, want timestamp %d", last.SourceOffset, wantTS.UnixMilli())
	}
	if src := envelope(t, last).Get("source").(interface{ Get(string) any }); src.Get("ts_ms") != wantTS.UnixMilli() || src.Get("table") != "items" {
		t.Fatalf("source block %v", src)
	}
	e.exec(t, db, `UPDATE items SET qty = 5, updated = '2024-01-02 00:00:00' WHERE id = 1`)
	recs = mustPoll(t, tk, w)
	if got := ids(t, recs); !reflect.DeepEqual(got, []int64{1}) || op(t, recs[0]) != "u" {
		t.Fatalf("after update: ids %v", got)
	}
	if rowInt(t, recs[0], "qty") != 5 {
		t.Fatalf("qty not updated")
	}
}

func testTimestampIncrementing(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(),
		`INSERT INTO items (name, updated) VALUES ('a', '2024-01-01 00:00:01'), ('b', '2024-01-01 00:00:02')`)
	w := &capture{offsets: newOffsets()}
	tk := newTestTask(t, baseProps(e, db, "mode", "timestamp+incrementing", "timestamp.column.name", "updated",
		"incrementing.column.name", "id"), w.offsets)
	recs := mustPoll(t, tk, w)
	if got := ids(t, recs); !reflect.DeepEqual(got, []int64{1, 2}) || op(t, recs[0]) != "c" || op(t, recs[1]) != "c" {
		t.Fatalf("ids %v", got)
	}
	e.exec(t, db, `UPDATE items SET updated = '2024-01-03 00:00:00' WHERE id = 1`,
		`INSERT INTO items (name, updated) VALUES ('c', '2024-01-02 00:00:00')`)
	recs = mustPoll(t, tk, w)
	if got := ids(t, recs); !reflect.DeepEqual(got, []int64{3, 1}) {
		t.Fatalf("ids %v, want 3 (new) then 1 (updated) in timestamp order", got)
	}
	if op(t, recs[0]) != "c" || op(t, recs[1]) != "u" {
		t.Fatalf("ops %s %s, want c u", op(t, recs[0]), op(t, recs[1]))
	}
	off := recs[1].SourceOffset
	if off["incrementing"] != int64(1) || off["tributary_max_incrementing"] != int64(3) {
		t.Fatalf("offset %v", off)
	}
}

func testCustomQuery(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(),
		`CREATE TABLE tags (item_id int NOT NULL, tag varchar(20) NOT NULL)`,
		`INSERT INTO items (name, updated) VALUES ('a', '2024-01-01 00:00:01'), ('b', '2024-01-01 00:00:02')`,
		`INSERT INTO tags VALUES (1, 'red'), (2, 'blue')`)
	w := &capture{offsets: newOffsets()}
	tk := newTestTask(t, baseProps(e, db, "mode", "timestamp+incrementing", "timestamp.column.name", "updated",
		"incrementing.column.name", "id", "topic.prefix", "joined",
		"query", `SELECT i.id, i.name, t.tag, i.updated FROM items i JOIN tags t ON t.item_id = i.id WHERE t.tag <> 'green'`,
		"key.columns", "id"), w.offsets)
	recs := mustPoll(t, tk, w)
	if got := ids(t, recs); !reflect.DeepEqual(got, []int64{1, 2}) {
		t.Fatalf("ids %v", got)
	}
	r := recs[0]
	if r.Topic != "joined" || r.SourcePartition["query"] != "query" || after(t, r).Get("tag") != "red" {
		t.Fatalf("record topic %s partition %v after %v", r.Topic, r.SourcePartition, after(t, r))
	}
	if r.ValueSchema.Name != "joined.Envelope" || r.KeySchema.Name != "joined.Key" {
		t.Fatalf("schema names %s %s", r.ValueSchema.Name, r.KeySchema.Name)
	}
	src := envelope(t, r).Get("source").(interface{ Get(string) any })
	if src.Get("table") != nil || !strings.Contains(src.Get("query").(string), "JOIN tags") {
		t.Fatalf("source %v", src)
	}
	e.exec(t, db, `INSERT INTO items (name, updated) VALUES ('c', '2024-01-02 00:00:00')`, `INSERT INTO tags VALUES (3, 'green'), (3, 'pink')`)
	if got := ids(t, mustPoll(t, tk, w)); !reflect.DeepEqual(got, []int64{3}) {
		t.Fatalf("second poll ids %v", got)
	}
}

// testSharedTimestamp puts 250 rows on one timestamp with batch.max.rows=100
// and crashes the task after its first batch: the resumed task must deliver
// every row, and the keyset modes must not repeat any.
func testSharedTimestamp(t *testing.T, e *env) {
	cases := []struct {
		mode, pk string
		exact    bool // resumes without repeating rows
	}{
		{"timestamp", "PRIMARY KEY", true},
		{"timestamp+incrementing", "PRIMARY KEY", true},
		{"timestamp", "", false}, // no key: the group is re-read after a crash
	}
	for _, c := range cases {
		t.Run(c.mode+" "+map[bool]string{true: "with key", false: "without key"}[c.pk != ""], func(t *testing.T) {
			db := e.newDB(t)
			e.exec(t, db, e.pick(
				`CREATE TABLE same (id int NOT NULL `+c.pk+`, updated timestamp NOT NULL)`,
				`CREATE TABLE same (id int NOT NULL `+c.pk+`, updated datetime(6) NOT NULL)`),
				e.pick(`INSERT INTO same SELECT g, '2024-01-01 00:00:00' FROM generate_series(1, 250) g`,
					`INSERT INTO same SELECT seq, '2024-01-01 00:00:00' FROM seq_1_to_250`),
				`INSERT INTO same VALUES (1000, '2023-12-31 00:00:00'), (1001, '2024-01-02 00:00:00')`)
			props := baseProps(e, db, "mode", c.mode, "timestamp.column.name", "updated", "batch.max.rows", "100")
			if c.mode == "timestamp+incrementing" {
				props["incrementing.column.name"] = "id"
			}
			offs := newOffsets()
			w := &capture{offsets: offs, failAfter: 2}
			tk := newTestTask(t, props, offs)
			if err := tk.pollAll(context.Background(), w); err != errCrash {
				t.Fatalf("poll: %v, want the simulated crash", err)
			}
			first := w.take()
			w2 := &capture{offsets: offs}
			tk2 := newTestTask(t, props, offs)
			second := mustPoll(t, tk2, w2)
			seen := map[int64]int{}
			for _, id := range append(ids(t, first), ids(t, second)...) {
				seen[id]++
			}
			if len(seen) != 252 {
				t.Fatalf("%d distinct rows delivered, want 252", len(seen))
			}
			for id, n := range seen {
				if c.exact && n != 1 {
					t.Fatalf("row %d delivered %d times", id, n)
				}
			}
			if got := mustPoll(t, tk2, w2); len(got) != 0 {
				t.Fatalf("idle poll returned %d rows", len(got))
			}
			t.Logf("first task %d rows, resumed task %d rows", len(first), len(second))
		})
	}
}

// testLateCommit: a transaction stamps its row, stays open while a later
// row commits, then commits. Without protection the connector passes the
// later row's timestamp and never sees the late row; with the PostgreSQL
// visibility horizon (or a delay longer than the transaction) it must
// deliver both.
func testLateCommit(t *testing.T, e *env) {
	type variant struct {
		name     string
		props    []string
		lost     bool // the late row is expected to be lost (control)
		waitPast time.Duration
	}
	vs := []variant{
		{name: "no protection", props: []string{"visibility.horizon", "none"}, lost: true},
		{name: "delay", props: []string{"visibility.horizon", "none", "timestamp.delay.interval.ms", "3000"}, waitPast: 3 * time.Second},
	}
	if e.pg != nil {
		vs = append(vs, variant{name: "xmin horizon", props: []string{"visibility.horizon", "xmin"}})
	}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			db := e.newDB(t)
			e.exec(t, db, e.itemsTable())
			props := baseProps(e, db, append([]string{"mode", "timestamp+incrementing", "timestamp.column.name", "updated",
				"incrementing.column.name", "id"}, v.props...)...)
			w := &capture{offsets: newOffsets()}
			tk := newTestTask(t, props, w.offsets)
			mustPoll(t, tk, w)

			late := e.session(t, db)
			late.exec(t, "BEGIN")
			// Stamped now, committed later: PostgreSQL's now() is the
			// transaction start, MariaDB's the statement's.
			late.exec(t, "INSERT INTO items (name) VALUES ('late')")
			time.Sleep(20 * time.Millisecond)
			e.exec(t, db, "INSERT INTO items (name) VALUES ('early-commit')")
			time.Sleep(20 * time.Millisecond)

			recs := mustPoll(t, tk, w)
			part := map[string]any{"table": e.pick("public.items", db+".items"), "protocol": "1"}
			switch {
			case v.lost:
				if len(recs) != 1 || after(t, recs[0]).Get("name") != "early-commit" {
					t.Fatalf("control: got %d records, want the committed row", len(recs))
				}
			default:
				// The mechanism: nothing past the open transaction's
				// timestamp may be delivered or committed as offset.
				if len(recs) != 0 {
					t.Fatalf("delivered %d rows while an older transaction was open; offset %v", len(recs), w.offsets.get(t, part))
				}
				if off := w.offsets.get(t, part); off != nil {
					t.Fatalf("offset moved to %v while an older transaction was open", off)
				}
			}
			late.exec(t, "COMMIT")
			time.Sleep(v.waitPast)
			recs = append(recs, mustPoll(t, tk, w)...)
			names := map[string]bool{}
			for _, r := range recs {
				names[after(t, r).Get("name").(string)] = true
			}
			if v.lost {
				if names["late"] {
					t.Fatalf("control variant delivered the late row; the test no longer shows the race")
				}
				return
			}
			if !names["late"] || !names["early-commit"] || len(recs) != 2 {
				t.Fatalf("delivered %v, want both rows exactly once", names)
			}
		})
	}
}

func testRestart(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(),
		e.pick(`INSERT INTO items (name, updated) SELECT 'n' || g, timestamp '2024-01-01' + g * interval '1 second' FROM generate_series(1, 10) g`,
			`INSERT INTO items (name, updated) SELECT concat('n', seq), '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_10`))
	offs := newOffsets()
	props := baseProps(e, db, "mode", "timestamp+incrementing", "timestamp.column.name", "updated", "incrementing.column.name", "id")
	run := func(want int) []int64 {
		w := &capture{offsets: offs}
		tk := newTestTask(t, props, offs)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tk.Run(ctx, w) }()
		deadline := time.Now().Add(20 * time.Second)
		for w.count() < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // several more polls: nothing may repeat
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		return ids(t, w.take())
	}
	if got := run(10); len(got) != 10 {
		t.Fatalf("first run delivered %v", got)
	}
	e.exec(t, db, `UPDATE items SET updated = '2024-02-01 00:00:00' WHERE id IN (2, 5)`,
		`INSERT INTO items (name, updated) VALUES ('x', '2024-03-01 00:00:00')`)
	// MariaDB's INSERT ... SELECT reserves auto-increment values in
	// blocks, so the new row's id is read back rather than assumed.
	if got := run(3); len(got) != 3 || got[0] != 2 || got[1] != 5 || got[2] <= 10 {
		t.Fatalf("resumed run delivered %v, want 2, 5 and then the new row", got)
	}

}

func testNewTables(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.itemsTable(), `INSERT INTO items (name) VALUES ('a')`)
	w := &capture{offsets: newOffsets()}
	tk := newTestTask(t, baseProps(e, db, "mode", "incrementing", "table.poll.interval.ms", "1"), w.offsets)
	if recs := mustPoll(t, tk, w); len(recs) != 1 {
		t.Fatalf("%d records", len(recs))
	}
	e.exec(t, db, e.pick(`CREATE TABLE later (id serial PRIMARY KEY, v text)`, `CREATE TABLE later (id int AUTO_INCREMENT PRIMARY KEY, v text)`),
		`INSERT INTO later (v) VALUES ('x'), ('y')`)
	time.Sleep(5 * time.Millisecond)
	recs := mustPoll(t, tk, w)
	if len(recs) != 2 || recs[0].Topic != "jdbc-later" {
		t.Fatalf("new table: %d records", len(recs))
	}
	e.exec(t, db, `DROP TABLE later`)
	time.Sleep(5 * time.Millisecond)
	mustPoll(t, tk, w)
	if _, ok := tk.queriers[e.pick("public.later", db+".later")]; ok {
		t.Fatalf("dropped table still polled")
	}
}

func testSoftDelete(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db, e.pick(
		`CREATE TABLE docs (id int PRIMARY KEY, body text, deleted boolean NOT NULL DEFAULT false, updated timestamp NOT NULL)`,
		`CREATE TABLE docs (id int PRIMARY KEY, body text, deleted boolean NOT NULL DEFAULT false, updated datetime(6) NOT NULL)`),
		`INSERT INTO docs (id, body, updated) VALUES (1, 'a', '2024-01-01 00:00:01'), (2, 'b', '2024-01-01 00:00:02')`)
	w := &capture{offsets: newOffsets()}
	tk := newTestTask(t, baseProps(e, db, "mode", "timestamp", "timestamp.column.name", "updated", "soft.delete.column", "deleted"), w.offsets)
	if recs := mustPoll(t, tk, w); len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	e.exec(t, db, `UPDATE docs SET deleted = true, updated = '2024-01-02 00:00:00' WHERE id = 1`)
	recs := mustPoll(t, tk, w)
	if len(recs) != 2 || op(t, recs[0]) != "d" || op(t, recs[1]) != "tombstone" {
		t.Fatalf("got %d records", len(recs))
	}
	env := envelope(t, recs[0])
	if env.Get("after") != nil || rowInt(t, recs[0], "id") != 1 {
		t.Fatalf("delete event %v", env)
	}
	if recs[1].Key == nil || recs[1].ValueSchema != nil || !reflect.DeepEqual(recs[1].Key, recs[0].Key) {
		t.Fatalf("tombstone %+v", recs[1])
	}
}

func testBadConfig(t *testing.T, e *env) {
	db := e.newDB(t)
	e.exec(t, db,
		e.pick(`CREATE TABLE plain (id int NOT NULL, ts timestamp)`, `CREATE TABLE plain (id int NOT NULL, ts datetime NULL)`))
	cases := []struct {
		props []string
		want  string
	}{
		{[]string{"mode", "incrementing"}, "incrementing.column.name is required"},
		{[]string{"mode", "incrementing", "incrementing.column.name", "nope"}, `column "nope" does not exist`},
		{[]string{"mode", "bulk", "table.whitelist", "missing"}, `table "missing" does not exist`},
		{[]string{"mode", "timestamp", "timestamp.column.name", "ts"}, "nullable"},
		{[]string{"mode", "timestamp", "timestamp.column.name", "id"}, "must be a date or timestamp"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.props, " "), func(t *testing.T) {
			tk := newTestTask(t, baseProps(e, db, c.props...), newOffsets())
			err := tk.pollAll(context.Background(), &capture{offsets: newOffsets()})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			s, perr := parseProps(baseProps(e, db, c.props...))
			if perr != nil {
				t.Fatal(perr)
			}
			if verr := validate(context.Background(), s); verr == nil || !strings.Contains(verr.Error(), c.want) {
				t.Fatalf("Validate: %v, want %q", verr, c.want)
			}
		})
	}
	// With validate.non.null=false the nullable column is accepted.
	tk := newTestTask(t, baseProps(e, db, "mode", "timestamp", "timestamp.column.name", "ts", "validate.non.null", "false"), newOffsets())
	if err := tk.pollAll(context.Background(), &capture{offsets: newOffsets()}); err != nil {
		t.Fatalf("validate.non.null=false: %v", err)
	}

}
