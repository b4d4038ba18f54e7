package protobuf

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/registry"
)

// Parameters ProtobufData puts on the Connect schemas it reads.
const (
	connectNamespace = "io.confluent.connect.protobuf"
	tagParam         = connectNamespace + ".Tag"
	enumParam        = connectNamespace + ".Enum"
	unionPrefix      = connectNamespace + ".Union."
	timestampType    = "google.protobuf.Timestamp"
)

// Reader is what ToConnect needs from the registry.
type Reader interface {
	Schema(ctx context.Context, id int) (registry.SchemaResponse, error)
	Version(ctx context.Context, subject string, version int) (registry.SubjectVersion, error)
}

type readPlan struct {
	desc   protoreflect.MessageDescriptor
	schema *connect.Schema
}

// readIndexes parses the message-index list after the schema id.
func readIndexes(b []byte) ([]int, int, error) {
	n, k := binary.Varint(b)
	if k <= 0 {
		return nil, 0, fmt.Errorf("bad message-index count")
	}
	if n == 0 {
		return []int{0}, k, nil
	}
	if n < 0 || n > 100 {
		return nil, 0, fmt.Errorf("bad message-index count %d", n)
	}
	out := make([]int, n)
	for i := range out {
		v, m := binary.Varint(b[k:])
		if m <= 0 || v < 0 {
			return nil, 0, fmt.Errorf("bad message index")
		}
		out[i] = int(v)
		k += m
	}
	return out, k, nil
}

// dependencies fetches the files a schema's references name.
func dependencies(ctx context.Context, r Reader, refs []registry.Reference, seen map[string]bool, depth int) ([]Dependency, error) {
	if depth > 32 {
		return nil, fmt.Errorf("schema references nest too deep")
	}
	var out []Dependency
	for _, ref := range refs {
		if seen[ref.Name] {
			continue
		}
		seen[ref.Name] = true
		v, err := r.Version(ctx, ref.Subject, ref.Version)
		if err != nil {
			return nil, fmt.Errorf("reference %s: %w", ref.Name, err)
		}
		nested, err := dependencies(ctx, r, v.References, seen, depth+1)
		if err != nil {
			return nil, err
		}
		out = append(append(out, nested...), Dependency{Name: ref.Name, Schema: v.Schema, Ref: Ref{ref.Subject, ref.Version}})
	}
	return out, nil
}

func (c *Converter) readPlan(ctx context.Context, id int, indexes []int) (*readPlan, error) {
	key := fmt.Sprint(id, indexes)
	c.mu.Lock()
	p, ok := c.reads[key]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	r, ok := c.reg.(Reader)
	if !ok {
		return nil, fmt.Errorf("the registry client cannot fetch schemas")
	}
	resp, err := r.Schema(ctx, id)
	if err != nil {
		return nil, err
	}
	if resp.SchemaType != "PROTOBUF" {
		return nil, fmt.Errorf("schema id %d is %q, not PROTOBUF", id, resp.SchemaType)
	}
	deps, err := dependencies(ctx, r, resp.References, map[string]bool{}, 0)
	if err != nil {
		return nil, err
	}
	parsed, err := Parse(resp.Schema, deps)
	if err != nil {
		return nil, fmt.Errorf("schema id %d: %w", id, err)
	}
	ms := parsed.File.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range indexes {
		if i >= ms.Len() {
			return nil, fmt.Errorf("schema id %d has no message at index %v", id, indexes)
		}
		md = ms.Get(i)
		ms = md.Messages()
	}
	p = &readPlan{desc: md, schema: structSchema(md, map[protoreflect.FullName]*connect.Schema{})}
	c.mu.Lock()
	c.reads[key] = p
	c.mu.Unlock()
	return p, nil
}

// ToConnect implements converter.Converter as ProtobufConverter reads with
// ProtobufData's defaults: structs named after the message, every field
// optional and tagged with its number, enums as strings,
// google.protobuf.Timestamp as Connect Timestamp (epoch milliseconds).
func (c *Converter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	if len(data) < 6 || data[0] != 0 {
		return nil, nil, fmt.Errorf("topic %s: unknown magic byte: not Confluent's wire format", topic)
	}
	id := int(binary.BigEndian.Uint32(data[1:5]))
	indexes, n, err := readIndexes(data[5:])
	if err != nil {
		return nil, nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := c.readPlan(ctx, id, indexes)
	if err != nil {
		return nil, nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	msg := dynamicpb.NewMessage(p.desc)
	if err := proto.Unmarshal(data[5+n:], msg); err != nil {
		return nil, nil, fmt.Errorf("topic %s: decode %s: %w", topic, p.desc.FullName(), err)
	}
	return p.schema, structValue(p.schema, msg), nil
}

func structSchema(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*connect.Schema) *connect.Schema {
	if s, ok := seen[md.FullName()]; ok {
		return s
	}
	s := &connect.Schema{Type: connect.Struct, Name: string(md.Name())}
	seen[md.FullName()] = s
	idx := 0
	add := func(name string, fs *connect.Schema) {
		s.Fields = append(s.Fields, connect.Field{Name: name, Index: idx, Schema: fs})
		idx++
	}
	for i := 0; i < md.Oneofs().Len(); i++ {
		o := md.Oneofs().Get(i)
		if o.IsSynthetic() {
			continue
		}
		u := &connect.Schema{Type: connect.Struct, Name: unionPrefix + string(o.Name()), Optional: true}
		for j := 0; j < o.Fields().Len(); j++ {
			f := o.Fields().Get(j)
			u.Fields = append(u.Fields, connect.Field{Name: string(f.Name()), Index: j, Schema: fieldSchema(f, seen)})
		}
		add(string(o.Name()), u)
	}
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
			continue
		}
		add(string(f.Name()), fieldSchema(f, seen))
	}
	return s
}

func fieldSchema(f protoreflect.FieldDescriptor, seen map[protoreflect.FullName]*connect.Schema) *connect.Schema {
	var s *connect.Schema
	if f.IsMap() {
		s = &connect.Schema{Type: connect.Map, Key: fieldSchema(f.MapKey(), seen), Value: fieldSchema(f.MapValue(), seen)}
	} else {
		s = elementSchema(f, seen)
		if f.IsList() {
			el := *s
			el.Optional = true
			s = &connect.Schema{Type: connect.Array, Value: &el}
		}
	}
	out := *s
	out.Optional = true
	out.Params = append(append([]connect.Param(nil), out.Params...), connect.Param{Key: tagParam, Value: strconv.Itoa(int(f.Number()))})
	return &out
}

func elementSchema(f protoreflect.FieldDescriptor, seen map[protoreflect.FullName]*connect.Schema) *connect.Schema {
	param := func(t connect.Type, kind string) *connect.Schema {
		return &connect.Schema{Type: t, Params: []connect.Param{{Key: connectNamespace + ".Type", Value: kind}}}
	}
	switch f.Kind() {
	case protoreflect.Int32Kind:
		return &connect.Schema{Type: connect.Int32}
	case protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return param(connect.Int32, f.Kind().String())
	case protoreflect.Int64Kind:
		return &connect.Schema{Type: connect.Int64}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Sint64Kind, protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return param(connect.Int64, f.Kind().String())
	case protoreflect.FloatKind:
		return &connect.Schema{Type: connect.Float32}
	case protoreflect.DoubleKind:
		return &connect.Schema{Type: connect.Float64}
	case protoreflect.BoolKind:
		return &connect.Schema{Type: connect.Boolean}
	case protoreflect.StringKind:
		return &connect.Schema{Type: connect.String}
	case protoreflect.BytesKind:
		return &connect.Schema{Type: connect.Bytes}
	case protoreflect.EnumKind:
		e := f.Enum()
		s := &connect.Schema{Type: connect.String, Name: string(e.Name()), Params: []connect.Param{{Key: enumParam, Value: string(e.Name())}}}
		for i := 0; i < e.Values().Len(); i++ {
			v := e.Values().Get(i)
			s.Params = append(s.Params, connect.Param{Key: enumParam + "." + string(v.Name()), Value: strconv.Itoa(int(v.Number()))})
		}
		return s
	}
	if f.Message().FullName() == timestampType {
		return &connect.Schema{Type: connect.Int64, Name: connect.TimestampName, Version: 1}
	}
	return structSchema(f.Message(), seen)
}

func structValue(s *connect.Schema, m protoreflect.Message) *connect.StructValue {
	out := connect.NewStruct(s)
	md := m.Descriptor()
	for i, f := range s.Fields {
		if f.Schema.Type == connect.Struct && len(f.Schema.Name) > len(unionPrefix) && f.Schema.Name[:len(unionPrefix)] == unionPrefix {
			o := md.Oneofs().ByName(protoreflect.Name(f.Name))
			if fd := m.WhichOneof(o); fd != nil {
				u := connect.NewStruct(f.Schema)
				for j, uf := range f.Schema.Fields {
					if uf.Name == string(fd.Name()) {
						u.Values[j] = fieldValue(uf.Schema, fd, m.Get(fd))
					}
				}
				out.Values[i] = u
			}
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(f.Name))
		if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && !m.Has(fd) {
			continue // an unset message field is null
		}
		out.Values[i] = fieldValue(f.Schema, fd, m.Get(fd))
	}
	return out
}

func fieldValue(s *connect.Schema, fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch {
	case fd.IsMap():
		var out connect.MapValue
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			out = append(out, connect.MapEntry{Key: scalarValue(fd.MapKey(), k.Value()), Value: fieldValue(s.Value, fd.MapValue(), mv)})
			return true
		})
		return out
	case fd.IsList():
		l := v.List()
		out := make([]any, l.Len())
		for i := range out {
			out[i] = elementValue(s.Value, fd, l.Get(i))
		}
		return out
	}
	return elementValue(s, fd, v)
}

func elementValue(s *connect.Schema, fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	if fd.Kind() != protoreflect.MessageKind {
		return scalarValue(fd, v)
	}
	m := v.Message()
	if s.Name == connect.TimestampName {
		fs := m.Descriptor().Fields()
		sec, nanos := m.Get(fs.ByName("seconds")).Int(), m.Get(fs.ByName("nanos")).Int()
		return time.Unix(sec, nanos).UnixMilli()
	}
	return structValue(s, m)
}

func scalarValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return int32(v.Int())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return int64(v.Uint())
	case protoreflect.FloatKind:
		return float32(v.Float())
	case protoreflect.DoubleKind:
		return v.Float()
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BytesKind:
		return append([]byte(nil), v.Bytes()...)
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	}
	return nil
}
