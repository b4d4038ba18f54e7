package protobuf

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/registry"
)

// ConverterClass is the class name Kafka Connect configs use.
const ConverterClass = "io.confluent.connect.protobuf.ProtobufConverter"

// Registry is what the converter needs from a schema registry;
// *registry.Client is one.
type Registry interface {
	RegisterSchema(ctx context.Context, subject string, req registry.RegisterRequest) (int, error)
	LookupSchema(ctx context.Context, subject string, req registry.RegisterRequest) (registry.SubjectVersion, error)
}

// ConverterConfig is the ProtobufConverter's configuration.
type ConverterConfig struct {
	Registry     registry.Config
	AutoRegister bool
}

// ParseConverterConfig reads the converter's properties; ProtobufData
// settings other than their defaults are refused with the reason.
func ParseConverterConfig(props map[string]string) (ConverterConfig, error) {
	cfg := ConverterConfig{AutoRegister: true}
	reg, err := registry.ConfigFromProperties(props)
	if err != nil {
		return cfg, err
	}
	cfg.Registry = reg
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs []string
	for _, k := range keys {
		v := strings.TrimSpace(props[k])
		switch k {
		case "converter.type":
		case "auto.register.schemas":
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: not a boolean", k, v))
			}
			cfg.AutoRegister = b
		case "key.subject.name.strategy", "value.subject.name.strategy":
			if strings.TrimPrefix(v, "io.confluent.kafka.serializers.subject.") != "TopicNameStrategy" {
				errs = append(errs, fmt.Sprintf("%s=%q: Tributary's ProtobufConverter supports only TopicNameStrategy", k, v))
			}
		case "wrapper.for.nullables", "optional.for.nullables", "scrub.invalid.names", "enhanced.protobuf.schema.support",
			"generate.index.for.unions", "int.for.enums", "use.latest.version", "generalized.sum.type.support":
			if b, _ := strconv.ParseBool(v); b {
				errs = append(errs, fmt.Sprintf("%s=true is not supported by Tributary's ProtobufConverter", k))
			}
		default:
			if registry.IsClientProperty(k) {
				continue
			}
			errs = append(errs, fmt.Sprintf("unknown ProtobufConverter property %q", k))
		}
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

// Converter is Confluent's ProtobufConverter: Connect structs to protobuf
// messages, with the schema registered as PROTOBUF, in Confluent's wire
// format: magic byte 0, the schema id (four bytes, big-endian), the
// message-index list (zigzag varints; the root message [0] as the single
// byte 0), then the message.
type Converter struct {
	cfg   ConverterConfig
	isKey bool
	reg   Registry

	mu    sync.Mutex
	plans map[*connect.Schema]*protoPlan
	ids   map[string]int
	reads map[string]*readPlan
}

type protoPlan struct {
	text string
	desc protoreflect.MessageDescriptor
}

// NewConverter returns a converter using reg.
func NewConverter(cfg ConverterConfig, isKey bool, reg Registry) *Converter {
	return &Converter{cfg: cfg, isKey: isKey, reg: reg, plans: map[*connect.Schema]*protoPlan{}, ids: map[string]int{}, reads: map[string]*readPlan{}}
}

// New builds a converter from its properties.
func New(props map[string]string, isKey bool) (*Converter, error) {
	cfg, err := ParseConverterConfig(props)
	if err != nil {
		return nil, err
	}
	client, err := registry.NewClient(cfg.Registry)
	if err != nil {
		return nil, err
	}
	return NewConverter(cfg, isKey, client), nil
}

// SchemaText is the .proto schema the converter registers for s, and the
// full name of the message it writes.
func (c *Converter) SchemaText(s *connect.Schema) (string, string, error) {
	p, err := c.plan(s)
	if err != nil {
		return "", "", err
	}
	return p.text, string(p.desc.FullName()), nil
}

func (c *Converter) plan(s *connect.Schema) (*protoPlan, error) {
	c.mu.Lock()
	p, ok := c.plans[s]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	text, name, err := FromConnectSchema(s)
	if err != nil {
		return nil, err
	}
	parsed, err := Parse(text, nil)
	if err != nil {
		return nil, fmt.Errorf("generated schema does not compile: %w", err)
	}
	md := parsed.File.Messages().ByName(protoreflect.Name(unqualified(name)))
	if md == nil {
		return nil, fmt.Errorf("generated schema lacks message %s", name)
	}
	p = &protoPlan{text: text, desc: md}
	c.mu.Lock()
	if len(c.plans) > 1000 {
		c.plans = map[*connect.Schema]*protoPlan{}
	}
	c.plans[s] = p
	c.mu.Unlock()
	return p, nil
}

func (c *Converter) id(topic, text string) (int, error) {
	subject := topic + "-value"
	if c.isKey {
		subject = topic + "-key"
	}
	key := subject + "\x00" + text
	c.mu.Lock()
	id, ok := c.ids[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	ctx, cancel := registryContext()
	defer cancel()
	req := registry.RegisterRequest{Schema: text, SchemaType: "PROTOBUF"}
	var err error
	if c.cfg.AutoRegister {
		id, err = c.reg.RegisterSchema(ctx, subject, req)
	} else {
		var v registry.SubjectVersion
		v, err = c.reg.LookupSchema(ctx, subject, req)
		id = v.ID
	}
	if err != nil {
		return 0, fmt.Errorf("topic %s: %w", topic, err)
	}
	c.mu.Lock()
	c.ids[key] = id
	c.mu.Unlock()
	return id, nil
}

// FromConnect implements converter.Converter; a nil value is a tombstone.
func (c *Converter) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	p, err := c.plan(s)
	if err != nil {
		return nil, fmt.Errorf("topic %s: protobuf schema of %s: %w", topic, s.Name, err)
	}
	id, err := c.id(topic, p.text)
	if err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(p.desc)
	if err := fill(msg, s, v); err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("topic %s: encode: %w", topic, err)
	}
	out := make([]byte, 5, 6+len(body))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	// The root message is the first of the file: index list [0].
	out = append(out, 0)
	return append(out, body...), nil
}

func fill(m *dynamicpb.Message, s *connect.Schema, v any) error {
	sv, ok := v.(*connect.StructValue)
	if !ok {
		return fmt.Errorf("%s: struct value is %T", s.Name, v)
	}
	fields := m.Descriptor().Fields()
	for i, f := range s.Fields {
		fv := sv.Values[i]
		if fv == nil && f.Schema.HasDefault {
			fv = f.Schema.Default
		}
		if fv == nil {
			if !f.Schema.Optional {
				return fmt.Errorf("field %s: null for a required field", f.Name)
			}
			continue
		}
		fd := fields.ByNumber(protoreflect.FieldNumber(i + 1))
		if err := setField(m, fd, f.Schema, fv); err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
	}
	return nil
}

func setField(m *dynamicpb.Message, fd protoreflect.FieldDescriptor, s *connect.Schema, v any) error {
	switch {
	case fd.IsMap():
		mv, ok := v.(connect.MapValue)
		if !ok {
			return fmt.Errorf("map value is %T", v)
		}
		pm := m.Mutable(fd).Map()
		for _, e := range mv {
			k, err := scalar(fd.MapKey(), s.Key, e.Key)
			if err != nil {
				return fmt.Errorf("map key: %w", err)
			}
			if e.Value == nil {
				continue
			}
			val, err := value(pm.NewValue, fd.MapValue(), s.Value, e.Value)
			if err != nil {
				return fmt.Errorf("map value: %w", err)
			}
			pm.Set(k.MapKey(), val)
		}
	case fd.IsList():
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("array value is %T", v)
		}
		l := m.Mutable(fd).List()
		for i, e := range arr {
			if e == nil {
				return fmt.Errorf("element %d: protobuf lists hold no nulls", i)
			}
			val, err := value(l.NewElement, fd, s.Value, e)
			if err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
			l.Append(val)
		}
	default:
		val, err := value(func() protoreflect.Value { return m.NewField(fd) }, fd, s, v)
		if err != nil {
			return err
		}
		m.Set(fd, val)
	}
	return nil
}

func value(newMsg func() protoreflect.Value, fd protoreflect.FieldDescriptor, s *connect.Schema, v any) (protoreflect.Value, error) {
	if fd.Kind() != protoreflect.MessageKind {
		return scalar(fd, s, v)
	}
	nv := newMsg()
	dm, ok := nv.Message().Interface().(*dynamicpb.Message)
	if !ok {
		return protoreflect.Value{}, fmt.Errorf("unexpected message type %T", nv.Message().Interface())
	}
	if s.Name == connect.TimestampName {
		var t time.Time
		switch x := v.(type) {
		case time.Time:
			t = x
		case int64:
			t = time.UnixMilli(x)
		default:
			return protoreflect.Value{}, fmt.Errorf("timestamp value is %T", v)
		}
		fs := dm.Descriptor().Fields()
		dm.Set(fs.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
		dm.Set(fs.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
		return nv, nil
	}
	if err := fill(dm, s, v); err != nil {
		return protoreflect.Value{}, err
	}
	return nv, nil
}

func scalar(fd protoreflect.FieldDescriptor, s *connect.Schema, v any) (protoreflect.Value, error) {
	bad := func() (protoreflect.Value, error) {
		return protoreflect.Value{}, fmt.Errorf("%s value is %T", s.Type, v)
	}
	switch fd.Kind() {
	case protoreflect.Int32Kind:
		if x, ok := v.(int32); ok {
			return protoreflect.ValueOfInt32(x), nil
		}
	case protoreflect.Int64Kind:
		if x, ok := v.(int64); ok {
			return protoreflect.ValueOfInt64(x), nil
		}
	case protoreflect.FloatKind:
		if x, ok := v.(float32); ok {
			return protoreflect.ValueOfFloat32(x), nil
		}
	case protoreflect.DoubleKind:
		if x, ok := v.(float64); ok {
			return protoreflect.ValueOfFloat64(x), nil
		}
	case protoreflect.BoolKind:
		if x, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(x), nil
		}
	case protoreflect.StringKind:
		if x, ok := v.(string); ok {
			return protoreflect.ValueOfString(x), nil
		}
	case protoreflect.BytesKind:
		if x, ok := v.([]byte); ok {
			return protoreflect.ValueOfBytes(x), nil
		}
	}
	return bad()
}

// registryContext is the context of registry requests: the client bounds
// each attempt (http.connect.timeout.ms, http.read.timeout.ms) and their
// number (max.retries), as Confluent's RestService does, so no overall
// limit is added that would cut configured retries short.
func registryContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
