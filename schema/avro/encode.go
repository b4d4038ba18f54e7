package avro

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// An encoder writes Connect values as Avro binary for one (Connect schema,
// writer schema) pair. It is compiled once per schema and then walks values
// without building intermediate generic data, which is where a generic
// Avro library spends most of its time.
type encoder struct {
	kind    encKind
	cs      *connect.Schema // the Connect schema this node encodes
	alt     *connect.Schema // the optional twin of cs, which struct values of optional fields carry
	fixed   int
	symbols map[string]int
	elem    *encoder // array element, map value, union value branch
	key     *encoder // MapEntry key
	fields  []encField
	nullIdx int // union: branch index of null, -1 if none
	valIdx  int
	members []unionMember // Connect union struct: one branch per field
	opts    *Options
	// equal is the last struct schema found equal to cs or alt under
	// another pointer: a connector that rebuilt an equal schema would
	// otherwise compare it field by field on every value.
	equal atomic.Pointer[connect.Schema]
}

type encField struct {
	name string
	pos  int // index of the Connect field whose value this Avro field takes
	enc  *encoder
}

type unionMember struct {
	branch int
	enc    *encoder
}

type encKind uint8

const (
	encBoolean encKind = iota
	encInt
	encLong
	encFloat
	encDouble
	encString
	encEnum
	encBytes
	encFixed
	encArray
	encMap
	encMapEntries
	encRecord
	encUnion
	encConnectUnion
	encRawBytes
)

// compileEncoder pairs a Connect schema with the Avro schema the data is
// written with. Record fields pair by position, as Avro Java's
// GenericDatumWriter reads a record built for the converted schema.
func compileEncoder(cs *connect.Schema, w *Schema, opts *Options, path string) (*encoder, error) {
	if w.Type == "union" {
		return compileUnion(cs, w, opts, path)
	}
	e := &encoder{cs: cs, opts: opts, nullIdx: -1}
	mismatch := func() (*encoder, error) {
		return nil, fmt.Errorf("%s: Connect type %s cannot be written as Avro %s", pathOr(path), cs, w.Type)
	}
	switch cs.Type {
	case connect.Int8, connect.Int16, connect.Int32:
		if w.Type != "int" {
			return mismatch()
		}
		e.kind = encInt
	case connect.Int64:
		if w.Type != "long" {
			return mismatch()
		}
		e.kind = encLong
	case connect.Float32:
		if w.Type != "float" {
			return mismatch()
		}
		e.kind = encFloat
	case connect.Float64:
		if w.Type != "double" {
			return mismatch()
		}
		e.kind = encDouble
	case connect.Boolean:
		if w.Type != "boolean" {
			return mismatch()
		}
		e.kind = encBoolean
	case connect.String:
		switch w.Type {
		case "string":
			e.kind = encString
		case "enum":
			e.kind = encEnum
			e.symbols = make(map[string]int, len(w.Symbols))
			for i, s := range w.Symbols {
				e.symbols[s] = i
			}
		default:
			return mismatch()
		}
	case connect.Bytes:
		switch w.Type {
		case "bytes":
			e.kind = encBytes
		case "fixed":
			e.kind = encFixed
			e.fixed = w.Size
		default:
			return mismatch()
		}
	case connect.Array:
		if w.Type != "array" {
			return mismatch()
		}
		elem, err := compileEncoder(cs.Value, w.Items, opts, path+"[]")
		if err != nil {
			return nil, err
		}
		e.kind, e.elem = encArray, elem
	case connect.Map:
		switch w.Type {
		case "map":
			if cs.Key.Type != connect.String {
				return mismatch()
			}
			val, err := compileEncoder(cs.Value, w.Values, opts, path+"{}")
			if err != nil {
				return nil, err
			}
			e.kind, e.elem = encMap, val
		case "array":
			entry := w.Items
			if entry.Type != "record" || len(entry.Fields) != 2 {
				return mismatch()
			}
			k, err := compileEncoder(cs.Key, entry.Fields[0].Schema, opts, path+".key")
			if err != nil {
				return nil, err
			}
			v, err := compileEncoder(cs.Value, entry.Fields[1].Schema, opts, path+".value")
			if err != nil {
				return nil, err
			}
			e.kind, e.key, e.elem = encMapEntries, k, v
		default:
			return mismatch()
		}
	case connect.Struct:
		if w.Type != "record" {
			return mismatch()
		}
		if len(w.Fields) > len(cs.Fields) {
			return nil, fmt.Errorf("%s: Avro record %s has %d fields, the Connect struct %s only %d",
				pathOr(path), w.FullName(), len(w.Fields), cs, len(cs.Fields))
		}
		e.kind = encRecord
		for i, f := range w.Fields {
			fe, err := compileEncoder(cs.Fields[i].Schema, f.Schema, opts, path+"."+cs.Fields[i].Name)
			if err != nil {
				return nil, err
			}
			e.fields = append(e.fields, encField{name: cs.Fields[i].Name, pos: i, enc: fe})
		}
	default:
		return nil, fmt.Errorf("%s: unknown Connect type %q", pathOr(path), cs.Type)
	}
	return e, nil
}

// compileUnion resolves the union branch the way GenericData.resolveUnion
// does for the converted datum: by record/enum/fixed full name, otherwise
// by Avro type.
func compileUnion(cs *connect.Schema, w *Schema, opts *Options, path string) (*encoder, error) {
	e := &encoder{cs: cs, opts: opts, nullIdx: -1, valIdx: -1}
	for i, br := range w.Branches {
		if br.Type == "null" {
			e.nullIdx = i
		}
	}
	if isUnionSchema(cs) {
		e.kind = encConnectUnion
		for _, f := range cs.Fields {
			idx := branchFor(nonOptional(f.Schema), w, opts)
			if idx < 0 {
				return nil, fmt.Errorf("%s: union member %s has no branch in %s", pathOr(path), f.Name, w)
			}
			me, err := compileEncoder(nonOptional(f.Schema), w.Branches[idx], opts, path+"."+f.Name)
			if err != nil {
				return nil, err
			}
			// Union members are optional fields: a struct member's value
			// carries that optional schema (ToConnect builds it so).
			me.alt = f.Schema
			e.members = append(e.members, unionMember{branch: idx, enc: me})
		}
		return e, nil
	}
	e.kind = encUnion
	idx := branchFor(nonOptional(cs), w, opts)
	if idx < 0 {
		return nil, fmt.Errorf("%s: Connect type %s matches no branch of %s", pathOr(path), cs, w)
	}
	elem, err := compileEncoder(nonOptional(cs), w.Branches[idx], opts, path)
	if err != nil {
		return nil, err
	}
	elem.alt = cs
	e.valIdx, e.elem = idx, elem
	return e, nil
}

func branchFor(cs *connect.Schema, u *Schema, opts *Options) int {
	want := ""
	named := ""
	switch cs.Type {
	case connect.Int8, connect.Int16, connect.Int32:
		want = "int"
	case connect.Int64:
		want = "long"
	case connect.Float32:
		want = "float"
	case connect.Float64:
		want = "double"
	case connect.Boolean:
		want = "boolean"
	case connect.String:
		want = "string"
		if opts.EnhancedSchemaSupport && isEnumSchema(cs) {
			want = "enum"
			named, _ = cs.Param(EnumParam)
		}
	case connect.Bytes:
		want = "bytes"
		if isFixedSchema(cs) {
			want = "fixed"
			named = cs.Name
		}
	case connect.Array:
		want = "array"
	case connect.Map:
		want = "map"
		if !(cs.Key.Type == connect.String && (!cs.Key.Optional || opts.AllowOptionalMapKeys)) {
			want = "array"
		}
	case connect.Struct:
		want = "record"
		if cs.Name != "" {
			ns, n := splitName(cs.Name, opts.ScrubInvalidNames)
			named = n
			if ns != "" {
				named = ns + "." + n
			}
		}
	}
	candidate := -1
	for i, br := range u.Branches {
		if br.Type != want {
			continue
		}
		if named == "" || br.FullName() == named {
			return i
		}
		if candidate < 0 && want == "record" && cs.Name == "" && strings.HasPrefix(br.FullName(), ConfluentNamespace+"."+DefaultSchemaName) {
			candidate = i
		}
	}
	return candidate
}

func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func appendString(b []byte, s string) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, s []byte) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

// encode appends v. A nil v is written as the union's null branch or, for
// a required type, rejected like AvroData's "null value for non-optional
// schema".
func (e *encoder) encode(b []byte, v any) ([]byte, error) {
	if sv, ok := v.(*connect.StructValue); ok && sv == nil {
		// A nil struct pointer in an interface is Go's form of Java's
		// null struct: the same null, never a dereference.
		v = nil
	}
	if v == nil {
		switch {
		case (e.kind == encUnion || e.kind == encConnectUnion) && e.nullIdx >= 0:
			return appendLong(b, int64(e.nullIdx)), nil
		}
		return nil, fmt.Errorf("null value for non-optional schema %s", e.cs)
	}
	switch e.kind {
	case encUnion:
		b = appendLong(b, int64(e.valIdx))
		return e.elem.encode(b, v)
	case encConnectUnion:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return nil, fmt.Errorf("union %s holds %T, want a struct", e.cs, v)
		}
		for i, m := range e.members {
			fv := structField(sv, i, e.cs.Fields[i].Schema, e.opts.IgnoreDefaultForNullables)
			if fv != nil {
				b = appendLong(b, int64(m.branch))
				return m.enc.encode(b, fv)
			}
		}
		if e.nullIdx < 0 {
			return nil, fmt.Errorf("union %s has no value set and no null branch", e.cs)
		}
		return appendLong(b, int64(e.nullIdx)), nil
	case encBoolean:
		bv, ok := v.(bool)
		if !ok {
			return nil, typeErr(e.cs, v)
		}
		if bv {
			return append(b, 1), nil
		}
		return append(b, 0), nil
	case encInt, encLong:
		var n int64
		switch t := v.(type) {
		case int32:
			n = int64(t)
		case int64:
			n = t
		case time.Time:
			switch lv := logicalFromTime(e.cs.Name, t).(type) {
			case int32:
				n = int64(lv)
			case int64:
				n = lv
			}
		default:
			var err error
			if n, err = intValue(e.cs, v); err != nil {
				return nil, err
			}
		}
		if e.kind == encInt && (n < math.MinInt32 || n > math.MaxInt32) || !intFits(e.cs.Type, n) {
			return nil, fmt.Errorf("%s value %d out of range", e.cs.Type, n)
		}
		return appendLong(b, n), nil
	case encFloat:
		var f float32
		switch t := v.(type) {
		case float32:
			f = t
		case float64:
			f = float32(t)
		default:
			return nil, typeErr(e.cs, v)
		}
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(f)), nil
	case encDouble:
		var f float64
		switch t := v.(type) {
		case float64:
			f = t
		case float32:
			f = float64(t)
		default:
			return nil, typeErr(e.cs, v)
		}
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(f)), nil
	case encString:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr(e.cs, v)
		}
		return appendString(b, s), nil
	case encEnum:
		s, ok := v.(string)
		if !ok {
			return nil, typeErr(e.cs, v)
		}
		i, ok := e.symbols[s]
		if !ok {
			return nil, fmt.Errorf("%q is not a symbol of enum %s", s, e.cs)
		}
		return appendLong(b, int64(i)), nil
	case encBytes, encFixed, encRawBytes:
		var bs []byte
		if e.cs.Name == connect.DecimalName {
			d, err := decimalValue(e.cs, v)
			if err != nil {
				return nil, err
			}
			bs = connect.DecimalBytes(d)
		} else {
			var ok bool
			if bs, ok = v.([]byte); !ok {
				return nil, typeErr(e.cs, v)
			}
		}
		switch e.kind {
		case encRawBytes:
			return append(b, bs...), nil
		case encFixed:
			if e.cs.Name == connect.DecimalName && len(bs) < e.fixed {
				pad := byte(0)
				if len(bs) > 0 && bs[0]&0x80 != 0 {
					pad = 0xff
				}
				for i := len(bs); i < e.fixed; i++ {
					b = append(b, pad)
				}
			} else if len(bs) != e.fixed {
				return nil, fmt.Errorf("%d bytes for fixed(%d) %s", len(bs), e.fixed, e.cs)
			}
			return append(b, bs...), nil
		}
		return appendBytes(b, bs), nil
	case encArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, typeErr(e.cs, v)
		}
		if len(arr) > 0 {
			b = appendLong(b, int64(len(arr)))
			for i, x := range arr {
				var err error
				if b, err = e.elem.encode(b, x); err != nil {
					return nil, fmt.Errorf("[%d]: %w", i, err)
				}
			}
		}
		return append(b, 0), nil
	case encMap, encMapEntries:
		entries, err := mapEntries(v)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			b = appendLong(b, int64(len(entries)))
			for _, en := range entries {
				if e.kind == encMap {
					k, ok := en.Key.(string)
					if !ok {
						return nil, fmt.Errorf("map key of type %T, want string", en.Key)
					}
					b = appendString(b, k)
				} else if b, err = e.key.encode(b, en.Key); err != nil {
					return nil, fmt.Errorf("map key: %w", err)
				}
				if b, err = e.elem.encode(b, en.Value); err != nil {
					return nil, fmt.Errorf("map value for key %v: %w", en.Key, err)
				}
			}
		}
		return append(b, 0), nil
	case encRecord:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return nil, typeErr(e.cs, v)
		}
		if eq := e.equal.Load(); sv.Schema != e.cs && sv.Schema != e.alt && (eq == nil || sv.Schema != eq) {
			if !connectEqual(sv.Schema, e.cs) && (e.alt == nil || !connectEqual(sv.Schema, e.alt)) {
				return nil, fmt.Errorf("mismatching struct schema: value has %s, schema is %s", sv.Schema, e.cs)
			}
			e.equal.Store(sv.Schema)
		}
		for _, f := range e.fields {
			fv := structField(sv, f.pos, e.cs.Fields[f.pos].Schema, e.opts.IgnoreDefaultForNullables)
			var err error
			if b, err = f.enc.encode(b, fv); err != nil {
				return nil, fmt.Errorf("%s: %w", f.name, err)
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("cannot encode %s", e.cs)
}

func intFits(t connect.Type, n int64) bool {
	switch t {
	case connect.Int8:
		return n >= math.MinInt8 && n <= math.MaxInt8
	case connect.Int16:
		return n >= math.MinInt16 && n <= math.MaxInt16
	case connect.Int32:
		return n >= math.MinInt32 && n <= math.MaxInt32
	}
	return true
}

func typeErr(s *connect.Schema, v any) error {
	return fmt.Errorf("invalid Java-equivalent type for %s: %T", s, v)
}

// ConnectEqual reports whether two Connect schemas are equal as Kafka
// Connect's ConnectSchema.equals decides.
func ConnectEqual(a, b *connect.Schema) bool { return connectEqual(a, b) }

// connectEqual is ConnectSchema.equals: type, optionality, default, name,
// version, doc, parameters (as a map) and nested schemas.
func connectEqual(a, b *connect.Schema) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Type != b.Type || a.Optional != b.Optional || a.Name != b.Name ||
		a.Version != b.Version || a.Doc != b.Doc || len(a.Params) != len(b.Params) ||
		len(a.Fields) != len(b.Fields) || a.HasDefault != b.HasDefault {
		return false
	}
	for _, p := range a.Params {
		if v, ok := b.Param(p.Key); !ok || v != p.Value {
			return false
		}
	}
	if a.HasDefault && !valueEqual(a.Default, b.Default) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Name != b.Fields[i].Name || !connectEqual(a.Fields[i].Schema, b.Fields[i].Schema) {
			return false
		}
	}
	return connectEqual(a.Key, b.Key) && connectEqual(a.Value, b.Value)
}

func valueEqual(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && string(x) == string(y)
	case connect.Decimal:
		y, ok := b.(connect.Decimal)
		return ok && x.Scale == y.Scale && x.Unscaled.Cmp(y.Unscaled) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case connect.MapValue:
		y, ok := b.(connect.MapValue)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i].Key, y[i].Key) || !valueEqual(x[i].Value, y[i].Value) {
				return false
			}
		}
		return true
	case *connect.StructValue:
		y, ok := b.(*connect.StructValue)
		if !ok || x == nil || y == nil {
			return x == y
		}
		if !connectEqual(x.Schema, y.Schema) || len(x.Values) != len(y.Values) {
			return false
		}
		for i := range x.Values {
			if !valueEqual(x.Values[i], y.Values[i]) {
				return false
			}
		}
		return true
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.Equal(y)
	}
	return reflect.DeepEqual(a, b)
}
