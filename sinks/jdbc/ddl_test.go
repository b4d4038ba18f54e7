package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/testdb"
)

// ddlSource is one source database of the DDL test: its DDL spellings
// and how to reach it.
type ddlSource struct {
	name    string
	exec    func(string) error
	q       querier
	exprOf  func(string, kind, *connect.Schema) string
	ddl     []string // add, widen, rename, drop
	columns func() []string
}

// TestDDLEvolution runs a writer against a table on each source database
// while the table goes through ADD COLUMN, a widening type change
// (int → bigint, followed by values above 2^31), RENAME COLUMN and DROP
// COLUMN, streams it through Kafka into the other database, and compares
// the tables (canonical rendering, md5).
//
// advanced: the target follows every change, so it equals the source as
// it is, columns included, without any row being rewritten: the renamed
// column kept the values written before the rename.
//
// basic (Debezium's adds, plus widening): the target gains the new
// columns and keeps the renamed and dropped ones; after one UPDATE of
// every row the source's columns are equal.
//
// advanced with schema.evolution.drop.mode=keep: as advanced, but the
// dropped column stays, nullable, NULL in rows written afterwards.
func TestDDLEvolution(t *testing.T) {
	for _, tc := range []struct{ source, mode string }{
		{"postgresql", "advanced"}, {"mariadb", "advanced"},
		{"postgresql", "basic"}, {"mariadb", "basic"},
		{"postgresql", "advanced-keep"},
	} {
		t.Run(tc.source+"/"+tc.mode, func(t *testing.T) { runDDLEvolution(t, tc.source, tc.mode) })
	}
}

func startDDLSource(t *testing.T, which string, c *kfake.Cluster) (*ddlSource, string) {
	ctx := context.Background()
	create := `CREATE TABLE items (id int PRIMARY KEY, name varchar(40), qty int, note text, old_name text)`
	if which == "postgresql" {
		pg := testdb.StartPostgres(t)
		pg.CreateDatabase(t, "app")
		pg.Exec(t, "app", create)
		conn, err := pgx.Connect(ctx, pg.DSN("app"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		startSource(t, c, postgres.Plugin(), map[string]string{
			"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
			"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pgsrc", "plugin.name": "pgoutput", "slot.name": "ddl",
		})
		var mu sync.Mutex // the writer and the comparison share conn
		return &ddlSource{
			name: "postgresql",
			exec: func(q string) error {
				mu.Lock()
				defer mu.Unlock()
				_, err := conn.Exec(ctx, q)
				return err
			},
			q: lockedQuerier{&mu, pgQuerier{conn}},
			exprOf: func(c string, k kind, _ *connect.Schema) string {
				return pgCanonExpr(c, k)
			},
			ddl: []string{`ALTER TABLE items ADD COLUMN extra varchar(50)`, `ALTER TABLE items ALTER COLUMN qty TYPE bigint`,
				`ALTER TABLE items RENAME COLUMN old_name TO new_name`, `ALTER TABLE items DROP COLUMN note`},
			columns: func() []string {
				return columnNames(t, lockedQuerier{&mu, pgQuerier{conn}}, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items'`)
			},
		}, "pgsrc.public.items"
	}
	my := testdb.StartMariaDB(t)
	my.Exec(t, "", "CREATE DATABASE inventory")
	my.Exec(t, "inventory", create)
	db, err := sql.Open("mysql", my.DSN("inventory"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	startSource(t, c, mysql.MariaDBPlugin(), map[string]string{
		"topic.prefix": "mariasrc", "database.hostname": my.Host, "database.port": fmt.Sprint(my.Port), "database.user": "root",
		"database.server.id": "5611", "schema.history.internal.kafka.topic": "schemahistory.mariasrc", "database.include.list": "inventory",
	})
	return &ddlSource{
		name: "mariadb",
		exec: func(q string) error {
			_, err := db.Exec(q)
			return err
		},
		q:      sqlQuerier{db},
		exprOf: myCanonExpr,
		ddl: []string{`ALTER TABLE items ADD COLUMN extra varchar(50)`, `ALTER TABLE items MODIFY qty bigint`,
			`ALTER TABLE items RENAME COLUMN old_name TO new_name`, `ALTER TABLE items DROP COLUMN note`},
		columns: func() []string {
			return columnNames(t, sqlQuerier{db}, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'inventory' AND table_name = 'items'`)
		},
	}, "mariasrc.inventory.items"
}

func columnNames(t *testing.T, q querier, query string) []string {
	t.Helper()
	rows, err := q.query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, strings.ToLower(*r[0]))
	}
	sort.Strings(out)
	return out
}

type lockedQuerier struct {
	mu *sync.Mutex
	q  querier
}

func (l lockedQuerier) query(ctx context.Context, q string) ([][]*string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q.query(ctx, q)
}

// ddlWriter inserts, updates and deletes rows of items, with the columns
// the table has in its current phase (0: initial, 1: extra added, 2: qty
// bigint, 3: old_name renamed to new_name, 4: note dropped).
type ddlWriter struct {
	exec  func(string) error
	mu    sync.Mutex
	phase int
	next  int
	n     int
	err   error
}

func (w *ddlWriter) step() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return
	}
	w.n++
	p := w.phase
	qty := fmt.Sprint(w.n)
	if p >= 2 {
		qty = fmt.Sprint(3000000000 + w.n) // needs the widened column
	}
	cols := []string{"id", "name", "qty"}
	vals := []string{"", fmt.Sprintf("'name %d'", w.n), qty}
	if p < 4 {
		cols, vals = append(cols, "note"), append(vals, fmt.Sprintf("'note %d'", w.n))
	}
	if p < 3 {
		cols, vals = append(cols, "old_name"), append(vals, fmt.Sprintf("'old %d'", w.n))
	} else {
		cols, vals = append(cols, "new_name"), append(vals, fmt.Sprintf("'new %d'", w.n))
	}
	if p >= 1 {
		cols, vals = append(cols, "extra"), append(vals, fmt.Sprintf("'extra %d'", w.n))
	}
	var q string
	switch {
	case w.n%3 != 0 || w.next < 5:
		w.next++
		vals[0] = fmt.Sprint(w.next)
		q = "INSERT INTO items (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")"
	case w.n%15 == 0:
		q = fmt.Sprintf("DELETE FROM items WHERE id = %d", 1+(w.n*7)%w.next)
	default:
		var sets []string
		for i := 1; i < len(cols); i++ {
			sets = append(sets, cols[i]+" = "+vals[i])
		}
		q = fmt.Sprintf("UPDATE items SET %s WHERE id = %d", strings.Join(sets, ", "), 1+(w.n*5)%w.next)
	}
	if err := w.exec(q); err != nil {
		w.err = fmt.Errorf("%s: %w", q, err)
	}
}

// alter runs one DDL statement between two writes.
func (w *ddlWriter) alter(q string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.exec(q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	w.phase++
	return nil
}

func runDDLEvolution(t *testing.T, source, mode string) {
	c := startKafka(t)
	src, topic := startDDLSource(t, source, c)
	target := startMariaDBTarget
	if source == "mariadb" {
		target = startPostgresTarget
	}
	db := target(t)
	extra := []string{"schema.evolution", strings.TrimSuffix(mode, "-keep")}
	if mode == "advanced-keep" {
		extra = append(extra, "schema.evolution.drop.mode", "keep")
	}
	props := crossSinkProps(db.url, topic)
	props["batch.size"], props["consumer.max.poll.records"] = "50", "50"
	for i := 0; i+1 < len(extra); i += 2 {
		props[extra[i]] = extra[i+1]
	}
	s := startSink(t, c, "ddl-"+strings.ReplaceAll(mode, "-", ""), sinkProps(t, props))

	w := &ddlWriter{exec: src.exec}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				w.step()
				time.Sleep(3 * time.Millisecond)
			}
		}
	}()
	for _, q := range src.ddl {
		time.Sleep(1200 * time.Millisecond)
		if err := w.alter(q); err != nil {
			close(stop)
			<-done
			t.Fatal(err)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	close(stop)
	<-done
	if w.err != nil {
		t.Fatalf("writer: %v", w.err)
	}
	if mode == "basic" {
		// basic cannot move values to a renamed column: rewrite every row
		if err := src.exec("UPDATE items SET qty = qty + 1"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d writes by the writer around the 4 DDL statements", w.n)
	waitTopic(t, c, s, topic)

	row := lastRowSchema(t, c, topic)
	ctx := context.Background()
	converge(t, source+"→"+db.name+" "+mode,
		func() *canonTable { return readCanon(t, ctx, src.q, "items", row, src.exprOf) },
		func() *canonTable { return readCanon(t, ctx, db.q, db.table("items"), row, db.exprOf) })

	targetCols := func() []string {
		if db.name == "postgresql" {
			return columnNames(t, db.q, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'items'`)
		}
		return columnNames(t, db.q, `SELECT column_name FROM information_schema.columns WHERE table_schema = 'sink' AND table_name = 'items'`)
	}
	want := strings.Join(src.columns(), ",")
	switch mode {
	case "basic":
		want = "extra,id,name,new_name,note,old_name,qty"
	case "advanced-keep":
		want = "extra,id,name,new_name,note,qty"
		// rows written after the drop have no note
		rows, err := db.q.query(ctx, "SELECT count(*) FROM "+db.table("items")+" WHERE note IS NULL")
		if err != nil {
			t.Fatal(err)
		}
		if *rows[0][0] == "0" {
			t.Errorf("no row without note: rows written after the drop should have NULL")
		}
	}
	if got := strings.Join(targetCols(), ","); got != want {
		t.Errorf("target columns %s, want %s", got, want)
	}
	t.Logf("target columns: %s (source: %s)", strings.Join(targetCols(), ","), strings.Join(src.columns(), ","))
}
