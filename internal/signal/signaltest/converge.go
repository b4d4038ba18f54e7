package signaltest

import "testing"

// Row is a row (id, v, pad) of the table the convergence tests write to
// while an incremental snapshot reads it.
type Row struct {
	V   int32  `json:"v"`
	Pad string `json:"pad"`
}

// Diverged compares the table's rows with each key's last record (nil: a
// delete or tombstone) and returns how many keys differ; the first
// differences are reported as test errors.
func Diverged(t testing.TB, table map[int64]Row, last map[int64]*Row) int {
	t.Helper()
	bad := 0
	for id, r := range table {
		if got := last[id]; got == nil || *got != r {
			bad++
			if bad <= 5 {
				t.Errorf("row %d is %+v in the table, %+v in its last record", id, r, got)
			}
		}
	}
	for id, r := range last {
		if _, live := table[id]; r != nil && !live {
			bad++
			if bad <= 10 {
				t.Errorf("row %d was deleted but its last record shows %+v", id, *r)
			}
		}
	}
	return bad
}

// Rows is what ReadTable needs of *sql.Rows or pgx.Rows.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ReadTable reads the result of SELECT id, v, pad.
func ReadTable(t testing.TB, rows Rows) map[int64]Row {
	t.Helper()
	table := map[int64]Row{}
	for rows.Next() {
		var id int64
		var r Row
		if err := rows.Scan(&id, &r.V, &r.Pad); err != nil {
			t.Fatal(err)
		}
		table[id] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return table
}
