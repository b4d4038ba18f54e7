package bus

import (
	"fmt"
	"strconv"
	"strings"
)

// Template is a name built from a message: literal text with ${topic},
// ${partition} and ${key} (the key's bytes as text) in it, as in
// "cdc.${topic}".
type Template struct {
	prop  string
	text  string
	parts []tmplPart
}

type tmplPart struct {
	lit string
	v   string // "" for a literal
}

// Variables a template may use.
var templateVars = []string{"topic", "partition", "key"}

// ParseTemplate parses the value of property prop.
func ParseTemplate(prop, s string) (*Template, error) {
	t := &Template{prop: prop, text: s}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "${")
		if i < 0 {
			t.parts = append(t.parts, tmplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tmplPart{lit: rest[:i]})
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%s=%q: unterminated ${", prop, s)
		}
		name := rest[i+2 : i+j]
		known := false
		for _, v := range templateVars {
			known = known || v == name
		}
		if !known {
			return nil, fmt.Errorf("%s=%q: unknown variable ${%s}; known: ${topic}, ${partition}, ${key}", prop, s, name)
		}
		t.parts = append(t.parts, tmplPart{v: name})
		rest = rest[i+j+1:]
	}
	if len(t.parts) == 0 {
		return nil, fmt.Errorf("%s: empty template", prop)
	}
	return t, nil
}

// Prop is the property the template came from.
func (t *Template) Prop() string { return t.prop }

// String is the template's text.
func (t *Template) String() string { return t.text }

// Static reports whether the template has no variables.
func (t *Template) Static() bool {
	for _, p := range t.parts {
		if p.v != "" {
			return false
		}
	}
	return true
}

// Prefix is the literal text before the first variable.
func (t *Template) Prefix() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.v != "" {
			break
		}
		b.WriteString(p.lit)
	}
	return b.String()
}

// Expand renders the template for m.
func (t *Template) Expand(m *Message) string {
	if len(t.parts) == 1 && t.parts[0].v == "" {
		return t.parts[0].lit
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.v {
		case "":
			b.WriteString(p.lit)
		case "topic":
			b.WriteString(m.Topic)
		case "partition":
			b.WriteString(strconv.Itoa(int(m.Partition)))
		case "key":
			b.Write(m.Key)
		}
	}
	return b.String()
}
