package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/internal/testdb"
)

// The outbox pattern end to end, as issue 11 asks for it: an orders
// service writes its order row and an outbox row in one transaction, and
// `tributary run` with Debezium's EventRouter publishes the outbox rows as
// domain events on outbox.event.<aggregatetype>, keyed by aggregateid,
// with the event id in the "id" header. Consumers that know nothing of
// Tributary (kcat, confluent-kafka-python) read them back.

// outboxVariant is one of the connectors an outbox test runs side by side
// in one `tributary run`, all capturing the same outbox table.
type outboxVariant struct {
	name   string
	avro   bool // AvroConverter with the embedded registry; JsonConverter otherwise
	expand bool // table.expand.json.payload=true
	// tombstones keeps the connector's tombstones.on.delete=true, so the
	// EventRouter itself must drop the tombstone that follows a delete; the
	// others use the setting of Debezium's outbox example
	// (tombstones.on.delete=false), and the router drops the delete event.
	tombstones bool
}

var outboxVariants = []outboxVariant{
	{name: "json"},
	{name: "json-expanded", expand: true},
	{name: "avro", avro: true, tombstones: true},
	{name: "avro-expanded", avro: true, expand: true, tombstones: true},
}

// topic is where the variant routes events of aggregateType. The first
// variant uses Debezium's default route.topic.replacement; the others
// share its broker, so they prefix their topics with their name (a JSON
// and an Avro event on one topic would break both consumers).
func (v outboxVariant) topic(aggregateType string) string {
	if v.name == outboxVariants[0].name {
		return "outbox.event." + aggregateType
	}
	return v.name + ".outbox.event." + aggregateType
}

// outboxRow is one row the orders service writes to its outbox table.
type outboxRow struct {
	id, aggregateType, aggregateID, eventType, payload string
	// expanded is the payload table.expand.json.payload makes of it, when
	// that differs from payload.
	expanded string
}

var (
	// existingEvent is in the outbox before the connectors start: its
	// snapshot event shows each connector has read the table, after
	// which every committed change is streamed.
	existingEvent = outboxRow{"5f0c5a4e-2d0c-4d36-9a0e-5c1a8f7d6b01", "customer", "c-7", "CustomerCreated",
		`{"id": "c-7", "name": "Sally Thomas", "tags": ["vip", "eu"]}`, ""}
	// keptEvent is variant B: the outbox row stays.
	keptEvent = outboxRow{"0b9d4c1e-7f5a-4e8b-9a61-3c2d1e0f9a02", "order", "1", "OrderCreated",
		`{"id": 1, "customer": "c-7", "total": 19.99, "lines": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}]}`, ""}
	// deletedEvent is variant A: the service deletes the outbox row in the
	// transaction that wrote it, so the table stays empty.
	deletedEvent = outboxRow{"9a3e2f10-4c6d-4b7a-8e19-5d0c2b1a7f03", "order", "2", "OrderCreated",
		`{"id": 2, "customer": "c-7", "total": 5.5, "lines": [{"sku": "C-3", "qty": 5}]}`, ""}
	// lastEvent comes after both order transactions: once it is on its
	// topic, everything the orders transactions produced is too.
	// Its empty array has no schema to infer, so expansion drops it as
	// Debezium does (table.json.payload.empty.array.behavior=ignore, the
	// default).
	lastEvent = outboxRow{"c4f1a2b3-5d6e-4f70-8a9b-0c1d2e3f4a04", "customer", "c-8", "CustomerCreated",
		`{"id": "c-8", "name": "George Bailey", "tags": []}`, `{"id": "c-8", "name": "George Bailey"}`}
)

// outboxExpected is what each variant's topics must hold, in order.
var outboxExpected = map[string][]outboxRow{
	"customer": {existingEvent, lastEvent},
	"order":    {keptEvent, deletedEvent},
}

// outboxDB is the database side of an outbox test.
type outboxDB struct {
	exec func(t *testing.T, stmts ...string)
	// insert is the statement writing an outbox row; order the one
	// writing the order row the event describes.
	insert func(r outboxRow) string
	order  func(id int, customer, total string) string
	begin  string
	// props are the connection properties of variant i's connector.
	props func(i int, v outboxVariant) map[string]string
	// payloadSchemaName is the Connect schema name of the unexpanded
	// payload (PostgreSQL's jsonb is io.debezium.data.Json).
	payloadSchemaName string
}

func TestOutboxPostgres(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "shop")
	pg.Exec(t, "shop", `CREATE SCHEMA shop`,
		`CREATE TABLE shop.orders (id integer PRIMARY KEY, customer varchar(64) NOT NULL, total numeric(10,2) NOT NULL)`,
		// Debezium's basic outbox table.
		`CREATE TABLE shop.outbox (id uuid NOT NULL PRIMARY KEY, aggregatetype varchar(255) NOT NULL,
		   aggregateid varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb)`,
		// One publication for the four connectors, each with a slot of its
		// own: autocreated publications would race each other.
		`CREATE PUBLICATION outbox_pub FOR TABLE shop.outbox`)
	runOutbox(t, outboxDB{
		exec: func(t *testing.T, stmts ...string) { t.Helper(); pg.Exec(t, "shop", stmts...) },
		insert: func(r outboxRow) string {
			return fmt.Sprintf(`INSERT INTO shop.outbox (id, aggregatetype, aggregateid, type, payload) VALUES ('%s', '%s', '%s', '%s', '%s'::jsonb)`,
				r.id, r.aggregateType, r.aggregateID, r.eventType, r.payload)
		},
		order: func(id int, customer, total string) string {
			return fmt.Sprintf(`INSERT INTO shop.orders VALUES (%d, '%s', %s)`, id, customer, total)
		},
		begin: "BEGIN",
		props: func(_ int, v outboxVariant) map[string]string {
			return map[string]string{
				"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
				"database.hostname": "127.0.0.1", "database.port": strconv.Itoa(pg.Port),
				"database.user": "postgres", "database.dbname": "shop", "plugin.name": "pgoutput",
				"slot.name": "outbox_" + strings.ReplaceAll(v.name, "-", "_"), "publication.name": "outbox_pub",
				"publication.autocreate.mode": "disabled", "table.include.list": "shop.outbox",
			}
		},
		payloadSchemaName: "io.debezium.data.Json",
	})
}

func TestOutboxMariaDB(t *testing.T) {
	my := testdb.StartMariaDB(t)
	my.Exec(t, "", `CREATE DATABASE shop`,
		`CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(64) NOT NULL, total DECIMAL(10,2) NOT NULL)`,
		// MariaDB has no jsonb: JSON is LONGTEXT checked by json_valid, and
		// the uuid is kept as text.
		`CREATE TABLE shop.outbox (id CHAR(36) NOT NULL PRIMARY KEY, aggregatetype VARCHAR(255) NOT NULL,
		   aggregateid VARCHAR(255) NOT NULL, type VARCHAR(255) NOT NULL, payload JSON)`)
	runOutbox(t, outboxDB{
		exec: func(t *testing.T, stmts ...string) { t.Helper(); my.Exec(t, "shop", stmts...) },
		insert: func(r outboxRow) string {
			return fmt.Sprintf(`INSERT INTO shop.outbox (id, aggregatetype, aggregateid, type, payload) VALUES ('%s', '%s', '%s', '%s', '%s')`,
				r.id, r.aggregateType, r.aggregateID, r.eventType, r.payload)
		},
		order: func(id int, customer, total string) string {
			return fmt.Sprintf(`INSERT INTO shop.orders VALUES (%d, '%s', %s)`, id, customer, total)
		},
		begin: "START TRANSACTION",
		props: func(i int, v outboxVariant) map[string]string {
			return map[string]string{
				"connector.class":   "io.debezium.connector.mariadb.MariaDbConnector",
				"database.hostname": "127.0.0.1", "database.port": strconv.Itoa(my.Port),
				"database.user": "root", "database.password": "", "database.server.id": strconv.Itoa(5700 + i),
				"database.include.list": "shop", "table.include.list": "shop.outbox",
				"schema.history.internal.kafka.topic": "schemahistory.shop-" + v.name,
			}
		},
	})
}

// runOutbox runs the four variants' connectors in one `tributary run`,
// writes the orders service's transactions, and checks every variant's
// topics with an independent consumer.
func runOutbox(t *testing.T, db outboxDB) {
	db.exec(t, db.insert(existingEvent))
	dir := t.TempDir()
	brokerPort, registryPort := freePort(t), freePort(t)
	registryURL := fmt.Sprintf("http://127.0.0.1:%d", registryPort)
	broker := fmt.Sprintf("127.0.0.1:%d", brokerPort)
	type connector struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	var conns []connector
	for i, v := range outboxVariants {
		c := db.props(i, v)
		// Underscores: the prefix names Avro schemas of the raw events.
		c["topic.prefix"] = "shop_" + strings.ReplaceAll(v.name, "-", "_")
		c["transforms"] = "outbox"
		c["transforms.outbox.type"] = "io.debezium.transforms.outbox.EventRouter"
		if v.name != outboxVariants[0].name {
			c["transforms.outbox.route.topic.replacement"] = v.name + ".outbox.event.${routedByValue}"
		}
		if v.expand {
			c["transforms.outbox.table.expand.json.payload"] = "true"
		}
		if !v.tombstones {
			c["tombstones.on.delete"] = "false"
		}
		if v.avro {
			for _, side := range []string{"key.converter", "value.converter"} {
				c[side] = "io.confluent.connect.avro.AvroConverter"
				c[side+".schema.registry.url"] = registryURL
			}
		} else {
			c["key.converter"] = "org.apache.kafka.connect.storage.StringConverter"
			c["value.converter"] = "org.apache.kafka.connect.json.JsonConverter"
		}
		conns = append(conns, connector{Name: "outbox-" + v.name, Config: c})
	}
	cfg, err := json.MarshalIndent(map[string]any{
		"worker": map[string]string{
			"embedded.broker.port":         strconv.Itoa(brokerPort),
			"embedded.broker.data.dir":     filepath.Join(dir, "kafka"),
			"embedded.registry.port":       strconv.Itoa(registryPort),
			"offset.storage.file.filename": filepath.Join(dir, "offsets.json"),
			"offset.flush.interval.ms":     "200",
		},
		"connectors": conns,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "outbox.json")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p := startRun(t, dir, cfgPath, 1)

	for _, v := range outboxVariants {
		waitTopicCount(ctx, t, p, broker, v.topic("customer"), 1)
	}
	// Variant B keeps the outbox row; variant A deletes it in the same
	// transaction, as Debezium's outbox extensions for Quarkus and
	// Spring do to keep the table empty.
	db.exec(t, db.begin, db.order(1, "c-7", "19.99"), db.insert(keptEvent), "COMMIT")
	db.exec(t, db.begin, db.order(2, "c-7", "5.50"), db.insert(deletedEvent),
		fmt.Sprintf("DELETE FROM shop.outbox WHERE id = '%s'", deletedEvent.id), "COMMIT")
	db.exec(t, db.insert(lastEvent))
	for _, v := range outboxVariants {
		waitTopicCount(ctx, t, p, broker, v.topic("customer"), 2)
		waitTopicCount(ctx, t, p, broker, v.topic("order"), 2)
	}

	// confluent-kafka-python reads every variant's topics (one process
	// per format: starting Python with Avro takes a second); kcat reads the
	// JSON ones again.
	want := map[string][]outboxRow{}
	byFormat := map[string][]string{}
	for _, v := range outboxVariants {
		format := "json"
		if v.avro {
			format = "avro"
		}
		for agg, rows := range outboxExpected {
			want[v.topic(agg)] = rows
			byFormat[format] = append(byFormat[format], fmt.Sprintf("%s:%d", v.topic(agg), len(rows)))
		}
	}
	python := map[string][]consumed{}
	for format, topics := range byFormat {
		for topic, recs := range pythonRead(ctx, t, broker, registryURL, format, topics) {
			python[topic] = recs
		}
	}
	for _, v := range outboxVariants {
		t.Run(v.name, func(t *testing.T) {
			for _, agg := range []string{"customer", "order"} {
				topic := v.topic(agg)
				checkOutboxEvents(t, v, db, topic, want[topic], python[topic])
				if !v.avro {
					checkOutboxEvents(t, v, db, topic, want[topic], kcatRead(ctx, t, broker, topic))
				}
			}
		})
	}
	// Nothing else was routed: no delete events, no tombstones (the
	// consumers above stop at the records expected), no topic of their
	// own, no events of the orders table.
	var routed []string
	for _, topic := range listTopics(t, broker) {
		if strings.Contains(topic, "outbox.event.") {
			routed = append(routed, topic)
			if n := topicEnd(t, broker, topic); n != int64(len(want[topic])) {
				t.Errorf("%s holds %d records, want %d", topic, n, len(want[topic]))
			}
		}
	}
	sort.Strings(routed)
	var wantTopics []string
	for _, v := range outboxVariants {
		wantTopics = append(wantTopics, v.topic("customer"), v.topic("order"))
	}
	sort.Strings(wantTopics)
	if !reflect.DeepEqual(routed, wantTopics) {
		t.Errorf("routed topics %v, want %v", routed, wantTopics)
	}
	p.stop(t)
}

// consumed is one record as an independent consumer decoded it.
type consumed struct {
	Topic   string            `json:"topic"`
	Offset  int64             `json:"offset"`
	Key     any               `json:"key"`
	Headers map[string]string `json:"headers"`
	Value   any               `json:"value"`
	// ValueSchemaType is the registry's Avro type of the value's writer
	// schema (Avro only).
	ValueSchemaType string `json:"value_schema_type"`
}

// checkOutboxEvents compares a topic's records with the outbox rows that
// must have produced them.
func checkOutboxEvents(t *testing.T, v outboxVariant, db outboxDB, topic string, want []outboxRow, got []consumed) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d: %+v", topic, len(got), len(want), got)
		return
	}
	for i, w := range want {
		g := got[i]
		var wantPayload any
		wantJSON := w.payload
		if v.expand && w.expanded != "" {
			wantJSON = w.expanded
		}
		if err := json.Unmarshal([]byte(wantJSON), &wantPayload); err != nil {
			t.Fatal(err)
		}
		if g.Key != w.aggregateID {
			t.Errorf("%s[%d]: key %#v, want the aggregateid %q", topic, i, g.Key, w.aggregateID)
		}
		if g.Headers["id"] != w.id {
			t.Errorf("%s[%d]: id header %q, want %q (headers %v)", topic, i, g.Headers["id"], w.id, g.Headers)
		}
		payload := g.Value
		if !v.avro {
			// JsonConverter with schemas: {"schema": ..., "payload": ...}.
			env, ok := g.Value.(map[string]any)
			if !ok {
				t.Errorf("%s[%d]: value %#v is not a JsonConverter envelope", topic, i, g.Value)
				continue
			}
			schema, _ := env["schema"].(map[string]any)
			wantType := "string"
			if v.expand {
				wantType = "struct"
			}
			if schema["type"] != wantType {
				t.Errorf("%s[%d]: value schema %v, want type %s", topic, i, schema, wantType)
			}
			if !v.expand && db.payloadSchemaName != "" && schema["name"] != db.payloadSchemaName {
				t.Errorf("%s[%d]: value schema %v, want name %s", topic, i, schema, db.payloadSchemaName)
			}
			payload = env["payload"]
		} else {
			wantType := "string"
			if v.expand {
				wantType = "record"
			}
			if g.ValueSchemaType != wantType {
				t.Errorf("%s[%d]: registry holds a %q value schema, want %q", topic, i, g.ValueSchemaType, wantType)
			}
		}
		if !v.expand {
			// The payload as a JSON string, as the row holds it (PostgreSQL
			// normalises jsonb text, so compare it parsed).
			s, ok := payload.(string)
			if !ok {
				t.Errorf("%s[%d]: payload %#v is not a string", topic, i, payload)
				continue
			}
			if err := json.Unmarshal([]byte(s), &payload); err != nil {
				t.Errorf("%s[%d]: payload string %q is not JSON: %v", topic, i, s, err)
				continue
			}
		}
		if !reflect.DeepEqual(payload, wantPayload) {
			t.Errorf("%s[%d]: payload %#v, want %#v", topic, i, payload, wantPayload)
		}
	}
}

// kcatRead reads a whole topic with kcat: key, headers and value of each
// record.
func kcatRead(ctx context.Context, t *testing.T, broker, topic string) []consumed {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not found (Debian package kcat, installed by .ci/run): %v", err)
	}
	// Fields are separated by 0x1f, which neither JSON nor the keys hold.
	cmd := exec.CommandContext(ctx, kcat, "-C", "-e", "-q", "-b", broker, "-t", topic, "-o", "beginning", "-X", "fetch.wait.max.ms=20",
		"-f", "%o\x1f%k\x1f%h\x1f%s\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat reading %s: %v: %s", topic, err, stderr.Bytes())
	}
	var recs []consumed
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\x1f")
		if len(f) != 4 {
			t.Fatalf("kcat line %q: want 4 fields", sc.Text())
		}
		c := consumed{Key: f[1], Headers: map[string]string{}}
		c.Offset, _ = strconv.ParseInt(f[0], 10, 64)
		// kcat prints headers as k=v,k=v (an empty string without any).
		for _, kv := range strings.Split(f[2], ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				c.Headers[k] = v
			}
		}
		if err := json.Unmarshal([]byte(f[3]), &c.Value); err != nil {
			t.Fatalf("kcat %s offset %s: value %q: %v", topic, f[0], f[3], err)
		}
		recs = append(recs, c)
	}
	return recs
}

// pythonRead reads topics ("name:count" each) with confluent-kafka-python
// (testdata/outbox_consume.py) and returns their records by topic.
func pythonRead(ctx context.Context, t *testing.T, broker, registry, format string, topics []string) map[string][]consumed {
	t.Helper()
	const python = "/usr/bin/python3"
	args := append([]string{"testdata/outbox_consume.py", broker, registry, format}, topics...)
	cmd := exec.CommandContext(ctx, python, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("outbox_consume.py (needs %s with python3-confluent-kafka, python3-avro and python3-requests): %v\n%s",
			python, err, stderr.Bytes())
	}
	recs := map[string][]consumed{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var c consumed
		if err := dec.Decode(&c); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("outbox_consume.py: %v in %q", err, out)
		}
		recs[c.Topic] = append(recs[c.Topic], c)
	}
	return recs
}

// topicEnd is the end offset (high watermark) of partition 0 of topic, 0
// if it cannot be read.
func topicEnd(t *testing.T, broker, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient([]string{broker}, sarama.NewConfig())
	if err != nil {
		return 0
	}
	defer client.Close()
	hw, _ := client.GetOffset(topic, 0, sarama.OffsetNewest)
	return hw
}

// waitTopicCount waits until topic holds at least n records, failing
// at once if tributary run exits or one of its connectors fails.
func waitTopicCount(ctx context.Context, t *testing.T, p *runProc, broker, topic string, n int64) {
	t.Helper()
	for {
		select {
		case err := <-p.done:
			t.Fatalf("tributary run exited (%v) while waiting for %d records on %s", err, n, topic)
		default:
		}
		// The process outlives a failed connector while the others run.
		if log, _ := os.ReadFile(p.log); bytes.Contains(log, []byte(`msg="connector failed"`)) {
			t.Fatalf("a connector failed while waiting for %d records on %s", n, topic)
		}
		hw := topicEnd(t, broker, topic)
		if hw >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %d records, want %d: %v", topic, hw, n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listTopics returns the broker's topics.
func listTopics(t *testing.T, broker string) []string {
	t.Helper()
	client, err := sarama.NewClient([]string{broker}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	topics, err := client.Topics()
	if err != nil {
		t.Fatal(err)
	}
	return topics
}
