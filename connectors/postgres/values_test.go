package postgres

import (
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestParseTemporal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		kind string
		want string
	}{
		// zoned timestamps: converted to UTC, fraction width = column scale
		{"2024-06-01 12:00:00.654321+02", "tstz6", "2024-06-01T10:00:00.654321Z"},
		{"2024-06-01 12:00:00+02", "tstz6", "2024-06-01T10:00:00.000000Z"},
		{"2024-06-01 12:00:00.5+05:30", "tstz3", "2024-06-01T06:30:00.500Z"},
		{"2024-06-01 12:00:00+00", "tstz0", "2024-06-01T12:00:00Z"},
		{"2024-06-01 12:00:00.5+00", "tstz0", "2024-06-01T12:00:00.5Z"},
		{"1901-12-13 20:45:52+00:14:44", "tstz6", "1901-12-13T20:31:08.000000Z"},
		{"0044-03-15 12:00:00+00 BC", "tstz6", "-0043-03-15T12:00:00.000000Z"},
		{"12345-01-01 00:00:00+00", "tstz6", "+12345-01-01T00:00:00.000000Z"},
		{"2000-01-01 00:30:00+01", "tstz6", "1999-12-31T23:30:00.000000Z"},
		// timetz
		{"10:15:30.25+02:30", "timetz", "07:45:30.25Z"},
		{"01:00:00-03", "timetz", "04:00:00Z"},
		{"23:00:00-03", "timetz", "02:00:00Z"},
		{"00:30:00+01", "timetz", "23:30:00Z"},
	} {
		var got string
		switch tc.kind {
		case "timetz":
			v, err := must((&valueOptions{}).mapType(&pgType{OID: oidTimetz}, 0, 6, nil)).convert(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got = v.(string)
		default:
			ts, err := parseTimestamptz(tc.in)
			if err != nil {
				t.Fatalf("%s: %v", tc.in, err)
			}
			var w int
			fmt.Sscanf(tc.kind, "tstz%d", &w)
			got = zonedTimestamp(ts, w)
		}
		if got != tc.want {
			t.Errorf("%s (%s) = %s, want %s", tc.in, tc.kind, got, tc.want)
		}
	}
}

// must unwraps a mapping built from constants; an error is a bug in the test.
func must(m *mapping, err error) *mapping {
	if err != nil {
		panic(err)
	}
	return m
}

func TestTimestampsAndDates(t *testing.T) {
	for _, tc := range []struct {
		in     string
		micros int64
	}{
		{"1970-01-01 00:00:00", 0},
		{"1969-12-31 23:59:59.999999", -1},
		{"2024-01-02 03:04:05.123456", 1704164645123456},
		{"0001-01-01 00:00:00", -62135596800000000},
		{"0001-12-31 23:59:59 BC", -62135596801000000},
	} {
		ts, err := parseTimestamp(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := ts.epochMicros(); got != tc.micros {
			t.Errorf("%s = %d µs, want %d", tc.in, got, tc.micros)
		}
	}
	// millis floor like Instant.toEpochMilli
	ts, _ := parseTimestamp("1969-12-31 23:59:59.9995")
	if got := ts.epochMillis(); got != -1 {
		t.Errorf("epochMillis = %d, want -1", got)
	}
	for in, want := range map[string]int64{"1970-01-01": 0, "2024-02-29": 19782, "1969-12-31": -1, "0001-01-01": -719162, "0001-12-31 BC": -719163} {
		got, err := parseDate(in)
		if err != nil || got != want {
			t.Errorf("date %s = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := parseDate("2024-13-01"); err == nil {
		t.Error("month 13 accepted")
	}
	if n, err := parseTimeDuration("24:00:00"); err != nil || n != 86400e9 {
		t.Errorf("24:00:00 = %d, %v", n, err)
	}
}

func TestIntervals(t *testing.T) {
	for _, tc := range []struct {
		in     string
		micros int64
		iso    string
	}{
		{"1 year 2 mons 3 days 04:05:06.789", 37091106789000, "P1Y2M3DT4H5M6.789S"},
		{"-1 days +02:03:00", -79020000000, "P0Y0M-1DT2H3M0S"},
		{"00:00:00", 0, "P0Y0M0DT0H0M0S"},
		{"-00:00:01.5", -1500000, "P0Y0M0DT0H0M-1.5S"},
		{"1 mon", 2629800000000, "P0Y1M0DT0H0M0S"},
		{"3 mons -00:00:00.000001", 7889399999999, "P0Y3M0DT0H0M-0.000001S"},
		{"178000000 years", math.MaxInt64, "P178000000Y0M0DT0H0M0S"},
	} {
		iv, err := parseInterval(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := iv.microDuration(); got != tc.micros {
			t.Errorf("%s = %d µs, want %d", tc.in, got, tc.micros)
		}
		if got := iv.isoString(); got != tc.iso {
			t.Errorf("%s = %s, want %s", tc.in, got, tc.iso)
		}
	}
}

func TestNumeric(t *testing.T) {
	o := &valueOptions{decimalMode: "precise"}
	fixed := must(o.mapType(&pgType{OID: oidNumeric}, 10, 2, nil))
	v, err := fixed.convert("1.5")
	if err != nil {
		t.Fatal(err)
	}
	if d := v.(connect.Decimal); d.Scale != 2 || d.Unscaled.Int64() != 150 {
		t.Errorf("numeric(10,2) 1.5 = %v", d)
	}
	if _, err := fixed.convert("NaN"); err == nil {
		t.Error("NaN accepted in precise mode")
	}
	free := must(o.mapType(&pgType{OID: oidNumeric}, 131089, 0, nil))
	for in, want := range map[string][2]any{"1234.5600": {int32(2), "01e240"}, "-12300": {int32(0), "cff4"}, "0.000": {int32(0), "00"}} {
		v, err := free.convert(in)
		if err != nil {
			t.Fatal(err)
		}
		s := v.(*connect.StructValue)
		if s.Get("scale") != want[0] || hex.EncodeToString(s.Get("value").([]byte)) != want[1] {
			t.Errorf("variable scale %s = scale %v value %x", in, s.Get("scale"), s.Get("value"))
		}
	}
	str := must((&valueOptions{decimalMode: "string"}).mapType(&pgType{OID: oidNumeric}, 10, 2, nil))
	for in, want := range map[string]string{"1.5": "1.50", "NaN": "NAN", "Infinity": "POSITIVE_INFINITY", "-3": "-3.00"} {
		if v, _ := str.convert(in); v != want {
			t.Errorf("string mode %s = %v, want %s", in, v, want)
		}
	}
	dbl := must((&valueOptions{decimalMode: "double"}).mapType(&pgType{OID: oidNumeric}, 10, 2, nil))
	if v, _ := dbl.convert("NaN"); !math.IsNaN(v.(float64)) {
		t.Errorf("double mode NaN = %v", v)
	}
	money := must((&valueOptions{decimalMode: "precise", moneyDigits: 2}).mapType(&pgType{OID: oidMoney}, 0, 0, nil))
	for in, want := range map[string]int64{"$1,234.56": 123456, "-$1,234.56": -123456, "($5.00)": -500, "€3.456": 346} {
		v, err := money.convert(in)
		if err != nil {
			t.Fatal(err)
		}
		if d := v.(connect.Decimal); d.Unscaled.Int64() != want || d.Scale != 2 {
			t.Errorf("money %s = %v", in, d)
		}
	}
}

// TestParseMoneyCurrencySymbol checks that parseMoney drops exactly one
// leading currency symbol, whatever its width in bytes. A byte that is not
// UTF-8 (LATIN-9's € is 0xA4, which a SQL_ASCII database passes through
// unconverted) is one symbol of one byte: it used to be taken for a
// 3-byte U+FFFD, which also swallowed the next two characters.
func TestParseMoneyCurrencySymbol(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1.50", "1.50"},
		{".50", "0.50"},
		{"$1.50", "1.50"},
		{"£1.50", "1.50"},             // 2 bytes
		{"€1,234.50", "1234.50"},      // 3 bytes
		{"-€1,234.50", "-1234.50"},    // sign before the symbol
		{"(₹7.25)", "-7.25"},          // accounting negative
		{"\U0001F4B01.50", "1.50"},    // 4 bytes
		{"\xa41,234.50", "1234.50"},   // not UTF-8
		{"-\xa41,234.50", "-1234.50"}, // not UTF-8, negative
	} {
		d, err := parseMoney(tc.in)
		if err != nil {
			t.Errorf("parseMoney(%q): %v", tc.in, err)
			continue
		}
		if got := d.plain(); got != tc.want {
			t.Errorf("parseMoney(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestArrays(t *testing.T) {
	s := func(v string) *string { return &v }
	for _, tc := range []struct {
		in   string
		want []any
	}{
		{`{}`, []any{}},
		{`{1,NULL,3}`, []any{s("1"), nil, s("3")}},
		{`{"a,b","c\"d",NULL,"NULL",""}`, []any{s("a,b"), s(`c"d`), nil, s("NULL"), s("")}},
		{`{{1,2},{3,4}}`, []any{[]any{s("1"), s("2")}, []any{s("3"), s("4")}}},
		{`[0:1]={5,6}`, []any{s("5"), s("6")}},
		{`{"back\\slash"}`, []any{s(`back\slash`)}},
	} {
		got, err := parseArray(tc.in, ',')
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s = %#v", tc.in, got)
		}
	}
	for _, bad := range []string{`{1,2`, `1,2}`, `{"a}`, `{1}x`} {
		if _, err := parseArray(bad, ','); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestBitsHstoreJSON(t *testing.T) {
	for in, want := range map[string]string{"101": "05", "10100101": "a5", "1100000000000000001": "010006", "000": ""} {
		b, err := bitsValue(in)
		if err != nil || hex.EncodeToString(b) != want {
			t.Errorf("bits %s = %x, %v; want %s", in, b, err, want)
		}
	}
	es, err := parseHstore(`"a"=>"1", "b"=>NULL, "c d"=>"x\"y"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := hstoreJSON(es); got != `{"a":"1","b":null,"c d":"x\"y"}` {
		t.Errorf("hstore json = %s", got)
	}
	// java.util.HashMap order: "key10".hashCode() buckets before "key2" in a 16-slot table
	var ks []string
	es, _ = parseHstore(`"key2"=>"x", "key10"=>"y", "Aa"=>"1", "BB"=>"2"`)
	for _, e := range es {
		ks = append(ks, e.key)
	}
	if fmt.Sprint(ks) != fmt.Sprint(javaOrderOf([]string{"key2", "key10", "Aa", "BB"})) {
		t.Errorf("hstore order %v", ks)
	}
	if javaStringHash("Aa") != javaStringHash("BB") || javaStringHash("hello") != 99162322 {
		t.Error("String.hashCode mismatch")
	}
	if got := hstoreJSON([]hstoreEntry{{key: "a\x01\n\"é/"}}); got != `{"a\u0001\n\"é/":null}` {
		t.Errorf("jackson escaping = %s", got)
	}
	if got := javaNameUUID([]byte("__debezium_unavailable_value")); len(got) != 36 || got[14] != '3' {
		t.Errorf("name UUID = %s", got)
	}
}

// javaOrderOf computes the expected HashMap iteration order independently:
// bucket index of the spread hash, then insertion order.
func javaOrderOf(keys []string) []string {
	type kv struct {
		k   string
		b   uint32
		pos int
	}
	var out []kv
	for i, k := range keys {
		h := javaStringHash(k)
		h ^= int32(uint32(h) >> 16)
		out = append(out, kv{k, uint32(h) & 15, i})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].b < out[j-1].b || out[j].b == out[j-1].b && out[j].pos < out[j-1].pos); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	var ks []string
	for _, e := range out {
		ks = append(ks, e.k)
	}
	return ks
}

func TestLengthScale(t *testing.T) {
	numeric := &pgType{OID: oidNumeric, Name: "numeric"}
	for _, tc := range []struct {
		t      *pgType
		typmod int32
		l, s   int
	}{
		{numeric, -1, 131089, 0},
		{numeric, (10<<16 | 2) + 4, 10, 2},
		{&pgType{OID: oidVarchar}, 24, 20, 0},
		{&pgType{OID: oidVarchar}, -1, unknownLength, 0},
		{&pgType{OID: oidTimestamptz}, -1, 35, 6},
		{&pgType{OID: oidTimestamptz}, 3, 32, 3},
		{&pgType{OID: oidTimestamp}, 1, 25, 1},
		{&pgType{OID: oidTime}, -1, 15, 6},
		{&pgType{OID: oidBit}, 8, 8, 0},
		{&pgType{OID: oidInt4}, -1, 10, 0},
	} {
		l, s := lengthScale(tc.t, tc.typmod)
		if l != tc.l || s != tc.s {
			t.Errorf("oid %d typmod %d: length %d scale %d, want %d %d", tc.t.OID, tc.typmod, l, s, tc.l, tc.s)
		}
	}
}

func TestOffsetRoundTrip(t *testing.T) {
	x := int64(5)
	o := &offsetState{lsn: 100, lsnProc: 90, lsnCommit: 80, txID: &x, msgType: "INSERT", txInProgress: "5",
		txCounts: nil}
	o.ts = o.ts.Add(0)
	m := o.offsetMap()
	m["transaction_data_collection_order_public.t"] = int64(3)
	back, err := loadOffset(m)
	if err != nil {
		t.Fatal(err)
	}
	if back.lsn != 100 || back.lsnProc != 90 || back.lsnCommit != 80 || *back.txID != 5 || back.msgType != "INSERT" ||
		back.txInProgress != "5" || back.txTotal != 3 {
		t.Errorf("round trip: %+v", back)
	}
	if o.sequence() != `["80","100"]` {
		t.Errorf("sequence %s", o.sequence())
	}
	// Debezium 1.x snapshot flag and JSON numbers as float64
	old, err := loadOffset(map[string]any{"lsn": float64(42), "snapshot": true, "last_snapshot_record": false})
	if err != nil || !old.snapshotRunning || old.lsn != 42 {
		t.Errorf("legacy offset: %+v %v", old, err)
	}
	if _, err := loadOffset(map[string]any{"lsn": []int{1}}); err == nil {
		t.Error("malformed offset accepted")
	}
}

func TestTimePrecisionModes(t *testing.T) {
	for _, tc := range []struct {
		mode, typ string
		oid       uint32
		scale     int
		in        string
		name      string
		want      any
	}{
		{"connect", "date", oidDate, 0, "2024-02-29", "org.apache.kafka.connect.data.Date", int32(19782)},
		{"connect", "time", oidTime, 6, "13:51:30.123456", "org.apache.kafka.connect.data.Time", int32(49890123)},
		{"connect", "ts", oidTimestamp, 6, "2016-11-04 13:51:30.123456", "org.apache.kafka.connect.data.Timestamp", int64(1478267490123)},
		{"adaptive_time_microseconds", "time", oidTime, 0, "13:51:30", "io.debezium.time.MicroTime", int64(49890000000)},
		{"adaptive_time_microseconds", "ts", oidTimestamp, 3, "2016-11-04 13:51:30.123", "io.debezium.time.Timestamp", int64(1478267490123)},
		{"adaptive", "ts", oidTimestamp, 6, "2016-11-04 13:51:30.123456", "io.debezium.time.MicroTimestamp", int64(1478267490123456)},
		{"microseconds", "time", oidTime, 0, "00:00:01", "io.debezium.time.MicroTime", int64(1000000)},
		{"nanoseconds", "ts", oidTimestamp, 6, "1970-01-01 00:00:01.5", "io.debezium.time.NanoTimestamp", int64(1500000000)},
		{"isostring", "date", oidDate, 0, "2024-02-29", "io.debezium.time.IsoDate", "2024-02-29Z"},
		{"isostring", "ts", oidTimestamp, 6, "2024-02-29 10:00:00.5", "io.debezium.time.IsoTimestamp", "2024-02-29T10:00:00.5Z"},
	} {
		o := &valueOptions{timeMode: tc.mode}
		m := must(o.mapType(&pgType{OID: tc.oid}, 0, tc.scale, nil))
		s := m.schema.MustBuild()
		v, err := m.convert(tc.in)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.mode, tc.typ, err)
		}
		if s.Name != tc.name || fmt.Sprintf("%T %v", v, v) != fmt.Sprintf("%T %v", tc.want, tc.want) {
			t.Errorf("%s %s(%d) %s = %s %T %v, want %s %T %v", tc.mode, tc.typ, tc.scale, tc.in, s.Name, v, v, tc.name, tc.want, tc.want)
		}
	}
	// connect mode rejects times past midnight like Debezium
	o := &valueOptions{timeMode: "connect"}
	if _, err := must(o.mapType(&pgType{OID: oidTime}, 0, 6, nil)).convert("24:00:00.000001"); err == nil {
		t.Error("connect mode accepted a time past 24:00:00")
	}
}
