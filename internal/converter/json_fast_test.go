package converter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// compareFastPath checks, for one schema text and payload text, that a
// converter with the schema cached (which decodes the payload with
// payloadDecoder) answers exactly as the general path (encoding/json and
// fromJSONValue): the same error text, or the same schema and value. It
// returns whether payloadDecoder itself accepted the payload, and the
// general path's answer. Schemas the general path cannot parse are
// skipped (ok false, err set).
func compareFastPath(t testing.TB, schema, payload []byte) (fastOK bool, general any, gerr error) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var raw any
	if dec.Decode(&raw) != nil || dec.More() {
		return false, nil, fmt.Errorf("schema is not one JSON value")
	}
	s, err := parseSchema(raw, "schema")
	if err != nil {
		return false, nil, err
	}
	msg := make([]byte, 0, len(schema)+len(payload)+32)
	msg = append(append(append(append(msg, `{"schema":`...), schema...), `,"payload":`...), payload...)
	msg = append(msg, '}')

	plain := &JSON{SchemasEnabled: true}
	cached, err := NewJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	cached.parsed.store(schema, s)
	ws, wv, werr := plain.ToConnect("t", msg)
	gs, gv, gerr2 := cached.ToConnect("t", msg)
	if fmt.Sprint(werr) != fmt.Sprint(gerr2) {
		t.Fatalf("schema %s payload %s:\ncached error  %v\ngeneral error %v", schema, payload, gerr2, werr)
	}
	if werr == nil {
		if !sameSchema(plain, ws, gs) {
			t.Fatalf("schema %s payload %s: schemas differ", schema, payload)
		}
		if !connect.SameValue(wv, gv) {
			t.Fatalf("schema %s payload %s:\ncached  %#v\ngeneral %#v", schema, payload, gv, wv)
		}
	}
	fv, fastOK := cached.parsed.decoders.decodePayload(s, payload)
	if fastOK {
		if werr != nil {
			t.Fatalf("schema %s payload %s: fast path accepted what the general path rejects: %v", schema, payload, werr)
		}
		if !connect.SameValue(fv, wv) {
			t.Fatalf("schema %s payload %s:\nfast    %#v\ngeneral %#v", schema, payload, fv, wv)
		}
	}
	return fastOK, wv, werr
}

// The payload decoder against the general path, on the toConnect cases of
// Kafka's JsonConverterTest and on inputs where a schema-driven decoder
// could differ from decoding to map[string]any: duplicate and unknown
// names, escapes, invalid UTF-8, number ranges and spellings, nulls and
// defaults, both map encodings, whitespace. fast says whether the
// decoder answers itself (false: it leaves the message to the general
// path, always the case for errors).
func TestPayloadDecoderMatchesGeneralPath(t *testing.T) {
	const (
		dec2      = `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}`
		dec2opt   = `{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"}}`
		dec2def   = `{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","version":1,"default":"AJw=","parameters":{"scale":"2"}}`
		st        = `{"type":"struct","fields":[{"field":"field1","type":"boolean"},{"field":"field2","type":"string"}]}`
		stOpt     = `{"type":"struct","fields":[{"field":"optional","type":"string","optional":true},{"field":"required","type":"string"}]}`
		stDef     = `{"type":"struct","fields":[{"field":"a","type":"int8","optional":false,"default":7},{"field":"b","type":"string","optional":true,"default":"d"}]}`
		mapStr    = `{"type":"map","keys":{"type":"string"},"values":{"type":"int32"}}`
		mapInt    = `{"type":"map","keys":{"type":"int32"},"values":{"type":"int32","optional":true}}`
		arrInt    = `{"type":"array","items":{"type":"int32"}}`
		nested    = `{"type":"struct","fields":[{"field":"id","type":"int64"},{"field":"list","type":"array","items":` + st + `},{"field":"m","type":"map","keys":{"type":"string"},"values":` + stOpt + `,"optional":true}]}`
		ts        = `{"type":"int64","name":"org.apache.kafka.connect.data.Timestamp","version":1}`
		tsOptDef  = `{"type":"int64","optional":true,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"default":42}`
		date      = `{"type":"int32","name":"org.apache.kafka.connect.data.Date","version":1}`
		timeOfDay = `{"type":"int32","name":"org.apache.kafka.connect.data.Time","version":1}`
	)
	for _, tc := range []struct {
		schema, payload string
		fast            bool
	}{
		// JsonConverterTest: primitives
		{`{"type":"boolean"}`, `true`, true},
		{`{"type":"boolean"}`, `false`, true},
		{`{"type":"boolean","optional":true}`, `null`, true},
		{`{"type":"boolean","optional":true,"default":true}`, `null`, true},
		{`{"type":"int8"}`, `12`, true},
		{`{"type":"int16"}`, `12`, true},
		{`{"type":"int32"}`, `12`, true},
		{`{"type":"int64"}`, `12`, true},
		{`{"type":"int64"}`, `4398046511104`, true},
		{`{"type":"float"}`, `12.34`, true},
		{`{"type":"double"}`, `12.34`, true},
		{`{"type":"bytes"}`, `"dGVzdC1zdHJpbmc="`, true},
		{`{"type":"bytes"}`, `""`, true},
		{`{"type":"string"}`, `"foo-bar-baz"`, true},
		{arrInt, `[1, 2, 3]`, true},
		{mapStr, `{"key1": 12, "key2": 15}`, true},
		{mapInt, `[[1, 12], [2, 15]]`, true},
		{st, `{"field1": true, "field2": "string"}`, true},
		{stOpt, `{"required": "required"}`, true},
		// JsonConverterTest: logical types, optional and defaults
		{dec2, `"AJw="`, true},
		{dec2opt, `null`, true},
		{dec2def, `null`, true},
		{dec2, `1.56`, true},
		{dec2, `1.5600`, true},
		{`{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"17"}}`, `1.23456789123456789`, true},
		{dec2, `-1e2`, true},
		{dec2, `1.567`, false}, // more fraction digits than the scale
		{dec2, `true`, false},
		{date, `10000`, true},
		{timeOfDay, `14400000`, true},
		{ts, `4000000000`, true},
		{tsOptDef, `null`, true},
		// mismatches and nulls: errors, from the general path
		{`{"type":"int32"}`, `"12"`, false},
		{`{"type":"int32"}`, `null`, false},
		{`{"type":"string"}`, `12`, false},
		{`{"type":"boolean"}`, `"true"`, false},
		{`{"type":"bytes"}`, `"not base64!"`, false},
		{st, `{"field1": true}`, false},
		{st, `[true, "x"]`, false},
		{arrInt, `{"a": 1}`, false},
		{mapStr, `[["a", 1]]`, false},
		{mapInt, `{"1": 1}`, false},
		{mapInt, `[[1]]`, false},
		{mapInt, `[[1, 2, 3]]`, false},
		{mapInt, `[1]`, false},
		// number ranges and spellings
		{`{"type":"int8"}`, `127`, true},
		{`{"type":"int8"}`, `128`, false},
		{`{"type":"int8"}`, `-129`, false},
		{`{"type":"int16"}`, `32768`, false},
		{`{"type":"int32"}`, `2147483648`, false},
		{`{"type":"int32"}`, `-2147483648`, true},
		{`{"type":"int64"}`, `9223372036854775808`, false},
		{`{"type":"int64"}`, `-0`, true},
		{`{"type":"int64"}`, `1.0`, false},
		{`{"type":"int64"}`, `1e2`, false},
		{`{"type":"int64"}`, `01`, false},
		{`{"type":"int64"}`, `+1`, false},
		{`{"type":"double"}`, `1e400`, false},
		{`{"type":"double"}`, `-0.0`, true},
		{`{"type":"double"}`, `"NaN"`, true},
		{`{"type":"double"}`, `"Infinity"`, true},
		{`{"type":"float"}`, `"-Infinity"`, true},
		{`{"type":"float"}`, `3.4028235677973366e38`, true},
		{`{"type":"double"}`, `"\u004eaN"`, false}, // escaped: general path
		{`{"type":"double"}`, `"nan"`, false},
		{`{"type":"double"}`, `.5`, false},
		// names and strings
		{st, `{"field1": true, "field2": "a", "field1": false}`, false}, // duplicate: last wins, general path
		{st, `{"field2": "x", "field1": false}`, true},
		{st, `{"field1": true, "extra": {"deep": [1, null, "x"]}, "field2": "x"}`, true},
		{st, `{"field1": true, "extra": [1,], "field2": "x"}`, false},
		{st, `{"fie\u006cd1": true, "field2": "\"esc\" \u00e9\n\ud83d\ude00"}`, true},
		{st, `{"field1": true, "field2": "bad \ud800 surrogate"}`, false},
		{st, "{\"field1\": true, \"field2\": \"bad \xff utf8\"}", false},
		{st, "{\"field1\": true, \"field2\": \"é 日本\"}", true},
		{`{"type":"bytes"}`, `"AJ\nw="`, true}, // base64 skips newlines, as DecodeString does
		{mapStr, `{"b": 1, "a": 2, "c": 3}`, true},
		{mapStr, `{"a": 1, "a": 2}`, false},
		{mapStr, `{}`, true},
		{mapInt, `[]`, true},
		{mapInt, `[[1, null]]`, true},
		{arrInt, `[]`, true},
		{arrInt, `[1, null]`, false},
		{stDef, `{}`, true},
		{stDef, `{"a": null, "b": null}`, true},
		{nested, `{"id": 1, "list": [{"field1": true, "field2": "x"}], "m": {"k": {"required": "r"}}}`, true},
		{nested, `{"id": 1, "list": [{"field1": true, "field2": "x"}], "m": {"k": {"optional": "o"}}}`, false},
		{nested, `{"id": 1, "list": [], "m": null}`, true},
		// whitespace and trailing input
		{`{"type":"int32"}`, " \t\n 5 \r\n", true},
		{`{"type":"int32"}`, `5 6`, false},
		{`{"type":"int32"}`, `5,"x":1`, false},
		{`{"type":"int32"}`, ``, false},
		{st, `{"field1": true, "field2": "x"`, false},
	} {
		fast, _, _ := compareFastPath(t, []byte(tc.schema), []byte(tc.payload))
		if fast != tc.fast {
			t.Errorf("schema %s payload %s: payload decoder answered itself: %v, want %v", tc.schema, tc.payload, fast, tc.fast)
		}
	}
}

// Structs with more than 64 fields track the fields present beyond the
// first 64 separately; missing, duplicate and reordered fields there.
func TestPayloadDecoderWideStruct(t *testing.T) {
	var schema, full strings.Builder
	schema.WriteString(`{"type":"struct","fields":[`)
	for i := 0; i < 70; i++ {
		if i > 0 {
			schema.WriteByte(',')
			full.WriteByte(',')
		}
		opt := "true"
		if i == 67 {
			opt = "false"
		}
		fmt.Fprintf(&schema, `{"type":"int32","optional":%s,"field":"f%d"}`, opt, i)
		fmt.Fprintf(&full, `"f%d":%d`, i, i)
	}
	schema.WriteString(`]}`)
	for _, tc := range []struct {
		payload string
		fast    bool
	}{
		{`{` + full.String() + `}`, true},
		{`{"f69":1,"f0":2,"f67":3}`, true},
		{`{"f0":2,"f66":1}`, false},          // required f67 missing
		{`{"f67":1,"f68":1,"f68":2}`, false}, // duplicate beyond 64
		{`{"f67":1,"f3":1,"f3":2}`, false},   // duplicate within 64
	} {
		fast, _, _ := compareFastPath(t, []byte(schema.String()), []byte(tc.payload))
		if fast != tc.fast {
			t.Errorf("payload %s: payload decoder answered itself: %v, want %v", tc.payload, fast, tc.fast)
		}
	}
}

// FuzzPayloadDecoder is the differential target: for any schema the
// general path parses and any payload bytes, the converter with the
// schema cached answers exactly as the general path, and whatever the
// payload decoder accepts, the general path accepts with the same value.
func FuzzPayloadDecoder(f *testing.F) {
	for _, seed := range jsonSeeds(f) {
		if schema, payload, ok := splitEnvelope(seed); ok {
			f.Add(schema, payload)
		}
	}
	f.Add([]byte(`{"type":"map","keys":{"type":"int32"},"values":{"type":"string","optional":true}}`), []byte(`[[1,"a"],[2,null]]`))
	f.Add([]byte(`{"type":"struct","fields":[{"type":"int8","optional":false,"default":7,"field":"x"}]}`), []byte(`{"x":null,"y":[{}]}`))
	f.Add([]byte(`{"type":"array","items":{"type":"float","optional":true}}`), []byte(`[1e38,"NaN",null,-0]`))
	f.Fuzz(func(t *testing.T, schema, payload []byte) {
		if bytes.ContainsAny(schema, "\x00") || !strings.HasPrefix(strings.TrimSpace(string(schema)), "{") {
			return
		}
		compareFastPath(t, schema, payload)
	})
}
