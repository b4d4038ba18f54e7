package mysql

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/internal/config"
	"github.com/tributary-io/tributary/internal/debezium"
)

// flavor distinguishes the MySQL and MariaDB connectors, which share all
// code but their names, a few defaults and GTID handling.
type flavor struct {
	class     string
	aliases   []string
	connector string // source.connector
	mariadb   bool
}

var (
	mysqlFlavor   = flavor{class: "io.debezium.connector.mysql.MySqlConnector", aliases: []string{"mysql", "MySqlConnector"}, connector: "mysql"}
	mariadbFlavor = flavor{class: "io.debezium.connector.mariadb.MariaDbConnector", aliases: []string{"mariadb", "MariaDbConnector"}, connector: "mariadb", mariadb: true}
)

func (f flavor) sourceSchemaName() string {
	return "io.debezium.connector." + f.connector + ".Source"
}

// Debezium's documented range for a random database.server.id.
const (
	serverIDMin = 5400
	serverIDMax = 6400
)

// snapshot modes of BinlogConnectorConfig.SnapshotMode, plus the pre-2.6
// names that Debezium maps to their replacements.
var snapshotModes = []string{"always", "when_needed", "initial", "no_data", "recovery", "initial_only", "schema_only", "schema_only_recovery", "never", "configuration_based", "custom"}

func connectorDef(f flavor) *config.Def {
	d := config.NewDef().Merge(debezium.CommonDef())
	d.Define(config.Key{Name: "database.port", Type: config.TypeInt, Default: "3306", Importance: config.High})
	d.Define(config.Key{Name: "database.server.id", Type: config.TypeLong, Importance: config.High, Validate: positiveLong,
		Doc: "numeric id of this replication client, unique among the server's replicas (default: random between 5400 and 6400)"})
	d.Define(config.Key{Name: "database.server.id.offset", Type: config.TypeLong, Default: "10000"})
	d.Define(config.Key{Name: "database.include.list", Type: config.TypeList, Validate: config.ValidRegexList, Aliases: []string{"database.whitelist"}})
	d.Define(config.Key{Name: "database.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList, Aliases: []string{"database.blacklist"}})
	d.Define(config.Key{Name: "table.ignore.builtin", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "snapshot.mode", Default: "initial", OneOf: snapshotModes})
	if f.mariadb {
		d.Define(config.Key{Name: "snapshot.locking.mode", Default: "minimal", OneOf: []string{"extended", "minimal", "none", "custom"}})
		d.Define(config.Key{Name: "database.ssl.mode", Default: "disable", OneOf: []string{"disable", "trust", "verify-ca", "verify-full"}})
	} else {
		d.Define(config.Key{Name: "snapshot.locking.mode", Default: "minimal", OneOf: []string{"extended", "minimal", "minimal_percona", "minimal_percona_no_table_locks", "none", "custom"}})
		d.Define(config.Key{Name: "database.ssl.mode", Default: "preferred", OneOf: []string{"disabled", "preferred", "required", "verify_ca", "verify_identity"}})
	}
	d.Define(config.Key{Name: "database.ssl.keystore"})
	d.Define(config.Key{Name: "database.ssl.keystore.password", Type: config.TypePassword})
	d.Define(config.Key{Name: "database.ssl.truststore"})
	d.Define(config.Key{Name: "database.ssl.truststore.password", Type: config.TypePassword})
	d.Define(config.Key{Name: "snapshot.lock.timeout.ms", Type: config.TypeLong, Default: "10000"})
	d.Define(config.Key{Name: "connect.timeout.ms", Type: config.TypeInt, Default: "30000"})
	d.Define(config.Key{Name: "connect.keep.alive", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "connect.keep.alive.interval.ms", Type: config.TypeLong, Default: "60000"})
	d.Define(config.Key{Name: "binlog.buffer.size", Type: config.TypeInt, Default: "0"})
	d.Define(config.Key{Name: "binlog.net.write.timeout", Type: config.TypeLong, Default: "0"})
	d.Define(config.Key{Name: "binlog.net.read.timeout", Type: config.TypeLong, Default: "0"})
	d.Define(config.Key{Name: "min.row.count.to.stream.results", Type: config.TypeInt, Default: "1000"})
	d.Define(config.Key{Name: "include.query", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "time.precision.mode", Default: "adaptive_time_microseconds", OneOf: []string{"adaptive_time_microseconds", "connect"}})
	d.Define(config.Key{Name: "bigint.unsigned.handling.mode", Default: "long", OneOf: []string{"long", "precise"}})
	d.Define(config.Key{Name: "inconsistent.schema.handling.mode", Default: "fail", OneOf: []string{"fail", "warn", "skip"}})
	d.Define(config.Key{Name: "event.deserialization.failure.handling.mode", Default: "fail", OneOf: []string{"fail", "warn", "ignore"}})
	d.Define(config.Key{Name: "enable.time.adjuster", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "read.only", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "gtid.source.includes", Type: config.TypeList})
	d.Define(config.Key{Name: "gtid.source.excludes", Type: config.TypeList})
	d.Define(config.Key{Name: "gtid.source.filter.dml.events", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "gtid.ignore.on.recovery", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "use.nongraceful.disconnect", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "topic.naming.strategy", Default: "io.debezium.schema.DefaultTopicNamingStrategy"})
	d.Define(config.Key{Name: "database.jdbc.driver"})
	d.Define(config.Key{Name: "database.protocol"})
	d.Define(config.Key{Name: "ddl.parser.type", Default: "default", OneOf: []string{"default", "legacy"}})
	d.Define(config.Key{Name: "snapshot.select.statement.overrides"})
	d.Define(config.Key{Name: "source.info.struct.maker"})
	// Schema history: Debezium's Kafka schema history properties. The
	// history is written through the runtime's producer, so the bootstrap
	// servers are accepted for compatibility; the runtime's Kafka is used.
	d.Define(config.Key{Name: "schema.history.internal.kafka.topic", Doc: "topic holding the database schema history", Importance: config.High})
	d.Define(config.Key{Name: "schema.history.internal.kafka.bootstrap.servers", Importance: config.High})
	d.Define(config.Key{Name: "schema.history.internal", Default: "io.debezium.storage.kafka.history.KafkaSchemaHistory"})
	d.Define(config.Key{Name: "schema.history.internal.store.only.captured.tables.ddl", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "schema.history.internal.store.only.captured.databases.ddl", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "schema.history.internal.skip.unparseable.ddl", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "schema.history.internal.ddl.filter", Default: defaultDDLFilter})
	d.AllowPrefix("schema.history.internal.", "snapshot.select.statement.overrides.", "snapshot.mode.")
	return d
}

// defaultDDLFilter is Debezium's schema.history.internal.ddl.filter
// default: statements that are never recorded.
const defaultDDLFilter = `DROP TEMPORARY TABLE IF EXISTS .+ /\* generated by server \*/,INSERT INTO (mysql\.)?rds_heartbeat2\(.*\) values \(.*\) ON DUPLICATE KEY UPDATE value = .*,DELETE FROM (mysql\.)?rds_sysinfo.*,INSERT INTO (mysql\.)?rds_sysinfo.*,FLUSH RELAY LOGS.*,flush relay logs.*,SAVEPOINT .*,^\s*#.*`

func positiveLong(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("must be a positive integer")
	}
	return nil
}

// settings are the parsed properties the task uses.
type settings struct {
	flavor              flavor
	topicPrefix         string
	host                string
	port                int
	user, password      string
	serverID            uint32
	sslMode             string
	sslTruststore       string
	connectTimeout      time.Duration
	keepAlive           bool
	keepAliveInterval   time.Duration
	snapshotMode        string
	lockingMode         string
	lockTimeout         time.Duration
	fetchSize           int
	includeSchemaChange bool
	includeQuery        bool
	tombstones          bool
	txMetadata          bool
	txTopic             string
	heartbeatInterval   time.Duration
	heartbeatTopic      string
	historyTopic        string
	skipUnparseable     bool
	storeOnlyTables     bool
	storeOnlyDBs        bool
	ignoreBuiltin       bool
	inconsistentMode    string
	schemaNameMode      string
	fieldNameMode       string
	topicDelimiter      string
	maxBatch            int
	types               typeOptions
	skipped             map[debezium.Op]bool
	ddlFilter           []*regexp.Regexp
	keyColumns          []keyOverride
	initialStatements   []string
	gtidIncludes        []string
	gtidExcludes        []string
}

type keyOverride struct {
	table *regexp.Regexp
	cols  []string
}

func parseSettings(f flavor, v *config.Values) (*settings, error) {
	s := &settings{
		flavor:              f,
		topicPrefix:         v.String("topic.prefix"),
		host:                v.String("database.hostname"),
		port:                int(v.Int("database.port")),
		user:                v.String("database.user"),
		password:            v.String("database.password"),
		sslMode:             v.Lower("database.ssl.mode"),
		sslTruststore:       v.String("database.ssl.truststore"),
		connectTimeout:      v.Millis("connect.timeout.ms"),
		keepAlive:           v.Bool("connect.keep.alive"),
		keepAliveInterval:   v.Millis("connect.keep.alive.interval.ms"),
		snapshotMode:        v.Lower("snapshot.mode"),
		lockingMode:         v.Lower("snapshot.locking.mode"),
		lockTimeout:         v.Millis("snapshot.lock.timeout.ms"),
		fetchSize:           int(v.Int("snapshot.fetch.size")),
		includeSchemaChange: v.Bool("include.schema.changes"),
		includeQuery:        v.Bool("include.query"),
		tombstones:          v.Bool("tombstones.on.delete"),
		txMetadata:          v.Bool("provide.transaction.metadata"),
		heartbeatInterval:   v.Millis("heartbeat.interval.ms"),
		historyTopic:        v.String("schema.history.internal.kafka.topic"),
		skipUnparseable:     v.Bool("schema.history.internal.skip.unparseable.ddl"),
		storeOnlyTables:     v.Bool("schema.history.internal.store.only.captured.tables.ddl"),
		storeOnlyDBs:        v.Bool("schema.history.internal.store.only.captured.databases.ddl"),
		ignoreBuiltin:       v.Bool("table.ignore.builtin"),
		inconsistentMode:    v.Lower("inconsistent.schema.handling.mode"),
		schemaNameMode:      v.Lower("schema.name.adjustment.mode"),
		fieldNameMode:       v.Lower("field.name.adjustment.mode"),
		topicDelimiter:      v.String("topic.delimiter"),
		maxBatch:            int(v.Int("max.batch.size")),
		gtidIncludes:        v.List("gtid.source.includes"),
		gtidExcludes:        v.List("gtid.source.excludes"),
		types: typeOptions{
			decimalMode:    v.Lower("decimal.handling.mode"),
			bigintUnsigned: v.Lower("bigint.unsigned.handling.mode"),
			timePrecision:  v.Lower("time.precision.mode"),
			binaryMode:     v.Lower("binary.handling.mode"),
		},
	}
	if !v.IsSet("time.precision.mode") {
		s.types.timePrecision = "adaptive_time_microseconds"
	}
	switch s.snapshotMode {
	case "schema_only":
		s.snapshotMode = "no_data"
	case "schema_only_recovery":
		s.snapshotMode = "recovery"
	case "configuration_based", "custom":
		return nil, config.Errors{{Name: "snapshot.mode", Value: s.snapshotMode, Message: "is not supported by Tributary; use initial, initial_only, no_data, never, when_needed, recovery or always"}}
	}
	if s.lockingMode == "custom" {
		return nil, config.Errors{{Name: "snapshot.locking.mode", Value: "custom", Message: "custom snapshot lock implementations are not supported; use minimal, extended or none"}}
	}
	if s.fetchSize <= 0 {
		s.fetchSize = 10000
	}
	if s.maxBatch <= 0 {
		s.maxBatch = 2048
	}
	if v.IsSet("database.server.id") {
		s.serverID = uint32(v.Int("database.server.id"))
	} else {
		s.serverID = uint32(serverIDMin + rand.IntN(serverIDMax-serverIDMin+1))
	}
	s.txTopic = s.topicPrefix + s.topicDelimiter + v.String("topic.transaction")
	s.heartbeatTopic = debezium.HeartbeatTopic(v.String("topic.heartbeat.prefix"), s.topicPrefix)
	var err error
	if s.skipped, err = debezium.SkippedOps(v); err != nil {
		return nil, err
	}
	for _, p := range splitDDLFilter(v.String("schema.history.internal.ddl.filter")) {
		re, err := regexp.Compile("(?is)^(?:" + p + ")$")
		if err != nil {
			return nil, config.Errors{{Name: "schema.history.internal.ddl.filter", Value: p, Message: "invalid regular expression: " + err.Error()}}
		}
		s.ddlFilter = append(s.ddlFilter, re)
	}
	if mk := v.String("message.key.columns"); mk != "" {
		for _, part := range strings.Split(mk, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			tbl, cols, ok := strings.Cut(part, ":")
			if !ok {
				return nil, config.Errors{{Name: "message.key.columns", Value: mk, Message: "each entry must be <db>.<table regex>:<column>[,<column>...]"}}
			}
			re, err := regexp.Compile("(?i)^(?:" + strings.TrimSpace(tbl) + ")$")
			if err != nil {
				return nil, config.Errors{{Name: "message.key.columns", Value: tbl, Message: "invalid regular expression: " + err.Error()}}
			}
			ko := keyOverride{table: re}
			for _, c := range strings.Split(cols, ",") {
				if c = strings.TrimSpace(c); c != "" {
					ko.cols = append(ko.cols, c)
				}
			}
			s.keyColumns = append(s.keyColumns, ko)
		}
	}
	if st := v.String("database.initial.statements"); st != "" {
		// ";;" escapes a semicolon inside a statement
		for _, p := range strings.Split(strings.ReplaceAll(st, ";;", "\x00"), ";") {
			if p = strings.TrimSpace(strings.ReplaceAll(p, "\x00", ";")); p != "" {
				s.initialStatements = append(s.initialStatements, p)
			}
		}
	}
	if s.historyTopic == "" {
		return nil, config.Errors{{Name: "schema.history.internal.kafka.topic", Message: "missing required property (the topic that stores the database schema history)"}}
	}
	return s, nil
}

// splitDDLFilter splits the comma-separated filter list; commas inside
// parentheses or braces belong to the expression.
func splitDDLFilter(s string) []string {
	var out []string
	depth := 0
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
		case ',':
			if depth == 0 {
				if p := strings.TrimSpace(s[start:i]); p != "" {
					out = append(out, p)
				}
				start = i + 1
			}
		}
	}
	if p := strings.TrimSpace(s[start:]); p != "" {
		out = append(out, p)
	}
	return out
}

func (s *settings) ddlFiltered(sql string) bool {
	for _, re := range s.ddlFilter {
		if re.MatchString(sql) {
			return true
		}
	}
	return false
}
