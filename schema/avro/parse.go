package avro

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Parse reads an Avro schema (as a registry returns it) into a Schema,
// keeping property order, which the Connect mapping and the JSON rendering
// need. Named types referenced again are the same *Schema.
func Parse(text string) (*Schema, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return nil, fmt.Errorf("invalid avro schema: json: %w", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("invalid avro schema: trailing data after the schema")
	}
	p := &parser{names: map[string]*Schema{}}
	s, err := p.parse(v, "")
	if err != nil {
		return nil, fmt.Errorf("invalid avro schema: %w", err)
	}
	return s, nil
}

// jobj is a JSON object with its keys in document order.
type jobj struct {
	keys []string
	vals []any
}

func (o *jobj) get(k string) (any, bool) {
	for i, key := range o.keys {
		if key == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

func readJSON(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &jobj{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				o.keys = append(o.keys, k)
				o.vals = append(o.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := readJSON(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return tok, nil // nil, bool, json.Number, string
	}
}

// compactJSON prints a value read by readJSON, keeping key order and the
// numbers' original spelling.
func compactJSON(v any) []byte {
	var b bytes.Buffer
	writeCompact(&b, v)
	return b.Bytes()
}

func writeCompact(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case json.Number:
		b.WriteString(t.String())
	case string:
		writeJSONString(b, t)
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCompact(b, e)
		}
		b.WriteByte(']')
	case *jobj:
		b.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeCompact(b, t.vals[i])
		}
		b.WriteByte('}')
	}
}

type parser struct {
	names map[string]*Schema
}

var primitiveTypes = map[string]bool{"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true}

func (p *parser) lookup(name, space string) (*Schema, bool) {
	if !strings.Contains(name, ".") && space != "" {
		if s, ok := p.names[space+"."+name]; ok {
			return s, true
		}
	}
	s, ok := p.names[name]
	return s, ok
}

func (p *parser) parse(v any, space string) (*Schema, error) {
	switch t := v.(type) {
	case string:
		if primitiveTypes[t] {
			return &Schema{Type: t}, nil
		}
		if s, ok := p.lookup(t, space); ok {
			return s, nil
		}
		return nil, fmt.Errorf("undefined name %q", t)
	case []any:
		u := &Schema{Type: "union"}
		for i, e := range t {
			br, err := p.parse(e, space)
			if err != nil {
				return nil, fmt.Errorf("union branch %d: %w", i, err)
			}
			if br.Type == "union" {
				return nil, fmt.Errorf("union branch %d: nested union", i)
			}
			u.Branches = append(u.Branches, br)
		}
		return u, nil
	case *jobj:
		return p.parseObject(t, space)
	}
	return nil, fmt.Errorf("a schema must be a string, array or object, not %v", v)
}

var reservedAttrs = map[string][]string{
	"record": {"type", "name", "namespace", "doc", "fields", "aliases"},
	"enum":   {"type", "name", "namespace", "doc", "symbols", "aliases", "default"},
	"fixed":  {"type", "name", "namespace", "doc", "size", "aliases"},
	"array":  {"type", "items"},
	"map":    {"type", "values"},
}

func isReserved(list []string, k string) bool {
	for _, r := range list {
		if r == k {
			return true
		}
	}
	return false
}

func (p *parser) parseObject(o *jobj, space string) (*Schema, error) {
	tv, ok := o.get("type")
	if !ok {
		return nil, fmt.Errorf("schema object without \"type\"")
	}
	ts, ok := tv.(string)
	if !ok {
		return p.parse(tv, space)
	}
	s := &Schema{Type: ts}
	switch {
	case primitiveTypes[ts]:
	case ts == "error":
		s.Type = "record"
	case ts == "record" || ts == "enum" || ts == "fixed" || ts == "array" || ts == "map":
	default:
		if ref, ok := p.lookup(ts, space); ok {
			return ref, nil
		}
		return nil, fmt.Errorf("undefined type %q", ts)
	}
	reserved := reservedAttrs[s.Type]
	if reserved == nil {
		reserved = []string{"type"}
	}
	for i, k := range o.keys {
		if !isReserved(reserved, k) {
			s.props = append(s.props, prop{k, compactJSON(o.vals[i])})
		}
	}
	inner := space
	if s.named() {
		name, _ := o.get("name")
		ns, _ := o.get("namespace")
		n, ok := name.(string)
		if !ok || n == "" {
			return nil, fmt.Errorf("%s without a name", s.Type)
		}
		if i := strings.LastIndexByte(n, '.'); i >= 0 {
			s.Namespace, s.Name = n[:i], n[i+1:]
		} else if nss, ok := ns.(string); ok {
			s.Namespace, s.Name = nss, n
		} else {
			s.Namespace, s.Name = space, n
		}
		if _, dup := p.names[s.FullName()]; dup {
			return nil, fmt.Errorf("can't redefine %s", s.FullName())
		}
		p.names[s.FullName()] = s
		if d, ok := o.get("doc"); ok {
			s.Doc, _ = d.(string)
		}
		inner = s.Namespace
	}
	switch s.Type {
	case "record":
		fv, _ := o.get("fields")
		fields, ok := fv.([]any)
		if !ok {
			return nil, fmt.Errorf("record %s: fields must be an array", s.FullName())
		}
		for i, rf := range fields {
			fo, ok := rf.(*jobj)
			if !ok {
				return nil, fmt.Errorf("record %s: field %d is not an object", s.FullName(), i)
			}
			f, err := p.parseField(fo, inner)
			if err != nil {
				return nil, fmt.Errorf("record %s: %w", s.FullName(), err)
			}
			s.Fields = append(s.Fields, f)
		}
	case "enum":
		sv, _ := o.get("symbols")
		syms, ok := sv.([]any)
		if !ok {
			return nil, fmt.Errorf("enum %s: symbols must be an array", s.FullName())
		}
		for _, e := range syms {
			str, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("enum %s: symbols must be strings", s.FullName())
			}
			s.Symbols = append(s.Symbols, str)
		}
		if d, ok := o.get("default"); ok {
			s.EnumDefault, _ = d.(string)
		}
	case "fixed":
		sv, _ := o.get("size")
		n, ok := sv.(json.Number)
		if !ok {
			return nil, fmt.Errorf("fixed %s: size must be a number", s.FullName())
		}
		sz, err := n.Int64()
		if err != nil || sz < 0 {
			return nil, fmt.Errorf("fixed %s: invalid size %s", s.FullName(), n)
		}
		s.Size = int(sz)
	case "array":
		iv, ok := o.get("items")
		if !ok {
			return nil, fmt.Errorf("array without items")
		}
		items, err := p.parse(iv, inner)
		if err != nil {
			return nil, fmt.Errorf("array items: %w", err)
		}
		s.Items = items
	case "map":
		vv, ok := o.get("values")
		if !ok {
			return nil, fmt.Errorf("map without values")
		}
		values, err := p.parse(vv, inner)
		if err != nil {
			return nil, fmt.Errorf("map values: %w", err)
		}
		s.Values = values
	}
	return s, nil
}

func (p *parser) parseField(o *jobj, space string) (*Field, error) {
	nv, _ := o.get("name")
	name, ok := nv.(string)
	if !ok || name == "" {
		return nil, fmt.Errorf("field without a name")
	}
	tv, ok := o.get("type")
	if !ok {
		return nil, fmt.Errorf("field %q without a type", name)
	}
	t, err := p.parse(tv, space)
	if err != nil {
		return nil, fmt.Errorf("field %q: %w", name, err)
	}
	f := &Field{Name: name, Schema: t}
	if d, ok := o.get("doc"); ok {
		f.Doc, _ = d.(string)
	}
	if d, ok := o.get("default"); ok {
		f.Default = compactJSON(d)
	}
	for i, k := range o.keys {
		switch k {
		case "name", "type", "doc", "default", "order", "aliases":
		default:
			f.props = append(f.props, prop{k, compactJSON(o.vals[i])})
		}
	}
	return f, nil
}

// validDefault is Avro's Schema.isValidDefault: the default must match the
// schema, and for a union its first branch.
func validDefault(s *Schema, def []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(def))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return false
	}
	return validDefaultValue(s, v)
}

func validDefaultValue(s *Schema, v any) bool {
	switch s.Type {
	case "string", "bytes", "enum", "fixed":
		_, ok := v.(string)
		return ok
	case "int":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		i, err := n.Int64()
		return err == nil && i >= -1<<31 && i < 1<<31
	case "long":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	case "float", "double":
		_, ok := v.(json.Number)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "null":
		return v == nil
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range arr {
			if !validDefaultValue(s.Items, e) {
				return false
			}
		}
		return true
	case "map":
		o, ok := v.(*jobj)
		if !ok {
			return false
		}
		for _, e := range o.vals {
			if !validDefaultValue(s.Values, e) {
				return false
			}
		}
		return true
	case "union":
		return len(s.Branches) > 0 && validDefaultValue(s.Branches[0], v)
	case "record":
		o, ok := v.(*jobj)
		if !ok {
			return false
		}
		for _, f := range s.Fields {
			fv, ok := o.get(f.Name)
			if !ok {
				if f.Default == nil {
					return false
				}
				continue
			}
			if !validDefaultValue(f.Schema, fv) {
				return false
			}
		}
		return true
	}
	return false
}
