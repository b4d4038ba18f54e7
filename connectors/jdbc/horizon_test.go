package jdbc

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testdb"
)

// TestHorizonInterleavedTransactions is the commit order the crash test
// found losing rows under visibility.horizon=xmin: transaction A writes a
// row, B (a younger transaction ID) writes the next one and stays open, A
// writes a third and commits. A's rows are older than every running
// transaction, yet the third lies after B's row in read order: passing it
// moved the offset past B's row, which was lost when B committed. Every
// row's position here is assigned after its transaction took its ID, the
// case the horizon guarantees.
func TestHorizonInterleavedTransactions(t *testing.T) {
	e := &env{name: "postgres", pg: testdb.StartPostgres(t)}
	for _, mode := range []string{"timestamp+incrementing", "incrementing"} {
		t.Run(mode, func(t *testing.T) {
			db := e.newDB(t)
			e.exec(t, db, `CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL,
  updated timestamptz NOT NULL DEFAULT clock_timestamp())`)
			props := baseProps(e, db, "mode", mode, "incrementing.column.name", "id")
			if mode != "incrementing" {
				props["timestamp.column.name"] = "updated"
			}
			w := &capture{offsets: newOffsets()}
			tk := newTestTask(t, props, w.offsets)
			mustPoll(t, tk, w)

			a, b := e.session(t, db), e.session(t, db)
			a.exec(t, "BEGIN")
			a.exec(t, "INSERT INTO items (name) VALUES ('a1')")
			b.exec(t, "BEGIN")
			b.exec(t, "INSERT INTO items (name) VALUES ('b')")
			a.exec(t, "INSERT INTO items (name) VALUES ('a2')")
			a.exec(t, "COMMIT")

			got := names(t, mustPoll(t, tk, w))
			for _, n := range got {
				if n == "a2" {
					t.Fatalf("delivered %v while B, whose row precedes a2, was still open", got)
				}
			}
			b.exec(t, "COMMIT")
			got = append(got, names(t, mustPoll(t, tk, w))...)
			sort.Strings(got)
			if want := "a1,a2,b"; strings.Join(got, ",") != want {
				t.Fatalf("delivered %v, want each of %s once", got, want)
			}
		})
	}
}

func names(t *testing.T, recs []*connect.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprint(after(t, r).Get("name")))
	}
	return out
}
