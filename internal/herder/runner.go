package herder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/transforms"
)

// connectorDef is every property a connector of plugin p accepts: the
// runtime's (and for sinks the sink runner's) and the connector's own.
func connectorDef(p *connect.Plugin) *config.Def {
	def := runtime.ConnectorDef(p.Type)
	if p.Type == connect.SinkPlugin {
		def = def.Merge(sinkrunner.Def())
	}
	if p.Config != nil {
		def = def.Merge(p.Config())
	}
	return def
}

func parseWith(p *connect.Plugin, name string, props map[string]string) (*runtime.Connector, error) {
	vals, err := connectorDef(p).Parse(props)
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", name, err)
	}
	return &runtime.Connector{Name: name, Plugin: p, Values: vals}, nil
}

// KafkaRunner runs source tasks into Kafka (runtime.Source) and sink tasks
// out of it (sinkrunner).
type KafkaRunner struct {
	Brokers []string
	Sarama  *sarama.Config
	// Raw is shared by source tasks for their auxiliary topics (schema
	// history).
	Raw        *kafka.Raw
	Converters *converter.Factory
	Transforms transforms.Registry
	Offsets    offsets.Store
	// Worker holds the worker properties (converter defaults,
	// offset.flush.interval.ms).
	Worker          map[string]string
	ShutdownTimeout time.Duration
	Metrics         *metrics.Registry
	Logger          *slog.Logger
	// ExactlyOnce is the worker's exactly.once.source.support: enabled
	// runs source tasks in Kafka transactions.
	ExactlyOnce runtime.ExactlyOnce

	parkMu       sync.Mutex
	parkings     map[TaskID]*runtime.Parking
	sinkParkings map[TaskID]*sinkrunner.Parking
}

// ParkedTables lists the parked tables of a source task this runner runs.
func (r *KafkaRunner) ParkedTables(connector string, task int) []runtime.ParkedTable {
	r.parkMu.Lock()
	id := TaskID{Connector: connector, Task: task}
	p, sp := r.parkings[id], r.sinkParkings[id]
	r.parkMu.Unlock()
	switch {
	case p != nil:
		return p.Tables()
	case sp != nil:
		var out []runtime.ParkedTable
		for _, pp := range sp.Partitions() {
			out = append(out, runtime.ParkedTable{Table: pp.Table, State: runtime.StatePausedSchema, Reason: pp.Reason, Since: pp.Since, Held: pp.Held,
				FirstOffset: map[string]any{"topic": pp.Topic, "partition": pp.Partition, "offset": pp.Offset}})
		}
		return out
	}
	return nil
}

// ResumeTable asks the connector's task that parked table to retry it.
func (r *KafkaRunner) ResumeTable(connector, table string) error {
	r.parkMu.Lock()
	var ps []interface{ Resume(string) error }
	for id, p := range r.parkings {
		if id.Connector == connector {
			ps = append(ps, p)
		}
	}
	for id, p := range r.sinkParkings {
		if id.Connector == connector {
			ps = append(ps, p)
		}
	}
	r.parkMu.Unlock()
	// Every task is asked: a sink's table may be parked in several of
	// its tasks, one per partition.
	err, resumed := fmt.Errorf("%w: %s", runtime.ErrNotParked, table), false
	for _, p := range ps {
		if e := p.Resume(table); e == nil {
			resumed = true
		} else if !errors.Is(e, runtime.ErrNotParked) && !errors.Is(e, sinkrunner.ErrNotParked) {
			err = e
		}
	}
	if resumed {
		return nil
	}
	return err
}

// SnapshotProgress reports the snapshot progress of a task this runner
// runs, for the REST status.
func (r *KafkaRunner) SnapshotProgress(connector string, task int) []metrics.ProgressReport {
	return r.Metrics.SnapshotProgress(connector, task)
}

// RunTask implements TaskRunner.
func (r *KafkaRunner) RunTask(ctx context.Context, spec TaskSpec) error {
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	c, err := parseWith(spec.Plugin, spec.ID.Connector, spec.Config)
	if err != nil {
		return err
	}
	// The task, its converters and drivers log through this: hide the
	// connector's secrets whatever they print.
	log = c.Values.Scrubber().Logger(log)
	tm := metrics.NewTask(spec.ID.Connector, spec.ID.Task)
	tm.AfterSnapshot = releaseSnapshotMemory
	ctx = metrics.WithTask(ctx, tm)
	switch spec.Plugin.Type {
	case connect.SourcePlugin:
		return r.runSource(ctx, spec, c, tm, log)
	case connect.SinkPlugin:
		return r.runSink(ctx, spec, c, tm, log)
	}
	return fmt.Errorf("connector %q: plugin %s is neither a source nor a sink", spec.ID.Connector, spec.Plugin.Class)
}

func (r *KafkaRunner) runSource(ctx context.Context, spec TaskSpec, c *runtime.Connector, tm *metrics.Task, log *slog.Logger) error {
	sc, err := runtime.ConnectorSaramaConfig(r.Sarama, r.Worker, c, r.Brokers)
	if err != nil {
		return err
	}
	deps := runtime.SourceDeps{Raw: r.Raw, Converters: r.Converters, Transforms: r.Transforms, Offsets: r.Offsets,
		Worker: r.Worker, Logger: log, TaskID: spec.ID.Task, TaskCount: spec.TaskCount}
	// Under exactly-once delivery the task's transactional producer is
	// created here, before the task reads offsets: wherever the task ran
	// before (another worker, before a rebalance), that instance is fenced.
	closeDeps, err := r.ExactlyOnce.PrepareSource(ctx, c, spec.ID.Task, r.Brokers, sc, &deps, log)
	if err != nil {
		return err
	}
	defer closeDeps()
	producer := deps.Producer
	src, err := runtime.NewSource(ctx, c, deps)
	if err != nil {
		producer.Close()
		return err
	}
	if spec.Topic != nil {
		src.Topics = &topicTracker{inner: src.Topics, seen: map[string]bool{}, report: spec.Topic}
	}
	if r.ShutdownTimeout > 0 {
		src.ShutdownTimeout = r.ShutdownTimeout
	}
	if r.Metrics != nil {
		defer r.Metrics.AddSourceTask(tm, src.Stats)()
	}
	src.Parking = runtime.NewParking(0)
	r.parkMu.Lock()
	if r.parkings == nil {
		r.parkings = map[TaskID]*runtime.Parking{}
	}
	r.parkings[spec.ID] = src.Parking
	r.parkMu.Unlock()
	defer func() {
		r.parkMu.Lock()
		delete(r.parkings, spec.ID)
		r.parkMu.Unlock()
	}()
	if spec.Started != nil {
		spec.Started()
	}
	runErr := src.Run(ctx)
	if cerr := producer.Close(); cerr != nil && runErr == nil {
		runErr = fmt.Errorf("connector %s: closing producer: %w", c.Name, cerr)
	}
	return runErr
}

func (r *KafkaRunner) runSink(ctx context.Context, spec TaskSpec, c *runtime.Connector, tm *metrics.Task, log *slog.Logger) error {
	if spec.Plugin.NewSinkTask == nil {
		return fmt.Errorf("connector %q: %s has no sink task", c.Name, spec.Plugin.Class)
	}
	kc, vc, err := runtime.Converters(r.Converters, c, r.Worker)
	if err != nil {
		return err
	}
	chain, err := r.Transforms.Build(c.Values)
	if err != nil {
		return fmt.Errorf("connector %q: %w", c.Name, err)
	}
	tlog := log.With("connector", c.Name, "task", spec.ID.Task)
	runtime.WarnDeprecated(tlog, c.Values)
	task, err := spec.Plugin.NewSinkTask(ctx, c.Values, connect.TaskContext{ConnectorName: c.Name, TaskID: spec.ID.Task, TaskCount: spec.TaskCount, Logger: tlog})
	if err != nil {
		return fmt.Errorf("connector %q: %w", c.Name, err)
	}
	wrapped := &sinkTracker{inner: task, m: tm, seen: map[string]bool{}, report: spec.Topic}
	if r.Metrics != nil {
		defer r.Metrics.AddSinkTask(tm)()
	}
	if spec.Started != nil {
		spec.Started()
	}
	sc, err := runtime.ConnectorSaramaConfig(r.Sarama, r.Worker, c, r.Brokers)
	if err != nil {
		return err
	}
	parking := sinkrunner.NewParking(tm.SinkParked)
	r.parkMu.Lock()
	if r.sinkParkings == nil {
		r.sinkParkings = map[TaskID]*sinkrunner.Parking{}
	}
	r.sinkParkings[spec.ID] = parking
	r.parkMu.Unlock()
	defer func() {
		r.parkMu.Lock()
		delete(r.sinkParkings, spec.ID)
		r.parkMu.Unlock()
	}()
	runErr := sinkrunner.Run(ctx, sinkrunner.Config{Brokers: r.Brokers, SaramaConfig: sc, ConnectorName: c.Name, TaskID: spec.ID.Task,
		Props: c.Values, Task: wrapped, Parking: parking, TaskClass: taskClass(spec.Plugin), KeyConverter: kc, ValueConverter: vc,
		KeyConverterClass: converterClass(c, r.Worker, "key.converter"), ValueConverterClass: converterClass(c, r.Worker, "value.converter"),
		Transforms: chain, Logger: tlog})
	if cerr := task.Close(); cerr != nil {
		runErr = errors.Join(runErr, fmt.Errorf("connector %q: closing sink task: %w", c.Name, cerr))
	}
	return runErr
}

func converterClass(c *runtime.Connector, worker map[string]string, side string) string {
	if v := c.Values.String(side); v != "" {
		return v
	}
	if v := worker[side]; v != "" {
		return v
	}
	return converter.JSONClass
}

// topicTracker reports each topic a source task writes to, once.
type topicTracker struct {
	inner  runtime.TopicEnsurer
	mu     sync.Mutex
	seen   map[string]bool
	report func(string)
}

func (t *topicTracker) Ensure(ctx context.Context, topic string) error {
	if t.inner != nil {
		if err := t.inner.Ensure(ctx, topic); err != nil {
			return err
		}
	}
	t.mu.Lock()
	first := !t.seen[topic]
	t.seen[topic] = true
	t.mu.Unlock()
	if first {
		t.report(topic)
	}
	return nil
}

// sinkTracker counts and times a sink task's batches and reports the
// topics it consumes.
type sinkTracker struct {
	inner  connect.SinkTask
	m      *metrics.Task
	mu     sync.Mutex
	seen   map[string]bool
	report func(string)
}

func (s *sinkTracker) Put(ctx context.Context, recs []*connect.Record) error {
	s.m.SinkRecordsRead(len(recs))
	if s.report != nil {
		for _, r := range recs {
			s.mu.Lock()
			first := !s.seen[r.Topic]
			s.seen[r.Topic] = true
			s.mu.Unlock()
			if first {
				s.report(r.Topic)
			}
		}
	}
	start := time.Now()
	if err := s.inner.Put(ctx, recs); err != nil {
		return err
	}
	var newest time.Time
	for _, r := range recs {
		if r.Timestamp.After(newest) {
			newest = r.Timestamp
		}
	}
	s.m.SinkRecordsPut(len(recs), time.Since(start), newest)
	return nil
}

func (s *sinkTracker) Close() error { return nil }

// releaseSnapshotMemory returns the free heap to the OS once a snapshot
// completed. A snapshot grows the heap to its batches and in-flight
// records; streaming then needs far less, but the runtime's scavenger
// keeps pages up to about the last heap goal, so the snapshot's peak
// would stay resident until the heap had shrunk through several GCs.
// It costs one forced GC per snapshot, on the task's goroutine.
func releaseSnapshotMemory() { debug.FreeOSMemory() }
