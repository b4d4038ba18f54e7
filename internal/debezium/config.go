package debezium

import "github.com/tributary-io/tributary/internal/config"

// CommonDef returns the properties every Debezium connector accepts
// (CommonConnectorConfig and RelationalDatabaseConnectorConfig).
func CommonDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "topic.prefix", Required: true, Importance: config.High, Doc: "logical name of the source server; prefix of every topic"})
	d.Define(config.Key{Name: "database.hostname", Required: true, Importance: config.High, Doc: "database server host"})
	d.Define(config.Key{Name: "database.port", Type: config.TypeInt, Importance: config.High})
	d.Define(config.Key{Name: "database.user", Required: true, Importance: config.High})
	d.Define(config.Key{Name: "database.password", Type: config.TypePassword, Importance: config.High})
	d.Define(config.Key{Name: "table.include.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "table.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "column.include.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "column.exclude.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "message.key.columns", Doc: "table:col1,col2;table2:col"})
	d.Define(config.Key{Name: "snapshot.mode", Default: "initial"})
	d.Define(config.Key{Name: "snapshot.fetch.size", Type: config.TypeInt, Default: "10000"})
	d.Define(config.Key{Name: "snapshot.max.threads", Type: config.TypeInt, Default: "1"})
	d.Define(config.Key{Name: "snapshot.delay.ms", Type: config.TypeLong, Default: "0"})
	d.Define(config.Key{Name: "snapshot.include.collection.list", Type: config.TypeList, Validate: config.ValidRegexList})
	d.Define(config.Key{Name: "heartbeat.interval.ms", Type: config.TypeInt, Default: "0"})
	d.Define(config.Key{Name: "heartbeat.action.query"})
	d.Define(config.Key{Name: "topic.heartbeat.prefix", Default: "__debezium-heartbeat"})
	d.Define(config.Key{Name: "topic.transaction", Default: "transaction"})
	d.Define(config.Key{Name: "topic.delimiter", Default: "."})
	d.Define(config.Key{Name: "tombstones.on.delete", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "decimal.handling.mode", Default: "precise", OneOf: []string{"precise", "double", "string"}})
	d.Define(config.Key{Name: "time.precision.mode", Default: "adaptive", OneOf: []string{"adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"}})
	d.Define(config.Key{Name: "binary.handling.mode", Default: "bytes", OneOf: []string{"bytes", "base64", "base64-url-safe", "hex"}})
	d.Define(config.Key{Name: "provide.transaction.metadata", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "skipped.operations", Type: config.TypeList, Default: "t"})
	d.Define(config.Key{Name: "schema.name.adjustment.mode", Default: "none", OneOf: []string{"none", "avro", "avro_unicode"}})
	d.Define(config.Key{Name: "field.name.adjustment.mode", Default: "none", OneOf: []string{"none", "avro", "avro_unicode"}})
	d.Define(config.Key{Name: "include.schema.changes", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "max.batch.size", Type: config.TypeInt, Default: "2048"})
	d.Define(config.Key{Name: "max.queue.size", Type: config.TypeInt, Default: "8192"})
	d.Define(config.Key{Name: "poll.interval.ms", Type: config.TypeLong, Default: "500"})
	d.Define(config.Key{Name: "event.processing.failure.handling.mode", Default: "fail", OneOf: []string{"fail", "warn", "skip", "ignore"}})
	d.Define(config.Key{Name: "errors.max.retries", Type: config.TypeInt, Default: "-1"})
	d.Define(config.Key{Name: "retriable.restart.connector.wait.ms", Type: config.TypeLong, Default: "10000"})
	d.Define(config.Key{Name: "include.unknown.datatypes", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "tasks.max", Type: config.TypeInt, Default: "1"})
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
