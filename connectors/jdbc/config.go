package jdbc

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
)

// Modes, as Confluent's JdbcSourceConnectorConfig names them.
const (
	modeBulk                  = "bulk"
	modeIncrementing          = "incrementing"
	modeTimestamp             = "timestamp"
	modeTimestampIncrementing = "timestamp+incrementing"
)

// Numeric mappings (numeric.mapping).
const (
	numericNone               = "none"
	numericPrecisionOnly      = "precision_only"
	numericBestFit            = "best_fit"
	numericBestFitEagerDouble = "best_fit_eager_double"
)

// Visibility horizons (visibility.horizon, a Tributary extension).
const (
	horizonAuto = "auto"
	horizonXmin = "xmin"
	horizonNone = "none"
)

// Def returns the connector's properties with Confluent's names and
// defaults (kafka-connect-jdbc 10.9), plus Tributary's extensions.
func Def() *config.Def {
	d := config.NewDef()
	// Database
	d.Define(config.Key{Name: "connection.url", Required: true, Importance: config.High, Group: "Database",
		Doc: "JDBC connection URL, e.g. jdbc:postgresql://host:5432/db or jdbc:mysql://host:3306/db", Validate: validURL})
	d.Define(config.Key{Name: "connection.user", Doc: "database user; when empty, the user in connection.url (if any)", Importance: config.High, Group: "Database"})
	d.Define(config.Key{Name: "connection.password", Doc: "the user's password; when empty, the password in connection.url (if any)", Type: config.TypePassword, Importance: config.High, Group: "Database"})
	d.Define(config.Key{Name: "connection.attempts", Doc: "attempts to open a database connection before the task fails (at least 1)", Type: config.TypeInt, Default: "3", Importance: config.Low, Validate: atLeast(1)})
	d.Define(config.Key{Name: "connection.backoff.ms", Doc: "pause between those connection attempts", Type: config.TypeLong, Default: "10000", Importance: config.Low, Validate: atLeast(0)})
	d.Define(config.Key{Name: "table.whitelist", Type: config.TypeList, Doc: "tables to copy (exact names, optionally qualified)"})
	d.Define(config.Key{Name: "table.blacklist", Type: config.TypeList, Doc: "tables not to copy (exact names, optionally qualified)"})
	d.Define(config.Key{Name: "table.include.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions matching fully-qualified table names to copy"})
	d.Define(config.Key{Name: "table.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions matching fully-qualified table names not to copy; requires table.include.list"})
	d.Define(config.Key{Name: "catalog.pattern", Doc: "catalog (MySQL database) to read table metadata from"})
	d.Define(config.Key{Name: "schema.pattern", Doc: "schema to read table metadata from"})
	d.Define(config.Key{Name: "numeric.precision.mapping", Type: config.TypeBoolean, Default: "false", Importance: config.Low, Doc: "deprecated: use numeric.mapping=precision_only"})
	d.Define(config.Key{Name: "numeric.mapping", Doc: "how NUMERIC/DECIMAL columns are represented, as Confluent: none (Connect Decimal), precision_only (INT8..INT64 by precision when the scale is 0, else Decimal), best_fit (also FLOAT64 for a scale above 0 when the precision is at most 18), best_fit_eager_double (FLOAT64 for every scale above 0); empty: none, or precision_only with the deprecated numeric.precision.mapping=true. Unlike Confluent, MySQL DECIMAL columns are mapped too, and unconstrained PostgreSQL numeric is a string", Importance: config.Low, OneOf: []string{numericNone, numericPrecisionOnly, numericBestFit, numericBestFitEagerDouble}})
	d.Define(config.Key{Name: "dialect.name", Importance: config.Low,
		OneOf: []string{"", "PostgreSqlDatabaseDialect", "MySqlDatabaseDialect"}, Doc: "override the dialect chosen from connection.url"})
	d.Define(config.Key{Name: "date.calendar.system", Doc: "calendar of DATE and TIMESTAMP values before 1582-10-15: LEGACY (Julian, as Java's java.sql types and Confluent's default) or PROLEPTIC_GREGORIAN (as the database stores them)", Default: "LEGACY", OneOf: []string{"LEGACY", "PROLEPTIC_GREGORIAN"}, Importance: config.Low})
	// Mode
	d.Define(config.Key{Name: "mode", Doc: "how each poll finds new rows: bulk (the whole table every poll), incrementing (rows whose incrementing column is above the last one delivered; no updates), timestamp (rows whose timestamp columns moved past the last delivered one; inserts and updates), timestamp+incrementing (both, the most reliable); each row becomes a Debezium-style change event", Required: true, Importance: config.High, Group: "Mode",
		OneOf: []string{modeBulk, modeIncrementing, modeTimestamp, modeTimestampIncrementing}})
	d.Define(config.Key{Name: "incrementing.column.name", Doc: "strictly incrementing column; empty means the table's auto-increment column"})
	d.Define(config.Key{Name: "timestamp.column.name", Type: config.TypeList, Doc: "timestamp columns, combined with COALESCE"})
	d.Define(config.Key{Name: "timestamp.columns.mapping", Type: config.TypeList, Validate: validMapping(true), Doc: "regex1:[col1|col2],regex2:[col3]"})
	d.Define(config.Key{Name: "incrementing.column.mapping", Type: config.TypeList, Validate: validMapping(false), Doc: "regex1:col1,regex2:col2"})
	d.Define(config.Key{Name: "timestamp.initial", Type: config.TypeLong, Doc: "epoch millis to start timestamp queries at; -1 means the current database time"})
	d.Define(config.Key{Name: "validate.non.null", Doc: "refuse to start when the incrementing column is nullable, or when every one of the timestamp columns is nullable (rows where they are NULL are never read); false skips the check", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "query", Doc: "custom query; topic.prefix is then the full topic name"})
	d.Define(config.Key{Name: "query.masked", Type: config.TypePassword, Doc: "as query, but never logged"})
	d.Define(config.Key{Name: "quote.sql.identifiers", Doc: "always quote table and column names in the generated queries (as the dialect quotes), or never (names are then case-folded by the database)", Default: "always", OneOf: []string{"always", "never"}})
	d.Define(config.Key{Name: "query.suffix", Doc: "appended to generated queries"})
	d.Define(config.Key{Name: "transaction.isolation.mode", Doc: "isolation level of the connector's queries (SET TRANSACTION ISOLATION LEVEL ...); DEFAULT leaves the database's", Default: "DEFAULT",
		OneOf: []string{"DEFAULT", "READ_UNCOMMITTED", "READ_COMMITTED", "REPEATABLE_READ", "SERIALIZABLE"}})
	d.Define(config.Key{Name: "query.retry.attempts", Doc: "failed polls in a row (a query error) before the task fails; -1 retries without limit", Type: config.TypeInt, Default: "-1"})
	// Connector
	d.Define(config.Key{Name: "table.types", Doc: "kinds of table listed for copying: TABLE, VIEW, MATERIALIZED VIEW, PARTITIONED TABLE, FOREIGN TABLE, SYSTEM TABLE", Type: config.TypeList, Default: "TABLE", Validate: validTableTypes})
	d.Define(config.Key{Name: "poll.interval.ms", Doc: "pause between two polls of each table", Type: config.TypeInt, Default: "5000", Validate: atLeast(0)})
	d.Define(config.Key{Name: "batch.max.rows", Doc: "rows a query returns at most (one page): a poll reads pages of this size with keyset pagination, so only one page is held in memory", Type: config.TypeInt, Default: "1000", Validate: atLeast(1)})
	// Tuning of the Java connector's record buffer and table monitor,
	// which Tributary's has not (it used to accept and ignore them): only
	// the default is accepted.
	d.Refuse("max.buffer.size", "0", "rows go from the result set to the runtime in batches of batch.max.rows, without a separate buffer")
	d.Refuse("poll.linger.ms", "5000", "a poll returns as soon as its query has run; there is no wait for records")
	d.Refuse("table.monitoring.startup.polling.limit.ms", "10000", "the tables are listed before the first poll, which waits for them")
	d.Define(config.Key{Name: "table.poll.interval.ms", Doc: "how often the list of tables is read again to pick up new or dropped tables", Type: config.TypeLong, Default: "60000", Validate: atLeast(1)})
	d.Define(config.Key{Name: "topic.prefix", Doc: "prefix of the topic names: topic.prefix + table name, or the whole topic name with a custom query", Importance: config.High, Validate: validTopicPrefix})
	d.Define(config.Key{Name: "timestamp.delay.interval.ms", Doc: "in timestamp modes, rows are read only up to the database's current time minus this delay, so a transaction that commits within the delay after stamping its rows is not overtaken", Type: config.TypeLong, Default: "0", Validate: atLeast(0)})
	d.Define(config.Key{Name: "db.timezone", Doc: "time zone in which TIMESTAMP (without time zone) and DATE columns are read and in which timestamp offsets are compared (IANA name, UTC, or a fixed offset)", Default: "UTC", Validate: validZone})
	d.Define(config.Key{Name: "timestamp.granularity", Doc: "how timestamp columns are represented, as Confluent: connect_logical (Connect Timestamp, millisecond precision), micros_long/nanos_long (epoch micro-/nanoseconds as int64), micros_string/nanos_string (the same as text), micros_iso_datetime_string/nanos_iso_datetime_string (ISO 8601 text)", Default: "connect_logical", OneOf: []string{
		"connect_logical", "micros_long", "micros_string", "micros_iso_datetime_string",
		"nanos_long", "nanos_string", "nanos_iso_datetime_string"}})
	// Tributary extensions
	d.Define(config.Key{Name: "key.columns", Doc: "message key columns: col1,col2 for every table and the custom query, or table-regex:col1,col2;table-regex2:col; default is the primary key"})
	d.Define(config.Key{Name: "soft.delete.column", Doc: "column whose value marks a row as deleted; such rows become delete events followed by a tombstone"})
	d.Define(config.Key{Name: "soft.delete.value", Doc: "value (as text) of soft.delete.column that marks a deleted row; empty means any non-null value other than false"})
	d.Define(config.Key{Name: "tombstones.on.delete", Doc: "after the delete event of a soft-deleted row (soft.delete.column), emit a tombstone (null value) with the same key so that compaction removes the row; only for tables with a key", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "visibility.horizon", Default: horizonAuto, OneOf: []string{horizonAuto, horizonXmin, horizonNone},
		Doc: "auto: xmin on PostgreSQL tables, none elsewhere; xmin: only pass rows up to a position taken when every transaction then holding an ID has since ended; none: Confluent's behaviour"})
	// Confluent passes connection.* through to the driver; accept them so
	// existing configurations load.
	d.AllowPrefix("connection.", "jdbc.credentials.provider.")
	return d
}

func atLeast(n int64) func(string) error {
	return func(v string) error {
		i, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err == nil && i < n {
			return fmt.Errorf("must be at least %d", n)
		}
		return nil
	}
}

func validURL(v string) error {
	_, err := parseURL(v)
	return err
}

func validZone(v string) error {
	_, err := loadZone(v)
	return err
}

// loadZone accepts IANA names and the short IDs Java's ZoneId.SHORT_IDS
// knows for the common cases ("UTC", "GMT", "Z", fixed offsets).
func loadZone(v string) (*time.Location, error) {
	v = strings.TrimSpace(v)
	switch strings.ToUpper(v) {
	case "", "UTC", "Z", "GMT", "UT":
		return time.UTC, nil
	}
	if loc, err := time.LoadLocation(v); err == nil {
		return loc, nil
	}
	if m := offsetZoneRe.FindStringSubmatch(v); m != nil {
		h, _ := strconv.Atoi(m[2])
		mi := 0
		if m[3] != "" {
			mi, _ = strconv.Atoi(m[3])
		}
		secs := h*3600 + mi*60
		if m[1] == "-" {
			secs = -secs
		}
		return time.FixedZone(v, secs), nil
	}
	return nil, fmt.Errorf("unknown time zone %q", v)
}

var offsetZoneRe = regexp.MustCompile(`^(?:UTC|GMT)?([+-])(\d{1,2})(?::?(\d{2}))?$`)

var topicPrefixInvalid = regexp.MustCompile(`[^a-zA-Z0-9._-]`)

func validTopicPrefix(v string) error {
	v = strings.TrimSpace(v)
	if len(v) > 249 {
		return fmt.Errorf("topic prefix length must not exceed max topic name length, 249 chars")
	}
	if topicPrefixInvalid.MatchString(v) {
		return fmt.Errorf("topic prefix must not contain any character other than ASCII alphanumerics, '.', '_' and '-'")
	}
	return nil
}

func validTableTypes(v string) error {
	for _, t := range config.SplitList(v) {
		switch strings.ToUpper(t) {
		case "TABLE", "VIEW", "MATERIALIZED VIEW", "PARTITIONED TABLE", "FOREIGN TABLE", "SYSTEM TABLE":
		default:
			return fmt.Errorf("unsupported table type %q (TABLE, VIEW, MATERIALIZED VIEW, PARTITIONED TABLE, FOREIGN TABLE, SYSTEM TABLE)", t)
		}
	}
	return nil
}

func validMapping(multi bool) func(string) error {
	return func(v string) error {
		_, err := parseColumnMapping(v, multi)
		return err
	}
}

// columnMapping is one entry of timestamp.columns.mapping or
// incrementing.column.mapping.
type columnMapping struct {
	re      *regexp.Regexp
	columns []string
}

func parseColumnMapping(v string, multi bool) ([]columnMapping, error) {
	var out []columnMapping
	for _, m := range config.SplitList(v) {
		i := strings.LastIndex(m, ":")
		if i < 0 {
			if multi {
				return nil, fmt.Errorf("invalid mapping %q: expected 'regex:[col1|col2|...]'", m)
			}
			return nil, fmt.Errorf("invalid mapping %q: expected 'regex:columnName'", m)
		}
		re, err := regexp.Compile("^(?:" + strings.TrimSpace(m[:i]) + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression in mapping %q: %w", m, err)
		}
		cols := strings.TrimSpace(m[i+1:])
		var names []string
		if multi {
			if !strings.HasPrefix(cols, "[") || !strings.HasSuffix(cols, "]") {
				return nil, fmt.Errorf("mapping %q: columns list must be enclosed in square brackets", m)
			}
			for _, c := range strings.Split(cols[1:len(cols)-1], "|") {
				if c = strings.TrimSpace(c); c == "" {
					return nil, fmt.Errorf("mapping %q: every column name must be non-empty", m)
				}
				names = append(names, c)
			}
		} else {
			if cols == "" {
				return nil, fmt.Errorf("mapping %q: column name cannot be empty", m)
			}
			names = []string{cols}
		}
		out = append(out, columnMapping{re: re, columns: names})
	}
	return out, nil
}

// keyColumnRule is one entry of key.columns.
type keyColumnRule struct {
	re      *regexp.Regexp // nil: applies to every table and the custom query
	columns []string
}

func parseKeyColumns(v string) ([]keyColumnRule, error) {
	var out []keyColumnRule
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		var rule keyColumnRule
		if i := strings.LastIndex(part, ":"); i >= 0 {
			re, err := regexp.Compile("(?i)^(?:" + strings.TrimSpace(part[:i]) + ")$")
			if err != nil {
				return nil, fmt.Errorf("key.columns: invalid table expression in %q: %w", part, err)
			}
			rule.re = re
			part = part[i+1:]
		}
		rule.columns = config.SplitList(part)
		if len(rule.columns) == 0 {
			return nil, fmt.Errorf("key.columns: no columns in %q", part)
		}
		out = append(out, rule)
	}
	return out, nil
}

// settings are the parsed, cross-checked properties.
type settings struct {
	url        jdbcURL
	user, pass string
	attempts   int
	backoff    time.Duration

	mode            string
	incColumn       string
	incMapping      []columnMapping
	tsColumns       []string
	tsMapping       []columnMapping
	tsInitial       *int64
	validateNonNull bool
	query           string
	queryMasked     bool
	querySuffix     string
	quote           bool
	isolation       string

	tableTypes      []string
	whitelist       []string
	blacklist       []string
	include         []*regexp.Regexp
	exclude         []*regexp.Regexp
	catalogPattern  *string
	schemaPattern   *string
	pollInterval    time.Duration
	batchMaxRows    int
	tablePoll       time.Duration
	topicPrefix     string
	delay           time.Duration
	zone            *time.Location
	numericMapping  string
	granularity     string
	keyColumns      []keyColumnRule
	softDeleteCol   string
	softDeleteValue *string
	tombstones      bool
	horizon         string
	queryRetries    int
	legacyDates     bool
	log             *slog.Logger
}

func (s *settings) logger() *slog.Logger {
	if s.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.log
}

func (s *settings) usesTimestamp() bool {
	return s.mode == modeTimestamp || s.mode == modeTimestampIncrementing
}

func (s *settings) usesIncrementing() bool {
	return s.mode == modeIncrementing || s.mode == modeTimestampIncrementing
}

// parseSettings turns validated properties into settings, checking the
// combinations Confluent rejects (and a few it silently accepts).
func parseSettings(v *config.Values) (*settings, error) {
	var errs config.Errors
	add := func(name, value, msg string) {
		errs = append(errs, config.FieldError{Name: name, Value: value, Message: msg})
	}
	s := &settings{
		user:            v.String("connection.user"),
		pass:            v.String("connection.password"),
		attempts:        int(v.Int("connection.attempts")),
		backoff:         v.Millis("connection.backoff.ms"),
		mode:            v.Lower("mode"),
		incColumn:       v.String("incrementing.column.name"),
		tsColumns:       v.List("timestamp.column.name"),
		validateNonNull: v.Bool("validate.non.null"),
		querySuffix:     v.String("query.suffix"),
		quote:           v.Lower("quote.sql.identifiers") != "never",
		isolation:       strings.ToUpper(v.String("transaction.isolation.mode")),
		tableTypes:      v.List("table.types"),
		whitelist:       v.List("table.whitelist"),
		blacklist:       v.List("table.blacklist"),
		pollInterval:    v.Millis("poll.interval.ms"),
		batchMaxRows:    int(v.Int("batch.max.rows")),
		tablePoll:       v.Millis("table.poll.interval.ms"),
		topicPrefix:     v.String("topic.prefix"),
		delay:           v.Millis("timestamp.delay.interval.ms"),
		granularity:     v.Lower("timestamp.granularity"),
		softDeleteCol:   v.String("soft.delete.column"),
		tombstones:      v.Bool("tombstones.on.delete"),
		horizon:         v.Lower("visibility.horizon"),
		queryRetries:    int(v.Int("query.retry.attempts")),
		legacyDates:     strings.ToUpper(v.String("date.calendar.system")) != "PROLEPTIC_GREGORIAN",
	}
	u, err := parseURL(v.String("connection.url"))
	if err != nil {
		add("connection.url", v.String("connection.url"), err.Error())
	} else {
		s.url = u
		if s.user == "" {
			s.user = u.user
		}
		if s.pass == "" {
			s.pass = u.password
		}
		if dn := v.String("dialect.name"); dn != "" {
			switch dn {
			case "PostgreSqlDatabaseDialect":
				s.url.dialect = dialectPostgres
			case "MySqlDatabaseDialect":
				if s.url.dialect == dialectPostgres {
					add("dialect.name", dn, "does not match the PostgreSQL connection.url")
				}
			}
		}
	}
	if v.IsSet("timestamp.initial") && v.String("timestamp.initial") != "" {
		n := v.Int("timestamp.initial")
		if n < -1 {
			add("timestamp.initial", v.String("timestamp.initial"), "must be an epoch timestamp in milliseconds or -1 for the current time")
		}
		s.tsInitial = &n
	}
	s.query = v.String("query")
	if m := v.String("query.masked"); m != "" {
		s.query, s.queryMasked = m, true
	}
	if v.IsSet("catalog.pattern") {
		c := v.String("catalog.pattern")
		s.catalogPattern = &c
	}
	if v.IsSet("schema.pattern") {
		c := v.String("schema.pattern")
		s.schemaPattern = &c
	}
	s.zone, err = loadZone(v.String("db.timezone"))
	if err != nil {
		add("db.timezone", v.String("db.timezone"), err.Error())
	}
	s.numericMapping = v.Lower("numeric.mapping")
	if s.numericMapping == "" {
		s.numericMapping = numericNone
		if v.Bool("numeric.precision.mapping") {
			s.numericMapping = numericPrecisionOnly
		}
	}
	for _, p := range v.List("table.include.list") {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			add("table.include.list", p, err.Error())
			continue
		}
		s.include = append(s.include, re)
	}
	for _, p := range v.List("table.exclude.list") {
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			add("table.exclude.list", p, err.Error())
			continue
		}
		s.exclude = append(s.exclude, re)
	}
	if s.incMapping, err = parseColumnMapping(v.String("incrementing.column.mapping"), false); err != nil {
		add("incrementing.column.mapping", v.String("incrementing.column.mapping"), err.Error())
	}
	if s.tsMapping, err = parseColumnMapping(v.String("timestamp.columns.mapping"), true); err != nil {
		add("timestamp.columns.mapping", v.String("timestamp.columns.mapping"), err.Error())
	}
	if s.keyColumns, err = parseKeyColumns(v.String("key.columns")); err != nil {
		add("key.columns", v.String("key.columns"), err.Error())
	}
	if v.IsSet("soft.delete.value") {
		sv := v.String("soft.delete.value")
		s.softDeleteValue = &sv
		if s.softDeleteCol == "" {
			add("soft.delete.value", sv, "requires soft.delete.column")
		}
	}

	// Combinations.
	if len(s.whitelist) > 0 && len(s.blacklist) > 0 {
		add("table.whitelist", strings.Join(s.whitelist, ","), "table.whitelist and table.blacklist cannot both be set")
	}
	legacy := len(s.whitelist) > 0 || len(s.blacklist) > 0
	if (len(s.include) > 0 || len(s.exclude) > 0) && legacy {
		add("table.include.list", v.String("table.include.list"), "cannot be combined with table.whitelist or table.blacklist")
	}
	if len(s.exclude) > 0 && len(s.include) == 0 {
		add("table.exclude.list", v.String("table.exclude.list"), "requires table.include.list")
	}
	if s.query != "" && (legacy || len(s.include) > 0) {
		add("query", s.query, "cannot be combined with a table list: a custom query replaces table copying")
	}
	if s.query != "" && (len(s.incMapping) > 0 || len(s.tsMapping) > 0) {
		add("query", s.query, "timestamp.columns.mapping and incrementing.column.mapping apply to tables, not to a custom query")
	}
	switch s.mode {
	case modeIncrementing, modeTimestampIncrementing:
		if s.incColumn == "" && len(s.incMapping) == 0 && s.query != "" {
			add("incrementing.column.name", "", "required for mode "+s.mode+" with a custom query (there is no table to find an auto-increment column in)")
		}
	}
	switch s.mode {
	case modeTimestamp, modeTimestampIncrementing:
		if len(s.tsColumns) == 0 && len(s.tsMapping) == 0 {
			add("timestamp.column.name", "", "required for mode "+s.mode)
		}
	}
	if s.query != "" && s.topicPrefix == "" {
		add("topic.prefix", "", "required with a custom query: it is the full topic name")
	}
	if s.horizon == horizonXmin && s.url.dialect != dialectPostgres && u.dialect != "" {
		add("visibility.horizon", s.horizon, "xmin is only available on PostgreSQL")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}
