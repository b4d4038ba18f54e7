package jdbc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgBackend writes to PostgreSQL over one connection. Rows are parsed from
// PostgreSQL's text format, so every value is converted exactly as psql or
// COPY would convert it, and large runs go through COPY into a temporary
// staging table followed by one set-based INSERT ... ON CONFLICT / DELETE /
// UPDATE.
type pgBackend struct {
	target  *Target
	quote   bool
	conn    *pgx.Conn
	defSch  string
	staging map[string]bool // staging tables known to exist on conn
	copyBuf bytes.Buffer    // COPY data, reused by every run
	// copyThreshold is the smallest run written through COPY; smaller runs
	// use a VALUES list in the statement itself (one round trip).
	copyThreshold int
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
	b := &pgBackend{target: t, quote: quote, copyThreshold: 32}
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
	b.conn, b.staging = conn, map[string]bool{}
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
	for _, q := range stmts {
		if _, err := t.tx.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, pgErrorDetail(err))
		}
	}
	return nil
}

type pgTxn struct {
	b    *pgBackend
	tx   pgx.Tx
	used map[string]bool // staging tables filled in this transaction
	made []string        // staging tables created in this transaction
}

func (b *pgBackend) begin(ctx context.Context) (txn, error) {
	if err := b.ensureConn(ctx); err != nil {
		return nil, err
	}
	tx, err := b.conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgresql BEGIN: %w", err)
	}
	return &pgTxn{b: b, tx: tx, used: map[string]bool{}}, nil
}

func (t *pgTxn) commit(ctx context.Context) error {
	if err := t.tx.Commit(ctx); err != nil {
		t.forgetStaging()
		return fmt.Errorf("postgresql COMMIT: %w", err)
	}
	return nil
}

func (t *pgTxn) rollback(ctx context.Context) error {
	t.forgetStaging()
	return t.tx.Rollback(ctx)
}

// forgetStaging drops staging tables created by a transaction that did
// not commit from the cache: the rollback undid their creation.
func (t *pgTxn) forgetStaging() {
	for _, n := range t.made {
		delete(t.b.staging, n)
	}
}

func (t *pgTxn) truncate(ctx context.Context, ti *tableInfo) error {
	if _, err := t.tx.Exec(ctx, "TRUNCATE TABLE "+t.b.qualified(ti.id)); err != nil {
		return fmt.Errorf("truncating %s: %w", ti.id, err)
	}
	return nil
}

// renderRow renders one row in PostgreSQL text format (nil for NULL).
func renderPGRow(r *run, row []any) ([]*string, error) {
	out := make([]*string, len(row))
	for i, v := range row {
		if v == nil {
			continue
		}
		s, err := textValue(r.cols[i].kind, r.cols[i].schema, v, true)
		if err != nil {
			return nil, columnTypeError(r.table.id, r.cols[i], err)
		}
		out[i] = &s
	}
	return out, nil
}

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
	casts := make([]string, len(cols))
	for i, c := range cols {
		casts[i] = r.table.cols[c.name].cast
	}
	if len(r.rows) >= t.b.copyThreshold {
		src, err := t.stage(ctx, r, keep, cols, casts)
		if err != nil {
			return err
		}
		return t.apply(ctx, r, cols, src, nil, len(r.rows))
	}
	rows := make([][]*string, len(r.rows))
	for i, row := range r.rows {
		var err error
		if rows[i], err = renderPGRow(r, row); err != nil {
			return err
		}
		if keep != nil {
			kr := make([]*string, len(keep))
			for j, k := range keep {
				kr[j] = rows[i][k]
			}
			rows[i] = kr
		}
	}
	// VALUES list with text parameters cast to the column types.
	const maxParams = 65535
	per := max(1, maxParams/max(1, len(cols)))
	for start := 0; start < len(rows); start += per {
		end := min(len(rows), start+per)
		var sb strings.Builder
		args := make([]any, 0, (end-start)*len(cols))
		sb.WriteString("(VALUES ")
		for i := start; i < end; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteByte('(')
			for j := range cols {
				if j > 0 {
					sb.WriteString(", ")
				}
				args = append(args, rows[i][j])
				fmt.Fprintf(&sb, "$%d::text::%s", len(args), casts[j])
			}
			sb.WriteByte(')')
		}
		sb.WriteString(") AS s(" + joinMap(cols, ", ", func(c column) string { return pgQuote(c.name) }) + ")")
		if err := t.apply(ctx, r, cols, sb.String(), args, end-start); err != nil {
			return err
		}
	}
	return nil
}

// stage copies the run's rows (the columns keep, or all when nil) into a
// temporary table and returns the source expression for apply. The rows
// are rendered straight into the COPY data (a string per value first,
// renderPGRow, was a third of Put's CPU).
func (t *pgTxn) stage(ctx context.Context, r *run, keep []int, cols []column, casts []string) (string, error) {
	id := r.table.id
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|", id)
	for i, c := range cols {
		fmt.Fprintf(h, "%s %s|", c.name, casts[i])
	}
	name := fmt.Sprintf("tributary_stage_%016x", h.Sum64())
	conn := t.tx.Conn()
	if !t.b.staging[name] {
		defs := make([]string, len(cols))
		for i, c := range cols {
			defs[i] = pgQuote(c.name) + " " + casts[i]
		}
		if _, err := t.tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+name+" ("+strings.Join(defs, ", ")+") ON COMMIT DELETE ROWS"); err != nil {
			return "", fmt.Errorf("creating staging table for %s: %w", id, err)
		}
		t.b.staging[name] = true
		t.made = append(t.made, name)
	} else if t.used[name] {
		if _, err := t.tx.Exec(ctx, "TRUNCATE "+name); err != nil {
			return "", fmt.Errorf("clearing staging table for %s: %w", id, err)
		}
	}
	t.used[name] = true
	buf := &t.b.copyBuf
	buf.Reset()
	for _, row := range r.rows {
		for j := range cols {
			i := j
			if keep != nil {
				i = keep[j]
			}
			if j > 0 {
				buf.WriteByte('\t')
			}
			if err := appendCopyValue(buf, r, i, row[i]); err != nil {
				return "", err
			}
		}
		buf.WriteByte('\n')
	}
	colList := joinMap(cols, ", ", func(c column) string { return pgQuote(c.name) })
	if _, err := conn.PgConn().CopyFrom(ctx, buf, "COPY "+name+" ("+colList+") FROM STDIN"); err != nil {
		return "", fmt.Errorf("copying %d rows for %s: %w", len(r.rows), id, err)
	}
	return name + " AS s", nil
}

// appendCopyValue writes column i's value v in COPY text format, the
// common kinds without an intermediate string.
func appendCopyValue(buf *bytes.Buffer, r *run, i int, v any) error {
	if v == nil {
		buf.WriteString(`\N`)
		return nil
	}
	c := r.cols[i]
	switch c.kind {
	case kInt8, kInt16, kInt32, kInt64, kYear:
		if n, err := asInt64(v); err == nil {
			buf.Write(strconv.AppendInt(buf.AvailableBuffer(), n, 10))
			return nil
		}
	case kString:
		if str, ok := v.(string); ok && strings.IndexByte(str, 0) < 0 {
			copyEscape(buf, str)
			return nil
		}
	}
	str, err := textValue(c.kind, c.schema, v, true)
	if err != nil {
		return columnTypeError(r.table.id, c, err)
	}
	copyEscape(buf, str)
	return nil
}

// copyEscape writes s in COPY text format.
func copyEscape(buf *bytes.Buffer, s string) {
	if !strings.ContainsAny(s, "\\\n\r\t") {
		buf.WriteString(s)
		return
	}
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

// apply runs the set-based statement reading rows from src ("<staging> AS
// s" or "(VALUES ...) AS s(...)") holding n rows.
func (t *pgTxn) apply(ctx context.Context, r *run, cols []column, src string, args []any, n int) error {
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
			var found int64
			if err := t.tx.QueryRow(ctx, "SELECT count(*) FROM "+src+" WHERE EXISTS (SELECT 1 FROM "+q+" WHERE "+match+")", args...).Scan(&found); err != nil {
				return fmt.Errorf("checking %d rows of %s: %w", n, r.table.id, pgErrorDetail(err))
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
	tag, err := t.tx.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("writing %d rows to %s: %w", len(r.rows), r.table.id, pgErrorDetail(err))
	}
	if r.mustExist && r.op == opUpsert && tag.RowsAffected() != int64(n) {
		return &missingRowsError{table: r.table.id, want: int64(n), got: tag.RowsAffected()}
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
