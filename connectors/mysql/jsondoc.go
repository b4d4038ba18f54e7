package mysql

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/tributary-io/tributary/internal/jackson"
	"math"
	"strconv"
	"unicode/utf16"
)

// jdoc is an ordered JSON object, serialised the way Debezium's Document
// writer (Jackson) writes schema history records: compact, keys in
// insertion order.
type jdoc []jfield

type jfield struct {
	k string
	v any
}

func (d *jdoc) set(k string, v any) { *d = append(*d, jfield{k, v}) }

func (d jdoc) get(k string) (any, bool) {
	for _, f := range d {
		if f.k == k {
			return f.v, true
		}
	}
	return nil, false
}

func (d jdoc) marshal() []byte {
	var b bytes.Buffer
	writeJSON(&b, d)
	return b.Bytes()
}

func writeJSON(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case jdoc:
		b.WriteByte('{')
		for i, f := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJackson(b, f.k)
			b.WriteByte(':')
			writeJSON(b, f.v)
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case []string:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJackson(b, e)
		}
		b.WriteByte(']')
	case string:
		writeJackson(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.Trunc(x) == x && math.Abs(x) < 1e15 {
			b.WriteString(strconv.FormatFloat(x, 'f', 1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	default:
		writeJackson(b, fmt.Sprint(x))
	}
}

// parseJdoc decodes JSON keeping object key order.
func parseJdoc(data []byte) (jdoc, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	d, ok := v.(jdoc)
	if !ok {
		return nil, fmt.Errorf("expected a JSON object")
	}
	return d, nil
}

func decodeOrdered(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			var d jdoc
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				d = append(d, jfield{k, v})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if d == nil {
				d = jdoc{}
			}
			return d, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		f, err := x.Float64()
		return f, err
	}
	return t, nil
}

// javaStringHash is java.lang.String.hashCode.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// javaHashMapOrder returns keys (given in insertion order) in the order a
// java.util.HashMap with default capacity iterates them. Debezium builds
// offsets in HashMaps and the schema history copies that order.
func javaHashMapOrder(keys []string) []string {
	capacity := 16
	for float64(len(keys)) > 0.75*float64(capacity) {
		capacity *= 2
	}
	buckets := make([][]string, capacity)
	for _, k := range keys {
		h := javaStringHash(k)
		h ^= int32(uint32(h) >> 16)
		i := int(uint32(h) & uint32(capacity-1))
		buckets[i] = append(buckets[i], k)
	}
	out := make([]string, 0, len(keys))
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

func writeJackson(b *bytes.Buffer, s string) { b.Write(jackson.AppendString(b.AvailableBuffer(), s)) }
