package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tributary-io/tributary/connect"
)

// fuzzType is one column type of the matrix FuzzColumnValue converts
// values of.
type fuzzType struct {
	t             *pgType
	length, scale int
}

func fuzzTypes() []fuzzType {
	base := func(oid uint32, name string) *pgType { return &pgType{OID: oid, Name: name, Typtype: 'b'} }
	array := func(oid uint32, name string, elem *pgType) *pgType {
		return &pgType{OID: oid, Name: name, Typtype: 'b', Category: 'A', ElemOID: elem.OID, elem: elem}
	}
	mood := &pgType{OID: 16390, Name: "mood", Typtype: 'e', Category: 'E', Enum: []string{"sad", "ok", "happy"}}
	hstore := &pgType{OID: 16400, Name: "hstore", Typtype: 'b'}
	numeric := base(oidNumeric, "numeric")
	tstz := base(oidTimestamptz, "timestamptz")
	return []fuzzType{
		{base(oidBool, "bool"), 1, 0},
		{base(oidInt2, "int2"), 5, 0},
		{base(oidInt4, "int4"), 10, 0},
		{base(oidInt8, "int8"), 19, 0},
		{base(oidOID, "oid"), 10, 0},
		{base(oidFloat4, "float4"), 8, 8},
		{base(oidFloat8, "float8"), 17, 17},
		{numeric, 10, 2},
		{numeric, 131089, 0},
		{numeric, 5, 0},
		{base(oidMoney, "money"), 0, 0},
		{base(oidBit, "bit"), 1, 0},
		{base(oidVarbit, "varbit"), 64, 0},
		{base(oidBytea, "bytea"), unknownLength, 0},
		{base(oidText, "text"), unknownLength, 0},
		{base(oidUUID, "uuid"), 2147483647, 0},
		{base(oidJSON, "json"), unknownLength, 0},
		{base(oidJSONB, "jsonb"), unknownLength, 0},
		{base(oidXML, "xml"), unknownLength, 0},
		{base(oidInet, "inet"), unknownLength, 0},
		{base(oidMacaddr, "macaddr"), 17, 0},
		{base(oidTsvector, "tsvector"), unknownLength, 0},
		{base(oidInt4range, "int4range"), unknownLength, 0},
		{base(oidPoint, "point"), unknownLength, 0},
		{base(oidInterval, "interval"), 49, 6},
		{base(oidDate, "date"), 13, 0},
		{base(oidTime, "time"), 15, 6},
		{base(oidTime, "time"), 12, 3},
		{base(oidTimestamp, "timestamp"), 29, 6},
		{base(oidTimestamp, "timestamp"), 22, 0},
		{tstz, 35, 6},
		{tstz, 32, 3},
		{base(oidTimetz, "timetz"), 21, 6},
		{hstore, unknownLength, 0},
		{&pgType{OID: 16410, Name: "ltree", Typtype: 'b'}, unknownLength, 0},
		{mood, 2147483647, 0},
		{array(oidInt4Array, "_int4", base(oidInt4, "int4")), 10, 0},
		{array(oidTextArray, "_text", base(oidText, "text")), unknownLength, 0},
		{array(oidNumericArray, "_numeric", numeric), 10, 2},
		{array(oidTimestamptzArray, "_timestamptz", tstz), 35, 6},
		{array(oidBoolArray, "_bool", base(oidBool, "bool")), 1, 0},
		{array(oidUUIDArray, "_uuid", base(oidUUID, "uuid")), 2147483647, 0},
		{array(oidDateArray, "_date", base(oidDate, "date")), 13, 0},
		{array(oidByteaArray, "_bytea", base(oidBytea, "bytea")), unknownLength, 0},
		{array(16401, "_hstore", hstore), unknownLength, 0},
		{array(16391, "_mood", mood), 2147483647, 0},
	}
}

// fuzzOptions spreads one number over the value-mapping properties.
func fuzzOptions(n uint16) *valueOptions {
	pick := func(choices ...string) string {
		c := choices[int(n)%len(choices)]
		n /= uint16(len(choices))
		return c
	}
	return &valueOptions{
		decimalMode:    pick("precise", "double", "string"),
		timeMode:       pick("adaptive", "adaptive_time_microseconds", "connect", "isostring", "microseconds", "nanoseconds"),
		binaryMode:     pick("bytes", "base64", "base64-url-safe", "hex"),
		hstoreMode:     pick("json", "map"),
		intervalMode:   pick("numeric", "string"),
		moneyDigits:    2,
		placeholder:    "__debezium_unavailable_value",
		includeUnknown: true,
	}
}

// FuzzColumnValue converts arbitrary text as a pgoutput column value of
// each type of the matrix, under every value-mapping option. Whatever
// converts must be a value of the column's Connect schema (the converters
// downstream reject anything else, far from the column that caused it),
// converting is deterministic, and where the text has an exact meaning
// the value keeps it: numerics keep their value, dates their day, hstore
// JSON its entries.
func FuzzColumnValue(f *testing.F) {
	types := fuzzTypes()
	seeds := map[string][]string{
		"bool":         {"t", "f"},
		"int2":         {"-32768", "7"},
		"int4":         {"-2147483648", "42"},
		"int8":         {"9223372036854775807"},
		"oid":          {"16386"},
		"float4":       {"1.25", "NaN", "-Infinity"},
		"float8":       {"3.141592653589793", "1e-300", "Infinity"},
		"numeric":      {"1.5", "-12345678.90", "NaN", "Infinity", "0.000", "1234.5600", "1e5", "1e-2147483647"},
		"money":        {"$1,234.56", "-$1,234.56", "($5.00)", "€3.456", "1e999999999"},
		"bit":          {"1", "0", "10100101"},
		"varbit":       {"1100000000000000001", "000"},
		"bytea":        {`\x0001ff`, `\x`},
		"text":         {"héllo wörld ✓", ""},
		"uuid":         {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		"json":         {`{"a": [1, 2]}`},
		"jsonb":        {`{"a": [1, 2], "b": null}`},
		"xml":          {"<a/>"},
		"inet":         {"192.168.0.1/24"},
		"macaddr":      {"08:00:2b:01:02:03"},
		"tsvector":     {"'a' 'fat':2"},
		"int4range":    {"[1,10)"},
		"point":        {"(1.5,-2.25)"},
		"interval":     {"1 year 2 mons 3 days 04:05:06.789", "-1 days +02:03:00", "-00:00:01.5", "178000000 years"},
		"date":         {"2024-02-29", "0001-12-31 BC", "infinity", "-infinity", "12345-01-01", "2024-02-31"},
		"time":         {"13:51:30.123456", "24:00:00", "00:00:00"},
		"timestamp":    {"2016-11-04 13:51:30.123456", "0044-03-15 12:00:00 BC", "infinity", "1969-12-31 23:59:59.999999"},
		"timestamptz":  {"2024-06-01 12:00:00.654321+02", "1901-12-13 20:45:52+00:14:44", "12345-01-01 00:00:00+00", "-infinity"},
		"timetz":       {"10:15:30.25+02:30", "01:00:00-03"},
		"hstore":       {`"a"=>"1", "b"=>NULL, "c d"=>"x\"y"`, ""},
		"ltree":        {"a.b.c"},
		"mood":         {"happy"},
		"_int4":        {"{1,NULL,3}", "{}", "{{1,2},{3,4}}", "[0:1]={5,6}"},
		"_text":        {`{"a,b","c\"d",NULL,"NULL",""}`},
		"_numeric":     {"{1.5,NULL,-3}"},
		"_timestamptz": {`{"2024-06-01 12:00:00+02",NULL}`},
		"_bool":        {"{t,f,NULL}"},
		"_uuid":        {"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"},
		"_date":        {"{2024-02-29,infinity}"},
		"_bytea":       {`{"\\x01ff",NULL}`},
		"_hstore":      {`{"\"a\"=>\"1\"",NULL}`},
		"_mood":        {"{sad,happy}", "{sad,NULL}"},
	}
	for i, ft := range types {
		for _, text := range seeds[ft.t.Name] {
			for _, opts := range []uint16{0, 1, 2, 3 * 2, 3 * 3, 3 * 4, 3 * 5, 18, 36, 54, 72, 144} {
				f.Add(uint8(i), opts, text)
			}
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, opts uint16, text string) {
		ft := types[int(typ)%len(types)]
		o := fuzzOptions(opts)
		m, err := o.mapType(ft.t, ft.length, ft.scale, ft.t)
		if err != nil {
			t.Fatalf("%s: %v", ft.t.Name, err)
		}
		s, err := m.schema.Build()
		if err != nil {
			t.Fatal(err)
		}
		v, err := m.convert(text)
		again, err2 := m.convert(text)
		if (err == nil) != (err2 == nil) || err == nil && !sameConverted(v, again) {
			t.Fatalf("%s %q: converting twice gives %v (%v) then %v (%v)", ft.t.Name, text, v, err, again, err2)
		}
		if err != nil {
			return
		}
		if err := conforms(s, v, ""); err != nil {
			t.Fatalf("%s(%d,%d) %q with %+v: %v", ft.t.Name, ft.length, ft.scale, text, *o, err)
		}
		checkMeaning(t, ft, o, text, v)
	})
}

// sameConverted is connect.Equal with NaN (float and double columns, and
// numerics in double mode) equal to itself.
func sameConverted(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case float32:
		y, ok := b.(float32)
		return ok && (x == y || x != x && y != y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameConverted(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return connect.Equal(a, b)
}

// conforms reports how v is not a value of s, in the Go types the
// converters and serializers expect.
func conforms(s *connect.Schema, v any, path string) error {
	if v == nil {
		if !s.Optional {
			return fmt.Errorf("%s: null for required %s", pathOr(path), s)
		}
		return nil
	}
	ok := false
	switch s.Type {
	case connect.Int8:
		_, ok = v.(int8)
	case connect.Int16:
		_, ok = v.(int16)
	case connect.Int32:
		_, ok = v.(int32)
	case connect.Int64:
		_, ok = v.(int64)
	case connect.Float32:
		_, ok = v.(float32)
	case connect.Float64:
		_, ok = v.(float64)
	case connect.Boolean:
		_, ok = v.(bool)
	case connect.String:
		_, ok = v.(string)
	case connect.Bytes:
		if s.Name == connect.DecimalName {
			_, ok = v.(connect.Decimal)
		} else {
			_, ok = v.([]byte)
		}
	case connect.Array:
		arr, isArr := v.([]any)
		if !isArr {
			break
		}
		for i, e := range arr {
			if err := conforms(s.Value, e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case connect.Map:
		mv, isMap := v.(connect.MapValue)
		if !isMap {
			break
		}
		for _, e := range mv {
			if err := conforms(s.Key, e.Key, path+".key"); err != nil {
				return err
			}
			if err := conforms(s.Value, e.Value, path+".value"); err != nil {
				return err
			}
		}
		return nil
	case connect.Struct:
		sv, isStruct := v.(*connect.StructValue)
		if !isStruct || len(sv.Values) != len(s.Fields) {
			break
		}
		for i, f := range s.Fields {
			if err := conforms(f.Schema, sv.Values[i], path+"."+f.Name); err != nil {
				return err
			}
		}
		return nil
	}
	if !ok {
		return fmt.Errorf("%s: %T is not a value of %s", pathOr(path), v, s)
	}
	return nil
}

func pathOr(p string) string {
	if p == "" {
		return "value"
	}
	return "value" + p
}

// checkMeaning checks, for the types whose text has one exact meaning,
// that the converted value keeps it.
func checkMeaning(t *testing.T, ft fuzzType, o *valueOptions, text string, v any) {
	t.Helper()
	switch ft.t.OID {
	case oidNumeric:
		want, ok := plainRat(text)
		if !ok {
			return
		}
		var got *big.Rat
		switch x := v.(type) {
		case connect.Decimal:
			got = new(big.Rat).SetFrac(x.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Scale)), nil))
		case *connect.StructValue: // VariableScaleDecimal
			u := connect.DecimalFromBytes(x.Get("value").([]byte))
			got = new(big.Rat).SetFrac(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.Get("scale").(int32))), nil))
		case string:
			got, ok = plainRat(x)
			if !ok {
				t.Fatalf("numeric %q became the string %q", text, x)
			}
		default:
			return // double: rounded by design
		}
		if got.Cmp(want) != 0 {
			t.Fatalf("numeric %q became %s", text, got.RatString())
		}
	case oidDate:
		if text == "infinity" || text == "-infinity" {
			return
		}
		days, err := parseDate(text)
		if err != nil {
			t.Fatalf("date %q converted but does not parse: %v", text, err)
		}
		if got := pgDateText(days); got != text {
			t.Fatalf("date %q is day %d, which PostgreSQL writes %q", text, days, got)
		}
	case oidTimestamp:
		if text == "infinity" || text == "-infinity" {
			return
		}
		ts, err := parseTimestamp(text)
		if err != nil {
			t.Fatalf("timestamp %q converted but does not parse: %v", text, err)
		}
		back, err := parseTimestamp(pgTimestampText(ts))
		if err != nil || back != ts {
			t.Fatalf("timestamp %q is %+v, written %q, read back %+v (%v)", text, ts, pgTimestampText(ts), back, err)
		}
	}
	if ft.t.Name == "hstore" && o.hstoreMode == "json" {
		es, err := parseHstore(text)
		if err != nil {
			t.Fatalf("hstore %q converted but does not parse: %v", text, err)
		}
		js := v.(string)
		var m map[string]*string
		if err := json.Unmarshal([]byte(js), &m); err != nil {
			t.Fatalf("hstore %q became invalid JSON %s: %v", text, js, err)
		}
		validKeys := true
		for _, e := range es {
			validKeys = validKeys && utf8.ValidString(e.key)
		}
		// Keys that are not UTF-8 (an SQL_ASCII database) all become
		// U+FFFD in JSON, as in Debezium's Java strings, and may merge.
		if validKeys && len(m) != len(es) {
			t.Fatalf("hstore %q has %d entries, its JSON %s has %d", text, len(es), js, len(m))
		}
		for _, e := range es {
			got, ok := m[e.key]
			if !utf8.ValidString(e.key) || e.value != nil && !utf8.ValidString(*e.value) {
				continue // JSON cannot carry invalid UTF-8 exactly
			}
			if !ok || (got == nil) != (e.value == nil) || got != nil && *got != *e.value {
				t.Fatalf("hstore %q entry %q lost in its JSON %s", text, e.key, js)
			}
		}
	}
}

// plainRat reads "[-]digits[.digits]" exactly; other spellings (exponents,
// specials) are not compared.
func plainRat(s string) (*big.Rat, bool) {
	t := strings.TrimPrefix(s, "-")
	if t == "" || len(t) > 400 || strings.Trim(t, "0123456789.") != "" || strings.Count(t, ".") > 1 || t == "." {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// pgDateText writes a date as PostgreSQL does with DateStyle=ISO.
func pgDateText(days int64) string {
	y, m, d := civilFromDays(days)
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	out := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	if bc {
		out += " BC"
	}
	return out
}

// pgTimestampText writes a timestamp as PostgreSQL does with
// DateStyle=ISO: the fraction without trailing zeros, " BC" last.
func pgTimestampText(ts localDateTime) string {
	date := pgDateText(ts.days)
	date, bc := strings.CutSuffix(date, " BC")
	secs, frac := ts.nanos/1e9, ts.nanos%1e9
	out := fmt.Sprintf("%s %02d:%02d:%02d", date, secs/3600, secs/60%60, secs%60)
	if frac != 0 {
		out += "." + strings.TrimRight(fmt.Sprintf("%09d", frac), "0")
	}
	if bc {
		out += " BC"
	}
	return out
}
