package jsonschema_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

func newConverter(t *testing.T, props map[string]string) (*jsonschema.Converter, string) {
	t.Helper()
	ts := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	t.Cleanup(ts.Close)
	if props == nil {
		props = map[string]string{}
	}
	props["schema.registry.url"] = ts.URL
	c, err := jsonschema.New(props, false)
	if err != nil {
		t.Fatal(err)
	}
	return c, ts.URL
}

// customers is shaped like a Debezium row: required and optional columns,
// a logical type, a default.
func customers() *connect.Schema {
	return connect.NewBuilder(connect.Struct).Name("dbserver1.inventory.customers.Value").
		Field("id", connect.NewBuilder(connect.Int32).MustBuild()).
		Field("first_name", connect.NewBuilder(connect.String).MustBuild()).
		Field("email", connect.NewBuilder(connect.String).Optional().MustBuild()).
		Field("created", connect.TimestampSchema().Optional().MustBuild()).
		Field("score", connect.NewBuilder(connect.Float64).Default(1.5).MustBuild()).
		Field("tags", connect.NewBuilder(connect.Array).MustBuild()).
		MustBuild()
}

func customersWithTags() *connect.Schema {
	s := customers()
	s.Fields[5].Schema = func() *connect.Schema {
		a := connect.NewBuilder(connect.Array).MustBuild()
		a.Value = connect.NewBuilder(connect.String).MustBuild()
		return a
	}()
	return s
}

func TestConverterRoundTrip(t *testing.T) {
	c, _ := newConverter(t, nil)
	s := customersWithTags()
	v := connect.NewStruct(s).Set("id", int32(1001)).Set("first_name", "Sally").Set("email", nil).
		Set("created", time.UnixMilli(1700000000123).UTC()).Set("score", 2.25).Set("tags", []any{"a", "b"})
	data, err := c.FromConnect("customers", s, v)
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != 0 || data[1] != 0 || data[2] != 0 || data[3] != 0 || data[4] != 1 {
		t.Fatalf("wire header % x, want 00 00000001", data[:5])
	}
	wantPayload := `{"id":1001,"first_name":"Sally","email":null,"created":1700000000123,"score":2.25,"tags":["a","b"]}`
	if string(data[5:]) != wantPayload {
		t.Errorf("payload %s\nwant    %s", data[5:], wantPayload)
	}
	gs, gv, err := c.ToConnect("customers", data)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Name != s.Name || len(gs.Fields) != len(s.Fields) || gs.Fields[3].Schema.Name != connect.TimestampName || !gs.Fields[2].Schema.Optional {
		t.Errorf("schema read back: %+v", gs)
	}
	sv := gv.(*connect.StructValue)
	if sv.Get("id") != int32(1001) || sv.Get("first_name") != "Sally" || sv.Get("email") != nil || sv.Get("score") != 2.25 {
		t.Errorf("value read back: %+v", sv.Values)
	}
	// Timestamps read back as epoch milliseconds, as internal/converter's
	// JsonConverter gives them.
	if sv.Get("created") != int64(1700000000123) {
		t.Errorf("created read back: %#v", sv.Get("created"))
	}
	// The same schema again: the same id, no new registration.
	again, err := c.FromConnect("customers", s, v)
	if err != nil || string(again) != string(data) {
		t.Errorf("second write %q, %v", again, err)
	}
}

func TestConverterConfig(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"schema.registry.url": "http://x", "use.latest.version": "true"}, "use.latest.version=true is not supported"},
		{map[string]string{"schema.registry.url": "http://x", "value.subject.name.strategy": "io.confluent.kafka.serializers.subject.RecordNameStrategy"}, "only TopicNameStrategy"},
		{map[string]string{"schema.registry.url": "http://x", "frobnicate": "1"}, `unknown JsonSchemaConverter property "frobnicate"`},
		{map[string]string{"schema.registry.url": "http://x", "decimal.format": "HEX"}, "must be BASE64 or NUMERIC"},
		{map[string]string{}, "schema.registry.url is not set"},
	} {
		_, err := jsonschema.New(tc.props, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.props, err, tc.want)
		}
	}
}

// TestConverterAutoRegisterOff: with auto.register.schemas=false the
// schema must be registered already; the converter looks its id up.
func TestConverterAutoRegisterOff(t *testing.T) {
	c, url := newConverter(t, map[string]string{"auto.register.schemas": "false"})
	s := customersWithTags()
	v := connect.NewStruct(s).Set("id", int32(1)).Set("first_name", "a").Set("score", 1.0).Set("tags", []any{})
	if _, err := c.FromConnect("t", s, v); registry.ErrorCode(err) != registry.CodeSubjectNotFound {
		t.Fatalf("unregistered schema: %v", err)
	}
	text, err := c.SchemaText(s)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := registry.NewClient(registry.Config{URL: url})
	id, err := client.RegisterSchema(context.Background(), "t-value", registry.RegisterRequest{Schema: text, SchemaType: "JSON"})
	if err != nil {
		t.Fatal(err)
	}
	data, err := c.FromConnect("t", s, v)
	if err != nil || int(data[4]) != id {
		t.Fatalf("after registering: % x, %v", data, err)
	}
}

const systemPython = "/usr/bin/python3"

// TestPythonDecodes has confluent-kafka-python's JSONDeserializer and
// python-jsonschema (Debian's python3-confluent-kafka, python3-jsonschema)
// read what the converter wrote, with the schema fetched from the registry
// by the id in each record.
func TestPythonDecodes(t *testing.T) {
	probe := exec.Command(systemPython, "-c", "import jsonschema, confluent_kafka.schema_registry.json_schema")
	if out, err := probe.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("apt-get install -y python3-confluent-kafka python3-jsonschema: %v\n%s", err, out)
		}
		t.Skipf("python modules missing: %v\n%s", err, out)
	}
	c, url := newConverter(t, nil)
	s := customersWithTags()
	rows := []*connect.StructValue{
		connect.NewStruct(s).Set("id", int32(1001)).Set("first_name", "Sally").Set("email", "sally@example.com").
			Set("created", time.UnixMilli(1700000000123).UTC()).Set("score", 2.25).Set("tags", []any{"a"}),
		connect.NewStruct(s).Set("id", int32(1002)).Set("first_name", "Ünïcode \"quoted\"").Set("score", 0.1).Set("tags", []any{}),
	}
	var in strings.Builder
	for _, r := range rows {
		data, err := c.FromConnect("customers", s, r)
		if err != nil {
			t.Fatal(err)
		}
		in.WriteString(hex.EncodeToString(data) + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, "testdata/decode_json_schema.py", url, "customers")
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
	want := []map[string]any{
		{"magic": 0.0, "id": 1.0, "type": "JSON", "value": map[string]any{"id": 1001.0, "first_name": "Sally", "email": "sally@example.com", "created": 1700000000123.0, "score": 2.25, "tags": []any{"a"}}},
		{"magic": 0.0, "id": 1.0, "type": "JSON", "value": map[string]any{"id": 1002.0, "first_name": "Ünïcode \"quoted\"", "email": nil, "created": nil, "score": 0.1, "tags": []any{}}},
	}
	if len(lines) != len(want) {
		t.Fatalf("python printed %q", out)
	}
	for i, l := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("record %d: python read %v\nwant %v", i, got, want[i])
		}
	}
}
