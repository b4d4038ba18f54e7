// Package upper is a single message transform written against
// Tributary's public SDK: it upper-cases one string field of the record
// value.
package upper

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// Class is the transforms.<alias>.type; "UpperCase" is its alias.
const Class = "com.example.transforms.UpperCase"

func def() *config.Def {
	d := config.NewDef()
	// The chain passes "type" on, as Kafka Connect does.
	d.Define(config.Key{Name: "type", Type: config.TypeClass, Required: true, Doc: "the transform class"})
	d.Define(config.Key{Name: "field", Type: config.TypeString, Required: true,
		Doc: "the value field to upper-case (a STRING field of a struct value, or a key of a schemaless map)"})
	return d
}

// New builds the transform from the properties of its alias; unknown
// properties are refused (config.Def.Parse), not ignored.
func New(props map[string]string) (connect.Transform, error) {
	v, err := def().Parse(props)
	if err != nil {
		return nil, err
	}
	field := v.String("field")
	if field == "" {
		return nil, fmt.Errorf("field: must name a field")
	}
	return &upperCase{field: field}, nil
}

type upperCase struct{ field string }

// Apply changes a copy of the value: the task may still hold the record it
// wrote, and other transforms may share the struct.
func (u *upperCase) Apply(rec *connect.Record) (*connect.Record, error) {
	switch v := rec.Value.(type) {
	case nil:
		return rec, nil // tombstones pass unchanged
	case *connect.StructValue:
		f := v.Schema.Field(u.field)
		if f == nil {
			return nil, fmt.Errorf("field %q: not in the value schema %q of the record for topic %s", u.field, v.Schema.Name, rec.Topic)
		}
		if f.Schema.Type != connect.String {
			return nil, fmt.Errorf("field %q: %s, not STRING, in the value schema %q", u.field, f.Schema.Type, v.Schema.Name)
		}
		out := &connect.StructValue{Schema: v.Schema, Values: append([]any(nil), v.Values...)}
		if s, ok := out.Values[f.Index].(string); ok {
			out.Values[f.Index] = strings.ToUpper(s)
		}
		cp := *rec
		cp.Value = out
		return &cp, nil
	case map[string]any:
		s, ok := v[u.field].(string)
		if !ok {
			return nil, fmt.Errorf("field %q: %T, not a string, in the schemaless value of the record for topic %s", u.field, v[u.field], rec.Topic)
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = x
		}
		out[u.field] = strings.ToUpper(s)
		cp := *rec
		cp.Value = out
		return &cp, nil
	}
	return nil, fmt.Errorf("field %q: the value of the record for topic %s is a %T, neither a struct nor a map", u.field, rec.Topic, rec.Value)
}
