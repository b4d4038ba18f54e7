package converter

import (
	"math/big"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestJavaFloat(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		bits int
		want string
	}{
		{1, 64, "1.0"}, {100, 64, "100.0"}, {3.14, 64, "3.14"}, {1e7, 64, "1.0E7"}, {1.2345e10, 64, "1.2345E10"},
		{0.001, 64, "0.001"}, {0.0001, 64, "1.0E-4"}, {-2.5e-5, 64, "-2.5E-5"}, {0, 64, "0.0"},
		{float64(float32(1.1)), 32, "1.1"}, {9999999, 64, "9999999.0"},
	} {
		if got := JavaFloat(tc.in, tc.bits); got != tc.want {
			t.Errorf("JavaFloat(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// The key event of Debezium's PostgreSQL documentation example.
func TestJSONKeyMatchesDebeziumDocs(t *testing.T) {
	s := connect.StructBuilder().Name("PostgreSQL_server.public.customers.Key").
		Field("id", connect.Prim(connect.Int32)).MustBuild()
	v := connect.NewStruct(s).Set("id", int32(1))
	got, err := (&JSON{SchemasEnabled: true}).FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":false,"name":"PostgreSQL_server.public.customers.Key"},"payload":{"id":1}}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	row := connect.StructBuilder().Name("x.Value").Optional().
		Field("id", connect.Prim(connect.Int64)).
		Field("price", connect.DecimalSchema(2).Optional().MustBuild()).
		Field("tags", connect.ArrayOf(connect.Prim(connect.String)).Optional().MustBuild()).
		Field("raw", connect.OptionalPrim(connect.Bytes)).
		Field("f", connect.OptionalPrim(connect.Float32)).
		Field("e", connect.NewBuilder(connect.String).Name("io.debezium.data.Enum").Version(1).Param("allowed", "a,b").Default("a").Optional().MustBuild()).
		MustBuild()
	v := connect.NewStruct(row).Set("id", int64(7)).Set("price", connect.Decimal{Unscaled: big.NewInt(-12345), Scale: 2}).
		Set("tags", []any{"a", "<b>"}).Set("raw", []byte{1, 2}).Set("f", float32(1.5))
	for _, numeric := range []bool{false, true} {
		j := &JSON{SchemasEnabled: true, DecimalNumeric: numeric}
		data, err := j.FromConnect("t", row, v)
		if err != nil {
			t.Fatal(err)
		}
		s2, v2, err := j.ToConnect("t", data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		again, err := j.FromConnect("t", s2, v2)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(data) {
			t.Fatalf("round trip differs:\n%s\n%s", data, again)
		}
	}
}

func TestJSONRejectsNullRequired(t *testing.T) {
	s := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int32)).MustBuild()
	if _, err := (&JSON{SchemasEnabled: true}).FromConnect("t", s, connect.NewStruct(s)); err == nil {
		t.Fatal("expected an error for a null required field")
	}
}

func TestJSONSchemalessNumbers(t *testing.T) {
	j := &JSON{}
	_, v, err := j.ToConnect("t", []byte(`{"a":1,"b":1.5,"c":[2,"x"],"d":{"e":9007199254740993}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	if m["a"] != int64(1) || m["b"] != 1.5 || m["c"].([]any)[0] != int64(2) || m["d"].(map[string]any)["e"] != int64(9007199254740993) {
		t.Fatalf("numbers not converted as the Java converter does: %#v", m)
	}
}

// Strings needing escapes must come out as Jackson writes them, not as
// encoding/json would (lowercase hex, escaped U+2028).
func TestJSONStringEscapingMatchesJackson(t *testing.T) {
	got, err := (&JSON{}).FromConnect("t", connect.Prim(connect.String), "a\x01\u2028\"")
	if err != nil {
		t.Fatal(err)
	}
	if want := "\"a\\u0001\u2028\\\"\""; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
