// Package bench is Tributary's benchmark suite (`tributary bench`). It
// starts private PostgreSQL and MariaDB servers and a Kafka broker, runs
// the connectors through the same runtime the worker uses, and measures
// each scenario next to the physical limit of the same work done by the
// database's or Kafka's own tools on the same data in the same run:
// server-side pgoutput decoding, pg_recvlogical, mysqlbinlog, COPY, and a
// raw sarama producer. Every Tributary figure is reported with its ratio
// to those limits.
//
// What is measured for Tributary is this process alone: the broker and the
// load generators run in child processes (the executable re-run with
// childEnv set, see IsChild/RunChild), the databases are servers of their
// own. CPU time comes from getrusage(RUSAGE_SELF) deltas and peak memory
// from VmHWM, reset at the start of every phase.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/pipeline"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/internal/transforms"
)

// Scenario names, in the order they run.
const (
	PGSnapshot = "pg-snapshot"
	PGStream   = "pg-stream"
	// PGStreamSMT is pg-stream's backlog with and without a transforms
	// chain (SMTChain), compared by CPU time per event.
	PGStreamSMT = "pg-stream-transforms"
	MySnapshot  = "mariadb-snapshot"
	MyStream    = "mariadb-stream"
	JDBCPoll    = "jdbc-poll"
	SinkPG      = "sink-pg"
	SinkMy      = "sink-mariadb"
	Idle        = "idle"
)

// Scenarios lists every scenario in running order.
var Scenarios = []string{PGSnapshot, PGStream, PGStreamIssue14, PGStreamProducer, PGStreamSMT, PGStreamEOS, PGNATS, PGWebhook, MySnapshot, MyIncremental, MyStream, MyStreamIssue14, JDBCPoll, SinkPG, SinkPGTasks, SinkMy, Idle, KafkaClients}

// Config selects what to run and supplies the connectors and converters of
// the binary under test.
type Config struct {
	// Rows is N: the table size for snapshots, polls, sinks and the large
	// transaction. Default 200000.
	Rows int
	// SmallTxns is the number of single-row transactions of the streaming
	// backlog; default Rows/2.
	SmallTxns int
	// Rates and Duration drive the live latency phases of the streaming
	// scenarios: single-row transactions at each rate (per second) for
	// Duration. Defaults 1000/s and 10000/s, 10s each: the goal is stated
	// at 10k/s, the lower rate shows latency when nothing saturates.
	Rates    []float64
	Duration time.Duration
	// Scenarios to run (names above); empty runs all.
	Scenarios []string

	Plugins    connect.Plugins
	Converters *converter.Factory
	Transforms transforms.Registry
	// Sinks are the binary's Kafka-less pipeline sinks, by connector
	// class (pg-nats, pg-webhook); without them those scenarios are
	// skipped.
	Sinks map[string]pipeline.SinkFactory

	// ChildExe and ChildArgs re-run this executable as a helper process
	// (broker, load generator); ChildExe defaults to os.Executable().
	ChildExe  string
	ChildArgs []string
	// TributaryBinary is the tributary executable the idle scenario runs
	// as `tributary run`; empty skips that scenario.
	TributaryBinary string
	// BrokerCPUProfile, if set, is where the broker child writes a CPU
	// profile of its whole life (the broker shares the machine's cores
	// with the connector, so its cost shows in the wall times).
	BrokerCPUProfile string
	// BrokerLog is where the broker child keeps its topics:
	// BrokerLogFiles, BrokerLogMemory, or "" to choose by the scenarios
	// (brokerLogFor).
	BrokerLog string

	// Progress receives one line per phase; nil is silent.
	Progress io.Writer
	Logger   *slog.Logger
}

// Result is one row of the report: a Tributary measurement or a limit.
type Result struct {
	Scenario string `json:"scenario"`
	Case     string `json:"case"`
	// Name is "tributary" or the tool that measures the limit.
	Name  string `json:"name"`
	Limit bool   `json:"limit"`

	Events       int64   `json:"events"`
	Bytes        int64   `json:"bytes,omitempty"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_sec"`
	MBPerSec     float64 `json:"mb_per_sec,omitempty"`

	LatencyP50Ms *float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms *float64 `json:"latency_p99_ms,omitempty"`
	LatencyMaxMs *float64 `json:"latency_max_ms,omitempty"`
	CPUSeconds   *float64 `json:"cpu_seconds,omitempty"`
	PeakRSSMB    *float64 `json:"peak_rss_mb,omitempty"`
	// RSSAnonMB and RSSFileMB split an idle process's RSS (PeakRSSMB)
	// into private memory and the executable's file pages.
	RSSAnonMB *float64 `json:"rss_anon_mb,omitempty"`
	RSSFileMB *float64 `json:"rss_file_mb,omitempty"`

	// Ratio, on a limit row, is Tributary's rate in the same case divided
	// by this limit's rate.
	Ratio *float64 `json:"ratio,omitempty"`
	Note  string   `json:"note,omitempty"`
}

// Goal is one of the targets the suite tracks (reported, not asserted).
type Goal struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Report is everything one run measured.
type Report struct {
	Machine  Machine   `json:"machine"`
	Rows     int       `json:"rows"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Results  []Result  `json:"results"`
	Goals    []Goal    `json:"goals"`
	Skipped  []string  `json:"skipped,omitempty"`
	Failures []string  `json:"failures,omitempty"`
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	MemoryMB int64  `json:"memory_mb"`
	Kernel   string `json:"kernel"`
	// LoadAvg is /proc/loadavg at the start and the end of the run: the
	// machine may be shared, and other work skews latency most.
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end,omitempty"`
	GoVersion    string `json:"go_version"`
	Postgres     string `json:"postgres,omitempty"`
	MariaDB      string `json:"mariadb,omitempty"`
}

// env holds the servers and clients shared by the scenarios; each is
// started on first use.
type env struct {
	// brokerLog is the broker child's log (brokerLogFor).
	brokerLog string
	cfg       Config
	log       *slog.Logger
	dir       string
	report    *Report

	broker   *childProc
	brokers  []string
	registry string // schema registry URL (in the broker child)
	// processBin is the copy of cfg.TributaryBinary that separate
	// `tributary run` processes run (processBinary).
	processBin string
	raw        *kafka.Raw
	admin      sarama.ClusterAdmin
	offsets    offsets.Store
	worker     map[string]string

	pg     *testdb.Postgres
	my     *testdb.MariaDB
	tables map[string]bool // tables loaded with cfg.Rows rows
	topics map[string]bool // data topics holding a full snapshot
	// topicBytes is the size of the PostgreSQL snapshot topic the sinks
	// read.
	topicBytes int64
	// i14Last are pg-stream-issue14's decoding limits, repeated for its
	// Avro run.
	i14Last []Result
}

// Run runs the selected scenarios and returns their results. A scenario
// that fails is recorded in Report.Failures and the others still run; the
// error is non-nil only when nothing could be set up at all.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Rows <= 0 {
		cfg.Rows = 200000
	}
	if cfg.SmallTxns <= 0 {
		cfg.SmallTxns = max(cfg.Rows/2, 1)
	}
	if len(cfg.Rates) == 0 {
		cfg.Rates = []float64{1000, 10000}
	}
	for _, r := range cfg.Rates {
		if r <= 0 {
			return nil, fmt.Errorf("bench: rate %v: must be positive", r)
		}
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Plugins == nil || cfg.Converters == nil {
		return nil, errors.New("bench: Config.Plugins and Config.Converters are required")
	}
	selected, err := selectScenarios(cfg.Scenarios)
	if err != nil {
		return nil, err
	}
	if cfg.ChildExe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: locating this executable for helper processes: %w", err)
		}
		cfg.ChildExe = exe
	}
	log := cfg.Logger
	if log == nil {
		log = discardLogger()
	}
	dir, err := os.MkdirTemp("", "tributary-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	rep := &Report{Machine: describeMachine(), Rows: cfg.Rows, Started: time.Now()}
	e := &env{cfg: cfg, log: log, dir: dir, report: rep, tables: map[string]bool{}, topics: map[string]bool{}}
	defer e.close()
	if e.brokerLog, err = brokerLogFor(cfg.BrokerLog, selected); err != nil {
		return nil, err
	}
	e.progress("broker log: %s", e.brokerLog)
	if err := e.startBroker(ctx); err != nil {
		return nil, err
	}
	for _, s := range selected {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		e.progress("== %s (N=%d)", s, cfg.Rows)
		began := time.Now()
		if err := e.run(ctx, s); err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", s, err))
			e.progress("   %s FAILED: %v", s, err)
			continue
		}
		e.progress("   %s done in %s", s, time.Since(began).Round(100*time.Millisecond))
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Machine.LoadAvgEnd = loadAvg()
	rep.Goals = goals(rep)
	return rep, nil
}

// The broker child's log. kfake's costs differ by direction, neither
// like a Kafka broker's: in memory, appending grows each segment by
// copying it (mariadb-stream-issue14's 200k events cost the broker
// 5.2-5.7 s of CPU with 100 MiB segments, 3.6-4.2 s with 1 MiB ones,
// 1.3-1.6 s in files); in files, every batch fetched is a seek and a
// read on the broker's one goroutine (sink-pg-tasks at tasks.max=4:
// 43-48k events/s from files, 50-68k from memory). The broker shares the
// cores with what is measured, so each scenario gets the cheaper one for
// its direction.
const (
	BrokerLogFiles  = "files"
	BrokerLogMemory = "memory"
)

// sinkScenarios read their topics back at volume.
var sinkScenarios = []string{SinkPG, SinkPGTasks, SinkMy}

// brokerLogFor is want, or when want is empty: memory when a sink
// scenario is selected, files otherwise.
func brokerLogFor(want string, selected []string) (string, error) {
	switch want {
	case BrokerLogFiles, BrokerLogMemory:
		return want, nil
	case "":
	default:
		return "", fmt.Errorf("bench: broker log %q: want %s or %s", want, BrokerLogFiles, BrokerLogMemory)
	}
	for _, s := range selected {
		if slices.Contains(sinkScenarios, s) {
			return BrokerLogMemory, nil
		}
	}
	return BrokerLogFiles, nil
}

func selectScenarios(names []string) ([]string, error) {
	if len(names) == 0 {
		return Scenarios, nil
	}
	want := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if n == "all" {
			return Scenarios, nil
		}
		if !slices.Contains(Scenarios, n) {
			return nil, fmt.Errorf("bench: unknown scenario %q; known: %s", n, strings.Join(Scenarios, ", "))
		}
		want[n] = true
	}
	var out []string
	for _, s := range Scenarios {
		if want[s] {
			out = append(out, s)
		}
	}
	return out, nil
}

func (e *env) run(ctx context.Context, s string) error {
	switch s {
	case PGSnapshot:
		return e.pgSnapshot(ctx)
	case PGStream:
		return e.pgStream(ctx)
	case PGStreamIssue14:
		return e.issue14(ctx)
	case PGStreamProducer:
		return e.pgStreamProducer(ctx)
	case PGStreamSMT:
		return e.pgStreamTransforms(ctx)
	case PGStreamEOS:
		return e.pgStreamEOS(ctx)
	case PGNATS, PGWebhook:
		return e.pgBus(ctx, s)
	case MySnapshot:
		return e.mySnapshot(ctx)
	case MyIncremental:
		return e.myIncremental(ctx)
	case MyStream:
		return e.myStream(ctx)
	case MyStreamIssue14:
		return e.issue14My(ctx, MyStreamIssue14)
	case JDBCPoll:
		return e.jdbcPoll(ctx)
	case SinkPG:
		return e.sink(ctx, "postgres")
	case SinkPGTasks:
		return e.sinkTasks(ctx)
	case SinkMy:
		return e.sink(ctx, "mariadb")
	case Idle:
		return e.idle(ctx)
	case KafkaClients:
		return e.kafkaClients(ctx)
	}
	return fmt.Errorf("unknown scenario %q", s)
}

func (e *env) progress(format string, args ...any) {
	if e.cfg.Progress != nil {
		fmt.Fprintf(e.cfg.Progress, format+"\n", args...)
	}
}

func (e *env) add(r Result) {
	if r.Seconds > 0 {
		r.EventsPerSec = float64(r.Events) / r.Seconds
		if r.Bytes > 0 {
			r.MBPerSec = float64(r.Bytes) / r.Seconds / 1e6
		}
	}
	e.report.Results = append(e.report.Results, r)
	line := fmt.Sprintf("   %-28s %-34s %9d ev %8.2fs %10.0f ev/s", r.Case, r.Name, r.Events, r.Seconds, r.EventsPerSec)
	if r.LatencyP99Ms != nil {
		line += fmt.Sprintf("  p50 %.1fms p99 %.1fms", *r.LatencyP50Ms, *r.LatencyP99Ms)
	}
	if r.Ratio != nil {
		line += fmt.Sprintf("  tributary/limit %.2f", *r.Ratio)
	}
	e.progress("%s", line)
}

// addLimit records a limit row for the Tributary row trib of the same case.
func (e *env) addLimit(trib Result, l Result) {
	l.Scenario, l.Case, l.Limit = trib.Scenario, trib.Case, true
	if l.Seconds > 0 && trib.Seconds > 0 && l.Events > 0 {
		tr := float64(trib.Events) / trib.Seconds
		lr := float64(l.Events) / l.Seconds
		l.Ratio = ptr(tr / lr)
	}
	e.add(l)
}

func ptr[T any](v T) *T { return &v }

func (e *env) startBroker(ctx context.Context) error {
	c, err := startChild(e.cfg.ChildExe, e.cfg.ChildArgs, childSpec{Role: "broker", CPUProfile: e.cfg.BrokerCPUProfile, Log: e.brokerLog})
	if err != nil {
		return err
	}
	var hello brokerHello
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.readJSON(sctx, &hello); err != nil {
		c.stop()
		return fmt.Errorf("bench: starting the broker: %w", err)
	}
	e.broker, e.brokers, e.registry = c, hello.Addrs, hello.Registry
	sc, err := e.saramaConfig()
	if err != nil {
		return err
	}
	if e.raw, err = kafka.NewRaw(e.brokers, sc); err != nil {
		return err
	}
	if e.admin, err = sarama.NewClusterAdmin(e.brokers, sc); err != nil {
		return fmt.Errorf("bench: kafka admin: %w", err)
	}
	fs, err := offsets.OpenFile(filepath.Join(e.dir, "offsets.json"))
	if err != nil {
		return err
	}
	e.offsets = fs
	e.worker = map[string]string{"offset.flush.interval.ms": "1000"}
	return nil
}

func (e *env) saramaConfig() (*sarama.Config, error) {
	return kafka.ClientConfig{Brokers: e.brokers, ClientID: "tributary-bench"}.SaramaConfig()
}

// deleteTopics frees the broker's memory between scenarios.
func (e *env) deleteTopics(names ...string) {
	for _, t := range names {
		if err := e.admin.DeleteTopic(t); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			e.log.Warn("bench: delete topic", "topic", t, "error", err)
		}
		delete(e.topics, t)
	}
}

func (e *env) close() {
	if e.admin != nil {
		e.admin.Close()
	}
	if e.raw != nil {
		e.raw.Close()
	}
	if e.broker != nil {
		e.broker.stop()
	}
	if e.pg != nil {
		e.pg.Close()
	}
	if e.my != nil {
		e.my.Close()
	}
}

func describeMachine() Machine {
	m := Machine{CPUs: goruntime.NumCPU(), GoVersion: goruntime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemoryMB = kb / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvgStart = loadAvg()
	return m
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
