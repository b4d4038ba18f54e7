// Package avsc parses Avro schema JSON (.avsc) into an AST with resolved full
// names, and prints it back in a canonical compact form.
//
// The AST is a graph: every reference to a named type points at the same
// *Schema, so recursive schemas contain cycles. Walkers must track visited
// named types.
package avsc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/linkedin/goavro/v2"
)

// Type is an Avro schema type name as it appears in JSON.
type Type string

// Avro schema types.
const (
	Null    Type = "null"
	Boolean Type = "boolean"
	Int     Type = "int"
	Long    Type = "long"
	Float   Type = "float"
	Double  Type = "double"
	Bytes   Type = "bytes"
	String  Type = "string"
	Record  Type = "record"
	Enum    Type = "enum"
	Array   Type = "array"
	Map     Type = "map"
	Union   Type = "union"
	Fixed   Type = "fixed"
)

var primitives = map[string]Type{
	"null": Null, "boolean": Boolean, "int": Int, "long": Long,
	"float": Float, "double": Double, "bytes": Bytes, "string": String,
}

// Named reports whether values of this type carry a name (record, enum, fixed).
func (t Type) Named() bool { return t == Record || t == Enum || t == Fixed }

// Schema is one node of a parsed Avro schema.
type Schema struct {
	Type Type
	// Name is the full name (namespace.name) of a record, enum or fixed.
	Name string
	// Aliases are full names, already resolved against the type's namespace.
	Aliases []string
	Doc     string

	Fields []*Field // record

	Symbols []string // enum
	// EnumDefault is the reader-side fallback symbol (Avro 1.9+); empty means none.
	EnumDefault string

	Items    *Schema   // array
	Values   *Schema   // map
	Branches []*Schema // union
	Size     int       // fixed

	LogicalType string
	// Props holds every attribute Avro does not define for this type
	// (connect.name, precision, scale, ...), as compact JSON.
	Props map[string]json.RawMessage
}

// Field is a record field.
type Field struct {
	Name    string
	Type    *Schema
	Doc     string
	Aliases []string
	// Default is the field's default as compact JSON; nil means no default
	// (a JSON null default is the 4 bytes "null", not nil).
	Default json.RawMessage
	Order   string
	Props   map[string]json.RawMessage
}

// HasDefault reports whether the field declares a default value.
func (f *Field) HasDefault() bool { return f.Default != nil }

// ShortName is the name without its namespace.
func (s *Schema) ShortName() string {
	if i := strings.LastIndexByte(s.Name, '.'); i >= 0 {
		return s.Name[i+1:]
	}
	return s.Name
}

// Namespace is the namespace part of a named type's full name.
func (s *Schema) Namespace() string {
	if i := strings.LastIndexByte(s.Name, '.'); i >= 0 {
		return s.Name[:i]
	}
	return ""
}

// Field returns the record field with the given name, or nil.
func (s *Schema) Field(name string) *Field {
	for _, f := range s.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Parse parses an Avro schema and also asks goavro to compile it, so that a
// schema accepted here is one the rest of Tributary can encode with.
func Parse(text string) (*Schema, error) {
	s, err := ParseOnly(text)
	if err != nil {
		return nil, err
	}
	if _, err := goavro.NewCodec(text); err != nil {
		return nil, fmt.Errorf("invalid avro schema: %w", err)
	}
	return s, nil
}

// ParseOnly parses without the goavro validation pass.
func ParseOnly(text string) (*Schema, error) {
	s, _, err := ParseReferencing(text, nil)
	return s, err
}

// ParseReferencing parses text whose named types may include those defined
// by refs, the texts of referenced schemas in dependency order (each may use
// the types of those before it): how Confluent's AvroSchema resolves schema
// references. known holds the full names the references define, for
// CanonicalKnown. There is no goavro pass: goavro cannot compile a schema
// split over several texts.
func ParseReferencing(text string, refs []string) (s *Schema, known map[string]bool, err error) {
	p := &parser{names: map[string]*Schema{}}
	for i, ref := range refs {
		v, err := decodeJSON(ref)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid avro schema: reference %d: %w", i, err)
		}
		if _, err := p.parse(v, ""); err != nil {
			return nil, nil, fmt.Errorf("invalid avro schema: reference %d: %w", i, err)
		}
	}
	known = make(map[string]bool, len(p.names))
	for n := range p.names {
		known[n] = true
	}
	v, err := decodeJSON(text)
	if err != nil {
		return nil, nil, fmt.Errorf("invalid avro schema: %w", err)
	}
	if s, err = p.parse(v, ""); err != nil {
		return nil, nil, fmt.Errorf("invalid avro schema: %w", err)
	}
	return s, known, nil
}

func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after schema JSON")
	}
	return v, nil
}

type parser struct {
	names map[string]*Schema
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func validName(n string) bool { return nameRE.MatchString(n) }

func validFullName(n string) bool {
	for _, part := range strings.Split(n, ".") {
		if !validName(part) {
			return false
		}
	}
	return true
}

// fullName applies the spec's rule: a dotted name is already full, otherwise
// the explicit namespace wins over the enclosing one.
func fullName(name string, ns *string, enclosing string) string {
	if strings.Contains(name, ".") {
		return name
	}
	space := enclosing
	if ns != nil {
		space = *ns
	}
	if space == "" {
		return name
	}
	return space + "." + name
}

func namespaceOf(full string) string {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[:i]
	}
	return ""
}

func (p *parser) lookup(name, enclosing string) (*Schema, bool) {
	if !strings.Contains(name, ".") && enclosing != "" {
		if s, ok := p.names[enclosing+"."+name]; ok {
			return s, true
		}
	}
	s, ok := p.names[name]
	return s, ok
}

func (p *parser) parse(v any, enclosing string) (*Schema, error) {
	switch t := v.(type) {
	case string:
		if pt, ok := primitives[t]; ok {
			return &Schema{Type: pt}, nil
		}
		if s, ok := p.lookup(t, enclosing); ok {
			return s, nil
		}
		return nil, fmt.Errorf("unknown type %q", t)
	case []any:
		return p.parseUnion(t, enclosing)
	case map[string]any:
		return p.parseObject(t, enclosing)
	default:
		return nil, fmt.Errorf("schema must be a string, array or object, got %s", jsonKind(v))
	}
}

func (p *parser) parseUnion(items []any, enclosing string) (*Schema, error) {
	u := &Schema{Type: Union}
	seen := map[string]bool{}
	for i, it := range items {
		b, err := p.parse(it, enclosing)
		if err != nil {
			return nil, fmt.Errorf("union branch %d: %w", i, err)
		}
		if b.Type == Union {
			return nil, fmt.Errorf("union branch %d: unions may not immediately contain other unions", i)
		}
		key := string(b.Type)
		if b.Type.Named() {
			key = b.Name
		}
		if seen[key] {
			return nil, fmt.Errorf("union branch %d: duplicate %s in union", i, key)
		}
		seen[key] = true
		u.Branches = append(u.Branches, b)
	}
	return u, nil
}

// reserved lists the attributes each type defines; the rest become Props.
var reserved = map[Type][]string{
	Record: {"type", "name", "namespace", "doc", "aliases", "fields"},
	Enum:   {"type", "name", "namespace", "doc", "aliases", "symbols", "default"},
	Fixed:  {"type", "name", "namespace", "doc", "aliases", "size", "logicalType"},
	Array:  {"type", "items", "logicalType"},
	Map:    {"type", "values", "logicalType"},
}

var fieldReserved = []string{"name", "type", "doc", "default", "aliases", "order"}

func (p *parser) parseObject(o map[string]any, enclosing string) (*Schema, error) {
	tv, ok := o["type"]
	if !ok {
		return nil, fmt.Errorf("object schema has no \"type\"")
	}
	ts, ok := tv.(string)
	if !ok {
		// {"type": {...}} or {"type": [...]}: a wrapped schema; Avro Java
		// accepts it for primitives and so do we for any schema.
		return p.parse(tv, enclosing)
	}
	s := &Schema{}
	if pt, ok := primitives[ts]; ok {
		s.Type = pt
	} else {
		switch Type(ts) {
		case Record, Enum, Fixed, Array, Map:
			s.Type = Type(ts)
		case "error":
			s.Type = Record
		default:
			if ref, ok := p.lookup(ts, enclosing); ok {
				return ref, nil
			}
			return nil, fmt.Errorf("unknown type %q", ts)
		}
	}
	if lt, ok := o["logicalType"]; ok {
		ls, ok := lt.(string)
		if !ok {
			return nil, fmt.Errorf("logicalType must be a string")
		}
		s.LogicalType = ls
	}
	res := reserved[s.Type]
	if res == nil {
		res = []string{"type", "logicalType"}
	} else if s.LogicalType != "" && !slices.Contains(res, "logicalType") {
		res = append(slices.Clone(res), "logicalType")
	}
	props, err := extraProps(o, res)
	if err != nil {
		return nil, err
	}
	s.Props = props

	if s.Type.Named() {
		if err := p.define(s, o, enclosing); err != nil {
			return nil, err
		}
		enclosing = s.Namespace()
	}
	switch s.Type {
	case Record:
		return s, p.parseFields(s, o, enclosing)
	case Enum:
		return s, parseEnum(s, o)
	case Fixed:
		n, err := intAttr(o, "size")
		if err != nil {
			return nil, fmt.Errorf("fixed %s: %w", s.Name, err)
		}
		if n < 0 {
			return nil, fmt.Errorf("fixed %s: negative size", s.Name)
		}
		s.Size = n
	case Array:
		it, ok := o["items"]
		if !ok {
			return nil, fmt.Errorf("array has no \"items\"")
		}
		if s.Items, err = p.parse(it, enclosing); err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
	case Map:
		vv, ok := o["values"]
		if !ok {
			return nil, fmt.Errorf("map has no \"values\"")
		}
		if s.Values, err = p.parse(vv, enclosing); err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
	}
	return s, nil
}

// define names s and registers it before its body is parsed, which is what
// lets a record refer to itself.
func (p *parser) define(s *Schema, o map[string]any, enclosing string) error {
	nv, ok := o["name"].(string)
	if !ok {
		return fmt.Errorf("%s has no string \"name\"", s.Type)
	}
	var ns *string
	if v, present := o["namespace"]; present && v != nil {
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s %s: namespace must be a string", s.Type, nv)
		}
		ns = &str
	}
	s.Name = fullName(nv, ns, enclosing)
	if !validFullName(s.Name) {
		return fmt.Errorf("invalid name %q", s.Name)
	}
	if _, ok := primitives[s.ShortName()]; ok && !strings.Contains(s.Name, ".") {
		return fmt.Errorf("%s may not be named after primitive type %q", s.Type, s.Name)
	}
	if _, dup := p.names[s.Name]; dup {
		return fmt.Errorf("duplicate definition of %s", s.Name)
	}
	p.names[s.Name] = s
	if d, ok := o["doc"].(string); ok {
		s.Doc = d
	}
	aliases, err := stringList(o, "aliases")
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Type, s.Name, err)
	}
	for _, a := range aliases {
		full := fullName(a, nil, s.Namespace())
		if !validFullName(full) {
			return fmt.Errorf("%s %s: invalid alias %q", s.Type, s.Name, a)
		}
		s.Aliases = append(s.Aliases, full)
	}
	return nil
}

func (p *parser) parseFields(s *Schema, o map[string]any, ns string) error {
	raw, ok := o["fields"].([]any)
	if !ok {
		return fmt.Errorf("record %s: \"fields\" must be an array", s.Name)
	}
	seen := map[string]bool{}
	for i, rf := range raw {
		fo, ok := rf.(map[string]any)
		if !ok {
			return fmt.Errorf("record %s: field %d is not an object", s.Name, i)
		}
		name, ok := fo["name"].(string)
		if !ok || !validName(name) {
			return fmt.Errorf("record %s: field %d has an invalid name", s.Name, i)
		}
		if seen[name] {
			return fmt.Errorf("record %s: duplicate field %q", s.Name, name)
		}
		seen[name] = true
		f := &Field{Name: name}
		tv, ok := fo["type"]
		if !ok {
			return fmt.Errorf("record %s: field %q has no type", s.Name, name)
		}
		t, err := p.parse(tv, ns)
		if err != nil {
			return fmt.Errorf("record %s: field %q: %w", s.Name, name, err)
		}
		f.Type = t
		if d, ok := fo["doc"].(string); ok {
			f.Doc = d
		}
		if dv, ok := fo["default"]; ok {
			b, err := json.Marshal(dv)
			if err != nil {
				return fmt.Errorf("record %s: field %q default: %w", s.Name, name, err)
			}
			f.Default = b
		}
		if f.Aliases, err = stringList(fo, "aliases"); err != nil {
			return fmt.Errorf("record %s: field %q: %w", s.Name, name, err)
		}
		if ov, ok := fo["order"]; ok {
			os, _ := ov.(string)
			switch os {
			case "ascending", "descending", "ignore":
				f.Order = os
			default:
				return fmt.Errorf("record %s: field %q: invalid order %v", s.Name, name, ov)
			}
		}
		if f.Props, err = extraProps(fo, fieldReserved); err != nil {
			return err
		}
		s.Fields = append(s.Fields, f)
	}
	return nil
}

func parseEnum(s *Schema, o map[string]any) error {
	syms, err := stringList(o, "symbols")
	if err != nil {
		return fmt.Errorf("enum %s: %w", s.Name, err)
	}
	if _, ok := o["symbols"]; !ok {
		return fmt.Errorf("enum %s has no symbols", s.Name)
	}
	seen := map[string]bool{}
	for _, sym := range syms {
		if !validName(sym) {
			return fmt.Errorf("enum %s: invalid symbol %q", s.Name, sym)
		}
		if seen[sym] {
			return fmt.Errorf("enum %s: duplicate symbol %q", s.Name, sym)
		}
		seen[sym] = true
	}
	s.Symbols = syms
	if dv, ok := o["default"]; ok {
		d, ok := dv.(string)
		if !ok || !seen[d] {
			return fmt.Errorf("enum %s: default %v is not one of its symbols", s.Name, dv)
		}
		s.EnumDefault = d
	}
	return nil
}

func extraProps(o map[string]any, reservedKeys []string) (map[string]json.RawMessage, error) {
	var props map[string]json.RawMessage
	for k, v := range o {
		if slices.Contains(reservedKeys, k) {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("property %q: %w", k, err)
		}
		if props == nil {
			props = map[string]json.RawMessage{}
		}
		props[k] = b
	}
	return props, nil
}

func stringList(o map[string]any, key string) ([]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%q must be an array of strings", key)
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%q must be an array of strings", key)
		}
		out = append(out, s)
	}
	return out, nil
}

func intAttr(o map[string]any, key string) (int, error) {
	n, ok := o[key].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%q must be an integer", key)
	}
	i, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("%q must be an integer: %w", key, err)
	}
	return int(i), nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// Canonical prints the schema as compact JSON in a fixed attribute order
// (the order Avro Java's Schema.toString uses), keeping docs, defaults and
// custom properties because they change how data resolves. Two schemas that
// differ only in whitespace, attribute order or redundant namespaces print
// identically, which is what the registry uses to decide "same schema".
func (s *Schema) Canonical() string { return s.CanonicalKnown(nil) }

// CanonicalKnown is Canonical with the named types in known printed by
// name instead of defined: the canonical form of a schema that takes those
// types from schema references, as Confluent's AvroSchema prints it.
func (s *Schema) CanonicalKnown(known map[string]bool) string {
	var b bytes.Buffer
	w := &writer{b: &b, defined: make(map[string]bool, len(known))}
	for n := range known {
		w.defined[n] = true
	}
	w.schema(s, "")
	return b.String()
}

// String is Canonical.
func (s *Schema) String() string { return s.Canonical() }

type writer struct {
	b       *bytes.Buffer
	defined map[string]bool
}

func (w *writer) str(s string) {
	b, _ := json.Marshal(s)
	w.b.Write(b)
}

func (w *writer) key(k string) {
	w.b.WriteByte(',')
	w.str(k)
	w.b.WriteByte(':')
}

func (w *writer) props(p map[string]json.RawMessage) {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.key(k)
		w.b.Write(p[k])
	}
}

func (w *writer) strList(l []string) {
	w.b.WriteByte('[')
	for i, s := range l {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.str(s)
	}
	w.b.WriteByte(']')
}

// relName prints a full name relative to the enclosing namespace, the way
// Java does, so canonical output stays short and stable.
func relName(full, ns string) string {
	if ns != "" && namespaceOf(full) == ns {
		return full[len(ns)+1:]
	}
	return full
}

func (w *writer) schema(s *Schema, ns string) {
	if s.Type.Named() {
		if w.defined[s.Name] {
			w.str(relName(s.Name, ns))
			return
		}
		w.defined[s.Name] = true
	}
	switch s.Type {
	case Union:
		w.b.WriteByte('[')
		for i, br := range s.Branches {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.schema(br, ns)
		}
		w.b.WriteByte(']')
		return
	case Record, Enum, Fixed:
		w.b.WriteString(`{"type":`)
		w.str(string(s.Type))
		w.key("name")
		w.str(s.ShortName())
		if sns := s.Namespace(); sns != ns {
			w.key("namespace")
			w.str(sns)
		}
		if s.Doc != "" {
			w.key("doc")
			w.str(s.Doc)
		}
		inner := s.Namespace()
		switch s.Type {
		case Record:
			w.key("fields")
			w.b.WriteByte('[')
			for i, f := range s.Fields {
				if i > 0 {
					w.b.WriteByte(',')
				}
				w.field(f, inner)
			}
			w.b.WriteByte(']')
		case Enum:
			w.key("symbols")
			w.strList(s.Symbols)
			if s.EnumDefault != "" {
				w.key("default")
				w.str(s.EnumDefault)
			}
		case Fixed:
			w.key("size")
			fmt.Fprintf(w.b, "%d", s.Size)
		}
		if len(s.Aliases) > 0 {
			rel := make([]string, len(s.Aliases))
			for i, a := range s.Aliases {
				rel[i] = relName(a, inner)
			}
			w.key("aliases")
			w.strList(rel)
		}
	case Array:
		w.b.WriteString(`{"type":"array","items":`)
		w.schema(s.Items, ns)
	case Map:
		w.b.WriteString(`{"type":"map","values":`)
		w.schema(s.Values, ns)
	default:
		if s.LogicalType == "" && len(s.Props) == 0 {
			w.str(string(s.Type))
			return
		}
		w.b.WriteString(`{"type":`)
		w.str(string(s.Type))
	}
	if s.LogicalType != "" {
		w.key("logicalType")
		w.str(s.LogicalType)
	}
	w.props(s.Props)
	w.b.WriteByte('}')
}

func (w *writer) field(f *Field, ns string) {
	w.b.WriteString(`{"name":`)
	w.str(f.Name)
	w.key("type")
	w.schema(f.Type, ns)
	if f.Doc != "" {
		w.key("doc")
		w.str(f.Doc)
	}
	if f.Default != nil {
		w.key("default")
		w.b.Write(f.Default)
	}
	if f.Order != "" && f.Order != "ascending" {
		w.key("order")
		w.str(f.Order)
	}
	if len(f.Aliases) > 0 {
		w.key("aliases")
		w.strList(f.Aliases)
	}
	w.props(f.Props)
	w.b.WriteByte('}')
}
