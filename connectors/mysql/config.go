package mysql

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
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
	d.Define(config.Key{Name: "database.port", Doc: "TCP port of the MySQL or MariaDB server", Type: config.TypeInt, Default: "3306", Importance: config.High})
	d.Define(config.Key{Name: "database.server.id", Type: config.TypeLong, Importance: config.High, Validate: positiveLong,
		Doc: "numeric id of this replication client, unique among the server's replicas (default: random between 5400 and 6400)"})
	// Debezium gives its parallel snapshot readers (snapshot.max.threads >
	// 1) server ids from this offset because they are binlog clients;
	// Tributary's readers are plain SQL sessions, which need none.
	d.Define(config.Key{Name: "database.include.list", Doc: "regular expressions matched against whole database names; only tables in a matching database are captured (table.include.list/table.exclude.list must also select them); may not be combined with database.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "database.exclude.list", Doc: "regular expressions matched against whole database names; tables in a matching database are not captured; may not be combined with database.include.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "table.ignore.builtin", Doc: "leave out the server's own databases (mysql, sys, performance_schema, information_schema) from capture and from the snapshot's schema history, whatever the include lists say", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "snapshot.mode", Doc: "when to snapshot: initial (when there is no offset yet), initial_only (snapshot, then stop without streaming), no_data (schema only, then stream; schema_only is its old name), never (stream from the current binlog position; the history must exist), when_needed (also when the stored binlog position is no longer on the server), recovery (rebuild a lost schema history topic from the current schemas, then stream from the stored offset; schema_only_recovery is its old name), always (at every start); configuration_based and custom are refused", Default: "initial", OneOf: snapshotModes})
	if f.mariadb {
		d.Define(config.Key{Name: "snapshot.locking.mode", Doc: "how the snapshot keeps the schema stable: minimal (FLUSH TABLES WITH READ LOCK only while the schemas are read and the binlog position is taken; falls back to FLUSH TABLES ... WITH READ LOCK on the captured tables, held until the data is read), extended (the read lock held until the whole snapshot is read), none (no locks: safe only if no DDL runs during the snapshot; the user then needs no RELOAD privilege); custom is refused", Default: "minimal", OneOf: []string{"extended", "minimal", "none", "custom"}})
		d.Define(config.Key{Name: "database.ssl.mode", Doc: "TLS to the server: disable, trust (encrypt if the server offers it, certificate not checked), verify-ca (the certificate must be signed by database.ssl.truststore, host name not checked), verify-full (also the host name)", Default: "disable", OneOf: []string{"disable", "trust", "verify-ca", "verify-full"}})
	} else {
		d.Define(config.Key{Name: "snapshot.locking.mode", Doc: "how the snapshot keeps the schema stable: minimal (FLUSH TABLES WITH READ LOCK only while the schemas are read and the binlog position is taken; falls back to FLUSH TABLES ... WITH READ LOCK on the captured tables, held until the data is read), extended (the read lock held until the whole snapshot is read), none (no locks: safe only if no DDL runs during the snapshot; the user then needs no RELOAD privilege); Percona's backup locks (minimal_percona*) and custom are refused", Default: "minimal", OneOf: []string{"extended", "minimal", "minimal_percona", "minimal_percona_no_table_locks", "none", "custom"},
			Validate: func(v string) error {
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "minimal_percona") {
					return errors.New("the backup locks of Percona Server (LOCK TABLES FOR BACKUP) are not implemented; use minimal, extended or none")
				}
				return nil
			}})
		d.Define(config.Key{Name: "database.ssl.mode", Doc: "TLS to the server: disabled, preferred (encrypt if the server offers it, certificate not checked), required (encrypt, certificate not checked), verify_ca (the certificate must be signed by database.ssl.truststore, host name not checked), verify_identity (also the host name)", Default: "preferred", OneOf: []string{"disabled", "preferred", "required", "verify_ca", "verify_identity"}})
	}
	d.Define(config.Key{Name: "database.ssl.keystore", Doc: "PEM file with the client certificate and its unencrypted private key, for servers that require client certificates"})
	d.Define(config.Key{Name: "database.ssl.keystore.password", Doc: "refused whatever its value: Tributary reads database.ssl.keystore as a PEM file with an unencrypted private key, not a Java keystore", Type: config.TypePassword, Validate: reject("Java keystores and encrypted keys are not supported; give database.ssl.keystore as a PEM file with an unencrypted private key")})
	d.Define(config.Key{Name: "database.ssl.truststore", Doc: "PEM file with the certificates that sign the server's certificate"})
	d.Define(config.Key{Name: "database.ssl.truststore.password", Doc: "refused whatever its value: Tributary reads database.ssl.truststore as a PEM file, which has no password, not a Java keystore", Type: config.TypePassword, Validate: reject("Java keystores are not supported; give database.ssl.truststore as a PEM file, which has no password")})
	d.Define(config.Key{Name: "snapshot.lock.timeout.ms", Doc: "how long the snapshot waits for its locks: sets the session's lock_wait_timeout and innodb_lock_wait_timeout (rounded down to whole seconds, at least 1)", Type: config.TypeLong, Default: "10000"})
	d.Define(config.Key{Name: "connect.timeout.ms", Doc: "how long connecting to the server (SQL and binlog connections) may take before the attempt fails", Type: config.TypeInt, Default: "30000"})
	d.Define(config.Key{Name: "connect.keep.alive", Doc: "check the binlog connection: the server is asked for heartbeat events and a connection silent for connect.keep.alive.interval.ms is closed and opened again from the last position; false leaves a dead peer to TCP keep-alive", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "connect.keep.alive.interval.ms", Doc: "with connect.keep.alive: the server sends a heartbeat event every 0.8 of this interval, and a binlog connection that receives nothing for the whole interval is considered lost and reconnected", Type: config.TypeLong, Default: "60000"})
	d.Define(config.Key{Name: "binlog.net.write.timeout", Type: config.TypeLong, Default: "0", Validate: nonNegative,
		Doc: "net_write_timeout in seconds for the binlog connection's session (0: the server's)"})
	d.Define(config.Key{Name: "binlog.net.read.timeout", Type: config.TypeLong, Default: "0", Validate: nonNegative,
		Doc: "net_read_timeout in seconds for the binlog connection's session (0: the server's)"})
	// Rows are always streamed from the server one at a time (go-sql-driver
	// reads result sets incrementally), what Debezium does for tables of at
	// least this many rows; the events are the same either way.
	d.Define(config.Key{Name: "include.query", Doc: "put the SQL statement that caused a row change into source.query of its events; needs binlog_rows_query_log_events=ON (MySQL) or binlog_annotate_row_events=ON (MariaDB) on the server, otherwise source.query stays null and validate says so", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "time.precision.mode", Doc: "how TIME, DATE, DATETIME and TIMESTAMP columns are represented: adaptive_time_microseconds (Debezium's default: io.debezium.time.* types, TIME as MicroTime) or connect (Kafka Connect's Date, Time and Timestamp logical types, millisecond precision); adaptive is refused as in Debezium, and the other modes are not implemented", Default: "adaptive_time_microseconds", Validate: func(v string) error {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "adaptive_time_microseconds", "connect":
			return nil
		case "adaptive":
			// BinlogConnectorConfig.validateTimePrecisionMode
			return errors.New("the 'adaptive' time.precision.mode is no longer supported (as in Debezium: TIME values would overflow); use adaptive_time_microseconds or connect")
		case "isostring", "microseconds", "nanoseconds", "structured":
			return errors.New("not implemented by Tributary's MySQL and MariaDB connectors; use adaptive_time_microseconds or connect")
		}
		return errors.New("must be one of adaptive_time_microseconds, connect")
	}})
	d.Define(config.Key{Name: "bigint.unsigned.handling.mode", Doc: "how BIGINT UNSIGNED columns are represented: long (int64; values above 2^63-1 wrap around) or precise (Connect Decimal with scale 0, exact)", Default: "long", OneOf: []string{"long", "precise"}})
	d.Define(config.Key{Name: "inconsistent.schema.handling.mode", Doc: "what to do with a binlog row event of a table whose schema is not in the schema history: fail (stop with the binlog position and the fix), warn (log and skip the event) or skip (skip silently)", Default: "fail", OneOf: []string{"fail", "warn", "skip"}})
	d.Define(config.Key{Name: "event.processing.failure.handling.mode", Default: "fail", OneOf: []string{"fail", "warn", "skip", "ignore"},
		Doc: "what to do with a binlog event that cannot be decoded or turned into change events: fail, or skip it with a warning (warn) or without (skip, ignore)"})
	d.Define(config.Key{Name: "event.converting.failure.handling.mode", Default: "warn", OneOf: []string{"fail", "warn", "skip"},
		Doc: "what to do with a column value that cannot be converted: fail, or emit null with a warning (warn) or without (skip)"})
	d.Define(config.Key{Name: "enable.time.adjuster", Doc: "read two-digit years of DATE, DATETIME and TIMESTAMP values as MySQL does: 00-69 become 2000-2069 and 70-99 become 1970-1999; false keeps the year as stored", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "read.only", Type: config.TypeBoolean, Default: "false",
		Doc: "incremental snapshots take GTID sets as watermarks (@@global.gtid_executed, MariaDB @@gtid_binlog_pos) instead of writing to the signal table; needs GTIDs"})
	signal.Define(d)
	d.Define(config.Key{Name: "gtid.source.includes", Doc: "regular expressions matched against GTID sources (the server UUID on MySQL, domain-server on MariaDB): only the GTIDs of matching sources count when a restart checks that the server still has the binlog after the offset and when the schema history is replayed, and with gtid.source.filter.dml.events only their row changes are emitted; may not be combined with gtid.source.excludes", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "gtid.source.excludes", Doc: "regular expressions matched against GTID sources (the server UUID on MySQL, domain-server on MariaDB): the GTIDs of matching sources do not count when a restart checks that the server still has the binlog after the offset or when the schema history is replayed, and with gtid.source.filter.dml.events their row changes are not emitted; may not be combined with gtid.source.includes", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "gtid.source.filter.dml.events", Doc: "with gtid.source.includes/excludes set, skip the row changes of transactions whose GTID source the filter leaves out", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "gtid.ignore.on.recovery", Doc: "on restart, resume from the stored binlog file and position even when the offset holds a GTID set (as when GTIDs changed on the server); incremental snapshots with read.only=true then cannot run", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "use.nongraceful.disconnect", Doc: "close the binlog connection with a TCP reset (SO_LINGER 0) instead of a normal close, so that no socket lingers in TIME_WAIT (as Debezium's option for the same purpose)", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "topic.naming.strategy", Doc: "topics are named <topic.prefix>.<database>.<table> as Debezium's DefaultTopicNamingStrategy does; other strategies are Java classes and are refused", Default: "io.debezium.schema.DefaultTopicNamingStrategy",
		Validate: oneClass("custom topic naming strategies are Java classes; topics are named <topic.prefix>.<database>.<table> as io.debezium.schema.DefaultTopicNamingStrategy does",
			"io.debezium.schema.DefaultTopicNamingStrategy")})
	// Tributary speaks the MySQL protocol itself: there is no JDBC driver
	// or URL scheme to choose. Debezium's defaults are accepted so that
	// its configurations load unchanged.
	d.Define(config.Key{Name: "database.jdbc.driver", Doc: "Tributary speaks the MySQL protocol itself and uses no JDBC driver: Debezium's driver class names are accepted so that its configurations load, any other value is refused", Validate: oneClass("Tributary does not use a JDBC driver",
		"com.mysql.cj.jdbc.Driver", "com.mysql.jdbc.Driver", "org.mariadb.jdbc.Driver")})
	d.Define(config.Key{Name: "database.protocol", Doc: "Tributary uses no JDBC driver: jdbc:mysql and jdbc:mariadb are accepted so that Debezium configurations load, any other value is refused", Validate: oneClass("Tributary does not use a JDBC driver", "jdbc:mysql", "jdbc:mariadb")})
	d.Define(config.Key{Name: "ddl.parser.type", Doc: "Tributary has one DDL parser (MySQL and MariaDB dialects); default is accepted, legacy is refused", Default: "default", OneOf: []string{"default", "legacy"}, Validate: func(v string) error {
		if strings.EqualFold(strings.TrimSpace(v), "legacy") {
			return errors.New("there is one DDL parser in Tributary; only default is supported")
		}
		return nil
	}})
	d.Define(config.Key{Name: "snapshot.select.statement.overrides", Doc: "comma-separated <database>.<table> names whose snapshot rows are read with the statement in snapshot.select.statement.overrides.<database>.<table> instead of SELECT * (to snapshot a subset, for example)", Type: config.TypeList})
	// Debezium properties that only tune how its Java code does what
	// Tributary does one way: accepted at Debezium's default, refused with
	// the reason at any other value.
	d.Refuse("database.server.id.offset", "10000", "it gives server ids to the binlog clients of Debezium's parallel snapshots; Tributary's parallel snapshot readers (snapshot.max.threads) are SQL connections that need none")
	d.Refuse("min.row.count.to.stream.results", "1000", "Tributary streams the rows of every table from the server (as Debezium does with 0); the threshold only decides which tables Debezium buffers in memory, without changing any event")
	d.Refuse("binlog.buffer.size", "0", "the look-ahead buffer that drops the changes of transactions ending in ROLLBACK is not implemented (0: no buffer)")
	d.Refuse("max.queue.size.in.bytes", "0", "the connector hands records to the runtime at most max.batch.size at a time and the runtime bounds the bytes in flight itself (4 MiB, like the producer's buffer.memory)")
	d.Refuse("snapshot.query.mode", "select_all", "custom snapshot query implementations are Java classes; use select_all with snapshot.select.statement.overrides")
	d.Define(config.Key{Name: "snapshot.query.mode.custom.name", Doc: "refused whatever its value: it only applies to snapshot.query.mode=custom, a Java class, which is not supported", Validate: reject("only applies to snapshot.query.mode=custom, which is not supported")})
	d.Define(config.Key{Name: "source.info.struct.maker", Doc: "the source block of events is Debezium's; Debezium's own MySqlSourceInfoStructMaker and MariaDbSourceInfoStructMaker are accepted, other (Java) classes are refused", Validate: oneClass("custom source block classes are Java classes",
		"io.debezium.connector.mysql.MySqlSourceInfoStructMaker", "io.debezium.connector.mariadb.MariaDbSourceInfoStructMaker")})
	d.Define(config.Key{Name: "converters", Type: config.TypeList,
		Doc: "custom converters by name; <name>.type is the class: io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter (or the MySQL-named one) is built in"})
	d.AllowNamed("converters")
	d.Define(config.Key{Name: "skip.messages.without.change", Doc: "do not emit an update event whose after state equals its before state (for example after column.exclude.list or a column that is not captured changed)", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "streaming.delay.ms", Doc: "wait this long after a completed snapshot before streaming starts", Type: config.TypeLong, Default: "0", Validate: nonNegative})
	d.Define(config.Key{Name: "snapshot.delay.ms", Doc: "wait this long after the task starts before the snapshot begins (to let the other connectors of a cluster start first, as in Debezium)", Type: config.TypeLong, Default: "0", Validate: nonNegative})
	d.Define(config.Key{Name: "snapshot.max.threads", Type: config.TypeInt, Default: "1", Validate: positiveLong,
		Doc: "tables the initial snapshot reads at once, each on its own connection in the same consistent snapshot"})
	d.Define(config.Key{Name: "topic.heartbeat.name", Doc: "the heartbeat topic's full name, instead of <topic.heartbeat.prefix>.<topic.prefix>"})
	d.Define(config.Key{Name: "include.schema.comments", Doc: "put the column comments of the tables into the doc of each field's Connect schema (and so into the Avro/JSON Schema documents)", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "include.unknown.datatypes", Doc: "only false is supported: every MySQL and MariaDB type the connector reads has a mapping, and the types it does not support (UUID, INET4, INET6, VECTOR) are refused by name", Type: config.TypeBoolean, Default: "false", Validate: func(v string) error {
		if strings.EqualFold(strings.TrimSpace(v), "true") {
			return errors.New("every MySQL and MariaDB type the connector reads has a mapping, and the types it does not support (UUID, INET4, INET6, VECTOR) are refused by name; only false is supported")
		}
		return nil
	}})
	// Schema history: Debezium's Kafka schema history properties. The
	// history is written through the runtime's producer, so the bootstrap
	// servers are accepted for compatibility; the runtime's Kafka is used.
	d.Define(config.Key{Name: "schema.history.internal.kafka.topic", Doc: "topic holding the database schema history", Importance: config.High})
	d.Define(config.Key{Name: "schema.history.internal.kafka.bootstrap.servers", Doc: "Kafka cluster of the schema history topic; when it names the worker's own cluster (or is empty) the history is written through the worker's client, otherwise through a client of its own configured by schema.history.internal.producer.* and .consumer.*", Importance: config.High})
	d.Define(config.Key{Name: "schema.history.internal", Default: kafkaHistoryClass, Validate: historyClassProblem,
		Doc: "where the schema history is kept, in Debezium's record format: " + kafkaHistoryClass + " (a Kafka topic, schema.history.internal.kafka.*), " +
			fileHistoryClass + " (a file, schema.history.internal.file.filename) or " + redisHistoryClass + " (a Redis stream, schema.history.internal.redis.*; " +
			redisHistoryClassOld + " is its old name); the file and Redis stores need no Kafka, for Kafka-less pipelines. MemorySchemaHistory and other classes are refused"})
	defineHistoryStores(d)
	d.Define(config.Key{Name: "schema.history.internal.store.only.captured.tables.ddl", Doc: "record in the schema history only the DDL of captured tables (as Debezium: smaller history, but a table added to the include list later has no history and needs a new snapshot)", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "schema.history.internal.store.only.captured.databases.ddl", Doc: "record in the schema history only the DDL of databases that hold captured tables", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "schema.history.internal.skip.unparseable.ddl", Doc: "log and skip DDL statements the parser cannot read instead of failing (the history may then miss a change: use with care, as in Debezium)", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "schema.history.internal.ddl.filter", Doc: "comma-separated regular expressions of DDL statements that are never recorded in the schema history nor parsed (the default is Debezium's: RDS heartbeat statements, FLUSH RELAY LOGS, SAVEPOINT, temporary tables dropped by the server, comments)", Default: defaultDDLFilter})
	d.AllowPrefix("schema.history.internal.", "snapshot.select.statement.overrides.", "snapshot.mode.")
	return d
}

// reject is a Validate that refuses a property whatever its value.
func reject(reason string) func(string) error {
	return func(string) error { return errors.New(reason) }
}

// oneClass accepts only the named values (Debezium's defaults, or the
// classes Tributary builds in) and refuses others with the reason.
func oneClass(reason string, accepted ...string) func(string) error {
	return func(v string) error {
		v = strings.TrimSpace(v)
		for _, a := range accepted {
			if v == a {
				return nil
			}
		}
		return fmt.Errorf("%s; only %s is supported", reason, strings.Join(accepted, ", "))
	}
}

func nonNegative(v string) error {
	if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil || n < 0 {
		return errors.New("must not be negative")
	}
	return nil
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
	historyClass        string // schema.history.internal (the old Redis class name made the new)
	historyFile         string // schema.history.internal.file.filename
	historyRedis        redisHistoryConfig
	historyClient       historyClient
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
	// gtidFilter selects GTID sources (MySQL server UUIDs, MariaDB
	// "domain-server"); nil when neither gtid.source list is set.
	gtidFilter    *debezium.Filter
	gtidFilterDML bool
	// binlog connection session settings (seconds, 0: the server's)
	netReadTimeout, netWriteTimeout int64
	nongraceful                     bool
	sslKeystore                     string

	snapshotDelay   time.Duration
	streamingDelay  time.Duration
	snapshotTables  *debezium.Filter // snapshot.include.collection.list; nil: every captured table
	selectOverrides map[TableID]string
	heartbeatQuery  string
	pollInterval    time.Duration
	processingMode  string // event.processing.failure.handling.mode
	convertingMode  string // event.converting.failure.handling.mode
	skipUnchanged   bool
	includeComments bool

	// signals is the signal.* and incremental.snapshot.* configuration;
	// readOnly (read.only) takes incremental snapshot watermarks from GTID
	// sets instead of signal table writes.
	signals  *signal.Config
	readOnly bool
	// snapshotThreads is snapshot.max.threads.
	snapshotThreads int
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
		gtidFilterDML:       v.Bool("gtid.source.filter.dml.events"),
		netReadTimeout:      v.Int("binlog.net.read.timeout"),
		netWriteTimeout:     v.Int("binlog.net.write.timeout"),
		nongraceful:         v.Bool("use.nongraceful.disconnect"),
		sslKeystore:         v.String("database.ssl.keystore"),
		snapshotDelay:       v.Millis("snapshot.delay.ms"),
		streamingDelay:      v.Millis("streaming.delay.ms"),
		heartbeatQuery:      v.String("heartbeat.action.query"),
		pollInterval:        v.Millis("poll.interval.ms"),
		processingMode:      v.Lower("event.processing.failure.handling.mode"),
		convertingMode:      v.Lower("event.converting.failure.handling.mode"),
		skipUnchanged:       v.Bool("skip.messages.without.change"),
		includeComments:     v.Bool("include.schema.comments"),
		types: typeOptions{
			decimalMode:    v.Lower("decimal.handling.mode"),
			bigintUnsigned: v.Lower("bigint.unsigned.handling.mode"),
			timePrecision:  v.Lower("time.precision.mode"),
			binaryMode:     v.Lower("binary.handling.mode"),
			timeAdjuster:   v.Bool("enable.time.adjuster"),
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
	if name := v.String("topic.heartbeat.name"); name != "" {
		s.heartbeatTopic = name
	}
	if err := refuseUnimplemented(v); err != nil {
		return nil, err
	}
	var err error
	if s.signals, err = signal.Parse(v, s.topicPrefix); err != nil {
		return nil, err
	}
	s.readOnly = v.Bool("read.only")
	s.snapshotThreads = int(v.Int("snapshot.max.threads"))
	if incl, excl := v.List("gtid.source.includes"), v.List("gtid.source.excludes"); len(incl) > 0 || len(excl) > 0 {
		if s.gtidFilter, err = debezium.NewFilter("gtid.source.includes", incl, "gtid.source.excludes", excl); err != nil {
			return nil, err
		}
	}
	if q, b := v.Int("max.queue.size"), v.Int("max.batch.size"); q <= b {
		// CommonConnectorConfig.validateMaxQueueSize
		return nil, config.Errors{{Name: "max.queue.size", Value: strconv.FormatInt(q, 10), Message: fmt.Sprintf("must be larger than max.batch.size (%d)", b)}}
	}
	if list := v.List("snapshot.include.collection.list"); len(list) > 0 {
		if s.snapshotTables, err = debezium.NewFilter("snapshot.include.collection.list", list, "", nil); err != nil {
			return nil, err
		}
	}
	if s.selectOverrides, err = parseSelectOverrides(v); err != nil {
		return nil, err
	}
	if s.types.boolConverters, err = parseConverters(v); err != nil {
		return nil, err
	}
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
	if s.historyClient, err = parseHistoryClient(v); err != nil {
		return nil, err
	}
	if err := s.parseHistoryStore(v); err != nil {
		return nil, err
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
