package postgres

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
)

// schema.include.list/schema.exclude.list select schemas and combine with
// the table lists (a table must pass both, as Debezium's
// RelationalTableFilters does) in the snapshot, the stream and a filtered
// publication.
func TestSchemaFilters(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props []string
		want  []string // captured tables, snapshot and stream alike
	}{
		{"include", []string{"schema.include.list", "inv.*"}, []string{"inventory.a", "inventory.b"}},
		{"exclude", []string{"schema.exclude.list", "Inventory"}, []string{"other.c", "public.d"}},
		{"include and table list", []string{"schema.include.list", "inventory", "table.include.list", "inventory.a,other.c"}, []string{"inventory.a"}},
		{"exclude and table exclude", []string{"schema.exclude.list", "other", "table.exclude.list", "inventory.b"}, []string{"inventory.a", "public.d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.exec(t, `CREATE SCHEMA inventory`, `CREATE SCHEMA other`,
				`CREATE TABLE inventory.a (id int PRIMARY KEY)`, `CREATE TABLE inventory.b (id int PRIMARY KEY)`,
				`CREATE TABLE other.c (id int PRIMARY KEY)`, `CREATE TABLE public.d (id int PRIMARY KEY)`)
			for _, tbl := range []string{"inventory.a", "inventory.b", "other.c", "public.d"} {
				e.exec(t, "INSERT INTO "+tbl+" VALUES (1)")
			}
			cap := newCapture()
			startTask(t, e.props(append([]string{"publication.autocreate.mode", "filtered"}, tc.props...)...), nil, cap)
			snap := cap.waitFor(t, len(tc.want), isData("dbserver1"))
			waitSlotActive(t, e)
			for _, tbl := range []string{"inventory.a", "inventory.b", "other.c", "public.d"} {
				e.exec(t, "INSERT INTO "+tbl+" VALUES (2)")
			}
			all := cap.waitFor(t, 2*len(tc.want), isData("dbserver1"))
			if got := topics(all); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("captured %v, want %v (records: %s)", got, tc.want, describe(all))
			}
			if got := topics(snap); strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("snapshot captured %v, want %v", got, tc.want)
			}
			conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			rows, err := conn.Query(context.Background(), `SELECT schemaname||'.'||tablename FROM pg_publication_tables WHERE pubname = 'dbz_publication' ORDER BY 1`)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(pub, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("filtered publication holds %v, want %v", pub, tc.want)
			}
		})
	}
}

// topics names the distinct tables of data records, sorted.
func topics(recs []*connect.Record) []string {
	seen := map[string]bool{}
	for _, r := range recs {
		seen[strings.TrimPrefix(r.Topic, "dbserver1.")] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
