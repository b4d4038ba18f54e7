package metrics

import (
	"sort"
	"sync/atomic"
	"time"
)

// Progress is one table's snapshot progress: rows done against the
// estimate the database gave when the table's snapshot began, the rate
// and the time left at that rate. Connectors log LogAttrs every few
// seconds; the Task exports every table's progress in /metrics
// (RowsScanned and Tributary's estimate, rate and ETA gauges) and in the
// REST status (Task.Progress).
//
// Every method is safe on a nil *Progress.
type Progress struct {
	Table     string
	Kind      string // initial, incremental, blocking
	Estimated int64  // 0: unknown
	start     time.Time
	rows      atomic.Int64
	endNs     atomic.Int64 // 0 while running
	task      *Task
}

// StartProgress begins tracking table and records it as the table in
// progress (RowsScanned). It works on a nil *Task too (a task run outside
// a worker): the progress is then only logged.
func (t *Task) StartProgress(table string, estimated int64, kind string) *Progress {
	p := &Progress{Table: table, Kind: kind, Estimated: max(estimated, 0), start: time.Now()}
	if t == nil {
		return p
	}
	t.rowsMu.Lock()
	if t.progress == nil {
		t.progress = map[string]*Progress{}
	}
	t.progress[table] = p
	t.rows[table] = 0
	t.rowsMu.Unlock()
	if !t.snapshotRunning.Load() {
		// an incremental or blocking snapshot outside an initial one:
		// Debezium's snapshot metrics then describe it
		t.snapshotRunning.Store(true)
		t.snapshotCompleted.Store(false)
		t.snapshotAborted.Store(false)
		t.snapshotStartMs.Store(time.Now().UnixMilli())
		t.snapshotEndMs.Store(0)
		t.totalTables.Add(1)
		t.adhoc.Store(true)
	}
	p.task = t
	return p
}

// Rows records rows done so far.
func (p *Progress) Rows(n int64) {
	if p == nil {
		return
	}
	p.rows.Store(n)
	if p.task != nil {
		p.task.SnapshotRows(p.Table, n)
	}
}

// Done marks the table finished.
func (p *Progress) Done() {
	if p == nil || p.endNs.Load() != 0 {
		return
	}
	p.endNs.Store(time.Now().UnixNano())
	if t := p.task; t != nil {
		t.SnapshotTableCompleted(p.Table)
		if t.adhoc.Load() && t.completedTables.Load() >= t.totalTables.Load() {
			t.adhoc.Store(false)
			t.SnapshotCompleted()
		}
	}
}

// ProgressReport is a table's progress at one moment.
type ProgressReport struct {
	Table         string  `json:"table"`
	Kind          string  `json:"kind"`
	Rows          int64   `json:"rows"`
	EstimatedRows int64   `json:"estimated_rows"`
	RowsPerSecond float64 `json:"rows_per_second"`
	// ETASeconds is the time left at the current rate; -1 when unknown
	// (no estimate, no rows yet, or more rows done than estimated).
	ETASeconds float64 `json:"eta_seconds"`
	Done       bool    `json:"done"`
}

// Report computes the table's progress now.
func (p *Progress) Report() ProgressReport {
	r := ProgressReport{Table: p.Table, Kind: p.Kind, Rows: p.rows.Load(), EstimatedRows: p.Estimated, ETASeconds: -1}
	end := time.Now()
	if e := p.endNs.Load(); e != 0 {
		end = time.Unix(0, e)
		r.Done = true
	}
	if el := end.Sub(p.start).Seconds(); el > 0 {
		r.RowsPerSecond = float64(r.Rows) / el
	}
	switch {
	case r.Done:
		r.ETASeconds = 0
	case r.Estimated() && r.RowsPerSecond > 0 && r.Rows <= r.EstimatedRows:
		r.ETASeconds = float64(r.EstimatedRows-r.Rows) / r.RowsPerSecond
	}
	return r
}

// Estimated reports whether the database gave a row estimate.
func (r ProgressReport) Estimated() bool { return r.EstimatedRows > 0 }

// LogAttrs are the progress as slog attributes: table, rows,
// estimated_rows, rows_per_second and eta.
func (p *Progress) LogAttrs() []any {
	if p == nil {
		return nil
	}
	r := p.Report()
	eta := "unknown"
	if r.ETASeconds >= 0 {
		eta = (time.Duration(r.ETASeconds) * time.Second).String()
	}
	return []any{"table", r.Table, "rows", r.Rows, "estimated_rows", r.EstimatedRows,
		"rows_per_second", int64(r.RowsPerSecond), "elapsed", time.Since(p.start).Round(time.Second), "eta", eta}
}

// Progress returns the progress of the tables of the current snapshot,
// by table name; nil on a nil *Task.
func (t *Task) Progress() []ProgressReport {
	if t == nil {
		return nil
	}
	t.rowsMu.Lock()
	ps := make([]*Progress, 0, len(t.progress))
	for _, p := range t.progress {
		ps = append(ps, p)
	}
	t.rowsMu.Unlock()
	out := make([]ProgressReport, len(ps))
	for i, p := range ps {
		out[i] = p.Report()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}

// progressState is what Task holds for Progress; embedded so task.go
// keeps Debezium's metrics apart.
type progressState struct {
	progress map[string]*Progress // under rowsMu
	adhoc    atomic.Bool          // an incremental/blocking snapshot set SnapshotRunning
}

// SnapshotProgress is the snapshot progress of a task reporting to r
// (nil when there is none), for the REST status.
func (r *Registry) SnapshotProgress(connector string, task int) []ProgressReport {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	e := r.tasks[taskKey{connector, task}]
	r.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.t.Progress()
}
