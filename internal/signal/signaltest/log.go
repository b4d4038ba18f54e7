// Package signaltest holds what the connectors' signal and incremental
// snapshot tests share.
package signaltest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log records a task's log lines (level, message and attributes) so that
// a test can wait for or check what the connector logged; lines at Info
// and above go to the test log too. It is a slog.Handler.
type Log struct {
	t     testing.TB
	mu    *sync.Mutex
	lines *[]string
	attrs []slog.Attr
}

// NewLog returns an empty log whose lines also go to t's log.
func NewLog(t testing.TB) *Log {
	return &Log{t: t, mu: &sync.Mutex{}, lines: new([]string)}
}

func (l *Log) Enabled(context.Context, slog.Level) bool { return true }
func (l *Log) WithGroup(string) slog.Handler            { return l }

// WithAttrs shares the lines: a Logger.With logger writes to the same log.
func (l *Log) WithAttrs(as []slog.Attr) slog.Handler {
	v := *l
	v.attrs = append(append([]slog.Attr(nil), l.attrs...), as...)
	return &v
}

func (l *Log) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	line := b.String()
	l.mu.Lock()
	*l.lines = append(*l.lines, line)
	l.mu.Unlock()
	if r.Level >= slog.LevelInfo {
		l.t.Log(line)
	}
	return nil
}

// Lines returns the lines logged so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), *l.lines...)
}

// WaitConsume is Wait that also forgets the line it found and every line
// before it, so that the next Wait looks only at what came after. Lines
// logged after the match are kept: a fast task may already have logged
// what the test waits for next (forgetting the whole log lost a
// snapshot's completion that came 48 ms after its resumption).
func (l *Log) WaitConsume(t testing.TB, timeout time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l.mu.Lock()
		for i, line := range *l.lines {
			if containsAll(line, parts) {
				*l.lines = append([]string(nil), (*l.lines)[i+1:]...)
				l.mu.Unlock()
				return line
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s", parts, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func containsAll(line string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(line, p) {
			return false
		}
	}
	return true
}

// Find returns the first line containing every part.
func (l *Log) Find(parts ...string) (string, bool) {
	for _, line := range l.Lines() {
		if containsAll(line, parts) {
			return line, true
		}
	}
	return "", false
}

// Wait waits up to timeout for a line containing every part and returns
// it; the test fails when none comes.
func (l *Log) Wait(t testing.TB, timeout time.Duration, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if line, ok := l.Find(parts...); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s", parts, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
