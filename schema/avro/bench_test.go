package avro_test

import (
	"math/big"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/schema/avro"
)

// tenColumns is a typical 10-column row: key, numbers, text, a decimal, a
// timestamp and nullable columns.
func tenColumns() (*connect.Schema, *connect.StructValue) {
	s := connect.StructBuilder().Name("bench.public.orders.Value").Optional().
		Field("id", connect.Prim(connect.Int64)).
		Field("customer_id", connect.Prim(connect.Int32)).
		Field("status", connect.OptionalPrim(connect.String)).
		Field("amount", connect.DecimalSchema(2).Param("connect.decimal.precision", "12").Optional().MustBuild()).
		Field("quantity", connect.OptionalPrim(connect.Int16)).
		Field("price", connect.OptionalPrim(connect.Float64)).
		Field("paid", connect.OptionalPrim(connect.Boolean)).
		Field("note", connect.OptionalPrim(connect.String)).
		Field("created_at", connect.NewBuilder(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1).Optional().MustBuild()).
		Field("updated_at", connect.NewBuilder(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1).Optional().MustBuild()).
		MustBuild()
	v := connect.NewStruct(s).
		Set("id", int64(123456789)).Set("customer_id", int32(4242)).Set("status", "shipped").
		Set("amount", connect.Decimal{Unscaled: big.NewInt(1999950), Scale: 2}).Set("quantity", int16(3)).
		Set("price", 6666.5).Set("paid", true).Set("note", nil).
		Set("created_at", int64(1700000000123456)).Set("updated_at", int64(1700000100123456))
	return s, v
}

// BenchmarkEncodeRow measures FromConnect of a 10-column row once its
// schema id is cached, the steady state of a source connector.
func BenchmarkEncodeRow(b *testing.B) {
	reg := newCountingRegistry(b).URL
	c, err := avro.New(map[string]string{"schema.registry.url": reg}, false)
	if err != nil {
		b.Fatal(err)
	}
	s, v := tenColumns()
	if _, err := c.FromConnect("bench.public.orders", s, v); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.FromConnect("bench.public.orders", s, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkEncodeRowGoavro is the same row through goavro from its native
// form, for comparison with the compiled encoder.
func BenchmarkEncodeRowGoavro(b *testing.B) {
	s, _ := tenColumns()
	as, err := avro.FromConnect(s, avro.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	codec, err := goavro.NewCodec(as.String())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	buf := make([]byte, 0, 128)
	for i := 0; i < b.N; i++ {
		native := map[string]any{"id": int64(123456789), "customer_id": int32(4242),
			"status": goavro.Union("string", "shipped"), "amount": goavro.Union("bytes.decimal", big.NewRat(1999950, 100)),
			"quantity": goavro.Union("int", int32(3)), "price": goavro.Union("double", 6666.5), "paid": goavro.Union("boolean", true),
			"note": nil, "created_at": goavro.Union("long", int64(1700000000123456)), "updated_at": goavro.Union("long", int64(1700000100123456))}
		out, err := codec.BinaryFromNative(buf[:0], goavro.Union("bench.public.orders.Value", native))
		if err != nil {
			b.Fatal(err)
		}
		buf = out
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// issue14Envelope is one event of issue 14's PostgreSQL workload: the key
// and Debezium envelope of an UPDATE on a 5-column table (bigint key,
// integer, bigint, two varchars), with PostgreSQL's source block.
func issue14Envelope() (keySchema *connect.Schema, key *connect.StructValue, valueSchema *connect.Schema, value *connect.StructValue) {
	const prefix = "i14avro.public.issue14"
	keySchema = connect.StructBuilder().Name(prefix+".Key").Field("id", connect.Prim(connect.Int64)).MustBuild()
	row := connect.StructBuilder().Name(prefix+".Value").Optional().
		Field("id", connect.Prim(connect.Int64)).
		Field("k", connect.Prim(connect.Int32)).
		Field("v", connect.Prim(connect.Int64)).
		Field("name", connect.Prim(connect.String)).
		Field("note", connect.Prim(connect.String)).
		MustBuild()
	source := postgresSourceSchema()
	valueSchema = debezium.EnvelopeSchema(prefix+".Envelope", row, source)
	key = connect.NewStruct(keySchema).Set("id", int64(123456))
	after := connect.NewStruct(row).Set("id", int64(123456)).Set("k", int32(123456)).Set("v", int64(7)).
		Set("name", "upd-6").Set("note", "0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b0f2d4bcb6a1c2a3b")
	ts := time.UnixMicro(1764892800123456)
	src := connect.NewStruct(source)
	seq := `["24023928","24024016"]`
	debezium.FillSource(src, debezium.SourceCommon{Connector: "postgresql", Name: "i14avro", TS: ts, DB: "bench", Sequence: &seq})
	src.Set("schema", "public").Set("table", "issue14").Set("txId", int64(771)).Set("lsn", int64(24024016))
	value = debezium.NewEnvelope(valueSchema, debezium.OpUpdate, nil, after, src, nil, ts)
	return keySchema, key, valueSchema, value
}

// BenchmarkEncodeEnvelope measures the key and value of one issue-14
// event, the steady state of the PostgreSQL stream with AvroConverter.
func BenchmarkEncodeEnvelope(b *testing.B) { benchmarkEnvelope(b, false) }

// BenchmarkEncodeEnvelopePooled is BenchmarkEncodeEnvelope into pooled
// buffers released after each event, as the producer releases them once
// the broker acknowledged the record.
func BenchmarkEncodeEnvelopePooled(b *testing.B) { benchmarkEnvelope(b, true) }

func benchmarkEnvelope(b *testing.B, pooled bool) {
	reg := newCountingRegistry(b).URL
	kc, err := avro.New(map[string]string{"schema.registry.url": reg}, true)
	if err != nil {
		b.Fatal(err)
	}
	vc, err := avro.New(map[string]string{"schema.registry.url": reg}, false)
	if err != nil {
		b.Fatal(err)
	}
	ks, k, vs, v := issue14Envelope()
	const topic = "i14avro.public.issue14"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if pooled {
			kb, err := kc.FromConnectBuffer(topic, ks, k)
			if err != nil {
				b.Fatal(err)
			}
			vb, err := vc.FromConnectBuffer(topic, vs, v)
			if err != nil {
				b.Fatal(err)
			}
			kb.Release()
			vb.Release()
			continue
		}
		if _, err := kc.FromConnect(topic, ks, k); err != nil {
			b.Fatal(err)
		}
		if _, err := vc.FromConnect(topic, vs, v); err != nil {
			b.Fatal(err)
		}
	}
}
