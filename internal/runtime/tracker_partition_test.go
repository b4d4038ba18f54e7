package runtime

import (
	"fmt"
	"testing"
)

// Records of several partitions, interleaved, keep one queue each however
// the last-partition shortcut is hit or missed, also after a queue was
// dropped for being empty.
func TestTrackerPartitionQueues(t *testing.T) {
	tr := newTracker(100)
	pa := map[string]any{"server": "a"}
	pa2 := map[string]any{"server": "a"} // equal contents, another map
	pb := map[string]any{"server": "b"}
	pn := map[string]any{"server": "a", "n": int64(1)}
	pf := map[string]any{"server": "a", "f": 1.5} // not compared: partKey path
	var subs []*submitted
	for i, p := range []map[string]any{pa, pa2, pb, pa, pn, pf, pf, pb} {
		s, err := tr.submit(p, map[string]any{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	if len(tr.parts) != 4 {
		t.Fatalf("%d queues, want 4 (a, b, a+n, a+f)", len(tr.parts))
	}
	for _, s := range subs {
		tr.ack(s, nil)
	}
	got := map[string]string{}
	for _, e := range tr.committable() {
		got[partKey(e.Partition)] = fmt.Sprint(e.Offset["i"])
	}
	want := map[string]string{partKey(pa): "3", partKey(pb): "7", partKey(pn): "4", partKey(pf): "6"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("committable = %v, want %v", got, want)
	}
	// Empty queues are dropped on the next pass; the shortcut must not
	// resurrect a dropped queue.
	tr.committable()
	if len(tr.parts) != 0 || tr.last != nil {
		t.Fatalf("after draining: %d queues, last %v", len(tr.parts), tr.last)
	}
	s, _ := tr.submit(pb, map[string]any{"i": 8})
	tr.ack(s, nil)
	if c := tr.committable(); len(c) != 1 || c[0].Offset["i"] != 8 {
		t.Fatalf("committable after re-creating b = %v", c)
	}
}
