package jdbc

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"
)

// tableID names a table. PostgreSQL tables have a schema and no catalog;
// MySQL and MariaDB tables have a catalog (the database) and no schema, as
// the JDBC drivers report them.
type tableID struct {
	catalog, schema, name string
}

// fqn is the unquoted fully-qualified name, as Confluent's
// ExpressionBuilder writes it with QuoteMethod.NEVER; it is the source
// partition's "table" value.
func (t tableID) fqn() string {
	var parts []string
	for _, p := range []string{t.catalog, t.schema, t.name} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// kind is the family of a column's SQL type, which decides its Connect
// schema (see types.go).
type kind int

const (
	kUnsupported kind = iota
	kBool
	kInt     // bits 8, 16, 32 or 64; unsigned widens like JDBC's isSigned=false
	kFloat32 // REAL
	kFloat64 // DOUBLE PRECISION, FLOAT
	kDecimal // NUMERIC/DECIMAL; precision 0 means unconstrained
	kString
	kBytes
	kDate
	kTime
	kTimestamp   // wall-clock timestamp, interpreted in db.timezone
	kTimestampTZ // absolute instant
	kBits        // PostgreSQL bit(n)/varbit, bits = n
)

// column describes one result or table column.
type column struct {
	name          string
	typeName      string // database type as the database names it, for messages and casts
	kind          kind
	bits          int
	unsigned      bool
	precision     int
	scale         int
	nullable      bool
	autoIncrement bool
}

// tableInfo is what describe returns for a table.
type tableInfo struct {
	id      tableID
	columns []column
	pk      []string
}

func (t *tableInfo) column(name string) *column {
	for i := range t.columns {
		if t.columns[i].name == name {
			return &t.columns[i]
		}
	}
	// Confluent falls back to a unique case-insensitive match.
	var found *column
	for i := range t.columns {
		if strings.EqualFold(t.columns[i].name, name) {
			if found != nil {
				return nil
			}
			found = &t.columns[i]
		}
	}
	return found
}

// Normalised column values returned by rowIter.values. Every dialect
// converts its driver's representation into these so that types.go has a
// single conversion per Connect type:
//
//	nil, bool, int64, uint64, float32, float64, string, []byte,
//	decimal, time.Time (dates and wall-clock timestamps carry their wall
//	clock in UTC; absolute timestamps are absolute), timeOfDay, bitString.
type decimal struct {
	unscaled *big.Int
	exp      int32 // value = unscaled × 10^exp
}

type timeOfDay time.Duration

type bitString struct {
	bytes []byte
	n     int
}

// db is what the connector needs from a database connection; one
// implementation per dialect (postgres.go, mysql.go). A db is used by one
// goroutine and never has two statements open at once.
type db interface {
	dialect() string
	database() string
	// tables lists tables of the given types (TABLE, VIEW, ...).
	tables(ctx context.Context, catalogPattern, schemaPattern *string, types []string) ([]tableID, error)
	// describe returns the table's columns and primary key, or
	// errNoTable.
	describe(ctx context.Context, t tableID) (*tableInfo, error)
	// now is the database's current time.
	now(ctx context.Context) (time.Time, error)
	// query runs a statement and streams its rows.
	query(ctx context.Context, sql string, args []any) (rowIter, error)
	// quote quotes an identifier.
	quote(ident string) string
	// placeholder is the n-th (1-based) bind parameter.
	placeholder(n int) string
	// castParam wraps a placeholder carrying a value's text form so the
	// database compares it as column c's type.
	castParam(ph string, c *column) string
	// timeText renders an instant as text for castParam against c.
	timeText(t time.Time, c *column, zone *time.Location) string
	// xidHorizon reads, in one snapshot, the oldest transaction ID still
	// running and the next one to be assigned, and the value of maxSQL (a
	// single-value query, or "" for none); PostgreSQL only.
	xidHorizon(ctx context.Context, maxSQL string) (xidState, error)
	limit(n int) string
	close()
}

// xidState is what xidHorizon reads. Transaction IDs are 64-bit (xid8),
// so they never wrap around.
type xidState struct {
	oldest, next uint64 // oldest == next: no transaction holds an ID
	max          any    // maxSQL's value, normalised as rowIter values; nil for NULL or no maxSQL
}

// rowIter streams a query's rows.
type rowIter interface {
	columns() []column
	next() bool
	values() ([]any, error)
	err() error
	close()
}

var errNoTable = errors.New("table does not exist")

// connectDB opens a connection for the URL's dialect.
func connectDB(ctx context.Context, s *settings) (db, error) {
	switch s.url.dialect {
	case dialectPostgres:
		return connectPostgres(ctx, s)
	default:
		return connectMySQL(ctx, s)
	}
}
