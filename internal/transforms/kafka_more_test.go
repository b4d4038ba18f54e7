package transforms

import (
	"fmt"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Cases from FlattenTest.
func TestFlatten(t *testing.T) {
	t.Run("topLevelStructRequired / topLevelMapRequired", func(t *testing.T) {
		tr := newT(t, kt+"Flatten$Value", nil)
		_, err := tr.Apply(&connect.Record{ValueSchema: prim(connect.Int32), Value: int32(42)})
		checkErr(t, err, "Only Struct objects supported for [flattening]")
		_, err = tr.Apply(&connect.Record{Value: int32(42)})
		checkErr(t, err, "Only Map objects supported in absence of schema for [flattening]")
	})
	supported := connect.StructBuilder().Field("int8", prim(connect.Int8)).Field("int16", prim(connect.Int16)).
		Field("int32", prim(connect.Int32)).Field("int64", prim(connect.Int64)).Field("float32", prim(connect.Float32)).
		Field("float64", prim(connect.Float64)).Field("boolean", prim(connect.Boolean)).Field("string", prim(connect.String)).
		Field("bytes", prim(connect.Bytes)).MustBuild()
	oneLevel := connect.StructBuilder().Field("B", supported).MustBuild()
	twoLevel := connect.StructBuilder().Field("A", oneLevel).MustBuild()
	t.Run("testNestedStruct", func(t *testing.T) {
		tr := newT(t, kt+"Flatten$Value", nil)
		in := structOf(twoLevel, structOf(oneLevel, structOf(supported, int8(8), int16(16), int32(32), int64(64), float32(32), float64(64), true, "stringy", []byte("bytes"))))
		out := apply(t, tr, &connect.Record{ValueSchema: twoLevel, Value: in})
		sv := out.Value.(*connect.StructValue)
		if len(sv.Schema.Fields) != 9 {
			t.Fatalf("fields %+v", sv.Schema.Fields)
		}
		wantVal(t, "A.B.int8", sv.Get("A.B.int8"), int8(8))
		wantVal(t, "A.B.float64", sv.Get("A.B.float64"), float64(64))
		wantVal(t, "A.B.string", sv.Get("A.B.string"), "stringy")
		wantVal(t, "A.B.bytes", sv.Get("A.B.bytes"), []byte("bytes"))
	})
	t.Run("testNestedMapWithDelimiter", func(t *testing.T) {
		tr := newT(t, kt+"Flatten$Value", map[string]string{"delimiter": "#"})
		m := map[string]any{"A": map[string]any{"B": map[string]any{"int8": int8(8), "int32": int32(32), "float64": 64.0, "boolean": true, "string": "stringy", "bytes": []byte("bytes")}}}
		out := apply(t, tr, &connect.Record{Value: m})
		wantVal(t, "value", out.Value, map[string]any{"A#B#int8": int8(8), "A#B#int32": int32(32), "A#B#float64": 64.0, "A#B#boolean": true, "A#B#string": "stringy", "A#B#bytes": []byte("bytes")})
	})
	t.Run("testOptionalFieldStruct", func(t *testing.T) {
		inner := connect.StructBuilder().Field("opt_int32", optPrim(connect.Int32)).MustBuild()
		outer := connect.StructBuilder().Field("B", inner).MustBuild()
		out := apply(t, newT(t, kt+"Flatten$Value", nil), &connect.Record{ValueSchema: outer, Value: structOf(outer, structOf(inner, nil))})
		wantVal(t, "B.opt_int32", out.Value.(*connect.StructValue).Get("B.opt_int32"), nil)
	})
	t.Run("testOptionalStruct", func(t *testing.T) {
		s := connect.StructBuilder().Optional().Field("opt_int32", optPrim(connect.Int32)).MustBuild()
		out := apply(t, newT(t, kt+"Flatten$Value", nil), &connect.Record{ValueSchema: s})
		if out.ValueSchema.Type != connect.Struct || out.Value != nil {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("testOptionalNestedStruct", func(t *testing.T) {
		inner := connect.StructBuilder().Optional().Field("opt_int32", optPrim(connect.Int32)).MustBuild()
		outer := connect.StructBuilder().Field("B", inner).MustBuild()
		out := apply(t, newT(t, kt+"Flatten$Value", nil), &connect.Record{ValueSchema: outer, Value: structOf(outer, nil)})
		wantVal(t, "B.opt_int32", out.Value.(*connect.StructValue).Get("B.opt_int32"), nil)
		if !out.ValueSchema.Field("B.opt_int32").Schema.Optional {
			t.Error("field of an optional struct must become optional")
		}
	})
	t.Run("map field in a schema is unsupported", func(t *testing.T) {
		s := connect.StructBuilder().Field("m", connect.MapOf(prim(connect.String), prim(connect.String)).MustBuild()).MustBuild()
		_, err := newT(t, kt+"Flatten$Value", nil).Apply(&connect.Record{ValueSchema: s, Value: structOf(s, connect.MapValue{})})
		checkErr(t, err, "Flatten transformation does not support MAP for record with schemas (for field m).")
	})
	t.Run("schema cached", func(t *testing.T) {
		tr := newT(t, kt+"Flatten$Value", nil)
		in := structOf(twoLevel, nil)
		a := apply(t, tr, &connect.Record{ValueSchema: twoLevel, Value: in})
		b := apply(t, tr, &connect.Record{ValueSchema: twoLevel, Value: in})
		if a.ValueSchema != b.ValueSchema {
			t.Error("flattened schema rebuilt per record")
		}
	})
}

// Cases from CastTest.
func TestCast(t *testing.T) {
	for _, c := range []struct{ name, spec, want string }{
		{"testConfigEmpty", "", "Must specify at least one field to cast."},
		{"testConfigInvalidSchemaType", "foo:faketype", "Invalid type found in casting spec: faketype"},
		{"testConfigInvalidTargetType", "foo:array", "Cast transformation does not support casting to ARRAY; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"},
		{"testConfigInvalidTargetType/whole", "array", "does not support casting to ARRAY"},
		{"testUnsupportedTargetType", "foo:bytes", "does not support casting to BYTES"},
		{"testConfigInvalidMap", "foo:int8:extra", "Invalid rename mapping: foo:int8:extra"},
		{"testConfigMixWholeAndFieldTransformation", "foo:int8,int32", "may only specify a single cast in their spec"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTErr(kt+"Cast$Key", map[string]string{"spec": c.spec})
			checkErr(t, err, c.want)
			checkErr(t, err, "spec: ")
		})
	}
	t.Run("castNullValueRecordWithSchema / Schemaless", func(t *testing.T) {
		tr := newT(t, kt+"Cast$Value", map[string]string{"spec": "foo:int64"})
		in := &connect.Record{ValueSchema: connect.StructBuilder().Field("foo", prim(connect.Int32)).MustBuild()}
		if apply(t, tr, in) != in {
			t.Error("null value must pass unchanged")
		}
		in = &connect.Record{}
		if apply(t, tr, in) != in {
			t.Error("null value must pass unchanged")
		}
	})
	whole := []struct {
		spec string
		typ  connect.Type
		in   any
		want any
	}{
		{"int8", connect.Int8, int32(42), int8(42)},
		{"int16", connect.Int16, int32(42), int16(42)},
		{"int32", connect.Int32, int32(42), int32(42)},
		{"int64", connect.Int64, int32(42), int64(42)},
		{"float32", connect.Float32, int32(42), float32(42)},
		{"float64", connect.Float64, int32(42), float64(42)},
		{"boolean", connect.Boolean, int32(42), true},
		{"boolean", connect.Boolean, int32(0), false},
		{"string", connect.String, int32(42), "42"},
	}
	for _, c := range whole {
		t.Run("castWholeRecordValueWithSchema/"+c.spec, func(t *testing.T) {
			out := apply(t, newT(t, kt+"Cast$Value", map[string]string{"spec": c.spec}), &connect.Record{ValueSchema: prim(connect.Int32), Value: c.in})
			if out.ValueSchema.Type != c.typ {
				t.Errorf("schema type %s, want %s", out.ValueSchema.Type, c.typ)
			}
			wantVal(t, "value", out.Value, c.want)
		})
		t.Run("castWholeRecordValueSchemaless/"+c.spec, func(t *testing.T) {
			out := apply(t, newT(t, kt+"Cast$Value", map[string]string{"spec": c.spec}), &connect.Record{Value: c.in})
			wantVal(t, "value", out.Value, c.want)
		})
	}
	t.Run("castWholeBigDecimalRecordValueWithSchemaString", func(t *testing.T) {
		out := apply(t, newT(t, kt+"Cast$Value", map[string]string{"spec": "string"}), &connect.Record{ValueSchema: connect.DecimalSchema(0).MustBuild(), Value: connect.Decimal{Unscaled: big.NewInt(42)}})
		wantVal(t, "value", out.Value, "42")
	})
	t.Run("castWholeDateRecordValueWithSchemaString", func(t *testing.T) {
		ts := time.UnixMilli(86400000 + 1234) // Values.dateFormatFor picks the timestamp form
		out := apply(t, newT(t, kt+"Cast$Value", map[string]string{"spec": "string"}), &connect.Record{ValueSchema: connect.TimestampSchema().MustBuild(), Value: ts})
		wantVal(t, "value", out.Value, "1970-01-02T00:00:01.234Z")
	})
	t.Run("castWholeRecordDefaultValue", func(t *testing.T) {
		s := connect.NewBuilder(connect.Int64).Default(int64(-42)).MustBuild()
		out := apply(t, newT(t, kt+"Cast$Value", map[string]string{"spec": "int32"}), &connect.Record{ValueSchema: s, Value: int64(42)})
		wantVal(t, "value", out.Value, int32(42))
		wantVal(t, "default", out.ValueSchema.Default, int32(-42))
	})
	t.Run("castWholeRecordValueSchemalessUnsupportedType", func(t *testing.T) {
		_, err := newT(t, kt+"Cast$Value", map[string]string{"spec": "int8"}).Apply(&connect.Record{Value: []any{int32(1)}})
		checkErr(t, err, "Cast transformation does not support casting from ARRAY")
	})
	t.Run("castLogicalToPrimitive", func(t *testing.T) {
		s := connect.StructBuilder().
			Field("date_to_int32", connect.DateSchema().MustBuild()).
			Field("timestamp_to_int64", connect.TimestampSchema().MustBuild()).
			Field("time_to_int64", connect.TimeSchema().MustBuild()).
			Field("decimal_to_int32", connect.DecimalSchema(0).MustBuild()).
			Field("timestamp_to_float64", connect.TimestampSchema().MustBuild()).
			Field("null_timestamp_to_int32", connect.TimestampSchema().Optional().MustBuild()).MustBuild()
		tr := newT(t, kt+"Cast$Value", map[string]string{"spec": "date_to_int32:int32,timestamp_to_int64:int64,time_to_int64:int64,decimal_to_int32:int32,timestamp_to_float64:float64,null_timestamp_to_int32:int32"})
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, time.UnixMilli(86400000), time.UnixMilli(0), time.UnixMilli(1),
			connect.Decimal{Unscaled: big.NewInt(math.MaxInt32 + 1)}, time.UnixMilli(math.MaxInt64), nil)})
		sv := out.Value.(*connect.StructValue)
		wantVal(t, "date_to_int32", sv.Get("date_to_int32"), int32(1))
		wantVal(t, "timestamp_to_int64", sv.Get("timestamp_to_int64"), int64(0))
		wantVal(t, "time_to_int64", sv.Get("time_to_int64"), int64(1))
		wantVal(t, "decimal_to_int32", sv.Get("decimal_to_int32"), int32(math.MinInt32))
		wantVal(t, "timestamp_to_float64", sv.Get("timestamp_to_float64"), 9.223372036854776e18)
		wantVal(t, "null_timestamp_to_int32", sv.Get("null_timestamp_to_int32"), nil)
		if out.ValueSchema.Field("null_timestamp_to_int32").Schema.Type != connect.Int32 {
			t.Error("null_timestamp_to_int32 schema")
		}
	})
	t.Run("castFieldsWithSchema", func(t *testing.T) {
		s := connect.StructBuilder().Field("int8", prim(connect.Int8)).Field("int16", optPrim(connect.Int16)).
			Field("int32", connect.NewBuilder(connect.Int32).Default(int32(2)).MustBuild()).Field("int64", prim(connect.Int64)).
			Field("float32", prim(connect.Float32)).Field("float64", connect.NewBuilder(connect.Float64).Default(-1.125).MustBuild()).
			Field("boolean", prim(connect.Boolean)).Field("string", prim(connect.String)).Field("bigdecimal", connect.DecimalSchema(0).MustBuild()).
			Field("date", connect.DateSchema().MustBuild()).Field("optional", optPrim(connect.Float32)).
			Field("timestamp", connect.TimestampSchema().MustBuild()).Field("byteArray", prim(connect.Bytes)).MustBuild()
		tr := newT(t, kt+"Cast$Value", map[string]string{"spec": "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32,bigdecimal:string,date:string,optional:int32,byteArray:string"})
		in := structOf(s, int8(8), int16(16), int32(32), int64(64), float32(32), -64.0, true, "42", connect.Decimal{Unscaled: big.NewInt(42)},
			time.UnixMilli(86400000), nil, time.UnixMilli(0), []byte{0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10})
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: in})
		sv := out.Value.(*connect.StructValue)
		wantVal(t, "int8", sv.Get("int8"), int16(8))
		if !out.ValueSchema.Field("int16").Schema.Optional {
			t.Error("int16 must stay optional")
		}
		wantVal(t, "int16", sv.Get("int16"), int32(16))
		wantVal(t, "int32", sv.Get("int32"), int64(32))
		wantVal(t, "int32 default", out.ValueSchema.Field("int32").Schema.Default, int64(2))
		wantVal(t, "int64", sv.Get("int64"), true)
		wantVal(t, "float32", sv.Get("float32"), 32.0)
		wantVal(t, "float64", sv.Get("float64"), true)
		wantVal(t, "float64 default", out.ValueSchema.Field("float64").Schema.Default, true)
		wantVal(t, "boolean", sv.Get("boolean"), int8(1))
		wantVal(t, "string", sv.Get("string"), int32(42))
		wantVal(t, "bigdecimal", sv.Get("bigdecimal"), "42")
		wantVal(t, "date", sv.Get("date"), "1970-01-02")
		wantVal(t, "optional", sv.Get("optional"), nil)
		wantVal(t, "timestamp", sv.Get("timestamp"), time.UnixMilli(0))
		wantVal(t, "byteArray", sv.Get("byteArray"), "/ty6mHZUMhA=")
	})
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", "42"}} {
		t.Run("castFieldWithDefaultValueRecordWithSchema/"+c.replace, func(t *testing.T) {
			s := connect.StructBuilder().Field("magic", connect.NewBuilder(connect.Int32).Optional().Default(int32(42)).MustBuild()).MustBuild()
			tr := newT(t, kt+"Cast$Value", map[string]string{"spec": "magic:string", "replace.null.with.default": c.replace})
			out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, nil)})
			if out.ValueSchema.Field("magic").Schema.Type != connect.String {
				t.Error("magic schema")
			}
			wantVal(t, "magic", out.Value.(*connect.StructValue).Values[0], c.want)
		})
	}
}

// Cases from SetSchemaMetadataTest.
func TestSetSchemaMetadata(t *testing.T) {
	t.Run("schemaNameUpdate / schemaVersionUpdate / schemaNameAndVersionUpdate", func(t *testing.T) {
		tr := newT(t, kt+"SetSchemaMetadata$Value", map[string]string{"schema.name": "foo", "schema.version": "42"})
		s := connect.StructBuilder().MustBuild()
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: connect.NewStruct(s)})
		if out.ValueSchema.Name != "foo" || out.ValueSchema.Version != 42 {
			t.Errorf("schema %+v", out.ValueSchema)
		}
		if out.Value.(*connect.StructValue).Schema != out.ValueSchema {
			t.Error("struct must carry the updated schema")
		}
		if again := apply(t, tr, &connect.Record{ValueSchema: s, Value: connect.NewStruct(s)}); again.ValueSchema != out.ValueSchema {
			t.Error("updated schema not cached")
		}
	})
	t.Run("schemaNameAndVersionUpdateWithStruct", func(t *testing.T) {
		tr := newT(t, kt+"SetSchemaMetadata$Value", map[string]string{"schema.name": "foo", "schema.version": "42"})
		s := connect.StructBuilder().Name("my.orig.SchemaDefn").Field("stringField", prim(connect.String)).Field("intField", prim(connect.Int32)).MustBuild()
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, "value", int32(1))})
		sv := out.Value.(*connect.StructValue)
		if sv.Schema.Name != "foo" || sv.Schema.Version != 42 {
			t.Errorf("schema %+v", sv.Schema)
		}
		wantVal(t, "stringField", sv.Get("stringField"), "value")
		wantVal(t, "intField", sv.Get("intField"), int32(1))
	})
	t.Run("valueSchemaRequired", func(t *testing.T) {
		tr := newT(t, kt+"SetSchemaMetadata$Value", map[string]string{"schema.name": "foo"})
		_, err := tr.Apply(&connect.Record{Value: int32(42)})
		checkErr(t, err, "Schema required for [updating schema metadata]")
	})
	t.Run("ignoreRecordWithNullValue", func(t *testing.T) {
		tr := newT(t, kt+"SetSchemaMetadata$Value", map[string]string{"schema.name": "foo"})
		in := &connect.Record{}
		if apply(t, tr, in) != in {
			t.Error("null value without schema must pass unchanged")
		}
	})
	t.Run("updateSchemaOfNull", func(t *testing.T) {
		tr := newT(t, kt+"SetSchemaMetadata$Value", map[string]string{"schema.name": "foo"})
		out := apply(t, tr, &connect.Record{ValueSchema: prim(connect.Int32)})
		if out.Value != nil || out.ValueSchema.Name != "foo" {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("config", func(t *testing.T) {
		_, err := newTErr(kt+"SetSchemaMetadata$Value", nil)
		checkErr(t, err, "Neither schema name nor version configured")
		_, err = newTErr(kt+"SetSchemaMetadata$Value", map[string]string{"schema.version": "x"})
		checkErr(t, err, "schema.version: Invalid value x for configuration schema.version: Not a number of type INT")
	})
}

// Cases from TimestampConverterTest.
func TestTimestampConverter(t *testing.T) {
	const fmtStr = "yyyy MM dd HH mm ss SSS z"
	epoch := time.UnixMilli(0).UTC()
	date := time.UnixMilli(86400000).UTC()
	tm := time.UnixMilli(1234).UTC()
	dpt := time.UnixMilli(86401234).UTC()
	const dptString = "1970 01 02 00 00 01 234 UTC"
	t.Run("config", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			props map[string]string
			want  string
		}{
			{"testConfigNoTargetType", nil, `Missing required configuration "target.type"`},
			{"testConfigInvalidTargetType", map[string]string{"target.type": "invalid"}, "String must be one of: string, unix, Date, Time, Timestamp"},
			{"testConfigInvalidUnixPrecision", map[string]string{"target.type": "unix", "unix.precision": "invalid"}, "unix.precision: Invalid value invalid"},
			{"testConfigMissingFormat", map[string]string{"target.type": "string"}, "TimestampConverter requires format option to be specified when using string timestamps"},
			{"testConfigInvalidFormat", map[string]string{"target.type": "string", "format": "bad-format"}, "TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: bad-format"},
		} {
			_, err := newTErr(kt+"TimestampConverter$Value", c.props)
			checkErr(t, err, c.want)
		}
		for _, p := range []string{"seconds", "milliseconds", "microseconds", "nanoseconds"} {
			if _, err := newTErr(kt+"TimestampConverter$Value", map[string]string{"target.type": "unix", "unix.precision": p}); err != nil {
				t.Errorf("testConfigValidUnixPrecision %s: %v", p, err)
			}
		}
	})
	schemaless := []struct {
		name, target string
		in, want     any
	}{
		{"testSchemalessIdentity", "Timestamp", dpt, dpt},
		{"testSchemalessTimestampToDate", "Date", dpt, date},
		{"testSchemalessTimestampToTime", "Time", dpt, tm},
		{"testSchemalessTimestampToUnix", "unix", dpt, int64(86401234)},
		{"testSchemalessTimestampToString", "string", dpt, dptString},
		{"testSchemalessDateToTimestamp", "Timestamp", date, date},
		{"testSchemalessTimeToTimestamp", "Timestamp", tm, tm},
		{"testSchemalessUnixToTimestamp", "Timestamp", int64(86401234), dpt},
		{"testSchemalessStringToTimestamp", "Timestamp", dptString, dpt},
		{"testSchemalessNullValueToString", "string", nil, nil},
		{"testSchemalessNullValueToUnix", "unix", nil, nil},
	}
	for _, c := range schemaless {
		t.Run(c.name, func(t *testing.T) {
			tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": c.target, "format": fmtStr})
			out := apply(t, tr, &connect.Record{Value: c.in})
			if out.ValueSchema != nil {
				t.Error("schemaless output must stay schemaless")
			}
			wantVal(t, "value", out.Value, c.want)
		})
	}
	tsSchema := connect.TimestampSchema().MustBuild()
	withSchema := []struct {
		name, target string
		schema       *connect.Schema
		in           any
		wantSchema   *connect.Schema
		want         any
	}{
		{"testWithSchemaIdentity", "Timestamp", tsSchema, dpt, tsSchema, dpt},
		{"testWithSchemaTimestampToDate", "Date", tsSchema, dpt, connect.DateSchema().MustBuild(), date},
		{"testWithSchemaTimestampToTime", "Time", tsSchema, dpt, connect.TimeSchema().MustBuild(), tm},
		{"testWithSchemaTimestampToUnix", "unix", tsSchema, dpt, prim(connect.Int64), int64(86401234)},
		{"testWithSchemaTimestampToString", "string", tsSchema, dpt, prim(connect.String), dptString},
		{"testWithSchemaDateToTimestamp", "Timestamp", connect.DateSchema().MustBuild(), date, tsSchema, date},
		{"testWithSchemaTimeToTimestamp", "Timestamp", connect.TimeSchema().MustBuild(), tm, tsSchema, tm},
		{"testWithSchemaUnixToTimestamp", "Timestamp", prim(connect.Int64), int64(86401234), tsSchema, dpt},
		{"testWithSchemaStringToTimestamp", "Timestamp", prim(connect.String), dptString, tsSchema, dpt},
		{"testWithSchemaNullValueToTimestamp", "Timestamp", connect.TimestampSchema().Optional().MustBuild(), nil, connect.TimestampSchema().Optional().MustBuild(), nil},
		{"testWithSchemaNullValueToUnix", "unix", connect.TimestampSchema().Optional().MustBuild(), nil, optPrim(connect.Int64), nil},
		{"testWithSchemaNullValueToString", "string", connect.TimestampSchema().Optional().MustBuild(), nil, optPrim(connect.String), nil},
	}
	for _, c := range withSchema {
		t.Run(c.name, func(t *testing.T) {
			tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": c.target, "format": fmtStr})
			out := apply(t, tr, &connect.Record{ValueSchema: c.schema, Value: c.in})
			wantSchema(t, "schema", out.ValueSchema, c.wantSchema)
			wantVal(t, "value", out.Value, c.want)
		})
	}
	t.Run("testSchemalessFieldConversion", func(t *testing.T) {
		tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": "Date", "field": "ts"})
		out := apply(t, tr, &connect.Record{Value: map[string]any{"ts": dpt}})
		wantVal(t, "value", out.Value, map[string]any{"ts": date})
	})
	t.Run("testWithSchemaFieldConversion", func(t *testing.T) {
		s := connect.StructBuilder().Field("ts", tsSchema).Field("other", prim(connect.String)).MustBuild()
		tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": "Timestamp", "field": "ts"})
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, dpt, "test")})
		ws := connect.StructBuilder().Field("ts", tsSchema).Field("other", prim(connect.String)).MustBuild()
		wantVal(t, "value", out.Value, structOf(ws, dpt, "test"))
	})
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", epoch}} {
		t.Run("testWithSchemaNullFieldWithDefaultConversion/"+c.replace, func(t *testing.T) {
			s := connect.StructBuilder().Field("ts", connect.TimestampSchema().Optional().Default(epoch).MustBuild()).Field("other", prim(connect.String)).MustBuild()
			tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": "Timestamp", "field": "ts", "replace.null.with.default": c.replace})
			out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, nil, "test")})
			wantVal(t, "ts", out.Value.(*connect.StructValue).Values[0], c.want)
		})
	}
	for _, c := range []struct {
		name, precision string
		in              int64
		want            time.Time
	}{
		{"testWithSchemaFieldConversion_Micros", "microseconds", 86401234123, dpt},
		{"testWithSchemaFieldConversion_Nanos", "nanoseconds", 86401234123456, dpt},
		{"testWithSchemaFieldConversion_Seconds", "seconds", 86401, time.UnixMilli(86401000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := connect.StructBuilder().Field("ts", prim(connect.Int64)).Field("other", prim(connect.String)).MustBuild()
			tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": "Timestamp", "field": "ts", "unix.precision": c.precision})
			out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, c.in, "test")})
			wantVal(t, "ts", out.Value.(*connect.StructValue).Values[0], c.want)
		})
	}
	for _, c := range []struct {
		name, precision string
		want            int64
	}{
		{"testSchemalessStringToUnix_Micros", "microseconds", 86401234000},
		{"testSchemalessStringToUnix_Nanos", "nanoseconds", 86401234000000},
		{"testSchemalessStringToUnix_Seconds", "seconds", 86401},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": "unix", "unix.precision": c.precision, "format": fmtStr})
			out := apply(t, tr, &connect.Record{Value: dptString})
			wantVal(t, "value", out.Value, c.want)
		})
	}
	t.Run("testKey", func(t *testing.T) {
		tr := newT(t, kt+"TimestampConverter$Key", map[string]string{"target.type": "Timestamp"})
		out := apply(t, tr, &connect.Record{Key: dpt})
		wantVal(t, "key", out.Key, dpt)
	})
	t.Run("unparseable string names value and pattern", func(t *testing.T) {
		tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": "unix", "format": fmtStr})
		_, err := tr.Apply(&connect.Record{Value: "yesterday"})
		checkErr(t, err, "Could not parse timestamp: value (yesterday) does not match pattern (yyyy MM dd HH mm ss SSS z)")
	})
}

// Cases from InsertHeaderTest and DropHeadersTest.
func TestHeaders(t *testing.T) {
	str := func(k, v string) connect.Header {
		return connect.Header{Key: k, Schema: prim(connect.String), Value: v}
	}
	rec := func(hs ...connect.Header) *connect.Record {
		return &connect.Record{SourcePartition: map[string]any{"foo": "bar"}, SourceOffset: map[string]any{"baz": "quxx"}, Topic: "topic", Key: "key", Value: "value", Headers: hs}
	}
	cases := []struct {
		name, class string
		props       map[string]string
		in          []connect.Header
		want        []connect.Header
	}{
		{"InsertHeaderTest.insertionWithExistingOtherHeader", "InsertHeader", map[string]string{"header": "inserted", "value.literal": "inserted-value"},
			[]connect.Header{str("existing", "existing-value")}, []connect.Header{str("existing", "existing-value"), str("inserted", "inserted-value")}},
		{"InsertHeaderTest.insertionWithExistingSameHeader", "InsertHeader", map[string]string{"header": "existing", "value.literal": "inserted-value"},
			[]connect.Header{str("existing", "preexisting-value")}, []connect.Header{str("existing", "preexisting-value"), str("existing", "inserted-value")}},
		{"InsertHeaderTest.insertionWithByteHeader", "InsertHeader", map[string]string{"header": "inserted", "value.literal": "1"},
			[]connect.Header{str("existing", "existing-value")}, []connect.Header{str("existing", "existing-value"), {Key: "inserted", Schema: prim(connect.Int8), Value: int8(1)}}},
		{"DropHeadersTest.dropExistingHeader", "DropHeaders", map[string]string{"headers": "to-drop"},
			[]connect.Header{str("existing", "existing-value"), str("to-drop", "existing-value")}, []connect.Header{str("existing", "existing-value")}},
		{"DropHeadersTest.dropExistingHeaderWithMultipleValues", "DropHeaders", map[string]string{"headers": "to-drop"},
			[]connect.Header{str("existing", "existing-value"), str("to-drop", "existing-value"), str("to-drop", "existing-other-value")}, []connect.Header{str("existing", "existing-value")}},
		{"DropHeadersTest.dropNonExistingHeader", "DropHeaders", map[string]string{"headers": "to-drop"},
			[]connect.Header{str("existing", "existing-value")}, []connect.Header{str("existing", "existing-value")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := rec(c.in...)
			out := apply(t, newT(t, kt+c.class, c.props), in)
			if out.Topic != in.Topic || out.Key != in.Key || out.Value != in.Value || out.SourceOffset["baz"] != "quxx" {
				t.Error("non-header parts changed")
			}
			if len(out.Headers) != len(c.want) {
				t.Fatalf("headers %+v, want %+v", out.Headers, c.want)
			}
			for i := range c.want {
				if out.Headers[i].Key != c.want[i].Key || !schemaEq(out.Headers[i].Schema, c.want[i].Schema) || !valEq(out.Headers[i].Value, c.want[i].Value) {
					t.Errorf("header %d = %+v, want %+v", i, out.Headers[i], c.want[i])
				}
			}
			if len(in.Headers) != len(c.in) {
				t.Error("input headers modified")
			}
		})
	}
	for _, c := range []struct {
		name, class string
		props       map[string]string
		want        string
	}{
		{"InsertHeaderTest.configRejectsNullHeaderKey", "InsertHeader", map[string]string{"value.literal": "1"}, `Missing required configuration "header"`},
		{"InsertHeaderTest.configRejectsNullHeaderValue", "InsertHeader", map[string]string{"header": "inserted"}, `Missing required configuration "value.literal"`},
		{"DropHeadersTest.configRejectsEmptyList", "DropHeaders", map[string]string{"headers": ""}, "Empty list"},
	} {
		_, err := newTErr(kt+c.class, c.props)
		checkErr(t, err, c.want)
	}
}

// Cases from HeaderFromTest (data(): each case for $Key and $Value, with a
// schema and schemaless).
func TestHeaderFrom(t *testing.T) {
	type fld struct {
		name   string
		schema *connect.Schema
		value  any
	}
	str := prim(connect.String)
	optDef := connect.NewBuilder(connect.String).Default("default").Optional().MustBuild()
	inner := connect.StructBuilder().Field("foo", str).MustBuild()
	innerVal := structOf(inner, "foo-value")
	h := func(k string, s *connect.Schema, v any) connect.Header {
		return connect.Header{Key: k, Schema: s, Value: v}
	}
	f1, f2 := fld{"field1", str, "field1-value"}, fld{"field2", str, "field2-value"}
	cases := []struct {
		name            string
		in              []fld
		inHeaders       []connect.Header
		fields, headers string
		op              string
		replaceNull     string
		out             []fld
		outHeaders      []connect.Header
	}{
		{"basic copy", []fld{f1, f2}, []connect.Header{h("header1", str, "existing-value")}, "field1", "inserted1", "copy", "true",
			[]fld{f1, f2}, []connect.Header{h("header1", str, "existing-value"), h("inserted1", str, "field1-value")}},
		{"basic move", []fld{f1, f2}, []connect.Header{h("header1", str, "existing-value")}, "field1", "inserted1", "move", "true",
			[]fld{f2}, []connect.Header{h("header1", str, "existing-value"), h("inserted1", str, "field1-value")}},
		{"copy with preexisting header", []fld{f1, f2}, []connect.Header{h("inserted1", str, "existing-value")}, "field1", "inserted1", "copy", "true",
			[]fld{f1, f2}, []connect.Header{h("inserted1", str, "existing-value"), h("inserted1", str, "field1-value")}},
		{"move with preexisting header", []fld{f1, f2}, []connect.Header{h("inserted1", str, "existing-value")}, "field1", "inserted1", "move", "true",
			[]fld{f2}, []connect.Header{h("inserted1", str, "existing-value"), h("inserted1", str, "field1-value")}},
		{"copy with struct value", []fld{{"field1", inner, innerVal}, f2}, []connect.Header{h("header1", str, "existing-value")}, "field1", "inserted1", "copy", "true",
			[]fld{{"field1", inner, innerVal}, f2}, []connect.Header{h("header1", str, "existing-value"), h("inserted1", inner, innerVal)}},
		{"move with struct value", []fld{{"field1", inner, innerVal}, f2}, []connect.Header{h("header1", str, "existing-value")}, "field1", "inserted1", "move", "true",
			[]fld{f2}, []connect.Header{h("header1", str, "existing-value"), h("inserted1", inner, innerVal)}},
		{"two headers from same field", []fld{f1, f2}, []connect.Header{h("header1", str, "existing-value")}, "field1,field1", "inserted1,inserted2", "move", "true",
			[]fld{f2}, []connect.Header{h("header1", str, "existing-value"), h("inserted1", str, "field1-value"), h("inserted2", str, "field1-value")}},
		{"two fields to same header", []fld{f1, f2}, []connect.Header{h("header1", str, "existing-value")}, "field1,field2", "inserted1,inserted1", "move", "true",
			nil, []connect.Header{h("header1", str, "existing-value"), h("inserted1", str, "field1-value"), h("inserted1", str, "field2-value")}},
		{"Copy null field without default", []fld{{"field1", optDef, "field1-value"}, {"field2", optDef, nil}}, []connect.Header{h("header1", str, "existing-value")},
			"field1,field2", "inserted1,inserted2", "copy", "false",
			[]fld{{"field1", optDef, "field1-value"}, {"field2", optDef, nil}}, []connect.Header{h("header1", str, "existing-value"), h("inserted1", optDef, "field1-value"), h("inserted2", optDef, nil)}},
		{"Move null field without default", []fld{{"field1", optDef, "field1-value"}, {"field2", optDef, nil}}, []connect.Header{h("header1", str, "existing-value")},
			"field1,field2", "inserted1,inserted2", "move", "false",
			nil, []connect.Header{h("header1", str, "existing-value"), h("inserted1", optDef, "field1-value"), h("inserted2", optDef, nil)}},
	}
	build := func(fs []fld, schemaful bool) (*connect.Schema, any) {
		if !schemaful {
			m := map[string]any{}
			for _, f := range fs {
				m[f.name] = f.value
			}
			return nil, m
		}
		b := connect.StructBuilder()
		for _, f := range fs {
			b.Field(f.name, f.schema)
		}
		sc := b.MustBuild()
		v := connect.NewStruct(sc)
		for i, f := range fs {
			v.Values[i] = f.value
		}
		return sc, v
	}
	for _, c := range cases {
		for _, key := range []bool{true, false} {
			for _, schemaful := range []bool{true, false} {
				name := fmt.Sprintf("%s/key=%v/schema=%v", c.name, key, schemaful)
				t.Run(name, func(t *testing.T) {
					class := kt + "HeaderFrom$Value"
					if key {
						class = kt + "HeaderFrom$Key"
					}
					tr := newT(t, class, map[string]string{"fields": c.fields, "headers": c.headers, "operation": c.op, "replace.null.with.default": c.replaceNull})
					sc, v := build(c.in, schemaful)
					in := side(key).with(&connect.Record{Topic: "test", Headers: c.inHeaders}, sc, v)
					out := apply(t, tr, in)
					wsc, wv := build(c.out, schemaful)
					gs, gv := side(key).get(out)
					wantSchema(t, "schema", gs, wsc)
					wantVal(t, "value", gv, wv)
					if len(out.Headers) != len(c.outHeaders) {
						t.Fatalf("headers %+v", out.Headers)
					}
					for i, w := range c.outHeaders {
						if !schemaful && i >= len(c.inHeaders) {
							w.Schema = nil
						}
						g := out.Headers[i]
						if g.Key != w.Key || !schemaEq(g.Schema, w.Schema) || !valEq(g.Value, w.Value) {
							t.Errorf("header %d = %+v, want %+v", i, g, w)
						}
					}
					if len(in.Headers) != len(c.inHeaders) {
						t.Error("input headers modified")
					}
				})
			}
		}
	}
	// HeaderFromTest.invalidConfigExtraHeaderConfig / invalidConfigExtraFieldConfig
	for _, c := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"fields": "foo", "headers": "foo,bar", "operation": "copy"}, "'fields' config must have the same number of elements as 'headers' config."},
		{map[string]string{"fields": "foo,bar", "headers": "foo", "operation": "copy"}, "'fields' config must have the same number of elements as 'headers' config."},
		{map[string]string{"fields": "a", "headers": "x", "operation": "nope"}, "String must be one of: move, copy"},
		{map[string]string{"fields": "", "headers": "x", "operation": "copy"}, "Empty list"},
	} {
		_, err := newTErr(kt+"HeaderFrom$Value", c.props)
		checkErr(t, err, c.want)
	}
	t.Run("missing field names the field", func(t *testing.T) {
		sc, v := build([]fld{f1}, true)
		tr := newT(t, kt+"HeaderFrom$Value", map[string]string{"fields": "nope", "headers": "h", "operation": "copy"})
		_, err := tr.Apply(&connect.Record{ValueSchema: sc, Value: v})
		checkErr(t, err, "Field does not exist: nope")
	})
}

// SetSchemaMetadataTest.schemaNameAndVersionUpdateWithStructAndNullField.
func TestSetSchemaMetadataNullField(t *testing.T) {
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", "default"}} {
		s := connect.StructBuilder().Name("my.orig.SchemaDefn").Field("f1", connect.NewBuilder(connect.String).Default("default").Optional().MustBuild()).
			Field("f2", prim(connect.Int32)).MustBuild()
		tr := newT(t, kt+"SetSchemaMetadata$Value", map[string]string{"schema.name": "foo", "schema.version": "42", "replace.null.with.default": c.replace})
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, nil, int32(1))})
		sv := out.Value.(*connect.StructValue)
		if out.ValueSchema.Name != "foo" || out.ValueSchema.Version != 42 || sv.Schema != out.ValueSchema {
			t.Errorf("schema %+v", out.ValueSchema)
		}
		wantVal(t, "f1", sv.Values[0], c.want)
	}
}

// TimestampConverterTest.testWithSchemaNullFieldTo*: a null field or a
// null struct keeps its place with the converted (optional) schema.
func TestTimestampConverterNullField(t *testing.T) {
	optTS := connect.TimestampSchema().Optional().MustBuild()
	optTime := connect.TimeSchema().Optional().MustBuild()
	optDate := connect.DateSchema().Optional().MustBuild()
	cases := []struct {
		target         string
		orig, expected *connect.Schema
	}{
		{"Timestamp", optPrim(connect.Int64), optTS}, {"Timestamp", optTime, optTS}, {"Timestamp", optDate, optTS},
		{"Timestamp", optPrim(connect.String), optTS}, {"Timestamp", optTS, optTS},
		{"unix", optTS, optPrim(connect.Int64)}, {"Time", optTS, optTime}, {"Date", optTS, optDate},
		{"string", optPrim(connect.String), optPrim(connect.String)}, {"string", optTS, optPrim(connect.String)},
	}
	for _, c := range cases {
		tr := newT(t, kt+"TimestampConverter$Value", map[string]string{"target.type": c.target, "format": "yyyy MM dd HH mm ss SSS z", "field": "ts"})
		s := connect.StructBuilder().Field("ts", c.orig).Field("other", prim(connect.String)).MustBuild()
		want := connect.StructBuilder().Field("ts", c.expected).Field("other", prim(connect.String)).MustBuild()
		out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, nil, "test")})
		wantSchema(t, c.target+" schema", out.ValueSchema, want)
		wantVal(t, c.target+" ts", out.Value.(*connect.StructValue).Values[0], nil)
		os := connect.StructBuilder().Optional().Field("ts", c.orig).Field("other", prim(connect.String)).MustBuild()
		out = apply(t, tr, &connect.Record{ValueSchema: os})
		wantSchema(t, c.target+" optional schema", out.ValueSchema, connect.StructBuilder().Optional().Field("ts", c.expected).Field("other", prim(connect.String)).MustBuild())
		if out.Value != nil {
			t.Errorf("%s: null struct must stay null", c.target)
		}
	}
}

// CastTest.castFieldsSchemaless and castLogicalToString.
func TestCastMore(t *testing.T) {
	tr := newT(t, kt+"Cast$Value", map[string]string{"spec": "int8:int16,int16:int32,int32:int64,int64:boolean,float32:float64,float64:boolean,boolean:int8,string:int32"})
	out := apply(t, tr, &connect.Record{Value: map[string]any{"int8": int8(8), "int16": int16(16), "int32": int32(32), "int64": int64(64),
		"float32": float32(32), "float64": -64.0, "boolean": true, "string": "42"}})
	if out.ValueSchema != nil {
		t.Error("schemaless stays schemaless")
	}
	wantVal(t, "value", out.Value, map[string]any{"int8": int16(8), "int16": int32(16), "int32": int64(32), "int64": true,
		"float32": 32.0, "float64": true, "boolean": int8(1), "string": int32(42)})

	s := connect.StructBuilder().Field("date", connect.DateSchema().MustBuild()).Field("decimal", connect.DecimalSchema(0).MustBuild()).
		Field("time", connect.TimeSchema().MustBuild()).Field("timestamp", connect.TimestampSchema().MustBuild()).MustBuild()
	ts := time.Date(2024, 5, 6, 7, 8, 9, 123e6, time.UTC)
	tr = newT(t, kt+"Cast$Value", map[string]string{"spec": "date:string,decimal:string,time:string,timestamp:string"})
	out = apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, time.UnixMilli(86400000), connect.Decimal{Unscaled: big.NewInt(1982)}, time.UnixMilli(3600000), ts)})
	sv := out.Value.(*connect.StructValue)
	// Values.dateFormatFor: a whole day as a date, under a day as a time,
	// anything else as a timestamp.
	wantVal(t, "date", sv.Get("date"), "1970-01-02")
	wantVal(t, "decimal", sv.Get("decimal"), "1982")
	wantVal(t, "time", sv.Get("time"), "01:00:00.000Z")
	wantVal(t, "timestamp", sv.Get("timestamp"), "2024-05-06T07:08:09.123Z")
	for _, f := range sv.Schema.Fields {
		if f.Schema.Type != connect.String {
			t.Errorf("%s: %s", f.Name, f.Schema.Type)
		}
	}
}
