package protobuf_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/protobuf"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

// envelope is shaped like a Debezium change event: optional row structs
// sharing one schema, a source block, a timestamp column, a map and an
// array.
func envelope() (*connect.Schema, *connect.Schema) {
	tags := connect.NewBuilder(connect.Array).MustBuild()
	tags.Value = connect.NewBuilder(connect.String).MustBuild()
	attrs := connect.NewBuilder(connect.Map).Optional().MustBuild()
	attrs.Key = connect.NewBuilder(connect.String).MustBuild()
	attrs.Value = connect.NewBuilder(connect.Int64).MustBuild()
	row := connect.NewBuilder(connect.Struct).Name("dbserver1.inventory.customers.Value").Optional().
		Field("id", connect.NewBuilder(connect.Int32).MustBuild()).
		Field("email", connect.NewBuilder(connect.String).Optional().MustBuild()).
		Field("created", connect.TimestampSchema().Optional().MustBuild()).
		Field("score", connect.NewBuilder(connect.Float64).MustBuild()).
		Field("tags", tags).
		Field("attrs", attrs).
		MustBuild()
	source := connect.NewBuilder(connect.Struct).Name("io.debezium.connector.postgresql.Source").
		Field("version", connect.NewBuilder(connect.String).MustBuild()).
		Field("lsn", connect.NewBuilder(connect.Int64).Optional().MustBuild()).
		MustBuild()
	env := connect.NewBuilder(connect.Struct).Name("dbserver1.inventory.customers.Envelope").Version(1).
		Field("before", row).Field("after", row).Field("source", source).
		Field("op", connect.NewBuilder(connect.String).MustBuild()).
		Field("ts_ms", connect.NewBuilder(connect.Int64).Optional().MustBuild()).
		MustBuild()
	return env, row
}

func newConverter(t *testing.T) (*protobuf.Converter, string) {
	t.Helper()
	ts := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	t.Cleanup(ts.Close)
	c, err := protobuf.New(map[string]string{"schema.registry.url": ts.URL}, false)
	if err != nil {
		t.Fatal(err)
	}
	return c, ts.URL
}

func TestSchemaFromConnect(t *testing.T) {
	env, _ := envelope()
	text, name, err := protobuf.FromConnectSchema(env)
	if err != nil {
		t.Fatal(err)
	}
	want := `syntax = "proto3";
package dbserver1.inventory.customers;

import "google/protobuf/timestamp.proto";

message Envelope {
  Value before = 1;
  Value after = 2;
  Source source = 3;
  string op = 4;
  int64 ts_ms = 5;
  message Value {
    int32 id = 1;
    string email = 2;
    google.protobuf.Timestamp created = 3;
    double score = 4;
    repeated string tags = 5;
    map<string, int64> attrs = 6;
  }
  message Source {
    string version = 1;
    int64 lsn = 2;
  }
}
`
	if text != want || name != "dbserver1.inventory.customers.Envelope" {
		t.Errorf("schema %s:\n%s", name, text)
	}
	for _, bad := range []*connect.Schema{
		connect.NewBuilder(connect.String).MustBuild(),
		connect.NewBuilder(connect.Struct).Name("x.Y").Field("n", connect.NewBuilder(connect.Int16).MustBuild()).MustBuild(),
		connect.NewBuilder(connect.Struct).Name("x.Y").Field("d", connect.DecimalSchema(2).MustBuild()).MustBuild(),
	} {
		if _, _, err := protobuf.FromConnectSchema(bad); err == nil {
			t.Errorf("%v: no error", bad.Type)
		}
	}
}

// TestProtocDecodes writes a change event with the converter and has
// protoc --decode (Debian's protobuf-compiler) read the message after the
// wire header, with the .proto registered for it.
func TestProtocDecodes(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("protoc not found (apt-get install -y protobuf-compiler libprotobuf-dev): %v", err)
		}
		t.Skip("protoc not found")
	}
	c, url := newConverter(t)
	env, row := envelope()
	after := connect.NewStruct(row).Set("id", int32(1001)).Set("email", "sally@example.com").
		Set("created", time.Unix(1700000000, 123000000).UTC()).Set("score", 2.5).
		Set("tags", []any{"a", "b"}).Set("attrs", connect.MapValue{{Key: "k", Value: int64(7)}})
	src := connect.NewStruct(env.Fields[2].Schema).Set("version", "3.6.1.Final").Set("lsn", int64(33227720))
	v := connect.NewStruct(env).Set("after", after).Set("source", src).Set("op", "c").Set("ts_ms", int64(1700000000999))
	data, err := c.FromConnect("customers", env, v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[:6], []byte{0, 0, 0, 0, 1, 0}) {
		t.Fatalf("wire header % x, want 00 00000001 00", data[:6])
	}
	// The schema the registry holds for the id in the record.
	client, _ := registry.NewClient(registry.Config{URL: url})
	reg, err := client.Schema(context.Background(), int(binary.BigEndian.Uint32(data[1:5])))
	if err != nil || reg.SchemaType != "PROTOBUF" {
		t.Fatalf("schema of the record: %+v, %v", reg, err)
	}
	text := reg.Schema
	_, name, err := c.SchemaText(env)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "customers.proto"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(protoc, "--decode="+name, "-I", dir, "-I", "/usr/include", "customers.proto")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(data[6:])
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	want := `after {
  id: 1001
  email: "sally@example.com"
  created {
    seconds: 1700000000
    nanos: 123000000
  }
  score: 2.5
  tags: "a"
  tags: "b"
  attrs {
    key: "k"
    value: 7
  }
}
source {
  version: "3.6.1.Final"
  lsn: 33227720
}
op: "c"
ts_ms: 1700000000999
`
	if string(out) != want {
		t.Errorf("protoc --decode:\n%s\nwant\n%s", out, want)
	}
}

// TestRegisteredAsProtobuf: the registry holds the schema as PROTOBUF under
// the topic's subject, and a second record reuses the id.
func TestRegisteredAsProtobuf(t *testing.T) {
	ts := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	defer ts.Close()
	c, err := protobuf.New(map[string]string{"schema.registry.url": ts.URL}, false)
	if err != nil {
		t.Fatal(err)
	}
	env, _ := envelope()
	src := connect.NewStruct(env.Fields[2].Schema).Set("version", "x")
	v := connect.NewStruct(env).Set("op", "d").Set("source", src)
	for i := 0; i < 2; i++ {
		if _, err := c.FromConnect("t", env, v); err != nil {
			t.Fatal(err)
		}
	}
	client, _ := registry.NewClient(registry.Config{URL: ts.URL})
	sv, err := client.Version(context.Background(), "t-value", 0)
	if err != nil || sv.SchemaType != "PROTOBUF" || sv.Version != 1 {
		t.Fatalf("registered %+v, %v", sv, err)
	}
	if _, err := protobuf.New(map[string]string{"schema.registry.url": ts.URL, "wrapper.for.nullables": "true"}, false); err == nil {
		t.Error("wrapper.for.nullables=true accepted")
	}
}

// TestReadBack reads what the converter wrote as ProtobufData does with
// its defaults: the struct is named after the message, every field is
// optional and carries its field number, unset proto3 scalars read as
// their zero value and unset messages as null.
func TestReadBack(t *testing.T) {
	c, _ := newConverter(t)
	env, row := envelope()
	after := connect.NewStruct(row).Set("id", int32(7)).Set("created", time.UnixMilli(1700000000123)).
		Set("score", 1.5).Set("tags", []any{"x"}).Set("attrs", connect.MapValue{{Key: "k", Value: int64(2)}})
	src := connect.NewStruct(env.Fields[2].Schema).Set("version", "v")
	data, err := c.FromConnect("t", env, connect.NewStruct(env).Set("after", after).Set("source", src).Set("op", "u"))
	if err != nil {
		t.Fatal(err)
	}
	s, v, err := c.ToConnect("t", data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "Envelope" || len(s.Fields) != 5 || !s.Fields[0].Schema.Optional {
		t.Fatalf("schema %+v", s)
	}
	if tag, _ := s.Fields[4].Schema.Param("io.confluent.connect.protobuf.Tag"); tag != "5" {
		t.Errorf("ts_ms tag %q", tag)
	}
	sv := v.(*connect.StructValue)
	if sv.Get("before") != nil || sv.Get("op") != "u" || sv.Get("ts_ms") != int64(0) {
		t.Errorf("envelope %+v", sv.Values)
	}
	a := sv.Get("after").(*connect.StructValue)
	if a.Get("id") != int32(7) || a.Get("email") != "" || a.Get("created") != int64(1700000000123) || a.Get("score") != 1.5 {
		t.Errorf("after %+v", a.Values)
	}
	if tags := a.Get("tags").([]any); len(tags) != 1 || tags[0] != "x" {
		t.Errorf("tags %v", tags)
	}
	if m := a.Get("attrs").(connect.MapValue); len(m) != 1 || m[0].Key != "k" || m[0].Value != int64(2) {
		t.Errorf("attrs %v", m)
	}
	if _, _, err := c.ToConnect("t", []byte{1, 0, 0, 0, 1, 0}); err == nil {
		t.Error("bad magic byte accepted")
	}
}
