// Package console serves the worker's live console at /ui on the REST
// port: connectors and tasks with their state, events/s and lag
// sparklines, snapshot progress with ETA, the last errors and the
// pause/resume/restart actions. The page and its script are embedded; it
// needs nothing from the network but the worker's own REST API, whose
// endpoints the actions call.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/runtime"
)

//go:embed static
var static embed.FS

// Herder is what the console reads of the worker.
type Herder interface {
	Connectors(ctx context.Context) ([]string, error)
	ConnectorStatus(ctx context.Context, name string) (*herder.ConnectorStateInfo, error)
}

// Options configure the console.
type Options struct {
	Herder Herder
	// Live returns the tasks' counters (metrics.Registry.Live).
	Live   func() []metrics.TaskLive
	Logger *slog.Logger
	// now is the clock; tests may set it.
	now func() time.Time
}

// historyLen is how many samples each sparkline keeps.
const historyLen = 60

// minSampleGap keeps several open consoles from sampling faster than
// the page polls.
const minSampleGap = 900 * time.Millisecond

// maxErrors bounds the errors list.
const maxErrors = 20

type taskKey struct {
	connector string
	task      int
}

type series struct {
	lastRecords int64
	lastAt      time.Time
	rates       []float64
	lags        []float64
	rate        float64
}

// Console is the /ui handler.
type Console struct {
	o      Options
	static http.Handler

	mu       sync.Mutex
	series   map[taskKey]*series
	lastAt   time.Time
	errors   []ErrorEntry
	seenErrs map[string]bool
}

// New returns the console handler.
func New(o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.now == nil {
		o.now = time.Now
	}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return &Console{o: o, static: http.StripPrefix("/ui/", http.FileServerFS(sub)), series: map[taskKey]*series{}, seenErrs: map[string]bool{}}
}

// ServeHTTP serves /ui, its assets and /ui/api/state.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/ui":
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	case "/ui/api/state":
		c.serveState(w, r)
	default:
		w.Header().Set("Cache-Control", "no-cache")
		c.static.ServeHTTP(w, r)
	}
}

// State is the JSON the page polls.
type State struct {
	Time       time.Time        `json:"time"`
	Connectors []ConnectorState `json:"connectors"`
	Errors     []ErrorEntry     `json:"errors"`
}

// ConnectorState is one connector row.
type ConnectorState struct {
	Name     string      `json:"name"`
	Type     string      `json:"type"`
	State    string      `json:"state"`
	WorkerID string      `json:"worker_id"`
	Trace    string      `json:"trace,omitempty"`
	Tasks    []TaskState `json:"tasks"`
}

// TaskState is one task row.
type TaskState struct {
	ID           int       `json:"id"`
	State        string    `json:"state"`
	WorkerID     string    `json:"worker_id"`
	Trace        string    `json:"trace,omitempty"`
	Local        bool      `json:"local"` // runs on this worker: counters known
	Records      int64     `json:"records"`
	Skipped      int64     `json:"skipped"`
	EventsPerSec float64   `json:"events_per_sec"`
	LagMs        int64     `json:"lag_ms"`
	RateHistory  []float64 `json:"rate_history"`
	LagHistory   []float64 `json:"lag_history"`
	Snapshot     *Snapshot `json:"snapshot,omitempty"`
}

// Snapshot is a task's snapshot progress over all its tables.
type Snapshot struct {
	Running   bool                     `json:"running"`
	Completed bool                     `json:"completed"`
	Rows      int64                    `json:"rows"`
	Estimated int64                    `json:"estimated_rows"`
	Percent   float64                  `json:"percent"`
	ETASecond float64                  `json:"eta_seconds"` // -1 unknown
	Tables    []metrics.ProgressReport `json:"tables"`
}

// ErrorEntry is a failure the console saw: a failed connector or task,
// or records skipped under errors.tolerance=all.
type ErrorEntry struct {
	At        time.Time `json:"at"`
	Connector string    `json:"connector"`
	Task      *int      `json:"task,omitempty"`
	Message   string    `json:"message"`
	// The offending record's coordinates, for a skipped record.
	Topic           string         `json:"topic,omitempty"`
	SourcePartition map[string]any `json:"source_partition,omitempty"`
	SourceOffset    map[string]any `json:"source_offset,omitempty"`
}

func (c *Console) serveState(w http.ResponseWriter, r *http.Request) {
	st, err := c.state(r.Context())
	if err != nil {
		c.o.Logger.Warn("console: reading the worker's state failed", "error", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(st)
}

func (c *Console) state(ctx context.Context) (*State, error) {
	names, err := c.o.Herder.Connectors(ctx)
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	sort.Strings(names)
	live := map[taskKey]metrics.TaskLive{}
	if c.o.Live != nil {
		for _, l := range c.o.Live() {
			live[taskKey{l.Connector, l.Task}] = l
		}
	}
	now := c.o.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastAt) >= minSampleGap {
		c.sample(now, live)
	}
	out := &State{Time: now, Connectors: []ConnectorState{}}
	for _, name := range names {
		s, err := c.o.Herder.ConnectorStatus(ctx, name)
		if err != nil {
			// deleted between the list and the status
			continue
		}
		cs := ConnectorState{Name: name, Type: s.Type, State: string(s.Connector.State), WorkerID: s.Connector.WorkerID, Trace: s.Connector.Trace}
		if cs.Trace != "" {
			c.noteError(now, name, nil, cs.Trace)
		}
		for _, t := range s.Tasks {
			ts := TaskState{ID: t.ID, State: string(t.State), WorkerID: t.WorkerID, Trace: t.Trace, LagMs: -1,
				RateHistory: []float64{}, LagHistory: []float64{}}
			if t.Trace != "" {
				id := t.ID
				c.noteError(now, name, &id, t.Trace)
			}
			k := taskKey{name, t.ID}
			if l, ok := live[k]; ok {
				ts.Local, ts.Records, ts.Skipped, ts.LagMs = true, l.Records, l.Skipped, l.LagMs
				for i := len(l.Errors) - 1; i >= 0; i-- {
					e := l.Errors[i]
					id := t.ID
					c.noteRecordError(name, &id, e)
				}
				ts.Snapshot = snapshotOf(l)
			}
			if se := c.series[k]; se != nil {
				ts.EventsPerSec = se.rate
				ts.RateHistory = append(ts.RateHistory, se.rates...)
				ts.LagHistory = append(ts.LagHistory, se.lags...)
			}
			cs.Tasks = append(cs.Tasks, ts)
		}
		if cs.Tasks == nil {
			cs.Tasks = []TaskState{}
		}
		out.Connectors = append(out.Connectors, cs)
	}
	out.Errors = append([]ErrorEntry{}, c.errors...)
	return out, nil
}

// sample appends one point to every live task's sparklines. c.mu held.
func (c *Console) sample(now time.Time, live map[taskKey]metrics.TaskLive) {
	c.lastAt = now
	for k, l := range live {
		se := c.series[k]
		if se == nil {
			se = &series{lastRecords: l.Records, lastAt: now}
			c.series[k] = se
			continue
		}
		if dt := now.Sub(se.lastAt).Seconds(); dt > 0 {
			se.rate = max(float64(l.Records-se.lastRecords), 0) / dt
		}
		se.lastRecords, se.lastAt = l.Records, now
		se.rates = appendBounded(se.rates, se.rate)
		lag := float64(l.LagMs)
		if lag < 0 {
			lag = 0
		}
		se.lags = appendBounded(se.lags, lag)
	}
	for k := range c.series {
		if _, ok := live[k]; !ok {
			delete(c.series, k)
		}
	}
}

func appendBounded(s []float64, v float64) []float64 {
	if len(s) == historyLen {
		s = append(s[:0], s[1:]...)
	}
	return append(s, v)
}

// noteError adds a failure once (by its text), newest first. c.mu held.
func (c *Console) noteError(now time.Time, connector string, task *int, msg string) {
	key := fmt.Sprintf("%s/%v/%s", connector, task, msg)
	if task != nil {
		key = fmt.Sprintf("%s/%d/%s", connector, *task, msg)
	}
	if c.seenErrs[key] {
		return
	}
	c.seenErrs[key] = true
	c.errors = append([]ErrorEntry{{At: now, Connector: connector, Task: task, Message: strings.TrimSpace(msg)}}, c.errors...)
	if len(c.errors) > maxErrors {
		c.errors = c.errors[:maxErrors]
	}
}

// noteRecordError adds a skipped record once, newest first. c.mu held.
func (c *Console) noteRecordError(connector string, task *int, e runtime.RecordError) {
	key := fmt.Sprintf("%s/%d/%s/%v/%v/%s", connector, *task, e.Topic, e.SourcePartition, e.SourceOffset, e.Message)
	if c.seenErrs[key] {
		return
	}
	c.seenErrs[key] = true
	c.errors = append([]ErrorEntry{{At: e.At, Connector: connector, Task: task, Message: "record skipped (errors.tolerance=all): " + e.Message,
		Topic: e.Topic, SourcePartition: e.SourcePartition, SourceOffset: e.SourceOffset}}, c.errors...)
	if len(c.errors) > maxErrors {
		c.errors = c.errors[:maxErrors]
	}
}

// snapshotOf sums a task's per-table progress; nil when the task never
// snapshotted.
func snapshotOf(l metrics.TaskLive) *Snapshot {
	if len(l.Snapshot) == 0 && !l.SnapshotRunning && !l.SnapshotCompleted {
		return nil
	}
	s := &Snapshot{Running: l.SnapshotRunning, Completed: l.SnapshotCompleted, Tables: l.Snapshot, ETASecond: -1}
	var rate float64
	allDone := len(l.Snapshot) > 0
	unknown := false
	for _, t := range l.Snapshot {
		s.Rows += t.Rows
		switch {
		case t.Done:
			s.Estimated += t.Rows
		case t.EstimatedRows > 0:
			// more rows than estimated count as their rows
			s.Estimated += max(t.EstimatedRows, t.Rows)
		default:
			unknown = true
		}
		if !t.Done {
			allDone = false
			rate += t.RowsPerSecond
		}
	}
	switch {
	case s.Completed || (allDone && !s.Running):
		s.Percent, s.ETASecond = 100, 0
	case unknown:
		// no estimate for a table in progress: no percentage to show
	case s.Estimated > 0:
		s.Percent = min(100*float64(s.Rows)/float64(s.Estimated), 99.9)
		if rate > 0 {
			s.ETASecond = float64(s.Estimated-s.Rows) / rate
		}
	}
	return s
}
