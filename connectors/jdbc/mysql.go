package jdbc

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// myDB is the MySQL/MariaDB dialect over one dedicated connection.
type myDB struct {
	pool    *sql.DB
	conn    *sql.Conn
	dbName  string
	variant string
	quoted  bool
	log     *slog.Logger
}

func connectMySQL(ctx context.Context, s *settings) (*myDB, error) {
	u := s.url
	var lastErr error
	for _, h := range u.hosts {
		cfg := mysql.NewConfig()
		cfg.Net = "tcp"
		cfg.Addr = net.JoinHostPort(h.host, strconv.Itoa(h.port))
		cfg.User, cfg.Passwd, cfg.DBName = s.user, s.pass, u.database
		cfg.ParseTime = true
		cfg.Loc = time.UTC
		// TIMESTAMP columns are converted to the session time zone; UTC
		// makes them absolute instants.
		cfg.Params = map[string]string{"time_zone": "'+00:00'"}
		cfg.AllowNativePasswords = true
		if err := applyMySQLProps(cfg, u.props, s.logger()); err != nil {
			return nil, fmt.Errorf("connection.url %s: %w", u.redacted(), err)
		}
		connector, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("connection settings for %s: %w", u.redacted(), err)
		}
		pool := sql.OpenDB(connector)
		pool.SetMaxOpenConns(1)
		conn, err := pool.Conn(ctx)
		if err == nil {
			err = conn.PingContext(ctx)
		}
		if err != nil {
			lastErr = fmt.Errorf("connect to %s as %q: %w", u.redacted(), s.user, err)
			if conn != nil {
				conn.Close()
			}
			pool.Close()
			continue
		}
		m := &myDB{pool: pool, conn: conn, dbName: u.database, variant: u.dialect, quoted: s.quote, log: s.logger()}
		if iso := isolationSQL(s.isolation); iso != "" {
			if _, err := conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL "+iso); err != nil {
				m.close()
				return nil, fmt.Errorf("set transaction.isolation.mode=%s: %w", s.isolation, err)
			}
		}
		return m, nil
	}
	return nil, lastErr
}

// applyMySQLProps maps the Connector/J and MariaDB Connector/J URL
// properties that have a go-sql-driver equivalent.
func applyMySQLProps(cfg *mysql.Config, props map[string]string, log *slog.Logger) error {
	sslMode := ""
	for k, v := range props {
		switch k {
		case "sslmode":
			sslMode = strings.ToUpper(v)
		case "usessl":
			if strings.EqualFold(v, "false") && sslMode == "" {
				sslMode = "DISABLED"
			} else if sslMode == "" {
				sslMode = "REQUIRED"
			}
		case "requiressl":
			if strings.EqualFold(v, "true") && sslMode == "" {
				sslMode = "REQUIRED"
			}
		case "verifyservercertificate":
			if strings.EqualFold(v, "true") {
				sslMode = "VERIFY_IDENTITY"
			}
		case "connecttimeout":
			ms, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("connectTimeout=%q: not a number of milliseconds", v)
			}
			cfg.Timeout = time.Duration(ms) * time.Millisecond
		case "sockettimeout":
			ms, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("socketTimeout=%q: not a number of milliseconds", v)
			}
			cfg.ReadTimeout = time.Duration(ms) * time.Millisecond
		case "servertimezone", "connectiontimezone", "usejdbccomplianttimezoneshift", "uselegacydatetimecode",
			"characterencoding", "useunicode", "zerodatetimebehavior", "allowpublickeyretrieval", "nullcatalogmeanscurrent",
			"nulldatabasemeanscurrent", "tinyint1isbit", "autoreconnect", "permitmysqlscheme":
			// Session handling these govern is fixed by Tributary: UTC
			// session time zone, UTF-8, db.timezone for DATETIME.
		default:
			log.Warn("JDBC URL property not supported by the MySQL dialect; ignored", "property", k)
		}
	}
	switch sslMode {
	case "", "PREFERRED", "TRUE":
		cfg.TLSConfig = "preferred"
	case "DISABLED", "FALSE":
		cfg.TLSConfig = "false"
	case "REQUIRED", "TRUST":
		cfg.TLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // sslMode=REQUIRED encrypts without verifying, as Connector/J does
	case "VERIFY_CA", "VERIFY_IDENTITY", "VERIFY-FULL", "VERIFY-CA":
		cfg.TLSConfig = "true"
	default:
		return fmt.Errorf("sslMode=%q is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY", sslMode)
	}
	return nil
}

func (m *myDB) dialect() string  { return m.variant }
func (m *myDB) database() string { return m.dbName }
func (m *myDB) close() {
	m.conn.Close()
	m.pool.Close()
}
func (m *myDB) placeholder(int) string { return "?" }
func (m *myDB) limit(n int) string     { return " LIMIT " + strconv.Itoa(n) }

func (m *myDB) quote(ident string) string {
	if !m.quoted {
		return ident
	}
	return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
}

func (m *myDB) castParam(ph string, c *column) string {
	switch c.kind {
	case kInt:
		if c.unsigned {
			return "CAST(" + ph + " AS UNSIGNED)"
		}
		return "CAST(" + ph + " AS SIGNED)"
	case kDecimal:
		return fmt.Sprintf("CAST(%s AS DECIMAL(%d,%d))", ph, max(c.precision, 1), c.scale)
	case kFloat32, kFloat64:
		return "CAST(" + ph + " AS DOUBLE)"
	case kDate:
		return "CAST(" + ph + " AS DATE)"
	case kTimestamp, kTimestampTZ:
		return "CAST(" + ph + " AS DATETIME(6))"
	case kTime:
		return "CAST(" + ph + " AS TIME(6))"
	case kBytes:
		return "UNHEX(" + ph + ")"
	}
	return ph
}

func (m *myDB) timeText(t time.Time, c *column, zone *time.Location) string {
	switch c.kind {
	case kTimestampTZ:
		return t.UTC().Format("2006-01-02 15:04:05.999999")
	case kDate:
		return t.In(zone).Format("2006-01-02")
	}
	return t.In(zone).Format("2006-01-02 15:04:05.999999")
}

// MySQL has no transaction IDs to compare; visibility.horizon=xmin is
// rejected at configuration time and "auto" resolves to none.
func (m *myDB) xidHorizon(context.Context, string) (xidState, error) {
	return xidState{}, fmt.Errorf("the transaction ID horizon is only available on PostgreSQL")
}

func (m *myDB) now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := m.conn.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&t); err != nil {
		return t, fmt.Errorf("read current time from %s: %w", m.variant, err)
	}
	return t, nil
}

func (m *myDB) tables(ctx context.Context, catalogPattern, _ *string, types []string) ([]tableID, error) {
	var tt []any
	var marks []string
	for _, t := range types {
		switch strings.ToUpper(strings.TrimSpace(t)) {
		case "TABLE":
			tt = append(tt, "BASE TABLE")
		case "VIEW":
			tt = append(tt, "VIEW")
		case "SYSTEM TABLE":
			tt = append(tt, "SYSTEM VIEW", "SYSTEM VERSIONED")
		default:
			continue
		}
	}
	if len(tt) == 0 {
		return nil, nil
	}
	for range tt {
		marks = append(marks, "?")
	}
	q := "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE IN (" + strings.Join(marks, ",") + ")"
	args := tt
	switch {
	case catalogPattern != nil:
		q += " AND TABLE_SCHEMA LIKE ?"
		args = append(args, *catalogPattern)
	case m.dbName != "":
		// Connector/J lists every database when no catalog is given; the
		// URL's database is what a user of jdbc:mysql://host/db means.
		q += " AND TABLE_SCHEMA = ?"
		args = append(args, m.dbName)
	default:
		q += " AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
	}
	q += " ORDER BY TABLE_SCHEMA, TABLE_NAME"
	rows, err := m.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s tables: %w", m.variant, err)
	}
	defer rows.Close()
	var out []tableID
	for rows.Next() {
		var t tableID
		if err := rows.Scan(&t.catalog, &t.name); err != nil {
			return nil, fmt.Errorf("list %s tables: %w", m.variant, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (m *myDB) describe(ctx context.Context, t tableID) (*tableInfo, error) {
	catalog := t.catalog
	if catalog == "" {
		catalog = m.dbName
	}
	rows, err := m.conn.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE,
COALESCE(NUMERIC_PRECISION, 0), COALESCE(NUMERIC_SCALE, 0), EXTRA
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, catalog, t.name)
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
	}
	info := &tableInfo{id: tableID{catalog: catalog, name: t.name}}
	for rows.Next() {
		var name, dataType, colType, nullable, extra string
		var prec, scale int64
		if err := rows.Scan(&name, &dataType, &colType, &nullable, &prec, &scale, &extra); err != nil {
			rows.Close()
			return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
		}
		c := mysqlColumn(name, dataType, strings.Contains(strings.ToLower(colType), "unsigned"))
		c.typeName = colType
		c.nullable = nullable == "YES"
		c.autoIncrement = strings.Contains(strings.ToLower(extra), "auto_increment")
		if c.kind == kDecimal {
			c.precision, c.scale = int(prec), int(scale)
		}
		if strings.EqualFold(dataType, "bit") {
			n := 1
			if i := strings.Index(colType, "("); i >= 0 {
				n, _ = strconv.Atoi(strings.TrimSuffix(colType[i+1:], ")"))
			}
			if n > 1 {
				c.kind = kBytes
			}
		}
		info.columns = append(info.columns, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
	}
	if len(info.columns) == 0 {
		return nil, errNoTable
	}
	pk, err := m.conn.QueryContext(ctx, `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`, catalog, t.name)
	if err != nil {
		return nil, fmt.Errorf("read primary key of %s: %w", t.fqn(), err)
	}
	defer pk.Close()
	for pk.Next() {
		var n string
		if err := pk.Scan(&n); err != nil {
			return nil, fmt.Errorf("read primary key of %s: %w", t.fqn(), err)
		}
		info.pk = append(info.pk, n)
	}
	return info, pk.Err()
}

// mysqlColumn maps a MySQL/MariaDB type the way Connector/J reports it to
// Confluent's MySqlDatabaseDialect (tinyInt1isBit and yearIsDateType at
// their defaults).
func mysqlColumn(name, dataType string, unsigned bool) column {
	c := column{name: name, typeName: dataType, unsigned: unsigned, nullable: true}
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(dataType), "unsigned ")) {
	case "tinyint", "bool", "boolean":
		c.kind, c.bits = kInt, 8
	case "bit":
		c.kind, c.bits = kInt, 8
	case "smallint":
		c.kind, c.bits = kInt, 16
	case "mediumint", "int", "integer":
		c.kind, c.bits = kInt, 32
	case "bigint":
		c.kind, c.bits = kInt, 64
	case "float":
		c.kind = kFloat32
	case "double", "real", "double precision":
		c.kind = kFloat64
	case "decimal", "numeric", "dec", "fixed":
		c.kind = kDecimal
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json":
		c.kind = kString
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "geometry", "point",
		"linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		c.kind = kBytes
	case "date", "year":
		c.kind = kDate
	case "time":
		c.kind = kTime
	case "datetime":
		c.kind = kTimestamp
	case "timestamp":
		c.kind = kTimestampTZ
	}
	return c
}

func (m *myDB) query(ctx context.Context, q string, args []any) (rowIter, error) {
	rows, err := m.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, err
	}
	cols := make([]column, len(cts))
	for i, ct := range cts {
		tn := ct.DatabaseTypeName()
		c := mysqlColumn(ct.Name(), tn, strings.HasPrefix(tn, "UNSIGNED "))
		if n, ok := ct.Nullable(); ok {
			c.nullable = n
		}
		if p, s, ok := ct.DecimalSize(); ok && c.kind == kDecimal {
			c.precision, c.scale = int(p), int(s)
		}
		cols[i] = c
	}
	r := &myRows{rows: rows, cols: cols, year: make([]bool, len(cts))}
	for i, ct := range cts {
		r.year[i] = ct.DatabaseTypeName() == "YEAR"
	}
	return r, nil
}

type myRows struct {
	rows *sql.Rows
	cols []column
	year []bool
	buf  []any
}

func (r *myRows) columns() []column { return r.cols }
func (r *myRows) next() bool        { return r.rows.Next() }
func (r *myRows) err() error        { return r.rows.Err() }
func (r *myRows) close()            { r.rows.Close() }

func (r *myRows) values() ([]any, error) {
	vals := make([]any, len(r.cols))
	if r.buf == nil {
		r.buf = make([]any, len(r.cols))
	}
	for i := range vals {
		r.buf[i] = &vals[i]
	}
	if err := r.rows.Scan(r.buf...); err != nil {
		return nil, err
	}
	for i, v := range vals {
		if v == nil {
			continue
		}
		nv, err := normaliseMySQL(v, &r.cols[i], r.year[i])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", r.cols[i].name, err)
		}
		vals[i] = nv
	}
	return vals, nil
}

func normaliseMySQL(v any, c *column, year bool) (any, error) {
	switch x := v.(type) {
	case []byte:
		switch c.kind {
		case kDecimal:
			return parseDecimal(string(x))
		case kString:
			return string(x), nil
		case kTime:
			return parseMySQLTime(string(x))
		case kInt:
			if c.typeName == "BIT" || strings.HasPrefix(strings.ToLower(c.typeName), "bit") {
				// BIT(1) maps to INT8 and wider BIT columns to bytes;
				// which one is decided by the table's column type.
				return bitString{bytes: x, n: 8 * len(x)}, nil
			}
			if c.unsigned {
				u, err := strconv.ParseUint(string(x), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("invalid integer %q", x)
				}
				return u, nil
			}
			n, err := strconv.ParseInt(string(x), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("invalid integer %q", x)
			}
			return n, nil
		case kFloat32, kFloat64:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				return nil, fmt.Errorf("invalid number %q", x)
			}
			return f, nil
		}
		return x, nil
	case int64:
		if year || (c.kind == kDate && strings.EqualFold(c.typeName, "year")) {
			return time.Date(int(x), 1, 1, 0, 0, 0, 0, time.UTC), nil
		}
		return x, nil
	case time.Time:
		if x.IsZero() {
			return nil, fmt.Errorf("zero date/time value ('0000-00-00') cannot be represented (Connector/J's zeroDateTimeBehavior=EXCEPTION)")
		}
		return x, nil
	}
	return v, nil
}

// parseMySQLTime reads a TIME value; Connect's Time is a time of day, so
// values outside 00:00:00..23:59:59.999999 are rejected.
func parseMySQLTime(s string) (any, error) {
	tod, err := parseTimeOfDay(s)
	if err != nil {
		return nil, fmt.Errorf("TIME value %q is not a time of day (0 to 24 hours), which Connect's Time type requires", s)
	}
	return tod, nil
}

// parseDecimal parses plain decimal notation ("-123.4500").
func parseDecimal(s string) (decimal, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	intPart, frac, _ := strings.Cut(s, ".")
	digits := intPart + frac
	if digits == "" {
		return decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return decimal{}, fmt.Errorf("invalid decimal %q", s)
	}
	if neg {
		n.Neg(n)
	}
	return decimal{unscaled: n, exp: -int32(len(frac))}, nil
}
