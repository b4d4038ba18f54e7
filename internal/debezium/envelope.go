// Package debezium holds what every Debezium-compatible source shares: the
// change-event envelope, the common part of the source block, heartbeat and
// transaction-metadata schemas, table and column filters, and the common
// connector properties. Schemas here follow Debezium 3.6.1.Final.
package debezium

import (
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Version is the Debezium release whose event format Tributary emits; it
// is what source.version carries.
const Version = "3.6.1.Final"

// Op is a Debezium operation code.
type Op string

const (
	OpRead     Op = "r"
	OpCreate   Op = "c"
	OpUpdate   Op = "u"
	OpDelete   Op = "d"
	OpTruncate Op = "t"
	OpMessage  Op = "m"
)

// EnvelopeVersion is Envelope.SCHEMA_VERSION.
const EnvelopeVersion = 2

// Snapshot markers carried in source.snapshot (SnapshotRecord, lower-cased).
const (
	SnapshotTrue                  = "true"
	SnapshotFirst                 = "first"
	SnapshotFirstInDataCollection = "first_in_data_collection"
	SnapshotLastInDataCollection  = "last_in_data_collection"
	SnapshotLast                  = "last"
	SnapshotFalse                 = "false"
	SnapshotIncremental           = "incremental"
)

// SnapshotRecordSchema is the io.debezium.data.Enum schema of source.snapshot.
func SnapshotRecordSchema() *connect.Schema {
	return EnumSchema("true,first,first_in_data_collection,last_in_data_collection,last,false,incremental").
		Default("false").Optional().MustBuild()
}

// EnumSchema builds io.debezium.data.Enum with its allowed values.
func EnumSchema(allowed string) *connect.Builder {
	return connect.NewBuilder(connect.String).Name("io.debezium.data.Enum").Version(1).Param("allowed", allowed)
}

// SourceSchemaBuilder starts a connector's source-block schema with the
// fields common to every connector, in Debezium's order; the connector adds
// its own fields and the name.
func SourceSchemaBuilder() *connect.Builder {
	return connect.StructBuilder().Version(1).
		Field("version", connect.Prim(connect.String)).
		Field("connector", connect.Prim(connect.String)).
		Field("name", connect.Prim(connect.String)).
		Field("ts_ms", connect.Prim(connect.Int64)).
		Field("snapshot", SnapshotRecordSchema()).
		Field("db", connect.Prim(connect.String)).
		Field("sequence", connect.OptionalPrim(connect.String)).
		Field("ts_us", connect.OptionalPrim(connect.Int64)).
		Field("ts_ns", connect.OptionalPrim(connect.Int64))
}

// SourceCommon is what every connector puts in the common source fields.
type SourceCommon struct {
	Connector string // "postgresql", "mysql", "mariadb"
	Name      string // topic.prefix
	TS        time.Time
	Snapshot  string // "" for streaming (Debezium leaves the default)
	DB        string
	Sequence  *string
}

// FillSource sets the common fields of a source struct built from a schema
// made with SourceSchemaBuilder.
func FillSource(s *connect.StructValue, c SourceCommon) {
	ts := c.TS
	if ts.IsZero() {
		ts = time.Now()
	}
	s.Set("version", Version)
	s.Set("connector", c.Connector)
	s.Set("name", c.Name)
	s.Set("ts_ms", ts.UnixMilli())
	if c.Snapshot != "" && c.Snapshot != SnapshotFalse {
		s.Set("snapshot", c.Snapshot)
	} else {
		// Debezium leaves the field unset, so the schema default "false"
		// is what converters write.
		s.Set("snapshot", SnapshotFalse)
	}
	s.Set("db", c.DB)
	if c.Sequence != nil {
		s.Set("sequence", *c.Sequence)
	}
	s.Set("ts_us", ts.UnixMicro())
	s.Set("ts_ns", ts.UnixNano())
}

// TransactionBlockSchema is the optional "transaction" field (event.block).
func TransactionBlockSchema() *connect.Schema {
	return connect.StructBuilder().Optional().Name("event.block").Version(1).
		Field("id", connect.Prim(connect.String)).
		Field("total_order", connect.Prim(connect.Int64)).
		Field("data_collection_order", connect.Prim(connect.Int64)).
		MustBuild()
}

// EnvelopeSchema builds "<name>.Envelope" around a row schema, in the field
// order Debezium's TableSchemaBuilder produces: before, after, source,
// transaction (added by withTransaction), then op, ts_ms, ts_us, ts_ns.
func EnvelopeSchema(envelopeName string, row, source *connect.Schema) *connect.Schema {
	return connect.StructBuilder().Version(EnvelopeVersion).Name(envelopeName).
		Field("before", row).
		Field("after", row).
		Field("source", source).
		Field("transaction", TransactionBlockSchema()).
		Field("op", connect.Prim(connect.String)).
		Field("ts_ms", connect.OptionalPrim(connect.Int64)).
		Field("ts_us", connect.OptionalPrim(connect.Int64)).
		Field("ts_ns", connect.OptionalPrim(connect.Int64)).
		MustBuild()
}

// Transaction is the transaction block of one event.
type Transaction struct {
	ID                  string
	TotalOrder          int64
	DataCollectionOrder int64
}

// NewEnvelope fills an envelope value. before/after may be nil.
//
// A schema laid out as EnvelopeSchema builds it (every connector's) is
// filled by index; the op is boxed without an allocation. Others are
// filled by name, as before.
func NewEnvelope(schema *connect.Schema, op Op, before, after, source *connect.StructValue, tx *Transaction, now time.Time) *connect.StructValue {
	if !standardEnvelope(schema) {
		return newEnvelopeByName(schema, op, before, after, source, tx, now)
	}
	v := connect.NewStruct(schema)
	vals := v.Values
	if before != nil {
		vals[0] = before
	}
	if after != nil {
		vals[1] = after
	}
	vals[2] = source
	if tx != nil {
		vals[3] = transactionBlock(schema.Fields[3].Schema, tx)
	}
	vals[4] = opValue(op)
	vals[5], vals[6], vals[7] = now.UnixMilli(), now.UnixMicro(), now.UnixNano()
	return v
}

// standardEnvelope reports whether schema has EnvelopeSchema's fields at
// their indexes.
func standardEnvelope(schema *connect.Schema) bool {
	envelopeFields := [...]string{"before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"}
	if schema == nil || schema.Type != connect.Struct || len(schema.Fields) != len(envelopeFields) {
		return false
	}
	for i, name := range envelopeFields {
		if schema.Fields[i].Name != name || schema.Fields[i].Index != i {
			return false
		}
	}
	return true
}

// opValue boxes op; the connectors' ops are constants, boxed statically.
func opValue(op Op) any {
	switch op {
	case OpRead:
		return string(OpRead)
	case OpCreate:
		return string(OpCreate)
	case OpUpdate:
		return string(OpUpdate)
	case OpDelete:
		return string(OpDelete)
	case OpTruncate:
		return string(OpTruncate)
	case OpMessage:
		return string(OpMessage)
	}
	return string(op)
}

func transactionBlock(s *connect.Schema, tx *Transaction) *connect.StructValue {
	b := connect.NewStruct(s)
	b.Set("id", tx.ID).Set("total_order", tx.TotalOrder).Set("data_collection_order", tx.DataCollectionOrder)
	return b
}

// newEnvelopeByName is NewEnvelope for any other layout.
func newEnvelopeByName(schema *connect.Schema, op Op, before, after, source *connect.StructValue, tx *Transaction, now time.Time) *connect.StructValue {
	v := connect.NewStruct(schema)
	if before != nil {
		v.Set("before", before)
	}
	if after != nil {
		v.Set("after", after)
	}
	v.Set("source", source)
	if tx != nil {
		v.Set("transaction", transactionBlock(schema.Field("transaction").Schema, tx))
	}
	v.Set("op", string(op))
	v.Set("ts_ms", now.UnixMilli())
	v.Set("ts_us", now.UnixMicro())
	v.Set("ts_ns", now.UnixNano())
	return v
}

// HeartbeatKeySchema is io.debezium.connector.common.ServerNameKey.
func HeartbeatKeySchema() *connect.Schema {
	return connect.StructBuilder().Name("io.debezium.connector.common.ServerNameKey").Version(1).
		Field("serverName", connect.Prim(connect.String)).MustBuild()
}

// HeartbeatValueSchema is io.debezium.connector.common.Heartbeat.
func HeartbeatValueSchema() *connect.Schema {
	return connect.StructBuilder().Name("io.debezium.connector.common.Heartbeat").Version(1).
		Field("ts_ms", connect.Prim(connect.Int64)).MustBuild()
}

// HeartbeatTopic is Debezium's default heartbeat topic:
// <topic.heartbeat.prefix>.<topic.prefix>.
func HeartbeatTopic(heartbeatPrefix, topicPrefix string) string {
	return heartbeatPrefix + "." + topicPrefix
}

// HeartbeatRecord builds a heartbeat record carrying the task's current
// offset, so the runtime commits it and the source can release its log.
func HeartbeatRecord(topic, serverName string, partition, offset map[string]any, now time.Time) *connect.Record {
	ks, vs := HeartbeatKeySchema(), HeartbeatValueSchema()
	k := connect.NewStruct(ks).Set("serverName", serverName)
	v := connect.NewStruct(vs).Set("ts_ms", now.UnixMilli())
	// HeartbeatImpl sends heartbeats to partition 0 explicitly rather than
	// by key hash.
	return &connect.Record{
		SourcePartition: partition, SourceOffset: offset, Topic: topic, Partition: 0,
		KeySchema: ks, Key: k, ValueSchema: vs, Value: v, Timestamp: now,
	}
}

// TransactionKeySchema and TransactionValueSchema are the schemas of the
// transaction metadata topic (<topic.prefix>.transaction).
func TransactionKeySchema() *connect.Schema {
	return connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataKey").Version(1).
		Field("id", connect.Prim(connect.String)).MustBuild()
}

func eventCountSchema() *connect.Schema {
	return connect.StructBuilder().Optional().Name("event.collection").Version(1).
		Field("data_collection", connect.Prim(connect.String)).
		Field("event_count", connect.Prim(connect.Int64)).MustBuild()
}

func TransactionValueSchema() *connect.Schema {
	return connect.StructBuilder().Name("io.debezium.connector.common.TransactionMetadataValue").Version(1).
		Field("status", connect.Prim(connect.String)).
		Field("id", connect.Prim(connect.String)).
		Field("event_count", connect.OptionalPrim(connect.Int64)).
		Field("data_collections", connect.ArrayOf(eventCountSchema()).Optional().MustBuild()).
		Field("ts_ms", connect.Prim(connect.Int64)).
		MustBuild()
}

// CollectionCount is the per-table event count of a transaction END event.
type CollectionCount struct {
	Collection string
	Count      int64
}

// TransactionRecords builds BEGIN or END records for the transaction topic.
// counts is nil for BEGIN.
func TransactionRecord(topic, txID string, begin bool, total int64, counts []CollectionCount, ts time.Time, partition, offset map[string]any) *connect.Record {
	ks, vs := TransactionKeySchema(), TransactionValueSchema()
	k := connect.NewStruct(ks).Set("id", txID)
	v := connect.NewStruct(vs).Set("id", txID).Set("ts_ms", ts.UnixMilli())
	if begin {
		v.Set("status", "BEGIN")
	} else {
		v.Set("status", "END").Set("event_count", total)
		cs := eventCountSchema()
		arr := make([]any, len(counts))
		for i, c := range counts {
			arr[i] = connect.NewStruct(cs).Set("data_collection", c.Collection).Set("event_count", c.Count)
		}
		v.Set("data_collections", arr)
	}
	return &connect.Record{SourcePartition: partition, SourceOffset: offset, Topic: topic, Partition: -1,
		KeySchema: ks, Key: k, ValueSchema: vs, Value: v, Timestamp: ts}
}

// AdjustName applies schema.name.adjustment.mode / field.name.adjustment.mode:
// "none" leaves names alone; "avro" replaces characters invalid in Avro
// names with '_' (and a leading digit); "avro_unicode" replaces them with
// _uxxxx escapes.
func AdjustName(mode, name string) string {
	switch mode {
	case "avro", "avro_unicode":
	default:
		return name
	}
	var b strings.Builder
	for i, r := range name {
		ok := r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if i > 0 && name[i-1] == '.' && r >= '0' && r <= '9' {
			ok = false
		}
		switch {
		case ok:
			b.WriteRune(r)
		case mode == "avro_unicode":
			b.WriteString("_u")
			b.WriteString(strings.ToLower(strings.TrimPrefix(strings.ToUpper(hex4(r)), "")))
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

func hex4(r rune) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[(r>>12)&0xf], digits[(r>>8)&0xf], digits[(r>>4)&0xf], digits[r&0xf]})
}
