package mysql

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"testing"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// JSON column values reach the connector inside rows events: MySQL writes
// its binary JSON format (decoded to text by go-mysql), MariaDB the text
// of a LONGTEXT. These targets build real binlog events around the fuzzed
// bytes, parse them with the parser the connector streams with, and
// convert the column as a streamed row is converted.

// binlogValue returns the first column of a WRITE_ROWS event whose table
// has one column of binlog type colType (metadata 4: a 4-byte length).
func binlogValue(colType byte, value []byte) (any, error) {
	p := replication.NewBinlogParser()
	p.SetFlavor(gmysql.MySQLFlavor)
	p.SetRowsEventDecodeFunc(decodeRowsEvent) // as the connector's syncer decodes
	for _, ev := range [][]byte{formatDescriptionEvent(), tableMapEvent(colType), writeRowsEvent(value)} {
		e, err := p.Parse(ev)
		if err != nil {
			return nil, err
		}
		if re, ok := e.Event.(*replication.RowsEvent); ok {
			if len(re.Rows) != 1 || len(re.Rows[0]) != 1 {
				return nil, fmt.Errorf("rows event decoded to %d rows", len(re.Rows))
			}
			return re.Rows[0][0], nil
		}
	}
	return nil, fmt.Errorf("no rows event")
}

func binlogEvent(typ replication.EventType, body []byte) []byte {
	h := make([]byte, replication.EventHeaderSize, replication.EventHeaderSize+len(body))
	h[4] = byte(typ)
	binary.LittleEndian.PutUint32(h[9:], uint32(replication.EventHeaderSize+len(body)))
	return append(h, body...)
}

// formatDescriptionEvent announces binlog v4 from a server old enough to
// write no checksums, with 8-byte post-headers (6-byte table ids).
func formatDescriptionEvent() []byte {
	b := binary.LittleEndian.AppendUint16(nil, 4)
	version := make([]byte, 50)
	copy(version, "5.5.0-fuzz")
	b = append(b, version...)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, replication.EventHeaderSize)
	b = append(b, bytes.Repeat([]byte{8}, 40)...)
	return binlogEvent(replication.FORMAT_DESCRIPTION_EVENT, b)
}

func tableMapEvent(colType byte) []byte {
	b := []byte{1, 0, 0, 0, 0, 0} // table id
	b = append(b, 0, 0)           // flags
	b = append(b, 2, 'd', 'b', 0, 1, 't', 0)
	b = append(b, 1, colType) // one column
	b = append(b, 1, 4)       // metadata: one byte, length bytes 4
	b = append(b, 1)          // nullable
	return binlogEvent(replication.TABLE_MAP_EVENT, b)
}

func writeRowsEvent(value []byte) []byte {
	b := []byte{1, 0, 0, 0, 0, 0}
	b = append(b, 1, 0)    // flags: end of statement
	b = append(b, 2, 0)    // v2 extra data length (none)
	b = append(b, 1, 0x01) // one column, present
	b = append(b, 0)       // null bitmap
	b = binary.LittleEndian.AppendUint32(b, uint32(len(value)))
	b = append(b, value...)
	return binlogEvent(replication.WRITE_ROWS_EVENTv2, b)
}

func jsonConverter(t *testing.T, optional bool) *converter {
	col := &Column{Name: "doc", JDBCType: jdbcOther, TypeName: "JSON", TypeExpression: "JSON", Length: -1, Position: 1, Optional: optional}
	cv, err := newConverter(TableID{"db", "t"}, col, &typeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cv
}

// FuzzBinlogJSON converts arbitrary JSON column bytes: MySQL binary JSON
// (mariadb false) or MariaDB JSON text. A MySQL value that converts is
// valid JSON text, or null for an empty document in an optional column,
// as Debezium emits; MariaDB text passes through unchanged.
func FuzzBinlogJSON(f *testing.F) {
	for _, doc := range []string{`{"k": [1, 2.5, "x"], "n": null}`, `[]`, `"s"`, `-7`, `1e300`, `true`, `{"a":{"b":{"c":[{},[]]}}}`} {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			f.Fatal(err)
		}
		enc, ok := encodeJSONB(v)
		if !ok {
			f.Fatalf("cannot encode seed %s", doc)
		}
		f.Add(false, true, enc)
		f.Add(true, true, []byte(doc))
	}
	f.Add(false, false, []byte{})
	f.Add(false, true, []byte{0x0c, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, mariadb, optional bool, doc []byte) {
		colType := byte(gmysql.MYSQL_TYPE_JSON)
		if mariadb {
			colType = gmysql.MYSQL_TYPE_BLOB
		}
		v, err := binlogValue(colType, doc)
		if err != nil {
			return // the binlog parser rejected the row
		}
		out, err := jsonConverter(t, optional).fromBinlog(v)
		if err != nil {
			t.Fatalf("binlog value %#v: %v", v, err)
		}
		switch {
		case len(doc) == 0 && optional:
			if out != nil {
				t.Fatalf("empty document in an optional column became %#v, want null", out)
			}
		case len(doc) == 0:
			if out != "{}" {
				t.Fatalf("empty document in a NOT NULL column became %#v, want {}", out)
			}
		case mariadb:
			if out != string(doc) {
				t.Fatalf("MariaDB JSON text %q became %#v", doc, out)
			}
		default:
			s, ok := out.(string)
			if !ok || !json.Valid([]byte(s)) {
				t.Fatalf("binary JSON %x became %#v, not JSON text", doc, out)
			}
		}
	})
}

// FuzzBinlogJSONRoundTrip encodes JSON text in MySQL's binary format, as
// the server writes it to the binlog, and checks that the streamed value
// means the same document: same structure, strings and numbers.
func FuzzBinlogJSONRoundTrip(f *testing.F) {
	for _, doc := range []string{`{"k": [1, 2.5, "x"], "n": null}`, `[1, -1, 65535, -32768, 4294967295, -2147483648, 18446744073709551615]`,
		`{"a\"b": "\u00e9\u2028", "": 0.1}`, `[true, false, null, 1e-300, -0.0]`, `{"z":1,"a":2,"mm":3}`} {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.UseNumber()
		var want any
		if dec.Decode(&want) != nil || dec.More() {
			return
		}
		enc, ok := encodeJSONB(want)
		if !ok {
			return // not representable (a number beyond double, a huge document)
		}
		v, err := binlogValue(gmysql.MYSQL_TYPE_JSON, enc)
		if err != nil {
			t.Fatalf("binlog parser rejects the binary form of %s: %v\n%x", doc, err, enc)
		}
		out, err := jsonConverter(t, true).fromBinlog(v)
		if err != nil {
			t.Fatal(err)
		}
		dec = json.NewDecoder(bytes.NewReader([]byte(out.(string))))
		dec.UseNumber()
		var got any
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%s became invalid JSON %s: %v", doc, out, err)
		}
		if !sameJSON(want, got) {
			t.Fatalf("%s became %s", doc, out)
		}
	})
}

// sameJSON compares decoded documents, numbers by value.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if _, isInt := jsonInt(x); isInt {
			fx, _, err1 := big.ParseFloat(string(x), 10, 100, big.ToNearestEven)
			fy, _, err2 := big.ParseFloat(string(y), 10, 100, big.ToNearestEven)
			return err1 == nil && err2 == nil && fx.Cmp(fy) == 0
		}
		// Doubles: MySQL keeps the nearest float64 (0 for an underflow).
		f1, err1 := strconv.ParseFloat(string(x), 64)
		f2, err2 := strconv.ParseFloat(string(y), 64)
		return err1 == nil && err2 == nil && f1 == f2
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, e := range x {
			if f, ok := y[k]; !ok || !sameJSON(e, f) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return a == b
}

// jsonInt reports an integer literal that fits int64 or uint64 (MySQL
// stores those as integers, everything else as a double).
func jsonInt(n json.Number) (any, bool) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, true
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u, true
	}
	return nil, false
}

// MySQL binary JSON type codes (sql-common/json_binary.h).
const (
	jsonbSmallObject = 0x00
	jsonbLargeObject = 0x01
	jsonbSmallArray  = 0x02
	jsonbLargeArray  = 0x03
	jsonbLiteral     = 0x04
	jsonbInt16       = 0x05
	jsonbUint16      = 0x06
	jsonbInt32       = 0x07
	jsonbUint32      = 0x08
	jsonbInt64       = 0x09
	jsonbUint64      = 0x0a
	jsonbDouble      = 0x0b
	jsonbString      = 0x0c
)

// encodeJSONB writes a decoded document (json.Number or float64 numbers)
// in MySQL's binary JSON format: the type byte, then the value.
func encodeJSONB(v any) ([]byte, bool) {
	typ, body, ok := jsonbValue(v)
	if !ok {
		return nil, false
	}
	return append([]byte{typ}, body...), true
}

func jsonbValue(v any) (byte, []byte, bool) {
	switch x := v.(type) {
	case nil:
		return jsonbLiteral, []byte{0}, true
	case bool:
		if x {
			return jsonbLiteral, []byte{1}, true
		}
		return jsonbLiteral, []byte{2}, true
	case float64:
		return jsonbValue(json.Number(strconv.FormatFloat(x, 'g', -1, 64)))
	case json.Number:
		if n, ok := jsonInt(x); ok {
			switch n := n.(type) {
			case int64:
				switch {
				case n >= math.MinInt16 && n <= math.MaxInt16:
					return jsonbInt16, binary.LittleEndian.AppendUint16(nil, uint16(n)), true
				case n >= math.MinInt32 && n <= math.MaxInt32:
					return jsonbInt32, binary.LittleEndian.AppendUint32(nil, uint32(n)), true
				}
				return jsonbInt64, binary.LittleEndian.AppendUint64(nil, uint64(n)), true
			case uint64:
				return jsonbUint64, binary.LittleEndian.AppendUint64(nil, n), true
			}
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil || math.IsInf(f, 0) {
			return 0, nil, false
		}
		return jsonbDouble, binary.LittleEndian.AppendUint64(nil, math.Float64bits(f)), true
	case string:
		b := appendJSONBLength(nil, len(x))
		return jsonbString, append(b, x...), true
	case []any:
		if t, b, ok := jsonbContainer(nil, x, true); ok {
			return t, b, true
		}
		return jsonbContainer(nil, x, false)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		// MySQL orders keys by length, then bytes.
		sort.Slice(keys, func(i, j int) bool {
			if len(keys[i]) != len(keys[j]) {
				return len(keys[i]) < len(keys[j])
			}
			return keys[i] < keys[j]
		})
		vals := make([]any, len(keys))
		for i, k := range keys {
			vals[i] = x[k]
		}
		if t, b, ok := jsonbContainer(keys, vals, true); ok {
			return t, b, true
		}
		return jsonbContainer(keys, vals, false)
	}
	return 0, nil, false
}

// jsonbContainer writes an object (keys non-nil) or array in the small
// (16-bit offsets) or large (32-bit) layout; ok is false when the small
// layout cannot address it.
func jsonbContainer(keys []string, vals []any, small bool) (byte, []byte, bool) {
	off := 4
	if small {
		off = 2
	}
	put := func(b []byte, n int) []byte {
		if small {
			return binary.LittleEndian.AppendUint16(b, uint16(n))
		}
		return binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	limit := math.MaxUint32
	if small {
		limit = math.MaxUint16
	}
	n := len(vals)
	header := 2*off + n*(1+off)
	if keys != nil {
		header += n * (off + 2)
	}
	var tail []byte
	var keyEntries, valueEntries []byte
	for _, k := range keys {
		if len(k) > math.MaxUint16 {
			return 0, nil, false
		}
		keyEntries = put(keyEntries, header+len(tail))
		keyEntries = binary.LittleEndian.AppendUint16(keyEntries, uint16(len(k)))
		tail = append(tail, k...)
	}
	for _, v := range vals {
		t, body, ok := jsonbValue(v)
		if !ok {
			return 0, nil, false
		}
		inline := t == jsonbLiteral || t == jsonbInt16 || t == jsonbUint16 || !small && (t == jsonbInt32 || t == jsonbUint32)
		valueEntries = append(valueEntries, t)
		if inline {
			valueEntries = append(valueEntries, body...)
			for i := len(body); i < off; i++ {
				valueEntries = append(valueEntries, 0)
			}
			continue
		}
		valueEntries = put(valueEntries, header+len(tail))
		tail = append(tail, body...)
	}
	size := header + len(tail)
	if size > limit || n > limit {
		return 0, nil, false
	}
	b := put(put(nil, n), size)
	b = append(append(append(b, keyEntries...), valueEntries...), tail...)
	var t byte
	switch {
	case keys != nil && small:
		t = jsonbSmallObject
	case keys != nil:
		t = jsonbLargeObject
	case small:
		t = jsonbSmallArray
	default:
		t = jsonbLargeArray
	}
	return t, b, true
}

// appendJSONBLength writes a string length 7 bits a byte, low first.
func appendJSONBLength(b []byte, n int) []byte {
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// With binlog_row_value_options=PARTIAL_JSON the binlog carries only the
// change of a JSON value; converting its description as if it were the
// value would emit wrong data.
func TestBinlogJSONPartialUpdateIsAnError(t *testing.T) {
	_, err := jsonConverter(t, true).fromBinlog(&replication.JsonDiff{Op: replication.JsonDiffOperationReplace, Path: "$.a", Value: "1"})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(`column "doc"`)) {
		t.Fatalf("got %v, want an error naming the column", err)
	}
}
