package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
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

// TestCatchUpWaitsOnlyOnBacklog streams a real backlog, committed more
// than catchUpLag before the connector starts, then live transactions:
// every backlog BEGIN must find the stream behind and no live one, and
// following live commits must not wait. (The stream once judged the
// backlog from XLogData's WAL end, which a logical walsender sets to the
// message's own LSN: it never found itself behind and never waited.)
func TestCatchUpWaitsOnlyOnBacklog(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY, v text)`)
	props := e.props("snapshot.mode", "no_data")
	first := newCapture()
	run := startTask(t, props, nil, first)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (0, 'start')`)
	first.waitFor(t, 1, isData("dbserver1"))
	if err := run.stop(t); err != nil {
		t.Fatalf("first run: %v", err)
	}
	first.mu.Lock()
	stored := first.stored
	first.mu.Unlock()

	const n = 3000
	stmts := make([]string, n)
	for i := range stmts {
		stmts[i] = fmt.Sprintf(`INSERT INTO t VALUES (%d, repeat('x', 100))`, i+1)
	}
	e.exec(t, stmts...) // one transaction each
	time.Sleep(catchUpLag + 200*time.Millisecond)

	vals, err := Def().Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	second, err := newTask(vals, connect.TaskContext{ConnectorName: "test", Offsets: memOffsets{stored},
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	var waits, behind, caughtUp atomic.Int64
	second.cfg.catchUpSleep = func(d time.Duration) {
		waits.Add(1)
		time.Sleep(d)
	}
	second.cfg.catchUpJudged = func(b bool) {
		if b {
			behind.Add(1)
		} else {
			caughtUp.Add(1)
		}
	}
	cap := newCapture()
	cap.task = second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx, cap) }()
	defer func() { cancel(); <-done }()
	cap.waitFor(t, n, isData("dbserver1"))
	backlogWaits := waits.Load()
	// How many reads waited depends on which side was faster: logged.
	t.Logf("%d waits over a backlog of %d transactions", backlogWaits, n)
	// The first run's transaction may be sent again before the backlog.
	if b, c := behind.Load(), caughtUp.Load(); b < n || b > n+1 || c != 0 {
		t.Fatalf("backlog of %d transactions: %d BEGINs found the stream behind, %d caught up", n, b, c)
	}

	const live = 20
	for i := range live {
		e.exec(t, fmt.Sprintf(`INSERT INTO t VALUES (%d, 'live')`, n+1+i))
		cap.waitFor(t, n+1+i, isData("dbserver1"))
	}
	if c := caughtUp.Load(); c != live {
		t.Fatalf("%d of %d live BEGINs found the stream caught up", c, live)
	}
	// The reads after the backlog's last one may still wait until the
	// walsender's keepalive (it waits for WAL) or the first live BEGIN
	// shows that the stream caught up; a reader still judging itself
	// behind would wait on about every live transaction's read.
	if w := waits.Load() - backlogWaits; w > 3 {
		t.Fatalf("%d reads waited while following %d live transactions, want at most 3", w, live)
	}
}
