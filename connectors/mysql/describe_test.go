package mysql

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	connconv "github.com/tributary-io/tributary/internal/converter"
)

// describeSQL is a database with a broad type mix (typesTable), a keyless
// table, a table for key and column options and a second database.
var describeSQL = []string{
	"CREATE DATABASE inventory",
	"CREATE DATABASE other CHARACTER SET latin1",
	"SET GLOBAL sql_mode=''",
	// SHOW CREATE TABLE prints TIMESTAMP defaults in the session time zone
	"SET GLOBAL time_zone='+05:00'",
}

var describeTables = []string{
	"SET SESSION time_zone='+00:00'",
	typesTable,
	strings.Replace(fmt.Sprintf("INSERT INTO types VALUES "+typesValues, 1), `\u00e9`, "é", 1),
	`CREATE TABLE notes (body TEXT, created DATETIME(3) NOT NULL DEFAULT '2020-01-01 00:00:00.000')`,
	`INSERT INTO notes VALUES ('n', DEFAULT)`,
	`CREATE TABLE orders (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL,
	   amount DECIMAL(12,3) NOT NULL DEFAULT 0, secret VARCHAR(40), card CHAR(16) CHARACTER SET binary,
	   placed TIMESTAMP(6) NOT NULL DEFAULT '2024-01-01 00:00:00.000000', t TIME(6))`,
	`INSERT INTO orders (customer_id, amount, secret, card, t) VALUES (7, 12.5, 's', 'xxxx', '01:02:03.5')`,
}

// emittedSchemas runs a task until its snapshot is done (initial_only) and
// returns the key and value schemas of the data events by topic.
func emittedSchemas(t *testing.T, e *env, props map[string]string) map[string]connect.TopicSchema {
	t.Helper()
	props["snapshot.mode"] = "initial_only"
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), props, c)
	if err := r.wait(t); err != nil {
		t.Fatalf("task: %v", err)
	}
	out := map[string]connect.TopicSchema{}
	for _, rec := range c.records() {
		if rec.Topic == props["topic.prefix"] || rec.ValueSchema == nil {
			continue // schema change events, tombstones
		}
		got := connect.TopicSchema{Topic: rec.Topic, Key: rec.KeySchema, Value: rec.ValueSchema}
		if prev, ok := out[rec.Topic]; ok && !sameSchemas(prev, got) {
			t.Fatalf("topic %s: the task emitted two different schemas", rec.Topic)
		}
		out[rec.Topic] = got
	}
	return out
}

func describe(t *testing.T, p *connect.Plugin, props map[string]string) []connect.TopicSchema {
	t.Helper()
	v, err := p.Config().Parse(props)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := p.DescribeSchemas(ctx, v)
	if err != nil {
		t.Fatalf("DescribeSchemas: %v", err)
	}
	return got
}

func schemaJSON(s *connect.Schema) string {
	if s == nil {
		return "null"
	}
	return string((&connconv.JSON{SchemasEnabled: true}).SchemaJSON(s))
}

func sameSchemas(a, b connect.TopicSchema) bool {
	return a.Topic == b.Topic && reflect.DeepEqual(a.Key, b.Key) && reflect.DeepEqual(a.Value, b.Value) &&
		schemaJSON(a.Key) == schemaJSON(b.Key) && schemaJSON(a.Value) == schemaJSON(b.Value)
}

// compareWithTask checks that the described schemas are exactly those of
// the events the task emits, topic for topic.
func compareWithTask(t *testing.T, described []connect.TopicSchema, emitted map[string]connect.TopicSchema) {
	t.Helper()
	var dt, et []string
	for _, d := range described {
		dt = append(dt, d.Topic)
	}
	for topic := range emitted {
		et = append(et, topic)
	}
	sort.Strings(et)
	if strings.Join(dt, ",") != strings.Join(et, ",") {
		t.Fatalf("described topics %v, the task emitted %v", dt, et)
	}
	for _, d := range described {
		e := emitted[d.Topic]
		if !sameSchemas(d, e) {
			t.Errorf("topic %s differs\ndescribed key:   %s\nemitted key:     %s\ndescribed value: %s\nemitted value:   %s",
				d.Topic, schemaJSON(d.Key), schemaJSON(e.Key), schemaJSON(d.Value), schemaJSON(e.Value))
		}
	}
}

func fieldNames(s *connect.Schema) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, f := range s.Fields {
		out = append(out, f.Name)
	}
	return out
}

func TestDescribeSchemas(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", describeSQL...)
	e.db.Exec(t, "inventory", describeTables...)
	e.db.Exec(t, "other", `CREATE TABLE things (id INT PRIMARY KEY, name VARCHAR(10), raw TEXT CHARACTER SET binary)`,
		`INSERT INTO things VALUES (1, 'x', 'y')`)

	for _, tc := range []struct {
		name   string
		props  map[string]string
		topics []string
		check  func(t *testing.T, got []connect.TopicSchema)
	}{
		{name: "defaults", props: map[string]string{},
			topics: []string{"d1.inventory.notes", "d1.inventory.orders", "d1.inventory.types"},
			check: func(t *testing.T, got []connect.TopicSchema) {
				if got[0].Key != nil {
					t.Errorf("keyless table notes has key schema %s", schemaJSON(got[0].Key))
				}
				if k := fieldNames(got[2].Key); strings.Join(k, ",") != "id" {
					t.Errorf("types key fields %v", k)
				}
			}},
		{name: "filters and options", props: map[string]string{
			"database.include.list":         "",
			"database.exclude.list":         "inventory",
			"table.include.list":            "inventory.orders,other.things",
			"column.exclude.list":           "other.things.raw",
			"message.key.columns":           "other.things:name",
			"decimal.handling.mode":         "string",
			"bigint.unsigned.handling.mode": "precise",
			"time.precision.mode":           "connect",
			"binary.handling.mode":          "base64",
			"column.mask.with.3.chars":      "other.things.name",
			"column.propagate.source.type":  "other.things.id",
			"topic.delimiter":               "_",
		},
			topics: []string{"d2_other_things"},
			check: func(t *testing.T, got []connect.TopicSchema) {
				if k := fieldNames(got[0].Key); strings.Join(k, ",") != "name" {
					t.Errorf("message.key.columns ignored: key fields %v", k)
				}
				after := got[0].Value.Field("after").Schema
				if f := fieldNames(after); strings.Join(f, ",") != "id,name" {
					t.Errorf("column.exclude.list ignored: value fields %v", f)
				}
				if ty, _ := after.Field("id").Schema.Param("__debezium.source.column.type"); ty != "INT" {
					t.Errorf("column.propagate.source.type ignored: %s", schemaJSON(after.Field("id").Schema))
				}
			}},
		{name: "type options", props: map[string]string{
			"table.include.list":            "inventory.orders,inventory.types",
			"column.include.list":           "inventory.orders.id,inventory.orders.amount,inventory.orders.card,inventory.orders.placed,inventory.orders.t,inventory.types.*",
			"decimal.handling.mode":         "double",
			"bigint.unsigned.handling.mode": "precise",
			"time.precision.mode":           "connect",
			"binary.handling.mode":          "hex",
			"schema.name.adjustment.mode":   "avro",
			"field.name.adjustment.mode":    "avro",
		},
			topics: []string{"d3.inventory.orders", "d3.inventory.types"},
			check: func(t *testing.T, got []connect.TopicSchema) {
				after := got[0].Value.Field("after").Schema
				if f := fieldNames(after); strings.Join(f, ",") != "id,amount,card,placed,t" {
					t.Errorf("column.include.list ignored: value fields %v", f)
				}
				if s := after.Field("amount").Schema; s.Type != connect.Float64 {
					t.Errorf("decimal.handling.mode=double ignored: %s", schemaJSON(s))
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := fmt.Sprintf("d%d", map[string]int{"defaults": 1, "filters and options": 2, "type options": 3}[tc.name])
			props := e.props(map[string]string{"topic.prefix": prefix, "schema.history.internal.kafka.topic": "history." + prefix})
			for k, v := range tc.props {
				if v == "" {
					delete(props, k)
				} else {
					props[k] = v
				}
			}
			got := describe(t, MariaDBPlugin(), props)
			var topics []string
			for _, ts := range got {
				topics = append(topics, ts.Topic)
			}
			if strings.Join(topics, ",") != strings.Join(tc.topics, ",") {
				t.Fatalf("topics %v, want %v", topics, tc.topics)
			}
			tc.check(t, got)
			compareWithTask(t, got, emittedSchemas(t, e, props))
		})
	}
}

// TestDescribeSchemasAfterAlter checks that the schemas described from
// SHOW CREATE TABLE after a migration are those of the events the task
// streams after parsing the same migration from the binlog.
func TestDescribeSchemasAfterAlter(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", inventorySQL)
	props := e.props(nil)
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), props, c)
	const topic = "mariadb1.inventory.customers"
	c.waitFor(t, 4, onTopic(topic))
	e.db.Exec(t, "inventory",
		`ALTER TABLE customers ADD COLUMN note VARCHAR(20) NULL, ADD COLUMN score DECIMAL(6,2) NOT NULL DEFAULT 1.25,
		   ADD COLUMN seen DATETIME(3) NULL DEFAULT '2024-05-06 07:08:09.123', MODIFY first_name VARCHAR(100) NULL`,
		`INSERT INTO customers (first_name, last_name, email) VALUES ('N', 'n', 'n@x')`)
	recs := c.waitFor(t, 5, onTopic(topic))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1]
	emitted := map[string]connect.TopicSchema{topic: {Topic: topic, Key: last.KeySchema, Value: last.ValueSchema}}
	if f := fieldNames(last.ValueSchema.Field("after").Schema); len(f) != 7 {
		t.Fatalf("streamed event has fields %v, want the altered table's 7", f)
	}
	compareWithTask(t, describe(t, MariaDBPlugin(), props), emitted)

	// The MySQL connector describes the same tables with its own source block.
	my := describe(t, Plugin(), props)
	if len(my) != 1 || my[0].Topic != topic {
		t.Fatalf("MySQL plugin described %v", my)
	}
	if n := my[0].Value.Field("source").Schema.Name; n != "io.debezium.connector.mysql.Source" {
		t.Errorf("MySQL plugin source schema %q", n)
	}
}
