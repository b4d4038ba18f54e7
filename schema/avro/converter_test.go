package avro_test

import (
	"bytes"
	"context"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkedin/goavro/v2"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

var _ converter.Converter = (*avro.Converter)(nil)

// countingRegistry is the built-in registry server behind a listener that
// counts requests.
type countingRegistry struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string
}

func newCountingRegistry(t testing.TB) *countingRegistry {
	t.Helper()
	cr := &countingRegistry{}
	h := server.NewServer(server.NewMemoryStore(), nil)
	cr.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr.mu.Lock()
		cr.requests = append(cr.requests, r.Method+" "+r.URL.Path)
		cr.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(cr.Close)
	return cr
}

func (cr *countingRegistry) count() int {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	return len(cr.requests)
}

func newConverter(t *testing.T, url string, isKey bool, extra map[string]string) *avro.Converter {
	t.Helper()
	props := map[string]string{"schema.registry.url": url}
	for k, v := range extra {
		props[k] = v
	}
	c, err := avro.New(props, isKey)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dec(unscaled int64, scale int32) connect.Decimal {
	return connect.Decimal{Unscaled: big.NewInt(unscaled), Scale: scale}
}

// sampleEvent fills every column of the fixture; n varies the values.
func (fx *pgFixture) sampleEvent(n int) (key, value *connect.StructValue) {
	key = connect.NewStruct(fx.key).Set("id", int32(n))
	vs := fx.row.Field("c_numeric_var").Schema
	point := fx.row.Field("c_point").Schema
	row := connect.NewStruct(fx.row).
		Set("id", int32(n)).
		Set("c_smallint", int16(-7)).
		Set("c_smallint_default", int16(42)).
		Set("c_integer", int32(-2147483648)).
		Set("c_bigint", int64(9007199254740993)).
		Set("c_real", float32(1.25)).
		Set("c_real_default", float32(0.1)).
		Set("c_double", 3.141592653589793).
		Set("c_bool", true).
		Set("c_numeric", dec(-12345678, 2)).
		Set("c_numeric_default", dec(314, 2)).
		Set("c_numeric_var", connect.NewStruct(nonOpt(vs)).Set("scale", int32(3)).Set("value", connect.DecimalBytes(big.NewInt(123456)))).
		Set("c_money", dec(99, 2)).
		Set("c_text", "héllo wörld ✓").
		Set("c_char", "x").
		Set("c_bytea", []byte{0, 1, 2, 0xff}).
		Set("c_date", int32(19000)).
		Set("c_time", int64(45296789012)).
		Set("c_time_ms", int32(45296789)).
		Set("c_timestamp", int64(1700000000123456)).
		Set("c_timestamp_ms", int64(1700000000123)).
		Set("c_timestamptz", "2023-11-14T22:13:20.123456Z").
		Set("c_timetz", "12:34:56.789Z").
		Set("c_interval", int64(90061000000)).
		Set("c_uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").
		Set("c_json", `{"a": [1, 2]}`).
		Set("c_jsonb", `{}`).
		Set("c_xml", "<a/>").
		Set("c_bit", false).
		Set("c_bits", []byte{0xa5}).
		Set("c_enum", "happy").
		Set("c_ltree", "a.b.c").
		Set("c_point", connect.NewStruct(nonOpt(point)).Set("x", 1.5).Set("y", -2.25).Set("srid", int32(4326))).
		Set("c_hstore", connect.MapValue{{Key: "k1", Value: "v1"}, {Key: "k2", Value: nil}}).
		Set("c_int_array", []any{int32(1), nil, int32(3)}).
		Set("c_text_array", []any{"a", "b"}).
		Set("c_numeric_array", []any{dec(1500, 3), nil}).
		Set("c_connect_date", int32(19000)).
		Set("c_connect_time", int32(3600000)).
		Set("c_connect_timestamp", int64(1700000000123))
	src := connect.NewStruct(fx.envelope.Field("source").Schema)
	debezium.FillSource(src, debezium.SourceCommon{Connector: "postgresql", Name: "dbserver1",
		TS: time.UnixMilli(1700000000000), Snapshot: "false", DB: "postgres"})
	src.Set("schema", "public").Set("table", "all_types").Set("txId", int64(777)).Set("lsn", int64(24023128))
	value = debezium.NewEnvelope(fx.envelope, debezium.OpCreate, nil, row, src, nil, time.UnixMilli(1700000000500))
	return key, value
}

// nonOpt returns the required twin a struct value of an optional struct
// field is built with: Connect values carry the field's own schema.
func nonOpt(s *connect.Schema) *connect.Schema { return s }

func TestConverterRoundTripAndOneRequestPerSchema(t *testing.T) {
	reg := newCountingRegistry(t)
	fx := newPGFixture()
	keyConv := newConverter(t, reg.URL, true, nil)
	valConv := newConverter(t, reg.URL, false, nil)
	const topic = "dbserver1.public.all_types"

	var keys, values [][]byte
	for i := 1; i <= 20; i++ {
		k, v := fx.sampleEvent(i)
		kb, err := keyConv.FromConnect(topic, fx.key, k)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := valConv.FromConnect(topic, fx.envelope, v)
		if err != nil {
			t.Fatal(err)
		}
		keys, values = append(keys, kb), append(values, vb)
	}
	if n := reg.count(); n != 2 {
		t.Fatalf("40 records of two schemas made %d registry requests, want 2: %v", n, reg.requests)
	}
	// Frames carry the ids the registry assigned.
	kid, _, _ := avro.SplitFrame(keys[0])
	vid, _, _ := avro.SplitFrame(values[0])
	if kid == vid || kid < 1 || vid < 1 {
		t.Fatalf("key id %d, value id %d", kid, vid)
	}
	// A tombstone stays a Kafka null.
	if b, err := valConv.FromConnect(topic, fx.envelope, nil); b != nil || err != nil {
		t.Fatalf("tombstone = %x, %v", b, err)
	}

	// goavro, an independent implementation, reads our bytes with the
	// registered text.
	client, _ := registry.NewClient(registry.Config{URL: reg.URL})
	text, err := client.SchemaByID(context.Background(), vid)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := goavro.NewCodec(text)
	if err != nil {
		t.Fatal(err)
	}
	_, payload, _ := avro.SplitFrame(values[0])
	native, rest, err := codec.NativeFromBinary(payload)
	if err != nil || len(rest) != 0 {
		t.Fatalf("goavro decode: %v (%d bytes left)", err, len(rest))
	}
	after := native.(map[string]any)["after"].(map[string]any)["dbserver1.public.all_types.Value"].(map[string]any)
	if got := after["c_text"].(map[string]any)["string"]; got != "héllo wörld ✓" {
		t.Errorf("goavro c_text = %v", got)
	}
	if got := after["c_numeric"].(map[string]any)["bytes.decimal"].(*big.Rat); got.RatString() != "-6172839/50" {
		t.Errorf("goavro c_numeric = %v", got.RatString())
	}
	// goavro re-encodes what it decoded to the same data (byte order of a
	// map's entries follows Go map iteration, so compare decoded).
	again, err := codec.BinaryFromNative(nil, native)
	if err != nil || len(again) != len(payload) {
		t.Fatalf("goavro re-encoding: %d bytes, want %d (%v)", len(again), len(payload), err)
	}
	if native2, _, err := codec.NativeFromBinary(again); err != nil || !reflect.DeepEqual(native2, native) {
		t.Errorf("goavro re-encoding differs (%v)", err)
	}

	// Sinks: ToConnect gives back the schema and value.
	before := reg.count()
	sinkKey := newConverter(t, reg.URL, true, nil)
	sinkVal := newConverter(t, reg.URL, false, nil)
	for i := range values {
		ks, kv, err := sinkKey.ToConnect(topic, keys[i])
		if err != nil {
			t.Fatal(err)
		}
		vs, vv, err := sinkVal.ToConnect(topic, values[i])
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			continue
		}
		// The key has no connect.version, so it takes the registry's version.
		wantKey := *fx.key
		wantKey.Version = 1
		if !avro.ConnectEqual(ks, &wantKey) {
			t.Errorf("key schema round trip: %s", dumpSchema(ks))
		}
		if !avro.ConnectEqual(vs, fx.envelope) {
			t.Errorf("value schema round trip:\n got %s\nwant %s", dumpSchema(vs), dumpSchema(fx.envelope))
		}
		k, v := fx.sampleEvent(1)
		if got, want := jsonOf(t, ks, kv), jsonOf(t, &wantKey, k); got != want {
			t.Errorf("key value round trip:\n got %s\nwant %s", got, want)
		}
		if got, want := jsonOf(t, vs, vv), jsonOf(t, fx.envelope, v); got != want {
			t.Errorf("value round trip:\n got %s\nwant %s", got, want)
		}
	}
	// Per converter: one schema fetch plus one version lookup for the key
	// (no connect.version); the value carries connect.version.
	if n := reg.count() - before; n != 3 {
		t.Errorf("decoding 40 records made %d registry requests, want 3: %v", n, reg.requests[before:])
	}
}

func dumpSchema(s *connect.Schema) string {
	return string((&converter.JSON{SchemasEnabled: true}).SchemaJSON(s))
}

func jsonOf(t *testing.T, s *connect.Schema, v any) string {
	t.Helper()
	b, err := (&converter.JSON{SchemasEnabled: true}).FromConnect("t", s, v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSubjectNameStrategies(t *testing.T) {
	reg := newCountingRegistry(t)
	fx := newPGFixture()
	k, v := fx.sampleEvent(1)
	for _, tc := range []struct {
		strategy string
		isKey    bool
		want     string
	}{
		{"io.confluent.kafka.serializers.subject.TopicNameStrategy", true, "dbserver1.public.all_types-key"},
		{"", false, "dbserver1.public.all_types-value"},
		{"io.confluent.kafka.serializers.subject.RecordNameStrategy", false, "dbserver1.public.all_types.Envelope"},
		{"io.confluent.kafka.serializers.subject.TopicRecordNameStrategy", true, "dbserver1.public.all_types-dbserver1.public.all_types.Key"},
	} {
		side := "value.subject.name.strategy"
		s, val := fx.envelope, any(v)
		if tc.isKey {
			side, s, val = "key.subject.name.strategy", fx.key, k
		}
		props := map[string]string{}
		if tc.strategy != "" {
			props[side] = tc.strategy
		}
		c := newConverter(t, reg.URL, tc.isKey, props)
		if _, err := c.FromConnect("dbserver1.public.all_types", s, val); err != nil {
			t.Fatal(err)
		}
		client, _ := registry.NewClient(registry.Config{URL: reg.URL})
		subjects, err := client.Subjects(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, sub := range subjects {
			found = found || sub == tc.want
		}
		if !found {
			t.Errorf("strategy %q: subject %q not registered; have %v", tc.strategy, tc.want, subjects)
		}
	}
	c := newConverter(t, reg.URL, false, map[string]string{"value.subject.name.strategy": "RecordNameStrategy"})
	if _, err := c.FromConnect("t", connect.Prim(connect.String), "x"); err == nil || !strings.Contains(err.Error(), "must only be a record schema") {
		t.Errorf("RecordNameStrategy with a string value: %v", err)
	}
}

func TestAutoRegisterOffAndUseLatest(t *testing.T) {
	reg := newCountingRegistry(t)
	ctx := context.Background()
	client, _ := registry.NewClient(registry.Config{URL: reg.URL})
	v1 := connect.StructBuilder().Name("ns.R").Field("a", connect.Prim(connect.Int32)).MustBuild()
	v2 := connect.StructBuilder().Name("ns.R").Field("a", connect.Prim(connect.Int32)).
		Field("b", connect.NewBuilder(connect.String).Optional().MustBuild()).MustBuild()
	text := func(s *connect.Schema) string {
		as, err := avro.FromConnect(s, avro.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		return as.String()
	}

	// auto.register.schemas=false looks the schema up and fails if absent.
	noReg := newConverter(t, reg.URL, false, map[string]string{"auto.register.schemas": "false"})
	if _, err := noReg.FromConnect("t", v1, connect.NewStruct(v1).Set("a", int32(1))); registry.ErrorCode(err) != registry.CodeSubjectNotFound {
		t.Fatalf("unregistered schema: %v", err)
	}
	id1, err := client.Register(ctx, "t-value", text(v1))
	if err != nil {
		t.Fatal(err)
	}
	noReg = newConverter(t, reg.URL, false, map[string]string{"auto.register.schemas": "false"})
	b, err := noReg.FromConnect("t", v1, connect.NewStruct(v1).Set("a", int32(1)))
	if err != nil {
		t.Fatal(err)
	}
	if id, _, _ := avro.SplitFrame(b); id != id1 {
		t.Fatalf("id %d, want %d", id, id1)
	}

	// use.latest.version writes v1 data with the latest (v2) schema's id,
	// after checking v2 can read v1.
	id2, err := client.Register(ctx, "t-value", text(v2))
	if err != nil {
		t.Fatal(err)
	}
	latest := newConverter(t, reg.URL, false, map[string]string{"auto.register.schemas": "false", "use.latest.version": "true"})
	v2only := connect.StructBuilder().Name("ns.R").Field("a", connect.Prim(connect.Int32)).
		Field("b", connect.NewBuilder(connect.String).Optional().MustBuild()).MustBuild()
	b, err = latest.FromConnect("t", v2only, connect.NewStruct(v2only).Set("a", int32(5)).Set("b", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if id, payload, _ := avro.SplitFrame(b); id != id2 || !bytes.Equal(payload, []byte{10, 2, 2, 'x'}) {
		t.Fatalf("use.latest.version frame id %d payload %x", id, payload)
	}
	// v1 data (without b) cannot be written positionally with v2's two fields.
	if _, err := latest.FromConnect("t", v1, connect.NewStruct(v1).Set("a", int32(5))); err == nil {
		t.Fatal("v1 struct written with the 2-field latest schema")
	}
	// latest.compatibility.strict rejects a latest schema that cannot read ours.
	v3 := connect.StructBuilder().Name("ns.R").Field("a", connect.Prim(connect.String)).MustBuild()
	strict := newConverter(t, reg.URL, false, map[string]string{"auto.register.schemas": "false", "use.latest.version": "true"})
	if _, err := strict.FromConnect("t", v3, connect.NewStruct(v3).Set("a", "s")); err == nil || !strings.Contains(err.Error(), "latest.compatibility.strict") {
		t.Fatalf("incompatible latest: %v", err)
	}
}

func TestTopLevelPrimitives(t *testing.T) {
	reg := newCountingRegistry(t)
	c := newConverter(t, reg.URL, true, nil)
	// A top-level bytes value is written raw after the header.
	b, err := c.FromConnect("t", connect.Prim(connect.Bytes), []byte("raw"))
	if err != nil {
		t.Fatal(err)
	}
	if _, payload, _ := avro.SplitFrame(b); string(payload) != "raw" {
		t.Fatalf("bytes payload %q", payload)
	}
	s, v, err := newConverter(t, reg.URL, true, nil).ToConnect("t", b)
	if err != nil || s.Type != connect.Bytes || string(v.([]byte)) != "raw" {
		t.Fatalf("ToConnect = %v, %v, %v", s, v, err)
	}
	b, err = c.FromConnect("t", connect.OptionalPrim(connect.String), "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, payload, _ := avro.SplitFrame(b); !bytes.Equal(payload, []byte{2, 2, 'k'}) {
		t.Fatalf("optional string payload %x", payload)
	}
	if _, err := c.FromConnect("t", connect.Prim(connect.Int8), int32(300)); err == nil {
		t.Fatal("int8 300 encoded")
	}
	if _, err := c.FromConnect("t", connect.Prim(connect.Int32), "x"); err == nil {
		t.Fatal("string encoded as int32")
	}
}

func TestEncodeErrorsNameTheField(t *testing.T) {
	reg := newCountingRegistry(t)
	s := connect.StructBuilder().Name("r").Field("inner", connect.StructBuilder().Name("i").
		Field("n", connect.Prim(connect.Int64)).MustBuild()).MustBuild()
	c := newConverter(t, reg.URL, false, nil)
	_, err := c.FromConnect("t", s, connect.NewStruct(s).Set("inner", connect.NewStruct(s.Fields[0].Schema)))
	if err == nil || !strings.Contains(err.Error(), "inner: n: null value for non-optional schema") {
		t.Fatalf("error = %v", err)
	}
}

func TestParseConfig(t *testing.T) {
	if _, err := avro.ParseConfig(map[string]string{"schema.registry.url": "http://x", "sceham.registry.url": "y"}); err == nil ||
		!strings.Contains(err.Error(), `unknown AvroConverter property "sceham.registry.url"`) {
		t.Errorf("typo: %v", err)
	}
	if _, err := avro.ParseConfig(map[string]string{}); err == nil || !strings.Contains(err.Error(), "schema.registry.url") {
		t.Errorf("no url: %v", err)
	}
	cfg, err := avro.ParseConfig(map[string]string{"schema.registry.url": "http://a:1,http://b:2",
		"connect.meta.data": "false", "key.subject.name.strategy": "RecordNameStrategy",
		"basic.auth.credentials.source": "USER_INFO", "basic.auth.user.info": "u:p", "max.schemas.per.subject": "10"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data.ConnectMetaData || cfg.KeyStrategy != avro.RecordNameStrategy || cfg.Registry.BasicAuthUserInfo != "u:p" {
		t.Errorf("config = %+v", cfg)
	}
	if _, err := avro.ParseConfig(map[string]string{"schema.registry.url": "http://x", "generalized.sum.type.support": "true"}); err == nil {
		t.Error("unsupported option accepted")
	}
}

func TestConverterConcurrentUse(t *testing.T) {
	reg := newCountingRegistry(t)
	fx := newPGFixture()
	c := newConverter(t, reg.URL, false, nil)
	var wg sync.WaitGroup
	var failed atomic.Bool
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, v := fx.sampleEvent(g*100 + i)
				if _, err := c.FromConnect("dbserver1.public.all_types", fx.envelope, v); err != nil {
					failed.Store(true)
				}
			}
		}(g)
	}
	wg.Wait()
	if failed.Load() {
		t.Fatal("concurrent encode failed")
	}
}

// A nil *StructValue is null: written as an optional field's null branch
// and refused with the field's name where the struct is required, never
// dereferenced.
func TestNilStructPointerIsNull(t *testing.T) {
	reg := newCountingRegistry(t)
	inner := connect.StructBuilder().Name("i").Field("n", connect.Prim(connect.Int64)).MustBuild()
	optInner := connect.StructBuilder().Name("o").Optional().Field("n", connect.Prim(connect.Int64)).MustBuild()
	var nilStruct *connect.StructValue
	for _, tt := range []struct {
		name    string
		field   *connect.Schema
		wantErr string
	}{
		{"optional", optInner, ""},
		{"required", inner, "inner: null value for non-optional schema"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := connect.StructBuilder().Name("r_"+tt.name).Field("inner", tt.field).MustBuild()
			c := newConverter(t, reg.URL, false, nil)
			v := connect.NewStruct(s)
			v.Values[0] = nilStruct
			got, err := c.FromConnect("t_"+tt.name, s, v)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, err := c.FromConnect("t_"+tt.name, s, connect.NewStruct(s))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("nil pointer wrote %x, a null field %x", got, want)
			}
		})
	}
}
