package converter

import (
	"bytes"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/jackson"
)

// writeString's ASCII fast path must write exactly what the Jackson-exact
// writer writes, for every byte value and for the characters encoding/json
// would treat specially.
func TestWriteStringMatchesJackson(t *testing.T) {
	inputs := []string{"", "plain", "with space", `quote"`, `back\slash`, "tab\t", "nl\n", "<b>&amp;</b>", "del\x7f",
		"é", "日本", "\u2028\u2029", strings.Repeat("x", 300)}
	for c := 0; c < 128; c++ {
		inputs = append(inputs, "a"+string([]byte{byte(c)})+"z")
	}
	for _, in := range inputs {
		want := string(jackson.AppendString(nil, in))
		var got bytes.Buffer
		writeString(&got, in)
		if got.String() != want {
			t.Errorf("writeString(%q) = %s, want %s", in, got.String(), want)
		}
	}
}

func cacheTestSchema() (*connect.Schema, *connect.StructValue) {
	row := connect.StructBuilder().Name("srv.public.t.Value").Optional().
		Field("id", connect.Prim(connect.Int64)).
		Field("price", connect.DecimalSchema(2).Optional().Default(connect.Decimal{Unscaled: big.NewInt(100), Scale: 2}).MustBuild()).
		Field("tags", connect.ArrayOf(connect.Prim(connect.String)).Optional().MustBuild()).
		Field("note", connect.NewBuilder(connect.String).Doc(`a "doc"`).Param("k", "v").Optional().MustBuild()).
		MustBuild()
	env := connect.StructBuilder().Name("srv.public.t.Envelope").Version(2).
		Field("before", row).Field("after", row).Field("op", connect.Prim(connect.String)).MustBuild()
	after := connect.NewStruct(row).Set("id", int64(7)).Set("tags", []any{"a", "b"}).Set("note", "n")
	return env, connect.NewStruct(env).Set("after", after).Set("op", "c")
}

// A converter from NewJSON caches rendered schemas; its output must be
// the uncached output, for every decimal format, also after the cache was
// emptied for being full.
func TestSchemaCacheOutputUnchanged(t *testing.T) {
	env, v := cacheTestSchema()
	for _, props := range []map[string]string{nil, {"decimal.format": "NUMERIC"}, {"schemas.cache.size": "1"}, {"schemas.cache.size": "0"}} {
		cached, err := NewJSON(props)
		if err != nil {
			t.Fatal(err)
		}
		plain := &JSON{SchemasEnabled: true, DecimalNumeric: cached.DecimalNumeric}
		want, err := plain.FromConnect("t", env, v)
		if err != nil {
			t.Fatal(err)
		}
		other := connect.StructBuilder().Name("other").Field("x", connect.Prim(connect.Int32)).MustBuild()
		for i := 0; i < 3; i++ {
			got, err := cached.FromConnect("t", env, v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("props %v, round %d:\n got %s\nwant %s", props, i, got, want)
			}
			// Another schema in between evicts with schemas.cache.size=1.
			if _, err := cached.FromConnect("t", other, connect.NewStruct(other).Set("x", int32(1))); err != nil {
				t.Fatal(err)
			}
		}
		if props["schemas.cache.size"] == "0" && cached.schemas != nil {
			t.Error("schemas.cache.size=0 should disable the cache")
		}
		if props["schemas.cache.size"] == "1" && cached.schemas.n.Load() > 1 {
			t.Errorf("cache holds %d entries, max 1", cached.schemas.n.Load())
		}
	}
	if _, err := NewJSON(map[string]string{"schemas.cache.size": "-1"}); err == nil {
		t.Error("schemas.cache.size=-1 accepted")
	}
}

// Errors still name the full path of the bad value.
func TestErrorPaths(t *testing.T) {
	inner := connect.StructBuilder().Name("inner").Field("req", connect.Prim(connect.Int32)).MustBuild()
	s := connect.StructBuilder().Name("outer").
		Field("list", connect.ArrayOf(inner).MustBuild()).
		Field("m", connect.MapOf(connect.Prim(connect.String), inner).Optional().MustBuild()).
		Field("one", connect.StructBuilder().Name("one").Optional().Field("in", inner).MustBuild()).
		MustBuild()
	for _, tc := range []struct {
		v    *connect.StructValue
		want string
	}{
		{connect.NewStruct(s).Set("list", []any{connect.NewStruct(inner).Set("req", int32(1)), connect.NewStruct(inner)}),
			"payload.list[1].req: null value for required field"},
		{connect.NewStruct(s).Set("list", []any{}).Set("m", connect.MapValue{{Key: "k1", Value: connect.NewStruct(inner).Set("req", "x")}}),
			"payload.m.k1.req: int32 field holds string"},
		{connect.NewStruct(s).Set("list", []any{}).Set("one", connect.NewStruct(s.Fields[2].Schema).Set("in", connect.NewStruct(inner).Set("req", 1.5))),
			"topic t: payload.one.in.req: int32 field holds float64"},
	} {
		j, _ := NewJSON(nil)
		_, err := j.FromConnect("t", s, tc.v)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error = %v, want it to contain %q", err, tc.want)
		}
	}
	j, _ := NewJSON(nil)
	good := connect.NewStruct(s).Set("list", []any{connect.NewStruct(inner).Set("req", int32(1))})
	msg, err := j.FromConnect("t", s, good)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := j.ToConnect("t", msg); err != nil { // caches the schema
		t.Fatal(err)
	}
	bad := bytes.Replace(msg, []byte(`{"req":1}`), []byte(`{"req":"one"}`), 1)
	if _, _, err := j.ToConnect("t", bad); err == nil || !strings.Contains(err.Error(), "payload.list[0].req: expected a number for int32, got string") {
		t.Errorf("ToConnect error = %v", err)
	}
}

// ToConnect through the parsed-schema cache returns what the general path
// returns, and the same errors for malformed input.
func TestToConnectCacheUnchanged(t *testing.T) {
	env, v := cacheTestSchema()
	plain := &JSON{SchemasEnabled: true}
	msg, err := plain.FromConnect("t", env, v)
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{msg, msg, // second time from the cache
		[]byte(`{"schema":null,"payload":{"a":1}}`),
		[]byte(`{"schema":{"type":"int32","optional":false},"payload":5} trailing`),
		[]byte(`{"schema":{"type":"int32","optional":false},"payload":null}`),
		[]byte(`{"schema":{"type":"nope"},"payload":1}`),
		[]byte(`{"schema":{"type":"int32"},"payload":1,"extra":2}`),
		[]byte(`{"schema":{"type":"int32"}}`),
		[]byte(`[1,2]`), []byte(`{"schema":`), []byte(`"text"`),
	}
	// Every truncation and a few corruptions of a message whose schema is
	// cached take the fast path's checks.
	for n := range msg {
		inputs = append(inputs, msg[:n])
	}
	for _, c := range []byte{'{', '}', '"', '\\', ',', ':', ' '} {
		for _, at := range []int{1, 9, 11, len(msg) / 2, len(msg) - 2} {
			m := bytes.Clone(msg)
			m[at] = c
			inputs = append(inputs, m)
		}
	}
	body := msg[:len(msg)-1]
	inputs = append(inputs, append(bytes.Clone(body), `,"x":2}`...), append(bytes.Clone(msg), '}'),
		append(bytes.Clone(body), " }"...), append(bytes.Clone(msg), " \n"...), append(bytes.Clone(body), `} {}`...))
	cached, err := NewJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		ws, wv, werr := plain.ToConnect("t", in)
		gs, gv, gerr := cached.ToConnect("t", in)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) {
			t.Errorf("%s: error %v, want %v", in, gerr, werr)
			continue
		}
		if werr != nil {
			continue
		}
		if bytes.Equal(in, msg) && cached.parsed.load(in[len(`{"schema":`):bytes.Index(in, []byte(`,"payload":`))]) == nil {
			t.Errorf("schema of a decoded message not cached")
		}
		wb, _ := plain.FromConnect("t", ws, wv)
		gb, _ := plain.FromConnect("t", gs, gv)
		if string(wb) != string(gb) {
			t.Errorf("%s:\n got %s\nwant %s", in, gb, wb)
		}
	}
}
