// Package jsonschema parses JSON Schema documents (draft-07, as Confluent
// Schema Registry's JSON Schema type does by default) into the model
// Confluent's compatibility checker works on, and decides compatibility the
// way Confluent's json-schema-provider SchemaDiff does.
//
// The model follows how the everit JSON Schema loader Confluent uses builds
// schemas: an explicit "type" gives that type's schema (several types an
// anyOf of them); without "type" the keywords present decide (object,
// array, number and string keywords each add a schema); enum, const, not,
// allOf, anyOf and oneOf add theirs; several schemas combine into a
// synthetic allOf. That shape is what the compatibility rules compare, so it
// has to match for the verdicts to match.
package jsonschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Kind is the class of a schema node, as everit's Schema subclasses.
type Kind int

// The kinds of schema node.
const (
	KindEmpty Kind = iota // {} (everit EmptySchema)
	KindTrue              // true (TrueSchema, a kind of EmptySchema)
	KindFalse             // false
	KindObject
	KindArray
	KindString
	KindNumber
	KindBoolean
	KindNull
	KindEnum
	KindConst
	KindNot
	KindCombined
)

func (k Kind) isEmpty() bool { return k == KindEmpty || k == KindTrue }

// Schema is one node of a loaded JSON Schema.
type Schema struct {
	Kind Kind

	ID, Title, Description *string
	// Default is the canonical JSON of "default", or "" when absent.
	Default string
	// ConnectType is the "connect.type" annotation Kafka Connect's
	// converters write.
	ConnectType string
	// canonical is the node's JSON with sorted keys, for set semantics.
	canonical string

	// string
	MinLength, MaxLength *int
	Pattern              *string
	// number
	Minimum, Maximum, ExclusiveMinimum, ExclusiveMaximum *big.Rat
	MultipleOf                                           *big.Rat
	RequiresInteger                                      bool
	// object
	Properties            map[string]*Schema
	Required              map[string]bool
	AdditionalProperties  bool    // permitted
	AdditionalPropsSchema *Schema // nil unless an object schema was given
	PatternProperties     []PatternProperty
	PropertyDependencies  map[string][]string
	SchemaDependencies    map[string]*Schema
	MinProperties         *int
	MaxProperties         *int
	UnevaluatedProperties *Schema
	// array
	AllItems              *Schema
	ItemSchemas           []*Schema
	AdditionalItems       bool
	AdditionalItemsSchema *Schema
	MinItems, MaxItems    *int
	UniqueItems           bool
	MinContains           *int
	MaxContains           *int
	UnevaluatedItems      *Schema
	// enum and const: canonical JSON of the values
	Values []string
	Const  string
	// not
	Not *Schema
	// combined
	Criterion string // allOf, anyOf or oneOf
	Subs      []*Schema
	// ref is set on a $ref node until resolved; resolve replaces the
	// node by its target, so the compatibility rules never see it.
	ref *refTarget
}

// PatternProperty is one entry of "patternProperties".
type PatternProperty struct {
	Pattern *regexp.Regexp
	Schema  *Schema
}

type refTarget struct {
	uri    string
	target *Schema
}

// Document is a parsed JSON Schema with its references resolved.
type Document struct {
	Root *Schema
	// Canonical is the schema's JSON without insignificant whitespace, keys
	// in their original order: Confluent's JsonSchema.canonicalString().
	Canonical string
	// Value is the decoded document.
	Value any
}

// Parse loads a JSON Schema document. refs maps the names under which
// Confluent schema references are given (what a "$ref" in the document
// names) to the referenced documents' texts.
func Parse(text string, refs map[string]string) (*Document, error) {
	v, err := decode(text)
	if err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %w", err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(text)); err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %w", err)
	}
	l := &loader{docs: map[string]any{"": v}, cache: map[string]*Schema{}}
	for name, t := range refs {
		rv, err := decode(t)
		if err != nil {
			return nil, fmt.Errorf("invalid JSON schema: reference %q: %w", name, err)
		}
		l.docs[name] = rv
	}
	root, err := l.load(v, "", "#")
	if err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %w", err)
	}
	if err := l.resolveAll(); err != nil {
		return nil, fmt.Errorf("invalid JSON schema: %w", err)
	}
	return &Document{Root: deref(root), Canonical: buf.String(), Value: v}, nil
}

func decode(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the schema")
	}
	switch v.(type) {
	case map[string]any, bool:
		return v, nil
	}
	return nil, fmt.Errorf("a schema is an object or a boolean, not %s", text)
}

type loader struct {
	docs  map[string]any
	cache map[string]*Schema // by document and pointer, so recursion terminates
	refs  []*Schema
}

func canonicalJSON(v any) string {
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}

var typeKinds = map[string]Kind{
	"object": KindObject, "array": KindArray, "string": KindString, "number": KindNumber,
	"integer": KindNumber, "boolean": KindBoolean, "null": KindNull,
}

var kindKeywords = []struct {
	kind     Kind
	keywords []string
}{
	{KindObject, []string{"properties", "required", "additionalProperties", "minProperties", "maxProperties", "dependencies", "patternProperties", "propertyNames"}},
	{KindArray, []string{"items", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains"}},
	{KindNumber, []string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}},
	{KindString, []string{"minLength", "maxLength", "pattern", "format"}},
}

// load builds the node for v, found at pointer ptr of document doc.
func (l *loader) load(v any, doc, ptr string) (*Schema, error) {
	key := doc + ptr
	if s, ok := l.cache[key]; ok {
		return s, nil
	}
	switch t := v.(type) {
	case bool:
		s := &Schema{Kind: KindFalse, canonical: "false"}
		if t {
			s = &Schema{Kind: KindTrue, canonical: "true"}
		}
		l.cache[key] = s
		return s, nil
	case map[string]any:
		return l.loadObject(t, doc, ptr)
	}
	return nil, fmt.Errorf("%s: a schema is an object or a boolean", ptr)
}

func (l *loader) loadObject(o map[string]any, doc, ptr string) (*Schema, error) {
	key := doc + ptr
	if r, ok := o["$ref"]; ok {
		uri, ok := r.(string)
		if !ok {
			return nil, fmt.Errorf("%s/$ref: not a string", ptr)
		}
		s := &Schema{ref: &refTarget{uri: uri}, canonical: canonicalJSON(o)}
		if doc != "" && strings.HasPrefix(uri, "#") {
			s.ref.uri = doc + uri
		}
		l.cache[key] = s
		l.refs = append(l.refs, s)
		return s, nil
	}
	// A placeholder first, so that a pointer back to this node while its
	// children load finds it.
	result := &Schema{}
	l.cache[key] = result
	var parts []*Schema
	build := func(kind Kind, integer bool) (*Schema, error) {
		s := &Schema{Kind: kind, RequiresInteger: integer}
		if err := l.keywords(s, o, doc, ptr); err != nil {
			return nil, err
		}
		return s, nil
	}
	switch t := o["type"].(type) {
	case nil:
		if _, present := o["type"]; present {
			return nil, fmt.Errorf("%s/type: null", ptr)
		}
		for _, kk := range kindKeywords {
			for _, k := range kk.keywords {
				if _, ok := o[k]; ok {
					s, err := build(kk.kind, false)
					if err != nil {
						return nil, err
					}
					parts = append(parts, s)
					break
				}
			}
		}
	case string:
		kind, ok := typeKinds[t]
		if !ok {
			return nil, fmt.Errorf("%s/type: unknown type %q", ptr, t)
		}
		s, err := build(kind, t == "integer")
		if err != nil {
			return nil, err
		}
		parts = append(parts, s)
	case []any:
		union := &Schema{Kind: KindCombined, Criterion: "anyOf"}
		for i, e := range t {
			name, _ := e.(string)
			kind, ok := typeKinds[name]
			if !ok {
				return nil, fmt.Errorf("%s/type/%d: unknown type %v", ptr, i, e)
			}
			s, err := build(kind, name == "integer")
			if err != nil {
				return nil, err
			}
			s.canonical = canonicalJSON(map[string]any{"type": name})
			union.Subs = append(union.Subs, s)
		}
		parts = append(parts, union)
	default:
		return nil, fmt.Errorf("%s/type: not a string or an array", ptr)
	}
	for _, crit := range []string{"allOf", "anyOf", "oneOf"} {
		raw, ok := o[crit]
		if !ok {
			continue
		}
		items, ok := raw.([]any)
		if !ok || len(items) == 0 {
			return nil, fmt.Errorf("%s/%s: not a non-empty array", ptr, crit)
		}
		c := &Schema{Kind: KindCombined, Criterion: crit}
		for i, it := range items {
			s, err := l.load(it, doc, fmt.Sprintf("%s/%s/%d", ptr, crit, i))
			if err != nil {
				return nil, err
			}
			c.Subs = append(c.Subs, s)
		}
		parts = append(parts, c)
	}
	if raw, ok := o["enum"]; ok {
		items, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%s/enum: not an array", ptr)
		}
		e := &Schema{Kind: KindEnum}
		for _, it := range items {
			e.Values = append(e.Values, canonicalJSON(it))
		}
		parts = append(parts, e)
	}
	if raw, ok := o["const"]; ok {
		parts = append(parts, &Schema{Kind: KindConst, Const: canonicalJSON(raw)})
	}
	if raw, ok := o["not"]; ok {
		s, err := l.load(raw, doc, ptr+"/not")
		if err != nil {
			return nil, err
		}
		parts = append(parts, &Schema{Kind: KindNot, Not: s})
	}
	switch len(parts) {
	case 0:
		*result = Schema{Kind: KindEmpty}
	case 1:
		*result = *parts[0]
	default:
		*result = Schema{Kind: KindCombined, Criterion: "allOf", Subs: parts}
	}
	for _, p := range parts {
		if p.canonical == "" {
			p.canonical = canonicalJSON(o) + "#" + strconv.Itoa(int(p.Kind))
		}
	}
	result.canonical = canonicalJSON(o)
	for name, dst := range map[string]**string{"$id": &result.ID, "title": &result.Title, "description": &result.Description} {
		if raw, ok := o[name]; ok {
			s, ok := raw.(string)
			if !ok {
				return nil, fmt.Errorf("%s/%s: not a string", ptr, name)
			}
			*dst = &s
		}
	}
	if raw, ok := o["default"]; ok {
		result.Default = canonicalJSON(raw)
	}
	if ct, ok := o["connect.type"].(string); ok {
		result.ConnectType = ct
	}
	return result, nil
}

func intKeyword(o map[string]any, name, ptr string) (*int, error) {
	raw, ok := o[name]
	if !ok {
		return nil, nil
	}
	n, ok := raw.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s/%s: not a number", ptr, name)
	}
	i, err := strconv.Atoi(n.String())
	if err != nil || i < 0 {
		return nil, fmt.Errorf("%s/%s: not a non-negative integer", ptr, name)
	}
	return &i, nil
}

func numKeyword(o map[string]any, name, ptr string) (*big.Rat, error) {
	raw, ok := o[name]
	if !ok {
		return nil, nil
	}
	n, ok := raw.(json.Number)
	if !ok {
		return nil, fmt.Errorf("%s/%s: not a number", ptr, name)
	}
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		return nil, fmt.Errorf("%s/%s: not a number", ptr, name)
	}
	return r, nil
}

// keywords fills the type-specific keywords of s from o.
func (l *loader) keywords(s *Schema, o map[string]any, doc, ptr string) error {
	var err error
	sub := func(raw any, p string) (*Schema, error) { return l.load(raw, doc, ptr+"/"+p) }
	switch s.Kind {
	case KindString:
		if s.MinLength, err = intKeyword(o, "minLength", ptr); err != nil {
			return err
		}
		if s.MaxLength, err = intKeyword(o, "maxLength", ptr); err != nil {
			return err
		}
		if raw, ok := o["pattern"]; ok {
			p, ok := raw.(string)
			if !ok {
				return fmt.Errorf("%s/pattern: not a string", ptr)
			}
			s.Pattern = &p
		}
	case KindNumber:
		for name, dst := range map[string]**big.Rat{"minimum": &s.Minimum, "maximum": &s.Maximum,
			"exclusiveMinimum": &s.ExclusiveMinimum, "exclusiveMaximum": &s.ExclusiveMaximum, "multipleOf": &s.MultipleOf} {
			if *dst, err = numKeyword(o, name, ptr); err != nil {
				return err
			}
		}
	case KindObject:
		s.AdditionalProperties = true
		if raw, ok := o["properties"]; ok {
			props, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("%s/properties: not an object", ptr)
			}
			s.Properties = map[string]*Schema{}
			for name, p := range props {
				if s.Properties[name], err = sub(p, "properties/"+name); err != nil {
					return err
				}
			}
		}
		s.Required = map[string]bool{}
		if raw, ok := o["required"]; ok {
			items, ok := raw.([]any)
			if !ok {
				return fmt.Errorf("%s/required: not an array", ptr)
			}
			for _, it := range items {
				name, ok := it.(string)
				if !ok {
					return fmt.Errorf("%s/required: %v is not a string", ptr, it)
				}
				s.Required[name] = true
			}
		}
		switch ap := o["additionalProperties"].(type) {
		case nil:
		case bool:
			s.AdditionalProperties = ap
		default:
			if s.AdditionalPropsSchema, err = sub(ap, "additionalProperties"); err != nil {
				return err
			}
		}
		if raw, ok := o["patternProperties"]; ok {
			pp, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("%s/patternProperties: not an object", ptr)
			}
			names := make([]string, 0, len(pp))
			for n := range pp {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				re, err := regexp.Compile(n)
				if err != nil {
					return fmt.Errorf("%s/patternProperties: %w", ptr, err)
				}
				ps, err := sub(pp[n], "patternProperties/"+n)
				if err != nil {
					return err
				}
				s.PatternProperties = append(s.PatternProperties, PatternProperty{re, ps})
			}
		}
		if raw, ok := o["dependencies"]; ok {
			deps, ok := raw.(map[string]any)
			if !ok {
				return fmt.Errorf("%s/dependencies: not an object", ptr)
			}
			s.PropertyDependencies = map[string][]string{}
			s.SchemaDependencies = map[string]*Schema{}
			for name, d := range deps {
				if arr, ok := d.([]any); ok {
					var names []string
					for _, it := range arr {
						n, _ := it.(string)
						names = append(names, n)
					}
					s.PropertyDependencies[name] = names
					continue
				}
				if s.SchemaDependencies[name], err = sub(d, "dependencies/"+name); err != nil {
					return err
				}
			}
		}
		if s.MinProperties, err = intKeyword(o, "minProperties", ptr); err != nil {
			return err
		}
		if s.MaxProperties, err = intKeyword(o, "maxProperties", ptr); err != nil {
			return err
		}
		if raw, ok := o["unevaluatedProperties"]; ok {
			if s.UnevaluatedProperties, err = sub(raw, "unevaluatedProperties"); err != nil {
				return err
			}
		}
	case KindArray:
		s.AdditionalItems = true
		switch it := o["items"].(type) {
		case nil:
		case []any:
			s.ItemSchemas = []*Schema{}
			for i, e := range it {
				is, err := sub(e, "items/"+strconv.Itoa(i))
				if err != nil {
					return err
				}
				s.ItemSchemas = append(s.ItemSchemas, is)
			}
		default:
			if s.AllItems, err = sub(it, "items"); err != nil {
				return err
			}
		}
		switch ai := o["additionalItems"].(type) {
		case nil:
		case bool:
			s.AdditionalItems = ai
		default:
			if s.AdditionalItemsSchema, err = sub(ai, "additionalItems"); err != nil {
				return err
			}
		}
		if s.MinItems, err = intKeyword(o, "minItems", ptr); err != nil {
			return err
		}
		if s.MaxItems, err = intKeyword(o, "maxItems", ptr); err != nil {
			return err
		}
		if s.MinContains, err = intKeyword(o, "minContains", ptr); err != nil {
			return err
		}
		if s.MaxContains, err = intKeyword(o, "maxContains", ptr); err != nil {
			return err
		}
		if u, ok := o["uniqueItems"].(bool); ok {
			s.UniqueItems = u
		}
		if raw, ok := o["unevaluatedItems"]; ok {
			if s.UnevaluatedItems, err = sub(raw, "unevaluatedItems"); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveAll points every $ref node at its target.
func (l *loader) resolveAll() error {
	for i := 0; i < len(l.refs); i++ { // loading targets may add refs
		r := l.refs[i]
		doc, frag, _ := strings.Cut(r.ref.uri, "#")
		root, ok := l.docs[doc]
		if !ok {
			return fmt.Errorf("$ref %q: no such schema reference", r.ref.uri)
		}
		v := root
		if frag != "" && frag != "/" {
			for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
				tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
				switch c := v.(type) {
				case map[string]any:
					if v, ok = c[tok]; !ok {
						return fmt.Errorf("$ref %q: %q not found", r.ref.uri, tok)
					}
				case []any:
					i, err := strconv.Atoi(tok)
					if err != nil || i < 0 || i >= len(c) {
						return fmt.Errorf("$ref %q: %q not found", r.ref.uri, tok)
					}
					v = c[i]
				default:
					return fmt.Errorf("$ref %q: %q not found", r.ref.uri, tok)
				}
			}
		}
		ptr := "#" + frag
		if frag == "/" {
			ptr = "#"
		}
		t, err := l.load(v, doc, ptr)
		if err != nil {
			return err
		}
		r.ref.target = t
	}
	return nil
}

// deref follows $ref nodes to their target (SchemaDiff.normalizeSchema).
func deref(s *Schema) *Schema {
	for i := 0; s != nil && s.ref != nil && i < 64; i++ {
		s = s.ref.target
	}
	return s
}
