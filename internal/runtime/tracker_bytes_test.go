package runtime

import (
	"fmt"
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

// A reserve that found the bound reached resumes only once the
// acknowledgements have freed half of it, not at the first one that
// makes room: waking the conversion stage for every acknowledgement made
// it convert one record per wake-up. It still resumes when everything is
// acknowledged, whatever the sizes.
func TestTrackerByteLimitResumesAtHalf(t *testing.T) {
	tr := newTracker(1000)
	tr.byteLimit = 1000
	part := map[string]any{"server": "s"}
	var subs []*submitted
	for i := range 10 {
		s, _ := tr.submit(part, map[string]any{"o": i})
		if err := tr.reserve(s, 100); err != nil {
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	next, _ := tr.submit(part, map[string]any{"o": 10})
	done := make(chan error, 1)
	go func() { done <- tr.reserve(next, 100) }()
	blocked := func(what string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("reserve returned (%v) %s", err, what)
		case <-time.After(50 * time.Millisecond):
		}
	}
	blocked("with the bound reached")
	for i := range 4 {
		tr.ack(subs[i], nil)
		blocked(fmt.Sprintf("with %d bytes in flight, above half the bound", 1000-100*(i+1)))
	}
	tr.ack(subs[4], nil) // 500 of 1000 left: half
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("reserve still blocked with half the bound free")
	}
	if tr.bytes != 600 {
		t.Fatalf("%d bytes in flight, want 600", tr.bytes)
	}

	// A record larger than half the bound waits for room for itself.
	big, _ := tr.submit(part, map[string]any{"o": 11})
	go func() { done <- tr.reserve(big, 900) }()
	for i := 5; i < 9; i++ {
		tr.ack(subs[i], nil)
		blocked(fmt.Sprintf("with %d bytes in flight and 900 to add", 600-100*(i-4)))
	}
	tr.ack(subs[9], nil) // 100 left: 900 fit
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("reserve still blocked with room for its record")
	}
	tr.ack(next, nil)
	tr.ack(big, nil)
	if tr.bytes != 0 || tr.inflight != 0 {
		t.Fatalf("after all acks: %d bytes, %d records in flight", tr.bytes, tr.inflight)
	}
}
