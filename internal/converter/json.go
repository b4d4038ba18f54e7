package converter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/jackson"
)

// JSON is Kafka Connect's JsonConverter. With schemas enabled each message
// is {"schema": ..., "payload": ...}; the layout, field order and number
// formatting match the Java converter so output is byte-identical.
type JSON struct {
	SchemasEnabled bool
	// DecimalNumeric writes Decimals as JSON numbers (decimal.format=NUMERIC)
	// instead of base64 of the unscaled value (BASE64, the default).
	DecimalNumeric bool

	// schemas caches the rendered JSON of each schema (as the Java
	// converter's schemas.cache.size cache does): the schema is most of
	// every message and the same few schemas recur. Set by NewJSON; a
	// literal JSON{} renders every time. Schemas are immutable once
	// built, and the cache holds them, so a pointer key cannot be reused.
	schemas *schemaCache
	// parsed caches ToConnect's schemas by their JSON text, for the same
	// reason: parsing the schema of every consumed message was most of a
	// sink's CPU time. Set by NewJSON.
	parsed *parsedCache
	// sizeHint is the last message size, to allocate the buffer once,
	// for a converter without a schema cache (each cached schema keeps
	// the size of its own last message).
	sizeHint atomic.Int64
	// buffers are FromConnectBuffer's.
	buffers bufferPool
}

// schemaCache maps *connect.Schema to its rendered JSON. It is emptied
// when it reaches max entries, which only happens if schemas are built
// per record (then caching cannot help anyway).
type schemaCache struct {
	m   sync.Map
	n   atomic.Int64
	max int64
}

// schemaEntry is a cached schema's JSON and the size of the last message
// written with it: the next one is nearly always as large, and the
// messages of one converter differ by schema (one topic's rows are ten
// times another's).
type schemaEntry struct {
	json []byte
	size atomic.Int64
}

// parsedCache maps a schema's JSON text to the parsed schema; emptied when
// it reaches max entries. Only texts that the general ToConnect path
// parsed successfully are stored.
type parsedCache struct {
	m   sync.Map
	n   atomic.Int64
	max int64
	// last is the most recent schema, compared as a prefix of the next
	// message before anything is scanned: consecutive messages of a topic
	// nearly always share their schema.
	last atomic.Pointer[cachedSchema]
	// decoders decode the payloads of messages whose schema is cached.
	decoders decoderPool
}

type cachedSchema struct {
	text string
	s    *connect.Schema
}

func (c *parsedCache) load(raw []byte) *connect.Schema {
	v, ok := c.m.Load(string(raw))
	if !ok {
		return nil
	}
	cs := v.(*cachedSchema)
	if c.last.Load() != cs {
		c.last.Store(cs)
	}
	return cs.s
}

func (c *parsedCache) store(raw []byte, s *connect.Schema) {
	if c.n.Add(1) > c.max {
		c.m.Clear()
		c.n.Store(1)
	}
	cs := &cachedSchema{text: string(raw), s: s}
	c.m.Store(cs.text, cs)
	c.last.Store(cs)
}

func (c *schemaCache) get(j *JSON, s *connect.Schema) *schemaEntry {
	if v, ok := c.m.Load(s); ok {
		return v.(*schemaEntry)
	}
	var b bytes.Buffer
	j.writeSchema(&b, s, "")
	e := &schemaEntry{json: b.Bytes()}
	if c.n.Add(1) > c.max {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(s, e)
	return e
}

// NewJSON configures a JsonConverter from its properties (without the
// key.converter./value.converter. prefix).
func NewJSON(props map[string]string) (*JSON, error) {
	j := &JSON{SchemasEnabled: true}
	cacheSize := int64(1000)
	for k, v := range props {
		switch k {
		case "schemas.enable":
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return nil, fmt.Errorf("schemas.enable=%q: not a boolean", v)
			}
			j.SchemasEnabled = b
		case "decimal.format":
			switch strings.ToUpper(strings.TrimSpace(v)) {
			case "BASE64":
			case "NUMERIC":
				j.DecimalNumeric = true
			default:
				return nil, fmt.Errorf("decimal.format=%q: must be BASE64 or NUMERIC", v)
			}
		case "schemas.cache.size":
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("schemas.cache.size=%q: not a non-negative integer", v)
			}
			cacheSize = n
		case "replace.null.with.default":
			// a null field with a schema default is written as the default
			// (writeValue): Kafka's true; false is not implemented
			if b, err := strconv.ParseBool(strings.TrimSpace(v)); err != nil || !b {
				return nil, fmt.Errorf("replace.null.with.default=%q: only true is implemented (a null field whose schema has a default is written as the default)", v)
			}
		case "converter.type":
		default:
			return nil, fmt.Errorf("unknown JsonConverter property %q", k)
		}
	}
	if cacheSize > 0 {
		j.schemas = &schemaCache{max: cacheSize}
		j.parsed = &parsedCache{max: cacheSize}
	}
	return j, nil
}

// FromConnect implements Converter. A nil value (tombstone) is written as a
// null Kafka value, as the Java converter does.
func (j *JSON) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	if j.null(s, v) {
		return nil, nil
	}
	e, size := j.lastSize(s)
	var b bytes.Buffer
	b.Grow(int(size) + 64)
	if err := j.write(&b, e, topic, s, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// FromConnectBuffer implements Pooled: FromConnect into a buffer from the
// converter's pool, large enough for the last message of the same schema.
func (j *JSON) FromConnectBuffer(topic string, s *connect.Schema, v any) (*Buffer, error) {
	if j.null(s, v) {
		return nil, nil
	}
	e, size := j.lastSize(s)
	b := j.buffers.get(int(size) + 64)
	if err := j.write(&b.buf, e, topic, s, v); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// null reports whether v converts to a null Kafka key or value.
func (j *JSON) null(s *connect.Schema, v any) bool {
	return v == nil && (s == nil || !j.SchemasEnabled)
}

// lastSize returns the schema's cache entry (nil without one) and the
// size of the last message written with it.
func (j *JSON) lastSize(s *connect.Schema) (*schemaEntry, int64) {
	if j.schemas == nil || s == nil {
		return nil, j.sizeHint.Load()
	}
	e := j.schemas.get(j, s)
	return e, e.size.Load()
}

// write writes the message for v into b; e is the schema's cache entry,
// or nil.
func (j *JSON) write(b *bytes.Buffer, e *schemaEntry, topic string, s *connect.Schema, v any) error {
	if j.SchemasEnabled {
		b.WriteString(`{"schema":`)
		switch {
		case s == nil:
			b.WriteString("null")
		case e != nil:
			b.Write(e.json)
		default:
			j.writeSchema(b, s, "")
		}
		b.WriteString(`,"payload":`)
		if err := j.writeValue(b, s, v, rootPath("payload")); err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		b.WriteByte('}')
	} else if err := j.writeValue(b, s, v, rootPath("value")); err != nil {
		return fmt.Errorf("topic %s: %w", topic, err)
	}
	if e != nil {
		e.size.Store(int64(b.Len()))
	} else {
		j.sizeHint.Store(int64(b.Len()))
	}
	return nil
}

// toConnectCached is ToConnect for an envelope whose schema text was seen
// before: the schema comes from the cache and only the payload is
// decoded, straight into the Connect value (payloadDecoder). ok is false
// whenever anything is unusual (another shape, an unknown schema, any
// error); the general path then handles the message, so results and
// errors are exactly the general path's.
func (j *JSON) toConnectCached(data []byte) (s *connect.Schema, v any, ok bool) {
	var rawPayload []byte
	const head, mid = `{"schema":`, `,"payload":`
	// The layout FromConnect writes, with the last schema seen: a prefix
	// comparison replaces scanning the schema text.
	if last := j.parsed.last.Load(); last != nil && len(data) > len(head)+len(last.text)+len(mid) &&
		string(data[:len(head)]) == head && string(data[len(head):len(head)+len(last.text)]) == last.text &&
		string(data[len(head)+len(last.text):len(head)+len(last.text)+len(mid)]) == mid &&
		data[len(data)-1] == '}' {
		s, rawPayload = last.s, data[len(head)+len(last.text)+len(mid):len(data)-1]
	} else {
		rawSchema, p, found := splitEnvelope(data)
		if !found {
			return nil, nil, false
		}
		if s = j.parsed.load(rawSchema); s == nil {
			return nil, nil, false
		}
		rawPayload = p
	}
	if v, ok = j.parsed.decoders.decodePayload(s, rawPayload); !ok {
		return nil, nil, false
	}
	return s, v, true
}

// splitEnvelope finds the texts of the "schema" object and the "payload"
// value in {"schema": {...}, "payload": ...} (either order, whitespace
// allowed, nothing else). It does not validate them: a schema text is
// only used if the cache has it, i.e. it was parsed before, and the
// payload is decoded by payloadDecoder, which validates it.
func splitEnvelope(data []byte) (schema, payload []byte, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, nil, false
	}
	i++
	for n := 0; n < 2; n++ {
		if n == 1 {
			if i = skipSpace(data, i); i >= len(data) || data[i] != ',' {
				return nil, nil, false
			}
			i++
		}
		i = skipSpace(data, i)
		var key string
		switch {
		case bytes.HasPrefix(data[i:], []byte(`"schema"`)):
			key, i = "schema", i+len(`"schema"`)
		case bytes.HasPrefix(data[i:], []byte(`"payload"`)):
			key, i = "payload", i+len(`"payload"`)
		default:
			return nil, nil, false
		}
		if i = skipSpace(data, i); i >= len(data) || data[i] != ':' {
			return nil, nil, false
		}
		i = skipSpace(data, i+1)
		end, good := skipValue(data, i)
		if !good {
			return nil, nil, false
		}
		if key == "schema" {
			if schema != nil || data[i] != '{' {
				return nil, nil, false
			}
			schema = data[i:end]
		} else {
			if payload != nil {
				return nil, nil, false
			}
			payload = data[i:end]
		}
		i = end
	}
	if i = skipSpace(data, i); i >= len(data) || data[i] != '}' {
		return nil, nil, false
	}
	if skipSpace(data, i+1) != len(data) {
		return nil, nil, false
	}
	return schema, payload, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i: strings and
// nesting are followed, nothing else is checked.
func skipValue(b []byte, i int) (int, bool) {
	start, depth := i, 0
	for ; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return 0, false
			}
			if depth == 0 {
				return i + 1, true
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 { // ends the enclosing object after a scalar
				return i, i > start
			}
			if depth--; depth == 0 {
				return i + 1, true
			}
		case ',', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return i, i > start
			}
		}
	}
	return i, depth == 0 && i > start
}

// SchemaJSON renders a Connect schema in JsonConverter's layout.
func (j *JSON) SchemaJSON(s *connect.Schema) []byte {
	var b bytes.Buffer
	j.writeSchema(&b, s, "")
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	// Fast path: printable ASCII without quote or backslash needs no
	// escaping, which is nearly every name and most values. Building an
	// encoder per string was a quarter of the CPU of a snapshot.
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		b.Grow(len(s) + 2)
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
		return
	}
	// encoding/json's escaping differs from Jackson's (hex case, U+2028),
	// so strings needing escapes go through the Jackson-exact writer.
	b.Write(jackson.AppendString(b.AvailableBuffer(), s))
}

func (j *JSON) writeSchema(b *bytes.Buffer, s *connect.Schema, field string) {
	b.WriteString(`{"type":"`)
	b.WriteString(string(s.Type))
	b.WriteByte('"')
	switch s.Type {
	case connect.Array:
		b.WriteString(`,"items":`)
		j.writeSchema(b, s.Value, "")
	case connect.Map:
		b.WriteString(`,"keys":`)
		j.writeSchema(b, s.Key, "")
		b.WriteString(`,"values":`)
		j.writeSchema(b, s.Value, "")
	case connect.Struct:
		b.WriteString(`,"fields":[`)
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			j.writeSchema(b, f.Schema, f.Name)
		}
		b.WriteByte(']')
	}
	b.WriteString(`,"optional":`)
	b.WriteString(strconv.FormatBool(s.Optional))
	if s.Name != "" {
		b.WriteString(`,"name":`)
		writeString(b, s.Name)
	}
	if s.Version != 0 {
		b.WriteString(`,"version":`)
		b.WriteString(strconv.Itoa(s.Version))
	}
	if s.Doc != "" {
		b.WriteString(`,"doc":`)
		writeString(b, s.Doc)
	}
	if len(s.Params) > 0 {
		b.WriteString(`,"parameters":{`)
		for i, p := range s.Params {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, p.Key)
			b.WriteByte(':')
			writeString(b, p.Value)
		}
		b.WriteByte('}')
	}
	if s.HasDefault && s.Default != nil {
		b.WriteString(`,"default":`)
		if err := j.writeValue(b, s, s.Default, rootPath("default")); err != nil {
			b.WriteString("null")
		}
	}
	if field != "" {
		b.WriteString(`,"field":`)
		writeString(b, field)
	}
	b.WriteByte('}')
}

// jpath names the value being written or read, for error messages. The
// full path string is only built on error, or when reading composite
// values; never for each leaf field. The writer gives a value only its
// name within the enclosing one and each enclosing value prefixes its own
// name to an error on its way out (inPath): building "payload.after" and
// "payload.source" for every change event was an allocation each.
type jpath struct {
	parent string // path of the enclosing value; "" at the root
	name   string // field name or map key, when index < 0
	index  int    // array index, when >= 0
}

func rootPath(name string) jpath              { return jpath{name: name, index: -1} }
func fieldPath(parent, name string) jpath     { return jpath{parent: parent, name: name, index: -1} }
func elemPath(parent string, index int) jpath { return jpath{parent: parent, index: index} }

// inPath prefixes the path of the composite value p to err, from its
// element or field at the relative path child.
func inPath(p, child jpath, err error) error {
	if child.index >= 0 {
		return fmt.Errorf("%s%w", p.String(), err)
	}
	return fmt.Errorf("%s.%w", p.String(), err)
}

func (p jpath) String() string {
	switch {
	case p.index >= 0:
		return p.parent + "[" + strconv.Itoa(p.index) + "]"
	case p.parent == "":
		return p.name
	}
	return p.parent + "." + p.name
}

func (j *JSON) writeValue(b *bytes.Buffer, s *connect.Schema, v any, path jpath) error {
	if v == nil {
		if s != nil && s.HasDefault && s.Default != nil {
			return j.writeValue(b, s, s.Default, path)
		}
		if s != nil && !s.Optional {
			return fmt.Errorf("%s: null value for required field of type %s", path.String(), s)
		}
		b.WriteString("null")
		return nil
	}
	if s == nil {
		return j.writeSchemaless(b, v, path)
	}
	switch s.Name {
	case connect.DecimalName:
		d, ok := v.(connect.Decimal)
		if !ok {
			return fmt.Errorf("%s: Decimal field holds %T", path.String(), v)
		}
		if j.DecimalNumeric {
			writeDecimalNumber(b, d)
		} else {
			b.WriteByte('"')
			b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), connect.DecimalBytes(d.Unscaled)))
			b.WriteByte('"')
		}
		return nil
	case connect.DateName, connect.TimeName, connect.TimestampName:
		if t, ok := v.(time.Time); ok {
			v = logicalTimeValue(s.Name, t)
		}
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		n, ok := asInt64(v)
		if !ok {
			return fmt.Errorf("%s: %s field holds %T", path.String(), s.Type, v)
		}
		b.Write(strconv.AppendInt(b.AvailableBuffer(), n, 10))
	case connect.Float32:
		f, ok := v.(float32)
		if !ok {
			return fmt.Errorf("%s: float field holds %T", path.String(), v)
		}
		b.WriteString(JavaFloat(float64(f), 32))
	case connect.Float64:
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("%s: double field holds %T", path.String(), v)
		}
		b.WriteString(JavaFloat(f, 64))
	case connect.Boolean:
		t, ok := v.(bool)
		if !ok {
			return fmt.Errorf("%s: boolean field holds %T", path.String(), v)
		}
		b.WriteString(strconv.FormatBool(t))
	case connect.String:
		t, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: string field holds %T", path.String(), v)
		}
		writeString(b, t)
	case connect.Bytes:
		t, ok := v.([]byte)
		if !ok {
			return fmt.Errorf("%s: bytes field holds %T", path.String(), v)
		}
		b.WriteByte('"')
		b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), t))
		b.WriteByte('"')
	case connect.Array:
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: array field holds %T", path.String(), v)
		}
		b.WriteByte('[')
		for i, e := range arr {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := j.writeValue(b, s.Value, e, elemPath("", i)); err != nil {
				return inPath(path, elemPath("", i), err)
			}
		}
		b.WriteByte(']')
	case connect.Map:
		m, ok := v.(connect.MapValue)
		if !ok {
			return fmt.Errorf("%s: map field holds %T", path.String(), v)
		}
		if s.Key.Type == connect.String {
			b.WriteByte('{')
			for i, e := range m {
				if i > 0 {
					b.WriteByte(',')
				}
				k, _ := e.Key.(string)
				writeString(b, k)
				b.WriteByte(':')
				if err := j.writeValue(b, s.Value, e.Value, fieldPath("", k)); err != nil {
					return inPath(path, fieldPath("", k), err)
				}
			}
			b.WriteByte('}')
			return nil
		}
		b.WriteByte('[')
		for i, e := range m {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			if err := j.writeValue(b, s.Key, e.Key, fieldPath("", "key")); err != nil {
				return inPath(path, fieldPath("", "key"), err)
			}
			b.WriteByte(',')
			if err := j.writeValue(b, s.Value, e.Value, fieldPath("", "value")); err != nil {
				return inPath(path, fieldPath("", "value"), err)
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	case connect.Struct:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return fmt.Errorf("%s: struct field holds %T", path.String(), v)
		}
		b.WriteByte('{')
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, f.Name)
			b.WriteByte(':')
			var fv any
			if i < len(sv.Values) {
				fv = sv.Values[i]
			}
			if err := j.writeValue(b, f.Schema, fv, fieldPath("", f.Name)); err != nil {
				return inPath(path, fieldPath("", f.Name), err)
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("%s: unknown schema type %q", path.String(), s.Type)
	}
	return nil
}

func logicalTimeValue(name string, t time.Time) any {
	switch name {
	case connect.DateName:
		return connect.EpochDays(t)
	case connect.TimeName:
		u := t.UTC()
		return int32((u.Hour()*3600+u.Minute()*60+u.Second())*1000 + u.Nanosecond()/1e6)
	}
	return t.UnixMilli()
}

func (j *JSON) writeSchemaless(b *bytes.Buffer, v any, path jpath) error {
	switch t := v.(type) {
	case *connect.StructValue:
		return j.writeValue(b, t.Schema, t, path)
	case []byte:
		b.WriteByte('"')
		b.Write(base64.StdEncoding.AppendEncode(b.AvailableBuffer(), t))
		b.WriteByte('"')
		return nil
	case float64:
		b.WriteString(JavaFloat(t, 64))
		return nil
	case float32:
		b.WriteString(JavaFloat(float64(t), 32))
		return nil
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := j.writeSchemaless(b, e, path); err != nil {
				return err
			}
		}
		b.WriteByte(']')
		return nil
	case connect.MapValue:
		b.WriteByte('{')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, fmt.Sprint(e.Key))
			b.WriteByte(':')
			if err := j.writeSchemaless(b, e.Value, path); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case map[string]any:
		// Written like every other schemaless value rather than with
		// json.Marshal, which spells the double 1.0 as 1 (read back as a
		// long). Keys are sorted, as json.Marshal sorted them.
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			if err := j.writeSchemaless(b, t[k], fieldPath(path.String(), k)); err != nil {
				return err
			}
		}
		b.WriteByte('}')
		return nil
	case nil:
		b.WriteString("null")
		return nil
	}
	if n, ok := asInt64(v); ok {
		b.Write(strconv.AppendInt(b.AvailableBuffer(), n, 10))
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", path.String(), err)
	}
	b.Write(data)
	return nil
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	}
	return 0, false
}

// JavaFloat formats f as Java's Double.toString / Float.toString do, which
// is what Jackson writes: plain notation with at least one fractional digit
// for 1e-3 <= |f| < 1e7, computerised scientific notation ("1.0E10")
// otherwise.
func JavaFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return `"NaN"`
	case math.IsInf(f, 1):
		return `"Infinity"`
	case math.IsInf(f, -1):
		return `"-Infinity"`
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, bits) // e.g. 1.2345E+10, 1E-05
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// ToConnect implements Converter for sinks: it parses the envelope and
// rebuilds schema and value. Without schemas, values come back as
// map[string]any / []any / float64 / string / bool.
func (j *JSON) ToConnect(topic string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return nil, nil, nil
	}
	if j.SchemasEnabled && j.parsed != nil {
		if s, v, ok := j.toConnectCached(data); ok {
			return s, v, nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("topic %s: invalid JSON: %w", topic, err)
	}
	if !j.SchemasEnabled {
		return nil, schemalessValue(raw), nil
	}
	env, ok := raw.(map[string]any)
	if !ok || len(env) != 2 {
		return nil, nil, fmt.Errorf("topic %s: JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields", topic)
	}
	_, hasS := env["schema"]
	payload, hasP := env["payload"]
	if !hasS || !hasP {
		return nil, nil, fmt.Errorf("topic %s: JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields", topic)
	}
	if env["schema"] == nil {
		return nil, schemalessValue(payload), nil
	}
	s, err := parseSchema(env["schema"], "schema")
	if err != nil {
		return nil, nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	v, err := fromJSONValue(s, payload, rootPath("payload"))
	if err != nil {
		return nil, nil, fmt.Errorf("topic %s: %w", topic, err)
	}
	if j.SchemasEnabled && j.parsed != nil {
		if rawSchema, _, ok := splitEnvelope(data); ok {
			j.parsed.store(rawSchema, s)
		}
	}
	return s, v, nil
}

func parseSchema(raw any, path string) (*connect.Schema, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: schema must be an object", path)
	}
	t, _ := m["type"].(string)
	var b *connect.Builder
	switch connect.Type(t) {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64, connect.Float32, connect.Float64, connect.Boolean, connect.String, connect.Bytes:
		b = connect.NewBuilder(connect.Type(t))
	case connect.Array:
		items, err := parseSchema(m["items"], path+".items")
		if err != nil {
			return nil, err
		}
		b = connect.ArrayOf(items)
	case connect.Map:
		k, err := parseSchema(m["keys"], path+".keys")
		if err != nil {
			return nil, err
		}
		v, err := parseSchema(m["values"], path+".values")
		if err != nil {
			return nil, err
		}
		b = connect.MapOf(k, v)
	case connect.Struct:
		b = connect.StructBuilder()
		fields, _ := m["fields"].([]any)
		for i, f := range fields {
			fm, _ := f.(map[string]any)
			name, _ := fm["field"].(string)
			fs, err := parseSchema(f, fmt.Sprintf("%s.fields[%d]", path, i))
			if err != nil {
				return nil, err
			}
			b.Field(name, fs)
		}
	default:
		return nil, fmt.Errorf("%s: unknown schema type %q", path, t)
	}
	if o, _ := m["optional"].(bool); o {
		b.Optional()
	}
	if n, ok := m["name"].(string); ok {
		b.Name(n)
	}
	if v, ok := m["version"].(json.Number); ok {
		n, _ := v.Int64()
		b.Version(int(n))
	}
	if d, ok := m["doc"].(string); ok {
		b.Doc(d)
	}
	if ps, ok := m["parameters"].(map[string]any); ok {
		// JSON objects lose order; sort for determinism.
		keys := make([]string, 0, len(ps))
		for k := range ps {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, k := range keys {
			s, _ := ps[k].(string)
			b.Param(k, s)
		}
	}
	s, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Name == connect.DecimalName {
		// Decimal.scale(schema) in Java: a Decimal without a usable scale
		// is an error, not scale 0 (which would silently shift values).
		p, ok := s.Param(connect.DecimalScale)
		if !ok {
			return nil, fmt.Errorf("%s: invalid Decimal schema: scale parameter not found", path)
		}
		if _, err := strconv.ParseInt(p, 10, 32); err != nil {
			return nil, fmt.Errorf("%s: invalid scale parameter %q found in Decimal schema", path, p)
		}
	}
	if d, ok := m["default"]; ok && d != nil {
		dv, err := fromJSONValue(s, d, rootPath(path+".default"))
		if err != nil {
			return nil, err
		}
		s.Default, s.HasDefault = dv, true
	}
	return s, nil
}

// maxDecimalDigits bounds the unscaled value of a decimal read from a
// JSON number. A number like 1e999999999 is valid JSON but would take
// gigabytes as an exact integer; PostgreSQL's numeric, the widest a
// source produces, has at most 131072+16383 digits.
const maxDecimalDigits = 1 << 18

// unscaledAt returns the unscaled value of JSON number text at scale, or
// an error when the number has more fraction digits than the scale can
// hold (rounding would silently change the value).
func unscaledAt(num string, scale int32) (*big.Int, error) {
	mant, expText, hasExp := strings.Cut(strings.ToLower(num), "e")
	exp := int64(0)
	if hasExp {
		e, err := strconv.ParseInt(expText, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("decimal %s: exponent out of range", num)
		}
		exp = e
	}
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	// value = digits × 10^(exp - len(frac)); unscaled = value × 10^scale.
	shift := int64(scale) + exp - int64(len(frac))
	if shift < 0 {
		cut := int64(len(digits)) + shift
		if cut < 0 {
			cut = 0
		}
		if strings.Trim(digits[cut:], "0") != "" {
			return nil, fmt.Errorf("decimal %s has more fraction digits than the schema's scale %d", num, scale)
		}
		digits = digits[:cut]
		shift = 0
	}
	if digits == "" {
		return new(big.Int), nil
	}
	if int64(len(digits))+shift > maxDecimalDigits {
		return nil, fmt.Errorf("decimal %s at scale %d has more than %d digits", num, scale, maxDecimalDigits)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return nil, fmt.Errorf("invalid decimal %s", num)
	}
	if shift > 0 {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(shift), nil))
	}
	if neg {
		u.Neg(u)
	}
	return u, nil
}

// writeDecimalNumber writes a Decimal as a JSON number
// (decimal.format=NUMERIC): plain notation, except for scales beyond
// ±9999, the range Jackson writes plain, where a plain rendering could
// take gigabytes; those are written as unscaled E -scale, which reads
// back exactly.
func writeDecimalNumber(b *bytes.Buffer, d connect.Decimal) {
	if d.Scale > 9999 || d.Scale < -9999 {
		b.WriteString(d.Unscaled.String())
		b.WriteString("E")
		b.WriteString(strconv.FormatInt(-int64(d.Scale), 10))
		return
	}
	b.WriteString(d.String())
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func fromJSONValue(s *connect.Schema, raw any, path jpath) (any, error) {
	if raw == nil {
		// As the Java converter with replace.null.with.default=true (its
		// default, and what FromConnect writes): a null takes the default.
		if s.HasDefault {
			return s.Default, nil
		}
		if !s.Optional {
			return nil, fmt.Errorf("%s: null for required %s", path.String(), s)
		}
		return nil, nil
	}
	if s.Name == connect.DecimalName {
		p, _ := s.Param(connect.DecimalScale)
		scale, err := strconv.ParseInt(p, 10, 32)
		if err != nil {
			// parseSchema checked it; a schema built elsewhere may not be.
			return nil, fmt.Errorf("%s: invalid scale parameter %q found in Decimal schema", path.String(), p)
		}
		switch t := raw.(type) {
		case string:
			bs, err := base64.StdEncoding.DecodeString(t)
			if err != nil {
				return nil, fmt.Errorf("%s: invalid base64 decimal: %w", path.String(), err)
			}
			return connect.Decimal{Unscaled: connect.DecimalFromBytes(bs), Scale: int32(scale)}, nil
		case json.Number:
			u, err := unscaledAt(t.String(), int32(scale))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path.String(), err)
			}
			return connect.Decimal{Unscaled: u, Scale: int32(scale)}, nil
		}
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		n, ok := raw.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: expected a number for %s, got %T", path.String(), s.Type, raw)
		}
		i, err := n.Int64()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path.String(), err)
		}
		// A number that does not fit the field is an error, not a
		// truncated value that a sink would store as if it were right.
		switch s.Type {
		case connect.Int8:
			if i < math.MinInt8 || i > math.MaxInt8 {
				return nil, fmt.Errorf("%s: %d is out of range for %s", path.String(), i, s.Type)
			}
			return int8(i), nil
		case connect.Int16:
			if i < math.MinInt16 || i > math.MaxInt16 {
				return nil, fmt.Errorf("%s: %d is out of range for %s", path.String(), i, s.Type)
			}
			return int16(i), nil
		case connect.Int32:
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, fmt.Errorf("%s: %d is out of range for %s", path.String(), i, s.Type)
			}
			return int32(i), nil
		}
		return i, nil
	case connect.Float32, connect.Float64:
		var f float64
		switch t := raw.(type) {
		case json.Number:
			var err error
			if f, err = t.Float64(); err != nil {
				return nil, fmt.Errorf("%s: %w", path.String(), err)
			}
		case string:
			switch t {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return nil, fmt.Errorf("%s: expected a number, got %q", path.String(), t)
			}
		default:
			return nil, fmt.Errorf("%s: expected a number, got %T", path.String(), raw)
		}
		if s.Type == connect.Float32 {
			return float32(f), nil
		}
		return f, nil
	case connect.Boolean:
		b, ok := raw.(bool)
		if !ok {
			return nil, fmt.Errorf("%s: expected a boolean, got %T", path.String(), raw)
		}
		return b, nil
	case connect.String:
		str, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("%s: expected a string, got %T", path.String(), raw)
		}
		return str, nil
	case connect.Bytes:
		str, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("%s: expected base64 bytes, got %T", path.String(), raw)
		}
		bs, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid base64: %w", path.String(), err)
		}
		return bs, nil
	case connect.Array:
		arr, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an array, got %T", path.String(), raw)
		}
		ps := path.String()
		out := make([]any, len(arr))
		for i, e := range arr {
			v, err := fromJSONValue(s.Value, e, elemPath(ps, i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case connect.Map:
		var out connect.MapValue
		ps := path.String()
		// As in Java and as FromConnect writes them: string-keyed maps are
		// JSON objects, all others arrays of [key, value] pairs. An object
		// for int keys would yield string keys the schema does not allow.
		stringKeys := s.Key.Type == connect.String
		switch t := raw.(type) {
		case map[string]any:
			if !stringKeys {
				return nil, fmt.Errorf("%s: maps with %s keys must be encoded as a JSON array of [key, value] pairs, found an object", ps, s.Key.Type)
			}
			// Sorted, so that the value (and what FromConnect writes from
			// it) does not depend on Go's map iteration order.
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v, err := fromJSONValue(s.Value, t[k], fieldPath(ps, k))
				if err != nil {
					return nil, err
				}
				out = append(out, connect.MapEntry{Key: k, Value: v})
			}
		case []any:
			if stringKeys {
				return nil, fmt.Errorf("%s: maps with string keys must be encoded as a JSON object, found an array", ps)
			}
			for i, e := range t {
				pair, ok := e.([]any)
				if !ok || len(pair) != 2 {
					return nil, fmt.Errorf("%s[%d]: expected a [key, value] pair", path.String(), i)
				}
				k, err := fromJSONValue(s.Key, pair[0], fieldPath(ps, "key"))
				if err != nil {
					return nil, err
				}
				v, err := fromJSONValue(s.Value, pair[1], fieldPath(ps, "value"))
				if err != nil {
					return nil, err
				}
				out = append(out, connect.MapEntry{Key: k, Value: v})
			}
		default:
			return nil, fmt.Errorf("%s: expected a map, got %T", path.String(), raw)
		}
		return out, nil
	case connect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object, got %T", path.String(), raw)
		}
		ps := path.String()
		sv := connect.NewStruct(s)
		for i, f := range s.Fields {
			v, err := fromJSONValue(f.Schema, m[f.Name], fieldPath(ps, f.Name))
			if err != nil {
				return nil, err
			}
			sv.Values[i] = v
		}
		return sv, nil
	}
	return nil, fmt.Errorf("%s: unknown schema type %q", path.String(), s.Type)
}

// schemalessValue turns decoded JSON numbers into int64 or float64, as the
// Java converter yields Long for integral numbers and Double otherwise.
func schemalessValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, e := range t {
			t[k] = schemalessValue(e)
		}
	case []any:
		for i, e := range t {
			t[i] = schemalessValue(e)
		}
	}
	return v
}
