package protobuf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

const defaultSchemaName = "ConnectDefault"

// FromConnectSchema writes the .proto schema Confluent's ProtobufData
// derives from a Connect struct schema (its defaults: no wrappers or
// proto3 optional for nullable fields, names unscrubbed): the package is
// the schema name's namespace, the message its last part, nested structs
// and maps become nested messages named after their Connect schema, field
// numbers count from 1. It returns the text and the full name of the root
// message. Types ProtobufData maps through Confluent's own imports
// (int8/int16 with confluent/meta.proto, Decimal, Date, Time) are refused
// with the reason, since Tributary does not ship those files.
func FromConnectSchema(s *connect.Schema) (text, message string, err error) {
	if s == nil || s.Type != connect.Struct {
		return "", "", fmt.Errorf("the ProtobufConverter writes struct schemas at the root (got %v)", typeOf(s))
	}
	g := &protoGen{imports: map[string]bool{}}
	full := s.Name
	if full == "" {
		full = g.defaultName()
	}
	pkg, name := "", full
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		pkg, name = full[:i], full[i+1:]
	}
	var body strings.Builder
	if err := g.message(&body, name, s, 0); err != nil {
		return "", "", err
	}
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\n")
	if pkg != "" {
		b.WriteString("package " + pkg + ";\n")
	}
	if len(g.imports) > 0 {
		b.WriteString("\n")
		for _, imp := range []string{"google/protobuf/timestamp.proto"} {
			if g.imports[imp] {
				b.WriteString("import \"" + imp + "\";\n")
			}
		}
	}
	b.WriteString("\n")
	b.WriteString(body.String())
	message = name
	if pkg != "" {
		message = pkg + "." + name
	}
	return b.String(), message, nil
}

func typeOf(s *connect.Schema) any {
	if s == nil {
		return "no schema"
	}
	return s.Type
}

type protoGen struct {
	imports  map[string]bool
	nameSeq  int
	defNames map[*connect.Schema]string
}

func (g *protoGen) defaultName() string {
	g.nameSeq++
	return defaultSchemaName + strconv.Itoa(g.nameSeq)
}

func unqualified(n string) string {
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		return n[i+1:]
	}
	return n
}

// message writes a message definition, nested definitions after the fields.
func (g *protoGen) message(b *strings.Builder, name string, s *connect.Schema, depth int) error {
	ind := strings.Repeat("  ", depth)
	b.WriteString(ind + "message " + name + " {\n")
	var nested []func() error
	defined := map[string]bool{}
	for i, f := range s.Fields {
		fs := f.Schema
		label := ""
		if fs.Type == connect.Array {
			label = "repeated "
			fs = fs.Value
			if fs.Type == connect.Map {
				return fmt.Errorf("field %s: arrays of maps have no protobuf form", f.Name)
			}
		}
		typ, def, err := g.fieldType(fs, f.Name)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if def != nil && !defined[def.name] {
			defined[def.name] = true
			d := def
			nested = append(nested, func() error { return g.message(b, d.name, d.schema, depth+1) })
		}
		b.WriteString(fmt.Sprintf("%s  %s%s %s = %d;\n", ind, label, typ, f.Name, i+1))
	}
	for _, n := range nested {
		if err := n(); err != nil {
			return err
		}
	}
	b.WriteString(ind + "}\n")
	return nil
}

type nestedDef struct {
	name   string
	schema *connect.Schema
}

// fieldType is ProtobufData.dataTypeFromConnectSchema for the defaults.
func (g *protoGen) fieldType(s *connect.Schema, fieldName string) (string, *nestedDef, error) {
	switch s.Name {
	case connect.TimestampName:
		g.imports["google/protobuf/timestamp.proto"] = true
		return "google.protobuf.Timestamp", nil, nil
	case connect.DecimalName, connect.DateName, connect.TimeName:
		return "", nil, fmt.Errorf("%s maps to one of Confluent's own .proto imports, which Tributary's ProtobufConverter does not ship", s.Name)
	}
	switch s.Type {
	case connect.Int8, connect.Int16:
		return "", nil, fmt.Errorf("%s needs the connect.type annotation of confluent/meta.proto, which Tributary's ProtobufConverter does not ship", s.Type)
	case connect.Int32:
		return "int32", nil, nil
	case connect.Int64:
		return "int64", nil, nil
	case connect.Float32:
		return "float", nil, nil
	case connect.Float64:
		return "double", nil, nil
	case connect.Boolean:
		return "bool", nil, nil
	case connect.String:
		return "string", nil, nil
	case connect.Bytes:
		return "bytes", nil, nil
	case connect.Array:
		return "", nil, fmt.Errorf("arrays of arrays have no protobuf form")
	case connect.Map:
		if s.Key.Type != connect.String && s.Key.Type != connect.Int32 && s.Key.Type != connect.Int64 && s.Key.Type != connect.Boolean {
			return "", nil, fmt.Errorf("protobuf map keys are strings, integers or booleans, not %s", s.Key.Type)
		}
		// Written as map<K, V>; the entry message protoc derives is
		// what ProtobufData names toMapEntry(name).
		kt, _, err := g.fieldType(s.Key, "key")
		if err != nil {
			return "", nil, fmt.Errorf("map key: %w", err)
		}
		vt, def, err := g.fieldType(s.Value, "value")
		if err != nil {
			return "", nil, fmt.Errorf("map value: %w", err)
		}
		if s.Value.Type == connect.Array || s.Value.Type == connect.Map {
			return "", nil, fmt.Errorf("map values that are arrays or maps have no protobuf form")
		}
		return "map<" + kt + ", " + vt + ">", def, nil
	case connect.Struct:
		name := unqualified(g.nameOf(s))
		if name == fieldName {
			name += "Message"
		}
		return name, &nestedDef{name: name, schema: s}, nil
	}
	return "", nil, fmt.Errorf("unsupported Connect type %s", s.Type)
}

func (g *protoGen) nameOf(s *connect.Schema) string {
	if s.Name != "" {
		return s.Name
	}
	if g.defNames == nil {
		g.defNames = map[*connect.Schema]string{}
	}
	if n, ok := g.defNames[s]; ok {
		return n
	}
	n := g.defaultName()
	g.defNames[s] = n
	return n
}
