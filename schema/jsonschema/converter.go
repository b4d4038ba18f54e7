package jsonschema

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/schema/registry"
)

// ConverterClass is the class name Kafka Connect configs use.
const ConverterClass = "io.confluent.connect.json.JsonSchemaConverter"

// Registry is what the converter needs from a schema registry;
// *registry.Client is one.
type Registry interface {
	RegisterSchema(ctx context.Context, subject string, req registry.RegisterRequest) (int, error)
	LookupSchema(ctx context.Context, subject string, req registry.RegisterRequest) (registry.SubjectVersion, error)
	Schema(ctx context.Context, id int) (registry.SchemaResponse, error)
}

// ConverterConfig is the JsonSchemaConverter's configuration.
type ConverterConfig struct {
	Registry registry.Config
	// AutoRegister is auto.register.schemas (default true); without it
	// the schema must already be registered under the subject.
	AutoRegister bool
	Data         DataConfig
	// CacheSize is schemas.cache.size (default 1000).
	CacheSize int
}

// ParseConverterConfig reads the converter's properties (without the
// key.converter./value.converter. prefix). Properties Tributary does not
// implement are refused with the reason rather than ignored.
func ParseConverterConfig(props map[string]string) (ConverterConfig, error) {
	cfg := ConverterConfig{AutoRegister: true, CacheSize: 1000}
	reg, err := registry.ConfigFromProperties(props)
	if err != nil {
		return cfg, err
	}
	cfg.Registry = reg
	var errs []string
	boolProp := func(k, v string) bool {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: not a boolean", k, v))
		}
		return b
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := props[k]
		switch k {
		case "converter.type":
		case "auto.register.schemas":
			cfg.AutoRegister = boolProp(k, v)
		case "object.additional.properties":
			cfg.Data.NoAdditionalProperties = !boolProp(k, v)
		case "decimal.format":
			switch strings.ToUpper(strings.TrimSpace(v)) {
			case "BASE64":
			case "NUMERIC":
				cfg.Data.DecimalNumeric = true
			default:
				errs = append(errs, fmt.Sprintf("decimal.format=%q: must be BASE64 or NUMERIC", v))
			}
		case "schemas.cache.size":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				errs = append(errs, fmt.Sprintf("schemas.cache.size=%q: not a positive integer", v))
			}
			cfg.CacheSize = n
		case "key.subject.name.strategy", "value.subject.name.strategy":
			if s := strings.TrimPrefix(strings.TrimSpace(v), "io.confluent.kafka.serializers.subject."); s != "TopicNameStrategy" {
				errs = append(errs, fmt.Sprintf("%s=%q: the JsonSchemaConverter here supports only TopicNameStrategy", k, v))
			}
		case "json.fail.invalid.schema", "use.latest.version":
			if boolProp(k, v) {
				errs = append(errs, fmt.Sprintf("%s=true is not supported by Tributary's JsonSchemaConverter", k))
			}
		default:
			if registry.IsClientProperty(k) {
				continue
			}
			errs = append(errs, fmt.Sprintf("unknown JsonSchemaConverter property %q", k))
		}
	}
	if len(errs) > 0 {
		return cfg, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return cfg, nil
}

// Converter is Confluent's JsonSchemaConverter: Connect data to JSON with
// the schema registered as a JSON Schema, in Confluent's wire format (magic
// byte 0, the schema id as four big-endian bytes, then the JSON).
type Converter struct {
	cfg   ConverterConfig
	isKey bool
	reg   Registry

	mu      sync.Mutex
	texts   map[*connect.Schema]string
	ids     map[string]int // subject + "\x00" + text → id
	readers map[int]string // id → Kafka Connect JSON schema of the envelope
	json    *converter.JSON
}

// NewConverter returns a converter using reg.
func NewConverter(cfg ConverterConfig, isKey bool, reg Registry) (*Converter, error) {
	props := map[string]string{"schemas.enable": "true"}
	if cfg.Data.DecimalNumeric {
		props["decimal.format"] = "NUMERIC"
	}
	j, err := converter.NewJSON(props)
	if err != nil {
		return nil, err
	}
	if cfg.CacheSize < 1 {
		cfg.CacheSize = 1000
	}
	return &Converter{cfg: cfg, isKey: isKey, reg: reg, texts: map[*connect.Schema]string{},
		ids: map[string]int{}, readers: map[int]string{}, json: j}, nil
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
	return NewConverter(cfg, isKey, client)
}

func (c *Converter) subject(topic string) string {
	if c.isKey {
		return topic + "-key"
	}
	return topic + "-value"
}

// SchemaText is the JSON Schema the converter registers for s.
func (c *Converter) SchemaText(s *connect.Schema) (string, error) {
	c.mu.Lock()
	t, ok := c.texts[s]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := FromConnectSchema(s, c.cfg.Data)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	if len(c.texts) >= c.cfg.CacheSize {
		c.texts = map[*connect.Schema]string{}
	}
	c.texts[s] = t
	c.mu.Unlock()
	return t, nil
}

func (c *Converter) id(topic, text string) (int, error) {
	subject := c.subject(topic)
	key := subject + "\x00" + text
	c.mu.Lock()
	id, ok := c.ids[key]
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	ctx, cancel := registryContext()
	defer cancel()
	var err error
	if c.cfg.AutoRegister {
		id, err = c.reg.RegisterSchema(ctx, subject, registry.RegisterRequest{Schema: text, SchemaType: "JSON"})
	} else {
		var v registry.SubjectVersion
		v, err = c.reg.LookupSchema(ctx, subject, registry.RegisterRequest{Schema: text, SchemaType: "JSON"})
		id = v.ID
	}
	if err != nil {
		return 0, fmt.Errorf("topic %s: %w", topic, err)
	}
	c.mu.Lock()
	if len(c.ids) >= c.cfg.CacheSize {
		c.ids = map[string]int{}
	}
	c.ids[key] = id
	c.mu.Unlock()
	return id, nil
}

// FromConnect implements converter.Converter. A nil value is a tombstone.
func (c *Converter) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	if v == nil && (s == nil || s.Optional) {
		return nil, nil
	}
	if s == nil {
		return nil, fmt.Errorf("topic %s: the JsonSchemaConverter needs a schema", topic)
	}
	text, err := c.SchemaText(s)
	if err != nil {
		return nil, fmt.Errorf("topic %s: JSON schema of %s: %w", topic, s.Name, err)
	}
	id, err := c.id(topic, text)
	if err != nil {
		return nil, err
	}
	payload, err := encodeValue(s, v, c.cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	out := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, payload...), nil
}

// ToConnect implements converter.Converter for data written with schemas
// Connect derived (JsonSchemaData's annotations: connect.index,
// connect.type, title); other JSON Schemas are refused with the reason.
func (c *Converter) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	if len(data) < 5 || data[0] != 0 {
		return nil, nil, fmt.Errorf("topic %s: unknown magic byte: not Confluent's wire format", topic)
	}
	id := int(binary.BigEndian.Uint32(data[1:5]))
	c.mu.Lock()
	envSchema, ok := c.readers[id]
	c.mu.Unlock()
	if !ok {
		ctx, cancel := registryContext()
		defer cancel()
		resp, err := c.reg.Schema(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("topic %s: %w", topic, err)
		}
		if resp.SchemaType != "JSON" {
			return nil, nil, fmt.Errorf("topic %s: schema id %d is %q, not a JSON schema", topic, id, resp.SchemaType)
		}
		var v any
		dec := json.NewDecoder(strings.NewReader(resp.Schema))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("topic %s: schema id %d: %w", topic, id, err)
		}
		raw, err := connectSchemaJSON(v, "#")
		if err != nil {
			return nil, nil, fmt.Errorf("topic %s: schema id %d: %w", topic, id, err)
		}
		envSchema = raw
		c.mu.Lock()
		if len(c.readers) >= c.cfg.CacheSize {
			c.readers = map[int]string{}
		}
		c.readers[id] = envSchema
		c.mu.Unlock()
	}
	env := `{"schema":` + envSchema + `,"payload":` + string(data[5:]) + `}`
	return c.json.ToConnect(topic, []byte(env))
}

// connectSchemaJSON turns a Connect-derived JSON Schema into the schema
// JSON of Kafka's JsonConverter envelope, whose parser then builds the
// Connect schema and reads the payload.
func connectSchemaJSON(v any, path string) (string, error) {
	o, ok := v.(map[string]any)
	if !ok {
		return "", fmt.Errorf("%s: not a schema object", path)
	}
	optional := false
	if one, ok := o["oneOf"].([]any); ok {
		if len(one) != 2 {
			return "", fmt.Errorf("%s: oneOf of %d schemas is not a Connect optional (JsonSchemaData writes oneOf null and one schema)", path, len(one))
		}
		var inner any
		for _, s := range one {
			if m, _ := s.(map[string]any); m != nil && m["type"] == "null" && len(m) == 1 {
				optional = true
			} else {
				inner = s
			}
		}
		if !optional {
			return "", fmt.Errorf("%s: oneOf without a null branch is not supported", path)
		}
		o, ok = inner.(map[string]any)
		if !ok {
			return "", fmt.Errorf("%s/oneOf: not a schema object", path)
		}
	}
	out := &obj{}
	ct, _ := o["connect.type"].(string)
	typ, _ := o["type"].(string)
	switch {
	case typ == "object" && ct == "map":
		vs, err := connectSchemaJSON(o["additionalProperties"], path+"/additionalProperties")
		if err != nil {
			return "", err
		}
		out.putStr("type", "map")
		out.put("keys", `{"type":"string","optional":false}`)
		out.put("values", vs)
	case typ == "object":
		props, _ := o["properties"].(map[string]any)
		names := make([]string, 0, len(props))
		for n := range props {
			names = append(names, n)
		}
		idx := func(n string) int64 {
			m, _ := props[n].(map[string]any)
			num, _ := m["connect.index"].(json.Number)
			i, err := num.Int64()
			if err != nil {
				return 1 << 40
			}
			return i
		}
		sort.SliceStable(names, func(i, j int) bool {
			if idx(names[i]) != idx(names[j]) {
				return idx(names[i]) < idx(names[j])
			}
			return names[i] < names[j]
		})
		var fields []string
		for _, n := range names {
			fs, err := connectSchemaJSON(props[n], path+"/properties/"+n)
			if err != nil {
				return "", err
			}
			// Insert the field name into the field's schema object.
			fields = append(fields, `{"field":`+quote(n)+`,`+strings.TrimPrefix(fs, "{"))
		}
		out.putStr("type", "struct")
		out.put("fields", "["+strings.Join(fields, ",")+"]")
	case typ == "array" && ct == "map":
		return "", fmt.Errorf("%s: maps with non-string keys are not supported when reading", path)
	case typ == "array":
		is, err := connectSchemaJSON(o["items"], path+"/items")
		if err != nil {
			return "", err
		}
		out.putStr("type", "array")
		out.put("items", is)
	case typ == "integer":
		switch ct {
		case "int8", "int16", "int32", "int64":
			out.putStr("type", ct)
		case "":
			out.putStr("type", "int64")
		default:
			return "", fmt.Errorf("%s: integer with connect.type %q", path, ct)
		}
	case typ == "number":
		switch ct {
		case "float32":
			out.putStr("type", "float")
		case "float64", "":
			out.putStr("type", "double")
		case "bytes":
			out.putStr("type", "bytes")
		default:
			return "", fmt.Errorf("%s: number with connect.type %q", path, ct)
		}
	case typ == "string":
		if ct == "bytes" {
			out.putStr("type", "bytes")
		} else {
			out.putStr("type", "string")
		}
	case typ == "boolean":
		out.putStr("type", "boolean")
	case o["enum"] != nil:
		out.putStr("type", "string")
	default:
		return "", fmt.Errorf("%s: JSON schema type %v is not one JsonSchemaData writes", path, o["type"])
	}
	out.put("optional", strconv.FormatBool(optional))
	if t, ok := o["title"].(string); ok {
		out.putStr("name", t)
	}
	if ver, ok := o["connect.version"].(json.Number); ok {
		out.put("version", ver.String())
	}
	if d, ok := o["description"].(string); ok {
		out.putStr("doc", d)
	}
	if p, ok := o["connect.parameters"].(map[string]any); ok {
		b, _ := json.Marshal(p)
		out.put("parameters", string(b))
	}
	if d, ok := o["default"]; ok {
		b, _ := json.Marshal(d)
		out.put("default", string(b))
	}
	return out.String(), nil
}

// registryContext is the context of registry requests: the client bounds
// each attempt (http.connect.timeout.ms, http.read.timeout.ms) and their
// number (max.retries), as Confluent's RestService does, so no overall
// limit is added that would cut configured retries short.
func registryContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
