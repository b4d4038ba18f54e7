package metrics

import (
	"fmt"
	"net/http"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/tributary-io/tributary/internal/runtime"
)

// ConnectorSummary is a connector's status for the worker metrics.
type ConnectorSummary struct {
	Name  string
	Type  string
	State string // RUNNING, PAUSED, STOPPED, FAILED, UNASSIGNED...
	// Tasks counts the connector's tasks by state.
	Tasks map[string]int
}

type taskKey struct {
	connector string
	task      int
}

type taskEntry struct {
	t    *Task
	src  *runtime.Stats
	rate rater
}

// Registry collects a worker's metrics and serves them in the Prometheus
// exposition formats (through client_golang). Names follow the Prometheus JMX exporter's
// rendering of Kafka Connect's and Debezium's MBeans
// (kafka.connect:type=source-task-metrics becomes
// kafka_connect_source_task_metrics_...), so existing dashboards keep
// working.
type Registry struct {
	mu     sync.Mutex
	tasks  map[taskKey]*taskEntry
	status func() []ConnectorSummary
	start  time.Time
	now    func() time.Time

	handler http.Handler
	descMu  sync.Mutex
	descs   map[string]*prometheus.Desc
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	r := &Registry{tasks: map[taskKey]*taskEntry{}, start: time.Now(), now: time.Now, descs: map[string]*prometheus.Desc{}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{r})
	r.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return r
}

// SetStatus registers the source of connector and task statuses.
func (r *Registry) SetStatus(fn func() []ConnectorSummary) {
	r.mu.Lock()
	r.status = fn
	r.mu.Unlock()
}

// AddSourceTask starts reporting a source task; the returned function
// stops it.
func (r *Registry) AddSourceTask(t *Task, stats *runtime.Stats) func() {
	return r.add(&taskEntry{t: t, src: stats})
}

// AddSinkTask starts reporting a sink task.
func (r *Registry) AddSinkTask(t *Task) func() {
	return r.add(&taskEntry{t: t})
}

func (r *Registry) add(e *taskEntry) func() {
	k := taskKey{e.t.Connector, e.t.TaskID}
	r.mu.Lock()
	r.tasks[k] = e
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		if r.tasks[k] == e {
			delete(r.tasks, k)
		}
		r.mu.Unlock()
	}
}

// rater turns counters into Kafka Connect's windowed rates (per second
// over the last minute of scrapes).
type rater struct {
	samples []rateSample
}

type rateSample struct {
	at     time.Time
	counts [2]int64
}

func (r *rater) observe(now time.Time, counts [2]int64) [2]float64 {
	r.samples = append(r.samples, rateSample{now, counts})
	cut := 0
	for cut < len(r.samples)-2 && now.Sub(r.samples[cut+1].at) >= time.Minute {
		cut++
	}
	r.samples = r.samples[cut:]
	first := r.samples[0]
	secs := now.Sub(first.at).Seconds()
	var out [2]float64
	if secs <= 0 {
		return out
	}
	for i := range out {
		out[i] = float64(counts[i]-first.counts[i]) / secs
	}
	return out
}

type metricKind string

const (
	gaugeKind   metricKind = "gauge"
	counterKind metricKind = "counter"
)

type metricDef struct {
	name, help string
	kind       metricKind
}

var (
	mPollTotal   = metricDef{"kafka_connect_source_task_metrics_source_record_poll_total", "Records produced or polled by the task, before transformations.", counterKind}
	mPollRate    = metricDef{"kafka_connect_source_task_metrics_source_record_poll_rate", "Average per-second number of records polled over the last minute.", gaugeKind}
	mWriteTotal  = metricDef{"kafka_connect_source_task_metrics_source_record_write_total", "Records written to Kafka (acknowledged) after transformations.", counterKind}
	mWriteRate   = metricDef{"kafka_connect_source_task_metrics_source_record_write_rate", "Average per-second number of records written to Kafka over the last minute.", gaugeKind}
	mActive      = metricDef{"kafka_connect_source_task_metrics_source_record_active_count", "Records polled but not yet acknowledged by Kafka or filtered.", gaugeKind}
	mCommitTotal = metricDef{"kafka_connect_connector_task_metrics_offset_commit_completion_total", "Offset commits completed.", counterKind}
	mCommitTime  = metricDef{"kafka_connect_connector_task_metrics_offset_commit_last_time_ms", "Time the last offset commit took, in milliseconds.", gaugeKind}
	mCommitAge   = metricDef{"kafka_connect_connector_task_metrics_offset_commit_age_ms", "Milliseconds since the last offset commit.", gaugeKind}
	mSkipped     = metricDef{"kafka_connect_task_error_metrics_total_records_skipped", "Records skipped because of errors (errors.tolerance=all).", counterKind}
	mParked      = metricDef{"tributary_source_tables_paused_schema", "Tables parked in PAUSED_SCHEMA: their new schema was refused by the schema registry; their records are held until resumed.", gaugeKind}
	mHeld        = metricDef{"tributary_source_parked_records", "Records held back for parked tables (the committed offset stays before the first).", gaugeKind}
	mLag         = metricDef{"debezium_metrics_milliseconds_behind_source", "Milliseconds between the source database change and its processing (streaming).", gaugeKind}
	mConnected   = metricDef{"debezium_metrics_connected", "Whether the task is connected to its source database (1) or not (0).", gaugeKind}
	mSlotKept    = metricDef{"tributary_postgres_replication_slot_retained_wal_bytes", "WAL the server keeps for the replication slot: current WAL position minus the slot's restart_lsn.", gaugeKind}
	mSlotUnconf  = metricDef{"tributary_postgres_replication_slot_unconfirmed_wal_bytes", "Current WAL position minus the slot's confirmed_flush_lsn.", gaugeKind}
	mSnapRun     = metricDef{"debezium_metrics_snapshot_running", "1 while a snapshot is running.", gaugeKind}
	mSnapDone    = metricDef{"debezium_metrics_snapshot_completed", "1 once the snapshot completed.", gaugeKind}
	mSnapAbort   = metricDef{"debezium_metrics_snapshot_aborted", "1 if the snapshot was aborted.", gaugeKind}
	mSnapDur     = metricDef{"debezium_metrics_snapshot_duration_in_seconds", "Seconds the snapshot has taken so far (or took).", gaugeKind}
	mTotalTbl    = metricDef{"debezium_metrics_total_table_count", "Tables included in the snapshot.", gaugeKind}
	mRemainTbl   = metricDef{"debezium_metrics_remaining_table_count", "Tables the snapshot has yet to copy.", gaugeKind}
	mRows        = metricDef{"debezium_metrics_rows_scanned", "Rows scanned so far per table during the snapshot.", gaugeKind}
	mEstRows     = metricDef{"tributary_snapshot_estimated_rows", "The database's row estimate of a table when its snapshot began (0: unknown).", gaugeKind}
	mRowRate     = metricDef{"tributary_snapshot_rows_per_second", "Rows per second of a table's snapshot since it began (or until it ended).", gaugeKind}
	mETA         = metricDef{"tributary_snapshot_eta_seconds", "Seconds a table's snapshot needs at its rate for the rows left of the estimate (-1: unknown, 0: done).", gaugeKind}
	mSinkRead    = metricDef{"kafka_connect_sink_task_metrics_sink_record_read_total", "Records read from Kafka by the sink task.", counterKind}
	mSinkSend    = metricDef{"kafka_connect_sink_task_metrics_sink_record_send_total", "Records put into the sink target.", counterKind}
	mSinkRate    = metricDef{"kafka_connect_sink_task_metrics_sink_record_send_rate", "Average per-second number of records put over the last minute.", gaugeKind}
	mSinkLag     = metricDef{"tributary_sink_task_record_lag_ms", "Age of the newest record put into the sink target, in milliseconds.", gaugeKind}
	mSinkParked  = metricDef{"tributary_sink_partitions_paused_schema", "Topic-partitions parked in PAUSED_SCHEMA: a record's schema change cannot be applied to the target; their offsets stay at that record until resumed.", gaugeKind}
	mSinkHeld    = metricDef{"tributary_sink_parked_records", "Records of parked partitions held in memory (the rest wait in Kafka, fetching paused).", gaugeKind}
	mSinkPut     = metricDef{"kafka_connect_sink_task_metrics_put_batch_last_time_ms", "Time the last put took, in milliseconds.", gaugeKind}
	mConnStatus  = metricDef{"kafka_connect_connector_status", "1 for the connector's current status (Kafka Connect's connector-metrics status).", gaugeKind}
	mConnCount   = metricDef{"kafka_connect_connect_worker_metrics_connector_count", "Connectors in the cluster known to this worker.", gaugeKind}
	mGoroutines  = metricDef{"go_goroutines", "Number of goroutines that currently exist.", gaugeKind}
	mHeap        = metricDef{"go_memstats_heap_alloc_bytes", "Number of heap bytes allocated and still in use.", gaugeKind}
	mStart       = metricDef{"process_start_time_seconds", "Start time of the process since unix epoch in seconds.", gaugeKind}
	taskStates   = []string{"running", "paused", "failed", "unassigned", "destroyed", "restarting"}
)

func taskCountDef(state string) metricDef {
	return metricDef{"kafka_connect_connect_worker_metrics_connector_" + state + "_task_count",
		fmt.Sprintf("Tasks of the connector in the %s state.", strings.ToUpper(state)), gaugeKind}
}

type label struct{ name, value string }

type sample struct {
	labels []label
	value  float64
}

type family struct {
	def     metricDef
	samples []sample
}

type exposition map[string]*family

func (e exposition) add(d metricDef, v float64, labels ...label) {
	f := e[d.name]
	if f == nil {
		f = &family{def: d}
		e[d.name] = f
	}
	f.samples = append(f.samples, sample{labels, v})
}

// Handler serves /metrics through client_golang's promhttp: the text
// exposition format, or OpenMetrics or protobuf when the scraper's Accept
// header asks for them, gzipped when accepted.
func (r *Registry) Handler() http.Handler { return r.handler }

// collector is the Registry seen by client_golang. It describes nothing
// up front (an unchecked collector): the families and their samples
// depend on the tasks running at scrape time.
type collector struct{ r *Registry }

func (collector) Describe(chan<- *prometheus.Desc) {}

func (c collector) Collect(ch chan<- prometheus.Metric) { c.r.collect(ch) }

// collect turns one gather into client_golang constant metrics.
func (r *Registry) collect(ch chan<- prometheus.Metric) {
	for _, f := range r.gather() {
		vt := prometheus.GaugeValue
		if f.def.kind == counterKind {
			vt = prometheus.CounterValue
		}
		for _, s := range f.samples {
			names := make([]string, len(s.labels))
			values := make([]string, len(s.labels))
			for i, l := range s.labels {
				names[i], values[i] = l.name, l.value
			}
			desc := r.desc(f.def, names)
			m, err := prometheus.NewConstMetric(desc, vt, s.value, values...)
			if err != nil {
				// Served as a scrape error naming the sample, not dropped.
				m = prometheus.NewInvalidMetric(desc, fmt.Errorf("metric %s %v: %w", f.def.name, s.labels, err))
			}
			ch <- m
		}
	}
}

// desc returns the Desc of a family with these label names, made once:
// NewDesc validates and hashes, which a scrape need not repeat.
func (r *Registry) desc(d metricDef, labels []string) *prometheus.Desc {
	key := d.name + "\x00" + strings.Join(labels, "\x00")
	r.descMu.Lock()
	defer r.descMu.Unlock()
	desc, ok := r.descs[key]
	if !ok {
		desc = prometheus.NewDesc(d.name, d.help, labels, nil)
		r.descs[key] = desc
	}
	return desc
}

func (r *Registry) gather() exposition {
	e := exposition{}
	r.mu.Lock()
	entries := make([]*taskEntry, 0, len(r.tasks))
	for _, t := range r.tasks {
		entries = append(entries, t)
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].t.Connector != entries[j].t.Connector {
			return entries[i].t.Connector < entries[j].t.Connector
		}
		return entries[i].t.TaskID < entries[j].t.TaskID
	})
	status := r.status
	now := r.now()
	rates := make([][2]float64, len(entries))
	for i, en := range entries {
		var c [2]int64
		if en.src != nil {
			c = [2]int64{en.src.Polled.Load(), en.src.Written.Load()}
		} else {
			c = [2]int64{en.t.sinkRead.Load(), en.t.sinkPut.Load()}
		}
		rates[i] = en.rate.observe(now, c)
	}
	r.mu.Unlock()

	for i, en := range entries {
		t := en.t
		lv := []label{{"connector", t.Connector}, {"task", strconv.Itoa(t.TaskID)}}
		add := func(d metricDef, v float64, extra ...label) {
			e.add(d, v, append(append([]label{}, lv...), extra...)...)
		}
		if en.src == nil {
			add(mSinkRead, float64(t.sinkRead.Load()))
			add(mSinkSend, float64(t.sinkPut.Load()))
			add(mSinkRate, rates[i][1])
			add(mSinkPut, float64(t.sinkPutNanos.Load())/1e6)
			add(mSinkParked, float64(t.sinkParked.Load()))
			add(mSinkHeld, float64(t.sinkHeld.Load()))
			if t.sinkLagSet.Load() {
				add(mSinkLag, float64(t.sinkLagMs.Load()))
			}
			continue
		}
		s := en.src
		add(mPollTotal, float64(s.Polled.Load()))
		add(mPollRate, rates[i][0])
		add(mWriteTotal, float64(s.Written.Load()))
		add(mWriteRate, rates[i][1])
		add(mActive, float64(max(s.Polled.Load()-s.Written.Load()-s.Filtered.Load()-s.Skipped.Load(), 0)))
		add(mCommitTotal, float64(s.Commits.Load()))
		add(mCommitTime, float64(s.CommitNanos.Load())/1e6)
		if last := s.LastCommitMs.Load(); last > 0 {
			add(mCommitAge, float64(now.UnixMilli()-last))
		}
		add(mSkipped, float64(s.Skipped.Load()))
		add(mParked, float64(s.ParkedTables.Load()))
		add(mHeld, float64(s.HeldRecords.Load()))
		switch {
		case t.lagSet.Load():
			add(mLag, float64(t.lagMs.Load()))
		case s.LastEventMs.Load() > 0:
			add(mLag, float64(now.UnixMilli()-s.LastEventMs.Load()))
		}
		if c := t.connected.Load(); c != 0 {
			add(mConnected, boolf(c == 1))
		}
		if slot, kept, unconf := t.slotLag(); slot != "" {
			add(mSlotKept, float64(kept), label{"slot", slot})
			add(mSlotUnconf, float64(unconf), label{"slot", slot})
		}
		if start := t.snapshotStartMs.Load(); start > 0 {
			add(mSnapRun, boolf(t.snapshotRunning.Load()))
			add(mSnapDone, boolf(t.snapshotCompleted.Load()))
			add(mSnapAbort, boolf(t.snapshotAborted.Load()))
			end := t.snapshotEndMs.Load()
			if end == 0 {
				end = now.UnixMilli()
			}
			add(mSnapDur, float64(end-start)/1000)
			total := t.totalTables.Load()
			add(mTotalTbl, float64(total))
			add(mRemainTbl, float64(max(total-t.completedTables.Load(), 0)))
			names, vals := t.rowsScanned()
			for k, n := range names {
				add(mRows, float64(vals[k]), label{"table", n})
			}
			for _, p := range t.Progress() {
				tl := []label{{"table", p.Table}, {"kind", p.Kind}}
				add(mEstRows, float64(p.EstimatedRows), tl...)
				add(mRowRate, p.RowsPerSecond, tl...)
				add(mETA, p.ETASeconds, tl...)
			}
		}
	}

	if status != nil {
		sums := status()
		sort.Slice(sums, func(i, j int) bool { return sums[i].Name < sums[j].Name })
		e.add(mConnCount, float64(len(sums)))
		for _, s := range sums {
			e.add(mConnStatus, 1, label{"connector", s.Name}, label{"type", s.Type}, label{"status", strings.ToLower(s.State)})
			total := 0
			for _, st := range taskStates {
				n := s.Tasks[strings.ToUpper(st)]
				total += n
				e.add(taskCountDef(st), float64(n), label{"connector", s.Name})
			}
			e.add(taskCountDef("total"), float64(total), label{"connector", s.Name})
		}
	}
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	e.add(mGoroutines, float64(goruntime.NumGoroutine()))
	e.add(mHeap, float64(ms.HeapAlloc))
	e.add(mStart, float64(r.start.UnixNano())/1e9)
	return e
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Probes serves Kubernetes liveness and readiness checks.
type Probes struct {
	// Ready reports whether the worker should receive traffic.
	Ready func() (bool, string)
}

// Healthz answers 200 while the process serves HTTP (liveness).
func (p Probes) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// Readyz answers 200 once the worker joined its group and every task it
// was assigned runs, 503 with the reason otherwise.
func (p Probes) Readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ok, why := true, "ok"
	if p.Ready != nil {
		ok, why = p.Ready()
	}
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	w.Write([]byte(why + "\n"))
}
