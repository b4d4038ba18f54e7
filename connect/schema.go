package connect

import (
	"fmt"
	"strings"
)

// Type is a Kafka Connect schema type. The string values are the names the
// JsonConverter writes into "type".
type Type string

const (
	Int8    Type = "int8"
	Int16   Type = "int16"
	Int32   Type = "int32"
	Int64   Type = "int64"
	Float32 Type = "float"
	Float64 Type = "double"
	Boolean Type = "boolean"
	String  Type = "string"
	Bytes   Type = "bytes"
	Array   Type = "array"
	Map     Type = "map"
	Struct  Type = "struct"
)

// IsPrimitive reports whether t carries no nested schema.
func (t Type) IsPrimitive() bool {
	switch t {
	case Array, Map, Struct:
		return false
	}
	return true
}

// Param is one schema parameter. Parameters keep insertion order because
// Kafka Connect's SchemaBuilder stores them in a LinkedHashMap and the
// converters serialise them in that order.
type Param struct {
	Key, Value string
}

// Field is a named member of a struct schema.
type Field struct {
	Name   string
	Index  int
	Schema *Schema
}

// Schema is a Kafka Connect schema. Schemas are immutable once built and
// may be shared between goroutines and records.
type Schema struct {
	Type       Type
	Optional   bool
	Default    any
	HasDefault bool
	Name       string
	Version    int // 0 means unset
	Doc        string
	Params     []Param

	Fields []Field // Struct
	Key    *Schema // Map
	Value  *Schema // Map and Array element

	fieldIndex map[string]int
}

// Param returns the value of parameter key and whether it is set.
func (s *Schema) Param(key string) (string, bool) {
	for _, p := range s.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// Field returns the field called name, or nil.
func (s *Schema) Field(name string) *Field {
	if s == nil || s.Type != Struct {
		return nil
	}
	if s.fieldIndex != nil {
		if i, ok := s.fieldIndex[name]; ok {
			return &s.Fields[i]
		}
		return nil
	}
	for i := range s.Fields {
		if s.Fields[i].Name == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// String renders the schema compactly for error messages.
func (s *Schema) String() string {
	if s == nil {
		return "<nil schema>"
	}
	var b strings.Builder
	if s.Name != "" {
		b.WriteString(s.Name)
		b.WriteByte(':')
	}
	b.WriteString(string(s.Type))
	if s.Optional {
		b.WriteString("?")
	}
	return b.String()
}

// Builder assembles a Schema. It mirrors Kafka Connect's SchemaBuilder so
// that code building Debezium schemas reads like the Java it must match.
type Builder struct {
	s   Schema
	err error
}

// NewBuilder starts a schema of type t.
func NewBuilder(t Type) *Builder { return &Builder{s: Schema{Type: t}} }

// StructBuilder starts a struct schema.
func StructBuilder() *Builder { return NewBuilder(Struct) }

// ArrayOf builds an array schema with element schema elem.
func ArrayOf(elem *Schema) *Builder { b := NewBuilder(Array); b.s.Value = elem; return b }

// MapOf builds a map schema.
func MapOf(key, value *Schema) *Builder {
	b := NewBuilder(Map)
	b.s.Key, b.s.Value = key, value
	return b
}

func (b *Builder) Name(n string) *Builder      { b.s.Name = n; return b }
func (b *Builder) Version(v int) *Builder      { b.s.Version = v; return b }
func (b *Builder) Doc(d string) *Builder       { b.s.Doc = d; return b }
func (b *Builder) Optional() *Builder          { b.s.Optional = true; return b }
func (b *Builder) Required() *Builder          { b.s.Optional = false; return b }
func (b *Builder) SetOptional(o bool) *Builder { b.s.Optional = o; return b }

// Default sets the default value; it must already be in the schema's Go
// representation.
func (b *Builder) Default(v any) *Builder {
	b.s.Default, b.s.HasDefault = v, true
	return b
}

// Param adds or replaces a parameter, keeping first-insertion order.
func (b *Builder) Param(k, v string) *Builder {
	for i := range b.s.Params {
		if b.s.Params[i].Key == k {
			b.s.Params[i].Value = v
			return b
		}
	}
	b.s.Params = append(b.s.Params, Param{k, v})
	return b
}

// Field appends a struct field.
func (b *Builder) Field(name string, s *Schema) *Builder {
	if b.s.Type != Struct {
		b.err = fmt.Errorf("field %q added to non-struct schema %s", name, b.s.Type)
		return b
	}
	for _, f := range b.s.Fields {
		if f.Name == name {
			b.err = fmt.Errorf("duplicate field %q in schema %q", name, b.s.Name)
			return b
		}
	}
	b.s.Fields = append(b.s.Fields, Field{Name: name, Index: len(b.s.Fields), Schema: s})
	return b
}

// Build returns the schema, or an error for a malformed one.
func (b *Builder) Build() (*Schema, error) {
	if b.err != nil {
		return nil, b.err
	}
	s := b.s
	s.Fields = append([]Field(nil), b.s.Fields...)
	s.Params = append([]Param(nil), b.s.Params...)
	if s.Type == Struct && len(s.Fields) > 8 {
		s.fieldIndex = make(map[string]int, len(s.Fields))
		for i, f := range s.Fields {
			s.fieldIndex[f.Name] = i
		}
	}
	return &s, nil
}

// MustBuild is Build for schemas assembled from constants, where an error is
// a programming mistake caught by the package's own tests.
func (b *Builder) MustBuild() *Schema {
	s, err := b.Build()
	if err != nil {
		panic(err)
	}
	return s
}

// Predefined primitive schemas, as Kafka Connect's Schema.*_SCHEMA constants.
// They are values, not shared pointers, so that no caller can mutate another's.
func Prim(t Type) *Schema         { return &Schema{Type: t} }
func OptionalPrim(t Type) *Schema { return &Schema{Type: t, Optional: true} }
