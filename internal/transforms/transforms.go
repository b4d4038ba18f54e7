package transforms

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// Transform and Factory are the SDK's (connect.Transform): the built-in
// transforms are written against the same interface as a custom binary's.
type (
	Transform = connect.Transform
	Factory   = connect.TransformFactory
)

// Registry maps plugin class names (and short aliases) to what they
// build. As in Kafka Connect, transforms and predicates share one class
// namespace: naming a predicate class in transforms.<alias>.type is
// "Not a Transformation".
type Registry map[string]Class

// Class is one transform or predicate class: exactly one factory is set.
type Class struct {
	Transform Factory
	Predicate PredicateFactory
}

// Chain is an ordered list of transforms.
type Chain []namedTransform

type namedTransform struct {
	alias string
	t     Transform
	// pred, when set, decides whether t applies: Kafka's
	// TransformationStage applies the transform when negate XOR
	// pred.Test(rec) and passes the record on unchanged otherwise.
	pred      Predicate
	predAlias string
	negate    bool
}

func (nt namedTransform) apply(rec *connect.Record) (*connect.Record, error) {
	if nt.pred != nil && nt.negate == nt.pred.Test(rec) {
		return rec, nil
	}
	return nt.t.Apply(rec)
}

// Apply runs every transform in order; a dropped record stops the chain.
func (c Chain) Apply(rec *connect.Record) (*connect.Record, error) {
	for _, nt := range c {
		out, err := nt.apply(rec)
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

// Close closes every transform and predicate of the chain that
// implements io.Closer, each once (a predicate may serve several
// transforms), after the task's last Apply: Kafka's
// TransformationChain.close(). Every one is closed even when one fails;
// the errors name their alias.
func (c Chain) Close() error {
	var errs []error
	closed := map[string]bool{}
	for _, nt := range c {
		if cl, ok := nt.t.(io.Closer); ok {
			if err := cl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing transform %q: %w", nt.alias, err))
			}
		}
		if cl, ok := nt.pred.(io.Closer); ok && !closed[nt.predAlias] {
			closed[nt.predAlias] = true
			if err := cl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing predicate %q: %w", nt.predAlias, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Build reads "transforms", "transforms.<alias>.*", "predicates" and
// "predicates.<alias>.*" from connector properties, as Kafka Connect's
// ConnectorConfig does. Errors name the property at fault in full
// ("transforms.route.regex: ...").
func (r Registry) Build(v *config.Values) (_ Chain, err error) {
	aliases := v.List("transforms")
	if err := uniqueAliases("transforms", aliases); err != nil {
		return nil, err
	}
	predAliases := v.List("predicates")
	if err := uniqueAliases("predicates", predAliases); err != nil {
		return nil, err
	}
	// Kafka validates every listed predicate, used or not.
	preds := map[string]Predicate{}
	var chain Chain
	defer func() {
		// What the task will not run is closed now: everything on a
		// failure, and predicates no transform uses.
		used := map[string]bool{}
		for _, nt := range chain {
			if err == nil {
				used[nt.predAlias] = true
			} else if cl, ok := nt.t.(io.Closer); ok {
				_ = cl.Close()
			}
		}
		for pa, p := range preds {
			if cl, ok := p.(io.Closer); ok && !used[pa] {
				_ = cl.Close()
			}
		}
	}()
	for _, pa := range predAliases {
		p, err := r.buildPredicate(v, pa)
		if err != nil {
			return nil, err
		}
		preds[pa] = p
	}
	for _, alias := range aliases {
		prefix := "transforms." + alias + "."
		props := v.WithPrefix(prefix)
		typ := strings.TrimSpace(props["type"])
		if typ == "" {
			// Kafka: Invalid value null for configuration transforms.x.type: Not a Transformation
			return nil, invalidValue(prefix+"type", "null", fmt.Sprintf("Not a Transformation (transform alias %q is listed in transforms but has no class)", alias))
		}
		cl, ok := r[typ]
		if !ok {
			return nil, invalidValue(prefix+"type", typ, fmt.Sprintf("Class %s could not be found.%s", typ, suggestClass(typ, r.names(false))))
		}
		if cl.Transform == nil {
			return nil, invalidValue(prefix+"type", typ, "Not a Transformation")
		}
		predAlias, hasPred := props["predicate"]
		negateRaw, hasNegate := props["negate"]
		delete(props, "predicate")
		delete(props, "negate")
		nt := namedTransform{alias: alias}
		if hasNegate {
			if !hasPred {
				return nil, &ConfigError{Property: prefix + "negate", Message: fmt.Sprintf("Config '%snegate' was provided but there is no config '%spredicate' defining a predicate to be negated.", prefix, prefix)}
			}
			switch strings.ToLower(strings.TrimSpace(negateRaw)) {
			case "true":
				nt.negate = true
			case "false":
			default:
				return nil, invalidValue(prefix+"negate", negateRaw, "Expected value to be either true or false")
			}
		}
		if hasPred {
			predAlias = strings.TrimSpace(predAlias)
			p, ok := preds[predAlias]
			if !ok {
				// Kafka instantiates predicates.<name>.type even when the
				// name is missing from "predicates".
				if _, defined := v.WithPrefix("predicates." + predAlias + ".")["type"]; !defined || predAlias == "" {
					return nil, invalidValue(prefix+"predicate", predAlias, fmt.Sprintf("unknown predicate %q: there is no predicates.%s.type (define it and list %q in predicates)", predAlias, predAlias, predAlias))
				}
				var err error
				if p, err = r.buildPredicate(v, predAlias); err != nil {
					return nil, err
				}
				preds[predAlias] = p
			}
			nt.pred, nt.predAlias = p, predAlias
		}
		t, err := cl.Transform(props)
		if err != nil {
			return nil, withPrefix(prefix, err)
		}
		nt.t = t
		chain = append(chain, nt)
	}
	return chain, nil
}

// uniqueAliases is Kafka's aliasValidator.
func uniqueAliases(prop string, aliases []string) error {
	seen := map[string]bool{}
	for _, a := range aliases {
		if seen[a] {
			return invalidValue(prop, strings.Join(aliases, ","), fmt.Sprintf("Duplicate alias provided. (%q)", a))
		}
		seen[a] = true
	}
	return nil
}

func (r Registry) buildPredicate(v *config.Values, alias string) (Predicate, error) {
	prefix := "predicates." + alias + "."
	props := v.WithPrefix(prefix)
	typ := strings.TrimSpace(props["type"])
	if typ == "" {
		return nil, invalidValue(prefix+"type", "null", fmt.Sprintf("Not a Predicate (predicate alias %q is listed in predicates but has no class)", alias))
	}
	cl, ok := r[typ]
	if !ok {
		return nil, invalidValue(prefix+"type", typ, fmt.Sprintf("Class %s could not be found.%s", typ, suggestClass(typ, r.names(true))))
	}
	if cl.Predicate == nil {
		return nil, invalidValue(prefix+"type", typ, "Not a Predicate")
	}
	p, err := cl.Predicate(props)
	if err != nil {
		return nil, withPrefix(prefix, err)
	}
	return p, nil
}

// names lists the predicate classes (predicates) or the transform
// classes, aliases included, for suggestions.
func (r Registry) names(predicates bool) []string {
	var names []string
	for n, cl := range r {
		if (cl.Predicate != nil) == predicates {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// suggestClass names the closest known class: a simple-name typo or a
// missing $Key/$Value is the usual mistake.
func suggestClass(typ string, names []string) string {
	best, bestDist := "", len(typ)/3+2
	for _, n := range names {
		if d := config.EditDistance(strings.ToLower(typ), strings.ToLower(n)); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// Def is the runtime-level definition of the transforms properties.
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "transforms", Type: config.TypeList, Doc: "aliases of the transforms to apply, in order"})
	d.AllowPrefix("transforms.", "predicates")
	return d
}
