package connect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

type temporary struct{ tmp bool }

func (e temporary) Error() string   { return fmt.Sprintf("temporary=%v", e.tmp) }
func (e temporary) Temporary() bool { return e.tmp }

func TestRetryPolicy(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	cases := []struct {
		name      string
		policy    RetryPolicy
		failures  int   // calls that fail before one succeeds
		err       error // what they fail with
		wantCalls int
		wantErr   bool
	}{
		{"no retries by default", RetryPolicy{}, 2, refused, 1, true},
		{"network error retried", RetryPolicy{Timeout: 10 * time.Second, MaxDelay: 10 * time.Millisecond}, 2, refused, 3, false},
		{"registry 5xx retried", RetryPolicy{Timeout: 10 * time.Second, MaxDelay: 10 * time.Millisecond}, 1, fmt.Errorf("registry: %w", temporary{true}), 2, false},
		{"retriable error retried forever (-1)", RetryPolicy{Timeout: -1, MaxDelay: time.Millisecond}, 5, Retriable(errors.New("lost")), 6, false},
		{"bad data not retried", RetryPolicy{Timeout: 10 * time.Second}, 2, errors.New("value does not fit"), 1, true},
		{"not temporary not retried", RetryPolicy{Timeout: 10 * time.Second}, 2, temporary{false}, 1, true},
		{"timeout ends retries", RetryPolicy{Timeout: 200 * time.Millisecond, MaxDelay: 50 * time.Millisecond}, 1000, refused, -1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			start := time.Now()
			err := tc.policy.Do(context.Background(), func() error {
				calls++
				if calls <= tc.failures {
					return tc.err
				}
				return nil
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if tc.wantCalls >= 0 && calls != tc.wantCalls {
				t.Fatalf("%d calls, want %d", calls, tc.wantCalls)
			}
			if tc.wantCalls < 0 && (calls < 2 || time.Since(start) > 5*time.Second) {
				t.Fatalf("%d calls in %v", calls, time.Since(start))
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (RetryPolicy{Timeout: -1}).Do(ctx, func() error { return refused }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
