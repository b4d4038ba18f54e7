package transforms

import (
	"math/big"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// benchChainProps is the chain of internal/bench's pg-stream-transforms
// scenario (bench.SMTChain; not imported, bench depends on this package):
// unwrap with two added fields, a topic rename, a static field.
var benchChainProps = map[string]string{
	"transforms":                     "unwrap,route,insert",
	"transforms.unwrap.type":         ExtractNewRecordStateClass,
	"transforms.unwrap.add.fields":   "op,source.ts_ms",
	"transforms.route.type":          kafkaPkg + "RegexRouter",
	"transforms.route.regex":         `([^.]+)\.public\.(.*)`,
	"transforms.route.replacement":   "$1.$2",
	"transforms.insert.type":         kafkaPkg + "InsertField$Value",
	"transforms.insert.static.field": "pipeline",
	"transforms.insert.static.value": "tributary-bench",
}

// benchUpdateEvent is a streamed UPDATE of the bench scenarios' 10-column
// table as the PostgreSQL connector emits it (REPLICA IDENTITY DEFAULT:
// no before image).
func benchUpdateEvent(tb testing.TB) *connect.Record {
	tb.Helper()
	amount := connect.DecimalSchema(2).Param("connect.decimal.precision", "12").Optional().MustBuild()
	row := connect.StructBuilder().Name("pgsmt.public.bench.Value").Optional().
		Field("id", prim(connect.Int64)).Field("k", prim(connect.Int32)).Field("v", prim(connect.Int64)).
		Field("name", prim(connect.String)).Field("amount", amount).Field("flag", optPrim(connect.Boolean)).
		Field("created", connect.NewBuilder(connect.Int32).Name("io.debezium.time.Date").Version(1).Optional().MustBuild()).
		Field("updated", connect.NewBuilder(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1).Optional().MustBuild()).
		Field("note", optPrim(connect.String)).Field("stamp", prim(connect.Int64)).MustBuild()
	source := debezium.SourceSchemaBuilder().Name("io.debezium.connector.postgresql.Source").
		Field("schema", prim(connect.String)).Field("table", prim(connect.String)).
		Field("txId", optPrim(connect.Int64)).Field("lsn", optPrim(connect.Int64)).Field("xmin", optPrim(connect.Int64)).MustBuild()
	env := debezium.EnvelopeSchema("pgsmt.public.bench.Envelope", row, source)
	key := connect.StructBuilder().Name("pgsmt.public.bench.Key").Field("id", prim(connect.Int64)).MustBuild()
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	after := structOf(row, int64(4242), int32(242), int64(7), "name-4242", connect.Decimal{Unscaled: big.NewInt(530250), Scale: 2}, true,
		int32(19844), int64(1714979289000000), "note 5f0c5a4e2d0c4d369a0e5c1a8f7d6b01", int64(1714979289123456))
	src := connect.NewStruct(source)
	debezium.FillSource(src, debezium.SourceCommon{Connector: "postgresql", Name: "pgsmt", TS: ts, DB: "bench"})
	src.Set("schema", "public").Set("table", "bench").Set("txId", int64(771)).Set("lsn", int64(33815776))
	return &connect.Record{Topic: "pgsmt.public.bench", Partition: -1, KeySchema: key, Key: structOf(key, int64(4242)),
		ValueSchema: env, Value: debezium.NewEnvelope(env, debezium.OpUpdate, nil, after, src, nil, ts), Timestamp: ts}
}

// BenchmarkChainUnwrapRouteInsert is the per-event cost of the chain the
// pg-stream-transforms scenario runs, and of its prefixes: what each
// transform adds. Derived schemas are cached, so the allocations are the
// per-record values only.
func BenchmarkChainUnwrapRouteInsert(b *testing.B) {
	rec := benchUpdateEvent(b)
	for _, bc := range []struct{ name, aliases string }{
		{"unwrap", "unwrap"},
		{"unwrap+route", "unwrap,route"},
		{"unwrap+route+insert", "unwrap,route,insert"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			props := map[string]string{}
			for k, v := range benchChainProps {
				props[k] = v
			}
			props["transforms"] = bc.aliases
			vals, err := Def().Parse(props)
			if err != nil {
				b.Fatal(err)
			}
			chain, err := Builtin(nil).Build(vals)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				out, err := chain.Apply(rec)
				if err != nil || out == nil {
					b.Fatalf("Apply = %v, %v", out, err)
				}
			}
		})
	}
}

// TestBenchChainOutput checks the benchmarked chain does what it is
// meant to, so the figures measure the real work.
func TestBenchChainOutput(t *testing.T) {
	vals, err := Def().Parse(benchChainProps)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := Builtin(nil).Build(vals)
	if err != nil {
		t.Fatal(err)
	}
	out, err := chain.Apply(benchUpdateEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := out.Value.(*connect.StructValue)
	if out.Topic != "pgsmt.bench" || !ok {
		t.Fatalf("topic %q value %T, want pgsmt.bench and the row", out.Topic, out.Value)
	}
	for field, want := range map[string]any{"id": int64(4242), "__op": "u", "__source_ts_ms": int64(1714979289000), "pipeline": "tributary-bench"} {
		if got := v.Get(field); !valEq(got, want) {
			t.Errorf("%s = %#v, want %#v", field, got, want)
		}
	}
}
