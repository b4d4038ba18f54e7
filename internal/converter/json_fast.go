package converter

import (
	"bytes"
	"encoding/base64"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tributary-io/tributary/connect"
)

// payloadDecoder decodes a payload straight into the Connect value its
// cached schema describes, without encoding/json's intermediate
// map[string]any and json.Number per field, which were most of a sink's
// CPU time. It only ever answers for input the general path
// (fromJSONValue over encoding/json) accepts, with the same value: on
// anything else (an error, a duplicate name, invalid UTF-8, an escaped
// surrogate) it gives up and the general path answers, with its errors.
// jsontext rejects invalid UTF-8 that encoding/json would replace with
// U+FFFD, which is exactly where giving up is needed. Duplicate names
// (encoding/json: the last wins) are found here instead, for the fields
// and map keys that matter: jsontext's check of every name cost 15% of
// the decoding.
type payloadDecoder struct {
	dec jsontext.Decoder
	buf bytes.Buffer
	// scratch holds an unquoted name or string while it is used.
	scratch []byte
	// interned holds short string values already seen, boxed, shared
	// instead of allocated again: most string fields of change events
	// repeat from record to record (the source block's connector,
	// database, schema and table names, op). Strings are immutable, so
	// sharing is safe; keeping them boxed saves boxing each again (an
	// allocation per string field). The map is bounded by emptying it
	// when full.
	interned map[string]any
	// ints holds recently boxed integers, direct-mapped by value: change
	// events repeat many (a snapshot's or transaction's ts_ms, txId and
	// lsn in every event's source block), and boxing an integer of 256
	// or more allocates. Boxed values are immutable, so sharing is safe.
	ints [64]boxedInt
}

type boxedInt struct {
	typ connect.Type
	v   int64
	box any
}

// boxInt returns i as the Go type of t, boxed, shared with an earlier
// equal value when one is still cached.
func (d *payloadDecoder) boxInt(t connect.Type, i int64) any {
	if i >= 0 && i < 256 {
		return boxIntType(t, i) // the runtime boxes these without allocating
	}
	c := &d.ints[uint64(i)*0x9E3779B97F4A7C15>>58]
	if c.box != nil && c.v == i && c.typ == t {
		return c.box
	}
	*c = boxedInt{typ: t, v: i, box: boxIntType(t, i)}
	return c.box
}

func boxIntType(t connect.Type, i int64) any {
	switch t {
	case connect.Int8:
		return int8(i)
	case connect.Int16:
		return int16(i)
	case connect.Int32:
		return int32(i)
	}
	return i
}

const (
	maxInterned    = 512
	maxInternedLen = 64
)

// intern returns b as a boxed string, shared with earlier equal values
// when b is short.
func (d *payloadDecoder) intern(b []byte) any {
	if len(b) > maxInternedLen {
		return string(b)
	}
	if v, ok := d.interned[string(b)]; ok {
		return v
	}
	if d.interned == nil || len(d.interned) >= maxInterned {
		d.interned = make(map[string]any, maxInterned)
	}
	s := string(b)
	var v any = s
	d.interned[s] = v
	return v
}

// decoderPool hands out payloadDecoders; one per concurrent ToConnect.
type decoderPool struct{ p sync.Pool }

func (p *decoderPool) get() *payloadDecoder {
	if d, ok := p.p.Get().(*payloadDecoder); ok {
		return d
	}
	return &payloadDecoder{}
}

func (p *decoderPool) put(d *payloadDecoder) {
	d.buf = bytes.Buffer{}
	d.dec.Reset(&d.buf)
	if cap(d.scratch) > 1<<16 {
		d.scratch = nil
	}
	p.p.Put(d)
}

// decodePayload returns the value of payload under s, or ok false when
// the general path must decide.
func (p *decoderPool) decodePayload(s *connect.Schema, payload []byte) (any, bool) {
	d := p.get()
	defer p.put(d)
	d.buf = *bytes.NewBuffer(payload)
	d.dec.Reset(&d.buf, jsontext.AllowDuplicateNames(true))
	v, ok := d.value(s)
	if !ok {
		return nil, false
	}
	// Exactly one value: anything after it belongs to the general path.
	if _, err := d.dec.ReadToken(); err != io.EOF {
		return nil, false
	}
	return v, true
}

// null is fromJSONValue for a null or absent value.
func null(s *connect.Schema) (any, bool) {
	if s.HasDefault {
		return s.Default, true
	}
	return nil, s.Optional
}

// str returns the unquoted content of the string value raw, aliasing raw
// or d.scratch: valid only until the next call.
func (d *payloadDecoder) str(raw []byte) ([]byte, bool) {
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return in, true
	}
	out, err := jsontext.AppendUnquote(d.scratch[:0], raw)
	if err != nil {
		return nil, false
	}
	d.scratch = out
	return out, true
}

func (d *payloadDecoder) value(s *connect.Schema) (any, bool) {
	switch d.dec.PeekKind() {
	case 'n':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
		return null(s)
	case 0: // invalid input: the general path names the error
		return nil, false
	}
	if s.Name == connect.DecimalName {
		return d.decimal(s)
	}
	switch s.Type {
	case connect.Int8, connect.Int16, connect.Int32, connect.Int64:
		if d.dec.PeekKind() != '0' {
			return nil, false
		}
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, false
		}
		i, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, false
		}
		switch s.Type {
		case connect.Int8:
			if i < math.MinInt8 || i > math.MaxInt8 {
				return nil, false
			}
		case connect.Int16:
			if i < math.MinInt16 || i > math.MaxInt16 {
				return nil, false
			}
		case connect.Int32:
			if i < math.MinInt32 || i > math.MaxInt32 {
				return nil, false
			}
		}
		return d.boxInt(s.Type, i), true
	case connect.Float32, connect.Float64:
		kind := d.dec.PeekKind()
		if kind != '0' && kind != '"' {
			return nil, false
		}
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, false
		}
		var f float64
		if kind == '"' {
			switch string(raw) {
			case `"NaN"`:
				f = math.NaN()
			case `"Infinity"`:
				f = math.Inf(1)
			case `"-Infinity"`:
				f = math.Inf(-1)
			default:
				// An escaped spelling of the three is rare enough for
				// the general path.
				return nil, false
			}
		} else if f, err = strconv.ParseFloat(string(raw), 64); err != nil {
			return nil, false
		}
		if s.Type == connect.Float32 {
			return float32(f), true
		}
		return f, true
	case connect.Boolean:
		switch d.dec.PeekKind() {
		case 't', 'f':
			t, err := d.dec.ReadToken()
			if err != nil {
				return nil, false
			}
			return t.Bool(), true
		}
		return nil, false
	case connect.String:
		if d.dec.PeekKind() != '"' {
			return nil, false
		}
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, false
		}
		b, ok := d.str(raw)
		return d.intern(b), ok
	case connect.Bytes:
		return d.bytes()
	case connect.Array:
		if d.dec.PeekKind() != '[' {
			return nil, false
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
		out := []any{}
		for d.dec.PeekKind() != ']' {
			v, ok := d.value(s.Value)
			if !ok {
				return nil, false
			}
			out = append(out, v)
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
		return out, true
	case connect.Map:
		return d.mapValue(s)
	case connect.Struct:
		return d.structValue(s)
	}
	return nil, false
}

// bytes reads a base64 string; like base64.StdEncoding.DecodeString of
// the unquoted text, which is what the general path does.
func (d *payloadDecoder) bytes() ([]byte, bool) {
	if d.dec.PeekKind() != '"' {
		return nil, false
	}
	raw, err := d.dec.ReadValue()
	if err != nil {
		return nil, false
	}
	text, ok := d.str(raw)
	if !ok {
		return nil, false
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(text)))
	n, err := base64.StdEncoding.Decode(out, text)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

func (d *payloadDecoder) decimal(s *connect.Schema) (any, bool) {
	p, _ := s.Param(connect.DecimalScale)
	scale, err := strconv.ParseInt(p, 10, 32)
	if err != nil {
		return nil, false
	}
	switch d.dec.PeekKind() {
	case '"':
		bs, ok := d.bytes()
		if !ok {
			return nil, false
		}
		return connect.Decimal{Unscaled: connect.DecimalFromBytes(bs), Scale: int32(scale)}, true
	case '0':
		raw, err := d.dec.ReadValue()
		if err != nil {
			return nil, false
		}
		u, err := unscaledAt(string(raw), int32(scale))
		if err != nil {
			return nil, false
		}
		return connect.Decimal{Unscaled: u, Scale: int32(scale)}, true
	}
	return nil, false
}

func (d *payloadDecoder) mapValue(s *connect.Schema) (any, bool) {
	var out connect.MapValue
	switch d.dec.PeekKind() {
	case '{':
		if s.Key.Type != connect.String {
			return nil, false
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
		for d.dec.PeekKind() != '}' {
			raw, err := d.dec.ReadValue()
			if err != nil || len(raw) == 0 || raw[0] != '"' {
				return nil, false
			}
			k, ok := d.str(raw)
			if !ok {
				return nil, false
			}
			key := string(k)
			v, ok := d.value(s.Value)
			if !ok {
				return nil, false
			}
			out = append(out, connect.MapEntry{Key: key, Value: v})
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
		// Sorted by key, as the general path orders them; a duplicate
		// key (encoding/json keeps the last) is left to it.
		slices.SortFunc(out, func(a, b connect.MapEntry) int { return strings.Compare(a.Key.(string), b.Key.(string)) })
		for i := 1; i < len(out); i++ {
			if out[i].Key.(string) == out[i-1].Key.(string) {
				return nil, false
			}
		}
	case '[':
		if s.Key.Type == connect.String {
			return nil, false
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
		for d.dec.PeekKind() != ']' {
			if d.dec.PeekKind() != '[' {
				return nil, false
			}
			if _, err := d.dec.ReadToken(); err != nil {
				return nil, false
			}
			if d.dec.PeekKind() == ']' {
				return nil, false
			}
			k, ok := d.value(s.Key)
			if !ok || d.dec.PeekKind() == ']' {
				return nil, false
			}
			v, ok := d.value(s.Value)
			if !ok || d.dec.PeekKind() != ']' {
				return nil, false
			}
			if _, err := d.dec.ReadToken(); err != nil {
				return nil, false
			}
			out = append(out, connect.MapEntry{Key: k, Value: v})
		}
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	return out, true
}

func (d *payloadDecoder) structValue(s *connect.Schema) (any, bool) {
	if d.dec.PeekKind() != '{' {
		return nil, false
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, false
	}
	sv := connect.NewStruct(s)
	// seen marks the fields present; the rest take null's answer. A
	// struct with more than 64 fields keeps the rest in more.
	var seen uint64
	var more []bool
	next := 0 // fields usually come in schema order
	for d.dec.PeekKind() != '}' {
		raw, err := d.dec.ReadValue()
		if err != nil || len(raw) == 0 || raw[0] != '"' {
			return nil, false
		}
		name, ok := d.str(raw)
		if !ok {
			return nil, false
		}
		idx := -1
		if next < len(s.Fields) && s.Fields[next].Name == string(name) {
			idx = next
		} else {
			for i, f := range s.Fields {
				if f.Name == string(name) {
					idx = i
					break
				}
			}
		}
		if idx < 0 {
			// Not in the schema: ignored, as Kafka's JsonConverter
			// ignores it (jsontext still checks that it is valid JSON),
			// duplicated or not.
			if d.dec.SkipValue() != nil {
				return nil, false
			}
			continue
		}
		if idx < 64 && seen&(1<<idx) != 0 || idx >= 64 && more != nil && more[idx] {
			return nil, false // a duplicate: encoding/json keeps the last
		}
		next = idx + 1
		v, ok := d.value(s.Fields[idx].Schema)
		if !ok {
			return nil, false
		}
		sv.Values[idx] = v
		if idx < 64 {
			seen |= 1 << idx
		} else {
			if more == nil {
				more = make([]bool, len(s.Fields))
			}
			more[idx] = true
		}
	}
	if _, err := d.dec.ReadToken(); err != nil {
		return nil, false
	}
	for i, f := range s.Fields {
		if i < 64 && seen&(1<<i) != 0 || i >= 64 && more != nil && more[i] {
			continue
		}
		v, ok := null(f.Schema)
		if !ok {
			return nil, false
		}
		sv.Values[i] = v
	}
	return sv, true
}
