package jdbc

import (
	"context"
	"crypto/md5"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
)

// Tables are compared in a canonical text form: each value is rendered the
// same way whichever side (expected Connect values, PostgreSQL, MariaDB)
// it comes from, rows are ordered by key and joined, and the md5 of the
// whole rendering is the table's checksum.

type canonTable struct {
	cols []string
	rows map[string][]string // id -> canonical values
}

func (c *canonTable) ids() []string {
	ids := make([]string, 0, len(c.rows))
	for id := range c.rows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, _ := strconv.Atoi(ids[i])
		b, _ := strconv.Atoi(ids[j])
		return a < b
	})
	return ids
}

func (c *canonTable) checksum() string {
	h := md5.New()
	for _, id := range c.ids() {
		fmt.Fprintln(h, strings.Join(c.rows[id], "|"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// compareTables fails the test with the first differences.
func compareTables(t *testing.T, what string, want, got *canonTable) {
	t.Helper()
	ws, gs := want.checksum(), got.checksum()
	t.Logf("%s: %d rows expected (md5 %s), %d rows in target (md5 %s)", what, len(want.rows), ws, len(got.rows), gs)
	if ws == gs {
		return
	}
	n := 0
	for _, id := range want.ids() {
		g, ok := got.rows[id]
		if !ok {
			t.Errorf("%s: row id=%s missing in target", what, id)
			n++
			continue
		}
		for i, col := range want.cols {
			if want.rows[id][i] != g[i] {
				t.Errorf("%s: row id=%s column %s: want %q, got %q", what, id, col, want.rows[id][i], g[i])
				n++
			}
		}
		if n > 20 {
			break
		}
	}
	for id := range got.rows {
		if _, ok := want.rows[id]; !ok {
			t.Errorf("%s: phantom row id=%s in target", what, id)
		}
	}
	if n == 0 {
		t.Errorf("%s: checksums differ", what)
	}
}

func canonJSON(s string) string {
	var v any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return "INVALID JSON " + s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func canonRat(s string) string {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return "INVALID NUMBER " + s
	}
	return r.RatString()
}

func canonFloat(s string, bits int) string {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), bits)
	if err != nil {
		return "INVALID FLOAT " + s
	}
	return strconv.FormatFloat(f, 'g', -1, bits)
}

// canonTime normalises "HH:MM:SS[.ffffff]" to six fractional digits.
func canonTime(s string) string {
	s = strings.TrimSpace(s)
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
	}
	return s + "." + (frac + "000000")[:6]
}

func canonTimestamp(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i] + " " + canonTime(s[i+1:])
	}
	return s
}

const (
	tsLayout   = "2006-01-02 15:04:05.000000"
	timeLayout = "15:04:05.000000"
)

// canonConnect renders an expected value from the record.
func canonConnect(s *connect.Schema, v any) string {
	if v == nil {
		return "NULL"
	}
	k, err := kindOf(s)
	if err != nil {
		return "UNSUPPORTED " + err.Error()
	}
	switch k {
	case kInt8, kInt16, kInt32, kInt64, kYear, kMicroDuration:
		return fmt.Sprint(v)
	case kFloat32:
		return strconv.FormatFloat(float64(v.(float32)), 'g', -1, 32)
	case kFloat64:
		return strconv.FormatFloat(v.(float64), 'g', -1, 64)
	case kBool:
		return strconv.FormatBool(v.(bool))
	case kString, kEnum, kUUID, kEnumSet:
		return v.(string)
	case kBytes:
		return hex.EncodeToString(v.([]byte))
	case kDecimal:
		d := v.(connect.Decimal)
		return new(big.Rat).SetFrac(d.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil)).RatString()
	case kVarDecimal:
		sv := v.(*connect.StructValue)
		scale := sv.Get("scale").(int32)
		u := connect.DecimalFromBytes(sv.Get("value").([]byte))
		return new(big.Rat).SetFrac(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)).RatString()
	case kDate:
		return time.Unix(int64(v.(int32))*86400, 0).UTC().Format("2006-01-02")
	case kTimeMicros:
		return time.UnixMicro(v.(int64)).UTC().Format(timeLayout)
	case kTimeMillis:
		return time.UnixMilli(int64(v.(int32))).UTC().Format(timeLayout)
	case kTimestampMicros:
		return time.UnixMicro(v.(int64)).UTC().Format(tsLayout)
	case kTimestampMillis:
		return time.UnixMilli(v.(int64)).UTC().Format(tsLayout)
	case kTimestampNanos:
		return time.Unix(0, v.(int64)).UTC().Truncate(time.Microsecond).Format(tsLayout)
	case kZonedTimestamp:
		ts, _ := time.Parse(time.RFC3339Nano, v.(string))
		return ts.UTC().Format(tsLayout)
	case kZonedTime:
		ts, _ := time.Parse("15:04:05.999999999Z07:00", v.(string))
		return ts.UTC().Format(timeLayout)
	case kJSON:
		return canonJSON(v.(string))
	case kBits:
		return bitString(v.([]byte), bitsWidth(s))
	case kArray:
		j := &converter.JSON{}
		b, err := j.FromConnect("", s, v)
		if err != nil {
			return "BAD ARRAY " + err.Error()
		}
		return canonJSON(string(b))
	}
	return fmt.Sprintf("UNHANDLED %v", v)
}

// expectedState folds a change stream into the canonical rows it should
// leave behind. applyTruncate is false when truncates never reach the
// sink (ExtractNewRecordState drops them).
func expectedState(t testing.TB, msgs []kafkaMsg, row *connect.Schema, applyTruncate bool) *canonTable {
	t.Helper()
	j := &converter.JSON{SchemasEnabled: true}
	state := map[string]*connect.StructValue{}
	for i, m := range msgs {
		_, k, err := j.ToConnect(m.topic, m.key)
		if err != nil {
			t.Fatalf("message %d key: %v", i, err)
		}
		_, v, err := j.ToConnect(m.topic, m.value)
		if err != nil {
			t.Fatalf("message %d value: %v", i, err)
		}
		if v == nil {
			continue
		}
		env := v.(*connect.StructValue)
		switch env.Get("op").(string) {
		case "t":
			if applyTruncate {
				state = map[string]*connect.StructValue{}
			}
		case "d":
			delete(state, fmt.Sprint(k.(*connect.StructValue).Get("id")))
		default:
			after := env.Get("after").(*connect.StructValue)
			state[fmt.Sprint(after.Get("id"))] = after
		}
	}
	out := &canonTable{rows: map[string][]string{}}
	for _, f := range row.Fields {
		out.cols = append(out.cols, f.Name)
	}
	for id, r := range state {
		vals := make([]string, len(row.Fields))
		for i, f := range row.Fields {
			if rf := r.Schema.Field(f.Name); rf != nil {
				vals[i] = canonConnect(f.Schema, r.Values[rf.Index])
			} else {
				vals[i] = "NULL" // column added after the row was last written
			}
		}
		out.rows[id] = vals
	}
	return out
}

// pgCanonExpr renders column c of kind k as canonical text in SQL (the
// session runs in UTC).
func pgCanonExpr(c string, k kind) string {
	q := pgQuote(c)
	switch k {
	case kBool:
		return "CASE WHEN " + q + " IS NULL THEN NULL WHEN " + q + " THEN 'true' ELSE 'false' END"
	case kBytes:
		return "encode(" + q + ", 'hex')"
	case kDate:
		return "to_char(" + q + ", 'YYYY-MM-DD')"
	case kTimestampMicros, kTimestampMillis, kTimestampNanos:
		return "to_char(" + q + ", 'YYYY-MM-DD HH24:MI:SS.US')"
	case kZonedTimestamp:
		return "to_char(" + q + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
	case kZonedTime:
		return "(" + q + " AT TIME ZONE 'UTC')::time::text"
	case kMicroDuration:
		return "(extract(epoch from " + q + ") * 1000000)::bigint::text"
	case kArray:
		return "array_to_json(" + q + ")::text"
	}
	return q + "::text"
}

func myCanonExpr(c string, k kind, s *connect.Schema) string {
	q := myQuote(c)
	switch k {
	case kBool:
		return "CASE WHEN " + q + " IS NULL THEN NULL WHEN " + q + " THEN 'true' ELSE 'false' END"
	case kBytes:
		return "LOWER(HEX(" + q + "))"
	case kDate:
		return "DATE_FORMAT(" + q + ", '%Y-%m-%d')"
	case kTimestampMicros, kTimestampMillis, kTimestampNanos, kZonedTimestamp:
		return "DATE_FORMAT(" + q + ", '%Y-%m-%d %H:%i:%s.%f')"
	case kTimeMicros, kTimeMillis, kTimeNanos, kZonedTime:
		return "TIME_FORMAT(" + q + ", '%H:%i:%s.%f')"
	case kBits:
		return fmt.Sprintf("LPAD(BIN(%s), %d, '0')", q, bitsWidth(s))
	}
	return "CAST(" + q + " AS CHAR)"
}

// normalise turns database text into canonical text for kind k.
func normalise(k kind, s string) string {
	switch k {
	case kFloat32:
		return canonFloat(s, 32)
	case kFloat64:
		return canonFloat(s, 64)
	case kDecimal, kVarDecimal:
		return canonRat(s)
	case kTimeMicros, kTimeMillis, kTimeNanos, kZonedTime:
		return canonTime(s)
	case kTimestampMicros, kTimestampMillis, kTimestampNanos, kZonedTimestamp:
		return canonTimestamp(s)
	case kJSON, kArray:
		return canonJSON(s)
	}
	return s
}

type querier interface {
	query(ctx context.Context, sql string) ([][]*string, error)
}

// readCanon reads table (key column id) from a database in canonical form.
func readCanon(t testing.TB, ctx context.Context, db querier, table string, row *connect.Schema, exprOf func(string, kind, *connect.Schema) string) *canonTable {
	t.Helper()
	out := &canonTable{rows: map[string][]string{}}
	kinds := make([]kind, len(row.Fields))
	exprs := make([]string, len(row.Fields))
	for i, f := range row.Fields {
		k, err := kindOf(f.Schema)
		if err != nil {
			t.Fatal(err)
		}
		kinds[i] = k
		exprs[i] = exprOf(f.Name, k, f.Schema)
		out.cols = append(out.cols, f.Name)
	}
	rows, err := db.query(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM "+table)
	if err != nil {
		t.Fatalf("reading %s: %v", table, err)
	}
	for _, r := range rows {
		vals := make([]string, len(r))
		for i, v := range r {
			if v == nil {
				vals[i] = "NULL"
			} else {
				vals[i] = normalise(kinds[i], *v)
			}
		}
		out.rows[vals[0]] = vals
	}
	return out
}

type pgQuerier struct{ conn *pgx.Conn }

func (q pgQuerier) query(ctx context.Context, sql string) ([][]*string, error) {
	if _, err := q.conn.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
		return nil, err
	}
	rows, err := q.conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		n := len(rows.FieldDescriptions())
		vals := make([]*string, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

type sqlQuerier struct{ db *sql.DB }

func (q sqlQuerier) query(ctx context.Context, query string) ([][]*string, error) {
	rows, err := q.db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]*string
	for rows.Next() {
		raw := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		vals := make([]*string, len(cols))
		for i, r := range raw {
			if r.Valid {
				s := r.String
				vals[i] = &s
			}
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}
