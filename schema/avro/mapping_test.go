package avro_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/avro"
)

var update = flag.Bool("update", false, "rewrite golden files")

const goldenDir = "../../testdata/avro"

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if got != strings.TrimSuffix(string(want), "\n") {
		t.Errorf("%s differs from golden file:\n got %s\nwant %s", name, got, want)
	}
}

func TestDebeziumPostgresSchemasGolden(t *testing.T) {
	fx := newPGFixture()
	for _, tc := range []struct {
		name string
		s    *connect.Schema
	}{
		{"dbserver1.public.all_types-key.avsc", fx.key},
		{"dbserver1.public.all_types-value.avsc", fx.envelope},
	} {
		as, err := avro.FromConnect(tc.s, avro.DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		text := as.String()
		golden(t, tc.name, text)
		// The text must be a schema every reader accepts.
		if _, err := goavro.NewCodec(text); err != nil {
			t.Errorf("%s: goavro rejects the schema: %v", tc.name, err)
		}
		back, err := avro.Parse(text)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if back.String() != text {
			t.Errorf("%s: parse+print is not the identity:\n%s\n%s", tc.name, back.String(), text)
		}
	}
}

// TestMappingRules pins AvroData's individual rules, each against the text
// Avro Java prints for the schema AvroData builds.
type mappingCase struct {
	name string
	s    *connect.Schema
	opts func(*avro.Options)
	want string
}

func mappingCases() []mappingCase {
	unnamed := connect.StructBuilder().Field("a", connect.Prim(connect.Int32)).MustBuild()
	unnamed2 := connect.StructBuilder().Field("b", connect.Prim(connect.String)).MustBuild()
	return []mappingCase{
		{"int8 and int16 carry connect.type", connect.StructBuilder().Name("r").
			Field("a", connect.Prim(connect.Int8)).Field("b", connect.OptionalPrim(connect.Int16)).MustBuild(), nil,
			`{"type":"record","name":"r","fields":[{"name":"a","type":{"type":"int","connect.type":"int8"}},{"name":"b","type":["null",{"type":"int","connect.type":"int16"}],"default":null}],"connect.name":"r"}`},
		{"unnamed structs are ConnectDefault, ConnectDefault2", connect.StructBuilder().Name("ns.Outer").
			Field("x", unnamed).Field("y", unnamed2).Field("z", unnamed).MustBuild(), nil,
			`{"type":"record","name":"Outer","namespace":"ns","fields":[{"name":"x","type":{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"a","type":"int"}]}},{"name":"y","type":{"type":"record","name":"ConnectDefault2","namespace":"io.confluent.connect.avro","fields":[{"name":"b","type":"string"}]}},{"name":"z","type":"io.confluent.connect.avro.ConnectDefault"}],"connect.name":"ns.Outer"}`},
		{"top-level unnamed struct", unnamed, nil,
			`{"type":"record","name":"ConnectDefault","namespace":"io.confluent.connect.avro","fields":[{"name":"a","type":"int"}]}`},
		{"non-string map keys become MapEntry arrays", connect.MapOf(connect.Prim(connect.Int32), connect.OptionalPrim(connect.String)).MustBuild(), nil,
			`{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":["null","string"],"default":null}]}}`},
		{"named map entries", connect.MapOf(connect.Prim(connect.Int64), connect.Prim(connect.Int64)).Name("a.b.Counts").MustBuild(), nil,
			`{"type":"array","items":{"type":"record","name":"Counts","namespace":"a.b","fields":[{"name":"key","type":"long"},{"name":"value","type":"long"}],"connect.internal.type":"MapEntry"},"connect.name":"a.b.Counts"}`},
		{"string-keyed map", connect.MapOf(connect.Prim(connect.String), connect.Prim(connect.Float64)).Optional().MustBuild(), nil,
			`["null",{"type":"map","values":"double"}]`},
		{"decimal without precision defaults to 64", connect.DecimalSchema(3).MustBuild(), nil,
			`{"type":"bytes","scale":3,"precision":64,"connect.version":1,"connect.parameters":{"scale":"3"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"decimal with scale above precision falls back to legacy", connect.DecimalSchema(5).Param("connect.decimal.precision", "3").MustBuild(), nil,
			`{"type":"bytes","scale":5,"precision":3,"connect.version":1,"connect.parameters":{"scale":"5","connect.decimal.precision":"3"},"connect.name":"org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}`},
		{"Connect logical types", connect.StructBuilder().Name("t").
			Field("d", connect.DateSchema().MustBuild()).Field("t", connect.TimeSchema().MustBuild()).
			Field("ts", connect.TimestampSchema().Optional().MustBuild()).MustBuild(), nil,
			`{"type":"record","name":"t","fields":[{"name":"d","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Date","logicalType":"date"}},{"name":"t","type":{"type":"int","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Time","logicalType":"time-millis"}},{"name":"ts","type":["null",{"type":"long","connect.version":1,"connect.name":"org.apache.kafka.connect.data.Timestamp","logicalType":"timestamp-millis"}],"default":null}],"connect.name":"t"}`},
		{"doc and version", connect.NewBuilder(connect.String).Doc("a doc").Version(3).Name("x.Y").MustBuild(), nil,
			`{"type":"string","connect.doc":"a doc","connect.version":3,"connect.name":"x.Y"}`},
		{"connect.meta.data=false", connect.NewBuilder(connect.Int16).Name("x.Y").Version(2).Default(int16(1)).MustBuild(),
			func(o *avro.Options) { o.ConnectMetaData = false }, `"int"`},
		{"avro-prefixed parameters become properties", connect.NewBuilder(connect.String).Param("avro.java.string", "String").MustBuild(), nil,
			`{"type":"string","connect.parameters":{"avro.java.string":"String"},"avro.java.string":"String"}`},
		{"optional struct with default keeps null first and drops the default", connect.StructBuilder().Name("o").
			Field("s", connect.StructBuilder().Name("o.S").Optional().Field("a", connect.Prim(connect.Int32)).
				Default(connect.NewStruct(connect.StructBuilder().Name("o.S").Optional().Field("a", connect.Prim(connect.Int32)).MustBuild()).Set("a", int32(7))).MustBuild()).
			MustBuild(), nil,
			`{"type":"record","name":"o","fields":[{"name":"s","type":["null",{"type":"record","name":"S","namespace":"o","fields":[{"name":"a","type":"int"}],"connect.default":{"a":7},"connect.name":"o.S"}]}],"connect.name":"o"}`},
		{"record and field docs from parameters", connect.StructBuilder().Name("d.R").
			Param("io.confluent.connect.avro.record.doc", "rec doc").Param("io.confluent.connect.avro.field.doc.f", "field doc").
			Field("f", connect.Prim(connect.Int32)).MustBuild(), nil,
			`{"type":"record","name":"R","namespace":"d","doc":"rec doc","fields":[{"name":"f","type":"int","doc":"field doc"}],"connect.parameters":{"io.confluent.connect.avro.record.doc":"rec doc","io.confluent.connect.avro.field.doc.f":"field doc"},"connect.name":"d.R"}`},
		{"discard.type.doc.default uses the field schema's doc", connect.StructBuilder().Name("d.R").
			Field("f", connect.NewBuilder(connect.Int32).Doc("col doc").MustBuild()).MustBuild(),
			func(o *avro.Options) { o.DiscardTypeDocDefault = true },
			`{"type":"record","name":"R","namespace":"d","fields":[{"name":"f","type":{"type":"int","connect.doc":"col doc"},"doc":"col doc"}],"connect.name":"d.R"}`},
		{"scrub.invalid.names", connect.StructBuilder().Name("my-server.public.t-1").
			Field("a b", connect.Prim(connect.Int32)).Field("1x", connect.Prim(connect.Int32)).MustBuild(),
			func(o *avro.Options) { o.ScrubInvalidNames = true },
			`{"type":"record","name":"t_1","namespace":"my_server.public","fields":[{"name":"a_b","type":"int"},{"name":"x1x","type":"int"}],"connect.name":"my-server.public.t-1"}`},
		{"enhanced.avro.schema.support enums", connect.NewBuilder(connect.String).Name("e.Color").
			Param("io.confluent.connect.avro.Enum", "e.Color").Param("io.confluent.connect.avro.Enum.RED", "RED").
			Param("io.confluent.connect.avro.Enum.GREEN", "GREEN").MustBuild(),
			func(o *avro.Options) { o.EnhancedSchemaSupport = true },
			`{"type":"enum","name":"Color","namespace":"e","symbols":["RED","GREEN"],"connect.parameters":{"io.confluent.connect.avro.Enum":"e.Color","io.confluent.connect.avro.Enum.RED":"RED","io.confluent.connect.avro.Enum.GREEN":"GREEN"},"connect.name":"e.Color"}`},
		{"Connect union structs become Avro unions", connect.StructBuilder().Name("io.confluent.connect.avro.Union").Optional().
			Field("int", connect.OptionalPrim(connect.Int32)).Field("string", connect.OptionalPrim(connect.String)).MustBuild(), nil,
			`["null","int","string"]`},
		{"fixed", connect.NewBuilder(connect.Bytes).Name("f.Hash").Param("connect.fixed.size", "4").MustBuild(), nil,
			`{"type":"fixed","name":"Hash","namespace":"f","size":4,"connect.parameters":{"connect.fixed.size":"4"},"connect.name":"f.Hash"}`},
	}
}

func TestMappingRules(t *testing.T) {
	for _, tc := range mappingCases() {
		t.Run(tc.name, func(t *testing.T) {
			opts := avro.DefaultOptions()
			if tc.opts != nil {
				tc.opts(&opts)
			}
			as, err := avro.FromConnect(tc.s, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := as.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMappingErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *connect.Schema
		want string
	}{
		{"invalid field name", connect.StructBuilder().Name("r").Field("my-col", connect.Prim(connect.Int32)).MustBuild(), `field name "my-col"`},
		{"invalid record name", connect.StructBuilder().Name("a.b-c").Field("x", connect.Prim(connect.Int32)).MustBuild(), `record name "b-c"`},
		{"schemaless", nil, "schemaless"},
		{"bad default", connect.StructBuilder().Name("r").Field("x", connect.NewBuilder(connect.Int32).Default("nope").MustBuild()).MustBuild(), "x: default value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := avro.FromConnect(tc.s, avro.DefaultOptions())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestRenderingMatchesAvroJava feeds every schema the tests produce to Avro
// Java (Debian's libavro-java) and checks its Schema.toString, the text
// Confluent's serializer registers, is byte for byte ours.
func TestRenderingMatchesAvroJava(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_JAVA") == "1" {
		t.Skip("TRIBUTARY_SKIP_JAVA=1")
	}
	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("needs %s (apt-get install -y default-jdk-headless libavro-java), or set TRIBUTARY_SKIP_JAVA=1", tool)
		}
	}
	var jars []string
	for _, j := range []string{"avro", "jackson-core-asl", "jackson-mapper-asl", "slf4j-api", "slf4j-nop", "paranamer", "commons-compress"} {
		p := filepath.Join("/usr/share/java", j+".jar")
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("missing %s (apt-get install -y libavro-java), or set TRIBUTARY_SKIP_JAVA=1", p)
		}
		jars = append(jars, p)
	}
	cp := strings.Join(jars, ":")
	fx := newPGFixture()
	var texts []string
	for _, tc := range mappingCases() {
		texts = append(texts, tc.want)
	}
	for _, s := range []*connect.Schema{fx.key, fx.envelope, fx.row} {
		as, err := avro.FromConnect(s, avro.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, as.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	src, _ := filepath.Abs(filepath.Join(goldenDir, "JavaToString.java"))
	if out, err := exec.CommandContext(ctx, "javac", "-nowarn", "-cp", cp, "-d", dir, src).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, "java", "-cp", cp+":"+dir, "JavaToString")
	cmd.Stdin = strings.NewReader(strings.Join(texts, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("java printed %d lines for %d schemas:\n%s", len(lines), len(texts), out)
	}
	for i := range texts {
		if !bytes.Equal([]byte(lines[i]), []byte(texts[i])) {
			t.Errorf("schema %d: Avro Java prints\n%s\nwe print\n%s", i, lines[i], texts[i])
		}
	}
}
