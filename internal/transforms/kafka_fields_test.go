package transforms

import (
	"math/big"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

const kt = "org.apache.kafka.connect.transforms."

var insertProps = map[string]string{
	"topic.field":     "topic_field!",
	"partition.field": "partition_field",
	"timestamp.field": "timestamp_field?",
	"static.field":    "instance_id",
	"static.value":    "my-instance-id",
}

// Cases from InsertFieldTest.
func TestInsertField(t *testing.T) {
	simple := connect.StructBuilder().Name("name").Version(1).Doc("doc").Field("magic", optPrim(connect.Int64)).MustBuild()

	t.Run("topLevelStructRequired", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Value", map[string]string{"topic.field": "topic_field"})
		_, err := tr.Apply(&connect.Record{Topic: "", ValueSchema: prim(connect.Int32), Value: int32(42)})
		checkErr(t, err, "Only Struct objects supported for [field insertion], found: java.lang.Integer")
	})
	t.Run("copySchemaAndInsertConfiguredFields", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Value", insertProps)
		rec := &connect.Record{Topic: "test", Partition: 0, ValueSchema: simple, Value: structOf(simple, int64(42)), Timestamp: time.UnixMilli(789)}
		out := apply(t, tr, rec)
		want := connect.StructBuilder().Name("name").Version(1).Doc("doc").
			Field("magic", optPrim(connect.Int64)).
			Field("topic_field", prim(connect.String)).
			Field("partition_field", optPrim(connect.Int32)).
			Field("timestamp_field", connect.TimestampSchema().Optional().MustBuild()).
			Field("instance_id", optPrim(connect.String)).MustBuild()
		wantSchema(t, "value schema", out.ValueSchema, want)
		wantVal(t, "value", out.Value, structOf(want, int64(42), "test", int32(0), time.UnixMilli(789), "my-instance-id"))
		// Exercise caching: the same schema gives the same updated schema.
		out2 := apply(t, tr, &connect.Record{Topic: "test", Partition: 1, ValueSchema: simple, Value: connect.NewStruct(simple)})
		if out2.ValueSchema != out.ValueSchema {
			t.Error("updated schema not cached")
		}
	})
	t.Run("schemalessInsertConfiguredFields", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Value", insertProps)
		out := apply(t, tr, &connect.Record{Topic: "test", Partition: 0, Value: map[string]any{"magic": int64(42)}, Timestamp: time.UnixMilli(123)})
		wantVal(t, "value", out.Value, map[string]any{"magic": int64(42), "topic_field": "test", "partition_field": int32(0), "timestamp_field": int64(123), "instance_id": "my-instance-id"})
	})
	t.Run("insertConfiguredFieldsIntoTombstoneEventWithoutSchemaLeavesValueUnchanged", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Value", insertProps)
		out := apply(t, tr, &connect.Record{Topic: "test"})
		if out.Value != nil || out.ValueSchema != nil {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("insertConfiguredFieldsIntoTombstoneEventWithSchemaLeavesValueUnchanged", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Value", insertProps)
		out := apply(t, tr, &connect.Record{Topic: "test", ValueSchema: simple})
		if out.Value != nil || out.ValueSchema != simple {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("insertKeyFieldsIntoTombstoneEvent", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Key", insertProps)
		out := apply(t, tr, &connect.Record{Topic: "test", Key: map[string]any{"magic": int64(42)}})
		wantVal(t, "key", out.Key, map[string]any{"magic": int64(42), "topic_field": "test", "partition_field": int32(0), "instance_id": "my-instance-id"})
		if out.Value != nil {
			t.Error("value should stay null")
		}
	})
	t.Run("insertIntoNullKeyLeavesRecordUnchanged", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Key", insertProps)
		in := &connect.Record{Topic: "test", Value: map[string]any{"magic": int64(42)}}
		if out := apply(t, tr, in); out != in {
			t.Error("record should be returned unchanged")
		}
	})
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", int64(42)}} {
		t.Run("testUnsetOptionalField/replace.null.with.default="+c.replace, func(t *testing.T) {
			props := map[string]string{"replace.null.with.default": c.replace}
			for k, v := range insertProps {
				props[k] = v
			}
			tr := newT(t, kt+"InsertField$Value", props)
			magic := connect.NewBuilder(connect.Int64).Optional().Default(int64(42)).MustBuild()
			s := connect.StructBuilder().Name("name").Version(1).Doc("doc").Field("magic_with_default", magic).MustBuild()
			out := apply(t, tr, &connect.Record{Topic: "test", ValueSchema: s, Value: structOf(s, nil), Timestamp: time.UnixMilli(789)})
			wantSchema(t, "field schema", out.ValueSchema.Field("magic_with_default").Schema, magic)
			wantVal(t, "magic_with_default", out.Value.(*connect.StructValue).Values[0], c.want)
		})
	}
	t.Run("config errors", func(t *testing.T) {
		_, err := newTErr(kt+"InsertField$Value", nil)
		checkErr(t, err, "No field insertion configured")
		_, err = newTErr(kt+"InsertField$Value", map[string]string{"static.field": "x"})
		checkErr(t, err, "static.value: Invalid value null for configuration static.value: No value specified for static field: x")
		_, err = buildChain(t, map[string]string{"transforms": "ins", "transforms.ins.type": "InsertField$Value"})
		checkErr(t, err, "transforms.ins: No field insertion configured")
	})
	t.Run("offset.field on a source record", func(t *testing.T) {
		tr := newT(t, kt+"InsertField$Value", map[string]string{"offset.field": "off"})
		_, err := tr.Apply(&connect.Record{Topic: "t", SourceOffset: map[string]any{"lsn": 1}, Value: map[string]any{}})
		checkErr(t, err, "Only SinkRecord supported for [field insertion]")
		out := apply(t, tr, &connect.Record{Topic: "t", KafkaOffset: 7, Value: map[string]any{}})
		wantVal(t, "value", out.Value, map[string]any{"off": int64(7)})
	})
}

// Cases from ReplaceFieldTest.
func TestReplaceField(t *testing.T) {
	schema := connect.StructBuilder().Field("dont", prim(connect.String)).Field("abc", prim(connect.Int32)).
		Field("foo", prim(connect.Boolean)).Field("etc", prim(connect.String)).MustBuild()
	t.Run("tombstoneSchemaless", func(t *testing.T) {
		tr := newT(t, kt+"ReplaceField$Value", map[string]string{"include": "abc,foo", "renames": "abc:xyz,foo:bar"})
		out := apply(t, tr, &connect.Record{Topic: "test"})
		if out.Value != nil || out.ValueSchema != nil {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("tombstoneWithSchema", func(t *testing.T) {
		tr := newT(t, kt+"ReplaceField$Value", map[string]string{"include": "abc,foo", "renames": "abc:xyz,foo:bar"})
		out := apply(t, tr, &connect.Record{Topic: "test", ValueSchema: schema})
		if out.Value != nil || out.ValueSchema != schema {
			t.Errorf("got %+v", out)
		}
	})
	t.Run("schemaless", func(t *testing.T) {
		tr := newT(t, kt+"ReplaceField$Value", map[string]string{"exclude": "dont", "renames": "abc:xyz,foo:bar"})
		out := apply(t, tr, &connect.Record{Value: map[string]any{"dont": "whatever", "abc": int32(42), "foo": true, "etc": "etc"}})
		wantVal(t, "value", out.Value, map[string]any{"xyz": int32(42), "bar": true, "etc": "etc"})
	})
	for _, c := range []struct{ name, prop string }{{"withSchema", "include"}, {"withSchema (deprecated whitelist)", "whitelist"}} {
		t.Run(c.name, func(t *testing.T) {
			tr := newT(t, kt+"ReplaceField$Value", map[string]string{c.prop: "abc,foo", "renames": "abc:xyz,foo:bar"})
			out := apply(t, tr, &connect.Record{ValueSchema: schema, Value: structOf(schema, "whatever", int32(42), true, "etc")})
			ws := connect.StructBuilder().Field("xyz", prim(connect.Int32)).Field("bar", prim(connect.Boolean)).MustBuild()
			wantVal(t, "value", out.Value, structOf(ws, int32(42), true))
		})
	}
	t.Run("deprecated blacklist; exclude wins over blacklist", func(t *testing.T) {
		tr := newT(t, kt+"ReplaceField$Value", map[string]string{"blacklist": "dont,etc"})
		out := apply(t, tr, &connect.Record{Value: map[string]any{"dont": 1, "abc": 2, "etc": 3}})
		wantVal(t, "value", out.Value, map[string]any{"abc": 2})
		tr = newT(t, kt+"ReplaceField$Value", map[string]string{"blacklist": "dont,etc", "exclude": "abc"})
		out = apply(t, tr, &connect.Record{Value: map[string]any{"dont": 1, "abc": 2, "etc": 3}})
		wantVal(t, "value", out.Value, map[string]any{"dont": 1, "etc": 3})
	})
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", int32(42)}} {
		for _, cls := range []string{"$Value", "$Key"} {
			t.Run("testReplaceNullWithDefaultConfigOn"+cls+"/"+c.replace, func(t *testing.T) {
				tr := newT(t, kt+"ReplaceField"+cls, map[string]string{"include": "abc", "renames": "abc:optional_with_default", "replace.null.with.default": c.replace})
				s := connect.StructBuilder().Field("abc", connect.NewBuilder(connect.Int32).Optional().Default(int32(42)).MustBuild()).MustBuild()
				rec := &connect.Record{ValueSchema: s, Value: structOf(s, nil)}
				if cls == "$Key" {
					rec = &connect.Record{KeySchema: s, Key: structOf(s, nil)}
				}
				out := apply(t, tr, rec)
				_, v := side(cls == "$Key").get(out)
				sv := v.(*connect.StructValue)
				if len(sv.Schema.Fields) != 1 || sv.Schema.Fields[0].Name != "optional_with_default" {
					t.Fatalf("schema %+v", sv.Schema.Fields)
				}
				wantVal(t, "optional_with_default", sv.Values[0], c.want)
			})
		}
	}
	t.Run("invalid renames", func(t *testing.T) {
		_, err := newTErr(kt+"ReplaceField$Value", map[string]string{"renames": "abc:xyz,foo"})
		checkErr(t, err, "renames: Invalid value abc:xyz,foo for configuration renames: Invalid rename mapping: foo")
	})
}

// Cases from MaskFieldTest.
func TestMaskField(t *testing.T) {
	schema := connect.StructBuilder().
		Field("magic", prim(connect.Int32)).Field("bool", prim(connect.Boolean)).Field("byte", prim(connect.Int8)).
		Field("short", prim(connect.Int16)).Field("int", prim(connect.Int32)).Field("long", prim(connect.Int64)).
		Field("float", prim(connect.Float32)).Field("double", prim(connect.Float64)).Field("string", prim(connect.String)).
		Field("date", connect.DateSchema().MustBuild()).Field("time", connect.TimeSchema().MustBuild()).
		Field("timestamp", connect.TimestampSchema().MustBuild()).Field("decimal", connect.DecimalSchema(0).MustBuild()).
		Field("array", connect.ArrayOf(prim(connect.Int32)).MustBuild()).
		Field("map", connect.MapOf(prim(connect.String), prim(connect.String)).MustBuild()).
		Field("withDefault", connect.NewBuilder(connect.String).Optional().Default("default").MustBuild()).MustBuild()
	now := time.Now().UTC()
	withSchema := func() *connect.StructValue {
		return structOf(schema, int32(42), true, int8(42), int16(42), int32(42), int64(42), float32(42), float64(42), "hmm",
			now, now, now, connect.Decimal{Unscaled: big.NewInt(42)}, []any{int32(1), int32(2), int32(3)},
			connect.MapValue{{Key: "what", Value: "what"}}, nil)
	}
	values := func() map[string]any {
		return map[string]any{"magic": int32(42), "bool": true, "byte": int8(42), "short": int16(42), "int": int32(42), "long": int64(42),
			"float": float32(42), "double": float64(42), "string": "55.121.20.20", "date": now, "bigint": big.NewInt(42),
			"bigdec": connect.Decimal{Unscaled: big.NewInt(420), Scale: 1}, "list": []any{int32(42)}, "map": map[string]any{"key": "value"}}
	}
	mask := func(t *testing.T, fields, replacement string) Transform {
		props := map[string]string{"fields": fields, "replace.null.with.default": "false"}
		if replacement != "" {
			props["replacement"] = replacement
		}
		return newT(t, kt+"MaskField$Value", props)
	}
	t.Run("testSchemaless", func(t *testing.T) {
		out := apply(t, mask(t, "bool,byte,short,int,long,float,double,string,date,bigint,bigdec,list,map", ""), &connect.Record{Value: values()})
		wantVal(t, "value", out.Value, map[string]any{"magic": int32(42), "bool": false, "byte": int8(0), "short": int16(0), "int": int32(0),
			"long": int64(0), "float": float32(0), "double": float64(0), "string": "", "date": time.UnixMilli(0),
			"bigint": big.NewInt(0), "bigdec": connect.Decimal{Unscaled: big.NewInt(0)}, "list": []any{}, "map": map[string]any{}})
	})
	t.Run("testWithSchema", func(t *testing.T) {
		out := apply(t, mask(t, "bool,byte,short,int,long,float,double,string,date,time,timestamp,decimal,array,map,withDefault", ""),
			&connect.Record{ValueSchema: schema, Value: withSchema()})
		wantVal(t, "value", out.Value, structOf(schema, int32(42), false, int8(0), int16(0), int32(0), int64(0), float32(0), float64(0), "",
			time.UnixMilli(0), time.UnixMilli(0), time.UnixMilli(0), connect.Decimal{Unscaled: big.NewInt(0)}, []any{}, connect.MapValue{}, nil))
	})
	replacements := []struct {
		field, replacement string
		want               any
	}{
		{"short", "123", int16(123)}, {"byte", "123", int8(123)}, {"int", "123", int32(123)}, {"long", "123", int64(123)},
		{"float", "123.0", float32(123)}, {"double", "123.0", float64(123)}, {"string", "123", "123"},
	}
	for _, c := range replacements {
		t.Run("testSchemalessWithReplacement/"+c.field, func(t *testing.T) {
			out := apply(t, mask(t, c.field, c.replacement), &connect.Record{Value: values()})
			wantVal(t, c.field, out.Value.(map[string]any)[c.field], c.want)
		})
		t.Run("testWithSchemaAndReplacement/"+c.field, func(t *testing.T) {
			out := apply(t, mask(t, c.field, c.replacement), &connect.Record{ValueSchema: schema, Value: withSchema()})
			wantVal(t, c.field, out.Value.(*connect.StructValue).Get(c.field), c.want)
		})
	}
	t.Run("testSchemalessWithReplacement/bigint,bigdec", func(t *testing.T) {
		out := apply(t, mask(t, "bigint", "123"), &connect.Record{Value: values()})
		wantVal(t, "bigint", out.Value.(map[string]any)["bigint"], big.NewInt(123))
		out = apply(t, mask(t, "bigdec", "123.0"), &connect.Record{Value: values()})
		wantVal(t, "bigdec", out.Value.(map[string]any)["bigdec"], connect.Decimal{Unscaled: big.NewInt(1230), Scale: 1})
	})
	t.Run("testWithSchemaAndReplacement/decimal", func(t *testing.T) {
		out := apply(t, mask(t, "decimal", "123.0"), &connect.Record{ValueSchema: schema, Value: withSchema()})
		wantVal(t, "decimal", out.Value.(*connect.StructValue).Get("decimal"), connect.Decimal{Unscaled: big.NewInt(1230), Scale: 1})
	})
	unsupported := []struct{ fields, replacement string }{
		{"date", "2024"}, {"int,date", "1"}, {"bool", "false"}, {"list", "123"}, {"map", "123"},
	}
	for _, c := range unsupported {
		t.Run("testSchemalessUnsupportedReplacementType/"+c.fields, func(t *testing.T) {
			_, err := mask(t, c.fields, c.replacement).Apply(&connect.Record{Value: values()})
			checkErr(t, err, "Cannot mask value of type")
		})
	}
	for _, f := range []string{"time", "timestamp", "array"} {
		t.Run("testWithSchemaUnsupportedReplacementType/"+f, func(t *testing.T) {
			_, err := mask(t, f, "123").Apply(&connect.Record{ValueSchema: schema, Value: withSchema()})
			checkErr(t, err, "Cannot mask value of type")
		})
	}
	for _, f := range []string{"byte", "short", "int", "long", "float", "double", "bigint", "bigdec", "string,int"} {
		t.Run("testReplacementTypeMismatch/"+f, func(t *testing.T) {
			_, err := mask(t, f, "foo").Apply(&connect.Record{Value: values()})
			checkErr(t, err, "Unable to convert foo")
		})
	}
	t.Run("testEmptyStringReplacementValue", func(t *testing.T) {
		_, err := newTErr(kt+"MaskField$Value", map[string]string{"fields": "short", "replacement": ""})
		checkErr(t, err, "String must be non-empty")
	})
	t.Run("fields required and non-empty", func(t *testing.T) {
		_, err := newTErr(kt+"MaskField$Value", nil)
		checkErr(t, err, `Missing required configuration "fields"`)
		_, err = newTErr(kt+"MaskField$Value", map[string]string{"fields": ""})
		checkErr(t, err, "Invalid value  for configuration fields: Empty list")
	})
}

// Cases from ValueToKeyTest.
func TestValueToKey(t *testing.T) {
	t.Run("schemaless", func(t *testing.T) {
		out := apply(t, newT(t, kt+"ValueToKey", map[string]string{"fields": "a,b"}), &connect.Record{Value: map[string]any{"a": 1, "b": 2, "c": 3}})
		if out.KeySchema != nil {
			t.Error("key schema should be null")
		}
		wantVal(t, "key", out.Key, map[string]any{"a": 1, "b": 2})
	})
	vs := connect.StructBuilder().Field("a", prim(connect.Int32)).Field("b", prim(connect.Int32)).Field("c", prim(connect.Int32)).MustBuild()
	t.Run("withSchema", func(t *testing.T) {
		tr := newT(t, kt+"ValueToKey", map[string]string{"fields": "a,b"})
		out := apply(t, tr, &connect.Record{ValueSchema: vs, Value: structOf(vs, int32(1), int32(2), int32(3))})
		ks := connect.StructBuilder().Field("a", prim(connect.Int32)).Field("b", prim(connect.Int32)).MustBuild()
		wantSchema(t, "key schema", out.KeySchema, ks)
		wantVal(t, "key", out.Key, structOf(ks, int32(1), int32(2)))
	})
	t.Run("nonExistingField", func(t *testing.T) {
		tr := newT(t, kt+"ValueToKey", map[string]string{"fields": "not_exist"})
		_, err := tr.Apply(&connect.Record{ValueSchema: vs, Value: structOf(vs, int32(1), int32(2), int32(3))})
		checkErr(t, err, "Field does not exist: not_exist")
	})
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", int32(42)}} {
		t.Run("testReplaceNullWithDefaultConfig/"+c.replace, func(t *testing.T) {
			tr := newT(t, kt+"ValueToKey", map[string]string{"fields": "optional_with_default", "replace.null.with.default": c.replace})
			s := connect.StructBuilder().Field("optional_with_default", connect.NewBuilder(connect.Int32).Optional().Default(int32(42)).MustBuild()).MustBuild()
			out := apply(t, tr, &connect.Record{ValueSchema: s, Value: structOf(s, nil)})
			wantVal(t, "key field", out.Key.(*connect.StructValue).Values[0], c.want)
		})
	}
}

// Cases from ExtractFieldTest.
func TestExtractField(t *testing.T) {
	v2 := map[string]string{"field.syntax.version": "V2", "field": "magic.foo"}
	foo := connect.StructBuilder().Field("foo", prim(connect.Int32)).MustBuild()
	nested := connect.StructBuilder().Field("magic", foo).MustBuild()
	magic := connect.StructBuilder().Field("magic", prim(connect.Int32)).MustBuild()
	optMagic := connect.StructBuilder().Field("magic", prim(connect.Int32)).Optional().MustBuild()
	cases := []struct {
		name       string
		props      map[string]string
		in         *connect.Record
		wantSchema *connect.Schema
		want       any
		wantErr    string
	}{
		{"schemaless", map[string]string{"field": "magic"}, &connect.Record{Key: map[string]any{"magic": int32(42)}}, nil, int32(42), ""},
		{"schemalessAndNestedPath", v2, &connect.Record{Key: map[string]any{"magic": map[string]any{"foo": int32(42)}}}, nil, int32(42), ""},
		{"nullSchemaless", map[string]string{"field": "magic"}, &connect.Record{}, nil, nil, ""},
		{"withSchema", map[string]string{"field": "magic"}, &connect.Record{KeySchema: magic, Key: structOf(magic, int32(42))}, prim(connect.Int32), int32(42), ""},
		{"withSchemaAndNestedPath", v2, &connect.Record{KeySchema: nested, Key: structOf(nested, structOf(foo, int32(42)))}, prim(connect.Int32), int32(42), ""},
		{"testNullWithSchema", map[string]string{"field": "magic"}, &connect.Record{KeySchema: optMagic}, prim(connect.Int32), nil, ""},
		{"nonExistentFieldSchemalessShouldReturnNull", map[string]string{"field": "nonexistent"}, &connect.Record{Key: map[string]any{"magic": int32(42)}}, nil, nil, ""},
		{"nonExistentNestedFieldSchemalessShouldReturnNull", map[string]string{"field.syntax.version": "V2", "field": "magic.nonexistent"},
			&connect.Record{Key: map[string]any{"magic": map[string]any{"foo": int32(42)}}}, nil, nil, ""},
		{"nonExistentFieldWithSchemaShouldFail", map[string]string{"field": "nonexistent"}, &connect.Record{KeySchema: magic, Key: structOf(magic, int32(42))}, nil, nil, "Unknown field: nonexistent"},
		{"nonExistentNestedFieldWithSchemaShouldFail", map[string]string{"field.syntax.version": "V2", "field": "magic.nonexistent"},
			&connect.Record{KeySchema: nested, Key: structOf(nested, structOf(foo, int32(42)))}, nil, nil, "Unknown field: magic.nonexistent"},
		{"V1 takes the dotted name whole", map[string]string{"field": "magic.foo"}, &connect.Record{Key: map[string]any{"magic.foo": int32(7)}}, nil, int32(7), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := newT(t, kt+"ExtractField$Key", c.props).Apply(c.in)
			checkErr(t, err, c.wantErr)
			if err != nil {
				return
			}
			wantSchema(t, "key schema", out.KeySchema, c.wantSchema)
			wantVal(t, "key", out.Key, c.want)
		})
	}
	for _, c := range []struct {
		replace string
		want    any
	}{{"false", nil}, {"true", int32(42)}} {
		for _, cls := range []string{"$Key", "$Value"} {
			t.Run("testUnsetOptional"+cls+"/"+c.replace, func(t *testing.T) {
				tr := newT(t, kt+"ExtractField"+cls, map[string]string{"field": "optional_with_default", "replace.null.with.default": c.replace})
				s := connect.StructBuilder().Field("optional_with_default", connect.NewBuilder(connect.Int32).Optional().Default(int32(42)).MustBuild()).MustBuild()
				sd := side(cls == "$Key")
				out := apply(t, tr, sd.with(&connect.Record{}, s, structOf(s, nil)))
				_, v := sd.get(out)
				wantVal(t, "extracted", v, c.want)
			})
		}
	}
	t.Run("field path syntax errors", func(t *testing.T) {
		_, err := newTErr(kt+"ExtractField$Key", map[string]string{"field": "`magic.foo", "field.syntax.version": "V2"})
		checkErr(t, err, "Incomplete backtick pair in path: [`magic.foo], consider adding a backslash before backtick at position 0 to escape it")
		_, err = newTErr(kt+"ExtractField$Key", map[string]string{"field": "x", "field.syntax.version": "V3"})
		checkErr(t, err, "String must be one of (case insensitive): V1, V2")
	})
}

// Cases from FieldPathNotationTest (the V2 path parser).
func TestFieldPathV2(t *testing.T) {
	cases := []struct {
		path string
		want []string
	}{
		{"..", []string{"", "", ""}},
		{"foo..", []string{"foo", "", ""}},
		{".bar.", []string{"", "bar", ""}},
		{"..baz", []string{"", "", "baz"}},
		{"", nil},
		{"foobarbaz", []string{"foobarbaz"}},
		{"foo.bar.baz", []string{"foo", "bar", "baz"}},
		{"foo`bar`baz", []string{"foo`bar`baz"}},
		{"`foo.bar.baz`", []string{"foo.bar.baz"}},
		{"foo.`bar.baz`", []string{"foo", "bar.baz"}},
		{"`foo.bar`.baz", []string{"foo.bar", "baz"}},
		{"foo.`bar`.baz", []string{"foo", "bar", "baz"}},
		{"foo.``bar.baz`", []string{"foo", "`bar.baz"}},
		{"foo.`bar.baz``", []string{"foo", "bar.baz`"}},
		{"foo.`ba`r.baz`", []string{"foo", "ba`r.baz"}},
		{"foo.ba`r.baz", []string{"foo", "ba`r", "baz"}},
		{"foo.``bar``.baz", []string{"foo", "`bar`", "baz"}},
		{"``foo.bar.baz``", []string{"`foo.bar.baz`"}},
		{"foo.`bar\\`.baz`", []string{"foo", "bar`.baz"}},
		{"foo.`bar.`baz`", []string{"foo", "bar.`baz"}},
		{"foo.`bar\\`.`baz`", []string{"foo", "bar`.`baz"}},
		{"foo.`bar\\\\`.\\`baz`", []string{"foo", "bar\\`.\\`baz"}},
	}
	for _, c := range cases {
		got, err := newFieldPath(c.path, "V2")
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %q, want %q", c.path, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: %q, want %q", c.path, got, c.want)
			}
		}
	}
	for _, c := range []struct{ path, want string }{
		{"`foo.bar.baz", "Incomplete backtick pair in path: [`foo.bar.baz], consider adding a backslash before backtick at position 0 to escape it"},
		{"foo.`bar.baz", "Incomplete backtick pair in path: [foo.`bar.baz], consider adding a backslash before backtick at position 4 to escape it"},
		{"foo.bar.`baz", "Incomplete backtick pair in path: [foo.bar.`baz], consider adding a backslash before backtick at position 8 to escape it"},
		{"foo.bar.`baz\\`", "Incomplete backtick pair in path: [foo.bar.`baz\\`], consider adding a backslash before backtick at position 8 to escape it"},
	} {
		_, err := newFieldPath(c.path, "V2")
		checkErr(t, err, c.want)
	}
	// V1: the path is one step whatever it holds.
	for _, p := range []string{"foo.bar.baz", "foo`bar`", "foo.`bar.baz`"} {
		if got, _ := newFieldPath(p, "V1"); len(got) != 1 || got[0] != p {
			t.Errorf("V1 %s: %q", p, got)
		}
	}
}

// Cases from HoistFieldTest.
func TestHoistField(t *testing.T) {
	tr := newT(t, kt+"HoistField$Key", map[string]string{"field": "magic"})
	out := apply(t, tr, &connect.Record{Key: int32(42)})
	if out.KeySchema != nil {
		t.Error("schemaless: key schema should be null")
	}
	wantVal(t, "schemaless key", out.Key, map[string]any{"magic": int32(42)})
	in := &connect.Record{KeySchema: prim(connect.Int32), Key: int32(42)}
	out = apply(t, tr, in)
	if out.KeySchema.Type != connect.Struct || out.KeySchema.Field("magic").Schema != in.KeySchema {
		t.Errorf("withSchema: key schema %+v", out.KeySchema)
	}
	wantVal(t, "withSchema magic", out.Key.(*connect.StructValue).Get("magic"), int32(42))
	if out2 := apply(t, tr, in); out2.KeySchema != out.KeySchema {
		t.Error("schema not cached")
	}
}
