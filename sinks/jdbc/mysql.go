package jdbc

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// myBackend writes to MySQL or MariaDB with multi-row INSERT ... ON
// DUPLICATE KEY UPDATE statements; parameters are interpolated client-side
// so a statement costs one round trip.
type myBackend struct {
	target *Target
	db     *sql.DB
	zone   *time.Location
	// maxStatementBytes bounds the size of one multi-row statement, well
	// under the servers' default max_allowed_packet (16 MiB on MariaDB
	// 10.11, 64 MiB on MySQL 8).
	maxStatementBytes int
}

func newMyBackend(ctx context.Context, t *Target, zone *time.Location) (*myBackend, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd = t.User, t.Password
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	cfg.DBName = t.Database
	cfg.InterpolateParams = true
	// Affected rows count matched rows, not changed ones, so that an
	// UPDATE that must find its row (unavailable columns) can tell.
	cfg.ClientFoundRows = true
	cfg.ParseTime = false
	cfg.Loc = time.UTC
	cfg.Params = map[string]string{}
	if zone == time.UTC {
		// TIMESTAMP columns in existing tables are read in the session
		// zone; Debezium's use.time.zone defaults to UTC.
		cfg.Params["time_zone"] = "'+00:00'"
	}
	for k, v := range t.Params {
		switch k {
		case "useSSL", "sslMode":
			if v == "true" || strings.EqualFold(v, "REQUIRED") {
				cfg.TLSConfig = "skip-verify"
			}
		case "connectTimeout":
			if ms, err := strconv.Atoi(v); err == nil {
				cfg.Timeout = time.Duration(ms) * time.Millisecond
			}
		}
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connection settings: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(2)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, &retriableError{fmt.Errorf("connecting to %s %s:%d/%s: %w", t.Dialect, t.Host, t.Port, t.Database, err)}
	}
	return &myBackend{target: t, db: db, zone: zone, maxStatementBytes: 4 << 20}, nil
}

func (b *myBackend) close() error { return b.db.Close() }

func myQuote(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (b *myBackend) qualified(id tableID) string {
	if id.schema == "" {
		return myQuote(id.name)
	}
	return myQuote(id.schema) + "." + myQuote(id.name)
}

// colKey: MySQL column names are case-insensitive.
func (b *myBackend) colKey(name string) string { return strings.ToLower(name) }

func (b *myBackend) retriable(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1205, 1213, // lock wait timeout, deadlock
			1040, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 2006, 2013, // connections and shutdown
			1927: // MariaDB: connection killed
			return true
		}
		return false
	}
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.As(err, &ne) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (b *myBackend) describe(ctx context.Context, id tableID) (*tableInfo, error) {
	schemaExpr, args := "DATABASE()", []any{id.name}
	if id.schema != "" {
		schemaExpr, args = "?", []any{id.schema, id.name}
	}
	rows, err := b.db.QueryContext(ctx, "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE = 'YES', COLUMN_COMMENT = '"+keptComment+"' FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+
		schemaExpr+" AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", args...)
	if err != nil {
		return nil, fmt.Errorf("reading columns of %s: %w", id, err)
	}
	defer rows.Close()
	ti := &tableInfo{id: id, cols: map[string]*colInfo{}}
	for rows.Next() {
		var name, typ string
		var nullable, kept bool
		if err := rows.Scan(&name, &typ, &nullable, &kept); err != nil {
			return nil, fmt.Errorf("reading columns of %s: %w", id, err)
		}
		ti.cols[b.colKey(name)] = &colInfo{name: name, typ: typ, nullable: nullable, kept: kept}
		ti.order = append(ti.order, b.colKey(name))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading columns of %s: %w", id, err)
	}
	if len(ti.cols) == 0 {
		return nil, nil
	}
	return ti, nil
}

// myType is the column type schema evolution creates for a field.
func myType(c column) (string, error) {
	s := c.schema
	switch c.kind {
	case kInt8:
		return "tinyint", nil
	case kInt16:
		return "smallint", nil
	case kInt32:
		return "int", nil
	case kInt64:
		return "bigint", nil
	case kFloat32:
		return "float", nil
	case kFloat64:
		return "double", nil
	case kBool:
		return "boolean", nil
	case kString, kLtree:
		if n, ok := intParam(s, paramSourceLength); ok && n > 0 && n <= 16383 {
			return fmt.Sprintf("varchar(%d)", n), nil
		}
		if c.key {
			return "varchar(255)", nil
		}
		return "longtext", nil
	case kBytes:
		if c.key {
			return "varbinary(255)", nil
		}
		return "longblob", nil
	case kDecimal:
		scale := decimalScale(s)
		p, ok := intParam(s, paramPrecision)
		if !ok || p <= 0 || p > 65 {
			p = 65
		}
		if scale > 30 || scale > p || scale < 0 {
			return "", fmt.Errorf("decimal scale %d does not fit MySQL DECIMAL (max 30, precision %d)", scale, p)
		}
		return fmt.Sprintf("decimal(%d,%d)", p, scale), nil
	case kVarDecimal:
		return "decimal(65,30)", nil
	case kDate, kIsoDate:
		return "date", nil
	case kTimeMillis:
		return "time(3)", nil
	case kTimeMicros, kTimeNanos, kZonedTime, kIsoTime:
		return "time(6)", nil
	case kTimestampMillis:
		return "datetime(3)", nil
	case kTimestampMicros, kTimestampNanos, kZonedTimestamp, kIsoTimestamp:
		// DATETIME, not TIMESTAMP: TIMESTAMP stops in 2038 and, with
		// explicit_defaults_for_timestamp off (MariaDB's default), gains
		// ON UPDATE CURRENT_TIMESTAMP. Zoned values are stored converted
		// to use.time.zone.
		return "datetime(6)", nil
	case kYear:
		return "year", nil
	case kMicroDuration:
		return "bigint", nil
	case kInterval:
		return "varchar(255)", nil
	case kJSON, kArray, kMap:
		return "json", nil
	case kUUID:
		return "char(36)", nil
	case kEnum, kEnumSet:
		vals := enumValues(s)
		if len(vals) == 0 {
			return "varchar(255)", nil
		}
		t := "enum"
		if c.kind == kEnumSet {
			t = "set"
		}
		return t + "(" + joinMap(vals, ",", sqlStringLiteral) + ")", nil
	case kBits:
		n := bitsWidth(s)
		if n <= 0 || n > 64 {
			return "", fmt.Errorf("bit width %d does not fit MySQL BIT (1..64)", n)
		}
		return fmt.Sprintf("bit(%d)", n), nil
	case kXML:
		return "longtext", nil
	}
	return "", fmt.Errorf("no MySQL type for %s", s)
}

func (b *myBackend) columnDDL(c column, withNull bool) (string, error) {
	t, err := myType(c)
	if err != nil {
		return "", fmt.Errorf("column %s: %w", c.name, err)
	}
	d := myQuote(c.name) + " " + t
	if withNull && (c.key || !c.schema.Optional) {
		d += " NOT NULL"
	} else {
		d += " NULL"
	}
	return d, nil
}

func (b *myBackend) createTable(ctx context.Context, id tableID, cols []column, pk bool) error {
	defs, err := tableDefs(id, cols, pk, b.columnDDL, myQuote)
	if err != nil {
		return err
	}
	// utf8mb4 whatever the database default: change events carry any
	// Unicode text, and latin1/utf8mb3 columns reject or mangle it.
	q := "CREATE TABLE IF NOT EXISTS " + b.qualified(id) + " (" + defs + ") DEFAULT CHARSET=utf8mb4"
	if _, err := b.db.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("creating table %s: %w", id, err)
	}
	return nil
}

func (b *myBackend) addColumns(ctx context.Context, id tableID, cols []column) error {
	var adds []string
	for _, c := range cols {
		d, err := b.columnDDL(c, false)
		if err != nil {
			return fmt.Errorf("altering table %s: %w", id, err)
		}
		adds = append(adds, "ADD COLUMN "+d)
	}
	if _, err := b.db.ExecContext(ctx, "ALTER TABLE "+b.qualified(id)+" "+strings.Join(adds, ", ")); err != nil {
		return fmt.Errorf("altering table %s: %w", id, err)
	}
	return nil
}

func (b *myBackend) columnType(c column) (string, error) { return myType(c) }

// alterType keeps the column's NULL/NOT NULL: MODIFY redefines the whole
// column.
func (b *myBackend) alterType(id tableID, ci *colInfo, typ string) string {
	null := " NOT NULL"
	if ci.nullable {
		null = " NULL"
	}
	return "ALTER TABLE " + b.qualified(id) + " MODIFY COLUMN " + myQuote(ci.name) + " " + typ + null
}

func (b *myBackend) renameColumn(id tableID, from, to string) string {
	return "ALTER TABLE " + b.qualified(id) + " RENAME COLUMN " + myQuote(from) + " TO " + myQuote(to)
}

func (b *myBackend) dropColumn(id tableID, name string) string {
	return "ALTER TABLE " + b.qualified(id) + " DROP COLUMN " + myQuote(name)
}

func (b *myBackend) keepColumn(id tableID, ci *colInfo) []string {
	return []string{"ALTER TABLE " + b.qualified(id) + " MODIFY COLUMN " + myQuote(ci.name) + " " + ci.typ + " NULL COMMENT '" + keptComment + "'"}
}

func (b *myBackend) addColumn(id tableID, c column) (string, error) {
	d, err := b.columnDDL(c, false)
	if err != nil {
		return "", err
	}
	return "ALTER TABLE " + b.qualified(id) + " ADD COLUMN " + d, nil
}

// ddl commits the rows written so far, runs the statements (MySQL's DDL
// commits implicitly, and would wait for this transaction's metadata
// locks) and begins a new transaction for the rest of the batch. A crash
// in between replays the batch; the statements are derived from the
// table as it then is, so nothing is applied twice.
func (t *myTxn) ddl(ctx context.Context, stmts []string) error {
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("mysql COMMIT before schema change: %w", err)
	}
	for _, q := range stmts {
		if _, err := t.b.db.ExecContext(ctx, q); err != nil {
			// The batch is retried from a fresh transaction.
			t.tx = nil
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	tx, err := t.b.db.BeginTx(ctx, nil)
	if err != nil {
		t.tx = nil
		return fmt.Errorf("mysql BEGIN: %w", err)
	}
	t.tx = tx
	return nil
}

type myTxn struct {
	b  *myBackend
	tx *sql.Tx
}

func (b *myBackend) begin(ctx context.Context) (txn, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("mysql BEGIN: %w", err)
	}
	return &myTxn{b: b, tx: tx}, nil
}

func (t *myTxn) commit(ctx context.Context) error {
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("mysql COMMIT: %w", err)
	}
	return nil
}

func (t *myTxn) rollback(ctx context.Context) error {
	if t.tx == nil {
		return nil
	}
	return t.tx.Rollback()
}

// truncate deletes rather than TRUNCATEs: MySQL's TRUNCATE commits the
// transaction implicitly, which would break the batch's atomicity.
func (t *myTxn) truncate(ctx context.Context, ti *tableInfo) error {
	if _, err := t.tx.ExecContext(ctx, "DELETE FROM "+t.b.qualified(ti.id)); err != nil {
		return fmt.Errorf("truncating %s: %w", ti.id, err)
	}
	return nil
}

// myValue converts a non-null value for the driver.
func (b *myBackend) myValue(c column, v any) (any, error) {
	switch c.kind {
	case kInt8, kInt16, kInt32, kInt64, kYear, kMicroDuration:
		return asInt64(v)
	case kFloat32, kFloat64:
		f, err := asFloat(v)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v cannot be stored in MySQL", f)
		}
		if c.kind == kFloat32 {
			// keep the float32's shortest decimal form, not its float64 widening
			return strconv.FormatFloat(f, 'g', -1, 32), nil
		}
		return f, nil
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("expected a boolean, got %T", v)
		}
		return b, nil
	case kBytes:
		return asBytes(v)
	case kBits:
		raw, err := asBytes(v)
		if err != nil {
			return nil, err
		}
		return bitsToBigEndian(bitString(raw, bitsWidth(c.schema))), nil
	case kTimeMillis, kTimeMicros, kTimeNanos:
		us, err := timeOfDayMicros(c.kind, v)
		if err != nil {
			return nil, err
		}
		return formatTimeMicros(us), nil
	case kTimestampMillis, kTimestampMicros, kTimestampNanos:
		ts, err := timestampOf(c.kind, v)
		if err != nil {
			return nil, err
		}
		return formatTimestamp(ts, false), nil
	case kDate:
		d, err := dateOf(v)
		if err != nil {
			return nil, err
		}
		return formatDate(d, false), nil
	case kZonedTimestamp:
		s, err := asString(v)
		if err != nil {
			return nil, err
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("invalid ZonedTimestamp %q: %w", s, err)
		}
		return formatTimestamp(ts.In(b.zone), false), nil
	case kZonedTime:
		s, err := asString(v)
		if err != nil {
			return nil, err
		}
		ts, err := time.Parse("15:04:05.999999999Z07:00", s)
		if err != nil {
			return nil, fmt.Errorf("invalid ZonedTime %q: %w", s, err)
		}
		u := ts.UTC()
		return formatTimeMicros(int64(u.Hour())*3600e6 + int64(u.Minute())*60e6 + int64(u.Second())*1e6 + int64(u.Nanosecond()/1000)), nil
	case kArray, kMap:
		return jsonOf(c.schema, v)
	case kIsoTimestamp:
		s, err := asString(v)
		if err != nil {
			return nil, err
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("invalid IsoTimestamp %q: %w", s, err)
		}
		return formatTimestamp(ts.In(b.zone), false), nil
	}
	// strings, decimals, json, uuid, enums, intervals, xml: text
	return textValue(c.kind, c.schema, v, false)
}

func (t *myTxn) write(ctx context.Context, r *run) error {
	rows := make([][]any, len(r.rows))
	size := 0
	for i, row := range r.rows {
		out := make([]any, len(row))
		for j, v := range row {
			if v == nil {
				continue
			}
			x, err := t.b.myValue(r.cols[j], v)
			if err != nil {
				return columnTypeError(r.table.id, r.cols[j], err)
			}
			out[j] = x
			switch y := x.(type) {
			case string:
				size += len(y) + 4
			case []byte:
				size += 2*len(y) + 10
			default:
				size += 24
			}
		}
		rows[i] = out
	}
	q := t.b.qualified(r.table.id)
	keys, vals := r.keyCols(), r.valueCols()
	if r.op == opUpsert && r.mode == modeUpdate {
		if len(vals) == 0 {
			if r.mustExist {
				return t.checkExist(ctx, r, rows)
			}
			return nil
		}
		sql := "UPDATE " + q + " SET " + joinMap(vals, ", ", func(i int) string { return myQuote(r.cols[i].name) + " = ?" }) +
			" WHERE " + joinMap(keys, " AND ", func(i int) string { return myQuote(r.cols[i].name) + " = ?" })
		for _, row := range rows {
			args := make([]any, 0, len(row))
			for _, i := range vals {
				args = append(args, row[i])
			}
			for _, i := range keys {
				args = append(args, row[i])
			}
			res, err := t.tx.ExecContext(ctx, sql, args...)
			if err != nil {
				return fmt.Errorf("updating %s: %w", r.table.id, err)
			}
			if r.mustExist {
				if n, err := res.RowsAffected(); err == nil && n == 0 {
					return &missingRowsError{table: r.table.id, want: 1}
				}
			}
		}
		return nil
	}
	// Multi-row statements, chunked by placeholder count and size.
	width := len(r.cols)
	if r.op == opDelete {
		width = len(keys)
	}
	perRows := max(1, 65535/max(1, width))
	if avg := size/max(1, len(rows)) + 8; avg*perRows > t.b.maxStatementBytes {
		perRows = max(1, t.b.maxStatementBytes/avg)
	}
	for start := 0; start < len(rows); start += perRows {
		end := min(len(rows), start+perRows)
		var sb strings.Builder
		args := make([]any, 0, (end-start)*width)
		if r.op == opDelete {
			sb.WriteString("DELETE FROM " + q + " WHERE (" + joinMap(keys, ", ", func(i int) string { return myQuote(r.cols[i].name) }) + ") IN (")
			tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(keys)), ", ") + ")"
			for i := start; i < end; i++ {
				if i > start {
					sb.WriteString(", ")
				}
				sb.WriteString(tuple)
				for _, k := range keys {
					args = append(args, rows[i][k])
				}
			}
			sb.WriteString(")")
		} else {
			sb.WriteString("INSERT INTO " + q + " (" + joinMap(r.cols, ", ", func(c column) string { return myQuote(c.name) }) + ") VALUES ")
			tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
			for i := start; i < end; i++ {
				if i > start {
					sb.WriteString(", ")
				}
				sb.WriteString(tuple)
				args = append(args, rows[i]...)
			}
			if r.mode == modeUpsert {
				upd := vals
				if len(upd) == 0 {
					upd = keys // no-op update keeps the statement idempotent
				}
				sb.WriteString(" ON DUPLICATE KEY UPDATE " + joinMap(upd, ", ", func(i int) string {
					n := myQuote(r.cols[i].name)
					return n + " = VALUES(" + n + ")"
				}))
			}
		}
		if _, err := t.tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return fmt.Errorf("writing %d rows to %s: %w", end-start, r.table.id, err)
		}
	}
	return nil
}

// checkExist fails with *missingRowsError unless every row's key is in
// the table (a mustExist run with nothing to set).
func (t *myTxn) checkExist(ctx context.Context, r *run, rows [][]any) error {
	keys := r.keyCols()
	q := "SELECT 1 FROM " + t.b.qualified(r.table.id) + " WHERE " + joinMap(keys, " AND ", func(i int) string { return myQuote(r.cols[i].name) + " = ?" })
	for _, row := range rows {
		args := make([]any, 0, len(keys))
		for _, i := range keys {
			args = append(args, row[i])
		}
		var one int
		switch err := t.tx.QueryRowContext(ctx, q, args...).Scan(&one); {
		case errors.Is(err, sql.ErrNoRows):
			return &missingRowsError{table: r.table.id, want: 1}
		case err != nil:
			return fmt.Errorf("checking a row of %s: %w", r.table.id, err)
		}
	}
	return nil
}
