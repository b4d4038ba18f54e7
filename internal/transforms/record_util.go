package transforms

import (
	"fmt"
	"sync"

	"github.com/tributary-io/tributary/connect"
)

// DataError is Kafka Connect's DataException: a record a transform cannot
// handle. Its message is Kafka's, so that it can be searched for.
type DataError struct{ Msg string }

func (e *DataError) Error() string { return e.Msg }

func dataErrorf(format string, args ...any) error {
	return &DataError{Msg: fmt.Sprintf(format, args...)}
}

// side is the part of a record a $Key or $Value transform works on.
type side bool

const (
	keySide   side = true
	valueSide side = false
)

func (s side) get(rec *connect.Record) (*connect.Schema, any) {
	if s == keySide {
		return rec.KeySchema, rec.Key
	}
	return rec.ValueSchema, rec.Value
}

// with returns a copy of rec with the side's schema and value replaced
// (record.newRecord in Java).
func (s side) with(rec *connect.Record, schema *connect.Schema, v any) *connect.Record {
	cp := *rec
	if s == keySide {
		cp.KeySchema, cp.Key = schema, v
	} else {
		cp.ValueSchema, cp.Value = schema, v
	}
	return &cp
}

// sideVariants registers a transform's $Key and $Value classes.
func sideVariants(m map[string]Factory, class string, f func(side, map[string]string) (Transform, error)) {
	m[class+"$Key"] = func(p map[string]string) (Transform, error) { return f(keySide, p) }
	m[class+"$Value"] = func(p map[string]string) (Transform, error) { return f(valueSide, p) }
}

// schemaCache maps an input schema to the schema a transform makes of it,
// so that a stream of records sharing a schema builds it once. Kafka keys
// its cache by schema equality; here the key is the schema pointer, which
// connectors and earlier transforms reuse for every record of a table. It
// is bounded like Kafka's LRUCache(16), cleared when full, so that a
// source building a schema per record cannot grow it without limit.
type schemaCache struct {
	mu sync.Mutex
	m  map[*connect.Schema]*connect.Schema
}

const schemaCacheSize = 64

func (c *schemaCache) get(in *connect.Schema, build func(*connect.Schema) (*connect.Schema, error)) (*connect.Schema, error) {
	c.mu.Lock()
	out, ok := c.m[in]
	c.mu.Unlock()
	if ok {
		return out, nil
	}
	out, err := build(in)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= schemaCacheSize {
		c.m = make(map[*connect.Schema]*connect.Schema, 8)
	}
	c.m[in] = out
	c.mu.Unlock()
	return out, nil
}

// className is Java's getClass().getName() for a Go value, for Kafka's
// messages that name the class of an unexpected value.
func className(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case int8:
		return "java.lang.Byte"
	case int16:
		return "java.lang.Short"
	case int32:
		return "java.lang.Integer"
	case int64:
		return "java.lang.Long"
	case float32:
		return "java.lang.Float"
	case float64:
		return "java.lang.Double"
	case bool:
		return "java.lang.Boolean"
	case []byte:
		return "[B"
	case []any:
		return "java.util.ArrayList"
	case map[string]any, connect.MapValue:
		return "java.util.HashMap"
	case *connect.StructValue:
		return "org.apache.kafka.connect.data.Struct"
	}
	return fmt.Sprintf("%T", v)
}

// requireStruct is Kafka's Requirements.requireStruct.
func requireStruct(v any, purpose string) (*connect.StructValue, error) {
	s, ok := v.(*connect.StructValue)
	if !ok || s == nil {
		return nil, dataErrorf("Only Struct objects supported for [%s], found: %s", purpose, className(v))
	}
	return s, nil
}

// requireMap is Kafka's Requirements.requireMap. Schemaless maps are
// map[string]any (what the JsonConverter produces); a connect.MapValue
// with string keys is accepted and converted.
func requireMap(v any, purpose string) (map[string]any, error) {
	switch m := v.(type) {
	case map[string]any:
		return m, nil
	case connect.MapValue:
		out := make(map[string]any, len(m))
		for _, e := range m {
			k, ok := e.Key.(string)
			if !ok {
				return nil, dataErrorf("Only Map objects with string keys supported in absence of schema for [%s], found key: %s", purpose, className(e.Key))
			}
			out[k] = e.Value
		}
		return out, nil
	}
	return nil, dataErrorf("Only Map objects supported in absence of schema for [%s], found: %s", purpose, className(v))
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// fieldValue is Struct.get (the field's default replaces a null) when
// withDefault, Struct.getWithoutDefault otherwise.
func fieldValue(v *connect.StructValue, f connect.Field, withDefault bool) any {
	x := v.Values[f.Index]
	if x == nil && withDefault && f.Schema.HasDefault {
		return f.Schema.Default
	}
	return x
}

// structBuilder starts a struct schema with schema's name, version, doc
// and parameters (SchemaUtil.copySchemaBasics(schema, SchemaBuilder.struct())).
func structBuilder(schema *connect.Schema) *connect.Builder {
	b := connect.StructBuilder().Name(schema.Name).Version(schema.Version).Doc(schema.Doc)
	for _, p := range schema.Params {
		b.Param(p.Key, p.Value)
	}
	return b
}
