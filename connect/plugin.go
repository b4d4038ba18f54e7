package connect

import (
	"context"

	"github.com/tributary-io/tributary/connect/config"
)

// PluginType is "source" or "sink", as Kafka Connect's /connector-plugins
// reports it.
type PluginType string

const (
	SourcePlugin PluginType = "source"
	SinkPlugin   PluginType = "sink"
)

// Plugin describes a connector class. Plugins are listed explicitly by the
// binary's main package rather than registered through init side effects.
type Plugin struct {
	Class   string   // e.g. io.debezium.connector.postgresql.PostgresConnector
	Aliases []string // short names accepted in connector.class
	Type    PluginType
	Version string

	// Config returns the connector's own properties. Runtime-owned keys
	// (converters, transforms, errors.*, topic.creation.*) are added by the
	// runtime.
	Config func() *config.Def

	// Validate performs checks that need the outside world (connectivity,
	// server settings, privileges) after Config has parsed the properties.
	// Optional.
	Validate func(ctx context.Context, cfg *config.Values) error

	// DescribeSchemas returns the key and value schemas the connector
	// would produce for every captured table right now, by reading the
	// source's catalog. `tributary schema check/export` uses it. Optional.
	DescribeSchemas func(ctx context.Context, cfg *config.Values) ([]TopicSchema, error)

	// MaxTasks is how many tasks the connector runs for its configuration,
	// as Kafka Connect's Connector.taskConfigs(tasks.max) decides: a sink
	// runs tasks.max tasks sharing its consumer group, the JDBC source
	// splits its tables over tasks.max tasks. Nil: one task (Debezium's
	// connectors, whatever tasks.max says, as in Debezium).
	MaxTasks func(cfg *config.Values) int

	NewSourceTask func(ctx context.Context, cfg *config.Values, tc TaskContext) (SourceTask, error)
	NewSinkTask   func(ctx context.Context, cfg *config.Values, tc TaskContext) (SinkTask, error)

	// ExactlyOnce is a source connector's answer to Kafka Connect's
	// SourceConnector.exactlyOnceSupport: whether a task restarted from
	// its last committed offset emits exactly the records after it, so
	// that records and offsets written in one Kafka transaction deliver
	// each change once (exactly.once.support=required checks it).
	ExactlyOnce ExactlyOnceSupport
	// TransactionBoundaries is SourceConnector.canDefineTransactionBoundaries:
	// the task calls CommitTransaction on its writer where a transaction
	// of the source ends (transaction.boundary=connector).
	TransactionBoundaries bool
}

// ExactlyOnceSupport is Kafka Connect's ExactlyOnceSupport, with the zero
// value standing for a connector that does not implement the method.
type ExactlyOnceSupport uint8

const (
	ExactlyOnceUnknown ExactlyOnceSupport = iota
	ExactlyOnceSupported
	ExactlyOnceUnsupported
)

// TransactionCommitter is implemented by the runtime's RecordWriter under
// transaction.boundary=connector (Kafka Connect's TransactionContext).
type TransactionCommitter interface {
	// CommitTransaction ends the Kafka transaction after the last record
	// written: those records and their offsets become visible together.
	CommitTransaction(ctx context.Context) error
}

// CommitTransaction asks w to commit the records written so far as one
// transaction when the runtime delivers exactly once with
// connector-defined boundaries; otherwise it does nothing.
func CommitTransaction(ctx context.Context, w RecordWriter) error {
	if tc, ok := w.(TransactionCommitter); ok {
		return tc.CommitTransaction(ctx)
	}
	return nil
}

// Plugins is the set of connector classes a binary knows.
type Plugins []*Plugin

// Lookup finds a plugin by class name or alias.
func (ps Plugins) Lookup(class string) (*Plugin, bool) {
	for _, p := range ps {
		if p.Class == class {
			return p, true
		}
		for _, a := range p.Aliases {
			if a == class {
				return p, true
			}
		}
	}
	return nil, false
}

// TopicSchema is the key and value schema of one topic a source writes.
type TopicSchema struct {
	Topic string
	Key   *Schema
	Value *Schema
}
