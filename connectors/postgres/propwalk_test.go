package postgres

import (
	"log/slog"
	"testing"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connect/config/configtest"
)

// Every property the PostgreSQL connector defines changes its parsed
// settings, is refused at non-default values with the reason, or is read
// outside them and named with the behavioural test that shows its effect.
func TestEveryPropertyHasAnEffect(t *testing.T) {
	base := map[string]string{"database.hostname": "127.0.0.1", "database.user": "postgres", "database.dbname": "app",
		"topic.prefix": "p"}
	values := map[string][]string{
		"message.key.columns":     {"public.t:id"},
		"snapshot.mode":           {"no_data", "never", "always"},
		"signal.enabled.channels": {"source,file"},
		"skipped.operations":      {"c", "none"},
		"plugin.name":             {"decoderbufs"},
	}
	kafkaSignals := map[string]string{"signal.enabled.channels": "source,kafka", "signal.kafka.bootstrap.servers": "127.0.0.1:9092"}
	with := map[string]map[string]string{
		"signal.file":                    {"signal.enabled.channels": "source,file"},
		"signal.kafka.bootstrap.servers": {"signal.enabled.channels": "source,kafka"},
		"signal.kafka.topic":             kafkaSignals,
		"signal.kafka.poll.timeout.ms":   kafkaSignals,
		"signal.kafka.groupId":           kafkaSignals,
	}
	behavioural := map[string]string{
		"errors.max.retries":                  "internal/runtime TestSourceGivesUpAfterMaxRetries (read by runtime.NewSource)",
		"retriable.restart.connector.wait.ms": "internal/runtime TestSourceRestartsTaskAfterRetriableError (read by runtime.NewSource)",
		"max.queue.size":                      "internal/runtime TestMaxQueueSizeBoundsRecordsInFlight (read by runtime.NewSource)",
		"snapshot.select.statement.overrides": "TestSelectStatementOverrides (needs a statement per listed table: snapshot.select.statement.overrides.<table>)",
		"tasks.max":                           "one task, as Debezium's PostgreSQL connector: Plugin().MaxTasks is nil (internal/herder runs MaxTasks tasks)",
	}
	configtest.Walk(t, Def(), base, func(v *config.Values) (any, error) {
		return parseConfig(v, slog.New(slog.DiscardHandler))
	}, configtest.Options{Values: values, With: with, Behavioural: behavioural})
}
