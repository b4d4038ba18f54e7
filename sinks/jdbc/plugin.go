// Package jdbc is a JDBC-style sink connector that writes Kafka records
// into PostgreSQL, MySQL and MariaDB. It accepts the properties of
// Debezium's io.debezium.connector.jdbc.JdbcSinkConnector (3.6.1) and of
// Confluent's io.confluent.connect.jdbc.JdbcSinkConnector.
//
// It understands Debezium change events natively (c/r/u become upserts, d
// deletes, t truncates) as well as records flattened by
// ExtractNewRecordState (a null value with a value schema is a delete).
// Each Put is one database transaction. Writes are idempotent upserts
// (PostgreSQL INSERT ... ON CONFLICT DO UPDATE, MySQL INSERT ... ON
// DUPLICATE KEY UPDATE) so that records replayed after a crash converge to
// the same table contents. On PostgreSQL, each run of same-shaped changes
// is one set-based statement, prepared once per shape, that reads its rows
// from one text[] parameter per column (values in PostgreSQL's text
// format, converted by the column types' input functions as COPY would).
// On MySQL/MariaDB, runs become multi-row statements.
//
// Type mapping: Debezium semantic types are mapped back to native column
// types when tables are created or evolved (schema.evolution=basic, or
// Confluent's auto.create/auto.evolve): Decimal → numeric(p,s)/decimal,
// VariableScaleDecimal → numeric/decimal(65,30) (exact, where Debezium
// uses double), Date → date, Time/MicroTime/NanoTime → time(3|6),
// Timestamp/MicroTimestamp/NanoTimestamp → timestamp/datetime(3|6),
// ZonedTimestamp → timestamptz (MySQL: datetime(6) in use.time.zone),
// ZonedTime → timetz, Json → json/jsonb, Uuid → uuid/char(36), bytes →
// bytea/longblob, Bits → bit(n), Enum → text/enum(...), EnumSet →
// text/set(...), Year → integer/year, MicroDuration → interval/bigint,
// arrays → element[] (MySQL: json), maps → jsonb/json. Nanosecond
// precision is truncated to microseconds, the finest both databases store.
package jdbc

import (
	"context"
	"fmt"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
)

// Plugin is Debezium's JDBC sink connector.
func Plugin() *connect.Plugin {
	return &connect.Plugin{
		Class:    DebeziumClass,
		Aliases:  []string{"jdbc-sink", "JdbcSinkConnector"},
		Type:     connect.SinkPlugin,
		MaxTasks: sinkTasks,
		Version:  debezium.Version,
		Config:   debeziumDef,
		Validate: func(ctx context.Context, v *config.Values) error { return validate(ctx, DebeziumClass, v) },
		NewSinkTask: func(ctx context.Context, v *config.Values, tc connect.TaskContext) (connect.SinkTask, error) {
			return NewTask(ctx, DebeziumClass, v, tc.Logger)
		},
	}
}

// sinkTasks is the number of tasks of a sink: tasks.max, sharing the
// topics' partitions through the connector's consumer group, each with
// its own database connection and transactions (as Kafka Connect runs
// Debezium's and Confluent's JDBC sinks).
func sinkTasks(v *config.Values) int { return int(v.Int("tasks.max")) }

// ConfluentPlugin is Confluent's JDBC sink connector (property names
// pk.mode, pk.fields, auto.create, auto.evolve, table.name.format...).
func ConfluentPlugin() *connect.Plugin {
	return &connect.Plugin{
		Class:    ConfluentClass,
		Aliases:  []string{"confluent-jdbc-sink"},
		Type:     connect.SinkPlugin,
		MaxTasks: sinkTasks,
		Version:  "10.8.0",
		Config:   confluentDef,
		Validate: func(ctx context.Context, v *config.Values) error { return validate(ctx, ConfluentClass, v) },
		NewSinkTask: func(ctx context.Context, v *config.Values, tc connect.TaskContext) (connect.SinkTask, error) {
			return NewTask(ctx, ConfluentClass, v, tc.Logger)
		},
	}
}

// validate checks that the target database is reachable with the given
// credentials.
func validate(ctx context.Context, class string, v *config.Values) error {
	t, err := NewTask(ctx, class, v, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", class, err)
	}
	return t.Close()
}
