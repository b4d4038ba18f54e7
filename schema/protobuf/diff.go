package protobuf

import (
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// ChangeType names a difference, as Confluent's protobuf Difference.Type.
type ChangeType string

// Difference is one change from the original schema to the update.
type Difference struct {
	Type ChangeType
	// Path is "#/" then message names, oneof names and field numbers.
	Path string
}

func (d Difference) String() string { return string(d.Type) + " " + d.Path }

// compatibleChanges is Confluent's SchemaDiff.COMPATIBLE_CHANGES.
var compatibleChanges = map[ChangeType]bool{
	"MESSAGE_ADDED": true, "MESSAGE_MOVED": true, "ENUM_ADDED": true, "ENUM_REMOVED": true,
	"ENUM_CONST_ADDED": true, "ENUM_CONST_CHANGED": true, "ENUM_CONST_REMOVED": true,
	"FIELD_ADDED": true, "FIELD_REMOVED": true, "FIELD_NAME_CHANGED": true,
	"FIELD_STRING_OR_BYTES_LABEL_CHANGED": true, "ONEOF_ADDED": true, "ONEOF_REMOVED": true,
	"ONEOF_FIELD_ADDED": true, "ONEOF_FIELD_MOVED_TO_TOP_LEVEL": true,
}

// Compatible reports whether a change keeps the schemas compatible.
func Compatible(t ChangeType) bool { return compatibleChanges[t] }

// Diff lists the changes from original to update, as Confluent's
// SchemaDiff.compare does.
func Diff(original, update *Schema) []Difference {
	c := &ctx{orig: original, upd: update, inProgress: map[protoreflect.MessageDescriptor]bool{}}
	if original.File.Package() != update.File.Package() {
		c.add("PACKAGE_CHANGED")
	}
	c.compareTypes(original.File.Messages(), original.File.Enums(), update.File.Messages(), update.File.Enums())
	return c.diffs
}

// Incompatibilities are the changes that break compatibility (under
// Confluent's rules the same set serves backward and forward checks).
func Incompatibilities(original, update *Schema) []Difference {
	var out []Difference
	for _, d := range Diff(original, update) {
		if !Compatible(d.Type) {
			out = append(out, d)
		}
	}
	return out
}

type ctx struct {
	orig, upd  *Schema
	path       []string
	diffs      []Difference
	inProgress map[protoreflect.MessageDescriptor]bool
}

func (c *ctx) sub() *ctx {
	in := make(map[protoreflect.MessageDescriptor]bool, len(c.inProgress))
	for k, v := range c.inProgress {
		in[k] = v
	}
	return &ctx{orig: c.orig, upd: c.upd, path: append([]string(nil), c.path...), inProgress: in}
}

func (c *ctx) enter(p string) func() {
	c.path = append(c.path, p)
	return func() { c.path = c.path[:len(c.path)-1] }
}

func (c *ctx) add(t ChangeType) {
	c.diffs = append(c.diffs, Difference{t, "#/" + strings.Join(c.path, "/")})
}

func (c *ctx) compatible() bool {
	for _, d := range c.diffs {
		if !compatibleChanges[d.Type] {
			return false
		}
	}
	return true
}

// messages indexes the message types of a scope by simple name, with their
// position among messages; map entries, which a .proto file never
// declares, are left out.
func messages(ms protoreflect.MessageDescriptors) (map[string]protoreflect.MessageDescriptor, map[string]int) {
	byName, index := map[string]protoreflect.MessageDescriptor{}, map[string]int{}
	n := 0
	for i := 0; i < ms.Len(); i++ {
		m := ms.Get(i)
		if m.IsMapEntry() {
			continue
		}
		byName[string(m.Name())] = m
		index[string(m.Name())] = n
		n++
	}
	return byName, index
}

func enums(es protoreflect.EnumDescriptors) map[string]protoreflect.EnumDescriptor {
	out := map[string]protoreflect.EnumDescriptor{}
	for i := 0; i < es.Len(); i++ {
		out[string(es.Get(i).Name())] = es.Get(i)
	}
	return out
}

func union[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func (c *ctx) compareTypes(om protoreflect.MessageDescriptors, oe protoreflect.EnumDescriptors, um protoreflect.MessageDescriptors, ue protoreflect.EnumDescriptors) {
	oMsgs, oIdx := messages(om)
	uMsgs, uIdx := messages(um)
	for _, name := range union(oMsgs, uMsgs) {
		done := c.enter(name)
		o, u := oMsgs[name], uMsgs[name]
		switch {
		case u == nil:
			c.add("MESSAGE_REMOVED")
		case o == nil:
			c.add("MESSAGE_ADDED")
		default:
			c.compareMessage(o, u)
			if oIdx[name] != uIdx[name] {
				c.add("MESSAGE_MOVED")
			}
		}
		done()
	}
	oEnums, uEnums := enums(oe), enums(ue)
	for _, name := range union(oEnums, uEnums) {
		done := c.enter(name)
		o, u := oEnums[name], uEnums[name]
		switch {
		case u == nil:
			c.add("ENUM_REMOVED")
		case o == nil:
			c.add("ENUM_ADDED")
		default:
			c.compareEnum(o, u)
		}
		done()
	}
}

func (c *ctx) compareEnum(o, u protoreflect.EnumDescriptor) {
	byNum := func(e protoreflect.EnumDescriptor) map[int]string {
		out := map[int]string{}
		for i := 0; i < e.Values().Len(); i++ {
			v := e.Values().Get(i)
			out[int(v.Number())] = string(v.Name())
		}
		return out
	}
	on, un := byNum(o), byNum(u)
	var nums []int
	for n := range on {
		nums = append(nums, n)
	}
	for n := range un {
		if _, ok := on[n]; !ok {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	for _, n := range nums {
		done := c.enter(strconv.Itoa(n))
		ov, oOK := on[n]
		uv, uOK := un[n]
		switch {
		case !uOK:
			c.add("ENUM_CONST_REMOVED")
		case !oOK:
			c.add("ENUM_CONST_ADDED")
		case ov != uv:
			c.add("ENUM_CONST_CHANGED")
		}
		done()
	}
}

// fieldsOf is MessageSchemaDiff.collectFields: every field by number, the
// (real, not proto3-optional) oneof each belongs to, and the oneofs.
func fieldsOf(m protoreflect.MessageDescriptor) (map[int]protoreflect.FieldDescriptor, map[int]string, map[string]protoreflect.OneofDescriptor) {
	byTag, tagToOneOf, oneOfs := map[int]protoreflect.FieldDescriptor{}, map[int]string{}, map[string]protoreflect.OneofDescriptor{}
	for i := 0; i < m.Fields().Len(); i++ {
		f := m.Fields().Get(i)
		byTag[int(f.Number())] = f
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			tagToOneOf[int(f.Number())] = string(o.Name())
		}
	}
	for i := 0; i < m.Oneofs().Len(); i++ {
		if o := m.Oneofs().Get(i); !o.IsSynthetic() {
			oneOfs[string(o.Name())] = o
		}
	}
	return byTag, tagToOneOf, oneOfs
}

// label is the label a .proto parser (Square's wire, which Confluent uses)
// gives the field: none for proto3 singular and map fields.
func label(f protoreflect.FieldDescriptor) string {
	switch {
	case f.IsMap():
		return ""
	case f.Cardinality() == protoreflect.Repeated:
		return "REPEATED"
	case f.Cardinality() == protoreflect.Required:
		return "REQUIRED"
	case f.HasOptionalKeyword():
		return "OPTIONAL"
	}
	return ""
}

func (c *ctx) compareMessage(o, u protoreflect.MessageDescriptor) {
	if !c.inProgress[o] {
		c.inProgress[o] = true
		c.compareFields(o, u)
		delete(c.inProgress, o)
	}
	c.compareTypes(o.Messages(), o.Enums(), u.Messages(), u.Enums())
}

func (c *ctx) compareFields(o, u protoreflect.MessageDescriptor) {
	oByTag, oTagToOneOf, oOneOfs := fieldsOf(o)
	uByTag, uTagToOneOf, uOneOfs := fieldsOf(u)
	deleted := map[string]bool{}
	for name, oneof := range oOneOfs {
		if _, ok := uOneOfs[name]; ok {
			continue
		}
		survives := false
		for i := 0; i < oneof.Fields().Len(); i++ {
			if _, ok := uByTag[int(oneof.Fields().Get(i).Number())]; ok {
				survives = true
			}
		}
		if !survives {
			deleted[name] = true
		}
	}
	for i := 0; i < u.Oneofs().Len(); i++ {
		oneof := u.Oneofs().Get(i)
		if oneof.IsSynthetic() {
			continue
		}
		done := c.enter(string(oneof.Name()))
		groups := map[string]bool{}
		topLevelMovedIn := 0
		for j := 0; j < oneof.Fields().Len(); j++ {
			tag := int(oneof.Fields().Get(j).Number())
			if g, ok := oTagToOneOf[tag]; ok {
				groups["oneof:"+g] = true
			} else if _, ok := oByTag[tag]; ok {
				groups["field:"+strconv.Itoa(tag)] = true
				topLevelMovedIn++
			}
		}
		if len(groups) > 1 {
			if topLevelMovedIn > 1 {
				c.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF")
			} else {
				c.add("FIELD_MOVED_TO_EXISTING_ONEOF")
			}
		}
		done()
	}
	for _, name := range union(oOneOfs, uOneOfs) {
		done := c.enter(name)
		if _, ok := uOneOfs[name]; !ok {
			c.add("ONEOF_REMOVED")
		} else if _, ok := oOneOfs[name]; !ok {
			c.add("ONEOF_ADDED")
		}
		done()
	}
	var tags []int
	for t := range oByTag {
		tags = append(tags, t)
	}
	for t := range uByTag {
		if _, ok := oByTag[t]; !ok {
			tags = append(tags, t)
		}
	}
	sort.Ints(tags)
	for _, tag := range tags {
		of, uf := oByTag[tag], uByTag[tag]
		oOneOf, oIn := oTagToOneOf[tag]
		uOneOf, uIn := uTagToOneOf[tag]
		ts := strconv.Itoa(tag)
		switch {
		case uf == nil:
			if oIn {
				if !deleted[oOneOf] {
					d1, d2 := c.enter(oOneOf), c.enter(ts)
					c.add("ONEOF_FIELD_REMOVED")
					d2()
					d1()
				}
			} else {
				d := c.enter(ts)
				if label(of) == "REQUIRED" {
					c.add("REQUIRED_FIELD_REMOVED")
				} else {
					c.add("FIELD_REMOVED")
				}
				d()
			}
		case of == nil:
			if uIn {
				d1, d2 := c.enter(uOneOf), c.enter(ts)
				c.add("ONEOF_FIELD_ADDED")
				d2()
				d1()
			} else {
				d := c.enter(ts)
				if label(uf) == "REQUIRED" {
					c.add("REQUIRED_FIELD_ADDED")
				} else {
					c.add("FIELD_ADDED")
				}
				d()
			}
		default:
			if oIn && !uIn {
				d := c.enter(ts)
				c.add("ONEOF_FIELD_MOVED_TO_TOP_LEVEL")
				d()
			}
			if uIn {
				d1, d2 := c.enter(uOneOf), c.enter(ts)
				c.compareField(of, uf)
				d2()
				d1()
			} else {
				d := c.enter(ts)
				c.compareField(of, uf)
				d()
			}
		}
	}
}

func (c *ctx) compareField(o, u protoreflect.FieldDescriptor) {
	if o.Name() != u.Name() {
		c.add("FIELD_NAME_CHANGED")
	}
	c.compareLabelsAndTypes(label(o), label(u), o, u)
}

type kind int

const (
	kindScalar kind = iota
	kindMap
	kindMessage
)

func kindOf(f protoreflect.FieldDescriptor) kind {
	switch f.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		if f.Message().IsMapEntry() {
			return kindMap
		}
		return kindMessage
	}
	return kindScalar
}

func scalarKind(f protoreflect.FieldDescriptor) string {
	switch f.Kind() {
	case protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.BoolKind:
		return "GENERAL_NUMBER"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "SIGNED_NUMBER"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "STRING_OR_BYTES"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "FIXED32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "FIXED64"
	case protoreflect.FloatKind:
		return "FLOAT"
	case protoreflect.DoubleKind:
		return "DOUBLE"
	}
	return "ANY"
}

func (c *ctx) compareLabelsAndTypes(ol, ul string, o, u protoreflect.FieldDescriptor) {
	ok, uk := kindOf(o), kindOf(u)
	if ok != uk {
		c.add("FIELD_KIND_CHANGED")
		return
	}
	switch ok {
	case kindScalar:
		os, us := scalarKind(o), scalarKind(u)
		if os != us {
			c.add("FIELD_SCALAR_KIND_CHANGED")
			return
		}
		if ol != ul && ol != "" && ul != "" {
			switch os {
			case "STRING_OR_BYTES":
				c.add("FIELD_STRING_OR_BYTES_LABEL_CHANGED")
			case "ANY":
			default:
				c.add("FIELD_NUMERIC_LABEL_CHANGED")
			}
		}
	case kindMessage:
		c.compareMessageTypes(o.Message(), u.Message())
	case kindMap:
		c.compareLabelsAndTypes("", "", o.MapKey(), u.MapKey())
		c.compareLabelsAndTypes("", "", o.MapValue(), u.MapValue())
	}
}

// localName is a type's name without its file's package.
func localName(m protoreflect.MessageDescriptor) string {
	full, pkg := string(m.FullName()), string(m.ParentFile().Package())
	if pkg != "" && strings.HasPrefix(full, pkg+".") {
		return full[len(pkg)+1:]
	}
	return full
}

// refOf is the reference a type came from: the schema itself, a schema
// reference, or nil for Google's well-known files.
func (s *Schema) refOf(m protoreflect.MessageDescriptor) *Ref {
	path := m.ParentFile().Path()
	if path == mainFile {
		return &Ref{Subject: "", Version: -1}
	}
	if r, ok := s.refs[path]; ok {
		return &r
	}
	return nil
}

func (c *ctx) compareMessageTypes(o, u protoreflect.MessageDescriptor) {
	ol, ul := localName(o), localName(u)
	if ol != ul {
		c.add("FIELD_NAMED_TYPE_CHANGED")
		return
	}
	or, ur := c.orig.refOf(o), c.upd.refOf(u)
	if or != nil && ur != nil && *or == *ur {
		return
	}
	s := c.sub()
	s.path = strings.Split(ol, ".")
	s.compareMessage(o, u)
	c.diffs = append(c.diffs, s.diffs...)
	if !s.compatible() {
		c.add("FIELD_NAMED_TYPE_CHANGED")
	}
}

var messageFormats = map[ChangeType]string{
	"PACKAGE_CHANGED":                "The package at '{path}' in the %s schema does not match the package in the %s schema",
	"MESSAGE_REMOVED":                "The %s schema is missing a MESSAGE type at path '{path}' in the %s schema",
	"FIELD_KIND_CHANGED":             "The type of a field at path '{path}' in the %s schema does not match the %s schema",
	"FIELD_SCALAR_KIND_CHANGED":      "The kind of a SCALAR field at path '{path}' in the %s schema does not match its kind in the %s schema",
	"FIELD_NAMED_TYPE_CHANGED":       "The type of a MESSAGE field at path '{path}' in the %s schema does not match its type in the %s schema",
	"FIELD_NUMERIC_LABEL_CHANGED":    "The label for a NUMERIC field at path '{path}' in the %s schema does not match its label in the %s schema",
	"REQUIRED_FIELD_ADDED":           "A required field  at path '{path}' in the %s schema is missing in the %s schema",
	"REQUIRED_FIELD_REMOVED":         "The %s schema is missing a required field at path: '{path}' in the %s schema",
	"ONEOF_FIELD_REMOVED":            "The %s schema is missing a oneof field at path '{path}' in the %s schema",
	"ONEOF_FIELD_MOVED_TO_TOP_LEVEL": "The oneof field at path '{path}' in the %s schema was moved out of its oneof to a top-level field in the %s schema",
	"MULTIPLE_FIELDS_MOVED_TO_ONEOF": "Multiple fields in the oneof at path '{path}' in the %s schema are outside a oneof in the %s schema",
	"FIELD_MOVED_TO_EXISTING_ONEOF":  "A field in the oneof at path '{path}' in the %s schema is outside an existing oneof in the %s schema",
}

// Message renders the difference as Confluent's Difference.toString does,
// placeholders included (Confluent never fills them in).
func (d Difference) Message() string {
	desc := strings.ReplaceAll(messageFormats[d.Type], "{path}", d.Path)
	return "{errorType:\"" + string(d.Type) + "\", description:\"" + desc + "\"}"
}
