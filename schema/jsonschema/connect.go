package jsonschema

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
)

// Names Confluent's JsonSchemaData uses.
const (
	connectTypeProp   = "connect.type"
	connectVersion    = "connect.version"
	connectParameters = "connect.parameters"
	connectIndex      = "connect.index"
	jsonNamespace     = "io.confluent.connect.json"
	jsonIDParam       = jsonNamespace + ".Id"
	jsonEnumParam     = jsonNamespace + ".Enum"
)

// DataConfig holds the JsonSchemaData settings the converter takes.
type DataConfig struct {
	// NoAdditionalProperties is object.additional.properties=false:
	// struct schemas get "additionalProperties":false.
	NoAdditionalProperties bool
	// DecimalNumeric is decimal.format=NUMERIC: decimals are JSON numbers
	// (and number schemas) rather than base64 strings.
	DecimalNumeric bool
}

// obj is a JSON object under construction, keys in writing order.
type obj struct {
	keys []string
	vals []string
}

func (o *obj) put(k string, raw string) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, raw)
}

func (o *obj) putStr(k, v string) { o.put(k, quote(v)) }

func (o *obj) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quote(k))
		b.WriteByte(':')
		b.WriteString(o.vals[i])
	}
	b.WriteByte('}')
	return b.String()
}

// quote writes a JSON string as Jackson does (no HTML escaping).
func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// unprocessed is a schema's annotation map (a HashMap in JsonSchemaData,
// copied by everit's builder).
type unprocessed struct {
	keys []string
	vals map[string]string
}

func (u *unprocessed) set(k, raw string) {
	if u.vals == nil {
		u.vals = map[string]string{}
	}
	if _, ok := u.vals[k]; !ok {
		u.keys = append(u.keys, k)
	}
	u.vals[k] = raw
}

func (u *unprocessed) writeTo(o *obj) {
	if len(u.keys) == 0 {
		return
	}
	for _, k := range hashMapOrder(u.keys, true) {
		o.put(k, u.vals[k])
	}
}

// common is what everit's ToStringVisitor.visitSchema writes for every
// schema: title, description, default, id, then the annotations.
type common struct {
	title, description string
	def                string // raw JSON, "" for none
	id                 string
	props              unprocessed
}

func (c *common) writeTo(o *obj) {
	if c.title != "" {
		o.putStr("title", c.title)
	}
	if c.description != "" {
		o.putStr("description", c.description)
	}
	if c.def != "" {
		o.put("default", c.def)
	}
	if c.id != "" {
		// Without "$schema" everit takes draft 4, whose id keyword is "id".
		o.putStr("id", c.id)
	}
	c.props.writeTo(o)
}

// FromConnectSchema returns the JSON Schema Confluent's JsonSchemaData
// derives from a Connect schema, as the text Confluent registers.
func FromConnectSchema(s *connect.Schema, cfg DataConfig) (string, error) {
	g := &generator{cfg: cfg, ids: map[string]bool{}}
	return g.schema(s, -1, false)
}

type generator struct {
	cfg DataConfig
	ids map[string]bool
}

func intRaw(i int) string { return strconv.Itoa(i) }

func (g *generator) schema(s *connect.Schema, index int, ignoreOptional bool) (string, error) {
	if s == nil {
		return "", fmt.Errorf("nil schema")
	}
	id, hasID := s.Param(jsonIDParam)
	if hasID {
		g.ids[id] = true
	}
	var c common
	o := &obj{}
	kind := ""
	var tail func(*obj) error // what the visitor writes after the common part
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		kind = "integer"
		c.props.set(connectTypeProp, quote(string(s.Type)))
	case connect.Float32:
		kind = "number"
		c.props.set(connectTypeProp, quote("float32"))
	case connect.Float64:
		kind = "number"
		c.props.set(connectTypeProp, quote("float64"))
	case connect.Boolean:
		kind = "boolean"
	case connect.String:
		if _, ok := s.Param(jsonEnumParam); ok {
			kind = "enum"
		} else {
			kind = "string"
		}
	case connect.Bytes:
		kind = "string"
		if s.Name == connect.DecimalName && g.cfg.DecimalNumeric {
			kind = "number"
		}
		c.props.set(connectTypeProp, quote("bytes"))
	case connect.Array:
		kind = "array"
		var items string
		if ref, ok := s.Value.Param(jsonIDParam); ok && g.ids[ref] {
			items = (&obj{keys: []string{"$ref"}, vals: []string{quote(ref)}}).String()
		} else {
			var err error
			if items, err = g.schema(s.Value, -1, false); err != nil {
				return "", err
			}
		}
		tail = func(o *obj) error { o.put("items", items); return nil }
	case connect.Map:
		if s.Key.Type == connect.String && !s.Key.Optional {
			kind = "object"
			c.props.set(connectTypeProp, quote("map"))
			vs, err := g.schema(s.Value, -1, false)
			if err != nil {
				return "", err
			}
			tail = func(o *obj) error { o.put("additionalProperties", vs); return nil }
		} else {
			kind = "array"
			c.props.set(connectTypeProp, quote("map"))
			ks, err := g.schema(s.Key, 0, false)
			if err != nil {
				return "", err
			}
			vs, err := g.schema(s.Value, 1, false)
			if err != nil {
				return "", err
			}
			entry := &obj{}
			entry.putStr("type", "object")
			entry.put("properties", propertiesJSON([]string{"key", "value"}, map[string]string{"key": ks, "value": vs}))
			tail = func(o *obj) error { o.put("items", entry.String()); return nil }
		}
	case connect.Struct:
		if s.Optional && !ignoreOptional {
			inner := *s
			inner.Optional = false
			body, err := g.schema(&inner, -1, false)
			if err != nil {
				return "", err
			}
			return g.nullable(body, index, id, hasID), nil
		}
		kind = "object"
		names := make([]string, 0, len(s.Fields))
		props := map[string]string{}
		for _, f := range s.Fields {
			var fs string
			if ref, ok := f.Schema.Param(jsonIDParam); ok && g.ids[ref] {
				fs = (&obj{keys: []string{"$ref"}, vals: []string{quote(ref)}}).String()
			} else {
				var err error
				if fs, err = g.schema(f.Schema, f.Index, false); err != nil {
					return "", fmt.Errorf("field %s: %w", f.Name, err)
				}
			}
			names = append(names, f.Name)
			props[f.Name] = fs
		}
		tail = func(o *obj) error {
			if len(names) > 0 {
				o.put("properties", propertiesJSON(names, props))
			}
			return nil
		}
	default:
		return "", fmt.Errorf("unsupported Connect type %s", s.Type)
	}

	c.title = s.Name
	if s.Version != 0 {
		c.props.set(connectVersion, intRaw(s.Version))
	}
	c.description = s.Doc
	var params []string
	pvals := map[string]string{}
	for _, p := range s.Params {
		if !strings.HasPrefix(p.Key, jsonNamespace) {
			params = append(params, p.Key)
			pvals[p.Key] = p.Value
		}
	}
	if len(params) > 0 {
		// JsonSchemaData collects them into a HashMap, which org.json
		// copies again when writing.
		po := &obj{}
		for _, k := range jsonObjectOrder(hashMapOrder(params, false)) {
			po.putStr(k, pvals[k])
		}
		c.props.set(connectParameters, po.String())
	}
	if s.HasDefault && s.Default != nil {
		d, err := defaultJSON(s, g.cfg)
		if err != nil {
			return "", fmt.Errorf("default value: %w", err)
		}
		c.def = d
	}
	optional := s.Optional && !ignoreOptional
	if !optional && hasID {
		c.id = id
	}
	if !optional && index >= 0 {
		c.props.set(connectIndex, intRaw(index))
	}

	// The type-specific leading keywords, then the common part, then
	// the rest, in ToStringVisitor's order.
	switch kind {
	case "integer", "number", "string", "array", "object":
		o.putStr("type", kind)
		if kind == "object" && s.Type == connect.Struct && g.cfg.NoAdditionalProperties {
			o.put("additionalProperties", "false")
		}
		c.writeTo(o)
	case "boolean":
		c.writeTo(o)
		o.putStr("type", "boolean")
	case "enum":
		var symbols []string
		for _, p := range s.Params {
			if strings.HasPrefix(p.Key, jsonEnumParam+".") {
				symbols = append(symbols, quote(strings.TrimPrefix(p.Key, jsonEnumParam+".")))
			}
		}
		o.put("enum", "["+strings.Join(symbols, ",")+"]")
		c.writeTo(o)
	}
	if tail != nil {
		if err := tail(o); err != nil {
			return "", err
		}
	}
	body := o.String()
	if optional {
		return g.nullable(body, index, id, hasID), nil
	}
	return body, nil
}

// nullable wraps an optional schema as JsonSchemaData does: oneOf null and
// the schema, the field index on the wrapper.
func (g *generator) nullable(body string, index int, id string, hasID bool) string {
	o := &obj{}
	var c common
	if hasID {
		c.id = id
	}
	if index >= 0 {
		c.props.set(connectIndex, intRaw(index))
	}
	c.writeTo(o)
	o.put("oneOf", `[{"type":"null"},`+body+`]`)
	return o.String()
}

// propertiesJSON writes "properties" in the order everit's HashMap gives.
func propertiesJSON(names []string, schemas map[string]string) string {
	o := &obj{}
	for _, n := range hashMapOrder(names, true) {
		o.put(n, schemas[n])
	}
	return o.String()
}

// defaultJSON renders a schema's default as JsonSchemaData hands it to
// everit: through org.json, whose numbers drop a trailing ".0".
func defaultJSON(s *connect.Schema, cfg DataConfig) (string, error) {
	if s.Type == connect.Bytes && s.Name != connect.DecimalName {
		b, ok := s.Default.([]byte)
		if !ok {
			return "", fmt.Errorf("bytes default is %T", s.Default)
		}
		return quote(base64.StdEncoding.EncodeToString(b)), nil
	}
	plain := *s
	plain.Optional = false
	raw, err := encodeValue(&plain, s.Default, cfg)
	if err != nil {
		return "", err
	}
	out := string(raw)
	if (s.Type == connect.Float32 || s.Type == connect.Float64) && strings.Contains(out, ".") && !strings.ContainsAny(out, "eE") {
		out = strings.TrimRight(strings.TrimRight(out, "0"), ".")
	}
	return out, nil
}

// encodeValue writes a Connect value as JsonSchemaData.fromConnectData
// and Jackson do: Kafka's JsonConverter without envelope, except that maps
// with non-string keys become arrays of {"key","value"} objects.
func encodeValue(s *connect.Schema, v any, cfg DataConfig) ([]byte, error) {
	props := map[string]string{"schemas.enable": "false", "schemas.cache.size": "0"}
	if cfg.DecimalNumeric {
		props["decimal.format"] = "NUMERIC"
	}
	j, err := converter.NewJSON(props)
	if err != nil {
		return nil, err
	}
	s2, v2, err := entryMaps(s, v)
	if err != nil {
		return nil, err
	}
	return j.FromConnect("", s2, v2)
}

// needsEntries reports whether s holds a map JsonSchemaData writes as an
// array of key/value objects.
func needsEntries(s *connect.Schema) bool {
	if s == nil {
		return false
	}
	switch s.Type {
	case connect.Map:
		return s.Key.Type != connect.String || s.Key.Optional || needsEntries(s.Value)
	case connect.Array:
		return needsEntries(s.Value)
	case connect.Struct:
		for _, f := range s.Fields {
			if needsEntries(f.Schema) {
				return true
			}
		}
	}
	return false
}

// entryMaps rewrites maps with non-string (or optional) keys into arrays of
// {"key","value"} structs, so that the JsonConverter writer produces what
// JsonSchemaData does; other values pass through.
func entryMaps(s *connect.Schema, v any) (*connect.Schema, any, error) {
	if !needsEntries(s) {
		return s, v, nil
	}
	ns := rewriteSchema(s)
	nv, err := rewriteValue(s, ns, v)
	return ns, nv, err
}

func rewriteSchema(s *connect.Schema) *connect.Schema {
	if !needsEntries(s) {
		return s
	}
	out := *s
	switch s.Type {
	case connect.Map:
		if s.Key.Type == connect.String && !s.Key.Optional {
			out.Value = rewriteSchema(s.Value)
			return &out
		}
		entry := connect.NewBuilder(connect.Struct).Field("key", rewriteSchema(s.Key)).Field("value", rewriteSchema(s.Value)).MustBuild()
		b := connect.NewBuilder(connect.Array).SetOptional(s.Optional)
		arr := b.MustBuild()
		arr.Value = entry
		return arr
	case connect.Array:
		out.Value = rewriteSchema(s.Value)
	case connect.Struct:
		b := connect.NewBuilder(connect.Struct).Name(s.Name).SetOptional(s.Optional)
		for _, f := range s.Fields {
			b.Field(f.Name, rewriteSchema(f.Schema))
		}
		ns := b.MustBuild()
		return ns
	}
	return &out
}

func rewriteValue(old, s *connect.Schema, v any) (any, error) {
	if v == nil || !needsEntries(old) {
		return v, nil
	}
	switch old.Type {
	case connect.Map:
		m, ok := v.(connect.MapValue)
		if !ok {
			return nil, fmt.Errorf("map value is %T", v)
		}
		if old.Key.Type == connect.String && !old.Key.Optional {
			out := make(connect.MapValue, len(m))
			for i, e := range m {
				nv, err := rewriteValue(old.Value, s.Value, e.Value)
				if err != nil {
					return nil, err
				}
				out[i] = connect.MapEntry{Key: e.Key, Value: nv}
			}
			return out, nil
		}
		out := make([]any, len(m))
		for i, e := range m {
			k, err := rewriteValue(old.Key, s.Value.Fields[0].Schema, e.Key)
			if err != nil {
				return nil, err
			}
			val, err := rewriteValue(old.Value, s.Value.Fields[1].Schema, e.Value)
			if err != nil {
				return nil, err
			}
			out[i] = connect.NewStruct(s.Value).Set("key", k).Set("value", val)
		}
		return out, nil
	case connect.Array:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("array value is %T", v)
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			nv, err := rewriteValue(old.Value, s.Value, e)
			if err != nil {
				return nil, err
			}
			out[i] = nv
		}
		return out, nil
	case connect.Struct:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return nil, fmt.Errorf("struct value is %T", v)
		}
		out := connect.NewStruct(s)
		for i, f := range old.Fields {
			nv, err := rewriteValue(f.Schema, s.Fields[i].Schema, sv.Values[i])
			if err != nil {
				return nil, err
			}
			out.Values[i] = nv
		}
		return out, nil
	}
	return v, nil
}
