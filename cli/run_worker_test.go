package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
	"github.com/tributary-io/tributary/internal/kafka"
)

// testRunEnv is `run`'s worker with plugins of the test's own and offsets
// in a file of a temporary directory.
func testRunEnv(t *testing.T, log *slog.Logger, plugins ...*connect.Plugin) (*workerEnv, map[string]string) {
	env := &workerEnv{plugins: plugins, converters: &converter.Factory{}, log: log}
	worker := map[string]string{"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets.json"),
		"embedded.broker.data.dir": "", "offset.flush.interval.ms": "50"}
	return env, worker
}

// saySource logs through its task logger, then writes one record a tick
// until stopped.
type saySource struct{ log *slog.Logger }

func (s *saySource) Run(ctx context.Context, w connect.RecordWriter) error {
	s.log.Info("source task says hello")
	for i := int64(0); ; i++ {
		rec := &connect.Record{SourcePartition: map[string]any{"server": "say"}, SourceOffset: map[string]any{"pos": i},
			Topic: "said", Partition: -1, ValueSchema: connect.Prim(connect.Int64), Value: i}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// saySink logs through its task logger when it first receives records.
type saySink struct {
	log  *slog.Logger
	once sync.Once
	got  chan struct{}
}

func (s *saySink) Put(_ context.Context, recs []*connect.Record) error {
	if len(recs) > 0 {
		s.once.Do(func() {
			s.log.Info("sink task received records", "records", len(recs))
			close(s.got)
		})
	}
	return nil
}

func (s *saySink) Close() error { return nil }

// Every log line of a source and a sink run by `run`'s worker carries each
// attribute once: the runtime, the sink runner and the worker each used to
// add connector and task.
func TestRunWorkerLogsEachAttributeOnce(t *testing.T) {
	var out syncBuffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sink := &saySink{got: make(chan struct{})}
	def := func() *config.Def { return config.NewDef() }
	env, worker := testRunEnv(t, log,
		&connect.Plugin{Class: "test.Source", Type: connect.SourcePlugin, Config: def,
			NewSourceTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
				return &saySource{log: tc.Logger}, nil
			}},
		&connect.Plugin{Class: "test.Sink", Type: connect.SinkPlugin, Config: def,
			NewSinkTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SinkTask, error) {
				sink.log = tc.Logger
				return sink, nil
			}})
	file := &config.File{Worker: worker, Connectors: []config.Connector{
		{Name: "src", Config: map[string]string{"connector.class": "test.Source"}},
		{Name: "snk", Config: map[string]string{"connector.class": "test.Sink", "topics": "said"}},
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runConnectors(ctx, env, file) }()
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
	var sawSource, sawSink bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
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

// `run` ends with its connectors, and a connector's failure reaches the
// user once: returned (and printed by main) when it was the last one
// running, logged when others go on, and then returned only as a pointer
// to that line.
func TestRunWorkerPrintsAFailureOnce(t *testing.T) {
	failFile := filepath.Join(t.TempDir(), "fail")
	if err := os.WriteFile(failFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	const cause = "counter: cannot start while"
	failing := config.Connector{Name: "f", Config: map[string]string{"connector.class": "counter", "topic": "f", "counter.fail.file": failFile}}
	endless := config.Connector{Name: "e", Config: map[string]string{"connector.class": "counter", "topic": "e"}}
	for _, tc := range []struct {
		name  string
		conns []config.Connector
		// stopAfter ends the run (as SIGTERM does) when the connectors
		// do not end it; 0: they must.
		stopAfter time.Duration
		// logged is how many times the cause is in the log; returned,
		// whether it is in the error Run returns.
		logged   int
		returned bool
		pointer  string
	}{
		{name: "alone", conns: []config.Connector{failing}, logged: 0, returned: true},
		{name: "beside another", conns: []config.Connector{failing, endless}, stopAfter: 3 * time.Second, logged: 1,
			pointer: "connector f failed (its error is logged above)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			env, worker := testRunEnv(t, slog.New(slog.NewTextHandler(&out, nil)), herdertest.CounterPlugin())
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if tc.stopAfter > 0 {
				time.AfterFunc(tc.stopAfter, cancel)
			}
			err := runConnectors(ctx, env, &config.File{Worker: worker, Connectors: tc.conns})
			if tc.stopAfter == 0 && ctx.Err() != nil {
				t.Fatalf("the run did not end with its only connector: %v\n%s", err, out.String())
			}
			logs := out.String()
			if n := strings.Count(logs, cause); n != tc.logged {
				t.Errorf("the cause is logged %d times, want %d:\n%s", n, tc.logged, logs)
			}
			if err == nil {
				t.Fatalf("no error returned\n%s", logs)
			}
			if strings.Contains(err.Error(), cause) != tc.returned {
				t.Errorf("returned %q: want the cause in it %v", err, tc.returned)
			}
			if tc.pointer != "" && !strings.Contains(err.Error(), tc.pointer) {
				t.Errorf("returned %q, want a pointer to the logged error", err)
			}
			if !wraps(err, cause) {
				t.Errorf("the cause is not wrapped: %v", err)
			}
		})
	}
}

// wraps reports whether err or an error it wraps says cause itself (not
// only through a pointer to the log).
func wraps(err error, cause string) bool {
	if err == nil {
		return false
	}
	if strings.Contains(err.Error(), cause) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if wraps(e, cause) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return wraps(u.Unwrap(), cause)
	}
	return false
}

// positionsPlugin emits positions 0..n-1, batch records per write,
// resuming after its stored offset, in transactions when the worker
// enables exactly-once delivery.
func positionsPlugin(n, batch int) *connect.Plugin {
	return &connect.Plugin{Class: "positions", Type: connect.SourcePlugin, ExactlyOnce: connect.ExactlyOnceSupported,
		Config: func() *config.Def { return config.NewDef() },
		NewSourceTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			return &positionTask{n: n, batch: batch, offsets: tc.Offsets}, nil
		}}
}

type positionTask struct {
	n, batch int
	offsets  connect.OffsetReader
}

var positionPartition = map[string]any{"server": "positions"}

func (p *positionTask) Run(ctx context.Context, w connect.RecordWriter) error {
	start := int64(0)
	off, err := p.offsets.Offset(ctx, positionPartition)
	if err != nil {
		return err
	}
	if off != nil {
		start = off["pos"].(int64) + 1
	}
	for i := start; i < int64(p.n); {
		var recs []*connect.Record
		for ; i < int64(p.n) && len(recs) < p.batch; i++ {
			recs = append(recs, &connect.Record{SourcePartition: positionPartition, SourceOffset: map[string]any{"pos": i},
				Topic: "positions", Partition: -1, ValueSchema: connect.Prim(connect.Int64), Value: i})
		}
		if err := w.Write(ctx, recs); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(10 * time.Millisecond):
		}
	}
	<-ctx.Done()
	return nil
}

// committedPositions reads the positions topic with kcat at
// read_committed and counts each position.
func committedPositions(t *testing.T, brokers []string) map[int64]int {
	t.Helper()
	out, err := exec.Command("kcat", "-C", "-b", strings.Join(brokers, ","), "-t", "positions", "-o", "beginning", "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", "%s\n").Output()
	if err != nil {
		return nil // the topic is not there yet
	}
	seen := map[int64]int{}
	for _, line := range strings.Fields(string(out)) {
		var env struct {
			Payload int64 `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		seen[env.Payload]++
	}
	return seen
}

// `run` with offsets in Kafka and exactly-once enabled: stopped in the
// middle and run again, it delivers every position once.
func TestRunWorkerExactlyOnce(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	const n = 500
	file := &config.File{
		Worker: map[string]string{"bootstrap.servers": strings.Join(broker.Addrs(), ","), "offset.storage.topic": "run-offsets",
			"exactly.once.source.support": "enabled", "offset.flush.interval.ms": "50"},
		Connectors: []config.Connector{{Name: "pos", Config: map[string]string{"connector.class": "positions",
			"exactly.once.support": "required", "transaction.boundary": "interval", "transaction.boundary.interval.ms": "20"}}},
	}
	client, err := sarama.NewClient(broker.Addrs(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// written is how far the topic is written, transaction markers
	// included: kcat takes too long to stop round 0 half-way by it.
	written := func() int {
		hw, err := client.GetOffset("positions", 0, sarama.OffsetNewest)
		if err != nil {
			return 0
		}
		return int(hw)
	}
	for round := range 2 {
		env := &workerEnv{plugins: connect.Plugins{positionsPlugin(n, 5)}, converters: &converter.Factory{}, log: slog.New(slog.DiscardHandler)}
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- runConnectors(ctx, env, file) }()
		deadline := time.Now().Add(60 * time.Second)
		for round == 0 && written() < n/2 || round == 1 && len(committedPositions(t, broker.Addrs())) < n {
			select {
			case err := <-done:
				t.Fatalf("round %d: run ended: %v", round, err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d timed out", round)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := len(committedPositions(t, broker.Addrs())); round == 0 && got >= n {
			t.Fatalf("round 0 delivered all %d positions before it was stopped: the test proves nothing", got)
		}
	}
	seen := committedPositions(t, broker.Addrs())
	missing, dups := 0, 0
	for i := range int64(n) {
		switch c := seen[i]; {
		case c == 0:
			missing++
		case c > 1:
			dups++
		}
	}
	if missing > 0 || dups > 0 || len(seen) != n {
		t.Fatalf("read_committed: %d missing, %d duplicated of %d (%d distinct seen)", missing, dups, n, len(seen))
	}
}

// doneSource writes its records and returns, as a snapshot-only connector
// does.
type doneSource struct{ n int }

func (d *doneSource) Run(ctx context.Context, w connect.RecordWriter) error {
	for i := range d.n {
		rec := &connect.Record{SourcePartition: map[string]any{"server": "done"}, SourceOffset: map[string]any{"pos": int64(i)},
			Topic: "done", Partition: -1, ValueSchema: connect.Prim(connect.Int64), Value: int64(i)}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return err
		}
	}
	return nil
}

// `run` whose connectors all finish their work ends by itself, without
// an error, after committing their offsets.
func TestRunWorkerEndsWhenItsConnectorsFinish(t *testing.T) {
	var out syncBuffer
	plugin := &connect.Plugin{Class: "test.Done", Type: connect.SourcePlugin, Config: func() *config.Def { return config.NewDef() },
		NewSourceTask: func(context.Context, *config.Values, connect.TaskContext) (connect.SourceTask, error) {
			return &doneSource{n: 3}, nil
		}}
	env, worker := testRunEnv(t, slog.New(slog.NewTextHandler(&out, nil)), plugin)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := runConnectors(ctx, env, &config.File{Worker: worker, Connectors: []config.Connector{
		{Name: "d1", Config: map[string]string{"connector.class": "test.Done"}},
		{Name: "d2", Config: map[string]string{"connector.class": "test.Done"}},
	}})
	if err != nil || ctx.Err() != nil {
		t.Fatalf("run: %v (context: %v)\n%s", err, ctx.Err(), out.String())
	}
	stored, err := os.ReadFile(worker["offset.storage.file.filename"])
	if err != nil {
		t.Fatal(err)
	}
	var offsets map[string]map[string]any
	if err := json.Unmarshal(stored, &offsets); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"d1", "d2"} {
		if off := offsets[`["`+c+`",{"server":"done"}]`]; off["pos"] != 2.0 {
			t.Errorf("connector %s: stored offset %v, want its last, pos 2 (%s)", c, off, stored)
		}
	}
}

// A stop that arrives while `run` is still submitting its connectors (a
// SIGTERM right after start) ends the worker cleanly, as any other stop.
func TestRunWorkerStoppedWhileStartingIsClean(t *testing.T) {
	plugin := &connect.Plugin{Class: "test.Done", Type: connect.SourcePlugin, Config: func() *config.Def { return config.NewDef() },
		NewSourceTask: func(context.Context, *config.Values, connect.TaskContext) (connect.SourceTask, error) {
			return &doneSource{n: 3}, nil
		}}
	var out syncBuffer
	env, worker := testRunEnv(t, slog.New(slog.NewTextHandler(&out, nil)), plugin)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	stopped := make(chan struct{})
	env.onBrokers = func([]string) { cancel(); close(stopped) }
	err := runConnectors(ctx, env, &config.File{Worker: worker, Connectors: []config.Connector{
		{Name: "d1", Config: map[string]string{"connector.class": "test.Done"}},
	}})
	<-stopped
	if err != nil {
		t.Fatalf("run stopped while starting: %v, want a clean stop\n%s", err, out.String())
	}
}
