package connect

import (
	"bytes"
	"math"
	"reflect"
)

// Equal reports whether two Connect values are equal by value: bytes by
// content, decimals by scale and unscaled value, structs, arrays and maps
// element by element. Sources use it to tell a key-changing update from a
// plain one.
func Equal(a, b any) bool { return equal(a, b, false) }

// SameValue is Equal with a NaN float equal to a NaN: whether a value
// survived a round trip (encode, decode) unchanged, where a float field
// may hold NaN.
func SameValue(a, b any) bool { return equal(a, b, true) }

func equal(a, b any, nanEqual bool) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case Decimal:
		y, ok := b.(Decimal)
		return ok && x.Scale == y.Scale && x.Unscaled.Cmp(y.Unscaled) == 0
	case *StructValue:
		y, ok := b.(*StructValue)
		if !ok || (x == nil) != (y == nil) {
			return false
		}
		if x == nil {
			return true
		}
		if len(x.Values) != len(y.Values) {
			return false
		}
		for i := range x.Values {
			if !equal(x.Values[i], y.Values[i], nanEqual) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i], nanEqual) {
				return false
			}
		}
		return true
	case MapValue:
		y, ok := b.(MapValue)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i].Key, y[i].Key, nanEqual) || !equal(x[i].Value, y[i].Value, nanEqual) {
				return false
			}
		}
		return true
	case map[string]any: // schemaless maps
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !equal(e, f, nanEqual) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || nanEqual && math.IsNaN(x) && math.IsNaN(y))
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || nanEqual && x != x && y != y)
	case string, bool, int8, int16, int32, int64:
		return a == b
	}
	// Other comparable or not, never panic on uncomparable dynamic types.
	return reflect.DeepEqual(a, b)
}
