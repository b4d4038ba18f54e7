package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"syscall"
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
	c := &catchUpReader{r: src, hooks: &catchUpHooks{sleep: func(d time.Duration) {
		if d != catchUpWait {
			t.Errorf("waited %v", d)
		}
		waits++
	}}}
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
	c = &catchUpReader{r: bytes.NewReader(data), hooks: &catchUpHooks{sleep: func(time.Duration) {}}}
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
	second.cfg.catchUpHooks = &catchUpHooks{
		held: func() { waits.Add(1) },
		judged: func(b bool) {
			if b {
				behind.Add(1)
			} else {
				caughtUp.Add(1)
			}
		},
	}
	cap := newCapture()
	cap.task = second
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- second.Run(ctx, cap) }()
	defer func() { cancel(); <-done }()
	cap.waitFor(t, n, isData("dbserver1"))
	backlogWaits := waits.Load()
	// How many reads were held back depends on which side was faster
	// (logged), but the backlog's reads after its first BEGIN are.
	t.Logf("%d reads held back over a backlog of %d transactions", backlogWaits, n)
	if backlogWaits == 0 {
		t.Fatalf("no read was held back over a backlog of %d transactions", n)
	}
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
	// The reads after the backlog's last one may still be held back
	// until the walsender's keepalive (it waits for WAL) or the first
	// live BEGIN shows that the stream caught up; a reader still judging
	// itself behind would hold back about every live transaction's read.
	if w := waits.Load() - backlogWaits; w > 3 {
		t.Fatalf("%d reads were held back while following %d live transactions, want at most 3", w, live)
	}
}

// TestCatchUpReaderLowWaterMark streams small writes, a TCP segment each
// as a walsender sends its messages, over a real loopback connection.
// Behind, the kernel must hold them back until catchUpLowat bytes are
// there, so that reads are few and large; a writer that stops must still
// be read within about catchUpMaxWait; caught up, the mark is one byte.
func TestCatchUpReaderLowWaterMark(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	rc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	wc := <-accepted
	if wc == nil {
		t.Fatal("accept failed")
	}
	defer wc.Close()
	sock, err := rc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	// Only the last read waits out maxWait in the first part (the
	// messages' tail stays below the mark): the kernel alone decides when
	// the others return.
	hooks := &catchUpHooks{maxWait: 2 * time.Second}
	c := &catchUpReader{r: rc, sock: sock, hooks: hooks}
	mark := func() int {
		var v int
		var gerr error
		if err := sock.Control(func(fd uintptr) {
			v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
		}); err != nil || gerr != nil {
			t.Fatalf("SO_RCVLOWAT: %v %v", err, gerr)
		}
		return v
	}

	// Behind: 4000 messages of 100 bytes, written as a walsender that
	// the reader keeps up with writes them, with pauses between them.
	const msgs, size = 4000, 100
	c.behind.Store(true)
	marks := map[int]int{}
	hooks.held = func() { marks[mark()]++ }
	written := make(chan error, 1)
	go func() {
		msg := bytes.Repeat([]byte{'m'}, size)
		for i := range msgs {
			if _, err := wc.Write(msg); err != nil {
				written <- err
				return
			}
			if i%4 == 0 {
				time.Sleep(20 * time.Microsecond)
			}
		}
		written <- nil
	}()
	buf := make([]byte, 64<<10)
	reads, got := 0, 0
	for got < msgs*size {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += n
		reads++
	}
	if err := <-written; err != nil {
		t.Fatal(err)
	}
	// A reader woken for every segment makes about one read per pause.
	t.Logf("behind: %d reads for %d messages of %d bytes", reads, msgs, size)
	if reads > msgs/20 {
		t.Fatalf("behind: %d reads for %d messages of %d bytes, want at most %d", reads, msgs, size, msgs/20)
	}
	if marks[catchUpLowat] != reads {
		t.Fatalf("behind: low-water marks %v over %d reads, want %d each time", marks, reads, catchUpLowat)
	}

	// A writer that stops below the mark is read all the same.
	hooks.maxWait, hooks.held = 0, nil
	if _, err := wc.Write([]byte("keepalive")); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		n, _ := c.Read(buf)
		done <- n
	}()
	select {
	case n := <-done:
		if n != len("keepalive") {
			t.Fatalf("read %d bytes of a 9-byte message", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a message below the low-water mark was not read within 10 s")
	}

	// Caught up: the mark goes back to one byte before the next read.
	c.behind.Store(false)
	if _, err := wc.Write([]byte("live")); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err != nil || n != len("live") {
		t.Fatalf("caught up: read %d bytes (%v), want 4", n, err)
	}
	if m := mark(); m != 1 {
		t.Fatalf("caught up: low-water mark %d, want 1", m)
	}
}
