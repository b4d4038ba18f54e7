package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// debeziumMySQLConnector is the KafkaConnector of Debezium's "Deploying
// Debezium on Kubernetes" guide, but for its credentials: the guide reads
// them with Strimzi's KubernetesSecretConfigProvider (${secrets:...}), which
// Tributary does not have; a mounted Secret and ${file:...} stand in.
const debeziumMySQLConnector = `apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaConnector
metadata:
  name: debezium-connector-mysql
  labels:
    strimzi.io/cluster: debezium-connect-cluster
spec:
  class: io.debezium.connector.mysql.MySqlConnector
  tasksMax: 1
  config:
    tasks.max: 1
    database.hostname: mysql
    database.port: 3306
    database.user: ${file:debezium-secret.properties:username}
    database.password: ${file:debezium-secret.properties:password}
    database.server.id: 184054
    topic.prefix: mysql
    database.include.list: inventory
    schema.history.internal.kafka.bootstrap.servers: debezium-cluster-kafka-bootstrap:9092
    schema.history.internal.kafka.topic: schema-changes.inventory
`

func TestKafkaConnector(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "debezium-secret.properties"), []byte("username=debezium\npassword=dbz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(debeziumMySQLConnector), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Connectors) != 1 || len(f.Worker) != 0 {
		t.Fatalf("got %+v", f)
	}
	c := f.Connectors[0]
	want := map[string]string{
		"connector.class": "io.debezium.connector.mysql.MySqlConnector", "tasks.max": "1",
		"database.hostname": "mysql", "database.port": "3306", "database.user": "debezium", "database.password": "dbz",
		"database.server.id": "184054", "topic.prefix": "mysql", "database.include.list": "inventory",
		"schema.history.internal.kafka.bootstrap.servers": "debezium-cluster-kafka-bootstrap:9092",
		"schema.history.internal.kafka.topic":             "schema-changes.inventory",
	}
	if c.Name != "debezium-connector-mysql" || c.State != "" || !reflect.DeepEqual(c.Config, want) {
		t.Errorf("connector %q state %q config\n%v\nwant\n%v", c.Name, c.State, c.Config, want)
	}
	if got := c.Raw["database.password"]; got != "${file:"+filepath.Join(dir, "debezium-secret.properties")+":password}" {
		t.Errorf("raw password %q: want the reference, made absolute", got)
	}
}

func TestKafkaConnectorSpec(t *testing.T) {
	head := "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: c\n  namespace: kafka\n  uid: 1b2c\n  generation: 3\n"
	for _, tc := range []struct {
		name, spec string
		state      string
		config     map[string]string
		err        string
	}{
		{name: "spec wins over config", spec: "spec:\n  class: io.debezium.connector.postgresql.PostgresConnector\n  tasksMax: 2\n  config:\n    connector.class: x\n    tasks.max: 9\n    topic.prefix: p\n",
			config: map[string]string{"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "tasks.max": "2", "topic.prefix": "p"}},
		{name: "no tasksMax", spec: "spec:\n  class: C\n", config: map[string]string{"connector.class": "C"}},
		{name: "paused", spec: "spec:\n  class: C\n  state: paused\n", state: "paused", config: map[string]string{"connector.class": "C"}},
		{name: "stopped", spec: "spec:\n  class: C\n  state: Stopped\n", state: "stopped", config: map[string]string{"connector.class": "C"}},
		{name: "deprecated pause", spec: "spec:\n  class: C\n  pause: true\n", state: "paused", config: map[string]string{"connector.class": "C"}},
		{name: "state over pause", spec: "spec:\n  class: C\n  pause: true\n  state: running\n", state: "running", config: map[string]string{"connector.class": "C"}},
		{name: "ignored fields", spec: "spec:\n  class: C\n  autoRestart:\n    enabled: true\n  listOffsets:\n    toConfigMap:\n      name: o\nstatus:\n  conditions: []\n", config: map[string]string{"connector.class": "C"}},
		{name: "bad state", spec: "spec:\n  class: C\n  state: sleeping\n", err: `spec.state "sleeping"`},
		{name: "unknown spec field", spec: "spec:\n  class: C\n  taskMax: 1\n", err: "field taskMax not found"},
		{name: "no class", spec: "spec:\n  tasksMax: 1\n", err: "spec.class: missing"},
		{name: "zero tasks", spec: "spec:\n  class: C\n  tasksMax: 0\n", err: "spec.tasksMax 0"},
		{name: "secrets provider", spec: "spec:\n  class: C\n  config:\n    database.password: ${secrets:ns/s:password}\n", err: `config provider "secrets" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(head+tc.spec), "")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := f.Connectors[0]
			if c.Name != "c" || c.State != tc.state || !reflect.DeepEqual(c.Config, tc.config) {
				t.Errorf("got %q state %q %v, want state %q %v", c.Name, c.State, c.Config, tc.state, tc.config)
			}
		})
	}
}

func TestKafkaConnectorDocuments(t *testing.T) {
	doc := func(name string) string {
		return "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata:\n  name: " + name + "\nspec:\n  class: C\n"
	}
	f, err := Parse([]byte(doc("a")+"---\n"+doc("b")+"---\n"), "")
	if err != nil || len(f.Connectors) != 2 || f.Connectors[0].Name != "a" || f.Connectors[1].Name != "b" {
		t.Fatalf("two documents: %+v, %v", f, err)
	}
	if _, err := Parse([]byte(doc("a")+"---\n"+doc("a")), ""); err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Errorf("same name twice: %v", err)
	}
	if _, err := Parse([]byte(doc("a")+"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"), ""); err == nil {
		t.Error("a ConfigMap after a KafkaConnector was accepted")
	}
	// Not a KafkaConnector: the usual format, which rejects these fields.
	if _, err := Parse([]byte("apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnect\nmetadata:\n  name: x\n"), ""); err == nil {
		t.Error("a KafkaConnect resource was accepted as a connector file")
	}
}
