package postgres

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// replStreamConn is replConn with a 64 KiB read buffer between the socket
// and pgproto3, read through a catchUpReader; the buffer is returned so
// the stream can see what it holds.
func (c *pgConfig) replStreamConn(ctx context.Context) (*pgconn.PgConn, *bufio.Reader, *catchUpReader, error) {
	cfg, err := pgconn.ParseConfig(c.dsn(true))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open replication connection to %s:%d/%s as %s: %w", c.host, c.port, c.dbname, c.user, explainConnect(err))
	}
	var rb *bufio.Reader
	var cr *catchUpReader
	// The TCP socket under any TLS, for its receive low-water mark.
	// pgconn dials, then builds the frontend of that connection.
	var sock syscall.RawConn
	if dial := cfg.DialFunc; dial != nil {
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dial(ctx, network, addr)
			sock = nil
			if tc, ok := conn.(*net.TCPConn); ok {
				sock, _ = tc.SyscallConn()
			}
			return conn, err
		}
	}
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		cr = &catchUpReader{r: r, sock: sock, hooks: c.catchUpHooks}
		rb = bufio.NewReaderSize(cr, replReadSize)
		return pgproto3.NewFrontend(rb, w)
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("open replication connection to %s:%d/%s as %s: %w", c.host, c.port, c.dbname, c.user, explainConnect(err))
	}
	return conn, rb, cr, nil
}

// catchUpReader makes reads larger while the stream is far behind its
// transactions' commits. Then the walsender is the slower side: it sends
// each message as it decodes it, a TCP segment each, and a reader that
// keeps up is woken for every one of them: read(2), epoll and futex were
// 60% of the process's CPU in a pg-stream-issue14 Avro run, with about
// one context switch per two events.
//
// On a TCP socket the kernel holds the messages back: behind, the
// socket's receive low-water mark (SO_RCVLOWAT) is catchUpLowat, so the
// poller reports it readable only once that much has arrived (or the
// receive buffer fills), and a read that waits longer than
// catchUpMaxWait lowers it to one byte, so that a walsender that stops
// sending (it caught up, or decodes a large transaction) is read at
// once. Caught up, the mark is one byte and no read waits. Sleeping
// between reads instead saves reads but not wake-ups: the poller is
// edge-triggered, so every arriving segment still wakes an idle thread
// (a trace showed 22 000 processor wake-ups a second while the reader
// slept). Where there is no TCP socket (a Unix socket) or the kernel has
// no low-water mark, a read after one that brought less than
// catchUpBurst sleeps catchUpWait first.
//
// Behind is judged from each BEGIN: the walsender sent it more than
// catchUpLag after the transaction committed, both on the server's
// clock; a keepalive that asks for no reply says the walsender waits for
// WAL, so the stream caught up. XLogData's "end of WAL on the server"
// cannot say it: a logical walsender writes the message's own LSN there
// (WalSndPrepareWrite), or 0 inside a transaction. Either way no event
// waits that would not have waited for the backlog.
type catchUpReader struct {
	r      io.Reader
	behind atomic.Bool
	// sock is the connection's TCP socket; nil: reads sleep instead.
	sock syscall.RawConn
	// lowat is the low-water mark last set on sock (0: the kernel's
	// default of one byte); wake lowers it when a read waits too long.
	lowat atomic.Int32
	wake  *time.Timer
	small bool // the last read brought less than catchUpBurst
	hooks *catchUpHooks
}

// catchUpHooks let tests see and time the catch-up reader; nil in use.
type catchUpHooks struct {
	sleep  func(time.Duration) // replaces time.Sleep
	judged func(behind bool)   // each BEGIN's judgement
	held   func()              // a read that was held back (slept, or the mark raised)
	// maxWait replaces catchUpMaxWait.
	maxWait time.Duration
}

const (
	catchUpLag     = time.Second // a transaction sent this long after its commit is a backlog's
	catchUpLowat   = 32 << 10
	catchUpMaxWait = 20 * time.Millisecond
	catchUpBurst   = 16 << 10
	catchUpWait    = 500 * time.Microsecond
)

// sawBegin records how late the walsender sent a transaction's BEGIN
// (sent: the XLogData's send time) after its commit.
func (c *catchUpReader) sawBegin(sent, committed time.Time) {
	if c == nil || sent.IsZero() || committed.IsZero() {
		return
	}
	behind := sent.Sub(committed) > catchUpLag
	c.behind.Store(behind)
	if c.hooks != nil && c.hooks.judged != nil {
		c.hooks.judged(behind)
	}
}

// sawKeepalive records a keepalive that asks for no reply: a logical
// walsender sends one when it has decoded all flushed WAL and waits for
// more (WalSndWaitForWal), so the stream has caught up. (The keepalives
// it sends while behind, when a reply is overdue, ask for one.)
func (c *catchUpReader) sawKeepalive(replyRequested bool) {
	if c != nil && !replyRequested {
		c.behind.Store(false)
	}
}

func (c *catchUpReader) Read(p []byte) (int, error) {
	behind := c.behind.Load()
	if c.sock != nil {
		want := int32(1)
		if behind {
			want = catchUpLowat
		}
		if c.lowat.Load() != want {
			if err := c.setLowat(c.sock, want); err != nil {
				// No low-water mark here: sleep instead.
				c.sock = nil
				return c.Read(p)
			}
		}
		if !behind {
			return c.r.Read(p)
		}
		c.heldBack()
		wait := catchUpMaxWait
		if c.hooks != nil && c.hooks.maxWait > 0 {
			wait = c.hooks.maxWait
		}
		if c.wake == nil {
			// The timer keeps its own copy of sock: Read may drop it.
			sock := c.sock
			c.wake = time.AfterFunc(wait, func() { _ = c.setLowat(sock, 1) })
		} else {
			c.wake.Reset(wait)
		}
		n, err := c.r.Read(p)
		c.wake.Stop()
		return n, err
	}
	if c.small && behind {
		c.heldBack()
		if c.hooks != nil && c.hooks.sleep != nil {
			c.hooks.sleep(catchUpWait)
		} else {
			time.Sleep(catchUpWait)
		}
	}
	n, err := c.r.Read(p)
	c.small = n < catchUpBurst
	return n, err
}

func (c *catchUpReader) heldBack() {
	if c.hooks != nil && c.hooks.held != nil {
		c.hooks.held()
	}
}

// setLowat sets the socket's receive low-water mark. Lowering it makes
// the kernel report data already there as readable at once.
func (c *catchUpReader) setLowat(sock syscall.RawConn, n int32) error {
	c.lowat.Store(n)
	var serr error
	if err := sock.Control(func(fd uintptr) { serr = setRcvLowat(fd, int(n)) }); err != nil {
		return err
	}
	return serr
}
