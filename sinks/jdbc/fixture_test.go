package jdbc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/debezium"
)

var update = flag.Bool("update", false, "regenerate testdata/sink recordings")

// The recorded stream is a PostgreSQL-connector-shaped change stream of
// table public.everything (topic dbserver1.public.everything) whose
// columns cover every semantic type the sink maps. It is generated from
// Debezium-format structures (internal/debezium envelope and source block,
// Debezium's logical types) and stored as JsonConverter messages, the bytes
// a Debezium deployment would put in Kafka.

const everythingTopic = "dbserver1.public.everything"

func varDecimalSchema() *connect.Schema {
	return connect.StructBuilder().Name("io.debezium.data.VariableScaleDecimal").Version(1).Optional().
		Doc("Variable scaled decimal").
		Field("scale", connect.Prim(connect.Int32)).
		Field("value", connect.Prim(connect.Bytes)).MustBuild()
}

func named(t connect.Type, name string, version int) *connect.Builder {
	b := connect.NewBuilder(t).Name(name).Optional()
	if version > 0 {
		b.Version(version)
	}
	return b
}

// everythingRow builds the row schema; withAdded adds the column that
// appears mid-stream (schema evolution).
func everythingRow(withAdded bool) *connect.Schema {
	b := connect.StructBuilder().Name("dbserver1.public.everything.Value").Optional().
		Field("id", connect.Prim(connect.Int32)).
		Field("c_bool", connect.OptionalPrim(connect.Boolean)).
		Field("c_int8", connect.OptionalPrim(connect.Int8)).
		Field("c_int16", connect.OptionalPrim(connect.Int16)).
		Field("c_int64", connect.OptionalPrim(connect.Int64)).
		Field("c_float32", connect.OptionalPrim(connect.Float32)).
		Field("c_float64", connect.OptionalPrim(connect.Float64)).
		Field("c_string", connect.OptionalPrim(connect.String)).
		Field("c_bytes", connect.OptionalPrim(connect.Bytes)).
		Field("c_decimal", connect.DecimalSchema(2).Param("connect.decimal.precision", "12").Optional().MustBuild()).
		Field("c_vdecimal", varDecimalSchema()).
		Field("c_date", named(connect.Int32, "io.debezium.time.Date", 1).MustBuild()).
		Field("c_time", named(connect.Int64, "io.debezium.time.MicroTime", 1).MustBuild()).
		Field("c_time_ms", named(connect.Int32, "io.debezium.time.Time", 1).MustBuild()).
		Field("c_ts", named(connect.Int64, "io.debezium.time.MicroTimestamp", 1).MustBuild()).
		Field("c_ts_ms", named(connect.Int64, "io.debezium.time.Timestamp", 1).MustBuild()).
		Field("c_ts_ns", named(connect.Int64, "io.debezium.time.NanoTimestamp", 1).MustBuild()).
		Field("c_tstz", named(connect.String, "io.debezium.time.ZonedTimestamp", 1).MustBuild()).
		Field("c_timetz", named(connect.String, "io.debezium.time.ZonedTime", 1).MustBuild()).
		Field("c_json", named(connect.String, "io.debezium.data.Json", 1).MustBuild()).
		Field("c_uuid", named(connect.String, "io.debezium.data.Uuid", 1).MustBuild()).
		Field("c_enum", named(connect.String, "io.debezium.data.Enum", 1).Param("allowed", "small,medium,large").MustBuild()).
		Field("c_bits", named(connect.Bytes, "io.debezium.data.Bits", 1).Param("length", "10").MustBuild()).
		Field("c_year", named(connect.Int32, "io.debezium.time.Year", 1).MustBuild()).
		Field("c_interval", named(connect.Int64, "io.debezium.time.MicroDuration", 1).MustBuild()).
		Field("c_int_array", connect.ArrayOf(connect.OptionalPrim(connect.Int32)).Optional().MustBuild()).
		Field("c_text_array", connect.ArrayOf(connect.OptionalPrim(connect.String)).Optional().MustBuild()).
		Field("c_cdate", connect.DateSchema().Optional().MustBuild()).
		Field("c_ctimestamp", connect.TimestampSchema().Optional().MustBuild())
	if withAdded {
		b.Field("c_added", connect.OptionalPrim(connect.String))
	}
	return b.MustBuild()
}

type everythingStream struct {
	key, row1, row2, source *connect.Schema
	env1, env2              *connect.Schema
	ts                      time.Time
	lsn                     int64
	recs                    []*connect.Record
}

func newEverythingStream() *everythingStream {
	s := &everythingStream{ts: time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC), lsn: 24000000}
	s.key = connect.StructBuilder().Name("dbserver1.public.everything.Key").Field("id", connect.Prim(connect.Int32)).MustBuild()
	s.row1, s.row2 = everythingRow(false), everythingRow(true)
	s.source = debezium.SourceSchemaBuilder().Name("io.debezium.connector.postgresql.Source").
		Field("schema", connect.Prim(connect.String)).
		Field("table", connect.Prim(connect.String)).
		Field("txId", connect.OptionalPrim(connect.Int64)).
		Field("lsn", connect.OptionalPrim(connect.Int64)).
		Field("xmin", connect.OptionalPrim(connect.Int64)).MustBuild()
	s.env1 = debezium.EnvelopeSchema("dbserver1.public.everything.Envelope", s.row1, s.source)
	s.env2 = debezium.EnvelopeSchema("dbserver1.public.everything.Envelope", s.row2, s.source)
	return s
}

// row fills a row deterministically from id and version v; ids divisible
// by 7 get NULL in every nullable column.
func (s *everythingStream) row(schema *connect.Schema, id, v int) *connect.StructValue {
	r := connect.NewStruct(schema).Set("id", int32(id))
	if id%7 == 0 {
		return r
	}
	n := id*31 + v*7
	neg := 1
	if n%2 == 1 {
		neg = -1
	}
	vd := connect.NewStruct(schema.Field("c_vdecimal").Schema).Set("scale", int32(n%9)).
		Set("value", connect.DecimalBytes(big.NewInt(int64(neg*n*1234567))))
	bits := []byte{byte(n), byte(n>>8) & 0x03}
	tsMicros := int64(1700000000000000) + int64(n)*86400123457
	if id == 3 {
		tsMicros = 4102444799999999 // 2099-12-31 23:59:59.999999
	}
	r.Set("c_bool", n%3 == 0).
		Set("c_int8", int8(n%127*neg)).
		Set("c_int16", int16(n*neg)).
		Set("c_int64", int64(neg)*int64(n)*1000000007).
		Set("c_float32", float32(n)/8*float32(neg)).
		Set("c_float64", float64(n)*1.0000001*float64(neg)).
		Set("c_string", fmt.Sprintf("row %d v%d: tab\there, quote ' \" back\\slash, newline\n, ünïcødé ✓", id, v)).
		Set("c_bytes", []byte{0, 1, 2, byte(n), 0xff, '\\', '\n', '\t'}).
		Set("c_decimal", connect.Decimal{Unscaled: big.NewInt(int64(neg * n * 1013)), Scale: 2}).
		Set("c_vdecimal", vd).
		Set("c_date", int32(19000+n)).
		Set("c_time", int64(n)*1234567891%86400000000).
		Set("c_time_ms", int32(n*7654321%86400000)).
		Set("c_ts", tsMicros).
		Set("c_ts_ms", int64(1600000000123)+int64(n)*3600000).
		Set("c_ts_ns", int64(1650000000123456789)+int64(n)*1000000001).
		Set("c_tstz", time.UnixMicro(tsMicros).In(time.FixedZone("", 5*3600+1800)).Format("2006-01-02T15:04:05.999999Z07:00")).
		Set("c_timetz", fmt.Sprintf("%02d:%02d:%02d.%06dZ", n%24, n%60, (n*7)%60, n*1111%1000000)).
		Set("c_json", fmt.Sprintf(`{"id": %d, "tags": ["a", "b"], "nested": {"v": %d, "s": "x\"y"}}`, id, v)).
		Set("c_uuid", fmt.Sprintf("%08x-0000-4000-8000-%012x", n, id)).
		Set("c_enum", []string{"small", "medium", "large"}[n%3]).
		Set("c_bits", bits).
		Set("c_year", int32(1990+n%100)).
		Set("c_interval", int64(n)*3723000001).
		Set("c_int_array", []any{int32(n), nil, int32(-n)}).
		Set("c_text_array", []any{"a,b", `q"uote`, nil, "{x}"}).
		Set("c_cdate", int32(18000+n)).
		Set("c_ctimestamp", int64(1500000000000)+int64(n)*1000)
	if schema.Field("c_added") != nil {
		r.Set("c_added", fmt.Sprintf("added %d/%d", id, v))
	}
	return r
}

func (s *everythingStream) emit(op debezium.Op, env *connect.Schema, id int, before, after *connect.StructValue) {
	s.lsn += 96
	s.ts = s.ts.Add(1500 * time.Millisecond)
	src := connect.NewStruct(s.source)
	snap := ""
	if op == debezium.OpRead {
		snap = debezium.SnapshotTrue
	}
	debezium.FillSource(src, debezium.SourceCommon{Connector: "postgresql", Name: "dbserver1", TS: s.ts, DB: "inventory", Snapshot: snap})
	src.Set("schema", "public").Set("table", "everything").Set("txId", int64(500+len(s.recs))).Set("lsn", s.lsn)
	rec := &connect.Record{Topic: everythingTopic, Partition: 0, ValueSchema: env,
		Value: debezium.NewEnvelope(env, op, before, after, src, nil, s.ts)}
	if op != debezium.OpTruncate {
		rec.KeySchema, rec.Key = s.key, connect.NewStruct(s.key).Set("id", int32(id))
	}
	s.recs = append(s.recs, rec)
	if op == debezium.OpDelete {
		s.recs = append(s.recs, &connect.Record{Topic: everythingTopic, KeySchema: s.key, Key: connect.NewStruct(s.key).Set("id", int32(id))})
	}
}

// generate builds the stream: a snapshot, a truncate, a fresh snapshot,
// inserts, updates and deletes, then the new column appears and more
// changes follow (including updates of rows written before).
func generateEverything() []*connect.Record {
	s := newEverythingStream()
	for id := 100; id < 105; id++ {
		s.emit(debezium.OpRead, s.env1, id, nil, s.row(s.row1, id, 0))
	}
	s.emit(debezium.OpTruncate, s.env1, 0, nil, nil)
	for id := 1; id <= 30; id++ {
		s.emit(debezium.OpRead, s.env1, id, nil, s.row(s.row1, id, 0))
	}
	for id := 31; id <= 40; id++ {
		s.emit(debezium.OpCreate, s.env1, id, nil, s.row(s.row1, id, 1))
	}
	for id := 1; id <= 40; id += 3 {
		s.emit(debezium.OpUpdate, s.env1, id, s.row(s.row1, id, 0), s.row(s.row1, id, 2))
	}
	for _, id := range []int{5, 17, 33} {
		s.emit(debezium.OpDelete, s.env1, id, s.row(s.row1, id, 2), nil)
	}
	// re-insert a deleted key, then update it twice in a row
	s.emit(debezium.OpCreate, s.env1, 17, nil, s.row(s.row1, 17, 3))
	s.emit(debezium.OpUpdate, s.env1, 17, s.row(s.row1, 17, 3), s.row(s.row1, 17, 4))
	s.emit(debezium.OpUpdate, s.env1, 17, s.row(s.row1, 17, 4), s.row(s.row1, 17, 5))
	// schema evolution: c_added appears
	for id := 41; id <= 45; id++ {
		s.emit(debezium.OpCreate, s.env2, id, nil, s.row(s.row2, id, 6))
	}
	for id := 2; id <= 45; id += 4 {
		s.emit(debezium.OpUpdate, s.env2, id, nil, s.row(s.row2, id, 7))
	}
	s.emit(debezium.OpDelete, s.env2, 42, s.row(s.row2, 42, 7), nil)
	return s.recs
}

// recordedLine is one Kafka message of a recording: the exact key and
// value bytes (JsonConverter with schemas), or null.
type recordedLine struct {
	Topic string          `json:"topic"`
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

type kafkaMsg struct {
	topic      string
	key, value []byte
}

func writeRecording(t *testing.T, path string, recs []*connect.Record) {
	t.Helper()
	j := &converter.JSON{SchemasEnabled: true}
	var b bytes.Buffer
	for _, r := range recs {
		k, err := j.FromConnect(r.Topic, r.KeySchema, r.Key)
		if err != nil {
			t.Fatal(err)
		}
		v, err := j.FromConnect(r.Topic, r.ValueSchema, r.Value)
		if err != nil {
			t.Fatal(err)
		}
		line := recordedLine{Topic: r.Topic, Key: k, Value: v}
		if k == nil {
			line.Key = json.RawMessage("null")
		}
		if v == nil {
			line.Value = json.RawMessage("null")
		}
		out, err := json.Marshal(line)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(out)
		b.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readRecording returns the Kafka messages of a recording.
func readRecording(t testing.TB, path string) []kafkaMsg {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (go test -run TestRecording -update regenerates it)", err)
	}
	defer f.Close()
	var out []kafkaMsg
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l recordedLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m := kafkaMsg{topic: l.Topic}
		if string(l.Key) != "null" {
			m.key = []byte(l.Key)
		}
		if string(l.Value) != "null" {
			m.value = []byte(l.Value)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var everythingPath = filepath.Join("..", "..", "testdata", "sink", "everything.jsonl")

// TestRecording checks that the recording matches the generator (and
// regenerates it with -update), so the recording stays reviewable.
func TestRecording(t *testing.T) {
	if *update {
		writeRecording(t, everythingPath, generateEverything())
	}
	got := readRecording(t, everythingPath)
	tmp := filepath.Join(t.TempDir(), "x.jsonl")
	writeRecording(t, tmp, generateEverything())
	want := readRecording(t, tmp)
	if len(got) != len(want) {
		t.Fatalf("recording has %d messages, generator %d (run with -update)", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].key, want[i].key) || !bytes.Equal(got[i].value, want[i].value) {
			t.Fatalf("message %d differs from the generator (run with -update)", i)
		}
	}
}
