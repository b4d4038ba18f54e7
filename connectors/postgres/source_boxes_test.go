package postgres

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// offsetMapReference is offsetMap as it was before offsetBoxes: every value
// boxed anew.
func offsetMapReference(o *offsetState) map[string]any {
	m := map[string]any{}
	if !o.ts.IsZero() {
		m[keyTsUsec] = o.ts.UnixMicro()
	}
	if o.txID != nil {
		m[keyTxID] = *o.txID
	}
	if o.lsn != 0 {
		m[keyLSN] = int64(o.lsn)
	}
	if o.xmin != nil {
		m[keyXmin] = *o.xmin
	}
	kind := o.snapshotType
	if o.snapshotRunning {
		kind = snapshotInitial
	}
	if kind != "" {
		m[keySnapshot] = kind
		m[keyLastSnapshot] = o.lastSnapshotRec
		m[keySnapshotComplete] = o.snapshotCompleted
	}
	if o.lsnProc != 0 {
		m[keyLSNProc] = int64(o.lsnProc)
	}
	if o.lsnCommit != 0 {
		m[keyLSNCommit] = int64(o.lsnCommit)
	}
	if o.msgType != "" {
		m[keyMessageType] = o.msgType
	}
	if kind != snapshotInitial {
		if o.txInProgress != "" {
			m[keyTransactionID] = o.txInProgress
			for _, c := range o.txCounts {
				m[keyTxTablePrefix+c.Collection] = c.Count
			}
		}
		if o.inc != nil {
			o.inc.Store(m)
		}
	}
	return m
}

// sequenceReference is sequence as it was: string concatenation.
func sequenceReference(o *offsetState) string {
	part := func(l pglogrepl.LSN) string {
		if l == 0 {
			return "null"
		}
		return `"` + strconv.FormatUint(uint64(l), 10) + `"`
	}
	return "[" + part(o.lsnCommit) + "," + part(o.lsn) + "]"
}

// TestOffsetBoxesMatchReference applies a sequence of changes to one
// offsetState and checks after each that offsetMap and sourceStruct, which
// reuse the values they boxed for the previous call and set the source
// fields by index, build exactly what the field-by-name builders build
// (sourceStructByName is FillSource and Set, as before).
func TestOffsetBoxesMatchReference(t *testing.T) {
	src := sourceSchema("none")
	o := &offsetState{}
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 123456789, time.UTC)
	xid := func(v int64) *int64 { return &v }
	steps := []struct {
		name   string
		id     tableID
		snap   string
		change func()
	}{
		{"begin", tableID{"public", "t"}, "", func() { o.ts, o.txID, o.lsn, o.msgType = t0, xid(700), 1000, "BEGIN" }},
		{"insert", tableID{"public", "t"}, "", func() { o.lsn, o.lsnProc, o.msgType = 1100, 1100, "INSERT" }},
		{"same again", tableID{"public", "t"}, "", func() {}},
		{"next insert, other table", tableID{"inv", "u"}, "", func() { o.lsn, o.lsnProc = 1200, 1200 }},
		{"commit", tableID{"inv", "u"}, "", func() { o.lsn, o.lsnProc, o.lsnCommit, o.msgType = 1300, 1300, 1300, "COMMIT" }},
		{"next txn", tableID{"inv", "u"}, "", func() {
			o.ts, o.txID, o.lsn, o.lsnProc, o.msgType = t0.Add(time.Millisecond), xid(701), 1400, 1400, "UPDATE"
		}},
		{"lsn_proc behind lsn", tableID{"inv", "u"}, "", func() { o.lsn, o.lsnProc = 1500, 1400 }},
		{"lsn back to a boxed one", tableID{"inv", "u"}, "", func() { o.lsn, o.lsnProc = 1400, 1300 }},
		{"xmin", tableID{"inv", "u"}, "", func() { o.xmin = xid(650) }},
		{"xmin moved", tableID{"inv", "u"}, "", func() { o.xmin = xid(660); o.msgType = "DELETE" }},
		{"origin", tableID{"inv", "u"}, "", func() { o.originName, o.originLSN = "node_a", 77 }},
		{"transaction metadata", tableID{"inv", "u"}, "", func() {
			o.txInProgress, o.txTotal = "701", 2
			o.txCounts = []debezium.CollectionCount{{Collection: "inv.u", Count: 2}}
		}},
		{"truncate", tableID{"inv", "u"}, "", func() { o.msgType = "TRUNCATE"; o.originName = "" }},
		{"message type outside the constants", tableID{"inv", "u"}, "", func() { o.msgType = "CUSTOM" }},
		{"snapshot", tableID{"public", "t"}, "first", func() {
			o.snapshotRunning, o.txID, o.xmin, o.msgType, o.txInProgress, o.txCounts = true, nil, nil, "", "", nil
			o.lsnCommit = 0
		}},
		{"snapshot last", tableID{"public", "t"}, "last", func() { o.lastSnapshotRec, o.snapshotCompleted = true, true }},
		{"incremental window", tableID{"public", "t"}, debezium.SnapshotIncremental, func() {
			o.snapshotRunning, o.snapshotType = false, snapshotIncremental
		}},
		{"time in another zone, same instant", tableID{"public", "t"}, "", func() {
			o.snapshotType = ""
			o.ts = o.ts.In(time.FixedZone("x", 3600))
		}},
		{"time before 1970", tableID{"public", "t"}, "", func() { o.ts = time.Date(1969, 7, 20, 20, 17, 0, 999, time.UTC) }},
		{"no lsn", tableID{"public", "t"}, "", func() { o.lsn, o.lsnProc, o.lsnCommit = 0, 0, 0 }},
		{"schema and table swapped", tableID{"t", "public"}, "", func() { o.lsn = 5 }},
	}
	for _, s := range steps {
		s.change()
		if got, want := o.offsetMap(), offsetMapReference(o); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: offset map\n got %v\nwant %v", s.name, got, want)
		}
		if got, want := o.sequence(), sequenceReference(o); got != want {
			t.Errorf("%s: sequence %s, want %s", s.name, got, want)
		}
		got := o.sourceStruct(src, "prefix", "db1", s.id, s.snap)
		want := o.sourceStructByName(src, "prefix", "db1", s.id, s.snap)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: source block\n got %v\nwant %v", s.name, got.Values, want.Values)
		}
		// Another connector name and database: the kept boxes follow.
		got = o.sourceStruct(src, "other", "db2", s.id, s.snap)
		want = o.sourceStructByName(src, "other", "db2", s.id, s.snap)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s, other name: source block\n got %v\nwant %v", s.name, got.Values, want.Values)
		}
	}
	// A copy shares the boxes and builds the same.
	c := *o
	c.lsn = 9
	if got, want := c.offsetMap(), offsetMapReference(&c); !reflect.DeepEqual(got, want) {
		t.Errorf("copy: offset map\n got %v\nwant %v", got, want)
	}
	if got, want := o.offsetMap(), offsetMapReference(o); !reflect.DeepEqual(got, want) {
		t.Errorf("original after the copy: offset map\n got %v\nwant %v", got, want)
	}
	// A schema without the connector's fields (not one sourceSchema
	// builds) falls back to Set, which panics naming the field.
	other := debezium.SourceSchemaBuilder().Name("x").Field("schema", connect.Prim(connect.String)).MustBuild()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("a source schema without the table field was filled without a panic")
			}
		}()
		o.sourceStruct(other, "p", "db", tableID{"s", "t"}, "")
	}()
}

// TestOffsetMapsIndependent checks that each offset map is a map of its
// own: the runtime keeps them until the commit, and a key-changing update
// replaces one record's.
func TestOffsetMapsIndependent(t *testing.T) {
	o := &offsetState{lsn: 10, lsnProc: 10, msgType: "INSERT"}
	a := o.offsetMap()
	o.lsn, o.lsnProc = 20, 20
	b := o.offsetMap()
	if a[keyLSN] != int64(10) || b[keyLSN] != int64(20) {
		t.Errorf("maps share values: %v %v", a, b)
	}
	a["extra"] = 1
	if _, ok := b["extra"]; ok {
		t.Error("maps are the same map")
	}
}
