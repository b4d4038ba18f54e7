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

// Acknowledged records are let go as they are acknowledged, not kept
// until the next commit: memory must not grow with
// offset.flush.interval.ms. Out-of-order acknowledgements still commit
// only the acknowledged prefix.
func TestTrackerLetsGoOfAcknowledgedPrefix(t *testing.T) {
	tr := newTracker(1 << 20)
	p := map[string]any{"server": "a"}
	var subs []*submitted
	for i := range 100000 {
		s, err := tr.submit(p, map[string]any{"i": i})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	q := subs[0].q
	// Acknowledged out of order: 1..49999 first, then 0, then the rest.
	for _, s := range subs[1:50000] {
		tr.ack(s, nil)
	}
	if kept := len(q.queue) - q.head; kept != 100000 {
		t.Fatalf("%d records kept while record 0 is unacknowledged, want all 100000", kept)
	}
	tr.ack(subs[0], nil)
	if kept := len(q.queue) - q.head; kept != 50000 {
		t.Fatalf("%d records kept after the prefix 0..49999 was acknowledged, want 50000", kept)
	}
	if tr.allCommitted() {
		t.Fatal("allCommitted before any commit")
	}
	for _, s := range subs[50000:99999] {
		tr.ack(s, nil)
	}
	if kept := len(q.queue) - q.head; kept != 1 {
		t.Fatalf("%d records kept with only the last unacknowledged, want 1", kept)
	}
	if got := tr.committable(); len(got) != 1 || got[0].Offset["i"] != 99998 {
		t.Fatalf("committable = %v, want offset 99998", got)
	}
	tr.committed()
	tr.ack(subs[99999], nil)
	if got := tr.committable(); len(got) != 1 || got[0].Offset["i"] != 99999 {
		t.Fatalf("committable = %v, want offset 99999", got)
	}
	tr.committed()
	if !tr.allCommitted() {
		t.Fatal("not allCommitted after the last commit")
	}
	if got := tr.committable(); len(got) != 0 {
		t.Fatalf("committable = %v after everything was committed", got)
	}
}
