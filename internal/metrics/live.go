package metrics

import (
	"sort"
	"time"

	"github.com/tributary-io/tributary/internal/runtime"
)

// TaskLive is one task's counters at one moment, for the console: it
// computes rates and keeps history itself, between its own samples.
type TaskLive struct {
	Connector string
	Task      int
	Source    bool
	// Records is the count of records delivered: acknowledged by Kafka
	// (source) or written by the sink.
	Records int64
	// Skipped is the count of records dropped under errors.tolerance=all.
	Skipped int64
	// LagMs is the streaming lag (source: now minus the newest event's
	// source time; sink: put lag); -1 when unknown.
	LagMs             int64
	SnapshotRunning   bool
	SnapshotCompleted bool
	Snapshot          []ProgressReport
	// Errors are the last records the source skipped, newest first.
	Errors []runtime.RecordError
}

// Live returns every registered task's counters, sorted by connector and
// task.
func (r *Registry) Live() []TaskLive {
	r.mu.Lock()
	entries := make([]*taskEntry, 0, len(r.tasks))
	for _, e := range r.tasks {
		entries = append(entries, e)
	}
	now := r.now()
	r.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].t.Connector != entries[j].t.Connector {
			return entries[i].t.Connector < entries[j].t.Connector
		}
		return entries[i].t.TaskID < entries[j].t.TaskID
	})
	out := make([]TaskLive, 0, len(entries))
	for _, e := range entries {
		t := e.t
		l := TaskLive{Connector: t.Connector, Task: t.TaskID, Source: e.src != nil, LagMs: -1,
			SnapshotRunning: t.snapshotRunning.Load(), SnapshotCompleted: t.snapshotCompleted.Load(), Snapshot: t.Progress()}
		if s := e.src; s != nil {
			l.Records, l.Skipped, l.Errors = s.Written.Load(), s.Skipped.Load(), s.Errors.Last()
			switch {
			case t.lagSet.Load():
				l.LagMs = t.lagMs.Load()
			case s.LastEventMs.Load() > 0:
				l.LagMs = max(now.Sub(time.UnixMilli(s.LastEventMs.Load())).Milliseconds(), 0)
			}
		} else {
			l.Records = t.sinkPut.Load()
			if t.sinkLagSet.Load() {
				l.LagMs = t.sinkLagMs.Load()
			}
		}
		out = append(out, l)
	}
	return out
}
