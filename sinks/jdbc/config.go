package jdbc

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/redact"
)

// Connector classes.
const (
	DebeziumClass  = "io.debezium.connector.jdbc.JdbcSinkConnector"
	ConfluentClass = "io.confluent.connect.jdbc.JdbcSinkConnector"
)

// flavour selects the property names and naming rules of the connector
// being impersonated.
type flavour int

const (
	flavourDebezium flavour = iota
	flavourConfluent
)

func validRegexList(v string) error { return config.ValidRegexList(v) }

// Reasons shared by properties that tune what Tributary does one way.
const (
	poolReason  = "Tributary holds one connection per task (two on MySQL and MariaDB), not a pool"
	retryReason = "a write that fails for a reason that is not the record's (lost connection, deadlock, server restarting) is retried by the runtime until it succeeds or the connector stops, waiting twice as long each time up to 30 s"
)

// onlyValues accepts the listed values (the upstream default, and the
// values Tributary behaves as) and refuses any other with the reason, so
// that a tuning Tributary does not implement is never silently ignored.
func onlyValues(reason string, accepted ...string) func(string) error {
	return func(v string) error {
		v = strings.TrimSpace(v)
		for _, a := range accepted {
			if strings.EqualFold(v, a) {
				return nil
			}
		}
		shown := make([]string, 0, len(accepted))
		for _, a := range accepted {
			if a != "" {
				shown = append(shown, a)
			}
		}
		return fmt.Errorf("%s; only %s is supported", reason, strings.Join(shown, ", "))
	}
}

// defaultClass accepts no value or one of Debezium's own default naming
// strategy classes, whose package moved between releases.
func defaultClass(reason string) func(string) error {
	return func(v string) error {
		v = strings.TrimSpace(v)
		if v == "" || (strings.HasPrefix(v, "io.debezium.") && strings.Contains(v[strings.LastIndex(v, ".")+1:], "Default")) {
			return nil
		}
		return fmt.Errorf("%s; only Debezium's default strategy is supported", reason)
	}
}

// debeziumDef is JdbcSinkConnectorConfig of Debezium 3.6.1.
func debeziumDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "connection.url", Required: true, Importance: config.High,
		Doc: "jdbc:postgresql://host:port/db, jdbc:mysql://host:port/db or jdbc:mariadb://host:port/db"})
	d.Define(config.Key{Name: "connection.username", Doc: "database user; when empty, the user in connection.url (if any)", Importance: config.High, Aliases: []string{"connection.user"}})
	d.Define(config.Key{Name: "connection.password", Doc: "the user's password; when empty, the password in connection.url (if any)", Type: config.TypePassword, Importance: config.High})
	d.Define(config.Key{Name: "connection.provider", Doc: "Debezium's Hibernate connection provider class; Tributary makes its own connections (one per task), so only the default C3P0ConnectionProvider is accepted", Validate: onlyValues("connections are made by Tributary (one per task), not by a Java connection provider", "", "org.hibernate.c3p0.internal.C3P0ConnectionProvider")})
	d.Define(config.Key{Name: "connection.pool.min_size", Doc: "size of Debezium's connection pool; Tributary holds one connection per task (two on MySQL and MariaDB), so only the default is accepted", Type: config.TypeInt, Default: "5", Validate: onlyValues(poolReason, "5")})
	d.Define(config.Key{Name: "connection.pool.max_size", Doc: "size of Debezium's connection pool; Tributary holds one connection per task (two on MySQL and MariaDB), so only the default is accepted", Type: config.TypeInt, Default: "32", Validate: onlyValues(poolReason, "32")})
	d.Define(config.Key{Name: "connection.pool.timeout", Doc: "idle time of pooled connections in Debezium; Tributary holds one connection per task and no pool, so only the default is accepted", Type: config.TypeInt, Default: "1800", Validate: onlyValues(poolReason, "1800")})
	d.Define(config.Key{Name: "connection.restart.on.errors", Doc: "Tributary always opens a lost connection again (the batch fails as retriable and is written again on a new connection), so only false, Debezium's default, is accepted", Type: config.TypeBoolean, Default: "false", Validate: onlyValues("a lost connection is always opened again: the batch fails as retriable and is written again on a new connection", "false")})
	d.Define(config.Key{Name: "insert.mode", Doc: "how rows are written: insert (INSERT; a duplicate key fails the record), upsert (INSERT ... ON CONFLICT DO UPDATE / ON DUPLICATE KEY UPDATE; needs primary.key.mode), update (UPDATE by key only; needs primary.key.mode)", Default: "insert", OneOf: []string{"insert", "upsert", "update"}})
	d.Define(config.Key{Name: "delete.enabled", Doc: "apply delete events and tombstones as DELETE of the row by key (needs primary.key.mode=record_key); false skips them", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "truncate.enabled", Doc: "apply truncate events (op t) as TRUNCATE TABLE of the target; false skips them", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "collection.name.format", Default: "${topic}", Aliases: []string{"table.name.format"},
		Doc: "target table; ${topic}, ${source.<field>} placeholders"})
	d.Define(config.Key{Name: "collection.naming.strategy", Doc: "Debezium's naming strategy class; only its default (or none) is accepted: the target table is collection.name.format", Aliases: []string{"table.naming.strategy"}, Validate: defaultClass("custom naming strategies are Java classes; use collection.name.format")})
	d.Define(config.Key{Name: "collection.table.format", Doc: "only ${table} (Debezium's default) is accepted: the target table is named by collection.name.format alone", Default: "${table}", Validate: onlyValues("only collection.name.format names the target table", "${table}")})
	d.Define(config.Key{Name: "column.naming.strategy", Doc: "Debezium's column naming strategy class; only its default (or none) is accepted: columns are named as the record's fields", Validate: defaultClass("custom naming strategies are Java classes; columns are named as the fields")})
	d.Define(config.Key{Name: "primary.key.mode", Doc: "where the target's primary key comes from: none (no key; insert only), kafka (columns __connect_topic, __connect_partition, __connect_offset), record_key (the record key's fields, or primary.key.fields of them), record_value (primary.key.fields of the value); record_header is refused", Default: "none", OneOf: []string{"none", "kafka", "record_key", "record_value", "record_header"}})
	d.Define(config.Key{Name: "primary.key.fields", Doc: "with record_key: the key fields forming the primary key (default: every field), or for a primitive key its one column name (required); with record_value: the value fields forming it (default: every field); with kafka: only the fixed names __connect_topic,__connect_partition,__connect_offset are accepted", Type: config.TypeList})
	d.Define(config.Key{Name: "schema.evolution", Default: "none", OneOf: []string{"none", "basic", "advanced"},
		Doc: "none; basic: create tables, add columns and widen types (Tributary also widens); advanced (Tributary): also rename and drop columns as the source did, see schema.evolution.drop.mode"})
	d.Define(config.Key{Name: "schema.evolution.drop.mode", Default: "drop", OneOf: []string{"drop", "keep"},
		Doc: "Tributary, with schema.evolution=advanced: drop runs ALTER TABLE ... DROP COLUMN for a column the source dropped; keep makes it nullable and leaves it, rows written afterwards get NULL"})
	d.Define(config.Key{Name: "quote.identifiers", Doc: "on PostgreSQL, keep the case of table and column names (false folds them to lower case as an unquoted name would be); names are quoted in the SQL either way so that reserved words work", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "use.time.zone", Doc: "time zone in which timestamps without a zone are written into MySQL and MariaDB DATETIME columns (PostgreSQL targets get timestamptz values, which carry their zone)", Default: "UTC", Aliases: []string{"database.time_zone"}, Validate: validZone})
	d.Define(config.Key{Name: "batch.size", Doc: "rows of one table collected before they are written with one statement; a transaction spans each batch the runtime hands over", Type: config.TypeInt, Default: "500", Validate: positiveInt})
	d.Define(config.Key{Name: "use.reduction.buffer", Doc: "Debezium's buffer that keeps only the last change per key within a batch is not implemented: every change of a batch is written, in order, so only false is accepted", Type: config.TypeBoolean, Default: "false", Validate: onlyValues("the reduction buffer is not implemented: every change of a batch is written, in order", "false")})
	d.Define(config.Key{Name: "field.include.list", Doc: "regular expressions of <topic>:<field> names: only matching value fields become columns; may not be combined with field.exclude.list", Type: config.TypeList, Validate: validRegexList})
	d.Define(config.Key{Name: "field.exclude.list", Doc: "regular expressions of <topic>:<field> names: matching value fields are not written; may not be combined with field.include.list", Type: config.TypeList, Validate: validRegexList})
	d.Define(config.Key{Name: "flush.max.retries", Doc: "Debezium's retries of a failed write; Tributary retries a write that failed for a reason that is not the record's (lost connection, deadlock, server restarting) until it succeeds or the connector stops, doubling the wait up to 30 s, so only the default is accepted", Type: config.TypeInt, Default: "5", Validate: onlyValues(retryReason, "5")})
	d.Define(config.Key{Name: "flush.retry.delay.ms", Doc: "Debezium's pause between retries of a failed write; Tributary doubles its wait between retries up to 30 s, so only the default is accepted", Type: config.TypeLong, Default: "1000", Validate: onlyValues(retryReason, "1000")})
	d.Define(config.Key{Name: "dialect.postgres.postgis.schema", Doc: "schema of the PostGIS extension in Debezium; Tributary does not write PostGIS geometry types, so only the default is accepted", Default: "public", Validate: onlyValues("PostGIS geometry types are not written by Tributary", "public")})
	d.Define(config.Key{Name: "dialect.postgres.unnest.insert.enabled", Doc: "Debezium's INSERT ... SELECT unnest(...) form for PostgreSQL is not implemented (batches are written with multi-row statements), so only false is accepted", Type: config.TypeBoolean, Default: "false", Validate: onlyValues("INSERT ... SELECT unnest(...) is not implemented; batches are written with multi-row statements", "false")})
	d.Define(config.Key{Name: "dialect.sqlserver.identity.insert", Doc: "SQL Server only; Tributary writes to PostgreSQL, MySQL and MariaDB, so only false is accepted", Type: config.TypeBoolean, Default: "false", Validate: onlyValues("Tributary writes to PostgreSQL, MySQL and MariaDB only; there is no SQL Server dialect", "false")})
	d.Define(config.Key{Name: "cloud.events.schema.name.pattern", Doc: "Debezium unpacks CloudEvents records whose schema name matches; Tributary's sink does not, so only the default is accepted (apply a transform instead)", Default: `.*CloudEvents\.Envelope$`, Validate: onlyValues("CloudEvents records are not unpacked by the sink; use a transform", `.*CloudEvents\.Envelope$`)})
	d.Define(placeholderKey())
	d.Define(config.Key{Name: "tasks.max", Doc: "tasks writing at once; they share the connector's consumer group (connect-<name>, or consumer.override.group.id), which spreads the topic partitions among them", Type: config.TypeInt, Default: "1"})
	d.AllowPrefix("hibernate.")
	// Documented by Debezium (jdbc.adoc) and not implemented: refused at
	// any value but the documented default, with the reason.
	for _, k := range []string{"collection.naming.style", "column.naming.style"} {
		d.Refuse(k, "none", "naming styles (snake_case, camel_case, upper_case, lower_case) are not implemented; use collection.name.format or a transform")
	}
	for _, k := range []string{"collection.naming.prefix", "collection.naming.suffix", "column.naming.prefix", "column.naming.suffix"} {
		d.Refuse(k, "", "naming prefixes and suffixes are not implemented; use collection.name.format or a transform")
	}
	d.Refuse("dialect.starrocks.catalog.name", "", "Tributary writes to PostgreSQL, MySQL and MariaDB only; there is no StarRocks dialect")
	return d
}

// confluentDef is the Confluent JDBC sink's JdbcSinkConfig.
func confluentDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "connection.url", Doc: "jdbc:postgresql://host:port/db, jdbc:mysql://host:port/db or jdbc:mariadb://host:port/db (user and password may be given as URL parameters)", Required: true, Importance: config.High})
	d.Define(config.Key{Name: "connection.user", Doc: "database user; when empty, the user in connection.url (if any)", Importance: config.High, Aliases: []string{"connection.username"}})
	d.Define(config.Key{Name: "connection.password", Doc: "the user's password; when empty, the password in connection.url (if any)", Type: config.TypePassword, Importance: config.High})
	d.Define(config.Key{Name: "connection.attempts", Doc: "Confluent's connection attempts; Tributary retries a failed connection (as any write failing for a reason that is not the record's) until it succeeds or the connector stops, doubling the wait up to 30 s, so only the default is accepted", Type: config.TypeInt, Default: "3", Validate: onlyValues(retryReason, "3")})
	d.Define(config.Key{Name: "connection.backoff.ms", Doc: "Confluent's pause between connection attempts; Tributary doubles its wait between retries up to 30 s, so only the default is accepted", Type: config.TypeLong, Default: "10000", Validate: onlyValues(retryReason, "10000")})
	d.Define(config.Key{Name: "dialect.name", Doc: "the dialect follows connection.url; empty, PostgreSqlDatabaseDialect and MySqlDatabaseDialect are accepted, other dialects refused", Validate: onlyValues("the dialect follows connection.url (PostgreSQL, MySQL, MariaDB)", "", "PostgreSqlDatabaseDialect", "MySqlDatabaseDialect")})
	d.Define(config.Key{Name: "insert.mode", Doc: "how rows are written: insert (INSERT; a duplicate key fails the record), upsert (INSERT ... ON CONFLICT DO UPDATE / ON DUPLICATE KEY UPDATE; needs pk.mode), update (UPDATE by key only)", Default: "insert", OneOf: []string{"insert", "upsert", "update"}})
	d.Define(config.Key{Name: "delete.enabled", Doc: "apply tombstones (null values) as DELETE of the row by key (needs pk.mode=record_key); false skips them", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "table.name.format", Doc: "target table; ${topic} is replaced by the record's topic", Default: "${topic}"})
	d.Define(config.Key{Name: "table.types", Doc: "only TABLE is accepted: the sink writes into tables, not views", Type: config.TypeList, Default: "TABLE", Validate: onlyValues("the sink writes into tables only, not views", "TABLE")})
	d.Define(config.Key{Name: "pk.mode", Doc: "where the target's primary key comes from: none (no key; insert only), kafka (topic, partition and offset columns), record_key (the record key's fields), record_value (fields of the value)", Default: "none", OneOf: []string{"none", "kafka", "record_key", "record_value"}, Aliases: []string{"primary.key.mode"}})
	d.Define(config.Key{Name: "pk.fields", Doc: "with record_key: the key fields forming the primary key (default: every field), or for a primitive key its one column name (required); with record_value: the value fields forming it (default: every field); with kafka: only the fixed names __connect_topic,__connect_partition,__connect_offset are accepted (custom names are not implemented)", Type: config.TypeList, Aliases: []string{"primary.key.fields"}})
	d.Define(config.Key{Name: "fields.whitelist", Doc: "value fields written as columns (exact names); empty: all", Type: config.TypeList})
	d.Define(config.Key{Name: "auto.create", Doc: "create a missing target table (CREATE TABLE from the record's schema, with the primary key of pk.mode)", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "auto.evolve", Doc: "add columns for new fields (ALTER TABLE ... ADD) and widen column types the records no longer fit; false fails the record instead", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "quote.sql.identifiers", Doc: "always quote table and column names in the SQL, or never (PostgreSQL then folds them to lower case)", Default: "always", OneOf: []string{"always", "never"}})
	d.Define(config.Key{Name: "db.timezone", Doc: "time zone in which timestamps are written into MySQL and MariaDB DATETIME columns (PostgreSQL targets get timestamptz values, which carry their zone)", Default: "UTC", Validate: validZone})
	d.Define(config.Key{Name: "batch.size", Doc: "rows of one table collected before they are written with one statement; a transaction spans each batch the runtime hands over", Type: config.TypeInt, Default: "3000", Validate: positiveInt})
	d.Define(config.Key{Name: "max.retries", Doc: "Confluent's retries of a failed write; Tributary retries a write that failed for a reason that is not the record's (lost connection, deadlock, server restarting) until it succeeds or the connector stops, so only the default is accepted", Type: config.TypeInt, Default: "10", Validate: onlyValues(retryReason, "10")})
	d.Define(config.Key{Name: "retry.backoff.ms", Doc: "Confluent's pause between retries of a failed write; Tributary doubles its wait between retries up to 30 s, so only the default is accepted", Type: config.TypeInt, Default: "3000", Validate: onlyValues(retryReason, "3000")})
	d.Define(config.Key{Name: "mssql.use.merge.holdlock", Doc: "SQL Server only; Tributary writes to PostgreSQL, MySQL and MariaDB, so only true is accepted", Type: config.TypeBoolean, Default: "true", Validate: onlyValues("Tributary writes to PostgreSQL, MySQL and MariaDB only; there is no SQL Server dialect", "true")})
	d.Define(config.Key{Name: "trim.sensitive.log", Doc: "trimming record values out of logged errors is not implemented (errors may quote the database's message, which can contain values), so only false is accepted", Type: config.TypeBoolean, Default: "false", Validate: onlyValues("trimming record values out of logged errors is not implemented (errors may quote the database's message, which can contain values)", "false")})
	d.Define(placeholderKey())
	d.Define(config.Key{Name: "tasks.max", Doc: "tasks writing at once; they share the connector's consumer group (connect-<name>, or consumer.override.group.id), which spreads the topic partitions among them", Type: config.TypeInt, Default: "1"})
	// JdbcSinkConfig properties not implemented: refused at any value but
	// the one Tributary behaves as, with the reason.
	for _, r := range []struct{ name, def, reason string }{
		{"date.calendar.system", "PROLEPTIC_GREGORIAN", "DATE values are written with Go's proleptic Gregorian calendar; the LEGACY hybrid Julian calendar for dates before 1582-10-15 is not implemented"},
		{"date.timezone", "DB_TIMEZONE", "only the default DB_TIMEZONE is implemented"},
		{"jdbc.credentials.provider.class", "io.confluent.connect.jdbc.util.DefaultJdbcCredentialsProvider", "credentials come from connection.user and connection.password (config providers such as ${file:...} work); Java credentials providers cannot be loaded"},
		{"replace.null.with.default", "false", "a null field is written as NULL; substituting the schema's default value (Confluent's default true) is not implemented"},
		{"string.output.value.column.name", "record_value", "writing a String-schema record value to a single column is not implemented"},
		{"timestamp.fields.list", "", "per-field timestamp precision is not implemented"},
		{"timestamp.precision.mode", "microseconds", "only the default microseconds is implemented"},
	} {
		d.Refuse(r.name, r.def, r.reason)
	}
	return d
}

// placeholderKey is a Tributary extension (neither Debezium's nor
// Confluent's JDBC sink has it): the source connector's
// unavailable.value.placeholder, so that columns carrying it are left out
// of the row's UPDATE instead of overwriting the real value. Empty turns
// the protection off.
func placeholderKey() config.Key {
	return config.Key{Name: "unavailable.value.placeholder", Default: "__debezium_unavailable_value",
		Doc: "the source's unavailable.value.placeholder (unchanged TOAST values): such columns are left out of the row's UPDATE, and an INSERT carrying one is rejected; empty disables the check"}
}

func validZone(v string) error {
	if _, err := loadZone(v); err != nil {
		return err
	}
	return nil
}

func positiveInt(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n <= 0 {
		return fmt.Errorf("must be a positive integer")
	}
	return nil
}

func loadZone(v string) (*time.Location, error) {
	v = strings.TrimSpace(v)
	switch strings.ToUpper(v) {
	case "", "UTC", "Z", "GMT":
		return time.UTC, nil
	}
	if loc, err := time.LoadLocation(v); err == nil {
		return loc, nil
	}
	// fixed offsets such as +02:00, as java.time.ZoneId accepts
	if t, err := time.Parse("-07:00", v); err == nil {
		_, off := t.Zone()
		return time.FixedZone(v, off), nil
	}
	return nil, fmt.Errorf("unknown time zone %q", v)
}

// Dialect identifies the target database.
type Dialect string

const (
	PostgreSQL Dialect = "postgresql"
	MySQL      Dialect = "mysql"
	MariaDB    Dialect = "mariadb"
)

// Target is a parsed connection.url.
type Target struct {
	Dialect  Dialect
	Host     string
	Port     int
	Database string
	User     string
	Password string
	Params   map[string]string
}

var jdbcURL = regexp.MustCompile(`^jdbc:(postgresql|mysql|mariadb):(.*)$`)

// ParseURL parses jdbc:postgresql://, jdbc:mysql:// and jdbc:mariadb://
// URLs, including user/password given as URL parameters.
func ParseURL(raw string) (*Target, error) {
	// Messages quote the URL without its password (user:password@ or
	// ?password=); the url package's own errors quote it whole.
	shown := redact.URL(raw)
	m := jdbcURL.FindStringSubmatch(strings.TrimSpace(raw))
	if m == nil {
		return nil, fmt.Errorf("unsupported JDBC URL %q: expected jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://", shown)
	}
	t := &Target{Dialect: Dialect(m[1]), Params: map[string]string{}}
	rest := m[2]
	if !strings.HasPrefix(rest, "//") {
		return nil, fmt.Errorf("JDBC URL %q: expected //host[:port]/database", shown)
	}
	u, err := url.Parse(rest)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("JDBC URL %q: %w", shown, err)
	}
	host := u.Host
	if strings.Contains(host, ",") {
		return nil, fmt.Errorf("JDBC URL %q: multiple hosts are not supported", shown)
	}
	t.Host = u.Hostname()
	if t.Host == "" {
		t.Host = "localhost"
	}
	switch t.Dialect {
	case PostgreSQL:
		t.Port = 5432
	default:
		t.Port = 3306
	}
	if p := u.Port(); p != "" {
		if t.Port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("JDBC URL %q: invalid port %q", shown, p)
		}
	}
	if u.User != nil {
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	t.Database = strings.TrimPrefix(u.Path, "/")
	if t.Database == "" && t.Dialect == PostgreSQL {
		return nil, fmt.Errorf("JDBC URL %q: database name missing", shown)
	}
	for k, vs := range u.Query() {
		if len(vs) > 0 {
			t.Params[k] = vs[len(vs)-1]
		}
	}
	if v, ok := t.Params["user"]; ok {
		t.User = v
		delete(t.Params, "user")
	}
	if v, ok := t.Params["password"]; ok {
		t.Password = v
		delete(t.Params, "password")
	}
	return t, nil
}

type insertMode string

const (
	modeInsert insertMode = "insert"
	modeUpsert insertMode = "upsert"
	modeUpdate insertMode = "update"
)

type pkMode string

const (
	pkNone        pkMode = "none"
	pkKafka       pkMode = "kafka"
	pkRecordKey   pkMode = "record_key"
	pkRecordValue pkMode = "record_value"
	pkHeader      pkMode = "record_header"
)

// settings are the parsed connector properties, whichever flavour.
type settings struct {
	flavour         flavour
	target          *Target
	insertMode      insertMode
	deleteEnabled   bool
	truncateEnabled bool
	tableFormat     string
	pkMode          pkMode
	pkFields        []string
	create          bool // create missing tables
	evolve          bool // add missing columns, widen types
	advanced        bool // schema.evolution=advanced: also rename and drop
	keepDropped     bool // schema.evolution.drop.mode=keep
	quote           bool
	zone            *time.Location
	batchSize       int
	include         []*regexp.Regexp
	exclude         []*regexp.Regexp
	placeholder     *placeholder // nil: unavailable.value.placeholder is empty
}

func parseSettings(f flavour, v *config.Values) (*settings, error) {
	s := &settings{flavour: f}
	t, err := ParseURL(v.String("connection.url"))
	if err != nil {
		return nil, config.Errors{{Name: "connection.url", Value: v.String("connection.url"), Message: err.Error()}}
	}
	s.target = t
	s.insertMode = insertMode(v.Lower("insert.mode"))
	s.deleteEnabled = v.Bool("delete.enabled")
	s.batchSize = int(v.Int("batch.size"))
	s.placeholder = newPlaceholder(v.String("unavailable.value.placeholder"))
	var errs config.Errors
	switch f {
	case flavourDebezium:
		if u := v.String("connection.username"); u != "" {
			t.User = u
		}
		s.truncateEnabled = v.Bool("truncate.enabled")
		s.tableFormat = v.String("collection.name.format")
		s.pkMode = pkMode(v.Lower("primary.key.mode"))
		s.pkFields = v.List("primary.key.fields")
		s.evolve = v.Lower("schema.evolution") != "none"
		s.create = s.evolve
		s.advanced = v.Lower("schema.evolution") == "advanced"
		s.keepDropped = v.Lower("schema.evolution.drop.mode") == "keep"
		if v.IsSet("schema.evolution.drop.mode") && !s.advanced {
			errs = append(errs, config.FieldError{Name: "schema.evolution.drop.mode", Value: v.String("schema.evolution.drop.mode"),
				Message: "only applies with schema.evolution=advanced"})
		}
		s.quote = v.Bool("quote.identifiers")
		s.zone, _ = loadZone(v.String("use.time.zone"))
		for _, p := range v.List("field.include.list") {
			s.include = append(s.include, regexp.MustCompile("^(?:"+p+")$"))
		}
		for _, p := range v.List("field.exclude.list") {
			s.exclude = append(s.exclude, regexp.MustCompile("^(?:"+p+")$"))
		}
		if len(s.include) > 0 && len(s.exclude) > 0 {
			errs = append(errs, config.FieldError{Name: "field.include.list", Message: "cannot be combined with field.exclude.list"})
		}
		if s.insertMode == modeUpsert && !v.IsSet("primary.key.mode") {
			errs = append(errs, config.FieldError{Name: "primary.key.mode", Message: "must be set when insert.mode=upsert"})
		}
		if s.deleteEnabled && s.pkMode != pkRecordKey {
			errs = append(errs, config.FieldError{Name: "delete.enabled", Value: "true", Message: "requires primary.key.mode=record_key"})
		}
	case flavourConfluent:
		if u := v.String("connection.user"); u != "" {
			t.User = u
		}
		s.tableFormat = v.String("table.name.format")
		s.pkMode = pkMode(v.Lower("pk.mode"))
		s.pkFields = v.List("pk.fields")
		s.create, s.evolve = v.Bool("auto.create"), v.Bool("auto.evolve")
		s.quote = v.Lower("quote.sql.identifiers") != "never"
		s.zone, _ = loadZone(v.String("db.timezone"))
		if wl := v.List("fields.whitelist"); len(wl) > 0 {
			var alts []string
			for _, w := range wl {
				alts = append(alts, regexp.QuoteMeta(w))
			}
			s.include = []*regexp.Regexp{regexp.MustCompile(`^.*:(?:` + strings.Join(alts, "|") + `)$`)}
		}
		if s.deleteEnabled && s.pkMode != pkRecordKey {
			errs = append(errs, config.FieldError{Name: "delete.enabled", Value: "true", Message: "requires pk.mode=record_key"})
		}
		if s.insertMode == modeUpsert && s.pkMode == pkNone {
			errs = append(errs, config.FieldError{Name: "pk.mode", Value: "none", Message: "insert.mode=upsert needs a primary key"})
		}
	}
	if s.pkMode == pkKafka && len(s.pkFields) > 0 && strings.Join(s.pkFields, ",") != "__connect_topic,__connect_partition,__connect_offset" {
		name := "primary.key.fields"
		if f == flavourConfluent {
			name = "pk.fields"
		}
		errs = append(errs, config.FieldError{Name: name, Value: strings.Join(s.pkFields, ","), Message: "with pk mode kafka the key columns are __connect_topic, __connect_partition and __connect_offset; other names are not implemented"})
	}
	if s.pkMode == pkHeader {
		errs = append(errs, config.FieldError{Name: "primary.key.mode", Value: "record_header", Message: "not supported by Tributary yet"})
	}
	if s.insertMode == modeUpsert && s.pkMode == pkNone {
		errs = append(errs, config.FieldError{Name: "primary.key.mode", Value: "none", Message: "insert.mode=upsert needs primary.key.mode other than none"})
	}
	if s.insertMode == modeUpdate && s.pkMode == pkNone {
		errs = append(errs, config.FieldError{Name: "primary.key.mode", Value: "none", Message: "insert.mode=update needs primary.key.mode other than none"})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// keepField applies field.include.list / field.exclude.list, which match
// "<topic>:<field>".
func (s *settings) keepField(topic, field string) bool {
	name := topic + ":" + field
	if len(s.include) > 0 {
		for _, re := range s.include {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}
	for _, re := range s.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}
