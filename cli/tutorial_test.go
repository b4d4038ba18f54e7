package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testdb"
)

const tutorialDir = "../testdata/debezium-tutorial"

// tutorialFile is one of Debezium's tutorial registrations with only the
// docker-compose addresses replaced: every other property is the file's.
func tutorialFile(t *testing.T, dir, name string, port int, broker string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(tutorialDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var reg struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(data, &reg); err != nil {
		t.Fatal(err)
	}
	reg.Config["database.hostname"] = "127.0.0.1"
	reg.Config["database.port"] = fmt.Sprint(port)
	if _, ok := reg.Config["schema.history.internal.kafka.bootstrap.servers"]; ok {
		reg.Config["schema.history.internal.kafka.bootstrap.servers"] = broker
	}
	out, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDebeziumTutorial validates Debezium's own tutorial registrations
// (testdata/debezium-tutorial, the current release's form) against the
// private servers and runs each: the snapshot of the inventory database
// and one streamed change reach dbserver1.inventory.customers.
func TestDebeziumTutorial(t *testing.T) {
	for _, tc := range []struct {
		file     string
		postgres bool
	}{
		{"register-postgres.json", true},
		{"register-mysql.json", false},
		{"register-mariadb.json", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			var port int
			var change func()
			if tc.postgres {
				pg := testdb.StartPostgres(t)
				sql, err := os.ReadFile("../testdata/postgres-inventory.sql")
				if err != nil {
					t.Fatal(err)
				}
				pg.Exec(t, "postgres", string(sql))
				port = pg.Port
				change = func() {
					pg.Exec(t, "postgres", `INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Tutorial', 'Reader', 'reader@example.com')`)
				}
			} else {
				m := testdb.StartMariaDB(t)
				sql, err := os.ReadFile("../testdata/mariadb-inventory.sql")
				if err != nil {
					t.Fatal(err)
				}
				m.Exec(t, "", string(sql),
					// The tutorial image's replication user.
					// (and at localhost, which the server's anonymous
					// localhost account would otherwise shadow).
					`CREATE USER 'debezium'@'%' IDENTIFIED BY 'dbz'`, `CREATE USER 'debezium'@'localhost' IDENTIFIED BY 'dbz'`,
					`GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'debezium'@'%'`,
					`GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO 'debezium'@'localhost'`)
				port = m.Port
				change = func() {
					m.Exec(t, "inventory", `INSERT INTO customers (first_name, last_name, email) VALUES ('Tutorial', 'Reader', 'reader@example.com')`)
				}
			}
			brokerPort := freePort(t)
			broker := fmt.Sprintf("127.0.0.1:%d", brokerPort)
			cfg := tutorialFile(t, dir, tc.file, port, broker)
			worker := filepath.Join(dir, "worker.yaml")
			if err := os.WriteFile(worker, []byte(fmt.Sprintf("worker:\n  embedded.broker.port: %d\n  embedded.broker.data.dir: %s\n  offset.storage.file.filename: %s\n  offset.flush.interval.ms: 200\n",
				brokerPort, filepath.Join(dir, "kafka"), filepath.Join(dir, "offsets.json"))), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, code := runCmd(t, "validate", "-c", worker, "-c", cfg); code != 0 {
				t.Fatalf("validate exit %d:\n%s", code, out)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			p := startRun(t, dir, worker+" -c "+cfg, 1)
			waitTopicCount(ctx, t, p, broker, "dbserver1.inventory.customers", 4)
			change()
			waitTopicCount(ctx, t, p, broker, "dbserver1.inventory.customers", 5)
			p.stop(t)
		})
	}
}

// TestDebeziumRenamedProperties: the Debezium 1.x forms of the tutorial
// are refused, each naming the property that replaced the old one.
func TestDebeziumRenamedProperties(t *testing.T) {
	for _, tc := range []struct {
		class string
		old   map[string]string
		want  []string
	}{
		{"io.debezium.connector.postgresql.PostgresConnector",
			map[string]string{"database.server.name": "dbserver1", "schema.whitelist": "inventory", "database.dbname": "postgres"},
			[]string{"database.server.name: renamed topic.prefix in Debezium 2.0", "schema.whitelist: renamed schema.include.list in Debezium 2.0"}},
		{"io.debezium.connector.mysql.MySqlConnector",
			map[string]string{"database.server.name": "dbserver1", "database.server.id": "184054", "database.whitelist": "inventory",
				"database.history.kafka.bootstrap.servers": "kafka:9092", "database.history.kafka.topic": "dbhistory.inventory"},
			[]string{"database.whitelist: renamed database.include.list", "database.history.kafka.topic: renamed schema.history.internal.kafka.topic",
				"database.history.kafka.bootstrap.servers: renamed schema.history.internal.kafka.bootstrap.servers"}},
	} {
		dir := t.TempDir()
		conf := map[string]string{"connector.class": tc.class, "database.hostname": "127.0.0.1", "database.user": "u"}
		for k, v := range tc.old {
			conf[k] = v
		}
		data, _ := json.Marshal(map[string]any{"name": "old", "config": conf})
		path := filepath.Join(dir, "old.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, code := runCmd(t, "validate", "--offline", "-c", path)
		if code == 0 {
			t.Fatalf("%s: the Debezium 1.x form validated:\n%s", tc.class, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", tc.class, w, out)
			}
		}
	}
}
