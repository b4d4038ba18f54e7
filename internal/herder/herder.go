package herder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/transforms"
)

// TaskSpec is what a TaskRunner needs to run one task.
type TaskSpec struct {
	ID     TaskID
	Plugin *connect.Plugin
	// Config is the task configuration with config provider references
	// resolved and Kafka Connect's task.class removed.
	Config map[string]string
	// Started is called once the task is built and about to run; the task
	// is reported RUNNING from then on.
	Started func()
	// Topic is called the first time the task writes to (or reads from) a
	// topic, for the connector's active topics (KIP-558).
	Topic func(topic string)
	// TaskCount is how many tasks the connector has.
	TaskCount int
}

// TaskRunner runs tasks: a source task producing to Kafka, or a sink task
// consuming from it.
type TaskRunner interface {
	// RunTask runs the task until ctx ends (then it returns nil after a
	// clean stop) or the task fails.
	RunTask(ctx context.Context, spec TaskSpec) error
}

// LoggerLevels applies cluster-wide logger level changes
// (PUT /admin/loggers/{name}?scope=cluster).
type LoggerLevels interface {
	SetLevel(namespace, level string) ([]string, error)
}

// Options configure a Herder.
type Options struct {
	// WorkerID identifies this worker in statuses: the advertised REST
	// host:port, as Kafka Connect uses.
	WorkerID string
	// URL is the advertised REST base URL other workers forward to.
	URL string

	Plugins    connect.Plugins
	Converters *converter.Factory
	Transforms transforms.Registry
	// Worker holds the worker properties (converter defaults).
	Worker map[string]string
	// ExactlyOnce, when set, validates source connectors' exactly-once
	// properties against the worker (exactly.once.support=required and
	// the rest, with Kafka Connect's messages).
	ExactlyOnce *runtime.ExactlyOnce
	// ExtraPlugins are the non-connector plugins listed by
	// GET /connector-plugins?connectorsOnly=false.
	ExtraPlugins []PluginInfo

	Runner TaskRunner
	// Signals are the inboxes through which the REST API hands signals
	// to this worker's tasks: each task runs with them in its context
	// (signal.WithInboxes). nil when no REST API is served.
	Signals *signal.Inboxes
	Configs ConfigStore
	Status  StatusStore
	Offsets offsets.Store
	// SinkOffsets serves the offsets endpoints for sink connectors
	// (consumer group offsets); nil reports them as unsupported.
	SinkOffsets SinkOffsets

	// Group, when set, makes this a distributed worker; otherwise the
	// herder is standalone and runs everything itself.
	Group *GroupOptions

	// ScheduledRebalanceMaxDelay is scheduled.rebalance.max.delay.ms.
	ScheduledRebalanceMaxDelay time.Duration
	// RestartBackoff and RestartBackoffMax bound the exponential backoff
	// between automatic restarts of a failed task.
	RestartBackoff, RestartBackoffMax time.Duration
	// TaskShutdownTimeout is task.shutdown.graceful.timeout.ms.
	TaskShutdownTimeout time.Duration
	// ExitWhenTasksEnd is `tributary run` when nothing outside the
	// process (REST API, metrics, connector directories) could restart or
	// reconfigure a task: a failed task is not restarted and a finished
	// one is not kept idle; once SubmittedAll was called, Run returns when
	// every task of the started connectors has ended, or ctx ends, with
	// the joined errors of the tasks that failed.
	ExitWhenTasksEnd bool
	// OfflineValidation checks connector configurations without the
	// connectors' own checks that connect to their databases: `run`
	// without REST, whose tasks connect at once and whose first failure
	// ends the run with the driver's error anyway.
	OfflineValidation bool
	// TopicTracking is topic.tracking.enable; TopicTrackingReset is
	// topic.tracking.allow.reset.
	TopicTracking, TopicTrackingReset bool

	Loggers   LoggerLevels
	ClusterID string
	Logger    *slog.Logger
}

// SinkOffsets reads and changes the consumer group offsets of sink
// connectors (KIP-875).
type SinkOffsets interface {
	List(ctx context.Context, connector string, props map[string]string) ([]ConnectorOffset, error)
	Alter(ctx context.Context, connector string, props map[string]string, offsets []ConnectorOffset) error
	Reset(ctx context.Context, connector string, props map[string]string) error
}

type connRun struct {
	config map[string]string
	state  State
	trace  string
}

type taskRun struct {
	id     TaskID
	config map[string]string
	cancel context.CancelFunc
	done   chan struct{}
	// state is the last reported state (RUNNING, FAILED...), guarded by
	// Herder.mu.
	state State
}

// Herder manages connectors and tasks.
type Herder struct {
	o     Options
	log   *slog.Logger
	group membership
	asg   *assignor // leader state; used from the membership goroutine only

	writeMu sync.Mutex // serialises config writes made as leader

	mu         sync.Mutex
	memberID   string
	leaderID   string
	leaderURL  string
	generation int32
	joined     bool
	wasLeader  bool
	owned      workSet
	lastWork   workSet             // configured work at this leader's last assignment
	owners     map[workItem]string // leader: REST URL of each item's owner
	conns      map[string]*connRun
	tasks      map[TaskID]*taskRun
	delivered  uint64
	appliedN   uint64
	appliedC   chan struct{}
	stopping   bool
	// ended holds the tasks that ended under ExitWhenTasksEnd, with their
	// errors (nil: finished); allEnded is signalled when every task of
	// the started connectors is in it.
	ended     map[TaskID]error
	allEnded  chan struct{}
	submitted bool // SubmittedAll was called
	// assignedC is closed (and replaced) at each assignment, for
	// WaitJoined: `run` submits its connectors as soon as it has joined.
	assignedC chan struct{}

	qmu    sync.Mutex
	queue  []any
	notify chan struct{}
}

type assignEvent struct {
	memberID   string
	generation int32
	a          Assignment
}

type lostEvent struct{ reason string }

type funcEvent struct {
	fn   func()
	done chan struct{}
}

// New returns a herder; Run starts it.
func New(o Options) (*Herder, error) {
	if o.Configs == nil || o.Status == nil || o.Offsets == nil || o.Runner == nil {
		return nil, errors.New("herder: Configs, Status, Offsets and Runner are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RestartBackoff <= 0 {
		o.RestartBackoff = time.Second
	}
	if o.RestartBackoffMax <= 0 {
		o.RestartBackoffMax = time.Minute
	}
	if o.TaskShutdownTimeout <= 0 {
		o.TaskShutdownTimeout = 30 * time.Second
	}
	h := &Herder{o: o, log: o.Logger, owned: workSet{}, conns: map[string]*connRun{}, tasks: map[TaskID]*taskRun{},
		notify: make(chan struct{}, 1), appliedC: closedChan(), ended: map[TaskID]error{}, allEnded: make(chan struct{}, 1),
		assignedC: make(chan struct{})}
	if o.Group != nil {
		g := *o.Group
		if g.Logger == nil {
			g.Logger = o.Logger
		}
		h.group = newKafkaGroup(g)
		h.asg = newAssignor(o.ScheduledRebalanceMaxDelay)
	} else {
		h.group = newLocalGroup()
		h.asg = newAssignor(0)
	}
	return h, nil
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func (h *Herder) enqueue(e any) {
	h.qmu.Lock()
	h.queue = append(h.queue, e)
	h.qmu.Unlock()
	select {
	case h.notify <- struct{}{}:
	default:
	}
}

func (h *Herder) drain() []any {
	h.qmu.Lock()
	defer h.qmu.Unlock()
	q := h.queue
	h.queue = nil
	return q
}

// do runs fn on the herder goroutine and waits for it.
func (h *Herder) do(ctx context.Context, fn func()) error {
	ev := funcEvent{fn: fn, done: make(chan struct{})}
	h.enqueue(ev)
	select {
	case <-ev.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run manages connectors until ctx ends, then stops every task (committing
// offsets) before leaving the group.
func (h *Herder) Run(ctx context.Context) error {
	h.o.Configs.SetListener(func(e configEvent) { h.enqueue(e) })
	groupCtx, cancelGroup := context.WithCancel(context.Background())
	defer cancelGroup()
	groupDone := make(chan error, 1)
	go func() { groupDone <- h.group.run(groupCtx, h) }()
	h.log.Info("worker started", "worker_id", h.o.WorkerID, "distributed", h.o.Group != nil)

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-h.allEnded:
			h.log.Info("every task has ended; stopping the worker")
			break loop
		case err := <-groupDone:
			groupDone = nil
			if err != nil {
				runErr = err
				break loop
			}
		case <-h.notify:
			for _, e := range h.drain() {
				h.handle(ctx, e)
			}
		}
	}
	h.mu.Lock()
	h.stopping = true
	h.mu.Unlock()
	h.stopAll(StateUnassigned, "worker shutting down")
	// Unblock anything waiting on the herder goroutine.
	for _, e := range h.drain() {
		if f, ok := e.(funcEvent); ok {
			close(f.done)
		}
		h.markApplied(e)
	}
	cancelGroup()
	if groupDone != nil {
		<-groupDone
	}
	h.log.Info("worker stopped", "worker_id", h.o.WorkerID)
	if h.o.ExitWhenTasksEnd {
		runErr = errors.Join(runErr, h.endedErrors())
	}
	return runErr
}

func (h *Herder) markApplied(e any) {
	switch e.(type) {
	case assignEvent, lostEvent:
		h.mu.Lock()
		h.appliedN++
		if h.appliedN == h.delivered {
			close(h.appliedC)
		}
		h.mu.Unlock()
	}
}

func (h *Herder) handle(ctx context.Context, e any) {
	defer h.markApplied(e)
	switch ev := e.(type) {
	case funcEvent:
		ev.fn()
		close(ev.done)
	case assignEvent:
		h.applyAssignment(ctx, ev)
	case lostEvent:
		h.log.Warn("no longer a member of the worker group; stopping all connectors and tasks", "reason", ev.reason)
		h.stopAll(StateUnassigned, ev.reason)
		h.mu.Lock()
		h.joined = false
		h.leaderID, h.leaderURL = "", ""
		h.mu.Unlock()
	case configEvent:
		switch ev.kind {
		case evRestart:
			h.processRestart(ctx, ev.restart)
		case evLoggerLevel:
			if h.o.Loggers != nil {
				if _, err := h.o.Loggers.SetLevel(ev.namespace, ev.level); err != nil {
					h.log.Warn("ignoring cluster-wide logger level", "logger", ev.namespace, "level", ev.level, "error", err)
				}
			}
		default:
			h.reconcileLocal(ctx)
			if h.isLeader() {
				h.leaderReconcile(ctx)
			}
		}
	}
}

// --- group handler ---

func (h *Herder) applied() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.appliedC
}

func (h *Herder) beginDelivery() {
	h.mu.Lock()
	if h.appliedN == h.delivered {
		h.appliedC = make(chan struct{})
	}
	h.delivered++
	h.mu.Unlock()
}

func (h *Herder) metadata(ctx context.Context) WorkerMetadata {
	select {
	case <-h.applied():
	case <-ctx.Done():
	}
	h.mu.Lock()
	owned := h.owned.work()
	h.mu.Unlock()
	return WorkerMetadata{URL: h.o.URL, ConfigOffset: h.o.Configs.Snapshot().Offset, Owned: owned}
}

func (h *Herder) assign(ctx context.Context, memberID string, members []groupMemberMeta) (map[string]Assignment, error) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.o.Configs.Refresh(rctx); err != nil {
		return nil, fmt.Errorf("reading the config topic before assigning: %w", err)
	}
	cc := h.o.Configs.Snapshot()
	h.mu.Lock()
	if !h.wasLeader {
		h.asg.reset()
	}
	h.mu.Unlock()
	out := h.asg.assign(memberID, h.o.URL, members, cc)
	owners := map[workItem]string{}
	for m, s := range h.asg.prev {
		for it := range s {
			owners[it] = h.asg.prevURL[m]
		}
	}
	h.mu.Lock()
	h.lastWork = configuredWork(cc)
	h.owners = owners
	h.mu.Unlock()
	return out, nil
}

func (h *Herder) assigned(memberID string, generation int32, a Assignment) {
	h.beginDelivery()
	h.enqueue(assignEvent{memberID, generation, a})
}

func (h *Herder) lost(reason string) {
	h.beginDelivery()
	h.enqueue(lostEvent{reason})
}

// --- applying assignments ---

func (h *Herder) isLeader() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.joined && h.memberID != "" && h.memberID == h.leaderID
}

func (h *Herder) applyAssignment(ctx context.Context, ev assignEvent) {
	a := ev.a
	h.mu.Lock()
	h.memberID, h.generation, h.leaderID, h.leaderURL, h.joined = ev.memberID, ev.generation, a.Leader, a.LeaderURL, true
	h.wasLeader = a.Leader == ev.memberID
	close(h.assignedC)
	h.assignedC = make(chan struct{})
	h.mu.Unlock()
	if a.Error == assignmentConfigMismatch {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		h.o.Configs.Refresh(rctx)
		cancel()
		h.group.requestRejoin("config offset mismatch")
		return
	}
	revoked := workItems(a.Revoked)
	var wg sync.WaitGroup
	for _, it := range revoked {
		if it.isConnector() {
			h.stopConnector(it.Connector, StateUnassigned)
			continue
		}
		id := TaskID(it)
		wg.Add(1)
		go func() { defer wg.Done(); h.stopTask(id, StateUnassigned, "") }()
	}
	wg.Wait()
	h.mu.Lock()
	for _, it := range revoked {
		delete(h.owned, it)
	}
	h.mu.Unlock()

	if h.o.Configs.Snapshot().Offset < a.ConfigOffset {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if err := h.o.Configs.Refresh(rctx); err != nil {
			h.log.Warn("could not read the config topic up to the leader's offset", "error", err)
		}
		cancel()
	}
	h.mu.Lock()
	for _, it := range workItems(a.Assigned) {
		h.owned[it] = true
	}
	h.mu.Unlock()
	if len(revoked) > 0 || a.Assigned.size() > 0 {
		h.log.Info("assignment changed", "generation", ev.generation, "assigned.connectors", a.Assigned.Connectors,
			"assigned.tasks", taskNames(a.Assigned.Tasks), "revoked.connectors", a.Revoked.Connectors, "revoked.tasks", taskNames(a.Revoked.Tasks))
	}
	h.reconcileLocal(ctx)
	if len(revoked) > 0 {
		h.group.requestRejoin("revoked work stopped")
	}
	if h.isLeader() {
		h.leaderReconcile(ctx)
	}
}

func taskNames(ids []TaskID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// reconcileLocal makes what runs here match what this worker owns and
// what the config topic says: starts, pauses, resumes, reconfigures and
// stops connectors and tasks. It is idempotent.
func (h *Herder) reconcileLocal(ctx context.Context) {
	cc := h.o.Configs.Snapshot()
	h.mu.Lock()
	owned := maps.Clone(h.owned)
	h.mu.Unlock()

	for _, it := range sortedItems(owned) {
		if !it.isConnector() {
			continue
		}
		name := it.Connector
		props, ok := cc.Connectors[name]
		if !ok {
			h.stopConnector(name, StateDestroyed)
			h.mu.Lock()
			delete(h.owned, it)
			h.mu.Unlock()
			continue
		}
		h.ensureConnector(ctx, name, props, cc.Target(name))
	}
	var wg sync.WaitGroup
	for _, it := range sortedItems(owned) {
		if it.isConnector() {
			continue
		}
		id := TaskID(it)
		cfg, configured := cc.TaskConfigs[id]
		if configured && (id.Task >= cc.TaskCounts[id.Connector] || cc.Inconsistent[id.Connector]) {
			configured = false
		}
		if !configured {
			wg.Add(1)
			go func() { defer wg.Done(); h.stopTask(id, StateDestroyed, "") }()
			h.mu.Lock()
			delete(h.owned, it)
			h.mu.Unlock()
			continue
		}
		switch cc.Target(id.Connector) {
		case TargetStarted:
			h.mu.Lock()
			tr := h.tasks[id]
			h.mu.Unlock()
			if tr != nil && maps.Equal(tr.config, cfg) {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tr != nil {
					h.log.Info("task configuration changed; restarting task", "connector", id.Connector, "task", id.Task)
					h.stopTask(id, "", "")
				}
				h.startTask(id, cfg)
			}()
		case TargetPaused:
			wg.Add(1)
			go func() { defer wg.Done(); h.stopTask(id, StatePaused, "") }()
		case TargetStopped:
			wg.Add(1)
			go func() { defer wg.Done(); h.stopTask(id, StateDestroyed, "") }()
		}
	}
	wg.Wait()
}

// ensureConnector brings a connector this worker owns to its target state.
// Tributary's connectors have no separate connector instance: the owner
// validates the configuration and reports the connector's status.
func (h *Herder) ensureConnector(ctx context.Context, name string, props map[string]string, target TargetState) {
	want := StateRunning
	trace := ""
	switch target {
	case TargetPaused:
		want = StatePaused
	case TargetStopped:
		want = StateStopped
	}
	if want != StateStopped {
		if _, _, err := h.parse(name, props); err != nil {
			want, trace = StateFailed, failureTrace(h.scrubber(props).Error(err))
		}
	}
	h.mu.Lock()
	cr := h.conns[name]
	same := cr != nil && cr.state == want && cr.trace == trace && maps.Equal(cr.config, props)
	if !same {
		h.conns[name] = &connRun{config: maps.Clone(props), state: want, trace: trace}
	}
	h.mu.Unlock()
	if same {
		return
	}
	if want == StateFailed {
		h.log.Error("connector failed", "connector", name, "error", trace)
	} else {
		h.log.Info("connector "+strings.ToLower(string(want)), "connector", name)
	}
	h.putConnectorStatus(ctx, name, want, trace)
}

func (h *Herder) stopConnector(name string, final State) {
	h.mu.Lock()
	_, ok := h.conns[name]
	delete(h.conns, name)
	h.mu.Unlock()
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if final == StateUnassigned {
		h.putConnectorStatusSafe(ctx, name, final)
		return
	}
	h.putConnectorStatus(ctx, name, final, "")
}

// stopAll stops every connector and task of this worker.
func (h *Herder) stopAll(final State, reason string) {
	h.mu.Lock()
	var ids []TaskID
	for id := range h.tasks {
		ids = append(ids, id)
	}
	var names []string
	for n := range h.conns {
		names = append(names, n)
	}
	h.owned = workSet{}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() { defer wg.Done(); h.stopTask(id, final, "") }()
	}
	wg.Wait()
	for _, n := range names {
		h.stopConnector(n, final)
	}
	if len(ids)+len(names) > 0 {
		h.log.Info("stopped all connectors and tasks", "connectors", len(names), "tasks", len(ids), "reason", reason)
	}
}

// startTask starts a task goroutine that restarts the task with capped
// exponential backoff whenever it fails.
func (h *Herder) startTask(id TaskID, cfg map[string]string) {
	ctx, cancel := context.WithCancel(signal.WithInboxes(context.Background(), h.o.Signals))
	tr := &taskRun{id: id, config: maps.Clone(cfg), cancel: cancel, done: make(chan struct{})}
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		cancel()
		return
	}
	h.tasks[id] = tr
	h.mu.Unlock()
	go h.runTask(ctx, tr)
}

func (h *Herder) runTask(ctx context.Context, tr *taskRun) {
	defer close(tr.done)
	log := h.log.With("connector", tr.id.Connector, "task", tr.id.Task)
	backoff := h.o.RestartBackoff
	topics := map[string]bool{}
	var topicsMu sync.Mutex
	for attempt := 0; ; attempt++ {
		started := time.Now()
		err := h.runOnce(ctx, tr, log, topics, &topicsMu)
		if h.o.ExitWhenTasksEnd {
			h.taskEnded(ctx, tr, log, err)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			// The task finished its work (e.g. an initial-only snapshot);
			// it stays RUNNING, idle, like a Kafka Connect task whose poll
			// returns nothing, until stopped.
			log.Info("task completed")
			<-ctx.Done()
			return
		}
		trace := failureTrace(err)
		log.Error("task failed; will restart", "error", err, "retry_in", backoff.String())
		h.setTaskState(tr, StateFailed)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		h.putTaskStatus(sctx, tr.id, StateFailed, trace)
		cancel()
		if time.Since(started) > h.o.RestartBackoffMax {
			backoff = h.o.RestartBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff *= 2
		if backoff > h.o.RestartBackoffMax {
			backoff = h.o.RestartBackoffMax
		}
	}
}

func (h *Herder) runOnce(ctx context.Context, tr *taskRun, log *slog.Logger, topics map[string]bool, topicsMu *sync.Mutex) (err error) {
	// Whatever the task or its driver says goes into the task's status
	// trace and the log: hide the connector's secrets in it. Deferred
	// first, so that it also covers a recovered panic.
	defer func() {
		if err != nil {
			err = h.scrubber(tr.config).Error(err)
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("task panicked: %v\n%s", r, debug.Stack())
		}
	}()
	cfg := maps.Clone(tr.config)
	delete(cfg, "task.class")
	resolved := make(map[string]string, len(cfg))
	for k, v := range cfg {
		r, err := resolveConfigValue(v)
		if err != nil {
			return fmt.Errorf("connector %q: property %s: %w", tr.id.Connector, k, err)
		}
		resolved[k] = r
	}
	p, ok := h.o.Plugins.Lookup(strings.TrimSpace(resolved["connector.class"]))
	if !ok {
		return fmt.Errorf("connector %q: no connector plugin for class %q", tr.id.Connector, resolved["connector.class"])
	}
	spec := TaskSpec{ID: tr.id, Plugin: p, Config: resolved, TaskCount: max(h.o.Configs.Snapshot().TaskCounts[tr.id.Connector], 1),
		Started: func() {
			h.setTaskState(tr, StateRunning)
			sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			h.putTaskStatus(sctx, tr.id, StateRunning, "")
			log.Info("task running")
		},
		Topic: func(topic string) {
			if !h.o.TopicTracking {
				return
			}
			topicsMu.Lock()
			seen := topics[topic]
			topics[topic] = true
			topicsMu.Unlock()
			if seen {
				return
			}
			for _, t := range h.o.Status.Topics(tr.id.Connector) {
				if t.Topic == topic {
					return
				}
			}
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := h.o.Status.PutTopic(sctx, TopicStatus{Topic: topic, Connector: tr.id.Connector, Task: tr.id.Task, DiscoverTimestamp: time.Now().UnixMilli()}); err != nil {
				log.Warn("recording active topic", "topic", topic, "error", err)
			}
		}}
	return h.o.Runner.RunTask(ctx, spec)
}

func (h *Herder) setTaskState(tr *taskRun, s State) {
	h.mu.Lock()
	tr.state = s
	h.mu.Unlock()
}

// stopTask stops a running task and reports final (nothing when empty).
func (h *Herder) stopTask(id TaskID, final State, trace string) {
	h.mu.Lock()
	tr := h.tasks[id]
	delete(h.tasks, id)
	h.mu.Unlock()
	if tr != nil {
		tr.cancel()
		select {
		case <-tr.done:
		case <-time.After(h.o.TaskShutdownTimeout + 5*time.Second):
			h.log.Error("task did not stop in time; abandoning it", "connector", id.Connector, "task", id.Task)
		}
	}
	if final == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch final {
	case StateUnassigned:
		if tr != nil {
			h.putTaskStatusSafe(ctx, id, final)
		}
	case StatePaused:
		if st, ok := h.o.Status.Task(id); !ok || st.State != StatePaused || st.WorkerID != h.o.WorkerID {
			h.putTaskStatus(ctx, id, StatePaused, "")
		}
	default:
		if _, ok := h.o.Status.Task(id); ok || tr != nil {
			h.putTaskStatus(ctx, id, final, trace)
		}
	}
}

func (h *Herder) gen() int32 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.generation
}

func (h *Herder) putConnectorStatus(ctx context.Context, name string, s State, trace string) {
	if err := h.o.Status.PutConnector(ctx, name, Status{State: s, Trace: trace, WorkerID: h.o.WorkerID, Generation: h.gen()}); err != nil {
		h.log.Warn("writing connector status", "connector", name, "error", err)
	}
}

// putConnectorStatusSafe writes only over this worker's own or older
// statuses (Kafka Connect's putSafe), so a worker giving work up does not
// overwrite the status written by its new owner.
func (h *Herder) putConnectorStatusSafe(ctx context.Context, name string, s State) {
	if cur, ok := h.o.Status.Connector(name); ok && cur.WorkerID != h.o.WorkerID && cur.Generation > h.gen() {
		return
	}
	h.putConnectorStatus(ctx, name, s, "")
}

func (h *Herder) putTaskStatus(ctx context.Context, id TaskID, s State, trace string) {
	if err := h.o.Status.PutTask(ctx, id, Status{State: s, Trace: trace, WorkerID: h.o.WorkerID, Generation: h.gen()}); err != nil {
		h.log.Warn("writing task status", "connector", id.Connector, "task", id.Task, "error", err)
	}
}

func (h *Herder) putTaskStatusSafe(ctx context.Context, id TaskID, s State) {
	if cur, ok := h.o.Status.Task(id); ok && cur.WorkerID != h.o.WorkerID && cur.Generation > h.gen() {
		return
	}
	h.putTaskStatus(ctx, id, s, "")
}

// --- leader duties ---

// taskConfigsFor is what the connector's tasks run with: the connector's
// configuration, to which Kafka Connect's worker adds task.class, once
// per task (connect.Plugin.MaxTasks; one for Debezium's connectors). A
// stopped connector has none.
func (h *Herder) taskConfigsFor(props map[string]string, target TargetState) []map[string]string {
	if target == TargetStopped {
		return nil
	}
	p, ok := h.o.Plugins.Lookup(strings.TrimSpace(props["connector.class"]))
	if !ok {
		return nil
	}
	n := 1
	if p.MaxTasks != nil {
		// parsed as its tasks will parse it, with config provider
		// references resolved; one that does not parse fails in its one
		// task, which reports why
		resolved := make(map[string]string, len(props))
		for k, v := range props {
			r, err := resolveConfigValue(v)
			if err != nil {
				r = v
			}
			resolved[k] = r
		}
		if c, err := parseWith(p, props["name"], resolved); err == nil {
			n = max(p.MaxTasks(c.Values), 1)
		}
	}
	out := make([]map[string]string, n)
	for i := range out {
		out[i] = maps.Clone(props)
		out[i]["task.class"] = taskClass(p)
	}
	return out
}

// taskClass names the task class as Kafka Connect records it:
// io.debezium.connector.postgresql.PostgresConnector runs
// PostgresConnectorTask.
func taskClass(p *connect.Plugin) string { return p.Class + "Task" }

func (h *Herder) leaderReconcile(ctx context.Context) {
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	cc := h.o.Configs.Snapshot()
	for _, name := range cc.Names() {
		desired := h.taskConfigsFor(cc.Connectors[name], cc.Target(name))
		current := cc.Tasks(name)
		same := !cc.Inconsistent[name] && len(current) == len(desired) && len(desired) == cc.TaskCounts[name]
		if _, committed := cc.TaskCounts[name]; !committed && len(desired) == 0 {
			same = true
		}
		for i := 0; same && i < len(desired); i++ {
			same = maps.Equal(cc.TaskConfigs[TaskID{name, i}], desired[i])
		}
		if same {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := h.o.Configs.PutTaskConfigs(wctx, name, desired)
		cancel()
		if err != nil {
			h.log.Error("writing task configurations", "connector", name, "error", err)
			continue
		}
		h.log.Info("task configurations written", "connector", name, "tasks", len(desired))
	}
	work := configuredWork(h.o.Configs.Snapshot())
	h.mu.Lock()
	changed := !maps.Equal(work, h.lastWork)
	h.mu.Unlock()
	if changed {
		h.group.requestRejoin("connectors or tasks changed")
	}
}

// --- restarts ---

// processRestart executes a restart request read from the config topic
// for whatever of the connector runs on this worker.
func (h *Herder) processRestart(ctx context.Context, r RestartRequest) {
	cc := h.o.Configs.Snapshot()
	props, ok := cc.Connectors[r.Connector]
	if !ok {
		return
	}
	h.mu.Lock()
	_, ownConn := h.conns[r.Connector]
	var ownTasks []TaskID
	for it := range h.owned {
		if !it.isConnector() && it.Connector == r.Connector {
			ownTasks = append(ownTasks, TaskID(it))
		}
	}
	h.mu.Unlock()
	connStatus, _ := h.o.Status.Connector(r.Connector)
	if ownConn && (!r.OnlyFailed || connStatus.State == StateFailed) {
		h.log.Info("restarting connector", "connector", r.Connector)
		h.putConnectorStatus(ctx, r.Connector, StateRestarting, "")
		h.mu.Lock()
		delete(h.conns, r.Connector)
		h.mu.Unlock()
		h.ensureConnector(ctx, r.Connector, props, cc.Target(r.Connector))
	}
	if !r.IncludeTasks {
		return
	}
	var wg sync.WaitGroup
	for _, id := range ownTasks {
		st, _ := h.o.Status.Task(id)
		if r.OnlyFailed && st.State != StateFailed {
			continue
		}
		cfg, ok := cc.TaskConfigs[id]
		if !ok || cc.Target(id.Connector) != TargetStarted {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.restartLocalTask(id, cfg)
		}()
	}
	wg.Wait()
}

func (h *Herder) restartLocalTask(id TaskID, cfg map[string]string) {
	h.log.Info("restarting task", "connector", id.Connector, "task", id.Task)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	h.putTaskStatus(ctx, id, StateRestarting, "")
	cancel()
	h.stopTask(id, "", "")
	h.startTask(id, cfg)
}

// failureTrace renders an error for a status trace. Kafka Connect stores
// a Java stack trace; Tributary stores the error chain, one cause a line.
func failureTrace(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Ready reports whether this worker has joined its group and every task
// it runs is running (or deliberately paused), for /readyz.
func (h *Herder) Ready() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.joined {
		return false, "worker has not joined the group"
	}
	var notRunning []string
	for id, tr := range h.tasks {
		if tr.state != StateRunning {
			notRunning = append(notRunning, fmt.Sprintf("%s is %s", id, orUnset(tr.state)))
		}
	}
	sort.Strings(notRunning)
	if len(notRunning) > 0 {
		return false, strings.Join(notRunning, "; ")
	}
	return true, "ok"
}

func orUnset(s State) string {
	if s == "" {
		return "STARTING"
	}
	return string(s)
}

// LocalTasks lists the tasks running on this worker and their states,
// for metrics.
func (h *Herder) LocalTasks() map[TaskID]State {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[TaskID]State, len(h.tasks))
	for id, tr := range h.tasks {
		out[id] = tr.state
	}
	return out
}
