package debezium

import (
	"reflect"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// TestNewEnvelopeMatchesByName checks the by-index NewEnvelope against
// filling the same schema field by field by name (the builder before),
// for every op, with and without before, after and a transaction block.
func TestNewEnvelopeMatchesByName(t *testing.T) {
	row := connect.StructBuilder().Optional().Name("p.s.t.Value").Field("id", connect.Prim(connect.Int64)).MustBuild()
	source := SourceSchemaBuilder().Name("src").MustBuild()
	env := EnvelopeSchema("p.s.t.Envelope", row, source)
	if !standardEnvelope(env) {
		t.Fatal("EnvelopeSchema's layout is not recognised: NewEnvelope would fill by name")
	}
	r1 := connect.NewStruct(row).Set("id", int64(1))
	r2 := connect.NewStruct(row).Set("id", int64(2))
	src := connect.NewStruct(source)
	FillSource(src, SourceCommon{Connector: "postgresql", Name: "p", TS: time.Unix(1_700_000_000, 5), DB: "db"})
	now := time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC)
	for _, op := range []Op{OpRead, OpCreate, OpUpdate, OpDelete, OpTruncate, OpMessage, Op("x")} {
		for _, tx := range []*Transaction{nil, {ID: "5:100", TotalOrder: 3, DataCollectionOrder: 2}} {
			for _, rows := range [][2]*connect.StructValue{{nil, nil}, {nil, r2}, {r1, nil}, {r1, r2}} {
				got := NewEnvelope(env, op, rows[0], rows[1], src, tx, now)
				want := newEnvelopeByName(env, op, rows[0], rows[1], src, tx, now)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("op %s tx %v before %v after %v:\n got %v\nwant %v", op, tx, rows[0], rows[1], got.Values, want.Values)
				}
				if got.Values[4] != string(op) {
					t.Errorf("op %s: op field %v", op, got.Values[4])
				}
			}
		}
	}
	// Another layout (fields reordered) is filled by name.
	other := connect.StructBuilder().Name("o").
		Field("op", connect.Prim(connect.String)).
		Field("before", row).Field("after", row).Field("source", source).
		Field("transaction", TransactionBlockSchema()).
		Field("ts_ms", connect.OptionalPrim(connect.Int64)).
		Field("ts_us", connect.OptionalPrim(connect.Int64)).
		Field("ts_ns", connect.OptionalPrim(connect.Int64)).MustBuild()
	if standardEnvelope(other) {
		t.Fatal("a reordered envelope was taken for EnvelopeSchema's layout")
	}
	got := NewEnvelope(other, OpCreate, nil, r2, src, nil, now)
	if got.Get("op") != "c" || got.Get("after") != r2 || got.Get("ts_ms") != now.UnixMilli() {
		t.Errorf("reordered envelope: %v", got.Values)
	}
}
