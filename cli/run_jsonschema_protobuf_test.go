package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/registry"
)

// rawRecords waits until topic holds want records and returns their keys
// and values as written.
func rawRecords(t *testing.T, brokers []string, topic string, want int) (keys, values [][]byte) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		keys, values = nil, nil
		func() {
			client, err := sarama.NewClient(brokers, sarama.NewConfig())
			if err != nil {
				return
			}
			defer client.Close()
			hw, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
			if err != nil || hw < int64(want) {
				return
			}
			consumer, err := sarama.NewConsumerFromClient(client)
			if err != nil {
				return
			}
			defer consumer.Close()
			pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
			if err != nil {
				return
			}
			defer pc.Close()
			for i := int64(0); i < hw; i++ {
				m := <-pc.Messages()
				if m.Value != nil {
					keys, values = append(keys, m.Key), append(values, m.Value)
				}
			}
		}()
		if len(values) >= want {
			return keys, values
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: %d records after 90s, want %d", topic, len(values), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestRunJSONSchemaAndProtobufEndToEnd runs the PostgreSQL connector with
// the JsonSchemaConverter for values and the ProtobufConverter for keys
// against the embedded registry, then reads the topic with independent
// clients: confluent-kafka-python's JSONDeserializer and python-jsonschema
// for the values, protoc --decode for the keys, each with the schema the
// registry holds for the id in the record.
func TestRunJSONSchemaAndProtobufEndToEnd(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("protoc not found (apt-get install -y protobuf-compiler libprotobuf-dev): %v", err)
		}
		t.Skip("protoc not found")
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import jsonschema, confluent_kafka.schema_registry.json_schema").CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("apt-get install -y python3-confluent-kafka python3-jsonschema: %v\n%s", err, out)
		}
		t.Skipf("python modules missing: %s", out)
	}
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	pg.Exec(t, "inventory", demoPostgresSQL)
	dir := t.TempDir()
	brokerPort, registryPort := freePort(t), freePort(t)
	registryURL := fmt.Sprintf("http://127.0.0.1:%d", registryPort)
	cfg := filepath.Join(dir, "connector.yaml")
	yaml := fmt.Sprintf(`worker:
  embedded.broker.port: %d
  embedded.broker.data.dir: %s
  embedded.registry.port: %d
  offset.storage.file.filename: %s
name: inventory-connector
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: postgres
  database.dbname: inventory
  topic.prefix: dbserver1
  table.include.list: inventory.customers
  key.converter: io.confluent.connect.protobuf.ProtobufConverter
  key.converter.schema.registry.url: %s
  value.converter: io.confluent.connect.json.JsonSchemaConverter
  value.converter.schema.registry.url: %s
`, brokerPort, filepath.Join(dir, "kafka"), registryPort, filepath.Join(dir, "offsets.json"), pg.Port, registryURL, registryURL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	const topic = "dbserver1.inventory.customers"
	p := startRun(t, dir, cfg, 1)
	brokers := []string{fmt.Sprintf("127.0.0.1:%d", brokerPort)}
	rawRecords(t, brokers, topic, 4) // the snapshot
	pg.Exec(t, "inventory", "INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Sarah', 'Connor', 'sarah@sky.net')")
	keys, values := rawRecords(t, brokers, topic, 5)
	// The registry lives in the worker: stop it only once both are read.
	defer p.stop(t)

	// Values: Python reads them.
	var in strings.Builder
	for _, v := range values {
		in.WriteString(hex.EncodeToString(v) + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "../schema/jsonschema/testdata/decode_json_schema.py", registryURL, topic)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(values) {
		t.Fatalf("python read %d records of %d:\n%s", len(lines), len(values), out)
	}
	var last struct {
		Type  string `json:"type"`
		Value struct {
			Op    string         `json:"op"`
			After map[string]any `json:"after"`
		} `json:"value"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Type != "JSON" || last.Value.Op != "c" || last.Value.After["email"] != "sarah@sky.net" {
		t.Errorf("python read the insert as %s", lines[len(lines)-1])
	}

	// Keys: protoc decodes them with the registered .proto.
	client, err := registry.NewClient(registry.Config{URL: registryURL})
	if err != nil {
		t.Fatal(err)
	}
	k := keys[len(keys)-1]
	if len(k) < 6 || k[0] != 0 || k[5] != 0 {
		t.Fatalf("key wire header % x", k)
	}
	reg, err := client.Schema(context.Background(), int(binary.BigEndian.Uint32(k[1:5])))
	if err != nil || reg.SchemaType != "PROTOBUF" {
		t.Fatalf("key schema: %+v %v", reg, err)
	}
	pdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pdir, "key.proto"), []byte(reg.Schema), 0o644); err != nil {
		t.Fatal(err)
	}
	dec := exec.Command(protoc, "--decode=dbserver1.inventory.customers.Key", "-I", pdir, "-I", "/usr/include", "key.proto")
	dec.Stdin = bytes.NewReader(k[6:])
	dout, err := dec.CombinedOutput()
	if err != nil || strings.TrimSpace(string(dout)) != "id: 1005" {
		t.Fatalf("protoc --decode of the insert's key: %v\n%s\nschema:\n%s", err, dout, reg.Schema)
	}
}
