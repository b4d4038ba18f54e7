package jdbc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgBackend writes to PostgreSQL over one connection. Rows are parsed from
// PostgreSQL's text format, so every value is converted exactly as psql or
// COPY would convert it, and each run is one set-based INSERT ... ON
// CONFLICT / DELETE / UPDATE reading its rows from text[] parameters.
type pgBackend struct {
	target *Target
	quote  bool
	conn   *pgx.Conn
	defSch string
	// stmts maps the statements prepared on conn to their names.
	stmts   map[string]string
	stmtSeq uint64
	// paramBuf holds the parameters of a run, formats their formats;
	// both reused by every run.
	paramBuf []byte
	formats  []int16
	// tx is the state of begin's transaction: its BEGIN is sent with the
	// first statement that needs it (one round trip fewer per batch).
	tx txState
}

type txState int

const (
	txNone     txState = iota
	txDeferred         // begin was called; BEGIN not sent yet
	txOpen             // BEGIN sent
)

// startTx sends the BEGIN that begin deferred, before a statement that
// must run in the transaction (DDL commits or rolls back with the rows).
func (b *pgBackend) startTx(ctx context.Context) error {
	if b.tx != txDeferred {
		return nil
	}
	b.tx = txOpen // even if it fails: a ROLLBACK without a transaction is only a warning
	if _, err := b.conn.Exec(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("postgresql BEGIN: %w", err)
	}
	return nil
}

func pgConnString(t *Target) string {
	kv := func(k, v string) string {
		return k + "='" + strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), "'", `\'`) + "'"
	}
	parts := []string{kv("host", t.Host), kv("port", strconv.Itoa(t.Port)), kv("dbname", t.Database)}
	if t.User != "" {
		parts = append(parts, kv("user", t.User))
	}
	if t.Password != "" {
		parts = append(parts, kv("password", t.Password))
	}
	sslmode := "prefer"
	for k, v := range t.Params {
		switch k {
		case "sslmode":
			sslmode = v
		case "ssl":
			if v == "true" {
				sslmode = "require"
			}
		case "currentSchema":
			parts = append(parts, kv("search_path", v))
		case "ApplicationName", "applicationName":
			parts = append(parts, kv("application_name", v))
		case "connectTimeout":
			parts = append(parts, kv("connect_timeout", v))
		}
	}
	parts = append(parts, kv("sslmode", sslmode))
	return strings.Join(parts, " ")
}

func newPGBackend(ctx context.Context, t *Target, quote bool) (*pgBackend, error) {
	b := &pgBackend{target: t, quote: quote}
	if err := b.connect(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *pgBackend) connect(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(pgConnString(b.target))
	if err != nil {
		return fmt.Errorf("postgresql connection settings: %w", err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return &retriableError{fmt.Errorf("connecting to postgresql %s:%d/%s: %w", b.target.Host, b.target.Port, b.target.Database, err)}
	}
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&b.defSch); err != nil {
		conn.Close(ctx)
		return &retriableError{fmt.Errorf("postgresql current_schema(): %w", err)}
	}
	b.conn, b.stmts, b.tx = conn, map[string]string{}, txNone
	return nil
}

// ensureConn reconnects after a connection loss.
func (b *pgBackend) ensureConn(ctx context.Context) error {
	if b.conn != nil && !b.conn.IsClosed() {
		return nil
	}
	if b.conn != nil {
		b.conn.Close(ctx)
		b.conn = nil
	}
	return b.connect(ctx)
}

func (b *pgBackend) close() error {
	if b.conn == nil {
		return nil
	}
	return b.conn.Close(context.Background())
}

func pgQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func (b *pgBackend) qualified(id tableID) string {
	if id.schema == "" {
		return pgQuote(id.name)
	}
	return pgQuote(id.schema) + "." + pgQuote(id.name)
}

func (b *pgBackend) colKey(name string) string { return name }

func (b *pgBackend) retriable(err error) bool {
	if err == nil {
		return false
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, crash, cannot connect now
			pe.Code == "53300": // too many connections
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	return b.conn == nil || b.conn.IsClosed()
}

func (b *pgBackend) describe(ctx context.Context, id tableID) (*tableInfo, error) {
	if err := b.ensureConn(ctx); err != nil {
		return nil, err
	}
	if err := b.startTx(ctx); err != nil {
		return nil, err
	}
	schema := id.schema
	if schema == "" {
		schema = b.defSch
	}
	rows, err := b.conn.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), format_type(a.atttypid, NULL), t.typname, NOT a.attnotnull,
			coalesce(col_description(a.attrelid, a.attnum), '') = '`+keptComment+`'
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, schema, id.name)
	if err != nil {
		return nil, fmt.Errorf("reading columns of %s: %w", id, err)
	}
	defer rows.Close()
	ti := &tableInfo{id: id, cols: map[string]*colInfo{}}
	for rows.Next() {
		var name, full, base, typname string
		var nullable, kept bool
		if err := rows.Scan(&name, &full, &base, &typname, &nullable, &kept); err != nil {
			return nil, fmt.Errorf("reading columns of %s: %w", id, err)
		}
		ti.cols[name] = &colInfo{name: name, typ: full, cast: pgCastType(base, typname), nullable: nullable, kept: kept}
		ti.order = append(ti.order, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading columns of %s: %w", id, err)
	}
	if len(ti.cols) == 0 {
		return nil, nil
	}
	return ti, nil
}

// pgCastType is the type text values are parsed as: the base type, except
// where PostgreSQL's unmodified type name means a length of one (character,
// bit), which an explicit cast would silently truncate to.
func pgCastType(base, typname string) string {
	switch typname {
	case "bpchar":
		return "bpchar"
	case "_bpchar":
		return "bpchar[]"
	case "bit":
		return "varbit"
	case "_bit":
		return "varbit[]"
	}
	return base
}

// pgType is the column type schema evolution creates for a field.
func pgType(c column) (string, error) {
	s := c.schema
	switch c.kind {
	case kInt8, kInt16:
		return "smallint", nil
	case kInt32, kYear:
		return "integer", nil
	case kInt64:
		return "bigint", nil
	case kFloat32:
		return "real", nil
	case kFloat64:
		return "double precision", nil
	case kBool:
		return "boolean", nil
	case kString, kEnum, kEnumSet:
		if n, ok := intParam(s, paramSourceLength); ok && n > 0 && n < 10485760 {
			if t, _ := s.Param(paramSourceType); strings.EqualFold(t, "VARCHAR") {
				return fmt.Sprintf("varchar(%d)", n), nil
			}
		}
		return "text", nil
	case kBytes:
		return "bytea", nil
	case kDecimal:
		scale := decimalScale(s)
		if p, ok := intParam(s, paramPrecision); ok && p > 0 && p >= scale && p <= 1000 {
			return fmt.Sprintf("numeric(%d,%d)", p, scale), nil
		}
		return "numeric", nil
	case kVarDecimal:
		return "numeric", nil
	case kDate, kIsoDate:
		return "date", nil
	case kTimeMillis:
		return "time(3)", nil
	case kTimeMicros, kTimeNanos, kIsoTime:
		return "time(6)", nil
	case kTimestampMillis:
		return "timestamp(3)", nil
	case kTimestampMicros, kTimestampNanos, kIsoTimestamp:
		return "timestamp(6)", nil
	case kZonedTimestamp:
		return "timestamptz", nil
	case kZonedTime:
		return "timetz", nil
	case kMicroDuration, kInterval:
		return "interval", nil
	case kJSON:
		if t, _ := s.Param(paramSourceType); strings.EqualFold(t, "JSONB") {
			return "jsonb", nil
		}
		return "json", nil
	case kUUID:
		return "uuid", nil
	case kBits:
		n := bitsWidth(s)
		if n <= 0 || n == 2147483647 {
			return "bit varying", nil
		}
		if t, _ := s.Param(paramSourceType); strings.EqualFold(t, "VARBIT") {
			return fmt.Sprintf("bit varying(%d)", n), nil
		}
		return fmt.Sprintf("bit(%d)", n), nil
	case kXML:
		return "xml", nil
	case kLtree:
		return "text", nil
	case kMap:
		return "jsonb", nil
	case kArray:
		ek, err := kindOf(s.Value)
		if err != nil {
			return "", fmt.Errorf("array element: %w", err)
		}
		et, err := pgType(column{schema: s.Value, kind: ek})
		if err != nil {
			return "", err
		}
		if strings.HasSuffix(et, "[]") {
			return et, nil
		}
		return et + "[]", nil
	}
	return "", fmt.Errorf("no PostgreSQL type for %s", s)
}

func (b *pgBackend) columnDDL(c column, withNull bool) (string, error) {
	t, err := pgType(c)
	if err != nil {
		return "", fmt.Errorf("column %s: %w", c.name, err)
	}
	d := pgQuote(c.name) + " " + t
	if withNull && (c.key || !c.schema.Optional) {
		d += " NOT NULL"
	}
	return d, nil
}

func (b *pgBackend) createTable(ctx context.Context, id tableID, cols []column, pk bool) error {
	if err := b.ensureConn(ctx); err != nil {
		return err
	}
	defs, err := tableDefs(id, cols, pk, b.columnDDL, pgQuote)
	if err != nil {
		return err
	}
	sql := "CREATE TABLE IF NOT EXISTS " + b.qualified(id) + " (" + defs + ")"
	if err := b.startTx(ctx); err != nil {
		return err
	}
	if _, err := b.conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("creating table %s: %w", id, err)
	}
	return nil
}

func (b *pgBackend) addColumns(ctx context.Context, id tableID, cols []column) error {
	if err := b.ensureConn(ctx); err != nil {
		return err
	}
	var adds []string
	for _, c := range cols {
		// Added columns are nullable: existing rows have no value for them.
		d, err := b.columnDDL(c, false)
		if err != nil {
			return fmt.Errorf("altering table %s: %w", id, err)
		}
		adds = append(adds, "ADD COLUMN IF NOT EXISTS "+d)
	}
	if err := b.startTx(ctx); err != nil {
		return err
	}
	if _, err := b.conn.Exec(ctx, "ALTER TABLE "+b.qualified(id)+" "+strings.Join(adds, ", ")); err != nil {
		return fmt.Errorf("altering table %s: %w", id, err)
	}
	return nil
}

func (b *pgBackend) columnType(c column) (string, error) { return pgType(c) }

func (b *pgBackend) alterType(id tableID, ci *colInfo, typ string) string {
	return "ALTER TABLE " + b.qualified(id) + " ALTER COLUMN " + pgQuote(ci.name) + " TYPE " + typ
}

func (b *pgBackend) renameColumn(id tableID, from, to string) string {
	return "ALTER TABLE " + b.qualified(id) + " RENAME COLUMN " + pgQuote(from) + " TO " + pgQuote(to)
}

func (b *pgBackend) dropColumn(id tableID, name string) string {
	return "ALTER TABLE " + b.qualified(id) + " DROP COLUMN " + pgQuote(name)
}

func (b *pgBackend) keepColumn(id tableID, ci *colInfo) []string {
	return []string{"ALTER TABLE " + b.qualified(id) + " ALTER COLUMN " + pgQuote(ci.name) + " DROP NOT NULL",
		"COMMENT ON COLUMN " + b.qualified(id) + "." + pgQuote(ci.name) + " IS '" + keptComment + "'"}
}

func (b *pgBackend) addColumn(id tableID, c column) (string, error) {
	d, err := b.columnDDL(c, false)
	if err != nil {
		return "", err
	}
	return "ALTER TABLE " + b.qualified(id) + " ADD COLUMN IF NOT EXISTS " + d, nil
}

// ddl runs in the transaction: PostgreSQL's DDL is transactional, so the
// change commits or rolls back with the rows that need it.
func (t *pgTxn) ddl(ctx context.Context, stmts []string) error {
	if err := t.b.startTx(ctx); err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := t.b.conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, pgErrorDetail(err))
		}
	}
	return nil
}

// pgTxn is the transaction of one Put on the backend's connection (see
// pgBackend.tx).
type pgTxn struct {
	b *pgBackend
}

func (b *pgBackend) begin(ctx context.Context) (txn, error) {
	if err := b.ensureConn(ctx); err != nil {
		return nil, err
	}
	b.tx = txDeferred
	return &pgTxn{b: b}, nil
}

func (t *pgTxn) commit(ctx context.Context) error {
	state := t.b.tx
	t.b.tx = txNone
	if state != txOpen {
		return nil // nothing was sent
	}
	tag, err := t.b.conn.Exec(ctx, "COMMIT")
	if err != nil {
		return fmt.Errorf("postgresql COMMIT: %w", err)
	}
	if tag.String() == "ROLLBACK" {
		// COMMIT of a failed transaction rolls it back (pgx.Tx.Commit's
		// ErrTxCommitRollback).
		return fmt.Errorf("postgresql COMMIT: %w", pgx.ErrTxCommitRollback)
	}
	return nil
}

func (t *pgTxn) rollback(ctx context.Context) error {
	state := t.b.tx
	t.b.tx = txNone
	if state != txOpen || t.b.conn == nil || t.b.conn.IsClosed() {
		return nil
	}
	_, err := t.b.conn.Exec(ctx, "ROLLBACK")
	return err
}

func (t *pgTxn) truncate(ctx context.Context, ti *tableInfo) error {
	if err := t.b.startTx(ctx); err != nil {
		return err
	}
	if _, err := t.b.conn.Exec(ctx, "TRUNCATE TABLE "+t.b.qualified(ti.id)); err != nil {
		return fmt.Errorf("truncating %s: %w", ti.id, err)
	}
	return nil
}

// write applies one run with a single statement whose rows come from
// one text[] parameter per column: ROWS FROM (unnest($1::text[]), ...),
// each element cast to the column's type as COPY or a text literal would
// convert it. The statement is prepared once per connection and shape, so
// a batch costs one round trip and no planning. It replaced COPY into a
// temporary staging table (plus TRUNCATE between runs) followed by the
// set-based statement, which cost PostgreSQL ~9 µs per upserted row
// against ~6.6 µs for this (BENCHMARKS.md, "JDBC sink: rows as text[]
// parameters"), and a VALUES list for small runs, whose statement text
// changed with the row count.
func (t *pgTxn) write(ctx context.Context, r *run) error {
	cols := r.cols
	var keep []int // the columns written, as indexes into r.cols; nil: all
	if r.op == opDelete {
		// Deletes only need the key.
		keep = r.keyCols()
		cols = make([]column, len(keep))
		for i, k := range keep {
			cols[i] = r.cols[k]
		}
	}
	params, err := t.b.textArrays(r, keep, len(cols))
	if err != nil {
		return err
	}
	var src strings.Builder
	src.WriteString("(SELECT ")
	for i, c := range cols {
		if i > 0 {
			src.WriteString(", ")
		}
		src.WriteString("u." + pgQuote(c.name) + "::" + r.table.cols[c.name].cast + " AS " + pgQuote(c.name))
	}
	src.WriteString(" FROM ROWS FROM (")
	for i := range cols {
		if i > 0 {
			src.WriteString(", ")
		}
		src.WriteString("unnest($" + strconv.Itoa(i+1) + "::text[])")
	}
	src.WriteString(") AS u(" + joinMap(cols, ", ", func(c column) string { return pgQuote(c.name) }) + ")) AS s")
	return t.apply(ctx, r, cols, src.String(), params, len(r.rows))
}

// textArrays renders the run's rows (the columns keep, or all when nil;
// ncols of them) as one binary-format text[] parameter per column, into a
// buffer reused by every run: the common kinds are appended without an
// intermediate string.
func (b *pgBackend) textArrays(r *run, keep []int, ncols int) ([][]byte, error) {
	buf := b.paramBuf[:0]
	ends := make([]int, ncols)
	for j := range ncols {
		i := j
		if keep != nil {
			i = keep[j]
		}
		// Header (array_send's layout): dimensions, has-nulls flag,
		// element type, then the dimension's length and lower bound.
		head := len(buf)
		buf = binary.BigEndian.AppendUint32(buf, 1)
		buf = binary.BigEndian.AppendUint32(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, textOID)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r.rows)))
		buf = binary.BigEndian.AppendUint32(buf, 1)
		for _, row := range r.rows {
			if row[i] == nil {
				buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: NULL
				binary.BigEndian.PutUint32(buf[head+4:], 1)
				continue
			}
			at := len(buf)
			buf = append(buf, 0, 0, 0, 0)
			var err error
			if buf, err = appendTextValue(buf, r, i, row[i]); err != nil {
				b.paramBuf = buf[:0]
				return nil, err
			}
			binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
		}
		ends[j] = len(buf)
	}
	b.paramBuf = buf
	params := make([][]byte, ncols)
	start := 0
	for j, end := range ends {
		params[j] = buf[start:end:end]
		start = end
	}
	return params, nil
}

// textOID is the type OID of text; textArrayOID of text[].
const (
	textOID      = 25
	textArrayOID = 1009
)

// appendTextValue appends column i's value v in PostgreSQL text format,
// the common kinds without an intermediate string.
func appendTextValue(buf []byte, r *run, i int, v any) ([]byte, error) {
	c := r.cols[i]
	switch c.kind {
	case kInt8, kInt16, kInt32, kInt64, kYear:
		if n, err := asInt64(v); err == nil {
			return strconv.AppendInt(buf, n, 10), nil
		}
	case kString:
		if str, ok := v.(string); ok && strings.IndexByte(str, 0) < 0 {
			return append(buf, str...), nil
		}
	}
	str, err := textValue(c.kind, c.schema, v, true)
	if err != nil {
		return buf, columnTypeError(r.table.id, c, err)
	}
	return append(buf, str...), nil
}

// exec runs sql, whose parameters are all binary text[] values, as a
// statement prepared on the connection the first time it is seen.
func (t *pgTxn) exec(ctx context.Context, sql string, params [][]byte, resultFormats []int16) (*pgconn.Result, error) {
	pc := t.b.conn.PgConn()
	name, ok := t.b.stmts[sql]
	if !ok {
		if len(t.b.stmts) >= maxPrepared {
			// Shapes come and go with schema changes; start again rather
			// than keep every one prepared for the connection's lifetime.
			for _, n := range t.b.stmts {
				if err := pc.Deallocate(ctx, n); err != nil {
					return nil, err
				}
			}
			clear(t.b.stmts)
		}
		t.b.stmtSeq++
		name = "tributary_apply_" + strconv.FormatUint(t.b.stmtSeq, 10)
		oids := make([]uint32, len(params))
		for i := range oids {
			oids[i] = textArrayOID
		}
		if _, err := pc.Prepare(ctx, name, sql, oids); err != nil {
			return nil, err
		}
		t.b.stmts[sql] = name
	}
	formats := t.b.formats[:0]
	for range params {
		formats = append(formats, 1) // binary
	}
	t.b.formats = formats
	if t.b.tx != txDeferred {
		res := pc.ExecPrepared(ctx, name, params, formats, resultFormats).Read()
		return res, res.Err
	}
	// The transaction's first statement: BEGIN goes with it, in one
	// round trip. An error leaves the transaction open (aborted) for
	// rollback, as after a separate BEGIN.
	t.b.tx = txOpen
	batch := &pgconn.Batch{}
	batch.ExecParams("BEGIN", nil, nil, nil, nil)
	batch.ExecPrepared(name, params, formats, resultFormats)
	results, err := pc.ExecBatch(ctx, batch).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(results) != 2 {
		return nil, fmt.Errorf("postgresql: %d results for BEGIN and a statement", len(results))
	}
	return results[1], nil
}

// maxPrepared bounds the statements prepared on one connection.
const maxPrepared = 256

// apply runs the set-based statement reading rows from src (write's
// "(SELECT ... FROM ROWS FROM (unnest(...))) AS s") holding n rows.
func (t *pgTxn) apply(ctx context.Context, r *run, cols []column, src string, params [][]byte, n int) error {
	q := t.b.qualified(r.table.id)
	names := joinMap(cols, ", ", func(c column) string { return pgQuote(c.name) })
	sNames := joinMap(cols, ", ", func(c column) string { return "s." + pgQuote(c.name) })
	var keys, vals []column
	for _, c := range cols {
		if c.key {
			keys = append(keys, c)
		} else {
			vals = append(vals, c)
		}
	}
	match := joinMap(keys, " AND ", func(c column) string { return q + "." + pgQuote(c.name) + " = s." + pgQuote(c.name) })
	var sql string
	switch {
	case r.op == opDelete:
		sql = "DELETE FROM " + q + " USING " + src + " WHERE " + match
	case r.mode == modeUpsert:
		sql = "INSERT INTO " + q + " (" + names + ") SELECT " + sNames + " FROM " + src +
			" ON CONFLICT (" + joinMap(keys, ", ", func(c column) string { return pgQuote(c.name) }) + ")"
		if len(vals) == 0 {
			sql += " DO NOTHING"
		} else {
			sql += " DO UPDATE SET " + joinMap(vals, ", ", func(c column) string { return pgQuote(c.name) + " = EXCLUDED." + pgQuote(c.name) })
		}
	case r.mode == modeUpdate:
		if len(vals) == 0 {
			if !r.mustExist {
				return nil
			}
			// Nothing to set, but the rows must still exist.
			res, err := t.exec(ctx, "SELECT count(*) FROM "+src+" WHERE EXISTS (SELECT 1 FROM "+q+" WHERE "+match+")", params, []int16{0})
			if err != nil {
				return fmt.Errorf("checking %d rows of %s: %w", n, r.table.id, pgErrorDetail(err))
			}
			if len(res.Rows) != 1 || len(res.Rows[0]) != 1 {
				return fmt.Errorf("checking %d rows of %s: count(*) returned %d rows", n, r.table.id, len(res.Rows))
			}
			found, err := strconv.ParseInt(string(res.Rows[0][0]), 10, 64)
			if err != nil {
				return fmt.Errorf("checking %d rows of %s: count(*): %w", n, r.table.id, err)
			}
			if found != int64(n) {
				return &missingRowsError{table: r.table.id, want: int64(n), got: found}
			}
			return nil
		}
		sql = "UPDATE " + q + " SET " + joinMap(vals, ", ", func(c column) string { return pgQuote(c.name) + " = s." + pgQuote(c.name) }) +
			" FROM " + src + " WHERE " + match
	default:
		sql = "INSERT INTO " + q + " (" + names + ") SELECT " + sNames + " FROM " + src
	}
	res, err := t.exec(ctx, sql, params, nil)
	if err != nil {
		return fmt.Errorf("writing %d rows to %s: %w", len(r.rows), r.table.id, pgErrorDetail(err))
	}
	if r.mustExist && r.op == opUpsert && res.CommandTag.RowsAffected() != int64(n) {
		return &missingRowsError{table: r.table.id, want: int64(n), got: res.CommandTag.RowsAffected()}
	}
	return nil
}

// pgErrorDetail adds the column, constraint and detail PostgreSQL reports.
func pgErrorDetail(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	var extra []string
	if pe.ColumnName != "" {
		extra = append(extra, "column "+pe.ColumnName)
	}
	if pe.ConstraintName != "" {
		extra = append(extra, "constraint "+pe.ConstraintName)
	}
	if pe.Detail != "" {
		extra = append(extra, pe.Detail)
	}
	if pe.Where != "" {
		extra = append(extra, pe.Where)
	}
	if len(extra) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(extra, "; "))
}
