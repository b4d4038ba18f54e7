package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	gomysql "github.com/go-sql-driver/mysql"

	"github.com/tributary-io/tributary/connect"
)

// A task fails retriably (connect.Retriable) only when it lost, or could
// not get, its connection to the database server: the server restarts,
// crashes, shuts down, kills the session, or the network drops. The
// runtime then runs the task again from its committed offsets, as Kafka
// Connect restarts a Debezium task after a RetriableException, instead of
// the binlog client reconnecting by itself from a position the connector
// no longer controls. Everything else (configuration, privileges, data the
// connector cannot convert, a binlog position the server no longer has)
// fails the task for good: running it again would only repeat the error.

// retriableCodes are the server and client error numbers that mean the
// session is gone or the server cannot take it right now, with the same
// request bound to work once it is back.
var retriableCodes = map[uint16]string{
	1040: "too many connections",            // ER_CON_COUNT_ERROR (Debezium retries SQLSTATE 08004)
	1053: "server shutdown in progress",     // ER_SERVER_SHUTDOWN
	1152: "connection aborted",              // ER_ABORTING_CONNECTION
	1158: "network read error",              // ER_NET_READ_ERROR
	1159: "network read timeout",            // ER_NET_READ_INTERRUPTED
	1160: "network write error",             // ER_NET_ERROR_ON_WRITE
	1161: "network write timeout",           // ER_NET_WRITE_INTERRUPTED
	1184: "connection aborted",              // ER_NEW_ABORTING_CONNECTION
	1203: "user has too many connections",   // ER_TOO_MANY_USER_CONNECTIONS
	1317: "query interrupted",               // ER_QUERY_INTERRUPTED: a shutdown interrupts running statements
	1927: "connection killed",               // ER_CONNECTION_KILLED (MariaDB)
	2006: "server has gone away",            // CR_SERVER_GONE_ERROR
	2013: "lost connection during query",    // CR_SERVER_LOST
	3168: "server not available",            // ER_SERVER_ISNT_AVAILABLE (MySQL, while it starts or shuts down)
	3169: "session was killed",              // ER_SESSION_WAS_KILLED (MySQL)
	4031: "disconnected for being inactive", // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8)
}

// errBinlogGone is MySQL's ER_MASTER_FATAL_ERROR_READING_BINLOG, which the
// server sends on the binlog stream when the requested file, position or
// GTID is not (or no longer) in its binary logs.
const errBinlogGone = 1236

// serverErrorCode returns the MySQL error number of err (from either
// driver), or 0.
func serverErrorCode(err error) uint16 {
	var my *gomysql.MySQLError
	if errors.As(err, &my) {
		return my.Number
	}
	var gm *gmysql.MyError
	if errors.As(err, &gm) {
		return gm.Code
	}
	return 0
}

// connectionLost reports whether err means the database connection broke
// or could not be made, as opposed to the server rejecting the request.
func connectionLost(err error) bool {
	if err == nil {
		return false
	}
	if code := serverErrorCode(err); code != 0 {
		_, ok := retriableCodes[code]
		return ok
	}
	// go-mysql's packet layer wraps every read and write failure of the
	// binlog connection in its ErrBadConn (the cause is only text:
	// "io.ReadFull(header) failed. err EOF"); go-sql-driver reports a
	// broken connection as ErrInvalidConn or driver.ErrBadConn.
	if errors.Is(err, gmysql.ErrBadConn) || errors.Is(err, gomysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE,
		syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENETDOWN, syscall.EHOSTDOWN} {
		if errors.Is(err, errno) {
			return true
		}
	}
	// A host name that does not resolve is a configuration error; a DNS
	// server that does not answer is not.
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}

// noRetryError carries an error that did not come from the database
// connection (the runtime's writer, the schema history topic in Kafka) or
// that no restart can fix although it may look like one (a binlog event
// that does not decode ends in io.EOF). classify leaves it as it is: a
// writer error the runtime marked retriable stays retriable, anything else
// stays final.
type noRetryError struct{ err error }

func (e *noRetryError) Error() string { return e.err.Error() }
func (e *noRetryError) Unwrap() error { return e.err }

func noRetry(err error) error {
	if err == nil {
		return nil
	}
	var nr *noRetryError
	if errors.As(err, &nr) {
		return err
	}
	return &noRetryError{err}
}

// classify marks err retriable when it means a lost database connection.
// An error after ctx ended is the task being stopped, not a failure to
// retry.
func classify(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || connect.IsRetriable(err) {
		return err
	}
	var nr *noRetryError
	if errors.As(err, &nr) {
		return err
	}
	// An admin query bounded by connect.timeout.ms ran out of time: the
	// server accepts connections but does not answer (hung, or the
	// network drops packets).
	if connectionLost(err) || errors.Is(err, context.DeadlineExceeded) {
		return connect.Retriable(err)
	}
	return err
}

// idleConn fails a Read that has waited idle for data from the server:
// the binlog connection's liveness check (connect.keep.alive). The server
// sends a heartbeat event whenever the binlog is quiet for the heartbeat
// period, so a healthy connection is never silent that long; a network cut
// that drops packets without a reset, or a hung server, is. go-mysql's own
// ReadTimeout cannot be used for this: it arms the deadline after each
// packet, so it also fires when the connector, not the server, was slow
// (the reader goroutine blocks on its full event queue while Kafka is
// slow), failing a healthy connection. Here the deadline is armed when a
// Read starts waiting.
type idleConn struct {
	net.Conn
	idle time.Duration

	mu       sync.Mutex
	deadline time.Time // set through SetReadDeadline/SetDeadline (go-mysql's Close uses it to end a blocked read)
}

func (c *idleConn) effective() time.Time {
	d := time.Now().Add(c.idle)
	if !c.deadline.IsZero() && c.deadline.Before(d) {
		d = c.deadline
	}
	return d
}

func (c *idleConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetReadDeadline(c.effective())
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(b)
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ne.Timeout() {
		c.mu.Lock()
		explicit := !c.deadline.IsZero() && !time.Now().Before(c.deadline)
		c.mu.Unlock()
		if !explicit {
			return n, &idleTimeoutError{idle: c.idle, err: err}
		}
	}
	return n, err
}

func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetReadDeadline(c.effective())
}

func (c *idleConn) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetWriteDeadline(t)
}

// idleTimeoutError says which setting decided that the server was gone.
type idleTimeoutError struct {
	idle time.Duration
	err  error
}

func (e *idleTimeoutError) Error() string {
	return "no data from the server, not even a heartbeat, for " + e.idle.String() +
		" (connect.keep.alive.interval.ms): " + e.err.Error()
}
func (e *idleTimeoutError) Unwrap() error { return e.err }

// binlogDialer dials the binlog connection within connect.timeout.ms and,
// with idle > 0, wraps it in an idleConn. With nongraceful
// (use.nongraceful.disconnect) the socket lingers 0 s, so closing it resets
// the connection at once instead of waiting for the peer, as Debezium's
// socket.setSoLinger(true, 0).
func binlogDialer(connectTimeout, idle time.Duration, nongraceful bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: connectTimeout}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return conn, err
		}
		if tc, ok := conn.(*net.TCPConn); ok && nongraceful {
			if err := tc.SetLinger(0); err != nil {
				conn.Close()
				return nil, fmt.Errorf("use.nongraceful.disconnect: %w", err)
			}
		}
		if idle <= 0 {
			return conn, nil
		}
		return &idleConn{Conn: conn, idle: idle}, nil
	}
}
