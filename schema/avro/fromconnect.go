package avro

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
)

// Names and properties of Confluent's AvroData (io.confluent.connect.avro).
const (
	ConfluentNamespace     = "io.confluent.connect.avro"
	DefaultSchemaName      = "ConnectDefault"
	MapEntryTypeName       = "MapEntry"
	UnionSchemaName        = ConfluentNamespace + ".Union"
	EnumParam              = ConfluentNamespace + ".Enum"
	recordDocParam         = ConfluentNamespace + ".record.doc"
	fieldDocParamPrefix    = ConfluentNamespace + ".field.doc."
	fieldDefaultFlagParam  = ConfluentNamespace + ".field.default"
	enumDocParamPrefix     = ConfluentNamespace + ".enum.doc."
	enumDefaultParamPrefix = ConfluentNamespace + ".enum.default."

	propConnectName       = "connect.name"
	propConnectDoc        = "connect.doc"
	propConnectRecordDoc  = "connect.record.doc"
	propConnectEnumDoc    = "connect.enum.doc"
	propConnectVersion    = "connect.version"
	propConnectDefault    = "connect.default"
	propConnectParameters = "connect.parameters"
	propConnectType       = "connect.type"
	propInternalType      = "connect.internal.type"

	FixedSizeParam        = "connect.fixed.size"
	DecimalPrecisionParam = "connect.decimal.precision"
	// DefaultDecimalPrecision is the precision AvroData writes when a
	// Decimal schema does not carry connect.decimal.precision.
	DefaultDecimalPrecision = 64
)

// Options are AvroData's settings (AvroDataConfig). The zero value is not
// Confluent's default; use DefaultOptions.
type Options struct {
	// ConnectMetaData adds connect.name, connect.version, connect.doc,
	// connect.parameters, connect.default and connect.type (connect.meta.data).
	ConnectMetaData bool
	// EnhancedSchemaSupport maps Connect enums (io.confluent.connect.avro.Enum
	// parameters) to Avro enums and names union members by full name
	// (enhanced.avro.schema.support).
	EnhancedSchemaSupport bool
	// ScrubInvalidNames replaces characters Avro does not allow in names
	// (scrub.invalid.names).
	ScrubInvalidNames bool
	// DiscardTypeDocDefault restores the pre-6.1 placement of docs and
	// defaults (discard.type.doc.default).
	DiscardTypeDocDefault bool
	// AllowOptionalMapKeys maps optional string keys to Avro maps too
	// (allow.optional.map.keys).
	AllowOptionalMapKeys bool
	// IgnoreDefaultForNullables writes null, not the field's default, for a
	// null optional field (ignore.default.for.nullables).
	IgnoreDefaultForNullables bool
	// FlattenSingletonUnions reads one-branch unions as their branch
	// (flatten.singleton.unions).
	FlattenSingletonUnions bool
}

// DefaultOptions are AvroDataConfig's defaults, which are what Debezium
// deployments run with.
func DefaultOptions() Options {
	return Options{ConnectMetaData: true, FlattenSingletonUnions: true}
}

// mapping converts Connect schemas to Avro as AvroData.fromConnectSchema
// does, for one top-level schema.
type mapping struct {
	opts Options
	// memo is AvroData's schemaMap: already converted required schemas,
	// found by Connect schema equality, so a repeated type is one Avro type.
	memo []memoEntry
	// cycle is fromConnectContext.cycleReferences: named records by Connect
	// name, which a nested reference to the same name resolves to.
	cycle     map[string]*Schema
	nameIndex int
}

type memoEntry struct {
	c *connect.Schema
	a *Schema
}

// FromConnect converts a Connect schema to the Avro schema Confluent's
// AvroConverter registers for it.
func FromConnect(s *connect.Schema, opts Options) (*Schema, error) {
	if s == nil {
		return nil, fmt.Errorf("schemaless data (no Connect schema) is not supported by the Avro converter")
	}
	m := &mapping{opts: opts, cycle: map[string]*Schema{}}
	return m.convert(s, false, "")
}

func (m *mapping) lookup(s *connect.Schema) *Schema {
	for _, e := range m.memo {
		if e.c == s {
			return e.a
		}
	}
	for _, e := range m.memo {
		if connectEqual(e.c, s) {
			return e.a
		}
	}
	return nil
}

func isUnionSchema(s *connect.Schema) bool { return s.Name == UnionSchemaName }

func isEnumSchema(s *connect.Schema) bool {
	if s.Type != connect.String {
		return false
	}
	_, ok := s.Param(EnumParam)
	return ok
}

func isFixedSchema(s *connect.Schema) bool {
	if s.Type != connect.Bytes || s.Name == "" {
		return false
	}
	_, ok := s.Param(FixedSizeParam)
	return ok
}

// nonOptional is AvroData.nonOptional: the same schema, required.
func nonOptional(s *connect.Schema) *connect.Schema {
	if !s.Optional {
		return s
	}
	c := *s
	c.Optional = false
	return &c
}

func (m *mapping) convert(s *connect.Schema, ignoreOptional bool, path string) (*Schema, error) {
	if !isUnionSchema(s) && !s.Optional {
		if cached := m.lookup(s); cached != nil {
			return cached, nil
		}
	}
	connectType := ""
	var base *Schema
	var err error
	switch s.Type {
	case connect.Int8:
		connectType = "int8"
		base = &Schema{Type: "int"}
	case connect.Int16:
		connectType = "int16"
		base = &Schema{Type: "int"}
	case connect.Int32:
		base = &Schema{Type: "int"}
	case connect.Int64:
		base = &Schema{Type: "long"}
	case connect.Float32:
		base = &Schema{Type: "float"}
	case connect.Float64:
		base = &Schema{Type: "double"}
	case connect.Boolean:
		base = &Schema{Type: "boolean"}
	case connect.String:
		if m.opts.EnhancedSchemaSupport && isEnumSchema(s) {
			base, err = m.enum(s)
		} else {
			base = &Schema{Type: "string"}
		}
	case connect.Bytes:
		base, err = m.bytes(s, path)
	case connect.Array:
		if s.Value == nil {
			return nil, fmt.Errorf("%s: array schema without element schema", pathOr(path))
		}
		items, err := m.convertWithCycle(s.Value, false, path+"[]")
		if err != nil {
			return nil, err
		}
		base = &Schema{Type: "array", Items: items}
	case connect.Map:
		base, err = m.mapSchema(s, path)
	case connect.Struct:
		switch {
		case isUnionSchema(s):
			base = &Schema{Type: "union"}
			if s.Optional {
				base.Branches = append(base.Branches, &Schema{Type: "null"})
			}
			for _, f := range s.Fields {
				br, err := m.convertWithCycle(nonOptional(f.Schema), true, path+"."+f.Name)
				if err != nil {
					return nil, err
				}
				base.Branches = append(base.Branches, br)
			}
		case s.Optional:
			inner, err := m.convertWithCycle(nonOptional(s), false, path)
			if err != nil {
				return nil, err
			}
			base = &Schema{Type: "union", Branches: []*Schema{{Type: "null"}, inner}}
		default:
			base, err = m.record(s, path)
		}
	default:
		return nil, fmt.Errorf("%s: unknown Connect schema type %q", pathOr(path), s.Type)
	}
	if err != nil {
		return nil, err
	}
	final := base
	if base.Type != "union" {
		if err := m.annotate(s, base, connectType, path); err != nil {
			return nil, fmt.Errorf("%s: %w", pathOr(path), err)
		}
		if !ignoreOptional {
			final = maybeOptional(s, base)
		}
	}
	if !s.Optional {
		m.memo = append(m.memo, memoEntry{s, final})
	}
	return final, nil
}

func pathOr(p string) string {
	if p == "" {
		return "schema"
	}
	return strings.TrimPrefix(p, ".")
}

// annotate adds the connect.* metadata and the logical type, in
// AvroData's order.
func (m *mapping) annotate(s *connect.Schema, base *Schema, connectType, path string) error {
	if m.opts.ConnectMetaData {
		if s.Doc != "" {
			if err := base.addStringProp(propConnectDoc, s.Doc); err != nil {
				return err
			}
		}
		if s.Version != 0 {
			if err := base.addIntProp(propConnectVersion, s.Version); err != nil {
				return err
			}
		}
		if params := m.parametersJSON(s.Params); params != nil {
			if err := base.addProp(propConnectParameters, params); err != nil {
				return err
			}
		}
		if s.HasDefault && s.Default != nil {
			if _, flagged := s.Param(fieldDefaultFlagParam); m.opts.DiscardTypeDocDefault || !flagged {
				def, err := defaultJSON(s, s.Default, false, m.opts)
				if err != nil {
					return fmt.Errorf("default value: %w", err)
				}
				if err := base.addProp(propConnectDefault, def); err != nil {
					return err
				}
			}
		}
		if s.Name != "" {
			if err := base.addStringProp(propConnectName, s.Name); err != nil {
				return err
			}
		}
		if connectType != "" {
			if err := base.addStringProp(propConnectType, connectType); err != nil {
				return err
			}
		}
	}
	legacyDecimal := false
	switch s.Name {
	case connect.DecimalName:
		precision := DefaultDecimalPrecision
		if p, ok := s.Param(DecimalPrecisionParam); ok {
			n, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("%s=%q: not an integer", DecimalPrecisionParam, p)
			}
			precision = n
		}
		scale := 0
		if p, ok := s.Param(connect.DecimalScale); ok {
			n, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("decimal scale %q: not an integer", p)
			}
			scale = n
		}
		if scale < 0 || scale > precision {
			// Avro's decimal logical type cannot express this; AvroData
			// falls back to the legacy logicalType property alone.
			legacyDecimal = true
		} else {
			if err := base.addStringProp("logicalType", "decimal"); err != nil {
				return err
			}
			if err := base.addIntProp("precision", precision); err != nil {
				return err
			}
			if err := base.addIntProp("scale", scale); err != nil {
				return err
			}
		}
		if _, ok := s.Param(DecimalPrecisionParam); ok || legacyDecimal {
			if err := base.addStringProp("logicalType", "decimal"); err != nil {
				return err
			}
		}
	case connect.TimeName:
		if err := base.addStringProp("logicalType", "time-millis"); err != nil {
			return err
		}
	case connect.TimestampName:
		if err := base.addStringProp("logicalType", "timestamp-millis"); err != nil {
			return err
		}
	case connect.DateName:
		if err := base.addStringProp("logicalType", "date"); err != nil {
			return err
		}
	}
	for _, p := range s.Params {
		if strings.HasPrefix(p.Key, "avro") {
			if err := base.addStringProp(p.Key, p.Value); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *mapping) parametersJSON(params []connect.Param) []byte {
	var b bytes.Buffer
	n := 0
	b.WriteByte('{')
	for _, p := range params {
		if !m.opts.DiscardTypeDocDefault && p.Key == fieldDefaultFlagParam {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, p.Key)
		b.WriteByte(':')
		writeJSONString(&b, p.Value)
		n++
	}
	if n == 0 {
		return nil
	}
	b.WriteByte('}')
	return b.Bytes()
}

// maybeOptional wraps an optional schema in a union with null; null goes
// second when the schema has a default, because a field default must match
// the union's first branch.
func maybeOptional(s *connect.Schema, base *Schema) *Schema {
	if !s.Optional {
		return base
	}
	if s.HasDefault && s.Default != nil {
		return &Schema{Type: "union", Branches: []*Schema{base, {Type: "null"}}}
	}
	return &Schema{Type: "union", Branches: []*Schema{{Type: "null"}, base}}
}

func (m *mapping) convertWithCycle(s *connect.Schema, ignoreOptional bool, path string) (*Schema, error) {
	if rec, ok := m.cycle[s.Name]; ok && s.Name != "" {
		if ignoreOptional {
			return rec, nil
		}
		return maybeOptional(s, rec), nil
	}
	return m.convert(s, ignoreOptional, path)
}

// names splits a Connect name at its last dot, or hands out
// io.confluent.connect.avro.ConnectDefault, ConnectDefault2, ... for
// unnamed types.
func (m *mapping) names(name string) (namespace, simple string) {
	if name != "" {
		return splitName(name, m.opts.ScrubInvalidNames)
	}
	m.nameIndex++
	if m.nameIndex > 1 {
		return ConfluentNamespace, DefaultSchemaName + strconv.Itoa(m.nameIndex)
	}
	return ConfluentNamespace, DefaultSchemaName
}

func splitName(full string, scrub bool) (namespace, simple string) {
	parts := strings.Split(full, ".")
	for i := range parts {
		parts[i] = scrubName(parts[i], scrub)
	}
	if len(parts) <= 1 {
		return "", parts[0]
	}
	return strings.Join(parts[:len(parts)-1], "."), parts[len(parts)-1]
}

func scrubName(name string, scrub bool) string {
	if !scrub || name == "" {
		return name
	}
	ok := true
	for i := 0; i < len(name); i++ {
		if !nameChar(name[i]) {
			ok = false
			break
		}
	}
	if ok && !(name[0] >= '0' && name[0] <= '9') {
		return name
	}
	// java.net.URLEncoder: space becomes '+', [A-Za-z0-9.*_-] stay, the
	// rest becomes %XX of the UTF-8 bytes; then every non-name character
	// becomes '_'.
	enc := strings.ReplaceAll(url.QueryEscape(name), "~", "%7E")
	if enc[0] >= '0' && enc[0] <= '9' {
		enc = "x" + enc
	}
	b := []byte(enc)
	for i := range b {
		if !nameChar(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func nameChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_'
}

// validName is Avro's Schema.validateName, which field and type names
// must pass.
func validName(n string) bool {
	if n == "" || n[0] >= '0' && n[0] <= '9' {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !nameChar(n[i]) {
			return false
		}
	}
	return true
}

func (m *mapping) enum(s *connect.Schema) (*Schema, error) {
	enumName, _ := s.Param(EnumParam)
	var symbols []string
	for _, p := range s.Params {
		if strings.HasPrefix(p.Key, EnumParam+".") {
			symbols = append(symbols, strings.TrimPrefix(p.Key, EnumParam+"."))
		}
	}
	_, name := m.names(s.Name)
	ns, simple := splitName(enumName, false)
	e := &Schema{Type: "enum", Name: simple, Namespace: ns, Symbols: symbols}
	if m.opts.DiscardTypeDocDefault {
		e.Doc, _ = s.Param(propConnectEnumDoc)
	} else {
		e.Doc, _ = s.Param(enumDocParamPrefix + name)
		e.EnumDefault, _ = s.Param(enumDefaultParamPrefix + name)
	}
	if !validName(simple) {
		return nil, fmt.Errorf("enum name %q is not a valid Avro name", enumName)
	}
	return e, nil
}

func (m *mapping) bytes(s *connect.Schema, path string) (*Schema, error) {
	var base *Schema
	if isFixedSchema(s) {
		ns, name := m.names(s.Name)
		sz, _ := s.Param(FixedSizeParam)
		n, err := strconv.Atoi(sz)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: %s=%q is not a size", pathOr(path), FixedSizeParam, sz)
		}
		base = &Schema{Type: "fixed", Name: name, Namespace: ns, Size: n}
	} else {
		base = &Schema{Type: "bytes"}
	}
	if s.Name == connect.DecimalName {
		sc, _ := s.Param(connect.DecimalScale)
		scale, err := strconv.Atoi(sc)
		if err != nil {
			return nil, fmt.Errorf("%s: Decimal scale %q is not an integer", pathOr(path), sc)
		}
		_ = base.addIntProp("scale", scale)
		precision := DefaultDecimalPrecision
		if p, ok := s.Param(DecimalPrecisionParam); ok {
			if precision, err = strconv.Atoi(p); err != nil {
				return nil, fmt.Errorf("%s: %s=%q is not an integer", pathOr(path), DecimalPrecisionParam, p)
			}
		}
		_ = base.addIntProp("precision", precision)
	}
	return base, nil
}

func (m *mapping) mapSchema(s *connect.Schema, path string) (*Schema, error) {
	if s.Key == nil || s.Value == nil {
		return nil, fmt.Errorf("%s: map schema without key or value schema", pathOr(path))
	}
	if s.Key.Type == connect.String && (!s.Key.Optional || m.opts.AllowOptionalMapKeys) {
		values, err := m.convertWithCycle(s.Value, false, path+"{}")
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "map", Values: values}, nil
	}
	// Avro maps have string keys only; other keys become an array of
	// key/value records.
	var entry *Schema
	if s.Name == "" {
		entry = &Schema{Type: "record", Name: MapEntryTypeName, Namespace: ConfluentNamespace}
	} else {
		ns, name := m.names(s.Name)
		entry = &Schema{Type: "record", Name: name, Namespace: ns}
		_ = entry.addStringProp(propInternalType, MapEntryTypeName)
	}
	kf, err := m.field("key", s.Key, "", path+".key")
	if err != nil {
		return nil, err
	}
	vf, err := m.field("value", s.Value, "", path+".value")
	if err != nil {
		return nil, err
	}
	entry.Fields = []*Field{kf, vf}
	return &Schema{Type: "array", Items: entry}, nil
}

func (m *mapping) record(s *connect.Schema, path string) (*Schema, error) {
	ns, name := m.names(s.Name)
	if !validName(name) {
		return nil, fmt.Errorf("%s: record name %q (from Connect schema name %q) is not a valid Avro name; set scrub.invalid.names=true or adjust the schema name",
			pathOr(path), name, s.Name)
	}
	docKey := recordDocParam
	if m.opts.DiscardTypeDocDefault {
		docKey = propConnectRecordDoc
	}
	doc, _ := s.Param(docKey)
	rec := &Schema{Type: "record", Name: name, Namespace: ns, Doc: doc}
	if s.Name != "" {
		m.cycle[s.Name] = rec
	}
	for _, f := range s.Fields {
		fieldName := scrubName(f.Name, m.opts.ScrubInvalidNames)
		fieldDoc := ""
		if !m.opts.DiscardTypeDocDefault {
			fieldDoc, _ = s.Param(fieldDocParamPrefix + f.Name)
		}
		af, err := m.field(fieldName, f.Schema, fieldDoc, path+"."+f.Name)
		if err != nil {
			return nil, err
		}
		rec.Fields = append(rec.Fields, af)
	}
	return rec, nil
}

// field is addAvroRecordField.
func (m *mapping) field(name string, fs *connect.Schema, doc, path string) (*Field, error) {
	if !validName(name) {
		return nil, fmt.Errorf("%s: field name %q is not a valid Avro name; set scrub.invalid.names=true or rename the column", pathOr(path), name)
	}
	var def []byte
	if fs.HasDefault && fs.Default != nil {
		d, err := defaultJSON(fs, fs.Default, true, m.opts)
		if err != nil {
			return nil, fmt.Errorf("%s: default value: %w", pathOr(path), err)
		}
		def = d
	} else if fs.Optional {
		def = []byte("null")
	}
	schema, err := m.convert(fs, false, path)
	if err != nil {
		return nil, err
	}
	if m.opts.DiscardTypeDocDefault {
		doc = fs.Doc
	}
	f := &Field{Name: name, Schema: schema, Doc: doc, Default: def}
	// Avro rejects a default that does not match the field's type (for a
	// union, its first branch); AvroData then keeps the field without one.
	if def != nil && !validDefault(schema, def) {
		f.Default = nil
	}
	return f, nil
}

// defaultJSON is AvroData.defaultValueFromConnect, printed as Jackson does.
// Field defaults pass through Avro's JacksonUtils, which widens float to
// double; connect.default keeps Jackson's float.
func defaultJSON(s *connect.Schema, v any, fieldDefault bool, opts Options) ([]byte, error) {
	var b bytes.Buffer
	if err := writeDefault(&b, s, v, fieldDefault, opts); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeDefault(b *bytes.Buffer, s *connect.Schema, v any, fieldDefault bool, opts Options) error {
	if v == nil {
		b.WriteString("null")
		return nil
	}
	switch s.Name {
	case connect.DecimalName:
		d, err := decimalValue(s, v)
		if err != nil {
			return err
		}
		writeLatin1(b, connect.DecimalBytes(d))
		return nil
	case connect.DateName, connect.TimeName, connect.TimestampName:
		if t, ok := v.(time.Time); ok {
			v = logicalFromTime(s.Name, t)
		}
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		n, err := intValue(s, v)
		if err != nil {
			return err
		}
		b.WriteString(strconv.FormatInt(n, 10))
	case connect.Float32:
		f, ok := v.(float32)
		if !ok {
			return fmt.Errorf("float default of type %T", v)
		}
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return fmt.Errorf("float default %v cannot be written as JSON", f)
		}
		if fieldDefault {
			b.WriteString(converter.JavaFloat(float64(f), 64))
		} else {
			b.WriteString(converter.JavaFloat(float64(f), 32))
		}
	case connect.Float64:
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("double default of type %T", v)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("double default %v cannot be written as JSON", f)
		}
		b.WriteString(converter.JavaFloat(f, 64))
	case connect.Boolean:
		bv, ok := v.(bool)
		if !ok {
			return fmt.Errorf("boolean default of type %T", v)
		}
		b.WriteString(strconv.FormatBool(bv))
	case connect.String:
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("string default of type %T", v)
		}
		writeJSONString(b, str)
	case connect.Bytes:
		bs, ok := v.([]byte)
		if !ok {
			return fmt.Errorf("bytes default of type %T", v)
		}
		writeLatin1(b, bs)
	case connect.Array:
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("array default of type %T", v)
		}
		b.WriteByte('[')
		for i, e := range arr {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeDefault(b, s.Value, e, fieldDefault, opts); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case connect.Map:
		entries, err := mapEntries(v)
		if err != nil {
			return err
		}
		if s.Key.Type == connect.String && (!s.Key.Optional || opts.AllowOptionalMapKeys) {
			b.WriteByte('{')
			for i, e := range entries {
				if i > 0 {
					b.WriteByte(',')
				}
				k, ok := e.Key.(string)
				if !ok {
					return fmt.Errorf("map default key of type %T", e.Key)
				}
				writeJSONString(b, k)
				b.WriteByte(':')
				if err := writeDefault(b, s.Value, e.Value, fieldDefault, opts); err != nil {
					return err
				}
			}
			b.WriteByte('}')
		} else {
			b.WriteByte('[')
			for i, e := range entries {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('[')
				if err := writeDefault(b, s.Key, e.Key, fieldDefault, opts); err != nil {
					return err
				}
				b.WriteByte(',')
				if err := writeDefault(b, s.Value, e.Value, fieldDefault, opts); err != nil {
					return err
				}
				b.WriteByte(']')
			}
			b.WriteByte(']')
		}
	case connect.Struct:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return fmt.Errorf("struct default of type %T", v)
		}
		if isUnionSchema(s) {
			for i, f := range s.Fields {
				return writeDefault(b, f.Schema, structField(sv, i, f.Schema, false), fieldDefault, opts)
			}
			b.WriteString("{}")
			return nil
		}
		b.WriteByte('{')
		for i, f := range s.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, scrubName(f.Name, opts.ScrubInvalidNames))
			b.WriteByte(':')
			if err := writeDefault(b, f.Schema, structField(sv, i, f.Schema, false), fieldDefault, opts); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("unknown schema type %q", s.Type)
	}
	return nil
}

// writeLatin1 writes bytes as Avro's JSON encoding of bytes: each byte is
// the code point of the same value.
func writeLatin1(b *bytes.Buffer, bs []byte) {
	rs := make([]rune, len(bs))
	for i, c := range bs {
		rs[i] = rune(c)
	}
	writeJSONString(b, string(rs))
}

// structField is Struct.get: a null field reads as its schema's default.
func structField(sv *connect.StructValue, i int, fs *connect.Schema, ignoreDefault bool) any {
	var v any
	if i < len(sv.Values) {
		v = sv.Values[i]
	}
	if v == nil && !ignoreDefault && fs.HasDefault {
		return fs.Default
	}
	return v
}

func mapEntries(v any) (connect.MapValue, error) {
	switch t := v.(type) {
	case connect.MapValue:
		return t, nil
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(connect.MapValue, len(keys))
		for i, k := range keys {
			out[i] = connect.MapEntry{Key: k, Value: t[k]}
		}
		return out, nil
	}
	return nil, fmt.Errorf("map value of type %T", v)
}

func logicalFromTime(name string, t time.Time) any {
	switch name {
	case connect.DateName:
		return connect.EpochDays(t)
	case connect.TimeName:
		u := t.UTC()
		return int32((u.Hour()*3600+u.Minute()*60+u.Second())*1000 + u.Nanosecond()/1e6)
	}
	return t.UnixMilli()
}

// decimalValue is Decimal.fromLogical's check: the value's scale must be
// the schema's.
func decimalValue(s *connect.Schema, v any) (*big.Int, error) {
	var d connect.Decimal
	switch t := v.(type) {
	case connect.Decimal:
		d = t
	case *connect.Decimal:
		if t == nil {
			return nil, fmt.Errorf("nil Decimal")
		}
		d = *t
	default:
		return nil, fmt.Errorf("decimal value of type %T", v)
	}
	if d.Unscaled == nil {
		return nil, fmt.Errorf("decimal without unscaled value")
	}
	sc, _ := s.Param(connect.DecimalScale)
	if want, err := strconv.Atoi(sc); err == nil && int32(want) != d.Scale {
		return nil, fmt.Errorf("decimal %s has scale %d, the schema's scale is %d", d, d.Scale, want)
	}
	return d.Unscaled, nil
}

func intValue(s *connect.Schema, v any) (int64, error) {
	var n int64
	switch t := v.(type) {
	case int8:
		n = int64(t)
	case int16:
		n = int64(t)
	case int32:
		n = int64(t)
	case int64:
		n = t
	case int:
		n = int64(t)
	case uint8:
		n = int64(t)
	case uint16:
		n = int64(t)
	case uint32:
		n = int64(t)
	case uint64:
		if t > math.MaxInt64 {
			return 0, fmt.Errorf("%s value %d out of range", s.Type, t)
		}
		n = int64(t)
	default:
		return 0, fmt.Errorf("%s value of type %T", s.Type, v)
	}
	var lo, hi int64
	switch s.Type {
	case connect.Int8:
		lo, hi = math.MinInt8, math.MaxInt8
	case connect.Int16:
		lo, hi = math.MinInt16, math.MaxInt16
	case connect.Int32:
		lo, hi = math.MinInt32, math.MaxInt32
	default:
		return n, nil
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%s value %d out of range", s.Type, n)
	}
	return n, nil
}
