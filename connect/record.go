package connect

import (
	"context"
	"log/slog"
	"time"
)

// Header is a Kafka Connect record header.
type Header struct {
	Key    string
	Schema *Schema
	Value  any
}

// Record is a Connect record, produced by a source connector or read by a
// sink. SourcePartition and SourceOffset identify where in the source the
// record came from; the runtime stores the offset only after Kafka has
// acknowledged the record and every record before it from the same
// partition.
type Record struct {
	SourcePartition map[string]any
	SourceOffset    map[string]any

	Topic string
	// Partition is the Kafka partition, or -1 to let the runtime choose by
	// key hash (Kafka's murmur2 default partitioner).
	Partition int32

	KeySchema   *Schema
	Key         any
	ValueSchema *Schema
	Value       any
	Timestamp   time.Time
	Headers     []Header

	// Set on records read from Kafka (sinks).
	KafkaOffset int64
}

// RecordWriter receives records from a source task. Write blocks when the
// runtime applies back-pressure and returns an error when the runtime is
// shutting down or has failed.
type RecordWriter interface {
	Write(ctx context.Context, recs []*Record) error
}

// CommitReporter is implemented by the runtime's RecordWriter.
// AllCommitted reports whether every record written so far was
// acknowledged by Kafka and its offset stored. A source may then release
// log positions beyond its last record: PostgreSQL confirms the server's
// WAL end, without which a fast shutdown waits for ever.
type CommitReporter interface {
	AllCommitted() bool
}

// OffsetReader gives a task the last committed offset for a source
// partition, or nil when there is none.
type OffsetReader interface {
	Offset(ctx context.Context, partition map[string]any) (map[string]any, error)
}

// SourceTask reads a source and writes records until ctx ends or a fatal
// error occurs. A task returns nil only when ctx was cancelled or, for
// modes such as snapshot.mode=initial_only, when its work is complete.
type SourceTask interface {
	Run(ctx context.Context, w RecordWriter) error
}

// OffsetCommitListener is implemented by tasks that must act when offsets
// are durable, e.g. to confirm an LSN to PostgreSQL so WAL is released.
// The runtime calls it with the newest committed offset per partition.
type OffsetCommitListener interface {
	OffsetsCommitted(ctx context.Context, partition, offset map[string]any) error
}

// SinkTask writes records read from Kafka into a target. Put must make the
// records durable before returning: the runtime commits the Kafka offsets
// of a batch after Put returns nil.
type SinkTask interface {
	Put(ctx context.Context, recs []*Record) error
	Close() error
}

// TaskContext is what the runtime gives a task at creation.
type TaskContext struct {
	ConnectorName string
	TaskID        int
	// TaskCount is how many tasks the connector runs (see
	// Plugin.MaxTasks); tasks that split work take their share by TaskID.
	TaskCount int
	Offsets   OffsetReader
	Logger    *slog.Logger
	// Producer lets tasks write auxiliary topics that are not part of the
	// offset-tracked record stream (schema history); nil for sinks.
	Producer AuxProducer
}

// AuxProducer writes raw records synchronously to Kafka, bypassing
// converters; Debezium's schema history topic is written this way.
type AuxProducer interface {
	ProduceSync(ctx context.Context, topic string, key, value []byte) error
	ReadAll(ctx context.Context, topic string) ([]KV, error)
}

// KV is a raw Kafka record.
type KV struct {
	Key, Value []byte
}
