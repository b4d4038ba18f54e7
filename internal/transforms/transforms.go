// Package transforms implements Kafka Connect single message transforms
// (SMTs) and the transforms chain configured with "transforms=a,b" and
// "transforms.a.type=...".
package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/internal/config"
	"github.com/tributary-io/tributary/internal/connect"
)

// Transform changes or drops one record. Returning nil drops it.
type Transform interface {
	Apply(rec *connect.Record) (*connect.Record, error)
}

// Factory builds a transform from its properties (with the
// "transforms.<alias>." prefix removed, "type" included).
type Factory func(props map[string]string) (Transform, error)

// Registry maps transform class names (and short aliases) to factories.
type Registry map[string]Factory

// Chain is an ordered list of transforms.
type Chain []namedTransform

type namedTransform struct {
	alias string
	t     Transform
}

// Apply runs every transform in order; a dropped record stops the chain.
func (c Chain) Apply(rec *connect.Record) (*connect.Record, error) {
	for _, nt := range c {
		out, err := nt.t.Apply(rec)
		if err != nil {
			return nil, fmt.Errorf("transform %q: %w", nt.alias, err)
		}
		if out == nil {
			return nil, nil
		}
		rec = out
	}
	return rec, nil
}

// Build reads "transforms" and "transforms.<alias>.*" from connector
// properties, as Kafka Connect's ConnectorConfig does.
func (r Registry) Build(v *config.Values) (Chain, error) {
	var chain Chain
	for _, alias := range v.List("transforms") {
		props := v.WithPrefix("transforms." + alias + ".")
		typ := strings.TrimSpace(props["type"])
		if typ == "" {
			return nil, fmt.Errorf("transforms.%s.type: missing transform class for alias %q", alias, alias)
		}
		f, ok := r[typ]
		if !ok {
			return nil, fmt.Errorf("transforms.%s.type: unknown transform class %q", alias, typ)
		}
		if _, hasPred := props["predicate"]; hasPred {
			return nil, fmt.Errorf("transforms.%s.predicate: predicates are not supported yet", alias)
		}
		t, err := f(props)
		if err != nil {
			return nil, fmt.Errorf("transforms.%s: %w", alias, err)
		}
		chain = append(chain, namedTransform{alias, t})
	}
	return chain, nil
}

// Def is the runtime-level definition of the transforms properties.
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "transforms", Type: config.TypeList, Doc: "aliases of the transforms to apply, in order"})
	d.AllowPrefix("transforms.", "predicates")
	return d
}
