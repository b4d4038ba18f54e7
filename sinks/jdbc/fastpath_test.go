package jdbc

import (
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestFormatDecimal(t *testing.T) {
	cases := []struct {
		unscaled *big.Int
		scale    int32
		want     string
	}{
		{big.NewInt(125), 2, "1.25"},
		{big.NewInt(-125), 2, "-1.25"},
		{big.NewInt(5), 2, "0.05"},
		{big.NewInt(-5), 3, "-0.005"},
		{big.NewInt(0), 2, "0.00"},
		{big.NewInt(12), 0, "12"},
		{big.NewInt(12), -2, "1200"},
		{big.NewInt(math.MaxInt64), 4, "922337203685477.5807"},
		{big.NewInt(math.MinInt64), 4, "-922337203685477.5808"},
		{new(big.Int).Lsh(big.NewInt(1), 80), 3, "1208925819614629174706.176"},
		{big.NewInt(7), 30, "0.000000000000000000000000000007"},
	}
	for _, c := range cases {
		d := connect.Decimal{Unscaled: c.unscaled, Scale: c.scale}
		if got := formatDecimal(d); got != c.want {
			t.Errorf("%s scale %d: %q, want %q", c.unscaled, c.scale, got, c.want)
		}
		if ref := d.String(); ref != c.want {
			t.Errorf("%s scale %d: reference %q, want %q", c.unscaled, c.scale, ref, c.want)
		}
	}
	// Every value of a few scales agrees with connect.Decimal.String.
	for scale := int32(1); scale <= 4; scale++ {
		for u := int64(-20001); u <= 20001; u += 7 {
			d := connect.Decimal{Unscaled: big.NewInt(u), Scale: scale}
			if got, want := formatDecimal(d), d.String(); got != want {
				t.Fatalf("%d scale %d: %q, want %q", u, scale, got, want)
			}
		}
	}
}

func TestKeyStringDistinct(t *testing.T) {
	key := func(vals ...any) string {
		ch := &change{vals: vals}
		for range vals {
			ch.cols = append(ch.cols, column{key: true})
		}
		return keyString(ch)
	}
	cases := []struct {
		name string
		a, b []any
	}{
		{"int types", []any{int32(1)}, []any{int64(1)}},
		{"string vs number", []any{"1"}, []any{int64(1)}},
		{"separator inside a string", []any{"a\x00S1:b", "c"}, []any{"a", "b\x00S1:c"}},
		{"split strings", []any{"ab", "c"}, []any{"a", "bc"}},
		{"other types", []any{true}, []any{"true"}},
	}
	for _, c := range cases {
		if key(c.a...) == key(c.b...) {
			t.Errorf("%s: %v and %v share the key %q", c.name, c.a, c.b, key(c.a...))
		}
	}
}

// TestBindingCache checks that records interpreted through the cached
// binding get the same columns and values as the general path, and that a
// record holding the unavailable-value placeholder or lacking its key still
// takes the general path.
func TestBindingCache(t *testing.T) {
	key := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int32)).MustBuild()
	row := connect.StructBuilder().Name("srv.public.t.Value").Optional().
		Field("id", connect.Prim(connect.Int32)).Field("v", connect.OptionalPrim(connect.String)).Field("w", connect.OptionalPrim(connect.Int64)).MustBuild()
	env := connect.StructBuilder().Name("srv.public.t.Envelope").Field("before", row).Field("after", row).Field("op", connect.Prim(connect.String)).MustBuild()
	rec := func(op string, id int32, v any, w any) *connect.Record {
		r := connect.NewStruct(row).Set("id", id).Set("v", v).Set("w", w)
		val := connect.NewStruct(env).Set("op", op)
		if op == "d" {
			val.Set("before", r)
		} else {
			val.Set("after", r)
		}
		return &connect.Record{Topic: "t", KeySchema: key, Key: connect.NewStruct(key).Set("id", id), ValueSchema: env, Value: val}
	}
	const ph = "__debezium_unavailable_value"
	newIn := func() *interpreter {
		s := &settings{target: &Target{Dialect: PostgreSQL}, tableFormat: "${topic}", pkMode: pkRecordKey, insertMode: modeUpsert,
			deleteEnabled: true, placeholder: newPlaceholder(ph)}
		task := &Task{s: s}
		return &interpreter{s: s, normName: task.normName, splitName: task.splitName}
	}
	recs := []*connect.Record{
		rec("c", 1, "a", int64(10)), rec("u", 2, "b", int64(20)), rec("u", 3, nil, nil), rec("d", 4, "x", nil),
		rec("u", 5, ph, int64(50)), rec("u", 6, "c", int64(60)), rec("d", 7, "y", nil),
		{Topic: "t", KeySchema: key, Key: connect.NewStruct(key).Set("id", int32(8))}, // tombstone
		{Topic: "t", KeySchema: key, Key: nil, ValueSchema: env, Value: rec("u", 9, "z", nil).Value},
	}
	cached := newIn()
	for i, r := range recs {
		got, gerr := cached.interpret(r)
		want, werr := newIn().interpret(r) // a fresh interpreter has no binding
		if (gerr == nil) != (werr == nil) {
			t.Fatalf("record %d: error %v, want %v", i, gerr, werr)
		}
		if gerr != nil {
			if gerr.Error() != werr.Error() {
				t.Errorf("record %d: error %q, want %q", i, gerr, werr)
			}
			continue
		}
		if got.op != want.op || got.sig != want.sig || !reflect.DeepEqual(got.vals, want.vals) ||
			!reflect.DeepEqual(got.unavailable, want.unavailable) || !reflect.DeepEqual(got.cols, want.cols) {
			t.Errorf("record %d: op %v sig %q vals %v unavailable %v, want op %v sig %q vals %v unavailable %v",
				i, got.op, got.sig, got.vals, got.unavailable, want.op, want.sig, want.vals, want.unavailable)
		}
	}
	if len(cached.bindings) != 3 {
		t.Errorf("%d bindings cached, want 3 (upsert, delete, tombstone)", len(cached.bindings))
	}
}
