package avro_test

import (
	"context"
	"encoding/hex"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry"
)

// referencePayloads are the Avro bodies (after the magic byte and schema
// id) that the converter wrote for referenceCases at e5fe3ea, before it
// cached targets by topic and sized its output from the last message.
var referencePayloads = map[string]string{
	"all_types key 1":          "02",
	"all_types envelope 1":     "000202020d5402ffffffff0f8280808080808020020000a03f00cdcccc3d02182d4454fb21094000000000000000f83f02010208ff439eb204013a02060601e24000020263022268c3a96c6c6f2077c3b6726c6420e29c93001c69742773202271756f746564220a0202780208000102ff02f0a80202a898b1bed10202aab2992b02808981828389850602f6a1abfef9620236323032332d31312d31345432323a31333a32302e3132333435365a021a31323a33343a35362e3738395a0280b5ee809f05024861306565626339392d396330622d346566382d626236642d366262396264333830613131021a7b2261223a205b312c20325d7d00047b7d02083c612f3e02000202a5020a6861707079020a612e622e6302000000000000f83f00000000000002c00002cc430204046b3102047631046b32000002060202000206000204020261020262000204020405dc000002f0a8020280bab70302f6a1abfef96216332e362e312e46696e616c14706f737467726573716c1264627365727665723180a0abfef962000a66616c736510706f73746772657300028080f28183898506028080d0e2c6bfce972f0c7075626c696312616c6c5f747970657302920c02b0c1f41600000000026302e8a7abfef96202c084af8283898506028094bbbfcabfce972f",
	"all_types key 2":          "04",
	"all_types envelope 2":     "000204020d5402ffffffff0f8280808080808020020000a03f00cdcccc3d02182d4454fb21094000000000000000f83f02010208ff439eb204013a02060601e24000020263022268c3a96c6c6f2077c3b6726c6420e29c93001c69742773202271756f746564220a0202780208000102ff02f0a80202a898b1bed10202aab2992b02808981828389850602f6a1abfef9620236323032332d31312d31345432323a31333a32302e3132333435365a021a31323a33343a35362e3738395a0280b5ee809f05024861306565626339392d396330622d346566382d626236642d366262396264333830613131021a7b2261223a205b312c20325d7d00047b7d02083c612f3e02000202a5020a6861707079020a612e622e6302000000000000f83f00000000000002c00002cc430204046b3102047631046b32000002060202000206000204020261020262000204020405dc000002f0a8020280bab70302f6a1abfef96216332e362e312e46696e616c14706f737467726573716c1264627365727665723180a0abfef962000a66616c736510706f73746772657300028080f28183898506028080d0e2c6bfce972f0c7075626c696312616c6c5f747970657302920c02b0c1f41600000000026302e8a7abfef96202c084af8283898506028094bbbfcabfce972f",
	"all_types key 3":          "06",
	"all_types envelope 3":     "000206020d5402ffffffff0f8280808080808020020000a03f00cdcccc3d02182d4454fb21094000000000000000f83f02010208ff439eb204013a02060601e24000020263022268c3a96c6c6f2077c3b6726c6420e29c93001c69742773202271756f746564220a0202780208000102ff02f0a80202a898b1bed10202aab2992b02808981828389850602f6a1abfef9620236323032332d31312d31345432323a31333a32302e3132333435365a021a31323a33343a35362e3738395a0280b5ee809f05024861306565626339392d396330622d346566382d626236642d366262396264333830613131021a7b2261223a205b312c20325d7d00047b7d02083c612f3e02000202a5020a6861707079020a612e622e6302000000000000f83f00000000000002c00002cc430204046b3102047631046b32000002060202000206000204020261020262000204020405dc000002f0a8020280bab70302f6a1abfef96216332e362e312e46696e616c14706f737467726573716c1264627365727665723180a0abfef962000a66616c736510706f73746772657300028080f28183898506028080d0e2c6bfce972f0c7075626c696312616c6c5f747970657302920c02b0c1f41600000000026302e8a7abfef96202c084af8283898506028094bbbfcabfce972f",
	"all_types nulls":          "02c601005400010000cdcccc3d0000000000000000f83f000004013a00000000001c69742773202271756f746564220a00000000000000000000000000047b7d00000000000000000000000000",
	"issue14 key":              "80890f",
	"issue14 update":           "000280890f80890f0e0a7570642d368002306632643462636236613163326133623066326434626362366131633261336230663264346263623661316332613362306632643462636236613163326133623066326434626362366131633261336230663264346263623661316332613362306632643462636236613163326133623066326434626362366131633261336216332e362e312e46696e616c14706f737467726573716c0e6931346176726ff6d1f7bcdd66000a66616c73650a62656e6368022e5b223234303233393238222c223234303234303136225d028089d886a4caa2060280a886a0d4a994fe300c7075626c69630e6973737565313402860c02a0cff41600000000027502f6d1f7bcdd66028089d886a4caa2060280a886a0d4a994fe30",
	"issue14 insert":           "000280890f80890f0e0a7570642d368002306632643462636236613163326133623066326434626362366131633261336230663264346263623661316332613362306632643462636236613163326133623066326434626362366131633261336230663264346263623661316332613362306632643462636236613163326133623066326434626362366131633261336216332e362e312e46696e616c14706f737467726573716c0e6931346176726ff6d1f7bcdd66000a66616c73650a62656e6368022e5b223234303233393238222c223234303234303136225d028089d886a4caa2060280a886a0d4a994fe300c7075626c69630e6973737565313402860c02a0cff41600000000026302f6d1f7bcdd66028089d886a4caa2060280a886a0d4a994fe30",
	"ten columns":              "02aab4de75a442020e7368697070656402061e844e02060200000000800aba4002010002808981828389850602808db0e183898506",
	"nested, union int":        "020202f69894bdc868f0c40206ed2979060202610002066363630002040278020279d70400040e020000000000000440100000020902060001ff01",
	"nested, union record":     "040202f69894bdc868f0c40206ed2979060202610002066363630002040278020279d70400040e02000000000000044010000006060000",
	"nested, union null":       "060202f69894bdc868f0c40206ed2979060202610002066363630002040278020279d70400040e020000000000000440100000000001",
	"nested null":              "08000001",
	"string":                   "0c68c3a96c6c6f",
	"bytes (raw at top level)": "72617700",
	"long":                     "8180808080808020",
	"optional int null":        "",
}

// TestFromConnectMatchesReference checks the bytes of every reference
// case against the earlier encoder's, on the first conversion (schema
// registered, encoder compiled), on later ones (cached target, buffer
// sized from the last message) and through a second converter on the
// same registry (the same schema id); pooled output must be the same
// bytes.
func TestFromConnectMatchesReference(t *testing.T) {
	reg := newCountingRegistry(t).URL
	conv := func(isKey bool) *avro.Converter {
		c, err := avro.New(map[string]string{"schema.registry.url": reg}, isKey)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	keys, values := conv(true), conv(false)
	keys2, values2 := conv(true), conv(false)
	client, err := registry.NewClient(registry.Config{URL: reg})
	if err != nil {
		t.Fatal(err)
	}
	cases := referenceCases()
	if len(cases) != len(referencePayloads) {
		t.Fatalf("%d cases, %d reference payloads", len(cases), len(referencePayloads))
	}
	for round := range 3 {
		for _, tc := range cases {
			c, c2 := values, values2
			if tc.isKey {
				c, c2 = keys, keys2
			}
			want, ok := referencePayloads[tc.name]
			if !ok {
				t.Fatalf("%s: no reference payload", tc.name)
			}
			got, err := c.FromConnect(tc.topic, tc.schema, tc.value)
			if err != nil {
				t.Fatalf("round %d, %s: %v", round, tc.name, err)
			}
			if want == "" {
				if got != nil {
					t.Fatalf("round %d, %s: %x, want a Kafka null", round, tc.name, got)
				}
				continue
			}
			if len(got) < avro.HeaderLen || got[0] != avro.MagicByte {
				t.Fatalf("round %d, %s: %x is not framed", round, tc.name, got)
			}
			if round == 0 {
				// The frame names the id the registry holds the schema under.
				as, err := c.Schema(tc.schema)
				if err != nil {
					t.Fatal(err)
				}
				subject := tc.topic + "-value"
				if tc.isKey {
					subject = tc.topic + "-key"
				}
				sv, err := client.Lookup(context.Background(), subject, as.String(), false)
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				if id, _, _ := avro.SplitFrame(got); id != sv.ID {
					t.Fatalf("%s: frame names schema id %d, the registry %d", tc.name, id, sv.ID)
				}
			}
			if p := hex.EncodeToString(got[avro.HeaderLen:]); p != want {
				t.Fatalf("round %d, %s: payload\n%s\nwant\n%s", round, tc.name, p, want)
			}
			other, err := c2.FromConnect(tc.topic, tc.schema, tc.value)
			if err != nil || string(other) != string(got) {
				t.Fatalf("round %d, %s: second converter wrote %x (%v), want %x", round, tc.name, other, err, got)
			}
			var pc converter.Pooled = c
			buf, err := pc.FromConnectBuffer(tc.topic, tc.schema, tc.value)
			if err != nil || buf == nil || string(buf.Bytes()) != string(got) {
				t.Fatalf("round %d, %s: pooled %v (%v), want %x", round, tc.name, buf, err, got)
			}
			buf.Release()
		}
	}
}

// referenceCases are schemas and values whose Avro bytes were written by
// the converter before its per-topic targets and sized output buffers
// (encoded at e5fe3ea): nulls and defaults, decimals (bytes and
// variable-scale structs), timestamps from int64 and time.Time, optional
// fields as unions, a Connect union struct, nested structs, arrays, maps
// with string and non-string keys, top-level primitives, issue 14's
// envelope.
func referenceCases() []referenceCase {
	fx := newPGFixture()
	var cases []referenceCase
	for i := 1; i <= 3; i++ {
		k, v := fx.sampleEvent(i)
		cases = append(cases,
			referenceCase{name: "all_types key " + itoa(i), topic: "dbserver1.public.all_types", isKey: true, schema: fx.key, value: k},
			referenceCase{name: "all_types envelope " + itoa(i), topic: "dbserver1.public.all_types", schema: fx.envelope, value: v})
	}
	// Every optional column null, the defaults' columns left unset.
	nullRow := connect.NewStruct(fx.row).Set("id", int32(99)).Set("c_bigint", int64(-1))
	cases = append(cases, referenceCase{name: "all_types nulls", topic: "rows", schema: fx.row, value: nullRow})

	ks, k, vs, v := issue14Envelope()
	cases = append(cases,
		referenceCase{name: "issue14 key", topic: "i14avro.public.issue14", isKey: true, schema: ks, value: k},
		referenceCase{name: "issue14 update", topic: "i14avro.public.issue14", schema: vs, value: v})
	ins := connect.NewStruct(vs)
	copy(ins.Values, v.Values)
	ins.Values[0], ins.Values[4] = nil, "c"
	cases = append(cases, referenceCase{name: "issue14 insert", topic: "i14avro.public.issue14", schema: vs, value: ins})

	rs, rv := tenColumns()
	cases = append(cases, referenceCase{name: "ten columns", topic: "bench.public.orders", schema: rs, value: rv})

	member := connect.StructBuilder().Name("ns.Member").Optional().Field("a", connect.Prim(connect.Int32)).MustBuild()
	union := connect.StructBuilder().Name(avro.UnionSchemaName).Optional().
		Field("int", connect.OptionalPrim(connect.Int32)).
		Field("string", connect.OptionalPrim(connect.String)).
		Field("Member", member).
		MustBuild()
	ts := connect.TimestampSchema().Optional().MustBuild()
	nested := connect.StructBuilder().Name("ns.Nested").Optional().
		Field("when", ts).
		Field("day", connect.DateSchema().MustBuild()).
		Field("amount", connect.DecimalSchema(3).MustBuild()).
		Field("tags", connect.ArrayOf(connect.OptionalPrim(connect.String)).MustBuild()).
		Field("counts", connect.MapOf(connect.Prim(connect.String), connect.Prim(connect.Int64)).Optional().MustBuild()).
		Field("byID", connect.MapOf(connect.Prim(connect.Int32), connect.OptionalPrim(connect.Float64)).MustBuild()).
		Field("u", union).
		MustBuild()
	outer := connect.StructBuilder().Name("ns.Outer").
		Field("id", connect.Prim(connect.Int64)).
		Field("inner", nested).
		Field("raw", connect.OptionalPrim(connect.Bytes)).
		Field("flag", connect.NewBuilder(connect.Boolean).Default(true).MustBuild()).
		MustBuild()
	day := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	inner := func(u *connect.StructValue) *connect.StructValue {
		v := connect.NewStruct(nested)
		if u != nil {
			v.Set("u", u)
		}
		return v.Set("when", day.Add(90*time.Minute+123*time.Millisecond)).Set("day", day).
			Set("amount", connect.Decimal{Unscaled: big.NewInt(-1234567), Scale: 3}).
			Set("tags", []any{"a", nil, "ccc"}).
			Set("counts", connect.MapValue{{Key: "x", Value: int64(1)}, {Key: "y", Value: int64(-300)}}).
			Set("byID", connect.MapValue{{Key: int32(7), Value: 2.5}, {Key: int32(8), Value: nil}})
	}
	cases = append(cases,
		referenceCase{name: "nested, union int", topic: "nested", schema: outer,
			value: connect.NewStruct(outer).Set("id", int64(1)).Set("inner", inner(connect.NewStruct(union).Set("int", int32(-5)))).Set("raw", []byte{0, 1, 255})},
		referenceCase{name: "nested, union record", topic: "nested", schema: outer,
			value: connect.NewStruct(outer).Set("id", int64(2)).Set("inner", inner(connect.NewStruct(union).Set("Member", connect.NewStruct(member).Set("a", int32(3))))).Set("flag", false)},
		referenceCase{name: "nested, union null", topic: "nested", schema: outer,
			value: connect.NewStruct(outer).Set("id", int64(3)).Set("inner", inner(nil))},
		referenceCase{name: "nested null", topic: "nested", schema: outer,
			value: connect.NewStruct(outer).Set("id", int64(4))},
		referenceCase{name: "string", topic: "prims", schema: connect.Prim(connect.String), value: "héllo"},
		referenceCase{name: "bytes (raw at top level)", topic: "bytes", schema: connect.Prim(connect.Bytes), value: []byte("raw\x00")},
		referenceCase{name: "long", topic: "longs", schema: connect.Prim(connect.Int64), value: int64(-9007199254740993)},
		referenceCase{name: "optional int null", topic: "ints", schema: connect.OptionalPrim(connect.Int32), value: nil},
	)
	return cases
}

type referenceCase struct {
	name   string
	topic  string
	isKey  bool
	schema *connect.Schema
	value  any
}

// TestEqualStructSchemaOtherPointer writes a value whose struct schemas
// are equal to, but not, the converter's (a connector that rebuilt them):
// the same bytes, and a struct of another schema is still refused after
// an equal one was remembered.
func TestEqualStructSchemaOtherPointer(t *testing.T) {
	reg := newCountingRegistry(t).URL
	c, err := avro.New(map[string]string{"schema.registry.url": reg}, false)
	if err != nil {
		t.Fatal(err)
	}
	const topic = "i14avro.public.issue14"
	_, _, vs, _ := issue14Envelope()
	_, _, _, rebuilt := issue14Envelope()
	if rebuilt.Schema == vs {
		t.Fatal("the fixture shares its schema")
	}
	for i := range 2 {
		got, err := c.FromConnect(topic, vs, rebuilt)
		if err != nil {
			t.Fatal(err)
		}
		if p := hex.EncodeToString(got[avro.HeaderLen:]); p != referencePayloads["issue14 update"] {
			t.Fatalf("write %d: payload %s, want %s", i, p, referencePayloads["issue14 update"])
		}
	}
	other := connect.StructBuilder().Name("i14avro.public.issue14.Value").Optional().
		Field("id", connect.Prim(connect.Int64)).MustBuild()
	bad := connect.NewStruct(vs)
	copy(bad.Values, rebuilt.Values)
	bad.Values[1] = connect.NewStruct(other).Set("id", int64(1))
	if _, err := c.FromConnect(topic, vs, bad); err == nil || !strings.Contains(err.Error(), "mismatching struct schema") {
		t.Fatalf("after: %v, want a mismatching struct schema", err)
	}
}
