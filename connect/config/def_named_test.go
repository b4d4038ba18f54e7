package config

import (
	"strings"
	"testing"
)

// AllowNamed accepts the properties of the names a list property holds,
// and only those.
func TestAllowNamed(t *testing.T) {
	d := NewDef().Define(Key{Name: "converters", Type: TypeList}).AllowNamed("converters")
	cases := []struct {
		props   map[string]string
		unknown string // "" when valid
	}{
		{map[string]string{"converters": "boolean", "boolean.type": "x", "boolean.selector": "y"}, ""},
		{map[string]string{"converters": "a, b", "a.type": "x", "b.type": "y"}, ""},
		{map[string]string{"converters": "a", "b.type": "y"}, "b.type"},
		{map[string]string{"boolean.type": "x"}, "boolean.type"},
		{map[string]string{"converters": "boolean", "booleanx.type": "x"}, "booleanx.type"},
	}
	for _, c := range cases {
		_, err := NewDef().Merge(d).Parse(c.props)
		switch {
		case c.unknown == "" && err != nil:
			t.Errorf("%v: %v", c.props, err)
		case c.unknown != "" && (err == nil || !strings.Contains(err.Error(), c.unknown+": unknown property")):
			t.Errorf("%v: error %v, want %s unknown", c.props, err, c.unknown)
		}
	}
}
