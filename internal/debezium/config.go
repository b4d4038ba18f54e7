package debezium

import "github.com/tributary-io/tributary/connect/config"

// CommonDef returns the properties every Debezium connector accepts
// (CommonConnectorConfig and RelationalDatabaseConnectorConfig).
func CommonDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "topic.prefix", Required: true, Importance: config.High, Doc: "logical name of the source server; prefix of every topic"})
	d.Define(config.Key{Name: "database.hostname", Required: true, Importance: config.High, Doc: "database server host"})
	d.Define(config.Key{Name: "database.port", Type: config.TypeInt, Importance: config.High, Doc: "database server port"})
	d.Define(config.Key{Name: "database.user", Required: true, Importance: config.High, Doc: "user the connector connects as"})
	d.Define(config.Key{Name: "database.password", Type: config.TypePassword, Importance: config.High, Doc: "password of database.user; hidden in logs and errors"})
	d.Define(config.Key{Name: "table.include.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions matched against fully-qualified table names (schema.table or db.table); only matching tables are captured"})
	d.Define(config.Key{Name: "table.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions of fully-qualified table names not to capture (when table.include.list is not set)"})
	d.Define(config.Key{Name: "column.include.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions of fully-qualified column names (table.column) to include in change events; others are left out"})
	d.Define(config.Key{Name: "column.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions of fully-qualified column names to leave out of change events"})
	d.Define(config.Key{Name: "message.key.columns", Doc: "table:col1,col2;table2:col"})
	d.Define(config.Key{Name: "snapshot.mode", Default: "initial", Doc: "when to take a snapshot of the captured tables' rows (initial, no_data, when_needed, always, initial_only...; the connector's reference lists its values)"})
	d.Define(config.Key{Name: "snapshot.fetch.size", Type: config.TypeInt, Default: "10000", Doc: "rows read per round trip while snapshotting a table"})
	d.Define(config.Key{Name: "snapshot.max.threads", Type: config.TypeInt, Default: "1", Doc: "tables snapshotted in parallel"})
	d.Define(config.Key{Name: "snapshot.delay.ms", Type: config.TypeLong, Default: "0", Doc: "pause before the snapshot starts, e.g. to let a cluster of connectors settle"})
	d.Define(config.Key{Name: "snapshot.include.collection.list", Type: config.TypeList, Validate: config.ValidRegexList, Doc: "regular expressions of the captured tables whose rows the snapshot reads; default every captured table"})
	d.Define(config.Key{Name: "heartbeat.interval.ms", Type: config.TypeInt, Default: "0", Doc: "how often a heartbeat record is sent to topic.heartbeat.prefix.<topic.prefix> so offsets advance while captured tables are idle; 0 disables"})
	d.Define(config.Key{Name: "heartbeat.action.query", Doc: "statement run on the source database at each heartbeat (e.g. an update of a heartbeat table, so the log advances)"})
	d.Define(config.Key{Name: "topic.heartbeat.prefix", Default: "__debezium-heartbeat", Doc: "prefix of the heartbeat topic: <prefix>.<topic.prefix>"})
	d.Define(config.Key{Name: "topic.transaction", Default: "transaction", Doc: "name (after <topic.prefix>.) of the topic transaction BEGIN/END events go to with provide.transaction.metadata"})
	d.Define(config.Key{Name: "topic.delimiter", Default: ".", Doc: "separator between the parts of topic names"})
	d.Define(config.Key{Name: "tombstones.on.delete", Type: config.TypeBoolean, Default: "true", Doc: "follow each delete event by a tombstone (null value) so log compaction can remove the key"})
	d.Define(config.Key{Name: "decimal.handling.mode", Default: "precise", OneOf: []string{"precise", "double", "string"}, Doc: "how DECIMAL/NUMERIC values are represented: precise (Connect Decimal, bytes), double, or string"})
	d.Define(config.Key{Name: "time.precision.mode", Default: "adaptive", OneOf: []string{"adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"}, Doc: "how temporal values are represented: adaptive (per column precision), adaptive_time_microseconds, connect (Kafka Connect's logical types, millisecond precision), isostring, microseconds, nanoseconds"})
	d.Define(config.Key{Name: "binary.handling.mode", Default: "bytes", OneOf: []string{"bytes", "base64", "base64-url-safe", "hex"}, Doc: "how binary column values are represented: bytes, base64, base64-url-safe or hex strings"})
	d.Define(config.Key{Name: "provide.transaction.metadata", Type: config.TypeBoolean, Default: "false", Doc: "add transaction boundaries (BEGIN/END on topic.transaction) and a transaction block in every change event"})
	d.Define(config.Key{Name: "skipped.operations", Type: config.TypeList, Default: "t", Doc: "operations not to emit: c (insert), u (update), d (delete), t (truncate), none"})
	d.Define(config.Key{Name: "schema.name.adjustment.mode", Default: "none", OneOf: []string{"none", "avro", "avro_unicode"}, Doc: "how schema names are made valid: none, avro (replace invalid characters with _), avro_unicode (with _uxxxx)"})
	d.Define(config.Key{Name: "field.name.adjustment.mode", Default: "none", OneOf: []string{"none", "avro", "avro_unicode"}, Doc: "how field names are made valid: none, avro, avro_unicode"})
	d.Define(config.Key{Name: "include.schema.changes", Type: config.TypeBoolean, Default: "true", Doc: "emit schema change events (DDL) to the topic named topic.prefix"})
	d.Define(config.Key{Name: "max.batch.size", Type: config.TypeInt, Default: "2048", Doc: "largest number of events handed to the runtime at once"})
	d.Define(config.Key{Name: "max.queue.size", Type: config.TypeInt, Default: "8192", Doc: "largest number of events buffered between reading the log and writing to Kafka"})
	d.Define(config.Key{Name: "poll.interval.ms", Type: config.TypeLong, Default: "500", Doc: "how long the connector waits for new events before handing over a batch"})
	d.Define(config.Key{Name: "event.processing.failure.handling.mode", Default: "fail", OneOf: []string{"fail", "warn", "skip", "ignore"}, Doc: "what a change event that cannot be processed does: fail the task, warn (log and skip) or skip"})
	d.Define(config.Key{Name: "errors.max.retries", Type: config.TypeInt, Default: "-1", Doc: "retries of a retriable connection error before the task fails; -1 unlimited, 0 none"})
	d.Define(config.Key{Name: "retriable.restart.connector.wait.ms", Type: config.TypeLong, Default: "10000", Doc: "pause before the connector restarts after a retriable error"})
	d.Define(config.Key{Name: "include.unknown.datatypes", Type: config.TypeBoolean, Default: "false", Doc: "emit columns of types the connector does not know as raw bytes instead of leaving them out"})
	d.Define(config.Key{Name: "tasks.max", Type: config.TypeInt, Default: "1", Doc: "maximum number of tasks; Debezium's connectors run one"})
	// Debezium 2.0 renamed these and dropped the old names: Kafka Connect
	// would start a connector with them ignored (database.server.name no
	// longer sets the topic prefix), so they are refused naming the new one.
	d.Renamed("database.server.name", "topic.prefix", "Debezium 2.0")
	d.Renamed("heartbeat.topics.prefix", "topic.heartbeat.prefix", "Debezium 2.0")
	d.Renamed("event.deserialization.failure.handling.mode", "event.processing.failure.handling.mode", "Debezium 2.0")
	d.Renamed("sanitize.field.names", "field.name.adjustment.mode (avro)", "Debezium 2.0")
	for _, l := range []string{"table", "column", "database", "schema"} {
		d.Renamed(l+".whitelist", l+".include.list", "Debezium 2.0")
		d.Renamed(l+".blacklist", l+".exclude.list", "Debezium 2.0")
	}
	d.RenamedPrefix("database.history.", "schema.history.internal.", "Debezium 2.0")
	d.Renamed("database.history", "schema.history.internal", "Debezium 2.0")
	// Documented Debezium properties Tributary does not implement: each is
	// accepted at Debezium's default, which is Tributary's behaviour, and
	// refused otherwise with the reason.
	d.Refuse("custom.metric.tags", "", "JMX metric tags; Tributary's metrics are Prometheus, labelled by connector and task")
	d.Refuse("custom.sanitize.pattern", "", "not implemented")
	d.Refuse("database.query.timeout.ms", "600000", "a different JDBC query timeout is not implemented")
	d.Refuse("guardrail.collections.max", "0", "the captured-table guardrail is not implemented")
	d.Refuse("guardrail.collections.limit.action", "warn", "the captured-table guardrail is not implemented")
	d.Refuse("legacy.snapshot.max.threads", "false", "snapshots run on one thread (snapshot.max.threads=1)")
	d.Refuse("poll.dispatch.interval.ms", "", "not implemented")
	d.Refuse("snapshot.locking.mode.custom.name", "", "custom snapshot lockers are Java SPI classes")
	d.Refuse("snapshot.tables.order.by.row.count", "disabled", "tables are snapshotted in name order")
	d.Refuse("source.struct.version", "v2", "only the v2 source block is produced")
	d.Refuse("statistics.metrics.enabled", "false", "JMX statistics metrics are not implemented; see the Prometheus metrics")
	d.Refuse("topic.cache.size", "10000", "Tributary does not cache topic names in a bounded LRU")
	// Per-column masking/truncation and propagated source types take the
	// column list in the property name itself.
	d.AllowPrefix("column.mask.with.", "column.mask.hash.", "column.truncate.to.", "column.propagate.source.type", "datatype.propagate.source.type", "database.initial.statements", "driver.", "signal.", "notification.", "incremental.snapshot.")
	return d
}
