package connect

import (
	"math"
	"math/big"
	"testing"
)

func TestEqual(t *testing.T) {
	s := StructBuilder().Name("k").Field("id", Prim(Int64)).Field("b", OptionalPrim(Bytes)).MustBuild()
	k1 := NewStruct(s).Set("id", int64(1)).Set("b", []byte{1})
	k2 := NewStruct(s).Set("id", int64(1)).Set("b", []byte{1})
	k3 := NewStruct(s).Set("id", int64(2)).Set("b", []byte{1})
	var nilStruct *StructValue
	for _, tc := range []struct {
		name string
		a, b any
		want bool
	}{
		{"equal structs", k1, k2, true},
		{"different structs", k1, k3, false},
		{"nil structs", nilStruct, nilStruct, true},
		{"nil and struct", nilStruct, k1, false},
		{"decimals", Decimal{big.NewInt(150), 2}, Decimal{big.NewInt(150), 2}, true},
		{"decimal scales", Decimal{big.NewInt(150), 2}, Decimal{big.NewInt(150), 1}, false},
		{"arrays", []any{"a", int32(1)}, []any{"a", int32(1)}, true},
		{"maps", MapValue{{"k", []any{int64(1)}}}, MapValue{{"k", []any{int64(1)}}}, true},
		{"maps differ", MapValue{{"k", "v"}}, MapValue{{"k", "w"}}, false},
		{"types differ", int32(1), int64(1), false},
		{"nils", nil, nil, true},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: Equal = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSameValueNaN(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		a, b        any
		equal, same bool
	}{
		{nan, nan, false, true},
		{float32(nan), float32(nan), false, true},
		{[]any{nan}, []any{nan}, false, true},
		{map[string]any{"x": nan}, map[string]any{"x": nan}, false, true},
		{map[string]any{"x": 1.0}, map[string]any{"y": 1.0}, false, false},
		{1.5, 1.5, true, true},
		{1.5, float32(1.5), false, false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.equal {
			t.Errorf("Equal(%v, %v) = %v", tc.a, tc.b, got)
		}
		if got := SameValue(tc.a, tc.b); got != tc.same {
			t.Errorf("SameValue(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}
