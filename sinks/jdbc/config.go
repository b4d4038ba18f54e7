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

// debeziumDef is JdbcSinkConnectorConfig of Debezium 3.6.1.
func debeziumDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "connection.url", Required: true, Importance: config.High,
		Doc: "jdbc:postgresql://host:port/db, jdbc:mysql://host:port/db or jdbc:mariadb://host:port/db"})
	d.Define(config.Key{Name: "connection.username", Importance: config.High, Aliases: []string{"connection.user"}})
	d.Define(config.Key{Name: "connection.password", Type: config.TypePassword, Importance: config.High})
	d.Define(config.Key{Name: "connection.provider"})
	d.Define(config.Key{Name: "connection.pool.min_size", Type: config.TypeInt, Default: "5"})
	d.Define(config.Key{Name: "connection.pool.max_size", Type: config.TypeInt, Default: "32"})
	d.Define(config.Key{Name: "connection.pool.timeout", Type: config.TypeInt, Default: "1800"})
	d.Define(config.Key{Name: "connection.restart.on.errors", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "insert.mode", Default: "insert", OneOf: []string{"insert", "upsert", "update"}})
	d.Define(config.Key{Name: "delete.enabled", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "truncate.enabled", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "collection.name.format", Default: "${topic}", Aliases: []string{"table.name.format"},
		Doc: "target table; ${topic}, ${source.<field>} placeholders"})
	d.Define(config.Key{Name: "collection.naming.strategy", Aliases: []string{"table.naming.strategy"}})
	d.Define(config.Key{Name: "collection.table.format", Default: "${table}"})
	d.Define(config.Key{Name: "column.naming.strategy"})
	d.Define(config.Key{Name: "primary.key.mode", Default: "none", OneOf: []string{"none", "kafka", "record_key", "record_value", "record_header"}})
	d.Define(config.Key{Name: "primary.key.fields", Type: config.TypeList})
	d.Define(config.Key{Name: "schema.evolution", Default: "none", OneOf: []string{"none", "basic", "advanced"},
		Doc: "none; basic: create tables, add columns and widen types (Tributary also widens); advanced (Tributary): also rename and drop columns as the source did, see schema.evolution.drop.mode"})
	d.Define(config.Key{Name: "schema.evolution.drop.mode", Default: "drop", OneOf: []string{"drop", "keep"},
		Doc: "Tributary, with schema.evolution=advanced: drop runs ALTER TABLE ... DROP COLUMN for a column the source dropped; keep makes it nullable and leaves it, rows written afterwards get NULL"})
	d.Define(config.Key{Name: "quote.identifiers", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "use.time.zone", Default: "UTC", Aliases: []string{"database.time_zone"}, Validate: validZone})
	d.Define(config.Key{Name: "batch.size", Type: config.TypeInt, Default: "500", Validate: positiveInt})
	d.Define(config.Key{Name: "use.reduction.buffer", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "field.include.list", Type: config.TypeList, Validate: validRegexList})
	d.Define(config.Key{Name: "field.exclude.list", Type: config.TypeList, Validate: validRegexList})
	d.Define(config.Key{Name: "flush.max.retries", Type: config.TypeInt, Default: "5"})
	d.Define(config.Key{Name: "flush.retry.delay.ms", Type: config.TypeLong, Default: "1000"})
	d.Define(config.Key{Name: "dialect.postgres.postgis.schema", Default: "public"})
	d.Define(config.Key{Name: "dialect.postgres.unnest.insert.enabled", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "dialect.sqlserver.identity.insert", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "cloud.events.schema.name.pattern", Default: `.*CloudEvents\.Envelope$`})
	d.Define(placeholderKey())
	d.Define(config.Key{Name: "tasks.max", Type: config.TypeInt, Default: "1"})
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
	d.Define(config.Key{Name: "connection.url", Required: true, Importance: config.High})
	d.Define(config.Key{Name: "connection.user", Importance: config.High, Aliases: []string{"connection.username"}})
	d.Define(config.Key{Name: "connection.password", Type: config.TypePassword, Importance: config.High})
	d.Define(config.Key{Name: "connection.attempts", Type: config.TypeInt, Default: "3"})
	d.Define(config.Key{Name: "connection.backoff.ms", Type: config.TypeLong, Default: "10000"})
	d.Define(config.Key{Name: "dialect.name"})
	d.Define(config.Key{Name: "insert.mode", Default: "insert", OneOf: []string{"insert", "upsert", "update"}})
	d.Define(config.Key{Name: "delete.enabled", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "table.name.format", Default: "${topic}"})
	d.Define(config.Key{Name: "table.types", Type: config.TypeList, Default: "TABLE"})
	d.Define(config.Key{Name: "pk.mode", Default: "none", OneOf: []string{"none", "kafka", "record_key", "record_value"}, Aliases: []string{"primary.key.mode"}})
	d.Define(config.Key{Name: "pk.fields", Type: config.TypeList, Aliases: []string{"primary.key.fields"}})
	d.Define(config.Key{Name: "fields.whitelist", Type: config.TypeList})
	d.Define(config.Key{Name: "auto.create", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "auto.evolve", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "quote.sql.identifiers", Default: "always", OneOf: []string{"always", "never"}})
	d.Define(config.Key{Name: "db.timezone", Default: "UTC", Validate: validZone})
	d.Define(config.Key{Name: "batch.size", Type: config.TypeInt, Default: "3000", Validate: positiveInt})
	d.Define(config.Key{Name: "max.retries", Type: config.TypeInt, Default: "10"})
	d.Define(config.Key{Name: "retry.backoff.ms", Type: config.TypeInt, Default: "3000"})
	d.Define(config.Key{Name: "mssql.use.merge.holdlock", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "trim.sensitive.log", Type: config.TypeBoolean, Default: "false"})
	d.Define(placeholderKey())
	d.Define(config.Key{Name: "tasks.max", Type: config.TypeInt, Default: "1"})
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
	evolve          bool // create missing tables, add missing columns, widen types
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
		s.evolve = v.Bool("auto.create") || v.Bool("auto.evolve")
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
