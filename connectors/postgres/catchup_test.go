package postgres

import (
	"bytes"
	"io"
	"testing"
	"time"
)

// chunks returns its reads' sizes in turn.
type chunks struct{ sizes []int }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.sizes) == 0 {
		return 0, io.EOF
	}
	n := min(c.sizes[0], len(p))
	c.sizes = c.sizes[1:]
	return n, nil
}

// TestCatchUpReaderWaitsOnlyBehind checks that reads wait only while the
// stream is behind and the previous read was small, and that the bytes
// pass through unchanged.
func TestCatchUpReaderWaitsOnlyBehind(t *testing.T) {
	waits := 0
	src := &chunks{sizes: []int{100, 100, 64 << 10, 100, 100, 100}}
	c := &catchUpReader{r: src, sleep: func(d time.Duration) {
		if d != catchUpWait {
			t.Errorf("waited %v", d)
		}
		waits++
	}}
	buf := make([]byte, 64<<10)
	read := func() int {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	read() // small, caught up
	read() // caught up: no wait
	if waits != 0 {
		t.Fatalf("%d waits while caught up", waits)
	}
	c.behind.Store(true)
	read() // behind after a small read: waits; brings a burst
	if waits != 1 {
		t.Fatalf("%d waits behind after a small read, want 1", waits)
	}
	read() // after a burst: no wait
	if waits != 1 {
		t.Fatalf("%d waits after a burst, want 1", waits)
	}
	read() // after a small read: waits
	c.behind.Store(false)
	read() // caught up again: no wait
	if waits != 2 {
		t.Fatalf("%d waits, want 2", waits)
	}
	// Bytes are passed through as read.
	data := bytes.Repeat([]byte("pgoutput"), 5000)
	c = &catchUpReader{r: bytes.NewReader(data), sleep: func(time.Duration) {}}
	c.behind.Store(true)
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, len(data))
	}
}
