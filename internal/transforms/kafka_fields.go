package transforms

import (
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

var replaceNullProp = boolProp("replace.null.with.default", true)

// insertionSpec is InsertField's "name", "name!" (required) or "name?"
// (optional, the default).
type insertionSpec struct {
	name     string
	optional bool
}

func parseInsertion(s *settings, prop string) *insertionSpec {
	if s.isNull(prop) {
		return nil
	}
	v := s.str(prop)
	switch {
	case strings.HasSuffix(v, "?"):
		return &insertionSpec{v[:len(v)-1], true}
	case strings.HasSuffix(v, "!"):
		return &insertionSpec{v[:len(v)-1], false}
	}
	return &insertionSpec{v, true}
}

// InsertField is org.apache.kafka.connect.transforms.InsertField$Key and
// $Value: adds the topic, partition, offset, timestamp and/or a static
// string to a struct or map.
type InsertField struct {
	side                                 side
	topic, partition, offset, ts, static *insertionSpec
	staticValue                          string
	replaceNull                          bool
	cache                                schemaCache
}

func newInsertField(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{strProp("topic.field"), strProp("partition.field"), strProp("offset.field"),
		strProp("timestamp.field"), strProp("static.field"), strProp("static.value"), replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	t := &InsertField{side: sd, topic: parseInsertion(s, "topic.field"), partition: parseInsertion(s, "partition.field"),
		offset: parseInsertion(s, "offset.field"), ts: parseInsertion(s, "timestamp.field"), static: parseInsertion(s, "static.field"),
		staticValue: s.str("static.value"), replaceNull: s.boolean("replace.null.with.default")}
	if t.topic == nil && t.partition == nil && t.offset == nil && t.ts == nil && t.static == nil {
		return nil, &ConfigError{Message: "No field insertion configured"}
	}
	if t.static != nil && s.isNull("static.value") {
		return nil, invalidValue("static.value", "null", "No value specified for static field: "+t.static.name)
	}
	return t, nil
}

const insertPurpose = "field insertion"

// Apply implements Transform.
func (t *InsertField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil
	}
	if t.offset != nil && rec.SourceOffset != nil {
		// Java: requireSinkRecord; only records read from Kafka have an offset.
		return nil, dataErrorf("Only SinkRecord supported for [%s], found: org.apache.kafka.connect.source.SourceRecord", insertPurpose)
	}
	if schema == nil {
		m, err := requireMap(v, insertPurpose)
		if err != nil {
			return nil, err
		}
		out := copyMap(m)
		if t.topic != nil {
			out[t.topic.name] = rec.Topic
		}
		if t.partition != nil && rec.Partition >= 0 {
			out[t.partition.name] = rec.Partition
		}
		if t.offset != nil {
			out[t.offset.name] = rec.KafkaOffset
		}
		if t.ts != nil && !rec.Timestamp.IsZero() {
			out[t.ts.name] = rec.Timestamp.UnixMilli()
		}
		if t.static != nil {
			out[t.static.name] = t.staticValue
		}
		return t.side.with(rec, nil, out), nil
	}
	sv, err := requireStruct(v, insertPurpose)
	if err != nil {
		return nil, err
	}
	us, err := t.cache.get(sv.Schema, t.updatedSchema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(us)
	for i, f := range sv.Schema.Fields {
		out.Values[i] = fieldValue(sv, f, t.replaceNull)
	}
	if t.topic != nil {
		out.Set(t.topic.name, rec.Topic)
	}
	if t.partition != nil && rec.Partition >= 0 {
		out.Set(t.partition.name, rec.Partition)
	}
	if t.offset != nil {
		out.Set(t.offset.name, rec.KafkaOffset)
	}
	if t.ts != nil && !rec.Timestamp.IsZero() {
		out.Set(t.ts.name, time.UnixMilli(rec.Timestamp.UnixMilli()).UTC())
	}
	if t.static != nil {
		out.Set(t.static.name, t.staticValue)
	}
	return t.side.with(rec, us, out), nil
}

func (t *InsertField) updatedSchema(s *connect.Schema) (*connect.Schema, error) {
	b := structBuilder(s)
	for _, f := range s.Fields {
		b.Field(f.Name, f.Schema)
	}
	add := func(spec *insertionSpec, schema *connect.Builder) {
		if spec != nil {
			b.Field(spec.name, schema.SetOptional(spec.optional).MustBuild())
		}
	}
	add(t.topic, connect.NewBuilder(connect.String))
	add(t.partition, connect.NewBuilder(connect.Int32))
	add(t.offset, connect.NewBuilder(connect.Int64))
	add(t.ts, connect.TimestampSchema())
	add(t.static, connect.NewBuilder(connect.String))
	return b.Build()
}

// ReplaceField is org.apache.kafka.connect.transforms.ReplaceField$Key and
// $Value: keeps (include), drops (exclude) and renames fields.
type ReplaceField struct {
	side             side
	exclude, include map[string]bool
	renames, reverse map[string]string
	replaceNull      bool
	cache            schemaCache
}

func parseRenames(list []string) (map[string]string, string) {
	m := map[string]string{}
	for _, mapping := range list {
		parts := strings.Split(mapping, ":")
		// Java's String.split drops trailing empty strings: "a:" is one part.
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) != 2 {
			return nil, "Invalid rename mapping: " + mapping
		}
		m[parts[0]] = parts[1]
	}
	return m, ""
}

func newReplaceField(logger *slog.Logger) func(side, map[string]string) (Transform, error) {
	return func(sd side, props map[string]string) (Transform, error) {
		props = translateDeprecated(logger, props, [][2]string{{"include", "whitelist"}, {"exclude", "blacklist"}})
		s, err := parseProps([]prop{listProp("exclude"), listProp("include"),
			listProp("renames").with(func(v string) string { _, msg := parseRenames(splitList(v)); return msg }),
			replaceNullProp}, props)
		if err != nil {
			return nil, err
		}
		t := &ReplaceField{side: sd, exclude: set(s.list("exclude")), include: set(s.list("include")), replaceNull: s.boolean("replace.null.with.default")}
		t.renames, _ = parseRenames(s.list("renames"))
		t.reverse = map[string]string{}
		for k, v := range t.renames {
			t.reverse[v] = k
		}
		return t, nil
	}
}

// translateDeprecated is Kafka 3.x's ConfigUtils.translateDeprecatedConfigs
// for ReplaceField's whitelist/blacklist, which Kafka 3.9 still accepts (4.0
// removed them): the new name wins when both are set.
func translateDeprecated(logger *slog.Logger, props map[string]string, groups [][2]string) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		out[k] = v
	}
	for _, g := range groups {
		target, old := g[0], g[1]
		v, ok := props[old]
		if !ok {
			continue
		}
		delete(out, old)
		if _, set := props[target]; set {
			logger.Error(target + " was configured, as well as the deprecated alias(es) " + old + ".  Using the value of " + target)
			continue
		}
		logger.Warn("Configuration key " + old + " is deprecated and may be removed in the future.  Please update your configuration to use " + target + " instead.")
		out[target] = v
	}
	return out
}

func set(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, e := range list {
		m[e] = true
	}
	return m
}

func (t *ReplaceField) filter(name string) bool {
	return !t.exclude[name] && (len(t.include) == 0 || t.include[name])
}

func (t *ReplaceField) renamed(name string) string {
	if r, ok := t.renames[name]; ok {
		return r
	}
	return name
}

const replacePurpose = "field replacement"

// Apply implements Transform.
func (t *ReplaceField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil
	}
	if schema == nil {
		m, err := requireMap(v, replacePurpose)
		if err != nil {
			return nil, err
		}
		out := make(map[string]any, len(m))
		for k, x := range m {
			if t.filter(k) {
				out[t.renamed(k)] = x
			}
		}
		return t.side.with(rec, nil, out), nil
	}
	sv, err := requireStruct(v, replacePurpose)
	if err != nil {
		return nil, err
	}
	us, err := t.cache.get(sv.Schema, func(s *connect.Schema) (*connect.Schema, error) {
		b := structBuilder(s)
		for _, f := range s.Fields {
			if t.filter(f.Name) {
				b.Field(t.renamed(f.Name), f.Schema)
			}
		}
		return b.Build()
	})
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(us)
	for i, f := range us.Fields {
		orig := f.Name
		if r, ok := t.reverse[orig]; ok {
			orig = r
		}
		if of := sv.Schema.Field(orig); of != nil {
			out.Values[i] = fieldValue(sv, *of, t.replaceNull)
		}
	}
	return t.side.with(rec, us, out), nil
}

// MaskField is org.apache.kafka.connect.transforms.MaskField$Key and
// $Value: replaces fields by their type's zero (or "replacement").
type MaskField struct {
	side        side
	fields      []string
	masked      map[string]bool
	replacement *string
	replaceNull bool
}

func newMaskField(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqList("fields").with(nonEmptyList), strProp("replacement").with(nonEmptyString), replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	t := &MaskField{side: sd, fields: s.list("fields"), masked: set(s.list("fields")), replaceNull: s.boolean("replace.null.with.default")}
	if !s.isNull("replacement") {
		r := s.str("replacement")
		t.replacement = &r
	}
	return t, nil
}

const maskPurpose = "mask fields"

// Apply implements Transform.
func (t *MaskField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		m, err := requireMap(v, maskPurpose)
		if err != nil {
			return nil, err
		}
		out := copyMap(m)
		for _, f := range t.fields {
			mv, err := t.mask(m[f])
			if err != nil {
				return nil, err
			}
			out[f] = mv
		}
		return t.side.with(rec, nil, out), nil
	}
	sv, err := requireStruct(v, maskPurpose)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(sv.Schema)
	for i, f := range sv.Schema.Fields {
		x := fieldValue(sv, f, t.replaceNull)
		if t.masked[f.Name] {
			if x, err = t.mask(x); err != nil {
				return nil, err
			}
		}
		out.Values[i] = x
	}
	return t.side.with(rec, sv.Schema, out), nil
}

func (t *MaskField) mask(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if t.replacement != nil {
		return maskWith(v, *t.replacement)
	}
	switch x := v.(type) {
	case bool:
		return false, nil
	case int8:
		return int8(0), nil
	case int16:
		return int16(0), nil
	case int32:
		return int32(0), nil
	case int64:
		return int64(0), nil
	case float32:
		return float32(0), nil
	case float64:
		return float64(0), nil
	case *big.Int:
		return new(big.Int), nil
	case connect.Decimal:
		return connect.Decimal{Unscaled: new(big.Int), Scale: 0}, nil
	case time.Time:
		return time.UnixMilli(0).UTC(), nil
	case string:
		return "", nil
	case []any:
		return []any{}, nil
	case map[string]any:
		return map[string]any{}, nil
	case connect.MapValue:
		return connect.MapValue{}, nil
	default:
		_ = x
		return nil, dataErrorf("Cannot mask value of type: %s", className(v))
	}
}

// maskWith converts replacement to v's type, as MaskField's
// REPLACEMENT_MAPPING_FUNC does with Values.convertTo*.
func maskWith(v any, r string) (any, error) {
	bad := func() (any, error) {
		return nil, dataErrorf("Unable to convert %s (class java.lang.String) to number", r)
	}
	parseInt := func(bits int) (int64, bool) {
		n, err := strconv.ParseInt(strings.TrimSpace(r), 10, bits)
		if err != nil {
			// Values.convertTo* also accepts a decimal string ("1.0").
			f, ferr := strconv.ParseFloat(strings.TrimSpace(r), 64)
			if ferr != nil {
				return 0, false
			}
			return int64(f), true
		}
		return n, true
	}
	switch v.(type) {
	case int8:
		if n, ok := parseInt(8); ok {
			return int8(n), nil
		}
		return bad()
	case int16:
		if n, ok := parseInt(16); ok {
			return int16(n), nil
		}
		return bad()
	case int32:
		if n, ok := parseInt(32); ok {
			return int32(n), nil
		}
		return bad()
	case int64:
		if n, ok := parseInt(64); ok {
			return n, nil
		}
		return bad()
	case float32:
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 32)
		if err != nil {
			return bad()
		}
		return float32(f), nil
	case float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil {
			return bad()
		}
		return f, nil
	case string:
		return r, nil
	case *big.Int:
		n, ok := new(big.Int).SetString(r, 10)
		if !ok {
			return bad()
		}
		return n, nil
	case connect.Decimal:
		d, ok := parseBigDecimal(r)
		if !ok {
			return bad()
		}
		return d, nil
	}
	return nil, dataErrorf("Cannot mask value of type %s with custom replacement.", className(v))
}

// parseBigDecimal is new BigDecimal(String): the scale is the number of
// digits after the point (minus the exponent).
func parseBigDecimal(s string) (connect.Decimal, bool) {
	s = strings.TrimSpace(s)
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return connect.Decimal{}, false
		}
		exp, s = e, s[:i]
	}
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return connect.Decimal{}, false
	}
	return connect.Decimal{Unscaled: n, Scale: int32(scale - exp)}, true
}

// ValueToKey is org.apache.kafka.connect.transforms.ValueToKey: the key
// becomes a struct (or map) of the listed value fields.
type ValueToKey struct {
	fields      []string
	replaceNull bool
	cache       schemaCache
}

func newValueToKey(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqList("fields").with(nonEmptyList), replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	return &ValueToKey{fields: s.list("fields"), replaceNull: s.boolean("replace.null.with.default")}, nil
}

const valueToKeyPurpose = "copying fields from value to key"

// Apply implements Transform.
func (t *ValueToKey) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.ValueSchema == nil {
		m, err := requireMap(rec.Value, valueToKeyPurpose)
		if err != nil {
			return nil, err
		}
		key := make(map[string]any, len(t.fields))
		for _, f := range t.fields {
			key[f] = m[f]
		}
		cp := *rec
		cp.KeySchema, cp.Key = nil, key
		return &cp, nil
	}
	sv, err := requireStruct(rec.Value, valueToKeyPurpose)
	if err != nil {
		return nil, err
	}
	ks, err := t.cache.get(sv.Schema, func(s *connect.Schema) (*connect.Schema, error) {
		b := connect.StructBuilder()
		for _, name := range t.fields {
			f := s.Field(name)
			if f == nil {
				return nil, dataErrorf("Field does not exist: %s", name)
			}
			b.Field(name, f.Schema)
		}
		return b.Build()
	})
	if err != nil {
		return nil, err
	}
	key := connect.NewStruct(ks)
	for i, name := range t.fields {
		key.Values[i] = fieldValue(sv, *sv.Schema.Field(name), t.replaceNull)
	}
	cp := *rec
	cp.KeySchema, cp.Key = ks, key
	return &cp, nil
}

// ExtractField is org.apache.kafka.connect.transforms.ExtractField$Key and
// $Value: the key or value becomes one of its fields.
type ExtractField struct {
	side        side
	original    string
	path        fieldPath
	replaceNull bool
}

func newExtractField(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqStr("field"), replaceNullProp, fieldSyntaxProp}, props)
	if err != nil {
		return nil, err
	}
	p, err := newFieldPath(s.str("field"), s.str("field.syntax.version"))
	if err != nil {
		return nil, err
	}
	return &ExtractField{side: sd, original: s.str("field"), path: p, replaceNull: s.boolean("replace.null.with.default")}, nil
}

const extractPurpose = "field extraction"

// Apply implements Transform.
func (t *ExtractField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		if v == nil {
			return t.side.with(rec, nil, nil), nil
		}
		m, err := requireMap(v, extractPurpose)
		if err != nil {
			return nil, err
		}
		x, err := t.path.valueFromMap(m)
		if err != nil {
			return nil, err
		}
		return t.side.with(rec, nil, x), nil
	}
	var sv *connect.StructValue
	if v != nil {
		var err error
		if sv, err = requireStruct(v, extractPurpose); err != nil {
			return nil, err
		}
	}
	f := t.path.fieldFrom(schema)
	if f == nil {
		return nil, dataErrorf("Unknown field: %s", t.original)
	}
	if sv == nil {
		return t.side.with(rec, f.Schema, nil), nil
	}
	x, err := t.path.valueFromStruct(sv, t.replaceNull)
	if err != nil {
		return nil, err
	}
	return t.side.with(rec, f.Schema, x), nil
}

// HoistField is org.apache.kafka.connect.transforms.HoistField$Key and
// $Value: wraps the key or value in a struct (or map) of one field.
type HoistField struct {
	side  side
	field string
	cache schemaCache
}

func newHoistField(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqStr("field")}, props)
	if err != nil {
		return nil, err
	}
	return &HoistField{side: sd, field: s.str("field")}, nil
}

// Apply implements Transform.
func (t *HoistField) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		return t.side.with(rec, nil, map[string]any{t.field: v}), nil
	}
	us, err := t.cache.get(schema, func(s *connect.Schema) (*connect.Schema, error) {
		return connect.StructBuilder().Field(t.field, s).Build()
	})
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(us)
	out.Values[0] = v
	return t.side.with(rec, us, out), nil
}
