package connect

import (
	"bytes"
	"reflect"
)

// Equal reports whether two Connect values are equal by value: bytes by
// content, decimals by scale and unscaled value, structs, arrays and maps
// element by element. Sources use it to tell a key-changing update from a
// plain one.
func Equal(a, b any) bool {
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
			if !Equal(x.Values[i], y.Values[i]) {
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
			if !Equal(x[i], y[i]) {
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
			if !Equal(x[i].Key, y[i].Key) || !Equal(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case string, bool, int8, int16, int32, int64, float32, float64:
		return a == b
	}
	// Other comparable or not, never panic on uncomparable dynamic types.
	return reflect.DeepEqual(a, b)
}
