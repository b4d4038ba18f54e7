package transforms

import (
	"encoding/base64"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
)

// kafkaTypeName is the Schema.Type enum name Kafka's messages use.
func kafkaTypeName(t connect.Type) string {
	switch t {
	case connect.Float32:
		return "FLOAT32"
	case connect.Float64:
		return "FLOAT64"
	}
	return strings.ToUpper(string(t))
}

func typeFromKafkaName(n string) (connect.Type, bool) {
	switch strings.ToUpper(strings.TrimSpace(n)) {
	case "INT8":
		return connect.Int8, true
	case "INT16":
		return connect.Int16, true
	case "INT32":
		return connect.Int32, true
	case "INT64":
		return connect.Int64, true
	case "FLOAT32":
		return connect.Float32, true
	case "FLOAT64":
		return connect.Float64, true
	case "BOOLEAN":
		return connect.Boolean, true
	case "STRING":
		return connect.String, true
	case "BYTES":
		return connect.Bytes, true
	case "ARRAY":
		return connect.Array, true
	case "MAP":
		return connect.Map, true
	case "STRUCT":
		return connect.Struct, true
	}
	return "", false
}

// inferType is ConnectSchema.schemaType(value.getClass()) for Go values;
// ok is false for a value Connect's data API does not know.
func inferType(v any) (connect.Type, bool) {
	switch v.(type) {
	case int8:
		return connect.Int8, true
	case int16:
		return connect.Int16, true
	case int32:
		return connect.Int32, true
	case int64:
		return connect.Int64, true
	case float32:
		return connect.Float32, true
	case float64:
		return connect.Float64, true
	case bool:
		return connect.Boolean, true
	case string:
		return connect.String, true
	case []byte:
		return connect.Bytes, true
	case []any:
		return connect.Array, true
	case map[string]any, connect.MapValue:
		return connect.Map, true
	case *connect.StructValue:
		return connect.Struct, true
	}
	return "", false
}

// Flatten is org.apache.kafka.connect.transforms.Flatten$Key and $Value:
// nested structs (or maps) become top-level fields named with "delimiter".
type Flatten struct {
	side      side
	delimiter string
	cache     schemaCache
}

func newFlatten(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{defStr("delimiter", ".")}, props)
	if err != nil {
		return nil, err
	}
	return &Flatten{side: sd, delimiter: s.str("delimiter")}, nil
}

const flattenPurpose = "flattening"

func (t *Flatten) name(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + t.delimiter + field
}

// Apply implements Transform.
func (t *Flatten) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil
	}
	if schema == nil {
		m, err := requireMap(v, flattenPurpose)
		if err != nil {
			return nil, err
		}
		out := map[string]any{}
		if err := t.flattenMap(m, "", out); err != nil {
			return nil, err
		}
		return t.side.with(rec, nil, out), nil
	}
	sv, err := requireStruct(v, flattenPurpose)
	if err != nil {
		return nil, err
	}
	us, err := t.cache.get(schema, func(s *connect.Schema) (*connect.Schema, error) {
		b := structBuilder(s)
		def, _ := s.Default.(*connect.StructValue)
		if err := t.flattenSchema(s, "", b, s.Optional, def); err != nil {
			return nil, err
		}
		return b.Build()
	})
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(us)
	t.flattenStruct(sv, "", out)
	return t.side.with(rec, us, out), nil
}

func (t *Flatten) flattenMap(m map[string]any, prefix string, out map[string]any) error {
	for k, v := range m {
		name := t.name(prefix, k)
		if v == nil {
			out[name] = nil
			continue
		}
		typ, ok := inferType(v)
		if !ok {
			return dataErrorf("Flatten transformation was passed a value of type %s which is not supported by Connect's data API", className(v))
		}
		switch typ {
		case connect.Map:
			sub, err := requireMap(v, flattenPurpose)
			if err != nil {
				return err
			}
			if err := t.flattenMap(sub, name, out); err != nil {
				return err
			}
		case connect.Struct:
			return dataErrorf("Flatten transformation does not support %s for record without schemas (for field %s).", className(v), name)
		default:
			out[name] = v
		}
	}
	return nil
}

func (t *Flatten) flattenSchema(s *connect.Schema, prefix string, b *connect.Builder, optional bool, parentDefault *connect.StructValue) error {
	for _, f := range s.Fields {
		name := t.name(prefix, f.Name)
		fieldOptional := optional || f.Schema.Optional
		var def any
		switch {
		case f.Schema.HasDefault && f.Schema.Default != nil:
			def = f.Schema.Default
		case parentDefault != nil:
			def = fieldValue(parentDefault, f, true)
		}
		switch f.Schema.Type {
		case connect.Struct:
			sub, _ := def.(*connect.StructValue)
			if err := t.flattenSchema(f.Schema, name, b, fieldOptional, sub); err != nil {
				return err
			}
		case connect.Map:
			return dataErrorf("Flatten transformation does not support %s for record with schemas (for field %s).", kafkaTypeName(f.Schema.Type), name)
		default:
			fb := copyBasics(f.Schema)
			if fieldOptional {
				fb.Optional()
			}
			if def != nil {
				fb.Default(def)
			}
			b.Field(name, fb.MustBuild())
		}
	}
	return nil
}

func (t *Flatten) flattenStruct(v *connect.StructValue, prefix string, out *connect.StructValue) {
	if v == nil {
		return
	}
	for _, f := range v.Schema.Fields {
		name := t.name(prefix, f.Name)
		x := fieldValue(v, f, true)
		if f.Schema.Type == connect.Struct {
			sub, _ := x.(*connect.StructValue)
			t.flattenStruct(sub, name, out)
			continue
		}
		out.Set(name, x)
	}
}

// Cast is org.apache.kafka.connect.transforms.Cast$Key and $Value.
type Cast struct {
	side        side
	casts       map[string]connect.Type
	whole       connect.Type // "" unless the spec is a single type
	replaceNull bool
	cache       schemaCache
}

var castOutputTypes = []connect.Type{connect.Int8, connect.Int16, connect.Int32, connect.Int64, connect.Float32, connect.Float64, connect.Boolean, connect.String}

func typeList(ts []connect.Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = kafkaTypeName(t)
	}
	return "[" + strings.Join(names, ", ") + "]"
}

func parseCastSpec(list []string) (map[string]connect.Type, connect.Type, string) {
	if len(list) == 0 {
		return nil, "", "Must specify at least one field to cast."
	}
	m := map[string]connect.Type{}
	var whole connect.Type
	output := func(name string) (connect.Type, string) {
		typ, ok := typeFromKafkaName(name)
		if !ok {
			return "", "Invalid type found in casting spec: " + strings.TrimSpace(name)
		}
		for _, o := range castOutputTypes {
			if o == typ {
				return typ, ""
			}
		}
		return "", "Cast transformation does not support casting to " + kafkaTypeName(typ) + "; supported types are " + typeList(castOutputTypes)
	}
	for _, mapping := range list {
		parts := strings.Split(mapping, ":")
		switch {
		case len(parts) > 2:
			return nil, "", "Invalid rename mapping: " + mapping
		case len(parts) == 1:
			typ, msg := output(parts[0])
			if msg != "" {
				return nil, "", msg
			}
			whole = typ
		default:
			typ, msg := output(parts[1])
			if msg != "" {
				return nil, "", msg
			}
			m[strings.TrimSpace(parts[0])] = typ
		}
	}
	if whole != "" && len(list) > 1 {
		return nil, "", "Cast transformations that specify a type to cast the entire value to may only specify a single cast in their spec"
	}
	return m, whole, ""
}

func newCast(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqList("spec"), replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	casts, whole, msg := parseCastSpec(s.list("spec"))
	if msg != "" {
		return nil, &ConfigError{Property: "spec", Message: msg}
	}
	return &Cast{side: sd, casts: casts, whole: whole, replaceNull: s.boolean("replace.null.with.default")}, nil
}

const castPurpose = "cast types"

// Apply implements Transform.
func (t *Cast) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil {
		return rec, nil
	}
	if schema == nil {
		if t.whole != "" {
			x, err := castValue(nil, v, t.whole)
			if err != nil {
				return nil, err
			}
			return t.side.with(rec, nil, x), nil
		}
		m, err := requireMap(v, castPurpose)
		if err != nil {
			return nil, err
		}
		out := copyMap(m)
		for f, typ := range t.casts {
			x, err := castValue(nil, m[f], typ)
			if err != nil {
				return nil, err
			}
			out[f] = x
		}
		return t.side.with(rec, nil, out), nil
	}
	us, err := t.cache.get(schema, t.updatedSchema)
	if err != nil {
		return nil, err
	}
	if t.whole != "" {
		x, err := castValue(schema, v, t.whole)
		if err != nil {
			return nil, err
		}
		return t.side.with(rec, us, x), nil
	}
	sv, err := requireStruct(v, castPurpose)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(us)
	for i, f := range sv.Schema.Fields {
		x := fieldValue(sv, f, t.replaceNull)
		if typ, ok := t.casts[f.Name]; ok {
			if x, err = castValue(f.Schema, x, typ); err != nil {
				return nil, err
			}
		}
		out.Values[i] = x
	}
	return t.side.with(rec, us, out), nil
}

func (t *Cast) updatedSchema(s *connect.Schema) (*connect.Schema, error) {
	var b *connect.Builder
	if t.whole != "" {
		b = connect.NewBuilder(t.whole).Name(s.Name).Version(s.Version).Doc(s.Doc)
		for _, p := range s.Params {
			b.Param(p.Key, p.Value)
		}
	} else {
		b = structBuilder(s)
		for _, f := range s.Fields {
			typ, ok := t.casts[f.Name]
			if !ok {
				b.Field(f.Name, f.Schema)
				continue
			}
			fb := connect.NewBuilder(typ)
			if f.Schema.Optional {
				fb.Optional()
			}
			if f.Schema.HasDefault && f.Schema.Default != nil {
				d, err := castValue(f.Schema, f.Schema.Default, typ)
				if err != nil {
					return nil, err
				}
				fb.Default(d)
			}
			b.Field(f.Name, fb.MustBuild())
		}
	}
	if s.Optional {
		b.Optional()
	}
	if s.HasDefault && s.Default != nil {
		target := t.whole
		if target == "" {
			target = connect.Struct
		}
		if target != connect.Struct {
			d, err := castValue(s, s.Default, target)
			if err != nil {
				return nil, err
			}
			b.Default(d)
		}
	}
	return b.Build()
}

var castInputTypes = []connect.Type{connect.Int8, connect.Int16, connect.Int32, connect.Int64, connect.Float32, connect.Float64, connect.Boolean, connect.String, connect.Bytes}

// castValue is Cast.castValueToType.
func castValue(schema *connect.Schema, v any, target connect.Type) (any, error) {
	if v == nil {
		return nil, nil
	}
	var typ connect.Type
	if schema != nil {
		typ = schema.Type
	} else {
		var ok bool
		if typ, ok = inferType(v); !ok {
			return nil, dataErrorf("Cast transformation was passed a value of type %s which is not supported by Connect's data API", className(v))
		}
	}
	supported := false
	for _, in := range castInputTypes {
		supported = supported || in == typ
	}
	if !supported {
		return nil, dataErrorf("Cast transformation does not support casting from %s; supported types are %s", kafkaTypeName(typ), typeList(castInputTypes))
	}
	if schema != nil && schema.Name != "" && target != connect.String {
		v = encodeLogical(schema, v)
	}
	outOfRange := func() (any, error) {
		return nil, dataErrorf("Value (%v) was out of range for requested data type", v)
	}
	// Numbers as Java's Number.xxxValue(): integers as int64, floats as
	// float64, decimals as a big.Rat.
	var iv int64
	var fv float64
	var isNum, isFloat, isDec bool
	switch x := v.(type) {
	case int8:
		iv, isNum = int64(x), true
	case int16:
		iv, isNum = int64(x), true
	case int32:
		iv, isNum = int64(x), true
	case int64:
		iv, isNum = x, true
	case float32:
		fv, isNum, isFloat = float64(x), true, true
	case float64:
		fv, isNum, isFloat = x, true, true
	case connect.Decimal:
		// BigDecimal.intValue() and friends keep the low-order bits of
		// the integer part (2^31 becomes Integer.MIN_VALUE), unlike a
		// double's saturating narrowing.
		den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs32(x.Scale))), nil)
		r := new(big.Rat)
		if x.Scale >= 0 {
			r.SetFrac(x.Unscaled, den)
		} else {
			r.SetInt(new(big.Int).Mul(x.Unscaled, den))
		}
		fv, _ = r.Float64()
		q := new(big.Int).Quo(r.Num(), r.Denom())
		iv = int64(new(big.Int).And(q, new(big.Int).SetUint64(math.MaxUint64)).Uint64())
		isNum, isDec = true, true
	case bool:
		if x {
			iv = 1
		}
		isNum = true
	}
	switch {
	case isFloat:
		iv = javaLong(fv)
	case !isDec:
		fv = float64(iv)
	}
	switch target {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		if !isNum {
			s, ok := v.(string)
			if !ok {
				return nil, dataErrorf("Unexpected type in Cast transformation: %s", className(v))
			}
			bits := map[connect.Type]int{connect.Int8: 8, connect.Int16: 16, connect.Int32: 32, connect.Int64: 64}[target]
			n, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return outOfRange()
			}
			iv = n
		} else if isFloat && target != connect.Int64 {
			iv = int64(javaInt(fv))
		}
		switch target {
		case connect.Int8:
			return int8(iv), nil
		case connect.Int16:
			return int16(iv), nil
		case connect.Int32:
			return int32(iv), nil
		}
		return iv, nil
	case connect.Float32, connect.Float64:
		if !isNum {
			s, ok := v.(string)
			if !ok {
				return nil, dataErrorf("Unexpected type in Cast transformation: %s", className(v))
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return outOfRange()
			}
			fv = f
		}
		if target == connect.Float32 {
			return float32(fv), nil
		}
		return fv, nil
	case connect.Boolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		if isNum {
			return iv != 0, nil
		}
		if s, ok := v.(string); ok {
			return strings.EqualFold(s, "true"), nil
		}
		return nil, dataErrorf("Unexpected type in Cast transformation: %s", className(v))
	case connect.String:
		return javaString(v), nil
	}
	return nil, dataErrorf("%s is not supported in the Cast transformation.", kafkaTypeName(target))
}

func abs32(n int32) int32 {
	if n < 0 {
		return -n
	}
	return n
}

// javaLong is Java's (long) of a double: NaN is 0, out of range saturates.
func javaLong(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// javaInt is Java's (int) of a double.
func javaInt(f float64) int32 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt32:
		return math.MaxInt32
	case f <= math.MinInt32:
		return math.MinInt32
	}
	return int32(f)
}

// javaString is Object.toString for Connect values, with Cast's special
// cases: dates in ISO 8601 (Values.dateFormatFor), bytes in base64.
func javaString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		ms := x.UnixMilli()
		var f string
		switch {
		case ms >= 0 && ms < 86400000:
			f = "HH:mm:ss.SSS'Z'"
		case ms%86400000 == 0:
			f = "yyyy-MM-dd"
		default:
			f = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
		}
		df, _ := parseJavaDateFormat(f)
		return df.format(x)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case float32:
		return javaFloatString(float64(x), 32)
	case float64:
		return javaFloatString(x, 64)
	case connect.Decimal:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int8, int16, int32, int64:
		n, _ := toInt64(x)
		return strconv.FormatInt(n, 10)
	}
	return ""
}

func javaFloatString(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return converter.JavaFloat(f, bits)
}

func toInt64(v any) (int64, bool) {
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
	}
	return 0, false
}

// encodeLogical is Cast.encodeLogicalType: Date as days, Time as millis of
// day, Timestamp as epoch millis.
func encodeLogical(schema *connect.Schema, v any) any {
	t, ok := v.(time.Time)
	if !ok {
		return v
	}
	switch schema.Name {
	case connect.DateName:
		return connect.EpochDays(t)
	case connect.TimeName:
		u := t.UTC()
		return int32((u.Hour()*3600+u.Minute()*60+u.Second())*1000 + u.Nanosecond()/1e6)
	case connect.TimestampName:
		return t.UnixMilli()
	}
	return v
}

// SetSchemaMetadata is org.apache.kafka.connect.transforms.SetSchemaMetadata$Key
// and $Value: sets the schema's name and/or version.
type SetSchemaMetadata struct {
	side        side
	name        *string
	version     *int
	replaceNull bool
	cache       schemaCache
}

func newSetSchemaMetadata(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{strProp("schema.name"), {name: "schema.version", kind: kInt}, replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	t := &SetSchemaMetadata{side: sd, replaceNull: s.boolean("replace.null.with.default")}
	if !s.isNull("schema.name") {
		n := s.str("schema.name")
		t.name = &n
	}
	if !s.isNull("schema.version") {
		v := s.integer("schema.version")
		t.version = &v
	}
	if t.name == nil && t.version == nil {
		return nil, &ConfigError{Message: "Neither schema name nor version configured"}
	}
	return t, nil
}

// Apply implements Transform.
func (t *SetSchemaMetadata) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if v == nil && schema == nil {
		return rec, nil
	}
	if schema == nil {
		return nil, dataErrorf("Schema required for [updating schema metadata]")
	}
	us, _ := t.cache.get(schema, func(s *connect.Schema) (*connect.Schema, error) {
		cp := *s
		if t.name != nil {
			cp.Name = *t.name
		}
		if t.version != nil {
			cp.Version = *t.version
		}
		return &cp, nil
	})
	if sv, ok := v.(*connect.StructValue); ok {
		out := connect.NewStruct(us)
		for i, f := range us.Fields {
			out.Values[i] = fieldValue(sv, f, t.replaceNull)
		}
		v = out
	}
	return t.side.with(rec, us, v), nil
}

// DropHeaders is org.apache.kafka.connect.transforms.DropHeaders.
type DropHeaders struct{ drop map[string]bool }

func newDropHeaders(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqList("headers").with(nonEmptyList)}, props)
	if err != nil {
		return nil, err
	}
	return &DropHeaders{drop: set(s.list("headers"))}, nil
}

// Apply implements Transform.
func (t *DropHeaders) Apply(rec *connect.Record) (*connect.Record, error) {
	kept := make([]connect.Header, 0, len(rec.Headers))
	for _, h := range rec.Headers {
		if !t.drop[h.Key] {
			kept = append(kept, h)
		}
	}
	cp := *rec
	cp.Headers = kept
	return &cp, nil
}

// InsertHeader is org.apache.kafka.connect.transforms.InsertHeader: adds a
// header whose value is value.literal parsed as Values.parseString does.
type InsertHeader struct {
	header string
	schema *connect.Schema
	value  any
}

func newInsertHeader(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqStr("header"), reqStr("value.literal")}, props)
	if err != nil {
		return nil, err
	}
	schema, v := parseLiteral(s.str("value.literal"))
	return &InsertHeader{header: s.str("header"), schema: schema, value: v}, nil
}

// parseLiteral is the part of Kafka's Values.parseString that header
// literals use: booleans, integers in the smallest type that holds them,
// floating point numbers, and otherwise the string itself.
func parseLiteral(s string) (*connect.Schema, any) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(t) {
	case "true":
		return connect.Prim(connect.Boolean), true
	case "false":
		return connect.Prim(connect.Boolean), false
	}
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		switch {
		case n >= math.MinInt8 && n <= math.MaxInt8:
			return connect.Prim(connect.Int8), int8(n)
		case n >= math.MinInt16 && n <= math.MaxInt16:
			return connect.Prim(connect.Int16), int16(n)
		case n >= math.MinInt32 && n <= math.MaxInt32:
			return connect.Prim(connect.Int32), int32(n)
		}
		return connect.Prim(connect.Int64), n
	}
	if strings.ContainsAny(t, ".eE") {
		if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsInf(f, 0) {
			if float64(float32(f)) == f {
				return connect.Prim(connect.Float32), float32(f)
			}
			return connect.Prim(connect.Float64), f
		}
	}
	return connect.Prim(connect.String), s
}

// Apply implements Transform.
func (t *InsertHeader) Apply(rec *connect.Record) (*connect.Record, error) {
	cp := *rec
	cp.Headers = append(append(make([]connect.Header, 0, len(rec.Headers)+1), rec.Headers...), connect.Header{Key: t.header, Schema: t.schema, Value: t.value})
	return &cp, nil
}

// HeaderFrom is org.apache.kafka.connect.transforms.HeaderFrom$Key and
// $Value: copies or moves fields into headers.
type HeaderFrom struct {
	side           side
	fields, header []string
	move           bool
	moving         map[string]bool
	replaceNull    bool
	cache          schemaCache
}

func newHeaderFrom(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqList("fields").with(nonEmptyList), reqList("headers").with(nonEmptyList),
		reqStr("operation").with(oneOf("move", "copy")), replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	t := &HeaderFrom{side: sd, fields: s.list("fields"), header: s.list("headers"), move: s.str("operation") == "move", replaceNull: s.boolean("replace.null.with.default")}
	if len(t.fields) != len(t.header) {
		return nil, &ConfigError{Property: "headers", Message: "'fields' config must have the same number of elements as 'headers' config."}
	}
	t.moving = set(t.fields)
	return t, nil
}

// Apply implements Transform.
func (t *HeaderFrom) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	op := "copy"
	if t.move {
		op = "move"
	}
	hs := append(make([]connect.Header, 0, len(rec.Headers)+len(t.fields)), rec.Headers...)
	if schema == nil {
		m, err := requireMap(v, "header "+op)
		if err != nil {
			return nil, err
		}
		out := copyMap(m)
		for i, f := range t.fields {
			if t.move {
				delete(out, f)
			}
			hs = append(hs, connect.Header{Key: t.header[i], Value: m[f]})
		}
		cp := t.side.with(rec, nil, out)
		cp.Headers = hs
		return cp, nil
	}
	sv, err := requireStruct(v, "header "+op)
	if err != nil {
		return nil, err
	}
	for i, name := range t.fields {
		f := schema.Field(name)
		if f == nil {
			// Java fails here with a NullPointerException.
			return nil, dataErrorf("Field does not exist: %s (named in fields; schema %s)", name, schema)
		}
		hs = append(hs, connect.Header{Key: t.header[i], Schema: f.Schema, Value: fieldValue(sv, *f, t.replaceNull)})
	}
	us, out := schema, sv
	if t.move {
		if us, err = t.cache.get(schema, func(s *connect.Schema) (*connect.Schema, error) {
			b := structBuilder(s)
			for _, f := range s.Fields {
				if !t.moving[f.Name] {
					b.Field(f.Name, f.Schema)
				}
			}
			return b.Build()
		}); err != nil {
			return nil, err
		}
		out = connect.NewStruct(us)
		for i, f := range us.Fields {
			out.Values[i] = fieldValue(sv, *sv.Schema.Field(f.Name), t.replaceNull)
		}
	}
	cp := t.side.with(rec, us, out)
	cp.Headers = hs
	return cp, nil
}

// TimestampConverter is org.apache.kafka.connect.transforms.TimestampConverter$Key
// and $Value: converts a field (or the whole key/value) between strings,
// epoch numbers and Connect's Date, Time and Timestamp.
type TimestampConverter struct {
	side        side
	field       string
	target      string
	format      *javaDateFormat
	precision   string
	replaceNull bool
	cache       schemaCache
}

func newTimestampConverter(sd side, props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{defStr("field", ""), reqStr("target.type").with(oneOf("string", "unix", "Date", "Time", "Timestamp")),
		defStr("format", ""), defStr("unix.precision", "milliseconds").with(oneOf("nanoseconds", "microseconds", "milliseconds", "seconds")),
		replaceNullProp}, props)
	if err != nil {
		return nil, err
	}
	t := &TimestampConverter{side: sd, field: s.str("field"), target: s.str("target.type"), precision: s.str("unix.precision"), replaceNull: s.boolean("replace.null.with.default")}
	pattern := s.str("format")
	if t.target == "string" && strings.TrimSpace(pattern) == "" {
		return nil, &ConfigError{Property: "format", Message: "TimestampConverter requires format option to be specified when using string timestamps"}
	}
	if strings.TrimSpace(pattern) != "" {
		if t.format, err = parseJavaDateFormat(pattern); err != nil {
			return nil, &ConfigError{Property: "format", Message: "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: " + pattern + " (" + err.Error() + ")"}
		}
	}
	return t, nil
}

const tsPurpose = "converting timestamp formats"

func (t *TimestampConverter) typeSchema(optional bool) *connect.Schema {
	var b *connect.Builder
	switch t.target {
	case "string":
		b = connect.NewBuilder(connect.String)
	case "unix":
		b = connect.NewBuilder(connect.Int64)
	case "Date":
		b = connect.DateSchema()
	case "Time":
		b = connect.TimeSchema()
	default:
		b = connect.TimestampSchema()
	}
	return b.SetOptional(optional).MustBuild()
}

// Apply implements Transform.
func (t *TimestampConverter) Apply(rec *connect.Record) (*connect.Record, error) {
	schema, v := t.side.get(rec)
	if schema == nil {
		if v == nil || t.field == "" {
			x, err := t.convert(v, "")
			if err != nil {
				return nil, err
			}
			return t.side.with(rec, nil, x), nil
		}
		m, err := requireMap(v, tsPurpose)
		if err != nil {
			return nil, err
		}
		out := copyMap(m)
		if out[t.field], err = t.convert(m[t.field], ""); err != nil {
			return nil, err
		}
		return t.side.with(rec, nil, out), nil
	}
	if t.field == "" {
		from, err := timestampType(schema)
		if err != nil {
			return nil, err
		}
		x, err := t.convert(v, from)
		if err != nil {
			return nil, err
		}
		us, _ := t.cache.get(schema, func(s *connect.Schema) (*connect.Schema, error) { return t.typeSchema(s.Optional), nil })
		return t.side.with(rec, us, x), nil
	}
	var sv *connect.StructValue
	if v != nil {
		var err error
		if sv, err = requireStruct(v, tsPurpose); err != nil {
			return nil, err
		}
	}
	us, err := t.cache.get(schema, func(s *connect.Schema) (*connect.Schema, error) {
		b := structBuilder(s)
		for _, f := range s.Fields {
			if f.Name == t.field {
				b.Field(f.Name, t.typeSchema(f.Schema.Optional))
			} else {
				b.Field(f.Name, f.Schema)
			}
		}
		if s.Optional {
			b.Optional()
		}
		us, err := b.Build()
		if err != nil {
			return nil, err
		}
		if d, ok := s.Default.(*connect.StructValue); ok && d != nil {
			dv, err := t.convertStruct(d, us)
			if err != nil {
				return nil, err
			}
			cp := *us
			cp.Default, cp.HasDefault = dv, true
			us = &cp
		}
		return us, nil
	})
	if err != nil {
		return nil, err
	}
	if sv == nil {
		return t.side.with(rec, us, nil), nil
	}
	out, err := t.convertStruct(sv, us)
	if err != nil {
		return nil, err
	}
	return t.side.with(rec, us, out), nil
}

func (t *TimestampConverter) convertStruct(v *connect.StructValue, us *connect.Schema) (*connect.StructValue, error) {
	out := connect.NewStruct(us)
	for i, f := range v.Schema.Fields {
		x := fieldValue(v, f, t.replaceNull)
		if f.Name == t.field {
			from, err := timestampType(f.Schema)
			if err != nil {
				return nil, err
			}
			if x, err = t.convert(x, from); err != nil {
				return nil, err
			}
		}
		out.Values[i] = x
	}
	return out, nil
}

// timestampType is TimestampConverter.timestampTypeFromSchema.
func timestampType(s *connect.Schema) (string, error) {
	switch {
	case s.Name == connect.TimestampName:
		return "Timestamp", nil
	case s.Name == connect.DateName:
		return "Date", nil
	case s.Name == connect.TimeName:
		return "Time", nil
	case s.Type == connect.String:
		return "string", nil
	case s.Type == connect.Int64:
		return "unix", nil
	}
	return "", dataErrorf("Schema %s does not correspond to a known timestamp type format", s)
}

// convert is TimestampConverter.convertTimestamp; from "" infers the type
// from the value.
func (t *TimestampConverter) convert(v any, from string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if from == "" {
		switch v.(type) {
		case time.Time:
			from = "Timestamp"
		case int64:
			from = "unix"
		case string:
			from = "string"
		default:
			return nil, dataErrorf("TimestampConverter does not support %s objects as timestamps", className(v))
		}
	}
	var raw time.Time
	switch from {
	case "string":
		s, ok := v.(string)
		if !ok {
			return nil, dataErrorf("Expected string timestamp to be a String, but found %s", className(v))
		}
		if t.format == nil {
			return nil, dataErrorf("TimestampConverter requires format option to be specified when using string timestamps")
		}
		var err error
		if raw, err = t.format.parse(s); err != nil {
			return nil, dataErrorf("Could not parse timestamp: value (%s) does not match pattern (%s)", s, t.format.pattern)
		}
	case "unix":
		n, ok := v.(int64)
		if !ok {
			return nil, dataErrorf("Expected Unix timestamp to be a Long, but found %s", className(v))
		}
		switch t.precision {
		case "seconds":
			raw = time.UnixMilli(n * 1000)
		case "microseconds":
			raw = time.UnixMilli(n / 1000)
		case "nanoseconds":
			raw = time.UnixMilli(n / 1000000)
		default:
			raw = time.UnixMilli(n)
		}
	default:
		switch x := v.(type) {
		case time.Time:
			raw = x
		case int32: // Date (days) or Time (millis of day) in raw form
			if from == "Date" {
				raw = time.UnixMilli(int64(x) * 86400000)
			} else {
				raw = time.UnixMilli(int64(x))
			}
		case int64: // Timestamp in raw form
			raw = time.UnixMilli(x)
		default:
			return nil, dataErrorf("Expected %s to be a java.util.Date, but found %s", from, className(v))
		}
	}
	raw = raw.UTC()
	switch t.target {
	case "string":
		return t.format.format(raw), nil
	case "unix":
		ms := raw.UnixMilli()
		switch t.precision {
		case "seconds":
			return ms / 1000, nil
		case "microseconds":
			return ms * 1000, nil
		case "nanoseconds":
			return ms * 1000000, nil
		}
		return ms, nil
	case "Date":
		return time.Date(raw.Year(), raw.Month(), raw.Day(), 0, 0, 0, 0, time.UTC), nil
	case "Time":
		return time.Date(1970, 1, 1, raw.Hour(), raw.Minute(), raw.Second(), raw.Nanosecond()/1e6*1e6, time.UTC), nil
	}
	return time.UnixMilli(raw.UnixMilli()).UTC(), nil
}
