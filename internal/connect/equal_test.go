package connect

import (
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
