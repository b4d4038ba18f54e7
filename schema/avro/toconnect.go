package avro

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// ToConnectSchema converts an Avro schema to the Connect schema Confluent's
// AvroData.toConnectSchema builds, honouring the connect.* properties the
// converter wrote. version, if positive, becomes the top-level schema's
// version when the schema carries no connect.version (the AvroConverter
// passes the registry's version of the writer schema).
func ToConnectSchema(s *Schema, version int, opts Options) (*connect.Schema, error) {
	t := &toConnect{opts: opts, building: map[*Schema]bool{}}
	return t.schema(s, false, nil, "", version, "")
}

type toConnect struct {
	opts     Options
	building map[*Schema]bool
}

func stringProp(s *Schema, key string) (string, bool) {
	raw := s.Prop(key)
	if raw == nil {
		return "", false
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return "", false
	}
	return str, true
}

func jsonValue(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return readJSON(dec)
}

func (t *toConnect) schema(s *Schema, forceOptional bool, fieldDefault []byte, docDefault string, version int, path string) (*connect.Schema, error) {
	if t.building[s] {
		return nil, fmt.Errorf("%s: recursive Avro type %s is not supported", pathOr(path), s.FullName())
	}
	connectType, _ := stringProp(s, propConnectType)
	logicalType, _ := stringProp(s, "logicalType")
	var b *connect.Builder
	switch s.Type {
	case "boolean":
		b = connect.NewBuilder(connect.Boolean)
	case "bytes", "fixed":
		if strings.EqualFold(logicalType, "decimal") {
			scale := 0
			if raw := s.Prop("scale"); raw != nil {
				n, err := strconv.Atoi(string(raw))
				if err != nil {
					return nil, fmt.Errorf("%s: decimal scale %s is not an integer", pathOr(path), raw)
				}
				scale = n
			}
			b = connect.DecimalSchema(scale)
			if raw := s.Prop("precision"); raw != nil {
				p, err := strconv.Atoi(string(raw))
				if err != nil {
					return nil, fmt.Errorf("%s: precision property must be a JSON integer, got %s", pathOr(path), raw)
				}
				if p != DefaultDecimalPrecision {
					b.Param(DecimalPrecisionParam, strconv.Itoa(p))
				}
			}
		} else {
			b = connect.NewBuilder(connect.Bytes)
		}
		if s.Type == "fixed" {
			b.Param(FixedSizeParam, strconv.Itoa(s.Size))
		}
	case "double":
		b = connect.NewBuilder(connect.Float64)
	case "float":
		b = connect.NewBuilder(connect.Float32)
	case "int":
		switch {
		case connectType == "" && logicalType == "":
			b = connect.NewBuilder(connect.Int32)
		case logicalType != "":
			switch strings.ToLower(logicalType) {
			case "date":
				b = connect.DateSchema()
			case "time-millis":
				b = connect.TimeSchema()
			default:
				b = connect.NewBuilder(connect.Int32)
			}
		case connectType == "int8":
			b = connect.NewBuilder(connect.Int8)
		case connectType == "int16":
			b = connect.NewBuilder(connect.Int16)
		default:
			return nil, fmt.Errorf("%s: unknown connect.type %q on an Avro int", pathOr(path), connectType)
		}
	case "long":
		if strings.EqualFold(logicalType, "timestamp-millis") {
			b = connect.TimestampSchema()
		} else {
			b = connect.NewBuilder(connect.Int64)
		}
	case "string":
		b = connect.NewBuilder(connect.String)
	case "array":
		if isMapEntry(s.Items) {
			ks, err := t.schema(s.Items.Fields[0].Schema, false, nil, "", 0, path+".key")
			if err != nil {
				return nil, err
			}
			vs, err := t.schema(s.Items.Fields[1].Schema, false, nil, "", 0, path+".value")
			if err != nil {
				return nil, err
			}
			b = connect.MapOf(ks, vs)
		} else {
			es, err := t.schema(s.Items, false, nil, "", 0, path+"[]")
			if err != nil {
				return nil, err
			}
			b = connect.ArrayOf(es)
		}
	case "map":
		vs, err := t.schema(s.Values, false, nil, "", 0, path+"{}")
		if err != nil {
			return nil, err
		}
		b = connect.MapOf(connect.Prim(connect.String), vs)
	case "record":
		b = connect.StructBuilder()
		t.building[s] = true
		if !t.opts.DiscardTypeDocDefault && t.opts.ConnectMetaData && s.Doc != "" {
			b.Param(recordDocParam, s.Doc)
		}
		for _, f := range s.Fields {
			if !t.opts.DiscardTypeDocDefault && t.opts.ConnectMetaData && f.Doc != "" {
				b.Param(fieldDocParamPrefix+f.Name, f.Doc)
			}
			fs, err := t.schema(f.Schema, false, f.Default, f.Doc, 0, path+"."+f.Name)
			if err != nil {
				return nil, err
			}
			b.Field(f.Name, fs)
		}
		delete(t.building, s)
	case "enum":
		b = connect.NewBuilder(connect.String)
		if t.opts.ConnectMetaData {
			if s.Doc != "" {
				if t.opts.DiscardTypeDocDefault {
					b.Param(propConnectEnumDoc, s.Doc)
				} else {
					b.Param(enumDocParamPrefix+s.Name, s.Doc)
				}
			}
			if !t.opts.DiscardTypeDocDefault && s.EnumDefault != "" {
				b.Param(enumDefaultParamPrefix+s.Name, s.EnumDefault)
			}
		}
		b.Param(EnumParam, s.FullName())
		for _, sym := range s.Symbols {
			b.Param(EnumParam+"."+sym, sym)
		}
	case "union":
		if len(s.Branches) == 1 && t.opts.FlattenSingletonUnions {
			return t.schema(s.Branches[0], false, nil, docDefault, 0, path)
		}
		if len(s.Branches) == 2 {
			for i, br := range s.Branches {
				if br.Type == "null" {
					return t.schema(s.Branches[1-i], true, nil, docDefault, 0, path)
				}
			}
		}
		b = connect.StructBuilder().Name(UnionSchemaName)
		seen := map[string]bool{}
		for i, br := range s.Branches {
			if br.Type == "null" {
				b.Optional()
				continue
			}
			name := t.unionMemberName(br)
			if seen[name] {
				return nil, fmt.Errorf("%s: multiple union schemas map to the Connect union field name %q", pathOr(path), name)
			}
			seen[name] = true
			ms, err := t.schema(br, true, nil, "", 0, fmt.Sprintf("%s|%d", path, i))
			if err != nil {
				return nil, err
			}
			b.Field(name, ms)
		}
	case "null":
		return nil, fmt.Errorf("%s: standalone null schemas are not supported by this converter", pathOr(path))
	default:
		return nil, fmt.Errorf("%s: couldn't translate unsupported schema type %s", pathOr(path), s.Type)
	}

	pre, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pathOr(path), err)
	}
	out := *pre
	if t.opts.DiscardTypeDocDefault {
		doc := docDefault
		if doc == "" {
			doc = s.Doc
		}
		if doc == "" {
			doc, _ = stringProp(s, propConnectDoc)
		}
		out.Doc = doc
		if t.opts.ConnectMetaData && s.Doc != "" {
			out.Params = setParam(out.Params, propConnectRecordDoc, s.Doc)
		}
	} else if doc, ok := stringProp(s, propConnectDoc); ok && t.opts.ConnectMetaData {
		out.Doc = doc
	}

	ver := -1
	if raw := s.Prop(propConnectVersion); raw != nil {
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: invalid Connect version found: %s", pathOr(path), raw)
		}
		ver = n
	} else if version > 0 {
		ver = version
	}
	if ver >= 0 {
		if out.Version != 0 && out.Version != ver {
			return nil, fmt.Errorf("%s: mismatched versions: version already added to SchemaBuilder (%d) differs from version in source schema (%d)",
				pathOr(path), out.Version, ver)
		}
		out.Version = ver
	}

	if raw := s.Prop(propConnectParameters); raw != nil && t.opts.ConnectMetaData {
		v, err := jsonValue(raw)
		o, ok := v.(*jobj)
		if err != nil || !ok {
			return nil, fmt.Errorf("%s: expected JSON object for schema parameters but found: %s", pathOr(path), raw)
		}
		for i, k := range o.keys {
			str, ok := o.vals[i].(string)
			if !ok {
				return nil, fmt.Errorf("%s: expected schema parameter values to be strings but found: %s", pathOr(path), compactJSON(o.vals[i]))
			}
			out.Params = setParam(out.Params, k, str)
		}
	}
	for _, p := range s.props {
		if strings.HasPrefix(p.key, "avro") {
			var str string
			if json.Unmarshal(p.val, &str) != nil {
				str = string(p.val)
			}
			out.Params = setParam(out.Params, p.key, str)
		}
	}

	connectDefault := s.Prop(propConnectDefault)
	def := fieldDefault
	if def == nil {
		def = connectDefault
	} else if !t.opts.DiscardTypeDocDefault && t.opts.ConnectMetaData && connectDefault == nil {
		out.Params = setParam(out.Params, fieldDefaultFlagParam, "true")
	}
	if def != nil {
		// AvroData logs and drops a default it cannot convert.
		if jv, err := jsonValue(def); err == nil {
			if dv, err := defaultFromJSON(&out, s, jv); err == nil {
				out.Default, out.HasDefault = dv, true
			}
		}
	}

	name, hasName := stringProp(s, propConnectName)
	if !hasName {
		switch s.Type {
		case "record", "enum":
			name = s.FullName()
		case "fixed":
			if out.Name != connect.DecimalName {
				name = s.FullName()
			}
		}
	}
	if name != "" && !strings.HasPrefix(name, ConfluentNamespace+"."+DefaultSchemaName) {
		if out.Name != "" && out.Name != name {
			return nil, fmt.Errorf("%s: mismatched names: name already added to SchemaBuilder (%s) differs from name in source schema (%s)",
				pathOr(path), out.Name, name)
		}
		out.Name = name
	}
	if forceOptional {
		out.Optional = true
	}
	return &out, nil
}

func setParam(ps []connect.Param, k, v string) []connect.Param {
	out := append([]connect.Param(nil), ps...)
	for i := range out {
		if out[i].Key == k {
			out[i].Value = v
			return out
		}
	}
	return append(out, connect.Param{Key: k, Value: v})
}

func isMapEntry(s *Schema) bool {
	if s.Type != "record" {
		return false
	}
	internal, _ := stringProp(s, propInternalType)
	if !(s.Namespace == ConfluentNamespace && s.Name == MapEntryTypeName) && internal != MapEntryTypeName {
		return false
	}
	return len(s.Fields) == 2 && s.Fields[0].Name == "key" && s.Fields[1].Name == "value"
}

func (t *toConnect) unionMemberName(s *Schema) string {
	switch s.Type {
	case "record", "enum", "fixed":
		if t.opts.EnhancedSchemaSupport {
			return s.FullName()
		}
		return s.Name
	}
	return s.Type
}

// defaultFromJSON converts a JSON default (Avro's encoding) to the Connect
// value of schema cs, as AvroData.defaultValueFromAvro does.
func defaultFromJSON(cs *connect.Schema, s *Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch s.Type {
	case "union":
		// A union default matches its first branch.
		first := s.Branches[0]
		if first.Type == "null" {
			return nil, nil
		}
		if isUnionSchema(cs) {
			return nil, fmt.Errorf("defaults of general unions are not supported")
		}
		return defaultFromJSON(cs, first, v)
	case "int", "long":
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("not a number")
		}
		i, err := n.Int64()
		if err != nil {
			return nil, err
		}
		if !intFits(cs.Type, i) {
			return nil, fmt.Errorf("default %d out of range for %s", i, cs.Type)
		}
		switch cs.Type {
		case connect.Int8:
			return int8(i), nil
		case connect.Int16:
			return int16(i), nil
		case connect.Int32:
			return int32(i), nil
		}
		return i, nil
	case "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("not a number")
		}
		f, err := n.Float64()
		if err != nil {
			return nil, err
		}
		if cs.Type == connect.Float32 {
			return float32(f), nil
		}
		return f, nil
	case "boolean":
		bv, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("not a boolean")
		}
		return bv, nil
	case "string", "enum":
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a string")
		}
		return str, nil
	case "bytes", "fixed":
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("not a string")
		}
		rs := []rune(str)
		bs := make([]byte, len(rs))
		for i, r := range rs {
			if r > 0xff {
				return nil, fmt.Errorf("bytes default has a character above U+00FF")
			}
			bs[i] = byte(r)
		}
		if cs.Name == connect.DecimalName {
			return connect.Decimal{Unscaled: connect.DecimalFromBytes(bs), Scale: decimalScale(cs)}, nil
		}
		return bs, nil
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("invalid JSON for array default value")
		}
		if cs.Type == connect.Map {
			out := connect.MapValue{}
			for _, e := range arr {
				pair, ok := e.([]any)
				if !ok || len(pair) != 2 {
					return nil, fmt.Errorf("invalid map entry default")
				}
				k, err := defaultFromJSON(cs.Key, s.Items.Fields[0].Schema, pair[0])
				if err != nil {
					return nil, err
				}
				val, err := defaultFromJSON(cs.Value, s.Items.Fields[1].Schema, pair[1])
				if err != nil {
					return nil, err
				}
				out = append(out, connect.MapEntry{Key: k, Value: val})
			}
			return out, nil
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			ev, err := defaultFromJSON(cs.Value, s.Items, e)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	case "map":
		o, ok := v.(*jobj)
		if !ok {
			return nil, fmt.Errorf("invalid JSON for map default value")
		}
		out := connect.MapValue{}
		for i, k := range o.keys {
			ev, err := defaultFromJSON(cs.Value, s.Values, o.vals[i])
			if err != nil {
				return nil, err
			}
			out = append(out, connect.MapEntry{Key: k, Value: ev})
		}
		return out, nil
	case "record":
		o, ok := v.(*jobj)
		if !ok {
			return nil, fmt.Errorf("invalid JSON for record default value")
		}
		sv := connect.NewStruct(cs)
		for i, f := range s.Fields {
			fv, _ := o.get(f.Name)
			val, err := defaultFromJSON(cs.Fields[i].Schema, f.Schema, fv)
			if err != nil {
				return nil, err
			}
			sv.Values[i] = val
		}
		return sv, nil
	}
	return nil, nil
}

func decimalScale(cs *connect.Schema) int32 {
	p, _ := cs.Param(connect.DecimalScale)
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// decoder reads Avro binary written with schema w into Connect values of
// the Connect schema derived from w.
type decoder struct {
	opts Options
}

var errShort = fmt.Errorf("unexpected end of Avro data")

func readLong(b []byte) (int64, []byte, error) {
	var u uint64
	var shift uint
	for i := 0; i < len(b); i++ {
		c := b[i]
		if shift >= 64 {
			return 0, nil, fmt.Errorf("varint overflows 64 bits")
		}
		u |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int64(u>>1) ^ -int64(u&1), b[i+1:], nil
		}
		shift += 7
	}
	return 0, nil, errShort
}

func readBytes(b []byte) ([]byte, []byte, error) {
	n, rest, err := readLong(b)
	if err != nil {
		return nil, nil, err
	}
	if n < 0 || int64(len(rest)) < n {
		return nil, nil, fmt.Errorf("length %d exceeds the %d bytes left", n, len(rest))
	}
	return rest[:n], rest[n:], nil
}

// maxZeroSizeItems bounds how many elements of an array or map may take
// no bytes at all (empty records). Every other element uses at least one
// byte, so the data's length bounds them; without this, a block count of
// 2^62 empty records would loop, and allocate, 2^62 times.
const maxZeroSizeItems = 1 << 16

// blocks iterates the blocks of an array or map, calling item per element.
func blocks(b []byte, item func([]byte) ([]byte, error)) ([]byte, error) {
	for {
		n, rest, err := readLong(b)
		if err != nil {
			return nil, err
		}
		b = rest
		if n == 0 {
			return b, nil
		}
		if n < 0 {
			n = -n
			if n < 0 {
				return nil, fmt.Errorf("block count %d out of range", n)
			}
			if _, b, err = readLong(b); err != nil { // block size in bytes
				return nil, err
			}
		}
		if n > int64(len(b))+maxZeroSizeItems {
			return nil, fmt.Errorf("block of %d items cannot fit the %d bytes left", n, len(b))
		}
		for i := int64(0); i < n; i++ {
			if b, err = item(b); err != nil {
				return nil, err
			}
		}
	}
}

func (d *decoder) decode(w *Schema, cs *connect.Schema, b []byte) (any, []byte, error) {
	switch w.Type {
	case "null":
		return nil, b, nil
	case "boolean":
		if len(b) < 1 {
			return nil, nil, errShort
		}
		return b[0] != 0, b[1:], nil
	case "int":
		n, rest, err := readLong(b)
		if err != nil {
			return nil, nil, err
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, nil, fmt.Errorf("int value %d out of range", n)
		}
		// The encoder refuses such values; reading one would truncate it
		// silently (300 as an int8 is 44).
		if !intFits(cs.Type, n) {
			return nil, nil, fmt.Errorf("int value %d out of range for %s", n, cs.Type)
		}
		switch cs.Type {
		case connect.Int8:
			return int8(n), rest, nil
		case connect.Int16:
			return int16(n), rest, nil
		}
		return int32(n), rest, nil
	case "long":
		n, rest, err := readLong(b)
		return n, rest, err
	case "float":
		if len(b) < 4 {
			return nil, nil, errShort
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(b)), b[4:], nil
	case "double":
		if len(b) < 8 {
			return nil, nil, errShort
		}
		return math.Float64frombits(binary.LittleEndian.Uint64(b)), b[8:], nil
	case "string":
		s, rest, err := readBytes(b)
		if err != nil {
			return nil, nil, err
		}
		return string(s), rest, nil
	case "bytes", "fixed":
		var raw, rest []byte
		if w.Type == "fixed" {
			if len(b) < w.Size {
				return nil, nil, errShort
			}
			raw, rest = b[:w.Size], b[w.Size:]
		} else {
			var err error
			if raw, rest, err = readBytes(b); err != nil {
				return nil, nil, err
			}
		}
		if cs.Name == connect.DecimalName {
			return connect.Decimal{Unscaled: connect.DecimalFromBytes(raw), Scale: decimalScale(cs)}, rest, nil
		}
		return append([]byte(nil), raw...), rest, nil
	case "enum":
		n, rest, err := readLong(b)
		if err != nil {
			return nil, nil, err
		}
		if n < 0 || n >= int64(len(w.Symbols)) {
			return nil, nil, fmt.Errorf("enum index %d out of range for %s", n, w.FullName())
		}
		return w.Symbols[n], rest, nil
	case "array":
		if cs.Type == connect.Map {
			out := connect.MapValue{}
			rest, err := blocks(b, func(b []byte) ([]byte, error) {
				k, b, err := d.decode(w.Items.Fields[0].Schema, cs.Key, b)
				if err != nil {
					return nil, err
				}
				v, b, err := d.decode(w.Items.Fields[1].Schema, cs.Value, b)
				if err != nil {
					return nil, err
				}
				out = append(out, connect.MapEntry{Key: k, Value: v})
				return b, nil
			})
			return out, rest, err
		}
		out := []any{}
		rest, err := blocks(b, func(b []byte) ([]byte, error) {
			v, b, err := d.decode(w.Items, cs.Value, b)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			return b, nil
		})
		return out, rest, err
	case "map":
		out := connect.MapValue{}
		rest, err := blocks(b, func(b []byte) ([]byte, error) {
			k, b, err := readBytes(b)
			if err != nil {
				return nil, err
			}
			v, b, err := d.decode(w.Values, cs.Value, b)
			if err != nil {
				return nil, err
			}
			out = append(out, connect.MapEntry{Key: string(k), Value: v})
			return b, nil
		})
		return out, rest, err
	case "record":
		sv := connect.NewStruct(cs)
		for i, f := range w.Fields {
			v, rest, err := d.decode(f.Schema, cs.Fields[i].Schema, b)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", f.Name, err)
			}
			sv.Values[i], b = v, rest
		}
		return sv, b, nil
	case "union":
		n, rest, err := readLong(b)
		if err != nil {
			return nil, nil, err
		}
		if n < 0 || n >= int64(len(w.Branches)) {
			return nil, nil, fmt.Errorf("union index %d out of range", n)
		}
		br := w.Branches[n]
		if br.Type == "null" {
			return nil, rest, nil
		}
		if !isUnionSchema(cs) {
			return d.decode(br, cs, rest)
		}
		t := &toConnect{opts: d.opts}
		name := t.unionMemberName(br)
		f := cs.Field(name)
		if f == nil {
			return nil, nil, fmt.Errorf("union branch %s has no field in %s", name, cs)
		}
		v, rest, err := d.decode(br, f.Schema, rest)
		if err != nil {
			return nil, nil, err
		}
		sv := connect.NewStruct(cs)
		sv.Values[f.Index] = v
		return sv, rest, nil
	}
	return nil, nil, fmt.Errorf("cannot decode Avro type %s", w.Type)
}
