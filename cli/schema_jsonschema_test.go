package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const shopJSONSchemaConfig = `name: shop
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: "1"
  database.user: postgres
  database.dbname: shop
  topic.prefix: shop
  table.include.list: public.orders
  value.converter: io.confluent.connect.json.JsonSchemaConverter
  value.converter.schema.registry.url: http://127.0.0.1:1
  value.converter.object.additional.properties: "false"
  key.converter: io.confluent.connect.json.JsonSchemaConverter
  key.converter.schema.registry.url: http://127.0.0.1:1
  key.converter.object.additional.properties: "false"
`

// TestSchemaCheckJSONSchema: with the JsonSchemaConverter, schema export
// writes the JSON Schemas the converter registers and schema check applies
// Confluent's JSON Schema rules: a nullable column added to a closed content
// model is backward compatible, an integer column turned text is not. As in
// Confluent, the type change shows as the nullable row's oneOf no longer
// matching (COMBINED_TYPE_SUBSCHEMAS_CHANGED at before and after).
func TestSchemaCheckJSONSchema(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1")
	}
	root := t.TempDir()
	cfg := filepath.Join(root, "shop.yaml")
	writeFiles(t, root, map[string]string{"shop.yaml": shopJSONSchemaConfig})
	v1 := filepath.Join(root, "v1")
	writeFiles(t, v1, map[string]string{"001_orders.sql": `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty integer NOT NULL);`})
	schemas := filepath.Join(root, "schemas")
	out, code := runCmd(t, "schema", "export", "-c", cfg, "--ddl", v1, "--dir", schemas)
	if code != 0 {
		t.Fatalf("export exit %d:\n%s", code, out)
	}
	b, err := os.ReadFile(filepath.Join(schemas, "shop.public.orders-value.json"))
	if err != nil {
		t.Fatalf("export did not write the value schema: %v\n%s", err, out)
	}
	for _, want := range []string{`"title":"shop.public.orders.Envelope"`, `"qty":{"type":"integer","connect.index":2,"connect.type":"int32"}`, `"additionalProperties":false`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("value schema lacks %s:\n%s", want, b)
		}
	}

	v2 := filepath.Join(root, "v2")
	writeFiles(t, v2, map[string]string{"001_orders.sql": `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty integer NOT NULL, note text);`})
	if out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v2, "--dir", schemas, "--level", "BACKWARD"); code != 0 {
		t.Fatalf("nullable column: exit %d\n%s", code, out)
	}

	v3 := filepath.Join(root, "v3")
	writeFiles(t, v3, map[string]string{"001_orders.sql": `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty text NOT NULL);`})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v3, "--dir", schemas, "--level", "BACKWARD")
	if code != 1 || !strings.Contains(out, "COMBINED_TYPE_SUBSCHEMAS_CHANGED at #/properties/after") {
		t.Fatalf("integer to text: exit %d\n%s", code, out)
	}
}

// TestSchemaCheckProtobuf: with the ProtobufConverter, schema export writes
// the .proto files the converter registers and schema check applies
// Confluent's protobuf rules: a new column is a new field number
// (compatible), an integer column turned text changes a scalar kind (not).
func TestSchemaCheckProtobuf(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1")
	}
	root := t.TempDir()
	cfg := filepath.Join(root, "shop.yaml")
	writeFiles(t, root, map[string]string{"shop.yaml": strings.NewReplacer(
		"io.confluent.connect.json.JsonSchemaConverter", "io.confluent.connect.protobuf.ProtobufConverter",
		"  value.converter.object.additional.properties: \"false\"\n", "",
		"  key.converter.object.additional.properties: \"false\"\n", "").Replace(shopJSONSchemaConfig)})
	v1 := filepath.Join(root, "v1")
	writeFiles(t, v1, map[string]string{"001_orders.sql": `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty integer NOT NULL);`})
	schemas := filepath.Join(root, "schemas")
	out, code := runCmd(t, "schema", "export", "-c", cfg, "--ddl", v1, "--dir", schemas)
	if code != 0 {
		t.Fatalf("export exit %d:\n%s", code, out)
	}
	b, err := os.ReadFile(filepath.Join(schemas, "shop.public.orders-value.proto"))
	if err != nil {
		t.Fatalf("export did not write the value schema: %v\n%s", err, out)
	}
	for _, want := range []string{"package shop.public.orders;", "message Envelope {", "  Value after = 2;", "    int32 qty = 3;"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("value schema lacks %q:\n%s", want, b)
		}
	}
	v2 := filepath.Join(root, "v2")
	writeFiles(t, v2, map[string]string{"001_orders.sql": `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty integer NOT NULL, note text);`})
	if out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v2, "--dir", schemas, "--level", "FULL"); code != 0 {
		t.Fatalf("new column: exit %d\n%s", code, out)
	}
	v3 := filepath.Join(root, "v3")
	writeFiles(t, v3, map[string]string{"001_orders.sql": `CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty text NOT NULL);`})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v3, "--dir", schemas, "--level", "BACKWARD")
	if code != 1 || !strings.Contains(out, "FIELD_SCALAR_KIND_CHANGED at #/Envelope/Value/3") {
		t.Fatalf("integer to text: exit %d\n%s", code, out)
	}
}
