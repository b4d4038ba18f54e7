package postgres

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// readResult reads one byte from c in the background.
func readResult(c net.Conn) <-chan error {
	ch := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		ch <- err
	}()
	return ch
}

func TestReadDeadlines(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	defer server.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rd := watchReads(ctx, client)
	defer rd.stop()

	now := time.Now()
	first := now.Add(50 * time.Millisecond)
	if err := rd.arm(now, first); err != nil {
		t.Fatal(err)
	}
	// A later deadline keeps the earlier one armed: no call per message.
	if err := rd.arm(now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !rd.armed.Equal(first) {
		t.Fatalf("armed = %v, want the earlier deadline %v", rd.armed, first)
	}
	// An earlier deadline than the armed one replaces it.
	earlier := now.Add(20 * time.Millisecond)
	if err := rd.arm(now, earlier); err != nil {
		t.Fatal(err)
	}
	if !rd.armed.Equal(earlier) {
		t.Fatalf("armed = %v, want %v", rd.armed, earlier)
	}
	select {
	case err := <-readResult(client):
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read did not stop at the armed deadline")
	}
	rd.expired()

	// Once re-armed far ahead, a read blocks until the context ends.
	now = time.Now()
	if err := rd.arm(now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res := readResult(client)
	select {
	case err := <-res:
		t.Fatalf("read returned %v before the deadline or cancellation", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after cancellation: %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not interrupt the read")
	}
	// Arming after the cancellation must not make reads block again.
	rd.expired()
	now = time.Now()
	if err := rd.arm(now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-readResult(client):
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read after cancellation and re-arm: %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a deadline armed after cancellation re-opened reads")
	}
}
