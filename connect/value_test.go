package connect

import (
	"math/big"
	"testing"
)

func TestDecimalString(t *testing.T) {
	for _, tc := range []struct {
		unscaled int64
		scale    int32
		want     string
	}{
		{12345, 2, "123.45"},
		{-5, 3, "-0.005"},
		{7, 0, "7"},
		{12, -2, "1200"},
		{-3, -1, "-30"},
		{0, -4, "0"},
	} {
		if got := (Decimal{Unscaled: big.NewInt(tc.unscaled), Scale: tc.scale}).String(); got != tc.want {
			t.Errorf("Decimal{%d, %d} = %s, want %s", tc.unscaled, tc.scale, got, tc.want)
		}
	}
}
