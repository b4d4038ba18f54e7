package postgres

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
)

// Class is Debezium's connector class, accepted unchanged in connector.class.
const Class = "io.debezium.connector.postgresql.PostgresConnector"

func oneOf(prop string, allowed ...string) func(string) error {
	return func(v string) error {
		for _, a := range allowed {
			if strings.EqualFold(strings.TrimSpace(v), a) {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
}

// Def returns the connector's properties: Debezium's common ones plus
// PostgresConnectorConfig's. Properties not defined here are rejected.
func Def() *config.Def {
	d := config.NewDef().Merge(debezium.CommonDef())
	d.Define(config.Key{Name: "database.port", Type: config.TypeInt, Default: "5432", Importance: config.High, Doc: "PostgreSQL port"})
	d.Define(config.Key{Name: "database.dbname", Required: true, Importance: config.High, Doc: "database to capture"})
	d.Define(config.Key{Name: "database.sslmode", Default: "prefer", OneOf: []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, Doc: "TLS to the server as libpq's sslmode: disable, allow, prefer, require, verify-ca or verify-full"})
	d.Define(config.Key{Name: "database.sslrootcert", Doc: "file of the CA certificates the server's certificate is verified against (verify-ca, verify-full)"})
	d.Define(config.Key{Name: "database.sslcert", Doc: "file of the client certificate (PEM) for certificate authentication"})
	d.Define(config.Key{Name: "database.sslkey", Doc: "file of the client certificate's private key (PEM, unencrypted)"})
	d.Define(config.Key{Name: "database.tcpKeepAlive", Type: config.TypeBoolean, Default: "true", Doc: "enable TCP keep-alive on the connections to the server"})
	d.Define(config.Key{Name: "plugin.name", Doc: "logical decoding plugin of the replication slot; only pgoutput (built into PostgreSQL 10+) is supported, decoderbufs is refused", Default: "pgoutput", Validate: func(v string) error {
		if strings.EqualFold(strings.TrimSpace(v), "pgoutput") {
			return nil
		}
		return fmt.Errorf("only the pgoutput logical decoding plugin is supported (decoderbufs needs a server extension Tributary does not implement)")
	}})
	d.Define(config.Key{Name: "slot.name", Doc: "name of the logical replication slot the connector creates (when missing) and streams from; it keeps the server's WAL from the connector's confirmed position on, so use one slot per connector", Default: "debezium", Validate: func(v string) error {
		if !regexp.MustCompile(`^[a-z0-9_]{1,63}$`).MatchString(v) {
			return fmt.Errorf("slot names may contain only lower-case letters, digits and underscores, at most 63 characters")
		}
		return nil
	}})
	d.Define(config.Key{Name: "slot.drop.on.stop", Type: config.TypeBoolean, Default: "false", Doc: "drop the replication slot when the connector stops (for tests: the next start snapshots again)"})
	d.Define(config.Key{Name: "slot.max.retries", Type: config.TypeInt, Default: "6", Doc: "attempts to connect to a replication slot that is in use by another connection before the task fails"})
	d.Define(config.Key{Name: "slot.retry.delay.ms", Type: config.TypeLong, Default: "10000", Doc: "pause between those attempts"})
	d.Define(config.Key{Name: "lsn.flush.mode", Default: "connector", OneOf: []string{"manual", "connector", "connector_and_driver"},
		Doc: "how the replication slot's confirmed position moves: connector (committed offsets, and the server's WAL end whenever every record handed over is committed), connector_and_driver (the same), manual (never: the slot is left to the operator)"})
	d.Define(config.Key{Name: "flush.lsn.source", Type: config.TypeBoolean, Default: "true",
		Doc: "deprecated: false is lsn.flush.mode=manual, true is connector; lsn.flush.mode wins when both are set"})
	d.Define(config.Key{Name: "slot.lag.warning.bytes", Type: config.TypeLong, Default: "1073741824",
		Doc: "Tributary: log a warning while the replication slot makes the server keep more WAL than this (0 turns the warning off); the amount is the metric tributary_postgres_replication_slot_retained_wal_bytes, checked every 30 s"})
	d.Define(config.Key{Name: "schema.include.list", Type: config.TypeList, Validate: config.ValidRegexList,
		Doc: "regular expressions matched against whole schema names; only tables in a matching schema are captured (and also table.include.list/table.exclude.list must select them)"})
	d.Define(config.Key{Name: "schema.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList,
		Doc: "regular expressions matched against whole schema names; tables in a matching schema are not captured"})
	d.Define(config.Key{Name: "publication.name", Default: "dbz_publication", Doc: "publication the pgoutput stream reads (created according to publication.autocreate.mode)"})
	d.Define(config.Key{Name: "publication.autocreate.mode", Default: "all_tables", OneOf: []string{"all_tables", "disabled", "filtered", "no_tables"}, Doc: "creating the publication when missing: all_tables (FOR ALL TABLES, needs a superuser), filtered (the captured tables, kept in step with the filters), no_tables, disabled (it must exist)"})
	d.Define(config.Key{Name: "publish.via.partition.root", Type: config.TypeBoolean, Default: "false", Doc: "create the publication with publish_via_partition_root, so changes of partitions are published as changes of the partitioned table"})
	d.Define(config.Key{Name: "snapshot.mode", Doc: "when to snapshot: initial (when there is no offset yet), initial_only (snapshot, then stop without streaming), no_data (stream only; never is accepted as its old name), when_needed (also when the replication slot is missing), always (at every start); a snapshot interrupted before completion is taken again; Debezium's configuration_based and custom are refused", Default: "initial",
		Validate: oneOf("snapshot.mode", "always", "initial", "initial_only", "no_data", "when_needed", "never")})
	d.Define(config.Key{Name: "hstore.handling.mode", Default: "json", OneOf: []string{"json", "map"}, Doc: "how hstore values are represented: json (a JSON string) or map"})
	d.Define(config.Key{Name: "interval.handling.mode", Default: "numeric", OneOf: []string{"numeric", "string"}, Doc: "how interval values are represented: numeric (microseconds) or string (ISO 8601 duration)"})
	d.Define(config.Key{Name: "status.update.interval.ms", Type: config.TypeInt, Default: "10000", Validate: positive, Doc: "how often the flushed position is reported to the server (keeps the slot's confirmed position current)"})
	d.Define(config.Key{Name: "money.fraction.digits", Type: config.TypeInt, Default: "2", Doc: "scale of money values when decimal.handling.mode=precise"})
	d.Define(config.Key{Name: "unavailable.value.placeholder", Default: "__debezium_unavailable_value", Doc: "value put in place of unchanged TOASTed columns the server did not send"})
	d.Define(config.Key{Name: "toast.lookup.mode", Default: "none", OneOf: []string{"none", "select"},
		Doc: "Tributary: select reads unchanged TOASTed columns of an UPDATE back from the table by primary key (its current value) instead of publishing unavailable.value.placeholder, for tables without REPLICA IDENTITY FULL; such events carry the header " + ToastLookupHeader})
	d.Define(config.Key{Name: "xmin.fetch.interval.ms", Type: config.TypeLong, Default: "0", Doc: "how often the slot's xmin is read into the source info; 0 never"})
	d.Define(config.Key{Name: "message.prefix.include.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions of the logical decoding message prefixes (pg_logical_emit_message) to emit; others are dropped"})
	d.Define(config.Key{Name: "message.prefix.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions of the logical decoding message prefixes not to emit"})
	d.Define(config.Key{Name: "topic.heartbeat.name", Doc: "the heartbeat topic's full name, instead of <topic.heartbeat.prefix>.<topic.prefix> (Tributary)"})
	d.Define(config.Key{Name: "snapshot.select.statement.overrides",
		Doc: "comma-separated <schema>.<table> names whose initial and blocking snapshots read with the SELECT in snapshot.select.statement.overrides.<schema>.<table>"})
	d.AllowPrefix("snapshot.select.statement.overrides.")
	signal.Define(d)
	// Documented PostgresConnectorConfig properties not implemented:
	// accepted at Debezium's default (Tributary's behaviour), refused
	// otherwise with the reason.
	for _, r := range [][3]string{
		{"converters", "", "custom converters are Java classes (CustomConverter SPI)"},
		{"database.connection.factory.class", "", "a Java JDBC connection factory class"},
		{"database.sslfactory", "org.postgresql.ssl.LibPQFactory", "a Java SSL socket factory; use database.sslmode and the certificate properties"},
		{"database.sslpassword", "", "encrypted client keys are not supported; give database.sslkey unencrypted"},
		{"extended.headers.enabled", "", "not implemented"},
		{"max.queue.size.in.bytes", "0", "the queue is bounded by max.queue.size records"},
		{"offset.mismatch.strategy", "", "not implemented"},
		{"read.only", "false", "read-only incremental snapshots are not implemented for PostgreSQL"},
		{"schema.refresh.mode", "columns_diff", "relation messages always refresh the table schema"},
		{"skip.messages.without.change", "false", "not implemented"},
		{"slot.failover", "false", "failover slots (PostgreSQL 17) are not implemented; the servers are PostgreSQL 15"},
		{"slot.stream.params", "", "extra pgoutput parameters are not implemented"},
		{"snapshot.isolation.mode", "serializable", "snapshots run in a REPEATABLE READ transaction on the slot's exported snapshot"},
		{"snapshot.lock.timeout.ms", "10000", "snapshots take no table locks (snapshot.locking.mode=none)"},
		{"snapshot.locking.mode", "none", "snapshots take no table locks: they read the replication slot's exported snapshot"},
		{"snapshot.locking.mode.custom.name", "", "custom snapshot lockers are Java SPI classes"},
		{"snapshot.mode.custom.name", "", "custom snapshotters are Java SPI classes"},
		{"snapshot.query.mode", "select_all", "only select_all is implemented (snapshot.select.statement.overrides adjusts the query)"},
		{"snapshot.query.mode.custom.name", "", "custom snapshot queries are Java SPI classes"},
		{"streaming.delay.ms", "0", "not implemented"},
		{"topic.naming.strategy", "io.debezium.schema.SchemaTopicNamingStrategy", "topics are named by Debezium's default strategy; use RegexRouter to rename them"},
	} {
		d.Refuse(r[0], r[1], r[2])
	}
	for _, p := range []string{"snapshot.data", "snapshot.schema", "start.stream", "snapshot.on.data.error", "snapshot.on.schema.error"} {
		d.Refuse("snapshot.mode.configuration.based."+p, "", "snapshot.mode=configuration_based is not implemented")
	}
	return d
}

func positive(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return fmt.Errorf("must be a positive integer")
	}
	return nil
}

// pgConfig is the parsed connector configuration.
type pgConfig struct {
	host, user, password, dbname, sslmode string
	sslRootCert, sslCert, sslKey          string
	port                                  int
	initialStatements                     []string
	toastLookup                           bool // toast.lookup.mode=select

	topicPrefix      string
	delimiter        string
	heartbeatTopic   string
	transactionTopic string

	slotName          string
	dropSlotOnStop    bool
	publication       string
	pubMode           string
	pubViaRoot        bool
	snapshotMode      string
	snapshotTables    []*regexp.Regexp
	fetchSize         int
	heartbeatInterval time.Duration
	heartbeatQuery    string
	tombstones        bool
	provideTx         bool
	skipped           map[debezium.Op]bool
	skippedExplicit   bool
	statusInterval    time.Duration
	xminInterval      time.Duration
	maxBatch          int
	snapshotThreads   int // snapshot.max.threads
	retries           int
	retryDelay        time.Duration
	// flushMode is lsn.flush.mode: "manual" never confirms a flush
	// position; the other modes confirm committed offsets and idle WAL ends.
	flushMode string
	// slotLagWarn is slot.lag.warning.bytes; 0 disables the warning.
	slotLagWarn int64
	// slotLagInterval is how often the slot's retained WAL is measured
	// (30 s; tests shorten it).
	slotLagInterval time.Duration
	// catchUpHooks let tests see the catch-up reader; nil in use.
	catchUpHooks *catchUpHooks
	// snapshotDelay is snapshot.delay.ms, the wait before a snapshot.
	snapshotDelay time.Duration

	// signals is the signal.* and incremental.snapshot.* configuration;
	// signalTable the signal table (nil without signal.data.collection).
	signals     *signal.Config
	signalTable *tableID
	// selectOverrides are snapshot.select.statement.overrides.<table>.
	selectOverrides map[tableID]string

	tables *debezium.Filter
	// schemaFilter is schema.include.list/schema.exclude.list; a table is
	// captured when both it and tables select it (RelationalTableFilters).
	schemaFilter    *debezium.Filter
	msgPrefixes     *debezium.Filter
	values          valueOptions
	schemas         schemaBuilder
	schemaAdjust    string
	snapshotNoticed []string // configuration notices to log once
}

func parseConfig(v *config.Values, log *slog.Logger) (*pgConfig, error) {
	c := &pgConfig{
		host:        v.String("database.hostname"),
		user:        v.String("database.user"),
		password:    v.String("database.password"),
		dbname:      v.String("database.dbname"),
		sslmode:     v.Lower("database.sslmode"),
		sslRootCert: v.String("database.sslrootcert"),
		sslCert:     v.String("database.sslcert"),
		sslKey:      v.String("database.sslkey"),
		port:        int(v.Int("database.port")),

		topicPrefix:       v.String("topic.prefix"),
		delimiter:         v.String("topic.delimiter"),
		slotName:          v.String("slot.name"),
		dropSlotOnStop:    v.Bool("slot.drop.on.stop"),
		publication:       v.String("publication.name"),
		pubMode:           v.Lower("publication.autocreate.mode"),
		pubViaRoot:        v.Bool("publish.via.partition.root"),
		snapshotMode:      v.Lower("snapshot.mode"),
		fetchSize:         int(v.Int("snapshot.fetch.size")),
		heartbeatInterval: v.Millis("heartbeat.interval.ms"),
		heartbeatQuery:    v.String("heartbeat.action.query"),
		tombstones:        v.Bool("tombstones.on.delete"),
		provideTx:         v.Bool("provide.transaction.metadata"),
		statusInterval:    v.Millis("status.update.interval.ms"),
		xminInterval:      v.Millis("xmin.fetch.interval.ms"),
		maxBatch:          int(v.Int("max.batch.size")),
		retries:           int(v.Int("slot.max.retries")),
		retryDelay:        v.Millis("slot.retry.delay.ms"),
		schemaAdjust:      v.Lower("schema.name.adjustment.mode"),
	}
	if c.delimiter == "" {
		c.delimiter = "."
	}
	if c.snapshotDelay = v.Millis("snapshot.delay.ms"); c.snapshotDelay < 0 {
		return nil, fmt.Errorf("snapshot.delay.ms=%d: must not be negative", v.Int("snapshot.delay.ms"))
	}
	// Common Debezium properties the PostgreSQL connector does not
	// implement (they used to be accepted and ignored): only the default,
	// which is what it does, is accepted.
	for _, r := range []struct{ key, def, reason string }{
		{"event.processing.failure.handling.mode", "fail", "a change the PostgreSQL connector cannot convert fails the task; warn and skip are implemented by the MySQL and MariaDB connectors only"},
		{"include.schema.changes", "true", "the PostgreSQL connector emits no schema change events (Debezium's PostgreSQL connector has no such property)"},
		{"poll.interval.ms", "500", "changes are handed to the runtime as they arrive; there is no queue to poll (Debezium's ChangeEventQueue)"},
		{"database.tcpKeepAlive", "true", "TCP keepalive is always enabled on the connections to PostgreSQL"},
	} {
		if val := strings.TrimSpace(v.String(r.key)); v.IsSet(r.key) && !strings.EqualFold(val, r.def) {
			return nil, fmt.Errorf("%s=%s: not supported: %s (only the default %s is accepted)", r.key, val, r.reason, r.def)
		}
	}
	c.slotLagWarn = v.Int("slot.lag.warning.bytes")
	c.slotLagInterval = 30 * time.Second
	if c.slotLagWarn < 0 {
		return nil, fmt.Errorf("slot.lag.warning.bytes: must not be negative")
	}
	c.flushMode = v.Lower("lsn.flush.mode")
	if !v.IsSet("lsn.flush.mode") && v.IsSet("flush.lsn.source") {
		c.flushMode = "connector"
		if !v.Bool("flush.lsn.source") {
			c.flushMode = "manual"
		}
		c.snapshotNoticed = append(c.snapshotNoticed, "flush.lsn.source is deprecated; use lsn.flush.mode="+c.flushMode)
	}
	if c.fetchSize <= 0 {
		c.fetchSize = 10240
	}
	if c.maxBatch <= 0 {
		c.maxBatch = 2048
	}
	if c.snapshotThreads = int(v.Int("snapshot.max.threads")); c.snapshotThreads < 1 {
		return nil, fmt.Errorf("snapshot.max.threads: %d must be a positive integer", c.snapshotThreads)
	}
	if c.snapshotMode == "never" {
		// Debezium 3.6.1 rejects 'never' (renamed no_data in 2.x); accept it
		// as the old alias so old configurations keep working.
		c.snapshotMode = "no_data"
		c.snapshotNoticed = append(c.snapshotNoticed, "snapshot.mode=never is deprecated and treated as no_data (Debezium 3.6.1 rejects it)")
	}
	if s := v.Raw()["database.initial.statements"]; strings.TrimSpace(s) != "" {
		c.initialStatements = append(c.initialStatements, splitStatements(s)...)
	}
	c.heartbeatTopic = v.String("topic.heartbeat.name")
	if c.heartbeatTopic == "" {
		c.heartbeatTopic = v.String("topic.heartbeat.prefix") + c.delimiter + c.topicPrefix
	}
	c.transactionTopic = c.topicPrefix + c.delimiter + v.String("topic.transaction")

	var err error
	var columns *debezium.Filter
	if c.tables, columns, err = debezium.FiltersFrom(v); err != nil {
		return nil, err
	}
	if c.schemaFilter, err = debezium.NewFilter("schema.include.list", v.List("schema.include.list"),
		"schema.exclude.list", v.List("schema.exclude.list")); err != nil {
		return nil, err
	}
	if c.msgPrefixes, err = debezium.NewFilter("message.prefix.include.list", v.List("message.prefix.include.list"),
		"message.prefix.exclude.list", v.List("message.prefix.exclude.list")); err != nil {
		return nil, err
	}
	if c.skipped, err = debezium.SkippedOps(v); err != nil {
		return nil, err
	}
	c.skippedExplicit = v.IsSet("skipped.operations")
	if s := v.List("snapshot.include.collection.list"); len(s) > 0 {
		if c.snapshotTables, err = compilePatterns("snapshot.include.collection.list", strings.Join(s, ",")); err != nil {
			return nil, err
		}
	}
	digits := v.Int("money.fraction.digits")
	if digits < 0 {
		return nil, fmt.Errorf("money.fraction.digits: must not be negative")
	}
	c.toastLookup = v.Lower("toast.lookup.mode") == "select"
	c.values = valueOptions{
		decimalMode:    v.Lower("decimal.handling.mode"),
		timeMode:       v.Lower("time.precision.mode"),
		binaryMode:     v.Lower("binary.handling.mode"),
		hstoreMode:     v.Lower("hstore.handling.mode"),
		intervalMode:   v.Lower("interval.handling.mode"),
		moneyDigits:    int32(digits),
		placeholder:    v.String("unavailable.value.placeholder"),
		includeUnknown: v.Bool("include.unknown.datatypes"),
	}
	keyRules, err := parseKeyColumns(v.String("message.key.columns"))
	if err != nil {
		return nil, err
	}
	raw := v.Raw()
	for k := range raw {
		switch {
		case strings.HasPrefix(k, "column.mask.with."), strings.HasPrefix(k, "column.mask.hash."), strings.HasPrefix(k, "column.truncate.to."):
			// Ignoring a mask would publish the data it is meant to hide.
			return nil, fmt.Errorf("%s: column masking and truncation are not supported by the PostgreSQL connector", k)
		}
	}
	if c.signals, err = signal.Parse(v, c.topicPrefix); err != nil {
		return nil, err
	}
	if dc := c.signals.DataCollection; dc != "" {
		schema, tbl, _ := strings.Cut(dc, ".")
		c.signalTable = &tableID{Schema: schema, Table: tbl}
	}
	if c.selectOverrides, err = parseSelectOverrides(v); err != nil {
		return nil, err
	}
	propagate, err := compilePatterns("column.propagate.source.type", raw["column.propagate.source.type"])
	if err != nil {
		return nil, err
	}
	propagateType, err := compilePatterns("datatype.propagate.source.type", raw["datatype.propagate.source.type"])
	if err != nil {
		return nil, err
	}
	c.schemas = schemaBuilder{
		topicPrefix:   c.topicPrefix,
		delimiter:     c.delimiter,
		schemaAdjust:  c.schemaAdjust,
		fieldAdjust:   v.Lower("field.name.adjustment.mode"),
		columns:       columns,
		keyRules:      keyRules,
		propagate:     propagate,
		propagateType: propagateType,
		values:        &c.values,
		source:        sourceSchema(c.schemaAdjust),
		log:           log,
	}
	return c, nil
}

// parseSelectOverrides reads snapshot.select.statement.overrides: the list
// names tables, snapshot.select.statement.overrides.<schema>.<table> holds
// each one's SELECT. Debezium warns about a listed table without a
// statement and about statements for unlisted tables it ignores; both are
// errors here, so that no statement is silently left unused.
func parseSelectOverrides(v *config.Values) (map[tableID]string, error) {
	const prop = "snapshot.select.statement.overrides"
	out := map[tableID]string{}
	listed := map[string]bool{}
	for _, name := range v.List(prop) {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		schema, tbl, ok := strings.Cut(name, ".")
		if !ok || schema == "" || tbl == "" || strings.Contains(tbl, ".") {
			return nil, fmt.Errorf("%s: %q is not <schema>.<table>", prop, name)
		}
		stmt := strings.TrimSpace(v.Raw()[prop+"."+name])
		if stmt == "" {
			return nil, fmt.Errorf("%s: table %s is listed but %s.%s holds no SELECT statement", prop, name, prop, name)
		}
		listed[name] = true
		out[tableID{Schema: schema, Table: tbl}] = strings.TrimRight(stmt, "; \t\n")
	}
	for k := range v.Raw() {
		if t, ok := strings.CutPrefix(k, prop+"."); ok && !listed[t] {
			return nil, fmt.Errorf("%s: not supported because %s does not list %s, so the statement would never be used", k, prop, t)
		}
	}
	return out, nil
}

// splitStatements splits database.initial.statements on ';' (';;' is a
// literal semicolon, as in Debezium).
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ';' {
			if i+1 < len(s) && s[i+1] == ';' {
				cur.WriteByte(';')
				i++
				continue
			}
			if t := strings.TrimSpace(cur.String()); t != "" {
				out = append(out, t)
			}
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	if t := strings.TrimSpace(cur.String()); t != "" {
		out = append(out, t)
	}
	return out
}

// dsn builds a libpq URL. Session settings pin the text formats the value
// converters parse (ISO dates, postgres intervals, hex bytea, UTC).
func (c *pgConfig) dsn(replication bool) string {
	u := url.URL{Scheme: "postgres", Host: fmt.Sprintf("%s:%d", c.host, c.port), Path: "/" + c.dbname}
	if c.password != "" {
		u.User = url.UserPassword(c.user, c.password)
	} else {
		u.User = url.User(c.user)
	}
	q := url.Values{}
	q.Set("sslmode", c.sslmode)
	if c.sslRootCert != "" {
		q.Set("sslrootcert", c.sslRootCert)
	}
	if c.sslCert != "" {
		q.Set("sslcert", c.sslCert)
	}
	if c.sslKey != "" {
		q.Set("sslkey", c.sslKey)
	}
	q.Set("application_name", "tributary")
	q.Set("DateStyle", "ISO")
	q.Set("IntervalStyle", "postgres")
	q.Set("TimeZone", "UTC")
	q.Set("bytea_output", "hex")
	q.Set("extra_float_digits", "3")
	if replication {
		q.Set("replication", "database")
	}
	u.RawQuery = q.Encode()
	return u.String()
}
