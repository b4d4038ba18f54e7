package transforms

import (
	"errors"
	"strings"

	"github.com/tributary-io/tributary/connect/config"
)

// describeKey is a property name no configuration file can hold. A
// factory given it returns, instead of a transform, the definitions it
// parses its properties with (a *described error), so that the reference
// is generated from the very list each class parses with.
const describeKey = "\x00describe"

// describing reports whether a factory is asked for its definitions
// rather than for a transform (it must then not log warnings).
func describing(props map[string]string) bool {
	_, ok := props[describeKey]
	return ok
}

type described struct{ keys []*config.Key }

func (*described) Error() string { return "property definitions requested" }

// propKeys turns parseProps definitions into config keys for the
// reference; the description comes from classDocs.
func propKeys(defs []prop) []*config.Key {
	out := make([]*config.Key, 0, len(defs))
	for _, d := range defs {
		k := &config.Key{Name: d.name, Required: d.required, Importance: config.Medium}
		switch d.kind {
		case kList:
			k.Type = config.TypeList
		case kBool:
			k.Type = config.TypeBoolean
		case kInt:
			k.Type = config.TypeInt
		default:
			k.Type = config.TypeString
		}
		if d.hasDef {
			k.HasDefault, k.Default = true, d.def
		}
		if d.required {
			k.Importance = config.High
		}
		out = append(out, k)
	}
	return out
}

// Keys returns the properties the class parses, as its factory defines
// them; ok is false for a class (a binary's own) that does not describe
// itself.
func (cl Class) Keys() (keys []*config.Key, ok bool) {
	props := map[string]string{describeKey: ""}
	var err error
	if cl.Transform != nil {
		_, err = cl.Transform(props)
	} else {
		_, err = cl.Predicate(props)
	}
	var d *described
	if !errors.As(err, &d) {
		return nil, false
	}
	return d.keys, true
}

// BaseClass is the class a reference page documents: Kafka's $Key and
// $Value variants share one.
func BaseClass(class string) string {
	return strings.TrimSuffix(strings.TrimSuffix(class, "$Key"), "$Value")
}
