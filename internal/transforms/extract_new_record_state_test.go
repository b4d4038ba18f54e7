package transforms

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/debezium"
)

var update = flag.Bool("update", false, "rewrite golden files")

// unwrapFixture builds PostgreSQL-connector-shaped events for
// dbserver1.public.customers.
type unwrapFixture struct {
	keySchema, rowSchema, sourceSchema, envSchema *connect.Schema
	ts                                            time.Time
}

func newUnwrapFixture() *unwrapFixture {
	f := &unwrapFixture{ts: time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)}
	f.keySchema = connect.StructBuilder().Name("dbserver1.public.customers.Key").
		Field("id", connect.Prim(connect.Int32)).MustBuild()
	f.rowSchema = connect.StructBuilder().Name("dbserver1.public.customers.Value").Optional().
		Field("id", connect.Prim(connect.Int32)).
		Field("name", connect.OptionalPrim(connect.String)).
		Field("email", connect.OptionalPrim(connect.String)).
		Field("tier", connect.NewBuilder(connect.String).Optional().Default("basic").MustBuild()).
		MustBuild()
	f.sourceSchema = debezium.SourceSchemaBuilder().Name("io.debezium.connector.postgresql.Source").
		Field("schema", connect.Prim(connect.String)).
		Field("table", connect.Prim(connect.String)).
		Field("txId", connect.OptionalPrim(connect.Int64)).
		Field("lsn", connect.OptionalPrim(connect.Int64)).
		Field("xmin", connect.OptionalPrim(connect.Int64)).
		MustBuild()
	f.envSchema = debezium.EnvelopeSchema("dbserver1.public.customers.Envelope", f.rowSchema, f.sourceSchema)
	return f
}

func (f *unwrapFixture) row(id int32, name, email string, tier any) *connect.StructValue {
	r := connect.NewStruct(f.rowSchema).Set("id", id).Set("name", name).Set("email", email)
	r.Set("tier", tier)
	return r
}

func (f *unwrapFixture) event(op debezium.Op, id int32, before, after *connect.StructValue, withTx bool) *connect.Record {
	src := connect.NewStruct(f.sourceSchema)
	debezium.FillSource(src, debezium.SourceCommon{Connector: "postgresql", Name: "dbserver1", TS: f.ts, DB: "inventory"})
	src.Set("schema", "public").Set("table", "customers").Set("txId", int64(771)).Set("lsn", int64(33815776))
	var tx *debezium.Transaction
	if withTx {
		tx = &debezium.Transaction{ID: "771:33815776", TotalOrder: 1, DataCollectionOrder: 1}
	}
	env := debezium.NewEnvelope(f.envSchema, op, before, after, src, tx, f.ts)
	rec := &connect.Record{Topic: "dbserver1.public.customers", Partition: -1, ValueSchema: f.envSchema, Value: env, Timestamp: f.ts}
	if op != debezium.OpTruncate {
		rec.KeySchema, rec.Key = f.keySchema, connect.NewStruct(f.keySchema).Set("id", id)
	}
	return rec
}

func (f *unwrapFixture) stream() []*connect.Record {
	a := f.row(1, "Anne", "anne@example.com", "gold")
	a2 := f.row(1, "Anne Marie", "anne@example.com", nil)
	b := f.row(2, "Bob", "bob@example.com", "basic")
	tomb := &connect.Record{Topic: "dbserver1.public.customers", Partition: -1, KeySchema: f.keySchema,
		Key: connect.NewStruct(f.keySchema).Set("id", int32(2)), Timestamp: f.ts}
	heartbeat := debezium.HeartbeatRecord("__debezium-heartbeat.dbserver1", "dbserver1", nil, nil, f.ts)
	return []*connect.Record{
		f.event(debezium.OpRead, 1, nil, a, false),
		f.event(debezium.OpCreate, 2, nil, b, true),
		f.event(debezium.OpUpdate, 1, a, a2, true),
		f.event(debezium.OpDelete, 2, b, nil, true),
		tomb,
		f.event(debezium.OpTruncate, 0, nil, nil, true),
		heartbeat,
	}
}

func renderRecord(t *testing.T, b *bytes.Buffer, in, out *connect.Record) {
	t.Helper()
	j := &converter.JSON{SchemasEnabled: true}
	op := "tombstone"
	if env, ok := in.Value.(*connect.StructValue); ok {
		if o, ok := env.Get("op").(string); ok {
			op = o
		} else {
			op = in.ValueSchema.Name
		}
	}
	fmt.Fprintf(b, "## input op=%s\n", op)
	if out == nil {
		b.WriteString("dropped\n\n")
		return
	}
	key, err := j.FromConnect(out.Topic, out.KeySchema, out.Key)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	val, err := j.FromConnect(out.Topic, out.ValueSchema, out.Value)
	if err != nil {
		t.Fatalf("value: %v", err)
	}
	fmt.Fprintf(b, "topic: %s\nkey: %s\nvalue: %s\n", out.Topic, key, val)
	if val == nil {
		fmt.Fprintf(b, "value schema: %s\n", out.ValueSchema)
	}
	for _, h := range out.Headers {
		hv, err := j.FromConnect(out.Topic, h.Schema, h.Value)
		if err != nil {
			t.Fatalf("header %s: %v", h.Key, err)
		}
		fmt.Fprintf(b, "header %s: %s\n", h.Key, hv)
	}
	b.WriteString("\n")
}

func TestExtractNewRecordStateGolden(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]string
	}{
		{"default", nil},
		{"drop", map[string]string{"delete.tombstone.handling.mode": "drop"}},
		{"rewrite", map[string]string{"delete.tombstone.handling.mode": "rewrite"}},
		{"rewrite_no_default", map[string]string{"delete.tombstone.handling.mode": "rewrite", "replace.null.with.default": "false"}},
		{"rewrite_with_tombstone", map[string]string{"delete.tombstone.handling.mode": "rewrite-with-tombstone"}},
		{"delete_to_tombstone", map[string]string{"delete.tombstone.handling.mode": "delete-to-tombstone"}},
		{"add_fields", map[string]string{"add.fields": "op,table,source.ts_ms,lsn:LSN,id,ts_ms,nosuchfield"}},
		{"add_fields_prefix", map[string]string{"add.fields": "op,db", "add.fields.prefix": "meta_", "delete.tombstone.handling.mode": "rewrite"}},
		{"add_headers", map[string]string{"add.headers": "op,source.snapshot,transaction.id:tx", "add.headers.prefix": "dbz."}},
		{"route_by_field", map[string]string{"route.by.field": "name", "delete.tombstone.handling.mode": "rewrite"}},
		{"legacy_ignored", map[string]string{"delete.handling.mode": "rewrite", "drop.tombstones": "false"}},
	}
	f := newUnwrapFixture()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"type": ExtractNewRecordStateClass}
			for k, v := range c.props {
				props[k] = v
			}
			tr, err := NewExtractNewRecordState(props, nil)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			for _, in := range f.stream() {
				out, err := tr.Apply(in)
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				renderRecord(t, &b, in, out)
			}
			golden := filepath.Join("..", "..", "testdata", "sink", "unwrap", c.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(want, b.Bytes()) {
				t.Errorf("output differs from %s (run with -update after checking):\n%s", golden, diffLines(string(want), b.String()))
			}
		})
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n- %s\n+ %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// The properties that decide the JDBC sink's behaviour are checked
// explicitly, independent of the golden files.
func TestExtractNewRecordStateSemantics(t *testing.T) {
	f := newUnwrapFixture()
	s := f.stream()
	tr, err := NewExtractNewRecordState(map[string]string{"type": "unwrap"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.Apply(s[1])
	if err != nil {
		t.Fatal(err)
	}
	if out.ValueSchema.Name != "dbserver1.public.customers.Value" || out.ValueSchema.Optional {
		t.Errorf("flattened value schema = %s, want required dbserver1.public.customers.Value", out.ValueSchema)
	}
	del, err := tr.Apply(s[3])
	if err != nil {
		t.Fatal(err)
	}
	if del == nil || del.Value != nil || del.ValueSchema == nil || !del.ValueSchema.Optional {
		t.Errorf("tombstone mode: delete should keep the optional row schema with a null value, got %+v", del)
	}
	if out, _ := tr.Apply(s[4]); out != nil {
		t.Errorf("tombstone mode: tombstones must be dropped")
	}
	if out, _ := tr.Apply(s[5]); out != nil {
		t.Errorf("truncate must be dropped")
	}
	if out, _ := tr.Apply(s[6]); out != s[6] {
		t.Errorf("non-envelope records must pass unchanged")
	}
}

func TestExtractNewRecordStateConfigErrors(t *testing.T) {
	for _, props := range []map[string]string{
		{"type": "unwrap", "delete.tombstone.handling.mode": "nope"},
		{"type": "unwrap", "add.feilds": "op"},
		{"type": "unwrap", "add.fields": "a:b:c"},
	} {
		if _, err := NewExtractNewRecordState(props, nil); err == nil {
			t.Errorf("%v: expected an error", props)
		}
	}
	reg := Builtin(nil)
	vals, err := Def().Merge(config.NewDef()).Parse(map[string]string{"transforms": "u", "transforms.u.type": "unwrap", "transforms.u.add.fields": "op"})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := reg.Build(vals)
	if err != nil || len(chain) != 1 {
		t.Fatalf("Build: %v", err)
	}
}
