// Package mysql is the MySQL and MariaDB binlog source connector,
// compatible with Debezium 3.6.1's io.debezium.connector.mysql.MySqlConnector
// and io.debezium.connector.mariadb.MariaDbConnector: the same properties,
// topics, event schemas, offsets and schema history records.
//
// A task takes a consistent snapshot (FLUSH TABLES WITH READ LOCK held only
// while the binlog position is read and a REPEATABLE READ consistent
// snapshot transaction starts), then streams row events from the binlog.
// Table structures are tracked by parsing DDL from the binlog, and every
// change is recorded in the schema history topic, from which a restarted
// task rebuilds its table model up to its stored offset.
//
// # Failures
//
// A task that loses its database connection (the server stops, crashes or
// kills the session: EOF, connection reset or refused, errors 1053, 1927,
// 2006, 2013 and the like; or it does not answer, see below) ends with a
// connect.Retriable error, and the runtime runs it again from its committed
// offsets (retriable.restart.connector.wait.ms, errors.max.retries), as
// Kafka Connect restarts a Debezium task after a RetriableException. The
// binlog client does not reconnect on its own: go-mysql's reconnect would
// resume from the last event it read, ahead of what Kafka acknowledged.
// Configuration, privilege and data errors are not retriable.
//
// Liveness follows Debezium's BinaryLogClient: with connect.keep.alive
// (default true) the server sends a heartbeat event whenever the binlog is
// quiet for 0.8 of connect.keep.alive.interval.ms (or heartbeat.interval.ms
// if shorter), and a binlog connection that delivers nothing for the whole
// interval is taken as lost, which notices a network cut that drops packets
// or a hung server. The deadline runs only while the reader waits for the
// server, so a connector slowed down by Kafka is not mistaken for a dead
// server. connect.timeout.ms bounds connecting and the short queries that
// check the server at start. A snapshot's table scans are not bounded (a
// scan may legitimately wait on locks); a dead peer there is noticed by TCP
// keep-alive. With connect.keep.alive=false nothing checks the binlog
// connection.
//
// At start the task checks that the server still has what its stored offset
// needs, before streaming (BinlogSourceTask.validateSnapshotFeasibility):
// the binlog file, or the GTIDs (MySQL: gtid_executed and gtid_purged;
// MariaDB, which has no gtid_purged: gtid_binlog_state and the GTID list at
// the start of the oldest binary log). If they were purged or the binary
// log was reset, it fails with an error naming the file or GTID, unless
// snapshot.mode=when_needed, which takes a new snapshot instead.
//
// # Schema history
//
// The schema history is kept as Debezium's KafkaSchemaHistory keeps it, in
// its record format: the topic (schema.history.internal.kafka.topic) is
// created at start when it is missing, with one partition,
// cleanup.policy=delete and unlimited retention (retention.ms
// 9223372036854775807, retention.bytes -1), every record is written to
// partition 0 and a restarted task reads partition 0 in offset order. The
// topic is created before anything touches it, so a broker's
// auto.create.topics.enable never makes it with its num.partitions. An
// existing history topic with more than one partition is refused at start:
// DDL replayed from several partitions cannot be put back in order.
// Debezium only logs a warning for it and reads partition 0.
//
// # Properties
//
// Every property is implemented with Debezium's meaning or refused when the
// configuration is parsed, with the reason. Refused: binlog.buffer.size
// other than 0 (no ROLLBACK look-ahead),
// max.queue.size.in.bytes other than 0, time.precision.mode adaptive (as
// Debezium) and isostring/microseconds/nanoseconds/structured,
// snapshot.query.mode=custom, snapshot.mode configuration_based and custom
// and their snapshot.mode.* settings, notification.* (progress is logged
// and exported as metrics instead), incremental.snapshot.allow.schema.changes=true,
// include.unknown.datatypes=true, Java keystore passwords, Percona backup
// locks, the legacy DDL parser, JDBC driver.* settings and Java classes
// other than Debezium's defaults (topic naming strategy, source block, JDBC
// driver, schema history store, custom converters other than
// TinyIntOneToBooleanConverter), and the deprecated
// event.deserialization.failure.handling.mode (without effect in Debezium
// 3; event.processing.failure.handling.mode replaces it).
//
// A few properties only tune how Debezium's Java code does what Tributary
// always does, and are accepted only at Debezium's default:
// min.row.count.to.stream.results (rows are always streamed from the
// server) and database.server.id.offset (Debezium's parallel snapshot
// readers are binlog clients that need server ids; Tributary's are SQL
// sessions). snapshot.fetch.size is accepted at any value although rows
// are always streamed, as a JDBC fetch size only changes round trips. The schema
// history's own Kafka client settings are KafkaSchemaHistory's:
// schema.history.internal.kafka.bootstrap.servers naming another cluster
// than the worker's, or schema.history.internal.producer.*/.consumer.*
// settings, give the history a client of its own; kafka.query.timeout.ms,
// kafka.create.timeout.ms and kafka.recovery.poll.interval.ms times
// kafka.recovery.attempts bound describing, creating and reading back the
// topic.
//
// # Signals and incremental snapshots
//
// Debezium's signals arrive through the signal table (signal.data.collection,
// read from the binlog), the kafka and file channels and the REST API
// (POST /connectors/{name}/signals): log, execute-snapshot (incremental or
// blocking), stop-snapshot, pause-snapshot and resume-snapshot. Incremental
// snapshots use Debezium's watermarks (rows written to the signal table), or
// with read.only=true the server's executed GTID set, writing nothing; see
// incremental.go for where Tributary deliberately differs. Their position
// is stored under Debezium's incremental_snapshot_* offset keys and a
// restarted task continues after the last row it sent.
//
// event.processing.failure.handling.mode=warn/skip/ignore skips a streamed
// row that cannot be turned into a change event (a value that cannot be
// converted into a key or NOT NULL field, a row that does not fit the
// table's known structure); a binlog event go-mysql cannot decode ends the
// stream whatever the mode, as it cannot be read past.
package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
)

// Plugin is the MySQL connector (io.debezium.connector.mysql.MySqlConnector).
func Plugin() *connect.Plugin { return pluginFor(mysqlFlavor) }

// MariaDBPlugin is the MariaDB connector
// (io.debezium.connector.mariadb.MariaDbConnector).
func MariaDBPlugin() *connect.Plugin { return pluginFor(mariadbFlavor) }

func pluginFor(f flavor) *connect.Plugin {
	return &connect.Plugin{
		Class:   f.class,
		Aliases: f.aliases,
		Type:    connect.SourcePlugin,
		Version: debezium.Version,
		Config:  func() *config.Def { return connectorDef(f) },
		// A restarted task resumes right after its committed offset (an
		// unfinished initial snapshot is redone, and the runtime keeps
		// one in a single transaction), as Debezium's declares.
		ExactlyOnce: connect.ExactlyOnceSupported,
		Validate: func(ctx context.Context, v *config.Values) error {
			s, err := parseSettings(f, v)
			if err != nil {
				return err
			}
			db, err := s.openDB()
			if err != nil {
				return err
			}
			defer db.Close()
			info, err := checkServer(ctx, db, s, s.lockingMode != "none")
			if err != nil {
				return err
			}
			if len(info.notices) > 0 {
				return fmt.Errorf("server %s:%d:\n  - %s", s.host, s.port, strings.Join(info.notices, "\n  - "))
			}
			return nil
		},
		DescribeSchemas: func(ctx context.Context, v *config.Values) ([]connect.TopicSchema, error) {
			return describeSchemas(ctx, f, v)
		},
		NewSourceTask: func(ctx context.Context, v *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			return newTask(f, v, tc)
		},
	}
}

// connectorState is what snapshot and streaming share: settings, filters,
// the table model and the Connect schemas built from it.
type connectorState struct {
	cfg     *settings
	tc      connect.TaskContext
	history historyStore // nil outside a task (describe)
	// store is the schema history when it is not kept in Kafka
	// (schema.history.internal); nil otherwise.
	store        historyLog
	log          *slog.Logger
	partition    map[string]any
	sourceSchema *connect.Schema
	srcFields    sourceFields
	scKeyS       *connect.Schema
	scValueS     *connect.Schema
	changeS      *connect.Schema
	tableFilter  *debezium.Filter
	dbFilter     *debezium.Filter
	columns      *debezium.Filter
	mappers      []columnMapper
	model        *schemaModel
	schemas      map[TableID]*tableSchema
	now          func() time.Time
	topicRe      *regexp.Regexp
}

func newConnectorState(f flavor, v *config.Values, tc connect.TaskContext) (*connectorState, error) {
	s, err := parseSettings(f, v)
	if err != nil {
		return nil, err
	}
	c := &connectorState{cfg: s, tc: tc, log: tc.Logger, now: time.Now,
		partition: map[string]any{"server": s.topicPrefix}, schemas: map[TableID]*tableSchema{},
		model: newSchemaModel(), topicRe: regexp.MustCompile(`[^a-zA-Z0-9._-]`)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// Not c.log.With("connector", ..., "task", ...): the runtime's logger
	// already carries both, and slog would print them twice.
	c.sourceSchema = sourceSchema(f)
	c.srcFields = newSourceFields(c.sourceSchema, s.flavor, s.topicPrefix)
	c.scKeyS, c.scValueS, c.changeS = schemaChangeSchemas(f, c.sourceSchema)
	if c.tableFilter, c.columns, err = debezium.FiltersFrom(v); err != nil {
		return nil, err
	}
	if c.dbFilter, err = debezium.NewFilter("database.include.list", v.List("database.include.list"), "database.exclude.list", v.List("database.exclude.list")); err != nil {
		return nil, err
	}
	if c.mappers, err = parseMappers(v.Raw()); err != nil {
		return nil, err
	}
	return c, nil
}

var builtinDBs = map[string]bool{"mysql": true, "performance_schema": true, "sys": true, "information_schema": true}

// captured is the data collection filter: the table's changes are emitted.
func (c *connectorState) captured(id TableID) bool {
	if c.cfg.ignoreBuiltin && builtinDBs[strings.ToLower(id.DB)] {
		return false
	}
	return c.dbFilter.Match(id.DB) && c.tableFilter.Match(id.DB+"."+id.Table)
}

// schemaEligible says whether a table's structure is captured in the
// snapshot's schema history.
func (c *connectorState) schemaEligible(id TableID) bool {
	if c.cfg.ignoreBuiltin && builtinDBs[strings.ToLower(id.DB)] {
		return false
	}
	switch {
	case c.cfg.storeOnlyTables:
		return c.captured(id)
	case c.cfg.storeOnlyDBs:
		return c.dbFilter.Match(id.DB)
	}
	return true
}

func (c *connectorState) topicFor(id TableID) string {
	d := c.cfg.topicDelimiter
	return c.topicRe.ReplaceAllString(c.cfg.topicPrefix+d+id.DB+d+id.Table, "_")
}

// keyColumns are the table's key: message.key.columns or the primary key.
func (c *connectorState) keyColumns(t *Table) []string {
	for _, ko := range c.cfg.keyColumns {
		if ko.table.MatchString(t.ID.DB + "." + t.ID.Table) {
			return ko.cols
		}
	}
	return t.PK
}

// schemaFor returns the Connect schemas of a captured table, building them
// on first use after a structure change.
func (c *connectorState) schemaFor(id TableID) (*tableSchema, error) {
	if ts, ok := c.schemas[id]; ok {
		return ts, nil
	}
	t := c.model.table(id)
	if t == nil {
		return nil, nil
	}
	ts, err := c.buildTableSchema(t)
	if err != nil {
		return nil, err
	}
	c.schemas[id] = ts
	return ts, nil
}

// emitter batches records for the RecordWriter. While a snapshot runs it
// holds back the newest record so that the last one can be marked
// (BinlogSnapshotChangeEventSource.postSnapshot).
type emitter struct {
	w       connect.RecordWriter
	buf     []*connect.Record
	max     int
	holding bool
	held    *connect.Record
}

func (e *emitter) emit(ctx context.Context, r *connect.Record) error {
	if e.holding {
		if e.held != nil {
			e.buf = append(e.buf, e.held)
		}
		e.held = r
	} else {
		e.buf = append(e.buf, r)
	}
	if len(e.buf) >= e.max {
		return e.flush(ctx)
	}
	return nil
}

func (e *emitter) flush(ctx context.Context) error {
	if len(e.buf) == 0 {
		return nil
	}
	recs := e.buf
	e.buf = nil
	// The runtime decides whether its own failures are retriable.
	return noRetry(e.w.Write(ctx, recs))
}

// releaseHeld ends holding; mark (if not nil) edits the held record first.
func (e *emitter) releaseHeld(ctx context.Context, mark func(*connect.Record)) error {
	e.holding = false
	if e.held != nil {
		if mark != nil {
			mark(e.held)
		}
		e.buf = append(e.buf, e.held)
		e.held = nil
	}
	return e.flush(ctx)
}

// handleDDL processes one DDL statement as BinlogDatabaseSchema.parseDdl
// and EventDispatcher.dispatchSchemaChangeEvent do: apply it to the model,
// record it in the schema history and emit schema change events. It
// returns truncate events for the caller to emit.
func (c *connectorState) handleDDL(ctx context.Context, em *emitter, o *offsetState, sql, db string, ts time.Time, snapshot bool) ([]TableID, error) {
	events, err := c.model.applyDDL(sql, db)
	if err != nil {
		var de *ddlError
		if errors.As(err, &de) && c.cfg.skipUnparseable {
			c.log.Warn("ignoring unparseable DDL statement", "ddl", truncateForLog(sql), "error", de.err)
			return nil, nil
		}
		return nil, fmt.Errorf("%w (set schema.history.internal.skip.unparseable.ddl=true to skip it)", err)
	}
	if !isTruncate(sql) && c.cfg.ddlFiltered(sql) {
		return nil, nil
	}
	anyCaptured := false
	for _, ev := range events {
		if ev.table != nil && c.captured(*ev.table) {
			anyCaptured = true
		}
	}
	if c.cfg.storeOnlyTables && !anyCaptured && !isGlobalSet(sql) {
		return nil, nil
	}
	if len(events) == 0 {
		events = []ddlEvent{{kind: changeDatabase, db: db, ddl: strings.TrimSpace(sql)}}
	}
	var truncates []TableID
	for _, ev := range events {
		if c.cfg.storeOnlyTables && ev.db != "" && !c.dbFilter.Match(ev.db) {
			continue
		}
		if c.cfg.storeOnlyDBs && ev.db != "" && !c.dbFilter.Match(ev.db) {
			continue
		}
		o.tableEvent(ev.db, ev.tables, ts)
		if ev.kind == changeTruncate {
			if ev.table != nil && c.captured(*ev.table) && !snapshot {
				truncates = append(truncates, *ev.table)
			}
			continue
		}
		if ev.table != nil && !c.captured(*ev.table) && c.cfg.storeOnlyTables {
			continue
		}
		var changes []tableChange
		switch ev.kind {
		case changeCreate, changeAlter:
			if ev.table != nil {
				if t := c.model.table(*ev.table); t != nil {
					changes = append(changes, tableChange{typ: ev.kind, id: *ev.table, prevID: ev.prevID, table: c.recordedTable(t)})
				}
			}
		case changeDrop:
			changes = append(changes, tableChange{typ: changeDrop, id: *ev.table})
		}
		// the table's schemas are rebuilt on their next use
		if ev.table != nil {
			delete(c.schemas, *ev.table)
		}
		if ev.prevID != nil {
			delete(c.schemas, *ev.prevID)
		}
		if err := c.recordSchemaChange(ctx, em, o, ev.db, ev.ddl, changes); err != nil {
			return nil, err
		}
	}
	return truncates, nil
}

// recordedTable is the copy of a table that the schema history and the
// schema change events record. Without include.schema.comments (the
// default) it has no table or column comments: Debezium's DDL parser skips
// them then, and the history and events carry null.
func (c *connectorState) recordedTable(t *Table) *Table {
	r := t.clone()
	if !c.cfg.includeComments {
		r.Comment = nil
		for _, col := range r.Columns {
			col.Comment = nil
		}
	}
	return r
}

func isTruncate(sql string) bool {
	return truncatePattern.MatchString(sql)
}

var truncatePattern = regexp.MustCompile(`(?is)^(SET STATEMENT .*)?\s*TRUNCATE\s+(TABLE\s+)?.*`)

func isGlobalSet(sql string) bool {
	u := strings.ToUpper(strings.TrimSpace(sql))
	return strings.HasPrefix(u, "SET ") && !strings.Contains(u, "@@SESSION")
}

// recordSchemaChange writes the history record and emits the schema change
// event of one change.
func (c *connectorState) recordSchemaChange(ctx context.Context, em *emitter, o *offsetState, db, ddl string, changes []tableChange) error {
	now := c.now()
	off := o.offset()
	rec := c.historyRecord(o, db, ddl, changes, now)
	if err := c.writeHistory(ctx, rec); err != nil {
		return err
	}
	if !c.cfg.includeSchemaChange {
		return nil
	}
	src := c.sourceStruct(o)
	key := connect.NewStruct(c.scKeyS).Set("databaseName", db)
	val := connect.NewStruct(c.scValueS)
	val.Set("source", src)
	val.Set("ts_ms", now.UnixMilli())
	val.Set("databaseName", db)
	if ddl != "" {
		val.Set("ddl", ddl)
	}
	val.Set("tableChanges", c.changesStruct(changes))
	return em.emit(ctx, &connect.Record{
		SourcePartition: c.partition, SourceOffset: off, Topic: c.cfg.topicPrefix, Partition: 0,
		KeySchema: c.scKeyS, Key: key, ValueSchema: c.scValueS, Value: val, Timestamp: now,
	})
}

// dataRecords appends to dst the records of one row change: for an
// update that changes the key, a delete (plus tombstone) and a create, as
// Debezium's RelationalChangeRecordEmitter does. Appending to the
// caller's slice saves a slice per row change.
func (c *connectorState) dataRecords(dst []*connect.Record, ts *tableSchema, op debezium.Op, beforeKey, before, afterKey, after *connect.StructValue, o *offsetState, tx *txTracker) []*connect.Record {
	now := c.now()
	src := c.sourceStruct(o)
	off := o.offset()
	mk := func(op debezium.Op, key *connect.StructValue, b, a *connect.StructValue, headers []connect.Header) {
		var txb *debezium.Transaction
		if tx != nil {
			txb = tx.dataEvent(ts.table.ID)
			off = o.offset()
		}
		env := debezium.NewEnvelope(ts.envelope, op, b, a, src, txb, now)
		var keyAny any
		var keyS *connect.Schema
		if ts.keyS != nil {
			keyAny, keyS = key, ts.keyS
		}
		dst = append(dst, &connect.Record{SourcePartition: c.partition, SourceOffset: off, Topic: ts.topic, Partition: -1,
			KeySchema: keyS, Key: keyAny, ValueSchema: ts.envelope, Value: env, Timestamp: now, Headers: headers})
		if op == debezium.OpDelete && c.cfg.tombstones {
			dst = append(dst, &connect.Record{SourcePartition: c.partition, SourceOffset: off, Topic: ts.topic, Partition: -1,
				KeySchema: keyS, Key: keyAny, Timestamp: now, Headers: headers})
		}
	}
	switch op {
	case debezium.OpUpdate:
		if ts.keyS != nil && beforeKey != nil && !connect.Equal(beforeKey, afterKey) {
			mk(debezium.OpDelete, beforeKey, before, nil, []connect.Header{{Key: "__debezium.newkey", Schema: ts.keyS, Value: afterKey}})
			mk(debezium.OpCreate, afterKey, nil, after, []connect.Header{{Key: "__debezium.oldkey", Schema: ts.keyS, Value: beforeKey}})
			return dst
		}
		mk(op, afterKey, before, after, nil)
	case debezium.OpDelete:
		mk(op, beforeKey, before, nil, nil)
	default:
		mk(op, afterKey, nil, after, nil)
	}
	return dst
}

// txTracker is the TransactionMonitor of provide.transaction.metadata.
type txTracker struct {
	c *connectorState
	o *offsetState
}

func (t *txTracker) dataEvent(id TableID) *debezium.Transaction {
	o := t.o
	name := id.String()
	if _, ok := o.txCounts[name]; !ok {
		o.txOrder = append(o.txOrder, name)
	}
	o.txCounts[name]++
	o.txTotal++
	return &debezium.Transaction{ID: o.txCtxID, TotalOrder: o.txTotal, DataCollectionOrder: o.txCounts[name]}
}

func (t *txTracker) begin(ctx context.Context, em *emitter, ts time.Time) error {
	o := t.o
	if o.txCtxID != "" && o.txCtxID == o.txID {
		return nil // restored from offsets after a restart
	}
	o.txCtxID = o.txID
	o.txCounts = map[string]int64{}
	o.txOrder = nil
	o.txTotal = 0
	return em.emit(ctx, debezium.TransactionRecord(t.c.cfg.txTopic, o.txCtxID, true, 0, nil, ts, t.c.partition, o.offset()))
}

func (t *txTracker) end(ctx context.Context, em *emitter, ts time.Time) error {
	o := t.o
	if o.txCtxID == "" {
		return nil
	}
	var counts []debezium.CollectionCount
	for _, name := range javaHashMapOrder(o.txOrder) {
		counts = append(counts, debezium.CollectionCount{Collection: name, Count: o.txCounts[name]})
	}
	rec := debezium.TransactionRecord(t.c.cfg.txTopic, o.txCtxID, false, o.txTotal, counts, ts, t.c.partition, o.offset())
	o.txCtxID = ""
	o.txCounts = map[string]int64{}
	o.txOrder = nil
	o.txTotal = 0
	return em.emit(ctx, rec)
}

func sortedTableIDs(ids []TableID) []TableID {
	sort.Slice(ids, func(i, j int) bool {
		if ids[i].DB != ids[j].DB {
			return ids[i].DB < ids[j].DB
		}
		return ids[i].Table < ids[j].Table
	})
	return ids
}
