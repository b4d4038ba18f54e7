package transforms

import (
	"fmt"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// newT builds class (a Java class name or alias) from props through the
// registry, as a connector's "transforms.x.*" would.
func newT(t *testing.T, class string, props map[string]string) Transform {
	t.Helper()
	tr, err := newTErr(class, props)
	if err != nil {
		t.Fatalf("%s %v: %v", class, props, err)
	}
	return tr
}

func newTErr(class string, props map[string]string) (Transform, error) {
	cl, ok := Builtin(nil)[class]
	if !ok || cl.Transform == nil {
		return nil, fmt.Errorf("no transform class %s", class)
	}
	p := map[string]string{"type": class}
	for k, v := range props {
		p[k] = v
	}
	return cl.Transform(p)
}

func apply(t *testing.T, tr Transform, rec *connect.Record) *connect.Record {
	t.Helper()
	out, err := tr.Apply(rec)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return out
}

// structOf builds a struct value of s with values in field order.
func structOf(s *connect.Schema, vals ...any) *connect.StructValue {
	v := connect.NewStruct(s)
	copy(v.Values, vals)
	return v
}

func prim(t connect.Type) *connect.Schema    { return connect.Prim(t) }
func optPrim(t connect.Type) *connect.Schema { return connect.OptionalPrim(t) }

// schemaEq compares schemas as Kafka's ConnectSchema.equals does.
func schemaEq(a, b *connect.Schema) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Type != b.Type || a.Optional != b.Optional || a.Name != b.Name || a.Version != b.Version || a.Doc != b.Doc ||
		a.HasDefault != b.HasDefault || !valEq(a.Default, b.Default) || len(a.Params) != len(b.Params) || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i := range a.Params {
		if a.Params[i] != b.Params[i] {
			return false
		}
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || a.Fields[i].Index != b.Fields[i].Index || !schemaEq(a.Fields[i].Schema, b.Fields[i].Schema) {
			return false
		}
	}
	if (a.Key == nil) != (b.Key == nil) || (a.Value == nil) != (b.Value == nil) {
		return false
	}
	if a.Key != nil && !schemaEq(a.Key, b.Key) {
		return false
	}
	return a.Value == nil || schemaEq(a.Value, b.Value)
}

// valEq compares values by content, times by instant and structs by
// schema and values.
func valEq(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	case *connect.StructValue:
		y, ok := b.(*connect.StructValue)
		if !ok || (x == nil) != (y == nil) {
			return false
		}
		if x == nil {
			return true
		}
		if !schemaEq(x.Schema, y.Schema) || len(x.Values) != len(y.Values) {
			return false
		}
		for i := range x.Values {
			if !valEq(x.Values[i], y.Values[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !valEq(v, w) {
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
			if !valEq(x[i], y[i]) {
				return false
			}
		}
		return true
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case connect.Decimal, []byte, connect.MapValue:
		return connect.Equal(a, b)
	}
	return reflect.DeepEqual(a, b)
}

func wantVal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !valEq(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func wantSchema(t *testing.T, what string, got, want *connect.Schema) {
	t.Helper()
	if !schemaEq(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}
