package jdbc

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// copyText renders s in COPY text format: the reference for the text
// the PostgreSQL backend sends in its text[] parameters.
func copyText(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			buf.WriteString(`\\`)
		case '\n':
			buf.WriteString(`\n`)
		case '\r':
			buf.WriteString(`\r`)
		case '\t':
			buf.WriteString(`\t`)
		default:
			buf.WriteByte(c)
		}
	}
}

// TestArraysMatchCopy checks that rows written through the text[]
// parameters (ROWS FROM unnest, cast to the column types) are exactly the
// rows the earlier path wrote: textValue's text loaded with COPY into a
// staging table of the same cast types, then INSERT ... SELECT into the
// target. Every column type of the everything fixture is covered, with
// NULL rows, tabs, newlines, backslashes, quotes, braces and non-ASCII in
// strings and array elements.
func TestArraysMatchCopy(t *testing.T) {
	db := startPostgresTarget(t)
	ctx := t.Context()
	s := newEverythingStream()
	for id := 1; id <= 60; id++ {
		s.emit(debezium.OpRead, s.env1, id, nil, s.row(s.row1, id, id%4))
	}
	props := sinkProps(t, baseProps(db.url, everythingTopic, "via_arrays", "batch.size", "1000"))
	task, err := NewTask(ctx, DebeziumClass, props, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if err := task.Put(ctx, s.recs); err != nil {
		t.Fatal(err)
	}

	// The reference: the same changes through COPY into a staging table.
	var changes []*change
	for _, r := range s.recs {
		ch, err := task.in.interpret(r)
		if err != nil {
			t.Fatal(err)
		}
		changes = append(changes, ch)
	}
	ti := task.tables[changes[0].table]
	cols := changes[0].cols
	var defs, names []string
	for _, c := range cols {
		defs = append(defs, pgQuote(c.name)+" "+ti.cols[c.name].cast)
		names = append(names, pgQuote(c.name))
	}
	conn, err := pgx.Connect(ctx, strings.TrimSpace(pgConnString(task.s.target)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var buf bytes.Buffer
	for _, ch := range changes {
		for i, c := range cols {
			if i > 0 {
				buf.WriteByte('\t')
			}
			if ch.vals[i] == nil {
				buf.WriteString(`\N`)
				continue
			}
			str, err := textValue(c.kind, c.schema, ch.vals[i], true)
			if err != nil {
				t.Fatalf("column %s: %v", c.name, err)
			}
			copyText(&buf, str)
		}
		buf.WriteByte('\n')
	}
	for _, q := range []string{
		"CREATE TABLE via_copy (LIKE via_arrays)",
		"CREATE TEMP TABLE stage (" + strings.Join(defs, ", ") + ")",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := conn.PgConn().CopyFrom(ctx, &buf, "COPY stage ("+strings.Join(names, ", ")+") FROM STDIN"); err != nil {
		t.Fatal(err)
	}
	list := strings.Join(names, ", ")
	if _, err := conn.Exec(ctx, "INSERT INTO via_copy ("+list+") SELECT "+list+" FROM stage"); err != nil {
		t.Fatal(err)
	}
	dump := func(table string) []string {
		rows, err := conn.Query(ctx, "SELECT t::text FROM "+table+" t ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	got, want := dump("via_arrays"), dump("via_copy")
	if len(got) != 60 || len(want) != 60 {
		t.Fatalf("via_arrays has %d rows, via_copy %d, want 60 each", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("row %d:\n text[] %s\n COPY   %s", i+1, got[i], want[i])
		}
	}
	// The fixture must reach the paths that matter: NULLs and escapes.
	joined := strings.Join(got, "\n")
	for _, frag := range []string{"tab\there", `back\\slash`, "ünïcødé", `\\x00010226ff5c0a09`, `,,,`} {
		if !strings.Contains(joined, frag) {
			t.Errorf("no row holds %q: the fixture no longer covers it", frag)
		}
	}
}

// TestWideRun writes runs of a table with more columns than a PostgreSQL
// function takes arguments (100): ROWS FROM gives each column its own
// unnest, and deletes and the prepared statement's reuse work too.
func TestWideRun(t *testing.T) {
	db := startPostgresTarget(t)
	ctx := t.Context()
	const ncols = 130
	b := connect.StructBuilder().Name("wide").Field("id", connect.Prim(connect.Int64))
	for i := 1; i < ncols; i++ {
		b.Field(fmt.Sprintf("c%03d", i), connect.OptionalPrim(connect.String))
	}
	val := b.MustBuild()
	key := connect.StructBuilder().Name("wide.Key").Field("id", connect.Prim(connect.Int64)).MustBuild()
	batch := func(from, to int, v string) []*connect.Record {
		var out []*connect.Record
		for id := from; id < to; id++ {
			r := connect.NewStruct(val).Set("id", int64(id))
			for i := 1; i < ncols; i++ {
				if (id+i)%5 != 0 {
					r.Set(fmt.Sprintf("c%03d", i), v+strconv.Itoa(id*i))
				}
			}
			out = append(out, &connect.Record{Topic: "wide", KafkaOffset: int64(id), KeySchema: key,
				Key: connect.NewStruct(key).Set("id", int64(id)), ValueSchema: val, Value: r})
		}
		return out
	}
	props := sinkProps(t, baseProps(db.url, "wide", "wide", "batch.size", "1000"))
	task, err := NewTask(ctx, DebeziumClass, props, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if err := task.Put(ctx, batch(0, 50, "a")); err != nil {
		t.Fatal(err)
	}
	if err := task.Put(ctx, batch(25, 75, "b")); err != nil {
		t.Fatal(err)
	}
	dels := batch(0, 10, "")
	for _, r := range dels {
		r.Value = nil
	}
	if err := task.Put(ctx, dels); err != nil {
		t.Fatal(err)
	}
	rows, err := db.q.query(ctx, `SELECT count(*)::text, min(id)::text, count(c007)::text, min(c007), max(c129) FROM wide`)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(*rows[0][0], " ", *rows[0][1], " ", *rows[0][2], " ", *rows[0][3], " ", *rows[0][4])
	// ids 10..74; c007 is NULL where (id+7)%5 == 0, i.e. 13 of the 65.
	if want := "65 10 52 a105 b9546"; got != want {
		t.Errorf("wide table: %s, want %s", got, want)
	}
}

// TestCreatedNullability checks the columns of a table created from a
// batch whose rows share their interpreter bindings: a required field
// every row carries is NOT NULL, one that appears mid-batch is nullable
// (prepareTables counts runs of rows with the same column slice at once).
func TestCreatedNullability(t *testing.T) {
	db := startPostgresTarget(t)
	ctx := t.Context()
	key := connect.StructBuilder().Name("n.Key").Field("id", connect.Prim(connect.Int64)).MustBuild()
	a := connect.StructBuilder().Name("n.Value").Field("id", connect.Prim(connect.Int64)).Field("a", connect.Prim(connect.String)).MustBuild()
	b := connect.StructBuilder().Name("n.Value").Field("id", connect.Prim(connect.Int64)).Field("a", connect.Prim(connect.String)).
		Field("b", connect.Prim(connect.String)).MustBuild()
	var recs []*connect.Record
	for id := range 7 {
		s := a
		if id >= 4 {
			s = b
		}
		v := connect.NewStruct(s).Set("id", int64(id)).Set("a", "x")
		if s == b {
			v.Set("b", "y")
		}
		recs = append(recs, &connect.Record{Topic: "n", KafkaOffset: int64(id), KeySchema: key,
			Key: connect.NewStruct(key).Set("id", int64(id)), ValueSchema: s, Value: v})
	}
	props := sinkProps(t, baseProps(db.url, "n", "nulls", "batch.size", "1000"))
	task, err := NewTask(ctx, DebeziumClass, props, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if err := task.Put(ctx, recs); err != nil {
		t.Fatal(err)
	}
	rows, err := db.q.query(ctx, `SELECT string_agg(column_name || ':' || is_nullable, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'nulls'`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *rows[0][0], "id:NO,a:NO,b:YES"; got != want {
		t.Errorf("columns of the created table: %s, want %s", got, want)
	}
}

// TestFailedPutRollsBack checks the transaction a Put opens with its
// first statement (BEGIN goes with it): a failing statement leaves none
// of the batch's rows and the next Put starts a clean transaction.
func TestFailedPutRollsBack(t *testing.T) {
	db := startPostgresTarget(t)
	ctx := t.Context()
	val := connect.StructBuilder().Name("f").Field("id", connect.Prim(connect.Int64)).Field("s", connect.Prim(connect.String)).MustBuild()
	recs := func(ids ...int64) []*connect.Record {
		var out []*connect.Record
		for i, id := range ids {
			out = append(out, &connect.Record{Topic: "f", KafkaOffset: int64(i), ValueSchema: val,
				Value: connect.NewStruct(val).Set("id", id).Set("s", "v")})
		}
		return out
	}
	props := sinkProps(t, baseProps(db.url, "f", "failing", "insert.mode", "insert", "primary.key.mode", "record_value",
		"primary.key.fields", "id", "batch.size", "2", "delete.enabled", "false"))
	task, err := NewTask(ctx, DebeziumClass, props, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	if err := task.Put(ctx, recs(0, 1, 2)); err != nil {
		t.Fatal(err)
	}
	// Two statements (batch.size 2): the first inserts 3 and 4, the
	// second fails on the duplicate 0; the first's rows must go too.
	if err := task.Put(ctx, recs(3, 4, 0)); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("Put with a duplicate key: error %v", err)
	}
	if err := task.Put(ctx, recs(5)); err != nil {
		t.Fatalf("Put after a failed one: %v", err)
	}
	rows, err := db.q.query(ctx, `SELECT string_agg(id::text, ',' ORDER BY id) FROM failing`)
	if err != nil {
		t.Fatal(err)
	}
	if got := *rows[0][0]; got != "0,1,2,5" {
		t.Errorf("rows after a failed Put: %s, want 0,1,2,5", got)
	}
}
