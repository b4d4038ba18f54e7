// Package metrics exposes Prometheus metrics with Kafka Connect's and
// Debezium's metric meanings (source-record-poll-total, offset-commit
// latency, MilliSecondsBehindSource, snapshot progress, task status counts)
// and the /healthz and /readyz probes.
package metrics

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Task carries what a running task reports beyond the runtime's record
// counters: Debezium's snapshot and streaming metrics. A connector gets
// its Task from the context its task runs with:
//
//	metrics.ForTask(ctx).SnapshotStarted(len(tables))
//
// Every method is safe on a nil *Task (a task run outside a worker).
type Task struct {
	Connector string
	TaskID    int
	// AfterSnapshot, when set before the task runs, is called each time
	// a snapshot completed (the worker returns the snapshot's heap to
	// the OS then).
	AfterSnapshot func()

	snapshotRunning   atomic.Bool
	snapshotCompleted atomic.Bool
	snapshotAborted   atomic.Bool
	snapshotStartMs   atomic.Int64
	snapshotEndMs     atomic.Int64
	totalTables       atomic.Int64
	completedTables   atomic.Int64
	rowsMu            sync.Mutex
	rows              map[string]int64
	progressState

	lagMs     atomic.Int64
	lagSet    atomic.Bool
	connected atomic.Int32 // 0 unknown, 1 connected, 2 disconnected

	slotMu          sync.Mutex
	slotName        string
	slotRetained    int64
	slotUnconfirmed int64

	// Sink side.
	sinkRead     atomic.Int64
	sinkPut      atomic.Int64
	sinkLagMs    atomic.Int64
	sinkLagSet   atomic.Bool
	sinkPutNanos atomic.Int64
	sinkParked   atomic.Int64
	sinkHeld     atomic.Int64
}

// NewTask returns the metrics of one task.
func NewTask(connector string, task int) *Task {
	return &Task{Connector: connector, TaskID: task, rows: map[string]int64{}}
}

type ctxKey struct{}

// WithTask returns a context carrying t.
func WithTask(ctx context.Context, t *Task) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}

// ForTask returns the Task carried by ctx, or nil.
func ForTask(ctx context.Context) *Task {
	t, _ := ctx.Value(ctxKey{}).(*Task)
	return t
}

// SnapshotStarted marks the start of an initial or ad-hoc snapshot of
// tables tables (Debezium's SnapshotRunning, TotalTableCount).
func (t *Task) SnapshotStarted(tables int) {
	if t == nil {
		return
	}
	t.snapshotRunning.Store(true)
	t.snapshotCompleted.Store(false)
	t.snapshotAborted.Store(false)
	t.snapshotStartMs.Store(time.Now().UnixMilli())
	t.snapshotEndMs.Store(0)
	t.totalTables.Store(int64(tables))
	t.completedTables.Store(0)
	t.rowsMu.Lock()
	t.rows = map[string]int64{}
	t.progress = map[string]*Progress{}
	t.rowsMu.Unlock()
	t.adhoc.Store(false)
}

// SnapshotRows records rows scanned so far in table (RowsScanned).
func (t *Task) SnapshotRows(table string, rows int64) {
	if t == nil {
		return
	}
	t.rowsMu.Lock()
	t.rows[table] = rows
	t.rowsMu.Unlock()
}

// SnapshotTableCompleted counts a finished table (RemainingTableCount).
func (t *Task) SnapshotTableCompleted(string) {
	if t == nil {
		return
	}
	t.completedTables.Add(1)
}

// SnapshotCompleted marks the snapshot done (SnapshotCompleted).
func (t *Task) SnapshotCompleted() {
	if t == nil {
		return
	}
	t.snapshotRunning.Store(false)
	t.snapshotCompleted.Store(true)
	t.snapshotEndMs.Store(time.Now().UnixMilli())
	if t.AfterSnapshot != nil {
		t.AfterSnapshot()
	}
}

// SnapshotAborted marks the snapshot interrupted (SnapshotAborted).
func (t *Task) SnapshotAborted() {
	if t == nil {
		return
	}
	t.snapshotRunning.Store(false)
	t.snapshotAborted.Store(true)
	t.snapshotEndMs.Store(time.Now().UnixMilli())
}

// StreamingLag records how far behind the source database the task is
// (Debezium's MilliSecondsBehindSource).
func (t *Task) StreamingLag(d time.Duration) {
	if t == nil {
		return
	}
	t.lagMs.Store(d.Milliseconds())
	t.lagSet.Store(true)
}

// Connected records whether the task is connected to its source
// (Debezium's Connected).
func (t *Task) Connected(ok bool) {
	if t == nil {
		return
	}
	if ok {
		t.connected.Store(1)
	} else {
		t.connected.Store(2)
	}
}

// ReplicationSlotLag records how much WAL a PostgreSQL replication slot
// holds back: retained is the distance from the server's current WAL
// position to the slot's restart_lsn (what the server must keep on disk),
// unconfirmed to its confirmed_flush_lsn.
func (t *Task) ReplicationSlotLag(slot string, retained, unconfirmed int64) {
	if t == nil {
		return
	}
	t.slotMu.Lock()
	defer t.slotMu.Unlock()
	t.slotName, t.slotRetained, t.slotUnconfirmed = slot, retained, unconfirmed
}

func (t *Task) slotLag() (slot string, retained, unconfirmed int64) {
	t.slotMu.Lock()
	defer t.slotMu.Unlock()
	return t.slotName, t.slotRetained, t.slotUnconfirmed
}

// SinkRecordsRead counts records a sink task received.
func (t *Task) SinkRecordsRead(n int) {
	if t == nil {
		return
	}
	t.sinkRead.Add(int64(n))
}

// SinkParked records the sink task's partitions parked in PAUSED_SCHEMA
// and the records they hold in memory (sinkrunner.Parking).
func (t *Task) SinkParked(partitions, held int) {
	if t == nil {
		return
	}
	t.sinkParked.Store(int64(partitions))
	t.sinkHeld.Store(int64(held))
}

// SinkRecordsPut counts records a sink task made durable, the time Put
// took and the age of the newest record (sink record lag in time).
func (t *Task) SinkRecordsPut(n int, took time.Duration, newest time.Time) {
	if t == nil {
		return
	}
	t.sinkPut.Add(int64(n))
	t.sinkPutNanos.Store(int64(took))
	if !newest.IsZero() {
		t.sinkLagMs.Store(time.Since(newest).Milliseconds())
		t.sinkLagSet.Store(true)
	}
}

func (t *Task) rowsScanned() ([]string, []int64) {
	t.rowsMu.Lock()
	defer t.rowsMu.Unlock()
	names := make([]string, 0, len(t.rows))
	for n := range t.rows {
		names = append(names, n)
	}
	sort.Strings(names)
	vals := make([]int64, len(names))
	for i, n := range names {
		vals[i] = t.rows[n]
	}
	return names, vals
}
