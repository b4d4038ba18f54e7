package registry_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fullBacklog listens with a backlog of 0 and fills it, so that Linux
// drops further SYNs and a dial hangs until its timeout.
func fullBacklog(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Skip(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Skip(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Skip(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the backlog never filled")
	return ""
}

// TestConnectTimeout: http.connect.timeout.ms bounds establishing the
// connection.
func TestConnectTimeout(t *testing.T) {
	addr := fullBacklog(t)
	c := clientFrom(t, map[string]string{"schema.registry.url": "http://" + addr, "http.connect.timeout.ms": "100", "max.retries": "0"})
	_, err := c.SchemaByID(context.Background(), 1)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "dial") {
		t.Fatalf("err = %v, want a dial timeout", err)
	}
}
