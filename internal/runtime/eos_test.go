package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
)

func TestExactlyOnceValidation(t *testing.T) {
	def := func() *config.Def { return config.NewDef() }
	supported := &connect.Plugin{Class: "eos", Type: connect.SourcePlugin, Config: def, ExactlyOnce: connect.ExactlyOnceSupported}
	unsupported := &connect.Plugin{Class: "noeos", Type: connect.SourcePlugin, Config: def, ExactlyOnce: connect.ExactlyOnceUnsupported}
	unknown := &connect.Plugin{Class: "unknown", Type: connect.SourcePlugin, Config: def}
	bounded := &connect.Plugin{Class: "bounded", Type: connect.SourcePlugin, Config: def, ExactlyOnce: connect.ExactlyOnceSupported, TransactionBoundaries: true}
	sink := &connect.Plugin{Class: "sink", Type: connect.SinkPlugin, Config: def}
	plugins := connect.Plugins{supported, unsupported, unknown, bounded, sink}
	fileWorker := map[string]string{}
	kafkaWorker := map[string]string{"offset.storage.topic": "offsets"}
	enabled := map[string]string{"offset.storage.topic": "offsets", "exactly.once.source.support": "enabled"}
	preparing := map[string]string{"offset.storage.topic": "offsets", "exactly.once.source.support": "Preparing"}
	for _, tc := range []struct {
		name   string
		worker map[string]string
		props  map[string]string
		want   string // substring of the error; "" for valid
	}{
		{"required on a file-offsets run", fileWorker, map[string]string{"connector.class": "eos", "exactly.once.support": "required"},
			"This worker does not have exactly-once source support enabled. Its source offsets are in a file (offset.storage.file.filename), which cannot be written in a Kafka transaction: keep them in Kafka (worker properties offset.storage.topic and exactly.once.source.support=enabled)"},
		{"required with Kafka offsets, support disabled", kafkaWorker, map[string]string{"connector.class": "eos", "exactly.once.support": "required"},
			"This worker does not have exactly-once source support enabled."},
		{"required while preparing", preparing, map[string]string{"connector.class": "eos", "exactly.once.support": "REQUIRED"},
			"This worker does not have exactly-once source support enabled."},
		{"required and enabled", enabled, map[string]string{"connector.class": "eos", "exactly.once.support": "required"}, ""},
		{"required, connector without the API", enabled, map[string]string{"connector.class": "unknown", "exactly.once.support": "required"},
			"The connector does not implement the API required for preflight validation of exactly-once source support."},
		{"requested, connector without the API", enabled, map[string]string{"connector.class": "unknown"}, ""},
		{"required, unsupported", enabled, map[string]string{"connector.class": "noeos", "exactly.once.support": "required"},
			"The connector does not support exactly-once semantics with the provided configuration."},
		{"bad exactly.once.support", enabled, map[string]string{"connector.class": "eos", "exactly.once.support": "always"}, "must be one of requested, required"},
		{"connector boundary unsupported", enabled, map[string]string{"connector.class": "eos", "transaction.boundary": "connector"},
			"The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition."},
		{"connector boundary supported", enabled, map[string]string{"connector.class": "bounded", "transaction.boundary": "connector"}, ""},
		{"interval with its interval", enabled, map[string]string{"connector.class": "eos", "transaction.boundary": "interval", "transaction.boundary.interval.ms": "500"}, ""},
		{"interval.ms without interval", enabled, map[string]string{"connector.class": "eos", "transaction.boundary.interval.ms": "500"},
			"applies only with transaction.boundary=interval (it is poll)"},
		{"negative interval", enabled, map[string]string{"connector.class": "eos", "transaction.boundary": "interval", "transaction.boundary.interval.ms": "-1"},
			"Value must be at least 0"},
		{"boundary with support disabled", kafkaWorker, map[string]string{"connector.class": "eos", "transaction.boundary": "interval"},
			"takes effect only with exactly-once delivery, and this worker has exactly.once.source.support=disabled"},
		{"boundary while preparing", preparing, map[string]string{"connector.class": "eos", "transaction.boundary": "interval"}, ""},
		{"own offsets topic with file offsets", fileWorker, map[string]string{"connector.class": "eos", "offsets.storage.topic": "mine"},
			"this worker keeps source offsets in a file"},
		{"own offsets topic with Kafka offsets", kafkaWorker, map[string]string{"connector.class": "eos", "offsets.storage.topic": "mine"}, ""},
		{"empty own offsets topic", kafkaWorker, map[string]string{"connector.class": "eos", "offsets.storage.topic": " "}, "String must be non-empty"},
		{"sinks have no exactly-once properties", enabled, map[string]string{"connector.class": "sink", "topics": "t", "exactly.once.support": "required"},
			"exactly.once.support"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wv, err := WorkerDef().Parse(tc.worker)
			if err != nil {
				t.Fatal(err)
			}
			eos, err := WorkerExactlyOnce(wv, wv.String("offset.storage.topic") != "")
			if err != nil {
				t.Fatal(err)
			}
			var got error
			c, err := ParseConnector(plugins, config.Connector{Name: "c", Config: tc.props})
			if err != nil {
				got = err
			} else if errs := eos.Check(c); len(errs) > 0 {
				got = errs
			}
			switch {
			case tc.want == "" && got != nil:
				t.Fatalf("unexpected error: %v", got)
			case tc.want != "" && got == nil:
				t.Fatalf("accepted; want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(got.Error(), tc.want):
				t.Fatalf("error %q\ndoes not contain %q", got, tc.want)
			}
		})
	}
	wv, err := WorkerDef().Parse(map[string]string{"exactly.once.source.support": "enabled"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WorkerExactlyOnce(wv, false); err == nil || !strings.Contains(err.Error(), "set the worker property offset.storage.topic") {
		t.Fatalf("enabled with file offsets: %v", err)
	}
	if _, err := WorkerDef().Parse(map[string]string{"exactly.once.source.support": "on"}); err == nil || !strings.Contains(err.Error(), "disabled, preparing, enabled") {
		t.Fatalf("exactly.once.source.support=on: %v", err)
	}
}

// positionTask emits positions start..n-1 (resuming after its stored
// offset), batch records per Write, pausing between writes; the offsets
// of the first snapshot records say an initial snapshot is running, as
// Debezium's do.
type positionTask struct {
	n, batch, snapshot int
	pause              time.Duration
	offsets            connect.OffsetReader
}

func (p *positionTask) Run(ctx context.Context, w connect.RecordWriter) error {
	start := int64(0)
	off, err := p.offsets.Offset(ctx, part)
	if err != nil {
		return err
	}
	if off != nil {
		if _, running := off["snapshot"]; !running {
			start = off["pos"].(int64) + 1
		}
	}
	for i := start; i < int64(p.n); {
		var recs []*connect.Record
		for ; i < int64(p.n) && len(recs) < p.batch; i++ {
			off := map[string]any{"pos": i}
			if i < int64(p.snapshot)-1 {
				off["snapshot"] = "INITIAL"
			}
			recs = append(recs, &connect.Record{SourcePartition: part, SourceOffset: off, Topic: "positions", Partition: -1,
				ValueSchema: connect.Prim(connect.Int64), Value: i})
		}
		if err := w.Write(ctx, recs); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.pause):
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// eosSource builds a task's exactly-once source the way the worker does
// (ExactlyOnce.PrepareSource), with offsets in the topic "offsets".
func eosSource(t *testing.T, ctx context.Context, broker *kafka.Embedded, props map[string]string, task *positionTask) (*Source, func()) {
	t.Helper()
	wv, err := WorkerDef().Parse(map[string]string{"offset.storage.topic": "offsets", "exactly.once.source.support": "enabled", "offset.flush.interval.ms": "50"})
	if err != nil {
		t.Fatal(err)
	}
	eos, err := WorkerExactlyOnce(wv, true)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	// producer transaction.timeout.ms: a fenced instance stops within it.
	sc.Producer.Transaction.Timeout = 5 * time.Second
	store, err := OpenKafkaOffsets(ctx, broker.Addrs(), sc, "offsets", 1, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	plugin := &connect.Plugin{Class: "positions", Type: connect.SourcePlugin, ExactlyOnce: connect.ExactlyOnceSupported,
		Config: func() *config.Def { return config.NewDef() },
		NewSourceTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			task.offsets = tc.Offsets
			return task, nil
		}}
	props["connector.class"] = "positions"
	c, err := ParseConnector(connect.Plugins{plugin}, config.Connector{Name: "pos", Config: props})
	if err != nil {
		t.Fatal(err)
	}
	if errs := eos.Check(c); len(errs) > 0 {
		t.Fatal(errs)
	}
	deps := SourceDeps{Converters: &converter.Factory{}, Offsets: store, Worker: map[string]string{"offset.flush.interval.ms": "50"}}
	closeDeps, err := eos.PrepareSource(ctx, c, 0, broker.Addrs(), sc, &deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(ctx, c, deps)
	if err != nil {
		t.Fatal(err)
	}
	return src, func() { deps.Producer.Close(); closeDeps(); store.Close() }
}

// committedPositions reads topic with kcat at read_committed and counts
// each position.
func committedPositions(t *testing.T, broker *kafka.Embedded, topic string) map[int64]int {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	out, err := exec.Command("kcat", "-C", "-b", strings.Join(broker.Addrs(), ","), "-t", topic, "-o", "beginning", "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", "%s\n").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
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

func checkOnce(t *testing.T, seen map[int64]int, n int) {
	t.Helper()
	missing, dups := 0, 0
	for i := int64(0); i < int64(n); i++ {
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

// A second instance of the same task fences the first: the first one's
// open transaction is aborted and its later writes fail, the second
// resumes from the offsets committed with the first one's last
// transaction, and a read_committed consumer sees every position once.
func TestExactlyOnceFencesZombieTask(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	ctx := context.Background()
	const n = 400
	zombieTask := &positionTask{n: n, batch: 7, pause: 5 * time.Millisecond}
	zombie, closeZombie := eosSource(t, ctx, broker, map[string]string{}, zombieTask)
	defer closeZombie()
	zombieDone := make(chan error, 1)
	go func() { zombieDone <- zombie.Run(ctx) }()
	for zombie.Stats.Commits.Load() < 10 {
		time.Sleep(5 * time.Millisecond)
	}

	successor, closeSuccessor := eosSource(t, ctx, broker, map[string]string{}, &positionTask{n: n, batch: 7, pause: time.Millisecond})
	defer closeSuccessor()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- successor.Run(runCtx) }()

	select {
	case err := <-zombieDone:
		if !errors.Is(err, kafka.ErrFenced) {
			t.Fatalf("zombie stopped with %v, want it fenced", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the zombie was not fenced")
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(committedPositions(t, broker, "positions")) < n {
		if time.Now().After(deadline) {
			t.Fatal("the successor did not deliver every position")
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkOnce(t, committedPositions(t, broker, "positions"), n)
	t.Logf("zombie committed %d transactions before it was fenced; successor %d", zombie.Stats.Commits.Load(), successor.Stats.Commits.Load())
}

// An initial snapshot is one transaction: stopped in the middle, nothing
// of it is visible and the restarted task redoes it. Interval boundaries
// commit once per interval (here: only on stop), poll boundaries once per
// batch the task writes.
func TestExactlyOnceSnapshotAndBoundaries(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	ctx := context.Background()
	const snapshot = 200

	run := func(n int, props map[string]string, until func(*Source) bool) *Source {
		t.Helper()
		src, closeSrc := eosSource(t, ctx, broker, props, &positionTask{n: n, batch: 10, snapshot: snapshot, pause: 2 * time.Millisecond})
		defer closeSrc()
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- src.Run(runCtx) }()
		deadline := time.Now().Add(30 * time.Second)
		for !until(src) {
			if time.Now().After(deadline) {
				t.Fatal("timed out")
			}
			time.Sleep(2 * time.Millisecond)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return src
	}
	src := run(300, map[string]string{}, func(s *Source) bool { return s.Stats.Written.Load() >= snapshot/2 })
	if c := src.Stats.Commits.Load(); c != 0 {
		t.Fatalf("%d commits during the snapshot", c)
	}
	if seen := committedPositions(t, broker, "positions"); len(seen) != 0 {
		t.Fatalf("read_committed sees %d records of an unfinished snapshot", len(seen))
	}

	src = run(300, map[string]string{"transaction.boundary": "interval", "transaction.boundary.interval.ms": "60000"},
		func(s *Source) bool { return s.Stats.Written.Load() >= 300 })
	if c := src.Stats.Commits.Load(); c != 1 {
		t.Fatalf("interval boundary: %d commits, want 1 (on stop)", c)
	}
	checkOnce(t, committedPositions(t, broker, "positions"), 300)

	src = run(400, map[string]string{}, func(s *Source) bool { return s.Stats.Written.Load() >= 100 })
	if c := src.Stats.Commits.Load(); c != 10 {
		t.Fatalf("poll boundary: %d commits, want 10 (one per batch of 10)", c)
	}
	checkOnce(t, committedPositions(t, broker, "positions"), 400)
}
