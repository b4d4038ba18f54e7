package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/offsets"
)

// syncWriter lets the worker's goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// loggingTask logs through its task logger, then emits records.
type loggingTask struct {
	countingTask
	log *slog.Logger
}

func (l *loggingTask) Run(ctx context.Context, w connect.RecordWriter) error {
	l.log.Info("source task says hello")
	return l.countingTask.Run(ctx, w)
}

type loggingSink struct {
	log  *slog.Logger
	once sync.Once
	got  chan struct{}
}

func (s *loggingSink) Put(_ context.Context, recs []*connect.Record) error {
	if len(recs) > 0 {
		s.once.Do(func() {
			s.log.Info("sink task received records", "records", len(recs))
			close(s.got)
		})
	}
	return nil
}

func (s *loggingSink) Close() error { return nil }

// Every log line of a source and a sink run by the standalone worker
// carries each attribute once: the runtime, the sink runner and the
// worker each used to add connector and task.
func TestWorkerLogsEachAttributeOnce(t *testing.T) {
	var out syncWriter
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sink := &loggingSink{got: make(chan struct{})}
	plugins := connect.Plugins{
		{Class: "test.Source", Type: connect.SourcePlugin, Config: func() *config.Def { return config.NewDef() },
			NewSourceTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
				return &loggingTask{countingTask: countingTask{n: 5, offsets: tc.Offsets}, log: tc.Logger}, nil
			}},
		{Class: "test.Sink", Type: connect.SinkPlugin, Config: func() *config.Def { return config.NewDef() },
			NewSinkTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SinkTask, error) {
				sink.log = tc.Logger
				return sink, nil
			}},
	}
	w := &Standalone{Plugins: plugins, Converters: &converter.Factory{}, Logger: log, Offsets: offsets.NewMemory()}
	file := &config.File{Worker: map[string]string{"offset.flush.interval.ms": "50"}, Connectors: []config.Connector{
		{Name: "src", Config: map[string]string{"connector.class": "test.Source"}},
		{Name: "snk", Config: map[string]string{"connector.class": "test.Sink", "topics": "topic0"}},
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, file) }()
	select {
	case <-sink.got:
	case err := <-done:
		t.Fatalf("worker ended early: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the sink received nothing\n%s", out.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var sawSource, sawSink bool
	for _, line := range lines {
		keys, err := jsonKeys(line)
		if err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("attribute %q twice in %s", k, line)
			}
			seen[k] = true
		}
		sawSource = sawSource || strings.Contains(line, "source task says hello")
		sawSink = sawSink || strings.Contains(line, "sink task received records")
		if (strings.Contains(line, "says hello") || strings.Contains(line, "received records")) && !(seen["connector"] && seen["task"]) {
			t.Errorf("a task's line without connector and task: %s", line)
		}
	}
	if !sawSource || !sawSink {
		t.Fatalf("the tasks' lines are missing (source %v, sink %v):\n%s", sawSource, sawSink, out.String())
	}
}

// jsonKeys lists the top-level keys of a JSON object in order, repeats
// included (which a map would hide).
func jsonKeys(line string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// A connector's failure reaches the user once: returned (and printed by
// main) when it was the last one running, logged when others go on, and
// then returned only as a pointer to that line.
func TestWorkerPrintsAFailureOnce(t *testing.T) {
	failing := func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
		return &countingTask{n: 10, failAt: 3, offsets: tc.Offsets}, nil
	}
	endless := func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
		return &countingTask{n: 1, offsets: tc.Offsets}, nil
	}
	def := func() *config.Def { return config.NewDef() }
	plugins := connect.Plugins{
		{Class: "test.Failing", Type: connect.SourcePlugin, Config: def, NewSourceTask: failing},
		{Class: "test.Endless", Type: connect.SourcePlugin, Config: def, NewSourceTask: endless},
	}
	run := func(t *testing.T, conns []config.Connector, stopAfter time.Duration) (string, error) {
		var out syncWriter
		w := &Standalone{Plugins: plugins, Converters: &converter.Factory{}, Offsets: offsets.NewMemory(),
			Logger: slog.New(slog.NewTextHandler(&out, nil))}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		if stopAfter > 0 {
			time.AfterFunc(stopAfter, cancel)
		}
		err := w.Run(ctx, &config.File{Connectors: conns})
		return out.String(), err
	}
	t.Run("alone", func(t *testing.T) {
		logs, err := run(t, []config.Connector{{Name: "f", Config: map[string]string{"connector.class": "test.Failing"}}}, 0)
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("want the task's error returned, got %v", err)
		}
		if strings.Contains(logs, "boom") {
			t.Errorf("the error was logged as well as returned:\n%s", logs)
		}
	})
	t.Run("beside another", func(t *testing.T) {
		logs, err := run(t, []config.Connector{
			{Name: "f", Config: map[string]string{"connector.class": "test.Failing"}},
			{Name: "e", Config: map[string]string{"connector.class": "test.Endless"}},
		}, 2*time.Second)
		if n := strings.Count(logs, "boom"); n != 1 {
			t.Errorf("want the error logged once while the other connector runs, %d times:\n%s", n, logs)
		}
		if err == nil || strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "connector f failed (its error is logged above)") {
			t.Errorf("want a pointer to the logged error, got %v", err)
		}
		if !errors.Is(err, errBoom(err)) {
			t.Errorf("the cause is not wrapped: %v", err)
		}
	})
}

// errBoom digs the task's own error out of err (nil when absent).
func errBoom(err error) error {
	for e := err; e != nil; {
		if e.Error() == "boom" {
			return e
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if b := errBoom(x); b != nil {
					return b
				}
			}
			return nil
		case interface{ Unwrap() error }:
			e = u.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
