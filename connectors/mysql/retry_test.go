package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	gomysql "github.com/go-sql-driver/mysql"
	pingcap "github.com/pingcap/errors"

	"github.com/tributary-io/tributary/connect"
)

// The errors are built the way the drivers build them: go-mysql wraps
// with pingcap/errors (Trace, Wrapf), go-sql-driver returns its sentinels
// or *MySQLError, net returns *OpError around a syscall.Errno.
func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}
	tests := []struct {
		name      string
		err       error
		retriable bool
	}{
		{"binlog stream EOF (server stopped or crashed)", pingcap.Trace(pingcap.Wrapf(gmysql.ErrBadConn, "io.ReadFull(header) failed. err %v", io.EOF)), true},
		{"binlog idle timeout", pingcap.Wrapf(gmysql.ErrBadConn, "io.ReadFull(header) failed. err %v", &idleTimeoutError{idle: time.Second, err: os.ErrDeadlineExceeded}), true},
		{"connection refused at restart", fmt.Errorf("connect to db:3306 as %q: %w", "u", refused), true},
		{"connection refused from go-mysql", fmt.Errorf("start binlog stream: %w", pingcap.Trace(refused)), true},
		{"connection reset", reset, true},
		{"i/o timeout", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, true},
		{"DNS server timeout", &net.DNSError{Err: "timeout", Name: "db", IsTimeout: true}, true},
		{"go-sql-driver invalid connection", fmt.Errorf("snapshot: read table a.b: %w", gomysql.ErrInvalidConn), true},
		{"database/sql bad connection", driver.ErrBadConn, true},
		{"bare EOF", io.ErrUnexpectedEOF, true},
		{"1053 server shutdown", &gomysql.MySQLError{Number: 1053, Message: "Server shutdown in progress"}, true},
		{"1053 on the binlog stream", pingcap.Trace(&gmysql.MyError{Code: 1053, Message: "Server shutdown in progress"}), true},
		{"2013 lost connection", &gomysql.MySQLError{Number: 2013}, true},
		{"2006 gone away", &gmysql.MyError{Code: 2006}, true},
		{"1927 connection killed", &gomysql.MySQLError{Number: 1927, Message: "Connection was killed"}, true},
		{"1040 too many connections", &gomysql.MySQLError{Number: 1040}, true},
		{"admin query timed out", fmt.Errorf("read privileges: %w", context.DeadlineExceeded), true},
		{"access denied", &gomysql.MySQLError{Number: 1045, Message: "Access denied for user 'u'"}, false},
		{"unknown database", &gomysql.MySQLError{Number: 1049}, false},
		{"binlog purged", pingcap.Trace(&gmysql.MyError{Code: 1236, Message: "Could not find first log file name in binary log index file"}), false},
		{"unknown host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "dbx", IsNotFound: true}}, false},
		{"configuration", errors.New("database.ssl.mode \"x\" is not supported"), false},
		{"writer failure with a network cause", noRetry(fmt.Errorf("produce: %w", reset)), false},
		{"writer failure the runtime marked retriable", noRetry(connect.Retriable(errors.New("broker restarting"))), true},
		{"decode error ending in EOF", noRetry(fmt.Errorf("cannot decode: %w", io.EOF)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := classify(context.Background(), tc.err)
			if connect.IsRetriable(got) != tc.retriable {
				t.Errorf("retriable = %v, want %v for %v", connect.IsRetriable(got), tc.retriable, tc.err)
			}
			if got.Error() != tc.err.Error() {
				t.Errorf("message changed: %q -> %q", tc.err, got)
			}
		})
	}
	// a stopping task is not failing
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := classify(ctx, io.EOF); connect.IsRetriable(err) {
		t.Error("error after the context ended marked retriable")
	}
	if classify(context.Background(), nil) != nil {
		t.Error("nil classified as an error")
	}
}

// readError separates what the server or the connection said from events
// go-mysql cannot decode, and names the position.
func TestReadError(t *testing.T) {
	tk := &task{c: &connectorState{cfg: &settings{host: "db", port: 3306}}}
	o := newOffsetState()
	o.setBinlogStartPoint("binlog.000007", 1234)
	tests := []struct {
		name      string
		err       error
		retriable bool
		contains  []string
	}{
		{"connection lost", pingcap.Wrapf(gmysql.ErrBadConn, "io.ReadFull(header) failed. err %v", io.EOF), true, []string{"binlog.000007 position 1234", "db:3306"}},
		{"server shutdown", &gmysql.MyError{Code: 1053, Message: "Server shutdown in progress"}, true, []string{"binlog.000007 position 1234"}},
		{"purged", &gmysql.MyError{Code: 1236, Message: "Could not find GTID state requested by slave in any binlog files"}, false, []string{"binlog.000007 position 1234", "snapshot.mode=when_needed"}},
		{"truncated table map event", pingcap.Trace(io.EOF), false, []string{"cannot decode", "binlog.000007 position 1234"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify(context.Background(), tk.readError(o, tc.err))
			if connect.IsRetriable(err) != tc.retriable {
				t.Errorf("retriable = %v, want %v: %v", connect.IsRetriable(err), tc.retriable, err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestLivenessTimes(t *testing.T) {
	tests := []struct {
		keepAlive               bool
		interval, heartbeat     time.Duration
		wantHeartbeat, wantIdle time.Duration
	}{
		{true, 60 * time.Second, 0, 48 * time.Second, 60 * time.Second}, // Debezium's defaults: 0.8 of the interval
		{true, 60 * time.Second, 5 * time.Second, 5 * time.Second, 60 * time.Second},
		{true, 2 * time.Second, 0, 1600 * time.Millisecond, 2 * time.Second},
		{true, 10 * time.Millisecond, 0, 160 * time.Millisecond, 200 * time.Millisecond}, // floors keep heartbeats inside the idle time
		{false, 60 * time.Second, 0, 0, 0},
		{false, 60 * time.Second, 10 * time.Second, 10 * time.Second, 0},
		{true, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		hb, idle := livenessTimes(tc.keepAlive, tc.interval, tc.heartbeat)
		if hb != tc.wantHeartbeat || idle != tc.wantIdle {
			t.Errorf("livenessTimes(%v, %s, %s) = %s, %s; want %s, %s", tc.keepAlive, tc.interval, tc.heartbeat, hb, idle, tc.wantHeartbeat, tc.wantIdle)
		}
		if idle > 0 && hb >= idle {
			t.Errorf("heartbeat %s not below the idle timeout %s", hb, idle)
		}
	}
}

// The idle timeout counts from when a Read starts waiting: data that
// arrived while the reader was busy elsewhere does not time out, silence
// does, and an explicit deadline (go-mysql's Close) still ends a read.
func TestIdleConn(t *testing.T) {
	const idle = 150 * time.Millisecond
	t.Run("silence", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		c := &idleConn{Conn: client, idle: idle}
		start := time.Now()
		_, err := c.Read(make([]byte, 1))
		var it *idleTimeoutError
		if !errors.As(err, &it) || !strings.Contains(err.Error(), "connect.keep.alive.interval.ms") {
			t.Fatalf("read error %v, want an idle timeout naming connect.keep.alive.interval.ms", err)
		}
		if d := time.Since(start); d < idle || d > 20*idle {
			t.Errorf("timed out after %s, want about %s", d, idle)
		}
		if !connectionLost(pingcap.Wrapf(gmysql.ErrBadConn, "err %v", err)) {
			t.Error("idle timeout is not a lost connection")
		}
	})
	t.Run("slow reader", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		c := &idleConn{Conn: client, idle: idle}
		go func() {
			for i := 0; i < 3; i++ {
				server.Write([]byte{byte(i)})
			}
		}()
		buf := make([]byte, 1)
		for i := 0; i < 3; i++ {
			// busy for longer than the idle time between reads
			time.Sleep(2 * idle)
			if _, err := c.Read(buf); err != nil || buf[0] != byte(i) {
				t.Fatalf("read %d: %v (% x)", i, err, buf)
			}
		}
	})
	t.Run("explicit deadline", func(t *testing.T) {
		client, server := net.Pipe()
		defer server.Close()
		c := &idleConn{Conn: client, idle: time.Hour}
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 1))
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		if err := c.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			var it *idleTimeoutError
			if err == nil || errors.As(err, &it) {
				t.Errorf("read ended with %v, want the plain deadline error", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("explicit deadline did not end the blocked read")
		}
	})
}

func TestGtidSubtractAndDomains(t *testing.T) {
	tests := []struct{ a, b, want string }{
		{"u:1-10", "u:1-10", ""},
		{"u:1-10", "u:1-4", "u:5-10"},
		{"u:1-10", "u:3-4:8", "u:1-2:5-7:9-10"},
		{"u:1-10,v:1-3", "u:1-20", "v:1-3"},
		{"u:5-6", "", "u:5-6"},
	}
	for _, tc := range tests {
		a, _ := parseMySQLGtidSet(tc.a)
		b, _ := parseMySQLGtidSet(tc.b)
		want, _ := parseMySQLGtidSet(tc.want)
		if got := a.subtract(b); got.String() != want.String() {
			t.Errorf("%s - %s = %s, want %s", tc.a, tc.b, got, want)
		}
	}
	m, err := maxSeqByDomain("0-1-5,0-2-9,1-1-3, ")
	if err != nil || len(m) != 2 || m[0].String() != "0-2-9" || m[1].String() != "1-1-3" {
		t.Errorf("maxSeqByDomain = %v, %v", m, err)
	}
	if _, err := maxSeqByDomain("0-1"); err == nil {
		t.Error("malformed MariaDB GTID accepted")
	}
}

// No binlog or snapshot value, however wrong for its column, panics the
// converters: they return an error (which rowValue prefixes with the table
// and column, handleRows with the binlog position).
func TestConvertersNeverPanic(t *testing.T) {
	m := newSchemaModel()
	if _, err := m.applyDDL("CREATE DATABASE d", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := m.applyDDL(typesTable, "d"); err != nil {
		t.Fatal(err)
	}
	tbl := m.table(TableID{DB: "d", Table: "types"})
	if tbl == nil {
		t.Fatal("types table not in the model")
	}
	values := []any{nil, int8(-1), int16(-1), int32(-1), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 7,
		float32(1.5), math.Inf(1), math.NaN(), "", "garbage", "-", "9999-99-99 99:99:99.9999999", "-838:59:59.0000009",
		[]byte{}, []byte{0xff, 0xfe, 0x00}, []byte("x"), time.Time{}, struct{}{}, []any{1}}
	texts := [][]byte{nil, {}, []byte("garbage"), []byte("-"), []byte("0000-00-00 00:00:00"), []byte("99999999999999999999999999"), {0xff, 0xfe}}
	for _, opts := range []*typeOptions{
		{decimalMode: "precise", bigintUnsigned: "long", timePrecision: "adaptive_time_microseconds", binaryMode: "bytes"},
		{decimalMode: "string", bigintUnsigned: "precise", timePrecision: "connect", binaryMode: "base64"},
	} {
		for _, col := range tbl.Columns {
			cv, err := newConverter(tbl.ID, col, opts)
			if err != nil {
				t.Fatalf("column %s: %v", col.Name, err)
			}
			for _, v := range values {
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("column %s (%s): binlog value %#v panics: %v", col.Name, col.TypeName, v, p)
						}
					}()
					_, _ = cv.fromBinlog(v)
				}()
			}
			for _, raw := range texts {
				func() {
					defer func() {
						if p := recover(); p != nil {
							t.Errorf("column %s (%s): text %q panics: %v", col.Name, col.TypeName, raw, p)
						}
					}()
					_, _ = cv.fromText(raw)
				}()
			}
		}
	}
}
