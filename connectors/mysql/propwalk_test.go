package mysql

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connect/config/configtest"
)

// Every property the MariaDB and MySQL connectors define changes what the
// connector parses (its settings, table and column filters, column
// mappers), is refused at non-default values with the reason, or is read
// outside them and named with the behavioural test that shows its effect.
func TestEveryPropertyHasAnEffect(t *testing.T) {
	for _, tc := range []struct {
		name   string
		plugin *connect.Plugin
		f      flavor
	}{{"mariadb", MariaDBPlugin(), mariadbFlavor}, {"mysql", Plugin(), mysqlFlavor}} {
		t.Run(tc.name, func(t *testing.T) {
			base := map[string]string{"database.hostname": "127.0.0.1", "database.user": "root", "database.server.id": "1",
				"topic.prefix": "p", "schema.history.internal.kafka.topic": "h"}
			values := map[string][]string{
				"message.key.columns":     {"inventory.t:id"},
				"snapshot.mode":           {"no_data", "never", "always", "when_needed"},
				"signal.enabled.channels": {"source,file"},
				"skipped.operations":      {"c", "none"},
				"database.include.list":   {"inventory"},
				"database.exclude.list":   {"inventory"},
				"time.precision.mode":     {"connect"},
			}
			kafkaSignals := map[string]string{"signal.enabled.channels": "source,kafka", "signal.kafka.bootstrap.servers": "127.0.0.1:9092"}
			with := map[string]map[string]string{
				"signal.file":                    {"signal.enabled.channels": "source,file"},
				"signal.kafka.bootstrap.servers": {"signal.enabled.channels": "source,kafka"},
				"signal.kafka.topic":             kafkaSignals,
				"signal.kafka.poll.timeout.ms":   kafkaSignals,
				"signal.kafka.groupId":           kafkaSignals,
			}
			fileHistory := map[string]string{"schema.history.internal": fileHistoryClass, "schema.history.internal.kafka.topic": ""}
			redisHistory := map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": "",
				"schema.history.internal.redis.address": "127.0.0.1:6379"}
			with["schema.history.internal.file.filename"] = fileHistory
			for _, k := range tc.plugin.Config().Keys() {
				if strings.HasPrefix(k.Name, "schema.history.internal.redis.") {
					with[k.Name] = redisHistory
				}
			}
			// the address itself is required: walked without one
			with["schema.history.internal.redis.address"] = map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": ""}
			behavioural := map[string]string{
				"errors.max.retries":                  "internal/runtime TestSourceGivesUpAfterMaxRetries (read by runtime.NewSource)",
				"retriable.restart.connector.wait.ms": "internal/runtime TestSourceRestartsTaskAfterRetriableError (read by runtime.NewSource)",
				"max.queue.size":                      "internal/runtime TestMaxQueueSizeBoundsRecordsInFlight (read by runtime.NewSource)",
				"snapshot.select.statement.overrides": "TestSelectStatementOverrides (needs a statement per listed table)",
				"tasks.max":                           "one task, as Debezium's MySQL and MariaDB connectors: Plugin().MaxTasks is nil",
				"converters":                          "TestTinyIntOneToBooleanConverter (a converter needs its <name>.type; read when the table schemas are built)",
				"gtid.ignore.on.recovery":             "TestSchemaChangesAndRestart (restart from the file/position with gtid.ignore.on.recovery=true) and TestPurgedBinlog (read by the task)",
			}
			configtest.Walk(t, tc.plugin.Config(), base, func(v *config.Values) (any, error) {
				c, err := newConnectorState(tc.f, v, connect.TaskContext{})
				if err != nil {
					return nil, err
				}
				// what the connector parsed; not its clock, logger or caches
				return struct {
					cfg                           *settings
					tables, dbs, columns, mappers any
				}{c.cfg, c.tableFilter, c.dbFilter, c.columns, c.mappers}, nil
			}, configtest.Options{Values: values, With: with, Behavioural: behavioural})
		})
	}
}
