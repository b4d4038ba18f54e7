package avro

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Schema is an Avro schema as the Connect mapping builds it. It keeps
// properties in insertion order because Avro Java does, and the schema text
// registered with the registry is Avro Java's Schema.toString of exactly
// this structure: the same order gives the same text.
type Schema struct {
	Type string // null, boolean, int, long, float, double, bytes, string, record, enum, array, map, union, fixed

	Name      string // record, enum, fixed: the simple name
	Namespace string
	Doc       string

	Fields      []*Field // record
	Symbols     []string // enum
	EnumDefault string   // enum
	Items       *Schema  // array
	Values      *Schema  // map
	Branches    []*Schema
	Size        int // fixed

	props []prop
}

// Field is a record field.
type Field struct {
	Name    string
	Schema  *Schema
	Doc     string
	Default []byte // JSON; nil when the field has no default
	props   []prop
}

type prop struct {
	key string
	val []byte // JSON
}

// FullName is namespace.name for named types.
func (s *Schema) FullName() string {
	if s.Namespace == "" {
		return s.Name
	}
	return s.Namespace + "." + s.Name
}

func (s *Schema) named() bool { return s.Type == "record" || s.Type == "enum" || s.Type == "fixed" }

// Prop returns the JSON of property key, or nil.
func (s *Schema) Prop(key string) []byte {
	for _, p := range s.props {
		if p.key == key {
			return p.val
		}
	}
	return nil
}

// addProp mirrors JsonProperties.addProp: the first value of a key stays
// where it was inserted, and overwriting it with a different value is an
// error.
func (s *Schema) addProp(key string, val []byte) error {
	for _, p := range s.props {
		if p.key == key {
			if !bytes.Equal(p.val, val) {
				return fmt.Errorf("can't overwrite property %q (%s) with %s", key, p.val, val)
			}
			return nil
		}
	}
	s.props = append(s.props, prop{key, val})
	return nil
}

func (s *Schema) addStringProp(key, val string) error {
	var b bytes.Buffer
	writeJSONString(&b, val)
	return s.addProp(key, b.Bytes())
}

func (s *Schema) addIntProp(key string, n int) error {
	return s.addProp(key, []byte(strconv.Itoa(n)))
}

// String renders the schema as Avro Java's Schema.toString() does: compact
// JSON, named types defined at first use and referenced afterwards (by
// their short name inside the same namespace), attributes in Avro's order
// followed by the properties in insertion order.
func (s *Schema) String() string {
	var b bytes.Buffer
	w := &schemaWriter{b: &b}
	w.write(s)
	return b.String()
}

type schemaWriter struct {
	b     *bytes.Buffer
	names []*Schema
	space string
}

func (w *schemaWriter) defined(s *Schema) (*Schema, bool) {
	full := s.FullName()
	for _, n := range w.names {
		if n.FullName() == full {
			return n, true
		}
	}
	return nil, false
}

var primitiveNames = map[string]bool{"null": true, "boolean": true, "int": true, "long": true,
	"float": true, "double": true, "bytes": true, "string": true, "record": true, "enum": true,
	"array": true, "map": true, "union": true, "fixed": true}

func (w *schemaWriter) write(s *Schema) {
	if s.named() {
		if prev, ok := w.defined(s); ok && schemaEqual(prev, s) {
			// Name.getQualified: the short name inside its own namespace,
			// unless the short name is a type name.
			if s.Namespace != "" && s.Namespace == w.space && !primitiveNames[s.Name] {
				writeJSONString(w.b, s.Name)
			} else {
				writeJSONString(w.b, s.FullName())
			}
			return
		} else if !ok {
			w.names = append(w.names, s)
		}
	}
	switch s.Type {
	case "union":
		w.b.WriteByte('[')
		for i, br := range s.Branches {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.write(br)
		}
		w.b.WriteByte(']')
		return
	case "record", "enum", "fixed":
		w.b.WriteString(`{"type":`)
		writeJSONString(w.b, s.Type)
		w.b.WriteString(`,"name":`)
		writeJSONString(w.b, s.Name)
		if s.Namespace != "" {
			if s.Namespace != w.space {
				w.b.WriteString(`,"namespace":`)
				writeJSONString(w.b, s.Namespace)
			}
		} else if w.space != "" {
			w.b.WriteString(`,"namespace":""`)
		}
		if s.Doc != "" {
			w.b.WriteString(`,"doc":`)
			writeJSONString(w.b, s.Doc)
		}
		switch s.Type {
		case "record":
			saved := w.space
			w.space = s.Namespace
			w.b.WriteString(`,"fields":[`)
			for i, f := range s.Fields {
				if i > 0 {
					w.b.WriteByte(',')
				}
				w.field(f)
			}
			w.b.WriteByte(']')
			w.props(s.props)
			w.space = saved
		case "enum":
			w.b.WriteString(`,"symbols":[`)
			for i, sym := range s.Symbols {
				if i > 0 {
					w.b.WriteByte(',')
				}
				writeJSONString(w.b, sym)
			}
			w.b.WriteByte(']')
			w.props(s.props)
			if s.EnumDefault != "" {
				w.b.WriteString(`,"default":`)
				writeJSONString(w.b, s.EnumDefault)
			}
		case "fixed":
			w.b.WriteString(`,"size":`)
			w.b.WriteString(strconv.Itoa(s.Size))
			w.props(s.props)
		}
		w.b.WriteByte('}')
	case "array":
		w.b.WriteString(`{"type":"array","items":`)
		w.write(s.Items)
		w.props(s.props)
		w.b.WriteByte('}')
	case "map":
		w.b.WriteString(`{"type":"map","values":`)
		w.write(s.Values)
		w.props(s.props)
		w.b.WriteByte('}')
	default:
		if len(s.props) == 0 {
			writeJSONString(w.b, s.Type)
			return
		}
		w.b.WriteString(`{"type":`)
		writeJSONString(w.b, s.Type)
		w.props(s.props)
		w.b.WriteByte('}')
	}
}

func (w *schemaWriter) props(ps []prop) {
	for _, p := range ps {
		w.b.WriteByte(',')
		writeJSONString(w.b, p.key)
		w.b.WriteByte(':')
		w.b.Write(p.val)
	}
}

func (w *schemaWriter) field(f *Field) {
	w.b.WriteString(`{"name":`)
	writeJSONString(w.b, f.Name)
	w.b.WriteString(`,"type":`)
	w.write(f.Schema)
	if f.Doc != "" {
		w.b.WriteString(`,"doc":`)
		writeJSONString(w.b, f.Doc)
	}
	if f.Default != nil {
		w.b.WriteString(`,"default":`)
		w.b.Write(f.Default)
	}
	w.props(f.props)
	w.b.WriteByte('}')
}

// schemaEqual is Avro Java's Schema.equals: structure, names and
// properties (property order does not matter there either).
func schemaEqual(a, b *Schema) bool {
	return schemaEqualSeen(a, b, map[[2]*Schema]bool{})
}

func schemaEqualSeen(a, b *Schema, seen map[[2]*Schema]bool) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Type != b.Type || a.Name != b.Name || a.Namespace != b.Namespace ||
		a.Size != b.Size || a.EnumDefault != b.EnumDefault || !propsEqual(a.props, b.props) {
		return false
	}
	k := [2]*Schema{a, b}
	if seen[k] {
		return true
	}
	seen[k] = true
	if len(a.Symbols) != len(b.Symbols) || len(a.Fields) != len(b.Fields) || len(a.Branches) != len(b.Branches) {
		return false
	}
	for i := range a.Symbols {
		if a.Symbols[i] != b.Symbols[i] {
			return false
		}
	}
	for i := range a.Fields {
		fa, fb := a.Fields[i], b.Fields[i]
		if fa.Name != fb.Name || !bytes.Equal(fa.Default, fb.Default) || !propsEqual(fa.props, fb.props) ||
			!schemaEqualSeen(fa.Schema, fb.Schema, seen) {
			return false
		}
	}
	for i := range a.Branches {
		if !schemaEqualSeen(a.Branches[i], b.Branches[i], seen) {
			return false
		}
	}
	if (a.Items == nil) != (b.Items == nil) || (a.Items != nil && !schemaEqualSeen(a.Items, b.Items, seen)) {
		return false
	}
	if (a.Values == nil) != (b.Values == nil) || (a.Values != nil && !schemaEqualSeen(a.Values, b.Values, seen)) {
		return false
	}
	return true
}

func propsEqual(a, b []prop) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		found := false
		for _, q := range b {
			if p.key == q.key {
				found = bytes.Equal(p.val, q.val)
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// writeJSONString writes s quoted the way Jackson does: '"' and '\' and
// control characters escaped (\b \t \n \f \r short forms, \u00XX for the
// rest), everything else, including non-ASCII and '/', as UTF-8.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b.WriteByte(c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\uFFFD`)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
		i++
	}
	b.WriteByte('"')
}
