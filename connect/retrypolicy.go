package connect

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"
)

// RetryPolicy is Kafka Connect's errors.retry.timeout and
// errors.retry.delay.max.ms: how long a conversion or transformation that
// failed for a passing reason (a schema registry that cannot be reached
// or answers 5xx, a lost connection) is tried again before the failure is
// handled by errors.tolerance. A failure that retrying cannot fix (a
// value that does not fit its schema) is never retried.
type RetryPolicy struct {
	// Timeout is errors.retry.timeout: 0 means no retries, negative
	// means retry for as long as the task runs.
	Timeout time.Duration
	// MaxDelay is errors.retry.delay.max.ms, the longest pause between
	// two attempts.
	MaxDelay time.Duration
}

// minRetryDelay is Kafka Connect's first pause (RetryWithToleranceOperator
// RETRIES_DELAY_MIN_MS), doubled after each attempt up to MaxDelay.
const minRetryDelay = 300 * time.Millisecond

// Do runs op until it succeeds, fails for good, or the policy's time is
// spent; it returns op's last error (or ctx's when ctx ends first).
func (p RetryPolicy) Do(ctx context.Context, op func() error) error {
	err := op()
	if err == nil || p.Timeout == 0 || !IsTransient(err) {
		return err
	}
	deadline := time.Now().Add(p.Timeout)
	for attempt := 0; ; attempt++ {
		delay := minRetryDelay << min(attempt, 20)
		if p.MaxDelay > 0 && delay > p.MaxDelay {
			// Kafka Connect spreads retries that hit the cap over it
			delay = time.Duration(rand.Int64N(int64(p.MaxDelay))) + 1
		}
		if p.Timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return err
			}
			delay = min(delay, left)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if err = op(); err == nil || !IsTransient(err) {
			return err
		}
	}
}

// IsTransient reports whether err is a failure that may pass: a
// RetriableError, a network error, or an error that says it is temporary
// (a schema registry's 5xx reply).
func IsTransient(err error) bool {
	if IsRetriable(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var tmp interface{ Temporary() bool }
	return errors.As(err, &tmp) && tmp.Temporary()
}
