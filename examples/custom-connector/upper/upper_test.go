package upper

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestUpperCase(t *testing.T) {
	schema := connect.StructBuilder().Name("v").
		Field("message", connect.OptionalPrim(connect.String)).
		Field("id", connect.Prim(connect.Int64)).MustBuild()
	cases := []struct {
		name    string
		props   map[string]string
		value   any
		want    any
		wantErr string
	}{
		{"struct", map[string]string{"field": "message"}, connect.NewStruct(schema).Set("message", "tick 1").Set("id", int64(1)),
			connect.NewStruct(schema).Set("message", "TICK 1").Set("id", int64(1)), ""},
		{"null field", map[string]string{"field": "message"}, connect.NewStruct(schema).Set("id", int64(1)),
			connect.NewStruct(schema).Set("id", int64(1)), ""},
		{"map", map[string]string{"field": "m"}, map[string]any{"m": "a", "n": "b"}, map[string]any{"m": "A", "n": "b"}, ""},
		{"tombstone", map[string]string{"field": "message"}, nil, nil, ""},
		{"missing field", map[string]string{"field": "nope"}, connect.NewStruct(schema), nil, `field "nope": not in the value schema`},
		{"not a string", map[string]string{"field": "id"}, connect.NewStruct(schema).Set("id", int64(1)), nil, `field "id": int64, not STRING`},
		{"no field property", map[string]string{}, nil, nil, "field: missing required property"},
		{"unknown property", map[string]string{"field": "message", "feild": "x"}, nil, nil, "feild: unknown property"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"type": Class}
			for k, v := range c.props {
				props[k] = v
			}
			tr, err := New(props)
			if err == nil {
				var out *connect.Record
				in := &connect.Record{Topic: "t", Value: c.value}
				if out, err = tr.Apply(in); err == nil {
					if !connect.Equal(out.Value, c.want) {
						t.Errorf("value %v, want %v", out.Value, c.want)
					}
					if c.value != nil && connect.Equal(in.Value, out.Value) && c.name != "null field" {
						t.Errorf("the input record was changed: %v", in.Value)
					}
				}
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}
