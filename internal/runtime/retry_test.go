package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// flakyTask fails with a retriable error (a lost connection) each time it
// has written every records, until it has failed failures times; then it
// streams until cancelled. Each run resumes after the committed offset.
type flakyTask struct {
	every, n int
	failures int
	offsets  connect.OffsetReader
	runs     int
	starts   []int64 // first position of each run
}

func (f *flakyTask) Run(ctx context.Context, w connect.RecordWriter) error {
	f.runs++
	start := int64(0)
	off, err := f.offsets.Offset(ctx, part)
	if err != nil {
		return err
	}
	if off != nil {
		start = off["pos"].(int64) + 1
	}
	f.starts = append(f.starts, start)
	for i := start; i < int64(f.n); i++ {
		rec := &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": i},
			Topic: "flaky", Partition: -1, ValueSchema: connect.Prim(connect.Int64), Value: i}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return err
		}
		if f.runs <= f.failures && (i+1)%int64(f.every) == 0 {
			return connect.Retriable(fmt.Errorf("read from source: %w", errors.New("connection reset by peer")))
		}
	}
	<-ctx.Done()
	return nil
}

func TestSourceRestartsTaskAfterRetriableError(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxRetries int
		failures   int
		wantErr    string // "" when the task must end up running
	}{
		{name: "unlimited", maxRetries: -1, failures: 3},
		{name: "within the limit", maxRetries: 3, failures: 3},
		{name: "disabled", maxRetries: 0, failures: 1, wantErr: "connection reset by peer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broker, err := kafka.StartEmbedded(0, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer broker.Close()
			store := offsets.NewMemory()
			task := &flakyTask{every: 100, n: 1000, failures: tc.failures}
			task.offsets = OffsetReader{Store: store, Connector: "c"}
			src, p := newTestSource(t, broker, store, task)
			defer p.Close()
			src.MaxRetries, src.RetryWait = tc.maxRetries, 10*time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- src.Run(ctx) }()
			if tc.wantErr != "" {
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("Run = %v, want an error with %q", err, tc.wantErr)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("task did not fail")
				}
				return
			}
			deadline := time.Now().Add(20 * time.Second)
			for src.Stats.Written.Load() < 1000 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			// Every restart resumes right after what was acknowledged
			// before it: nothing is written twice.
			if got := src.Stats.Written.Load(); got != 1000 {
				t.Fatalf("written %d records, want 1000 (runs started at %v)", got, task.starts)
			}
			if want := []int64{0, 100, 200, 300}; fmt.Sprint(task.starts) != fmt.Sprint(want) {
				t.Fatalf("runs started at %v, want %v", task.starts, want)
			}
		})
	}
}

func TestSourceGivesUpAfterMaxRetries(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	// Fails before writing anything, every time.
	src, p := newTestSource(t, broker, store, &alwaysRetriable{})
	defer p.Close()
	src.MaxRetries, src.RetryWait = 2, time.Millisecond
	err = src.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "errors.max.retries=2") || !connect.IsRetriable(err) {
		t.Fatalf("Run = %v, want the retriable error and errors.max.retries=2", err)
	}
}

type alwaysRetriable struct{ runs int }

func (a *alwaysRetriable) Run(context.Context, connect.RecordWriter) error {
	a.runs++
	return connect.Retriable(fmt.Errorf("connect to db: connection refused (run %d)", a.runs))
}
