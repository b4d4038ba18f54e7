package compat

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// The corpus generator builds random record schemas as plain JSON trees and
// derives a second schema from each by schema-evolution mutations. Trees are
// built so that every named type is defined exactly once and referenced only
// from recursive ["null", Name] fields, which keeps removals and renames from
// producing dangling references.

type corpusPair struct {
	a, b      string
	mutations []string
	// skipAReadsB / skipBReadsA mark directions Avro Java 1.8 answers
	// against the spec (see javaDeviations in the test); they are still
	// checked by our own table tests, just not compared with Java.
	skipAReadsB, skipBReadsA bool
}

type gen struct {
	r *rand.Rand
	n int
}

func (g *gen) fresh(prefix string) string {
	g.n++
	return fmt.Sprintf("%s%d", prefix, g.n)
}

var numericAndText = []string{"int", "long", "float", "double", "string", "bytes"}
var allPrimitives = []string{"null", "boolean", "int", "long", "float", "double", "string", "bytes"}

func (g *gen) pick(list []string) string { return list[g.r.IntN(len(list))] }

// typ generates a non-union schema unless allowUnion.
func (g *gen) typ(depth int, allowUnion bool) any {
	k := g.r.IntN(20)
	switch {
	case k < 9:
		return g.pick(allPrimitives[1:])
	case k < 11:
		return g.enum()
	case k < 12:
		return map[string]any{"type": "fixed", "name": g.fresh("X"), "size": json.Number(fmt.Sprint(1 + g.r.IntN(8)))}
	case k < 14:
		return map[string]any{"type": "array", "items": g.typ(depth+1, true)}
	case k < 16:
		return map[string]any{"type": "map", "values": g.typ(depth+1, true)}
	case k < 18 && allowUnion:
		return g.union(depth)
	case depth < 2:
		return g.record(depth + 1)
	default:
		return g.pick(numericAndText)
	}
}

func (g *gen) enum() any {
	n := 1 + g.r.IntN(4)
	syms := make([]any, n)
	for i := range syms {
		syms[i] = g.fresh("S")
	}
	return map[string]any{"type": "enum", "name": g.fresh("E"), "symbols": syms}
}

func branchKey(b any) string {
	switch t := b.(type) {
	case string:
		return t
	case map[string]any:
		if n, ok := t["name"].(string); ok {
			return n
		}
		return t["type"].(string)
	}
	return fmt.Sprint(b)
}

func (g *gen) union(depth int) any {
	var out []any
	seen := map[string]bool{}
	if g.r.IntN(2) == 0 {
		out = append(out, "null")
		seen["null"] = true
	}
	want := 2 + g.r.IntN(2)
	for tries := 0; len(out) < want && tries < 10; tries++ {
		b := g.typ(depth+1, false)
		k := branchKey(b)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, b)
	}
	return out
}

func (g *gen) record(depth int) map[string]any {
	name := g.fresh("R")
	rec := map[string]any{"type": "record", "name": name}
	var fields []any
	for range 1 + g.r.IntN(4) {
		fields = append(fields, g.field(depth))
	}
	if g.r.IntN(6) == 0 {
		// A recursive link makes the checker's cycle handling part of the corpus.
		fields = append(fields, map[string]any{"name": g.fresh("f"), "type": []any{"null", name}, "default": nil})
	}
	rec["fields"] = fields
	return rec
}

func (g *gen) field(depth int) map[string]any {
	f := map[string]any{"name": g.fresh("f"), "type": g.typ(depth, true)}
	if g.r.IntN(3) == 0 {
		f["default"] = placeholder{}
	}
	return f
}

// placeholder marks "has a default"; normalizeDefaults replaces it with a
// value valid for the field's current type.
type placeholder struct{}

func (g *gen) topLevel() map[string]any {
	r := g.record(0)
	r["namespace"] = "com.example"
	return r
}

// walkTypes visits every schema position: fields, items, values, branches.
func walkTypes(t any, visit func(t any)) {
	visit(t)
	switch v := t.(type) {
	case []any:
		for _, b := range v {
			walkTypes(b, visit)
		}
	case map[string]any:
		switch v["type"] {
		case "record":
			for _, f := range v["fields"].([]any) {
				walkTypes(f.(map[string]any)["type"], visit)
			}
		case "array":
			walkTypes(v["items"], visit)
		case "map":
			walkTypes(v["values"], visit)
		}
	}
}

func definitions(t any) map[string]map[string]any {
	defs := map[string]map[string]any{}
	walkTypes(t, func(t any) {
		if m, ok := t.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				defs[n] = m
			}
		}
	})
	return defs
}

func defaultFor(t any, defs map[string]map[string]any, depth int, inRecord bool) (any, bool) {
	if depth > 6 {
		return nil, false
	}
	switch v := t.(type) {
	case string:
		switch v {
		case "null":
			return nil, true
		case "boolean":
			return true, true
		case "int", "long":
			return json.Number("1"), true
		case "float", "double":
			return json.Number("1.5"), true
		case "string", "bytes":
			return "x", true
		}
		if d, ok := defs[v]; ok {
			return defaultFor(d, defs, depth+1, inRecord)
		}
		return nil, false
	case []any:
		// goavro rejects a non-null union value nested inside a record
		// default (Java accepts it); keep the corpus valid for both.
		if inRecord && v[0] != "null" {
			return nil, false
		}
		return defaultFor(v[0], defs, depth+1, inRecord)
	case map[string]any:
		switch v["type"] {
		case "enum":
			return v["symbols"].([]any)[0], true
		case "fixed":
			n, _ := v["size"].(json.Number).Int64()
			return strings.Repeat("a", int(n)), true
		case "array":
			return []any{}, true
		case "map":
			return map[string]any{}, true
		case "record":
			obj := map[string]any{}
			for _, f := range v["fields"].([]any) {
				fm := f.(map[string]any)
				d, ok := defaultFor(fm["type"], defs, depth+1, true)
				if !ok {
					return nil, false
				}
				obj[fm["name"].(string)] = d
			}
			return obj, true
		}
	}
	return nil, false
}

func normalizeDefaults(root map[string]any) {
	defs := definitions(root)
	walkTypes(root, func(t any) {
		m, ok := t.(map[string]any)
		if !ok || m["type"] != "record" {
			return
		}
		for _, f := range m["fields"].([]any) {
			fm := f.(map[string]any)
			if _, has := fm["default"]; !has {
				continue
			}
			if d, ok := defaultFor(fm["type"], defs, 0, false); ok {
				fm["default"] = d
			} else {
				delete(fm, "default")
			}
		}
	})
}

func deepCopy(t any) any {
	switch v := t.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	}
	return t
}

func records(root any) []map[string]any {
	var out []map[string]any
	walkTypes(root, func(t any) {
		if m, ok := t.(map[string]any); ok && m["type"] == "record" {
			out = append(out, m)
		}
	})
	return out
}

func ofType(root any, typ string) []map[string]any {
	var out []map[string]any
	walkTypes(root, func(t any) {
		if m, ok := t.(map[string]any); ok && m["type"] == typ {
			out = append(out, m)
		}
	})
	return out
}

// fieldSlots are the record fields, whose types mutations replace.
func fieldSlots(root any) []map[string]any {
	var out []map[string]any
	for _, r := range records(root) {
		for _, f := range r["fields"].([]any) {
			out = append(out, f.(map[string]any))
		}
	}
	return out
}

func unions(root any) [][]any {
	var out [][]any
	walkTypes(root, func(t any) {
		if u, ok := t.([]any); ok {
			out = append(out, u)
		}
	})
	return out
}

// renameRefs rewrites the recursive references to a renamed type.
func renameRefs(root any, from, to string) {
	walkTypes(root, func(t any) {
		if u, ok := t.([]any); ok {
			for i, b := range u {
				if b == from {
					u[i] = to
				}
			}
		}
	})
}

func isRef(t any) bool {
	s, ok := t.(string)
	return ok && !slices.Contains(allPrimitives, s)
}

// mutate applies one evolution step to root and returns its name and whether
// it made the mutated schema a non-union reader of a union writer (or the
// reverse), the case Avro Java 1.8 gets wrong.
func (g *gen) mutate(root map[string]any) (name string, newReadsUnion, oldReadsUnion bool) {
	switch g.r.IntN(16) {
	case 0, 1: // add field, with or without default
		rs := records(root)
		r := rs[g.r.IntN(len(rs))]
		f := g.field(1)
		if g.r.IntN(2) == 0 {
			f["default"] = placeholder{}
			name = "add-field-default"
		} else {
			delete(f, "default")
			name = "add-field-no-default"
		}
		r["fields"] = append(r["fields"].([]any), f)
		return name, false, false
	case 2: // remove field
		rs := records(root)
		r := rs[g.r.IntN(len(rs))]
		fs := r["fields"].([]any)
		if len(fs) < 2 {
			return "noop", false, false
		}
		i := g.r.IntN(len(fs))
		r["fields"] = append(fs[:i:i], fs[i+1:]...)
		return "remove-field", false, false
	case 3: // replace a non-union field type with another non-union type
		fs := fieldSlots(root)
		f := fs[g.r.IntN(len(fs))]
		if _, isUnion := f["type"].([]any); isUnion || isRef(f["type"]) {
			return "noop", false, false
		}
		f["type"] = g.typ(1, false)
		return "change-type", false, false
	case 4, 5: // promotions and demotions among numbers, string and bytes
		fs := fieldSlots(root)
		f := fs[g.r.IntN(len(fs))]
		if s, ok := f["type"].(string); ok && slices.Contains(numericAndText, s) {
			f["type"] = g.pick(numericAndText)
			return "promote", false, false
		}
		return "noop", false, false
	case 6: // enum gains a symbol
		es := ofType(root, "enum")
		if len(es) == 0 {
			return "noop", false, false
		}
		e := es[g.r.IntN(len(es))]
		e["symbols"] = append(e["symbols"].([]any), g.fresh("S"))
		return "enum-add-symbol", false, false
	case 7: // enum loses a symbol (never the first: defaults use it)
		es := ofType(root, "enum")
		if len(es) == 0 {
			return "noop", false, false
		}
		e := es[g.r.IntN(len(es))]
		syms := e["symbols"].([]any)
		if len(syms) < 2 {
			return "noop", false, false
		}
		i := 1 + g.r.IntN(len(syms)-1)
		e["symbols"] = append(syms[:i:i], syms[i+1:]...)
		return "enum-remove-symbol", false, false
	case 8: // union widens
		us := unions(root)
		if len(us) == 0 {
			return "noop", false, false
		}
		u := us[g.r.IntN(len(us))]
		b := g.typ(2, false)
		for _, e := range u {
			if branchKey(e) == branchKey(b) {
				return "noop", false, false
			}
		}
		replaceUnion(root, u, append(slices.Clone(u), b))
		return "union-widen", false, false
	case 9: // union narrows (never the first branch: defaults use it)
		us := unions(root)
		if len(us) == 0 {
			return "noop", false, false
		}
		u := us[g.r.IntN(len(us))]
		if len(u) < 2 {
			return "noop", false, false
		}
		i := 1 + g.r.IntN(len(u)-1)
		if isRef(u[i]) {
			return "noop", false, false
		}
		replaceUnion(root, u, append(slices.Clone(u[:i]), u[i+1:]...))
		return "union-narrow", false, false
	case 10: // T becomes ["null", T]
		fs := fieldSlots(root)
		f := fs[g.r.IntN(len(fs))]
		if _, isUnion := f["type"].([]any); isUnion || f["type"] == "null" {
			return "noop", false, false
		}
		f["type"] = []any{"null", f["type"]}
		// The old schema now reads a union with a non-union reader.
		return "wrap-in-union", false, true
	case 11: // ["null", T] becomes T
		var cands []map[string]any
		for _, f := range fieldSlots(root) {
			if u, ok := f["type"].([]any); ok && len(u) == 2 && u[0] == "null" && !isRef(u[1]) {
				cands = append(cands, f)
			}
		}
		if len(cands) == 0 {
			return "noop", false, false
		}
		f := cands[g.r.IntN(len(cands))]
		f["type"] = f["type"].([]any)[1]
		return "unwrap-union", true, false
	case 12: // fixed changes size
		xs := ofType(root, "fixed")
		if len(xs) == 0 {
			return "noop", false, false
		}
		x := xs[g.r.IntN(len(xs))]
		x["size"] = json.Number(fmt.Sprint(1 + g.r.IntN(8)))
		return "fixed-resize", false, false
	case 13: // a named type is renamed, half the time keeping an alias
		var named []map[string]any
		walkTypes(root, func(t any) {
			if m, ok := t.(map[string]any); ok && m["name"] != nil && m["name"] != root["name"] {
				named = append(named, m)
			}
		})
		if g.r.IntN(4) == 0 || len(named) == 0 {
			named = append(named, root)
		}
		m := named[g.r.IntN(len(named))]
		old := m["name"].(string)
		m["name"] = g.fresh(old[:1])
		renameRefs(root, old, m["name"].(string))
		name = "rename-type"
		if g.r.IntN(2) == 0 {
			m["aliases"] = []any{old}
			name = "rename-type-alias"
		}
		return name, false, false
	case 14: // a field is renamed, half the time keeping an alias
		fs := fieldSlots(root)
		f := fs[g.r.IntN(len(fs))]
		old := f["name"].(string)
		f["name"] = g.fresh("f")
		name = "rename-field"
		if g.r.IntN(2) == 0 {
			f["aliases"] = []any{old}
			name = "rename-field-alias"
		}
		return name, false, false
	default: // array items / map values change element type
		var cs []map[string]any
		cs = append(cs, ofType(root, "array")...)
		cs = append(cs, ofType(root, "map")...)
		if len(cs) == 0 {
			return "noop", false, false
		}
		c := cs[g.r.IntN(len(cs))]
		key := "items"
		if c["type"] == "map" {
			key = "values"
		}
		if _, isUnion := c[key].([]any); isUnion || isRef(c[key]) {
			return "noop", false, false
		}
		c[key] = g.typ(2, false)
		return "container-element-change", false, false
	}
}

// replaceUnion swaps a union slice for a new one wherever it sits.
func replaceUnion(root any, old, repl []any) {
	same := func(x any) bool {
		u, ok := x.([]any)
		return ok && len(u) > 0 && len(u) == len(old) && &u[0] == &old[0]
	}
	walkTypes(root, func(t any) {
		m, ok := t.(map[string]any)
		if !ok {
			return
		}
		switch m["type"] {
		case "record":
			for _, f := range m["fields"].([]any) {
				if fm := f.(map[string]any); same(fm["type"]) {
					fm["type"] = repl
				}
			}
		case "array":
			if same(m["items"]) {
				m["items"] = repl
			}
		case "map":
			if same(m["values"]) {
				m["values"] = repl
			}
		}
	})
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// generateCorpus is deterministic for a given seed and count.
func generateCorpus(seed uint64, count int) []corpusPair {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	out := make([]corpusPair, 0, count)
	for len(out) < count {
		a := g.topLevel()
		normalizeDefaults(a)
		b := deepCopy(a).(map[string]any)
		p := corpusPair{}
		for range 1 + g.r.IntN(3) {
			name, newReadsUnion, oldReadsUnion := g.mutate(b)
			p.mutations = append(p.mutations, name)
			p.skipBReadsA = p.skipBReadsA || newReadsUnion
			p.skipAReadsB = p.skipAReadsB || oldReadsUnion
		}
		normalizeDefaults(b)
		p.a, p.b = mustJSON(a), mustJSON(b)
		out = append(out, p)
	}
	return out
}
