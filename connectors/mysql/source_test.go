package mysql

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// sourceStructReference is sourceStruct as it was before its boxed values
// were kept from one call to the next: FillSource and a Set by name for
// every field.
func sourceStructReference(c *connectorState, o *offsetState) *connect.StructValue {
	s := connect.NewStruct(c.sourceSchema)
	db := o.db
	if len(o.tables) > 0 {
		db = o.tables[0].DB
	}
	debezium.FillSource(s, debezium.SourceCommon{
		Connector: c.cfg.flavor.connector, Name: c.cfg.topicPrefix, TS: o.sourceTime,
		Snapshot: o.snapshotRc, DB: db,
	})
	s.Set("server_id", o.serverID)
	if o.gtid != "" {
		s.Set("gtid", o.gtid)
	}
	s.Set("file", o.file)
	s.Set("pos", o.pos)
	s.Set("row", int32(o.row))
	if o.threadID >= 0 {
		s.Set("thread", o.threadID)
	}
	if len(o.tables) > 0 {
		names := make([]string, len(o.tables))
		for i, t := range o.tables {
			names[i] = t.Table
		}
		s.Set("table", strings.Join(names, ","))
	}
	if o.query != nil {
		s.Set("query", *o.query)
	}
	return s
}

// TestSourceStructKeptBoxes applies a sequence of changes to one
// offsetState and checks after each that sourceStruct, which reuses the
// values it boxed for the previous call, builds what FillSource and Set
// build.
func TestSourceStructKeptBoxes(t *testing.T) {
	for _, f := range []flavor{mysqlFlavor, mariadbFlavor} {
		c := &connectorState{cfg: &settings{flavor: f, topicPrefix: "p1"}, sourceSchema: sourceSchema(f)}
		c.srcFields = newSourceFields(c.sourceSchema, f, "p1")
		o := newOffsetState()
		q := "INSERT INTO t VALUES (1)"
		t0 := time.Unix(1_700_000_000, 0)
		steps := []struct {
			name   string
			change func()
		}{
			{"first event", func() { o.file, o.pos, o.serverID, o.sourceTime = "binlog.000001", 4, 1, t0 }},
			{"table and row", func() { o.tableEvent("db1", []TableID{{"db1", "t"}}, t0); o.row = 3 }},
			{"same again", func() {}},
			{"gtid and thread", func() { o.gtid, o.threadID = "0-1-5", 17 }},
			{"next second", func() { o.sourceTime = t0.Add(time.Second); o.pos = 900 }},
			{"another table", func() { o.tableEvent("db1", []TableID{{"db1", "u"}}, o.sourceTime) }},
			{"two tables", func() { o.tableEvent("db2", []TableID{{"db2", "a"}, {"db2", "b"}}, o.sourceTime) }},
			{"no tables", func() { o.tableEvent("db3", nil, o.sourceTime) }},
			{"query", func() { o.query = &q }},
			{"snapshot", func() { o.snapshotRc = "true"; o.gtid = ""; o.threadID = -1; o.query = nil }},
			{"snapshot last", func() { o.snapshotRc = "last" }},
			{"streaming", func() { o.snapshotRc = debezium.SnapshotFalse }},
			{"rotated, other server", func() { o.file, o.serverID, o.pos = "binlog.000002", 2, 4 }},
			{"new gtid", func() { o.gtid = "0-2-1" }},
		}
		for _, s := range steps {
			s.change()
			got, want := c.sourceStruct(o), sourceStructReference(c, o)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s:\n got %v\nwant %v", f.connector, s.name, got.Values, want.Values)
			}
		}
	}
}

// offsetReference is offset's common keys as they were built before the
// boxed values were kept from one call to the next.
func offsetReference(o *offsetState) map[string]any {
	m := map[string]any{}
	if o.serverID != 0 {
		m[offServerID] = o.serverID
	}
	if o.restartGtidSet != "" {
		m[offGtids] = o.restartGtidSet
	}
	m[offFile] = o.restartFile
	m[offPos] = o.restartPos
	if o.restartEvents != 0 {
		m[offEvent] = o.restartEvents
	}
	if o.restartRows != 0 {
		m[offRow] = int64(o.restartRows)
	}
	if !o.sourceTime.IsZero() {
		m[offTsSec] = o.sourceTime.Unix()
	}
	return m
}

// TestOffsetKeptBoxes applies a sequence of changes to one offsetState and
// checks after each that offset, which reuses the values it boxed for the
// previous call, builds what offsetReference builds, and that no map it
// returned earlier changed (the runtime keeps them until Kafka's ack).
func TestOffsetKeptBoxes(t *testing.T) {
	o := newOffsetState()
	t0 := time.Unix(1_700_000_000, 0)
	steps := []struct {
		name   string
		change func()
	}{
		{"start point", func() { o.setBinlogStartPoint("binlog.000001", 4) }},
		{"server and time", func() { o.serverID, o.sourceTime = 1, t0 }},
		{"same again", func() {}},
		{"gtid set", func() { o.startGtid("0-1-5", "0-1-5") }},
		{"event in a transaction", func() { o.startNextTransaction(); o.setEventPosition(900, 60); o.completeEvent() }},
		{"row", func() { o.setRowNumber(1, 3) }},
		{"next gtid, next second", func() { o.commitTransaction(); o.startGtid("0-1-6", "0-1-6"); o.sourceTime = t0.Add(time.Second) }},
		{"within the second", func() { o.sourceTime = t0.Add(1500 * time.Millisecond) }},
		{"other server", func() { o.serverID = 2 }},
		{"no server", func() { o.serverID = 0 }},
		{"rotated", func() { o.serverID = 2; o.setBinlogStartPoint("binlog.000002", 4) }},
		{"zero time", func() { o.sourceTime = time.Time{} }},
		{"time again", func() { o.sourceTime = t0 }},
	}
	type kept struct {
		name      string
		got, want map[string]any
	}
	var earlier []kept
	for _, s := range steps {
		s.change()
		got, want := o.offset(), offsetReference(o)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %v\nwant %v", s.name, got, want)
		}
		earlier = append(earlier, kept{s.name, got, want})
	}
	for _, k := range earlier {
		if !reflect.DeepEqual(k.got, k.want) {
			t.Errorf("the offset of step %q changed afterwards: %v, was %v", k.name, k.got, k.want)
		}
	}
}
