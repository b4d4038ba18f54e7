package signal

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A signal for a task that is assigned but still starting waits for the
// task's inbox instead of failing; without one it gives up with ctx.
func TestWaitRegistered(t *testing.T) {
	ibs := NewInboxes()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ibs.WaitRegistered(ctx, "wait-none"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitRegistered without a task = %v, want the deadline", err)
	}

	ch := make(chan Record, 1)
	unregister := make(chan func(), 2)
	go func() {
		time.Sleep(50 * time.Millisecond)
		unregister <- ibs.Register("wait-other", make(chan Record)) // another connector: must not end the wait
		time.Sleep(50 * time.Millisecond)
		unregister <- ibs.Register("wait-late", ch)
	}()
	defer func() {
		(<-unregister)()
		(<-unregister)()
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := ibs.WaitRegistered(ctx2, "wait-late"); err != nil {
		t.Fatalf("WaitRegistered = %v, want the late task's inbox", err)
	}
	if _, err := ibs.Deliver(ctx2, "wait-late", Record{Type: "log"}); err != nil {
		t.Fatal(err)
	}
	if r := <-ch; r.Type != "log" || r.Channel != ChannelREST {
		t.Fatalf("delivered %+v", r)
	}
}
