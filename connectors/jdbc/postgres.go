package jdbc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// pgDB is the PostgreSQL dialect over one pgx connection.
type pgDB struct {
	conn   *pgx.Conn
	dbName string
	quoted bool
	log    *slog.Logger

	types    map[uint32]pgType          // by OID
	notNull  map[uint32]map[uint16]bool // table OID → attnum → NOT NULL
	prepared map[string][]column        // SQL → resolved result columns
}

type pgType struct {
	name     string // base type name for domains
	typtype  string // b, e, d, c, p, r, m
	category string // pg_type.typcategory of the base type
	typmod   int32  // domain's base typmod, -1 otherwise
}

// pgjdbc properties Tributary maps onto libpq-style settings.
var pgURLProps = map[string]string{
	"sslmode": "sslmode", "sslrootcert": "sslrootcert", "sslcert": "sslcert", "sslkey": "sslkey",
	"sslpassword": "sslpassword", "applicationname": "application_name", "connecttimeout": "connect_timeout",
	"options": "options", "target_session_attrs": "target_session_attrs", "targetservertype": "target_session_attrs",
}

func connectPostgres(ctx context.Context, s *settings) (*pgDB, error) {
	u := s.url
	var hosts, ports []string
	for _, h := range u.hosts {
		hosts = append(hosts, h.host)
		ports = append(ports, strconv.Itoa(h.port))
	}
	kv := map[string]string{
		"host": strings.Join(hosts, ","), "port": strings.Join(ports, ","),
		"dbname": u.database, "user": s.user, "password": s.pass,
	}
	if _, ok := u.props["sslmode"]; !ok {
		// pgjdbc's default is "prefer" like libpq's.
		kv["sslmode"] = "prefer"
		if v, ok := u.props["ssl"]; ok && strings.EqualFold(v, "true") {
			kv["sslmode"] = "verify-full"
		}
	}
	for k, v := range u.props {
		switch {
		case pgURLProps[k] != "":
			kv[pgURLProps[k]] = v
		case k == "currentschema":
			kv["search_path"] = v
		case k == "ssl":
		default:
			s.logger().Warn("JDBC URL property not supported by the PostgreSQL dialect; ignored", "property", k)
		}
	}
	if kv["target_session_attrs"] != "" {
		kv["target_session_attrs"] = strings.ToLower(strings.ReplaceAll(kv["target_session_attrs"], "Secondary", "standby"))
	}
	var b strings.Builder
	for _, k := range []string{"host", "port", "dbname", "user", "password", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "application_name", "connect_timeout", "options", "target_session_attrs", "search_path"} {
		v, ok := kv[k]
		if !ok || (v == "" && k != "password") {
			continue
		}
		b.WriteString(k + "='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "' ")
	}
	cfg, err := pgx.ParseConfig(b.String())
	if err != nil {
		return nil, fmt.Errorf("connection settings for %s: %w", u.redacted(), err)
	}
	// Timestamps are rendered in UTC in castParam text, and timestamptz
	// output must not depend on the server's default TimeZone.
	cfg.RuntimeParams["TimeZone"] = "UTC"
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "tributary-jdbc-source"
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s as %q: %w", u.redacted(), s.user, err)
	}
	if iso := isolationSQL(s.isolation); iso != "" {
		if _, err := conn.Exec(ctx, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL "+iso); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("set transaction.isolation.mode=%s: %w", s.isolation, err)
		}
	}
	var dbName string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&dbName); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("read current database of %s: %w", u.redacted(), err)
	}
	return &pgDB{conn: conn, dbName: dbName, quoted: s.quote, log: s.logger(),
		types: map[uint32]pgType{}, notNull: map[uint32]map[uint16]bool{}, prepared: map[string][]column{}}, nil
}

func isolationSQL(mode string) string {
	switch mode {
	case "READ_UNCOMMITTED":
		return "READ UNCOMMITTED"
	case "READ_COMMITTED":
		return "READ COMMITTED"
	case "REPEATABLE_READ":
		return "REPEATABLE READ"
	case "SERIALIZABLE":
		return "SERIALIZABLE"
	}
	return ""
}

func (p *pgDB) dialect() string  { return dialectPostgres }
func (p *pgDB) database() string { return p.dbName }
func (p *pgDB) close()           { p.conn.Close(context.Background()) }
func (p *pgDB) placeholder(n int) string {
	return "$" + strconv.Itoa(n)
}
func (p *pgDB) limit(n int) string { return " LIMIT " + strconv.Itoa(n) }

func (p *pgDB) quote(ident string) string {
	if !p.quoted {
		return ident
	}
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

func (p *pgDB) castParam(ph string, c *column) string {
	return "CAST(" + ph + "::text AS " + c.typeName + ")"
}

func (p *pgDB) timeText(t time.Time, c *column, zone *time.Location) string {
	switch c.kind {
	case kTimestampTZ:
		return t.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	case kDate:
		return t.In(zone).Format("2006-01-02")
	}
	return t.In(zone).Format("2006-01-02 15:04:05.999999")
}

// xidHorizon: the snapshot's xmin is exact (every older transaction has
// ended), but its xmax is only the last completed ID + 1, and transactions
// that took IDs above it are running without being listed. The next ID to
// be assigned comes from age(), which measures from it (read after the
// snapshot: later, so only more cautious) against a normal 32-bit ID at
// or below it, r, the xmax moved past the special IDs 0-2 at a wraparound.
func (p *pgDB) xidHorizon(ctx context.Context, maxSQL string) (xidState, error) {
	max := "NULL"
	if maxSQL != "" {
		max = "(" + maxSQL + ")::text"
	}
	q := "SELECT pg_snapshot_xmin(h.s)::text, r::text, age((r % 4294967296)::text::xid), " + max +
		" FROM (SELECT s, CASE WHEN x % 4294967296 < 3 THEN x + 3 - x % 4294967296 ELSE x END AS r" +
		" FROM (SELECT s, pg_snapshot_xmax(s)::text::bigint AS x FROM (SELECT pg_current_snapshot() AS s) h0) h1) h"
	var oldest, ref string
	var age int32
	var maxText *string
	if err := p.conn.QueryRow(ctx, q).Scan(&oldest, &ref, &age, &maxText); err != nil {
		return xidState{}, fmt.Errorf("read transaction ID horizon: %w", err)
	}
	var st xidState
	var err error
	if st.oldest, err = strconv.ParseUint(oldest, 10, 64); err != nil {
		return xidState{}, fmt.Errorf("pg_snapshot_xmin %q: %w", oldest, err)
	}
	r, err := strconv.ParseUint(ref, 10, 64)
	if err != nil || age < 0 {
		return xidState{}, fmt.Errorf("next transaction ID from %q and age %d: %v", ref, age, err)
	}
	st.next = r + uint64(age)
	if maxText != nil {
		n, ok := new(big.Int).SetString(*maxText, 10)
		if !ok {
			return xidState{}, fmt.Errorf("largest incrementing value %q is not an integer", *maxText)
		}
		if n.IsInt64() {
			st.max = n.Int64()
		} else {
			st.max = decimal{unscaled: n}
		}
	}
	return st, nil
}

func (p *pgDB) now(ctx context.Context) (time.Time, error) {
	var t time.Time
	if err := p.conn.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&t); err != nil {
		return t, fmt.Errorf("read current time from PostgreSQL: %w", err)
	}
	return t, nil
}

func relkinds(types []string) (kinds []string, system bool) {
	for _, t := range types {
		switch strings.ToUpper(strings.TrimSpace(t)) {
		case "TABLE":
			kinds = append(kinds, "r")
		case "VIEW":
			kinds = append(kinds, "v")
		case "MATERIALIZED VIEW":
			kinds = append(kinds, "m")
		case "PARTITIONED TABLE":
			kinds = append(kinds, "p")
		case "FOREIGN TABLE":
			kinds = append(kinds, "f")
		case "SYSTEM TABLE":
			system = true
			kinds = append(kinds, "r")
		}
	}
	return kinds, system
}

func (p *pgDB) tables(ctx context.Context, catalogPattern, schemaPattern *string, types []string) ([]tableID, error) {
	if catalogPattern != nil && *catalogPattern != "" && !likeMatch(*catalogPattern, p.dbName) {
		return nil, nil
	}
	kinds, system := relkinds(types)
	sql := `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = ANY($1) AND ($2::text IS NULL OR n.nspname LIKE $2)
AND ($3 OR (n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'))
ORDER BY n.nspname, c.relname`
	rows, err := p.conn.Query(ctx, sql, kinds, schemaPattern, system)
	if err != nil {
		return nil, fmt.Errorf("list PostgreSQL tables: %w", err)
	}
	defer rows.Close()
	var out []tableID
	for rows.Next() {
		var t tableID
		if err := rows.Scan(&t.schema, &t.name); err != nil {
			return nil, fmt.Errorf("list PostgreSQL tables: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (p *pgDB) describe(ctx context.Context, t tableID) (*tableInfo, error) {
	schema := t.schema
	if schema == "" {
		// An unqualified name resolves through search_path, as in SQL.
		err := p.conn.QueryRow(ctx, `SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1)`, p.quote(t.name)).Scan(&schema)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errNoTable
		}
		if err != nil {
			return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
		}
	}
	rows, err := p.conn.Query(ctx, `SELECT c.oid, a.attname, a.attnotnull, a.atttypid, a.atttypmod,
format_type(a.atttypid, a.atttypmod), a.attidentity <> '' OR coalesce(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum`, schema, t.name)
	if err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
	}
	info := &tableInfo{id: tableID{schema: schema, name: t.name}}
	type raw struct {
		typOID  uint32
		typmod  int32
		format  string
		notNull bool
		autoInc bool
		name    string
		relOID  uint32
	}
	var raws []raw
	for rows.Next() {
		var r raw
		if err := rows.Scan(&r.relOID, &r.name, &r.notNull, &r.typOID, &r.typmod, &r.format, &r.autoInc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
		}
		raws = append(raws, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("describe table %s: %w", t.fqn(), err)
	}
	if len(raws) == 0 {
		return nil, errNoTable
	}
	var oids []uint32
	for _, r := range raws {
		oids = append(oids, r.typOID)
	}
	if err := p.loadTypes(ctx, oids); err != nil {
		return nil, err
	}
	for _, r := range raws {
		c := p.columnFor(r.name, r.typOID, r.typmod)
		c.typeName = r.format
		c.nullable = !r.notNull
		c.autoIncrement = r.autoInc
		info.columns = append(info.columns, c)
	}
	pk, err := p.conn.Query(ctx, `SELECT a.attname FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = $1 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`, raws[0].relOID)
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

// loadTypes caches pg_type information for OIDs not seen yet.
func (p *pgDB) loadTypes(ctx context.Context, oids []uint32) error {
	var missing []uint32
	for _, o := range oids {
		if _, ok := p.types[o]; !ok {
			missing = append(missing, o)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := p.conn.Query(ctx, `SELECT t.oid, coalesce(bt.typname, t.typname), t.typtype,
coalesce(bt.typcategory, t.typcategory)::text, CASE WHEN t.typtype = 'd' THEN t.typtypmod ELSE -1 END
FROM pg_type t LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype WHERE t.oid = ANY($1)`, missing)
	if err != nil {
		return fmt.Errorf("read PostgreSQL type information: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var t pgType
		if err := rows.Scan(&oid, &t.name, &t.typtype, &t.category, &t.typmod); err != nil {
			return fmt.Errorf("read PostgreSQL type information: %w", err)
		}
		p.types[oid] = t
	}
	return rows.Err()
}

// columnFor maps a PostgreSQL type to a kind the way pgjdbc reports it to
// Confluent's PostgreSqlDatabaseDialect.
func (p *pgDB) columnFor(name string, oid uint32, typmod int32) column {
	t := p.types[oid]
	c := column{name: name, typeName: t.name, nullable: true}
	if t.typmod >= 0 && typmod < 0 {
		typmod = t.typmod
	}
	switch t.name {
	case "bool":
		c.kind = kBool
	case "bit":
		c.kind, c.bits = kBits, int(typmod)
		if typmod < 0 {
			c.bits = 1
		}
	case "int2":
		c.kind, c.bits = kInt, 16
	case "int4":
		c.kind, c.bits = kInt, 32
	case "int8", "oid":
		c.kind, c.bits = kInt, 64
	case "float4":
		c.kind = kFloat32
	case "float8", "money":
		c.kind = kFloat64
	case "numeric":
		c.kind = kDecimal
		if typmod >= 4 {
			m := typmod - 4
			c.precision = int((m >> 16) & 0xffff)
			c.scale = int(((m & 0x7ff) ^ 1024) - 1024)
		}
	case "text", "varchar", "bpchar", "char", "name", "xml", "json", "jsonb", "uuid", "citext":
		c.kind = kString
	case "bytea":
		c.kind = kBytes
	case "date":
		c.kind = kDate
	case "time", "timetz":
		c.kind = kTime
	case "timestamp":
		c.kind = kTimestamp
	case "timestamptz":
		c.kind = kTimestampTZ
	default:
		if t.typtype == "e" {
			c.kind = kString // pgjdbc reports enums as VARCHAR
		}
	}
	return c
}

func (p *pgDB) query(ctx context.Context, sql string, args []any) (rowIter, error) {
	cols, ok := p.prepared[sql]
	if !ok {
		sd, err := p.conn.Prepare(ctx, sql, sql)
		if err != nil {
			return nil, err
		}
		if cols, err = p.resolve(ctx, sd); err != nil {
			return nil, err
		}
		if len(p.prepared) > 256 {
			// Bound the cache; statements are rebuilt when needed.
			for k := range p.prepared {
				_ = p.conn.Deallocate(ctx, k)
				delete(p.prepared, k)
			}
		}
		p.prepared[sql] = cols
	}
	rows, err := p.conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return &pgRows{rows: rows, cols: cols}, nil
}

// resolve describes a prepared statement's result columns, reading NOT
// NULL from the catalog for columns that come straight from a table.
func (p *pgDB) resolve(ctx context.Context, sd *pgconn.StatementDescription) ([]column, error) {
	var oids []uint32
	for _, f := range sd.Fields {
		oids = append(oids, f.DataTypeOID)
	}
	if err := p.loadTypes(ctx, oids); err != nil {
		return nil, err
	}
	cols := make([]column, len(sd.Fields))
	for i, f := range sd.Fields {
		c := p.columnFor(f.Name, f.DataTypeOID, f.TypeModifier)
		if f.TableOID != 0 && f.TableAttributeNumber > 0 {
			nn, ok := p.notNull[f.TableOID]
			if !ok {
				nn = map[uint16]bool{}
				rows, err := p.conn.Query(ctx, "SELECT attnum, attnotnull FROM pg_attribute WHERE attrelid = $1 AND attnum > 0", f.TableOID)
				if err != nil {
					return nil, fmt.Errorf("read column nullability: %w", err)
				}
				for rows.Next() {
					var n int16
					var b bool
					if err := rows.Scan(&n, &b); err != nil {
						rows.Close()
						return nil, fmt.Errorf("read column nullability: %w", err)
					}
					nn[uint16(n)] = b
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return nil, fmt.Errorf("read column nullability: %w", err)
				}
				p.notNull[f.TableOID] = nn
			}
			c.nullable = !nn[f.TableAttributeNumber]
		}
		if c.kind == kString && (c.typeName == "json" || c.typeName == "jsonb") {
			c.typeName = p.types[f.DataTypeOID].name
		}
		cols[i] = c
	}
	return cols, nil
}

type pgRows struct {
	rows pgx.Rows
	cols []column
}

func (r *pgRows) columns() []column { return r.cols }
func (r *pgRows) next() bool        { return r.rows.Next() }
func (r *pgRows) err() error        { return r.rows.Err() }
func (r *pgRows) close()            { r.rows.Close() }

func (r *pgRows) values() ([]any, error) {
	vals, err := r.rows.Values()
	if err != nil {
		return nil, err
	}
	raw := r.rows.RawValues()
	for i, v := range vals {
		c := &r.cols[i]
		if v == nil {
			continue
		}
		if c.typeName == "json" || c.typeName == "jsonb" {
			b := raw[i]
			if c.typeName == "jsonb" && len(b) > 0 && b[0] == 1 && r.rows.FieldDescriptions()[i].Format == pgx.BinaryFormatCode {
				b = b[1:]
			}
			vals[i] = string(b)
			continue
		}
		nv, err := normalisePG(v, c)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.name, err)
		}
		vals[i] = nv
	}
	return vals, nil
}

// pgjdbc's getTimestamp for 'infinity' and '-infinity'
// (PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY).
var (
	pgInfinity    = time.UnixMilli(9223372036825200000)
	pgNegInfinity = time.UnixMilli(-9223372036832400000)
)

func normalisePG(v any, c *column) (any, error) {
	switch x := v.(type) {
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case pgtype.Numeric:
		if x.NaN || x.InfinityModifier != pgtype.Finite {
			return nil, fmt.Errorf("numeric value %v cannot be represented in Kafka Connect", numericText(x))
		}
		if x.Int == nil {
			return decimal{unscaled: new(big.Int)}, nil
		}
		return decimal{unscaled: x.Int, exp: x.Exp}, nil
	case pgtype.Time:
		return timeOfDay(time.Duration(x.Microseconds) * time.Microsecond), nil
	case pgtype.Bits:
		return bitString{bytes: x.Bytes, n: int(x.Len)}, nil
	case [16]byte:
		return fmt.Sprintf("%x-%x-%x-%x-%x", x[0:4], x[4:6], x[6:8], x[8:10], x[10:16]), nil
	case pgtype.InfinityModifier:
		switch c.kind {
		case kTimestamp, kTimestampTZ:
			if x == pgtype.Infinity {
				return pgInfinity, nil
			}
			return pgNegInfinity, nil
		}
		return nil, fmt.Errorf("infinite %s value cannot be represented in Kafka Connect", c.typeName)
	case string:
		switch c.typeName {
		case "timetz":
			return parseTimeTZ(x)
		case "money":
			return parseMoney(x)
		}
		return x, nil
	}
	return v, nil
}

func numericText(n pgtype.Numeric) string {
	if n.NaN {
		return "NaN"
	}
	if n.InfinityModifier == pgtype.Infinity {
		return "Infinity"
	}
	return "-Infinity"
}

// parseTimeTZ turns "12:34:56.789+02" into the UTC time of day, as pgjdbc's
// getTime does for timetz.
func parseTimeTZ(s string) (any, error) {
	i := strings.LastIndexAny(s, "+-")
	if i < 0 {
		return nil, fmt.Errorf("invalid timetz %q", s)
	}
	tod, err := parseTimeOfDay(s[:i])
	if err != nil {
		return nil, err
	}
	off := s[i+1:]
	parts := strings.Split(off, ":")
	secs := 0
	for j, unit := range []int{3600, 60, 1} {
		if j < len(parts) {
			n, err := strconv.Atoi(parts[j])
			if err != nil {
				return nil, fmt.Errorf("invalid timetz offset in %q", s)
			}
			secs += n * unit
		}
	}
	if s[i] == '+' {
		secs = -secs
	}
	d := time.Duration(tod) + time.Duration(secs)*time.Second
	d = ((d % (24 * time.Hour)) + 24*time.Hour) % (24 * time.Hour)
	return timeOfDay(d), nil
}

func parseTimeOfDay(s string) (timeOfDay, error) {
	t, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return 0, fmt.Errorf("invalid time of day %q", s)
	}
	return timeOfDay(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())), nil
}

// parseMoney reads PostgreSQL's locale-formatted money output ("$1,234.50",
// "-$3.00") as pgjdbc's getDouble does: digits, sign and decimal point.
func parseMoney(s string) (any, error) {
	var b strings.Builder
	neg := strings.Contains(s, "-") || strings.HasPrefix(s, "(")
	for _, r := range s {
		if (r >= '0' && r <= '9') || r == '.' {
			b.WriteRune(r)
		}
	}
	f, err := strconv.ParseFloat(b.String(), 64)
	if err != nil {
		return nil, fmt.Errorf("invalid money value %q", s)
	}
	if neg {
		f = -f
	}
	return f, nil
}

// likeMatch evaluates a SQL LIKE pattern (% and _) against s.
func likeMatch(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && likeMatch(pattern[1:], s[1:])
}
