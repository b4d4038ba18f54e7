package jdbc

import (
	"context"
	"fmt"
	"strings"
)

// colInfo is an existing target column.
type colInfo struct {
	name string // as stored in the catalog
	// typ is the column's full type (e.g. numeric(10,2)); cast is the type
	// values are parsed as before assignment (PostgreSQL only): the base
	// type without modifiers, so that the assignment to the column, not an
	// explicit cast, decides about length and precision (explicit casts
	// truncate silently, assignments fail).
	typ, cast string
	nullable  bool
	// kept marks a column the source dropped and
	// schema.evolution.drop.mode=keep kept (its comment says so).
	kept bool
}

// keptComment is the comment a kept column carries.
const keptComment = "tributary: dropped at the source, kept by schema.evolution.drop.mode=keep"

// tableInfo is an existing target table.
type tableInfo struct {
	id    tableID
	cols  map[string]*colInfo // by lookup key (see backend.colKey)
	order []string            // lookup keys in the table's column order
}

// run is a sequence of same-shaped changes for one table, written by one
// statement (or a few, when chunked).
type run struct {
	table *tableInfo
	op    op
	mode  insertMode // for op == opUpsert
	cols  []column
	info  []*colInfo // target column of each of cols
	rows  [][]any
	// mustExist makes an UPDATE (mode update) fail with *missingRowsError
	// when a row does not match an existing one: rows with unavailable
	// columns under insert.mode=upsert, which must not be inserted.
	mustExist bool
}

// missingRowsError reports rows of a mustExist run that matched no
// existing row.
type missingRowsError struct {
	table     tableID
	want, got int64
}

func (e *missingRowsError) Error() string {
	return fmt.Sprintf("%d of %d rows to update do not exist in %s", e.want-e.got, e.want, e.table)
}

func (r *run) keyCols() []int {
	var out []int
	for i, c := range r.cols {
		if c.key {
			out = append(out, i)
		}
	}
	return out
}

func (r *run) valueCols() []int {
	var out []int
	for i, c := range r.cols {
		if !c.key {
			out = append(out, i)
		}
	}
	return out
}

// backend is one target database.
type backend interface {
	// describe returns the table, or nil when it does not exist.
	describe(ctx context.Context, id tableID) (*tableInfo, error)
	// colKey is how column names are compared (MySQL: case-insensitive).
	colKey(name string) string
	// createTable and addColumns run DDL outside the data transaction.
	createTable(ctx context.Context, id tableID, cols []column, pk bool) error
	addColumns(ctx context.Context, id tableID, cols []column) error
	begin(ctx context.Context) (txn, error)
	// columnType is the type schema evolution gives a field's column.
	columnType(c column) (string, error)
	// Statements of schema evolution, for txn.ddl.
	alterType(id tableID, ci *colInfo, typ string) string
	renameColumn(id tableID, from, to string) string
	dropColumn(id tableID, name string) string
	keepColumn(id tableID, ci *colInfo) []string
	addColumn(id tableID, c column) (string, error)
	// retriable reports errors that are not the records' fault.
	retriable(err error) bool
	// describeError adds what the database said about an error.
	close() error
}

type txn interface {
	write(ctx context.Context, r *run) error
	// ddl runs schema evolution statements after the rows written so far:
	// inside the transaction on PostgreSQL; on MySQL, whose DDL commits
	// implicitly, it commits the transaction, runs them and begins a new
	// one.
	ddl(ctx context.Context, stmts []string) error
	truncate(ctx context.Context, t *tableInfo) error
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// retriableError marks errors the runtime should retry as a whole batch
// instead of blaming a record (sinkrunner checks for Retriable()).
type retriableError struct{ err error }

func (e *retriableError) Error() string   { return e.err.Error() }
func (e *retriableError) Unwrap() error   { return e.err }
func (e *retriableError) Retriable() bool { return true }

func joinMap[T any](xs []T, sep string, f func(T) string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = f(x)
	}
	return strings.Join(parts, sep)
}

// columnTypeError names the column whose value could not be rendered.
func columnTypeError(t tableID, c column, err error) error {
	return fmt.Errorf("table %s column %s (field %q, %s): %w", t, c.name, c.field, c.schema, err)
}

// tableDefs renders the column list of a CREATE TABLE: each column's
// definition from columnDDL and, when pk is set, a PRIMARY KEY over the key
// columns named with quote.
func tableDefs(id tableID, cols []column, pk bool, columnDDL func(column, bool) (string, error), quote func(string) string) (string, error) {
	var defs, keys []string
	for _, c := range cols {
		d, err := columnDDL(c, true)
		if err != nil {
			return "", fmt.Errorf("creating table %s: %w", id, err)
		}
		defs = append(defs, d)
		if c.key {
			keys = append(keys, quote(c.name))
		}
	}
	if pk && len(keys) > 0 {
		defs = append(defs, "PRIMARY KEY ("+strings.Join(keys, ", ")+")")
	}
	return strings.Join(defs, ", "), nil
}
