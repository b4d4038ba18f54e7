package mysql

import (
	"bytes"
	"encoding/json"
	"testing"

	isnap "github.com/tributary-io/tributary/internal/incremental"
	"github.com/tributary-io/tributary/internal/signal"
)

// The incremental snapshot context goes into every offset but those of the
// initial snapshot, under Debezium's keys (the read-only variant adds
// incremental_snapshot_signal_offset), and survives a round trip through
// the JSON offset store.
func TestOffsetIncrementalContext(t *testing.T) {
	o := newOffsetState()
	o.setBinlogStartPoint("binlog.000003", 1234)
	o.inc = signal.NewIncremental()
	o.readOnly = true
	req, err := signal.ParseExecuteSnapshot(`{"data-collections": ["inventory.t"], "additional-conditions": [{"data-collection": "inventory.t", "filter": "id > 5"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	o.inc.Add("sig-1", []string{"inventory.t"}, req)
	kafkaOffset := int64(7)
	o.inc.SetSignalOffset(&kafkaOffset)
	o.inc.SetMaximumKey([]any{int64(20000)})
	o.inc.Sent([]any{int64(1024)})
	m := o.offset()
	for _, k := range []string{signal.KeyCollections, signal.KeyPrimaryKey, signal.KeyMaximumKey, signal.KeyCorrelationID, signal.KeySignalOffset} {
		if _, ok := m[k]; !ok {
			t.Errorf("offset has no %s: %v", k, m)
		}
	}
	if m[signal.KeySignalOffset] != int64(7) {
		t.Errorf("%s = %v", signal.KeySignalOffset, m[signal.KeySignalOffset])
	}
	if want := `[{"incremental_snapshot_collections_id":"inventory.t","incremental_snapshot_collections_additional_condition":"(id > 5)","incremental_snapshot_collections_surrogate_key":null,"incremental_snapshot_collections_correlation_id":"sig-1"}]`; m[signal.KeyCollections] != want {
		t.Errorf("collections\n got %v\nwant %s", m[signal.KeyCollections], want)
	}
	b, _ := json.Marshal(m)
	var back map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&back); err != nil {
		t.Fatal(err)
	}
	lo, err := loadOffset(back)
	if err != nil {
		t.Fatal(err)
	}
	if !lo.inc.Running() || lo.inc.Current().ID != "inventory.t" || isnap.KeyString(lo.inc.ChunkEnd()) != "[1024]" || isnap.KeyString(lo.inc.MaximumKey()) != "[20000]" || lo.inc.SignalOffset() != int64(7) {
		t.Errorf("loaded context %s, signal offset %v", lo.inc, lo.inc.SignalOffset())
	}
	// the initial snapshot's records carry no incremental context
	o.snapshotType = "INITIAL"
	if _, ok := o.offset()[signal.KeyCollections]; ok {
		t.Error("an initial snapshot record's offset holds the incremental snapshot context")
	}
	// a window record's INCREMENTAL marker does not survive a restart
	o.snapshotType = "INCREMENTAL"
	lo, err = loadOffset(o.offset())
	if err != nil || lo.snapshotType != "" || lo.initialSnapshotRunning() {
		t.Errorf("loaded snapshot type %q (%v)", lo.snapshotType, err)
	}
	o.snapshotType = "BLOCKING"
	if lo, err = loadOffset(o.offset()); err != nil || !lo.blockingInterrupted || lo.snapshotType != "" {
		t.Errorf("an interrupted blocking snapshot is not noticed: %+v %v", lo, err)
	}
}
