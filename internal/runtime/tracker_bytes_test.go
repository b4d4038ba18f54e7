package runtime

import (
	"testing"
	"time"
)

// reserve blocks while the bytes in flight would exceed the bound, lets a
// single oversized record through, and is released by acknowledgements.
func TestTrackerByteLimit(t *testing.T) {
	tr := newTracker(100)
	tr.byteLimit = 1000
	part := map[string]any{"server": "s"}
	a, _ := tr.submit(part, map[string]any{"o": 1})
	if err := tr.reserve(a, 5000); err != nil { // alone: passes although too big
		t.Fatal(err)
	}
	b, _ := tr.submit(part, map[string]any{"o": 2})
	done := make(chan error, 1)
	go func() { done <- tr.reserve(b, 600) }()
	select {
	case err := <-done:
		t.Fatalf("reserve returned (%v) with 5000 bytes in flight and a 1000-byte bound", err)
	case <-time.After(50 * time.Millisecond):
	}
	tr.ack(a, nil)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("reserve still blocked after the acknowledgement freed the bytes")
	}
	c, _ := tr.submit(part, map[string]any{"o": 3})
	if err := tr.reserve(c, 400); err != nil { // 600+400 fits exactly
		t.Fatal(err)
	}
	tr.ack(b, nil)
	tr.ack(c, nil)
	if tr.bytes != 0 || tr.inflight != 0 {
		t.Fatalf("after all acks: %d bytes, %d records in flight", tr.bytes, tr.inflight)
	}
	// A failure releases a blocked reserve with the error.
	d, _ := tr.submit(part, nil)
	_ = tr.reserve(d, 900)
	e, _ := tr.submit(part, nil)
	go func() { done <- tr.reserve(e, 900) }()
	time.Sleep(20 * time.Millisecond)
	tr.ack(d, errDrainTimeout)
	if err := <-done; err != errDrainTimeout {
		t.Fatalf("reserve after failure = %v, want %v", err, errDrainTimeout)
	}
}
