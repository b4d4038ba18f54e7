package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKafkaConnectPropertiesFiles validates Kafka Connect's own files as
// connect-standalone takes them, and reports Kafka client settings the
// worker or a connector would otherwise carry without effect.
func TestKafkaConnectPropertiesFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	worker := write("connect-standalone.properties", `bootstrap.servers=127.0.0.1:9092
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
offset.storage.file.filename=`+filepath.Join(dir, "connect.offsets")+`
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="connect" password="hunter2";
producer.compression.type=zstd
`)
	conn := write("inventory-connector.properties", `name=inventory-connector
connector.class=io.debezium.connector.postgresql.PostgresConnector
database.hostname=127.0.0.1
database.user=postgres
database.dbname=inventory
topic.prefix=dbserver1
table.include.list=inventory.customers,\
    inventory.orders
producer.override.linger.ms=20
`)
	out, code := runCmd(t, "validate", "--offline", "-c", worker, "-c", conn)
	if code != 0 {
		t.Fatalf("validate exit %d:\n%s", code, out)
	}

	badWorker := write("bad-worker.properties", "bootstrap.servers=127.0.0.1:9092\nproducer.buffer.memory=33554432\nconsumer.enable.auto.commit=true\nssl.keystore.password=hunter2\n")
	badConn := write("bad-connector.properties", strings.Replace(mustRead(t, conn), "producer.override.linger.ms=20", "producer.override.max.block.ms=100\nconsumer.override.acks=all", 1))
	out, code = runCmd(t, "validate", "--offline", "-c", badWorker, "-c", badConn)
	if code == 0 {
		t.Fatalf("validate accepted client settings that have no effect:\n%s", out)
	}
	for _, want := range []string{"buffer.memory", "enable.auto.commit", "ssl.keystore.password", "producer.override.max.block.ms", "consumer.override.acks"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output does not name %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Fatalf("a secret in the output:\n%s", out)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
