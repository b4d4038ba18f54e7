package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testdb"
)

// TestRoutingEndToEnd is issue 11's routing example through `tributary
// run` on PostgreSQL, read back with kcat: ByLogicalTableRouter merges the
// sharded tables customers_shard_1..3 into one topic, the key gaining
// __dbz__physicalTableIdentifier so that the shards' equal ids stay
// distinct keys, and RegexRouter then collapses dbserver1.inventory.* to
// one topic per table name.
func TestRoutingEndToEnd(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	stmts := []string{`CREATE SCHEMA inventory`,
		`CREATE TABLE inventory.customers (id integer PRIMARY KEY, name text NOT NULL)`,
		`INSERT INTO inventory.customers VALUES (1001, 'Sally'), (1002, 'George')`,
		`CREATE TABLE inventory.orders (id integer PRIMARY KEY, purchaser integer NOT NULL)`,
		`INSERT INTO inventory.orders VALUES (10001, 1001)`}
	for shard := 1; shard <= 3; shard++ {
		// Every shard numbers its rows from 1: the ids collide.
		stmts = append(stmts, fmt.Sprintf(`CREATE TABLE inventory.customers_shard_%d (id integer PRIMARY KEY, name text NOT NULL)`, shard),
			fmt.Sprintf(`INSERT INTO inventory.customers_shard_%d VALUES (1, 'first of shard %d'), (2, 'second of shard %d')`, shard, shard, shard))
	}
	pg.Exec(t, "inventory", stmts...)

	dir := t.TempDir()
	brokerPort := freePort(t)
	broker := fmt.Sprintf("127.0.0.1:%d", brokerPort)
	cfg := filepath.Join(dir, "routing.yaml")
	yaml := fmt.Sprintf(`worker:
  embedded.broker.port: %d
  embedded.broker.data.dir: %s
  offset.storage.file.filename: %s
  offset.flush.interval.ms: 200
name: routing
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: postgres
  database.dbname: inventory
  topic.prefix: dbserver1
  table.include.list: 'inventory\..*'
  transforms: shards,route
  transforms.shards.type: io.debezium.transforms.ByLogicalTableRouter
  transforms.shards.topic.regex: 'dbserver1\.inventory\.customers_shard_[0-9]+'
  transforms.shards.topic.replacement: dbserver1.inventory.customers_all_shards
  transforms.route.type: org.apache.kafka.connect.transforms.RegexRouter
  transforms.route.regex: 'dbserver1\.inventory\.(.*)'
  transforms.route.replacement: $1
`, brokerPort, filepath.Join(dir, "kafka"), filepath.Join(dir, "offsets.json"), pg.Port)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startRun(t, dir, cfg, 1)
	waitTopicCount(ctx, t, p, broker, "customers_all_shards", 6)
	// Streamed changes are routed the same way as the snapshot.
	pg.Exec(t, "inventory", `INSERT INTO inventory.customers_shard_2 VALUES (3, 'third of shard 2')`,
		`UPDATE inventory.customers_shard_3 SET name = 'renamed' WHERE id = 1`,
		`INSERT INTO inventory.customers VALUES (1003, 'Edward')`)
	waitTopicCount(ctx, t, p, broker, "customers_all_shards", 8)
	waitTopicCount(ctx, t, p, broker, "customers", 3)
	waitTopicCount(ctx, t, p, broker, "orders", 1)

	var topics []string
	for _, topic := range listTopics(t, broker) {
		if !strings.HasPrefix(topic, "_") {
			topics = append(topics, topic)
		}
	}
	sort.Strings(topics)
	if want := []string{"customers", "customers_all_shards", "orders"}; !reflect.DeepEqual(topics, want) {
		t.Errorf("topics %v, want one per logical table %v", topics, want)
	}

	type shardKey struct {
		ID    float64 `json:"id"`
		Table string  `json:"__dbz__physicalTableIdentifier"`
	}
	var keys []shardKey
	seen := map[shardKey]bool{}
	for _, rec := range kcatRead(ctx, t, broker, "customers_all_shards") {
		var key struct {
			Schema struct {
				Name   string `json:"name"`
				Fields []struct {
					Field string `json:"field"`
				} `json:"fields"`
			} `json:"schema"`
			Payload shardKey `json:"payload"`
		}
		if err := json.Unmarshal([]byte(rec.Key.(string)), &key); err != nil {
			t.Fatalf("offset %d: key %q: %v", rec.Offset, rec.Key, err)
		}
		if key.Schema.Name != "dbserver1.inventory.customers_all_shards.Key" || len(key.Schema.Fields) != 2 ||
			key.Schema.Fields[1].Field != "__dbz__physicalTableIdentifier" {
			t.Errorf("offset %d: key schema %+v, want dbserver1.inventory.customers_all_shards.Key {id, __dbz__physicalTableIdentifier}", rec.Offset, key.Schema)
		}
		env, _ := rec.Value.(map[string]any)
		schema, _ := env["schema"].(map[string]any)
		payload, _ := env["payload"].(map[string]any)
		source, _ := payload["source"].(map[string]any)
		if schema["name"] != "dbserver1.inventory.customers_all_shards.Envelope" {
			t.Errorf("offset %d: value schema %v, want dbserver1.inventory.customers_all_shards.Envelope", rec.Offset, schema["name"])
		}
		// The key names the physical table the event's source block names.
		if want := "dbserver1.inventory." + fmt.Sprint(source["table"]); key.Payload.Table != want {
			t.Errorf("offset %d: key %+v for a change of table %v", rec.Offset, key.Payload, source["table"])
		}
		if seen[key.Payload] && payload["op"] != "u" {
			t.Errorf("offset %d: key %+v repeated by a %v event", rec.Offset, key.Payload, payload["op"])
		}
		if !seen[key.Payload] {
			keys = append(keys, key.Payload)
		}
		seen[key.Payload] = true
	}
	// 3 shards x 2 rows, and the row inserted in shard 2: seven distinct
	// keys although only ids 1, 2 and 3 exist.
	if len(keys) != 7 {
		t.Errorf("%d distinct keys on customers_all_shards, want 7: %+v", len(keys), keys)
	}
	for _, rec := range kcatRead(ctx, t, broker, "customers") {
		var key struct {
			Payload map[string]any `json:"payload"`
		}
		if err := json.Unmarshal([]byte(rec.Key.(string)), &key); err != nil {
			t.Fatalf("customers offset %d: key %q: %v", rec.Offset, rec.Key, err)
		}
		// Only the sharded tables' keys gain the field.
		if len(key.Payload) != 1 {
			t.Errorf("customers offset %d: key %v, want the id alone", rec.Offset, key.Payload)
		}
	}
	p.stop(t)
}
