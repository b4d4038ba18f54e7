package herder

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sort"
	"strings"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
)

// The methods below serve the REST API. Changes to configurations are
// made by the group leader (others return a RequestTargetError naming it,
// and the REST layer forwards), as in Kafka Connect's DistributedHerder.

// ClusterID is the Kafka cluster id for GET /.
func (h *Herder) ClusterID() string { return h.o.ClusterID }

// TopicTracking reports topic.tracking.enable and
// topic.tracking.allow.reset.
func (h *Herder) TopicTracking() (enabled, resetAllowed bool) {
	return h.o.TopicTracking, h.o.TopicTrackingReset
}

func (h *Herder) requireLeader(msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.joined && h.memberID != "" && h.memberID == h.leaderID {
		return nil
	}
	url := ""
	if h.joined {
		url = h.leaderURL
	}
	return &RequestTargetError{Msg: msg, URL: url}
}

// Connectors lists connector names.
func (h *Herder) Connectors(context.Context) ([]string, error) {
	return h.o.Configs.Snapshot().Names(), nil
}

func (h *Herder) info(cc *ClusterConfig, name string) *ConnectorInfo {
	props := cc.Connectors[name]
	tasks := cc.Tasks(name)
	if tasks == nil {
		tasks = []TaskID{}
	}
	return &ConnectorInfo{Name: name, Config: maps.Clone(props), Tasks: tasks, Type: h.typeOf(props)}
}

// ConnectorInfo is GET /connectors/{name}.
func (h *Herder) ConnectorInfo(_ context.Context, name string) (*ConnectorInfo, error) {
	cc := h.o.Configs.Snapshot()
	if !cc.Contains(name) {
		return nil, notFound("Connector %s not found", name)
	}
	return h.info(cc, name), nil
}

// ConnectorConfig is GET /connectors/{name}/config.
func (h *Herder) ConnectorConfig(ctx context.Context, name string) (map[string]string, error) {
	ci, err := h.ConnectorInfo(ctx, name)
	if err != nil {
		return nil, err
	}
	return ci.Config, nil
}

// TaskConfigs is GET /connectors/{name}/tasks.
func (h *Herder) TaskConfigs(_ context.Context, name string) ([]TaskInfo, error) {
	cc := h.o.Configs.Snapshot()
	if !cc.Contains(name) {
		return nil, notFound("Connector %s not found", name)
	}
	out := []TaskInfo{}
	for _, id := range cc.Tasks(name) {
		out = append(out, TaskInfo{ID: id, Config: maps.Clone(cc.TaskConfigs[id])})
	}
	return out, nil
}

// PutConnectorConfig creates (allowReplace false: POST /connectors) or
// creates-or-replaces (PUT /connectors/{name}/config) a connector. initial
// is the initial target state of a new connector ("" for STARTED).
func (h *Herder) PutConnectorConfig(ctx context.Context, name string, props map[string]string, allowReplace bool, initial TargetState) (created bool, info *ConnectorInfo, err error) {
	if err := h.requireLeader("Only the leader can set connector configs."); err != nil {
		return false, nil, err
	}
	ci, _, err := h.validate(ctx, props)
	if err != nil {
		return false, nil, err
	}
	if ci.ErrorCount > 0 {
		return false, nil, badRequest("%s", configErrorMessage(ci))
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if err := h.o.Configs.Refresh(ctx); err != nil {
		return false, nil, err
	}
	snap := h.o.Configs.Snapshot()
	exists := snap.Contains(name)
	if exists && !allowReplace {
		return false, nil, conflict("Connector %s already exists", name)
	}
	if err := h.checkConflicts(snap, name, props); err != nil {
		return false, nil, err
	}
	target := TargetState("")
	if !exists {
		target = initial
	}
	if err := h.o.Configs.PutConnectorConfig(ctx, name, props, target); err != nil {
		return false, nil, err
	}
	h.log.Info("connector configuration written", "connector", name, "created", !exists)
	return !exists, h.info(h.o.Configs.Snapshot(), name), nil
}

// PatchConnectorConfig is PATCH /connectors/{name}/config: non-null values
// are set, null values removed.
func (h *Herder) PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (*ConnectorInfo, error) {
	if err := h.requireLeader("Only the leader can set connector configs."); err != nil {
		return nil, err
	}
	cc := h.o.Configs.Snapshot()
	old, ok := cc.Connectors[name]
	if !ok {
		return nil, notFound("Connector %s not found", name)
	}
	props := maps.Clone(old)
	for k, v := range patch {
		if v == nil {
			delete(props, k)
		} else {
			props[k] = *v
		}
	}
	if n, ok := props["name"]; ok && n != name {
		return nil, badRequest("Connector name configuration (%s) doesn't match connector name in the URL (%s)", n, name)
	}
	props["name"] = name
	_, info, err := h.PutConnectorConfig(ctx, name, props, true, "")
	return info, err
}

// DeleteConnector is DELETE /connectors/{name}.
func (h *Herder) DeleteConnector(ctx context.Context, name string) error {
	if err := h.requireLeader("Only the leader can delete connector configs."); err != nil {
		return err
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	cc := h.o.Configs.Snapshot()
	if !cc.Contains(name) {
		return notFound("Connector %s not found", name)
	}
	if err := h.o.Configs.RemoveConnector(ctx, name); err != nil {
		return err
	}
	if err := h.o.Status.DeleteConnector(ctx, name, cc.Tasks(name)); err != nil {
		h.log.Warn("removing statuses of deleted connector", "connector", name, "error", err)
	}
	h.log.Info("connector deleted", "connector", name)
	return nil
}

// PauseConnector is PUT /connectors/{name}/pause; any worker may write a
// target state.
func (h *Herder) PauseConnector(ctx context.Context, name string) error {
	if !h.o.Configs.Snapshot().Contains(name) {
		return notFound("Unknown connector %s", name)
	}
	return h.o.Configs.PutTargetState(ctx, name, TargetPaused)
}

// ResumeConnector is PUT /connectors/{name}/resume.
func (h *Herder) ResumeConnector(ctx context.Context, name string) error {
	if !h.o.Configs.Snapshot().Contains(name) {
		return notFound("Unknown connector %s", name)
	}
	return h.o.Configs.PutTargetState(ctx, name, TargetStarted)
}

// StopConnector is PUT /connectors/{name}/stop (KIP-875): its tasks are
// removed (zero task configurations) and it stays stopped until resumed.
func (h *Herder) StopConnector(ctx context.Context, name string) error {
	if err := h.requireLeader("Only the leader can transition connectors to the STOPPED state."); err != nil {
		return err
	}
	h.writeMu.Lock()
	defer h.writeMu.Unlock()
	if !h.o.Configs.Snapshot().Contains(name) {
		return notFound("Unknown connector %s", name)
	}
	// Tasks first: a STARTED connector without tasks is acceptable should
	// the second write fail; a STOPPED one with tasks is not.
	if err := h.o.Configs.PutTaskConfigs(ctx, name, nil); err != nil {
		return err
	}
	return h.o.Configs.PutTargetState(ctx, name, TargetStopped)
}

// RestartConnector is POST /connectors/{name}/restart. A plain restart
// (neither includeTasks nor onlyFailed) happens on the worker owning the
// connector before the call returns, and returns nil state info; the
// others are recorded in the config topic (KIP-745) for every worker to
// act on, and return the planned states.
func (h *Herder) RestartConnector(ctx context.Context, r RestartRequest) (*ConnectorStateInfo, error) {
	cc := h.o.Configs.Snapshot()
	if r.forceConnectorOnly() {
		props, ok := cc.Connectors[r.Connector]
		if !ok {
			return nil, notFound("Unknown connector: %s", r.Connector)
		}
		it := workItem{r.Connector, connectorTaskMarker}
		h.mu.Lock()
		mine := h.owned[it]
		leader := h.joined && h.memberID == h.leaderID
		h.mu.Unlock()
		switch {
		case mine:
			return nil, h.do(ctx, func() {
				h.log.Info("restarting connector", "connector", r.Connector)
				h.mu.Lock()
				delete(h.conns, r.Connector)
				h.mu.Unlock()
				h.ensureConnector(ctx, r.Connector, props, cc.Target(r.Connector))
			})
		case leader:
			return nil, &RequestTargetError{Msg: "Cannot restart connector since it is not assigned to this member", URL: h.ownerURL(it)}
		}
		return nil, h.requireLeader("Only the leader can process restart requests.")
	}
	if err := h.requireLeader("Only the leader can process restart requests."); err != nil {
		return nil, err
	}
	if !cc.Contains(r.Connector) {
		return nil, notFound("Unknown connector: %s", r.Connector)
	}
	st, ok := h.o.Status.Connector(r.Connector)
	if !ok {
		return nil, notFound("Status for connector %s not found", r.Connector)
	}
	plan := &ConnectorStateInfo{Name: r.Connector, Type: h.typeOf(cc.Connectors[r.Connector]),
		Connector: ConnectorState{State: st.State, WorkerID: st.WorkerID, Trace: st.Trace}}
	if !r.OnlyFailed || st.State == StateFailed {
		plan.Connector.State = StateRestarting
	}
	plan.Tasks = h.taskStates(r.Connector, func(s Status) State {
		if r.IncludeTasks && (!r.OnlyFailed || s.State == StateFailed) {
			return StateRestarting
		}
		return s.State
	})
	if err := h.o.Configs.PutRestartRequest(ctx, r); err != nil {
		return nil, err
	}
	h.log.Info("restart requested", "connector", r.Connector, "include_tasks", r.IncludeTasks, "only_failed", r.OnlyFailed)
	return plan, nil
}

// RestartTask is POST /connectors/{name}/tasks/{id}/restart: the worker
// running the task restarts it; others forward there (via the leader, who
// knows every owner).
func (h *Herder) RestartTask(ctx context.Context, id TaskID) error {
	cc := h.o.Configs.Snapshot()
	if !cc.Contains(id.Connector) {
		return notFound("Unknown connector: %s", id.Connector)
	}
	cfg, ok := cc.TaskConfigs[id]
	if !ok || id.Task >= cc.TaskCounts[id.Connector] {
		return notFound("Unknown task: %s", id)
	}
	h.mu.Lock()
	mine := h.owned[workItem(id)]
	leader := h.joined && h.memberID == h.leaderID
	h.mu.Unlock()
	if mine {
		if cc.Target(id.Connector) != TargetStarted {
			return nil
		}
		return h.do(ctx, func() { h.restartLocalTask(id, cfg) })
	}
	if leader {
		url := h.ownerURL(workItem(id))
		return &RequestTargetError{Msg: "Cannot restart task since it is not assigned to this member", URL: url}
	}
	return h.requireLeader("Cannot restart task since it is not assigned to this member")
}

func (h *Herder) ownerURL(it workItem) string {
	var url string
	// The assignor belongs to the membership goroutine; ask through the
	// herder lock-free snapshot it leaves behind.
	h.mu.Lock()
	url = h.owners[it]
	h.mu.Unlock()
	return url
}

func (h *Herder) taskStates(connector string, state func(Status) State) []TaskState {
	sts := h.o.Status.Tasks(connector)
	ids := make([]int, 0, len(sts))
	for id := range sts {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	out := make([]TaskState, 0, len(ids))
	for _, id := range ids {
		s := sts[id]
		tid := TaskID{Connector: connector, Task: id}
		out = append(out, TaskState{ID: id, State: state(s), WorkerID: s.WorkerID, Trace: s.Trace, Snapshot: h.snapshotProgress(tid), Tables: h.parkedTables(tid)})
	}
	return out
}

// ConnectorStatus is GET /connectors/{name}/status.
func (h *Herder) ConnectorStatus(_ context.Context, name string) (*ConnectorStateInfo, error) {
	st, ok := h.o.Status.Connector(name)
	if !ok {
		return nil, notFound("No status found for connector %s", name)
	}
	cc := h.o.Configs.Snapshot()
	return &ConnectorStateInfo{Name: name, Connector: ConnectorState{State: st.State, WorkerID: st.WorkerID, Trace: st.Trace},
		Tasks: h.taskStates(name, func(s Status) State { return s.State }), Type: h.typeOf(cc.Connectors[name])}, nil
}

// TaskStatus is GET /connectors/{name}/tasks/{id}/status.
func (h *Herder) TaskStatus(_ context.Context, id TaskID) (*TaskState, error) {
	st, ok := h.o.Status.Task(id)
	if !ok {
		return nil, notFound("No status found for task %s", id)
	}
	return &TaskState{ID: id.Task, State: st.State, WorkerID: st.WorkerID, Trace: st.Trace, Snapshot: h.snapshotProgress(id), Tables: h.parkedTables(id)}, nil
}

// parkingRunner is a TaskRunner whose tasks park tables: source tables
// whose new schema is refused (runtime.Parking), sink partitions whose
// schema change the target cannot apply (sinkrunner.Parking).
type parkingRunner interface {
	ParkedTables(connector string, task int) []runtime.ParkedTable
	ResumeTable(connector, table string) error
}

func (h *Herder) parkedTables(id TaskID) []runtime.ParkedTable {
	if pr, ok := h.o.Runner.(parkingRunner); ok {
		return pr.ParkedTables(id.Connector, id.Task)
	}
	return nil
}

// ResumeTable is POST /connectors/{name}/tables/{table}/resume: the
// connector's task on this worker retries the held records of a parked
// table (after the registry or the schema was fixed).
func (h *Herder) ResumeTable(_ context.Context, name, table string) error {
	pr, ok := h.o.Runner.(parkingRunner)
	if !ok {
		return notFound("Connector %s has no parked tables on this worker", name)
	}
	if err := pr.ResumeTable(name, table); err != nil {
		if errors.Is(err, runtime.ErrNotParked) {
			return notFound("Table %s of connector %s is not parked on this worker", table, name)
		}
		return err
	}
	return nil
}

// progressReporter is a TaskRunner that knows the snapshot progress of
// the tasks it runs.
type progressReporter interface {
	SnapshotProgress(connector string, task int) []metrics.ProgressReport
}

func (h *Herder) snapshotProgress(id TaskID) []metrics.ProgressReport {
	if pr, ok := h.o.Runner.(progressReporter); ok {
		return pr.SnapshotProgress(id.Connector, id.Task)
	}
	return nil
}

// ActiveTopics is GET /connectors/{name}/topics.
func (h *Herder) ActiveTopics(_ context.Context, name string) (ActiveTopics, error) {
	topics := []string{}
	for _, t := range h.o.Status.Topics(name) {
		topics = append(topics, t.Topic)
	}
	return ActiveTopics{Topics: topics}, nil
}

// ResetActiveTopics is PUT /connectors/{name}/topics/reset.
func (h *Herder) ResetActiveTopics(ctx context.Context, name string) error {
	for _, t := range h.o.Status.Topics(name) {
		if err := h.o.Status.DeleteTopic(ctx, name, t.Topic); err != nil {
			return err
		}
	}
	return nil
}

// Offsets is GET /connectors/{name}/offsets.
func (h *Herder) Offsets(ctx context.Context, name string) (*ConnectorOffsets, error) {
	cc := h.o.Configs.Snapshot()
	props, ok := cc.Connectors[name]
	if !ok {
		return nil, notFound("Connector %s not found", name)
	}
	out := &ConnectorOffsets{Offsets: []ConnectorOffset{}}
	if h.typeOf(props) == string(connect.SinkPlugin) {
		if h.o.SinkOffsets == nil {
			return nil, &Error{Code: http.StatusInternalServerError, Msg: "Offsets of sink connectors are not available on this worker"}
		}
		offs, err := h.o.SinkOffsets.List(ctx, name, props)
		if err != nil {
			return nil, err
		}
		out.Offsets = append(out.Offsets, offs...)
		return out, nil
	}
	entries, err := h.o.Offsets.List(ctx, name)
	if err != nil {
		return nil, &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to read offsets for source connector %s: %v", name, err)}
	}
	sort.Slice(entries, func(i, j int) bool { return fmt.Sprint(entries[i].Partition) < fmt.Sprint(entries[j].Partition) })
	for _, e := range entries {
		out.Offsets = append(out.Offsets, ConnectorOffset{Partition: e.Partition, Offset: e.Offset})
	}
	return out, nil
}

func (h *Herder) modifyOffsetsChecks(name string) (map[string]string, error) {
	if err := h.requireLeader("Only the leader can process external offsets modification requests"); err != nil {
		return nil, err
	}
	cc := h.o.Configs.Snapshot()
	props, ok := cc.Connectors[name]
	if !ok {
		return nil, notFound("Connector %s not found", name)
	}
	if cc.Target(name) != TargetStopped || cc.TaskCounts[name] != 0 {
		return nil, badRequest("Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint", name)
	}
	return props, nil
}

func modifiedMessage(kind string) *Message {
	return &Message{Message: "The Connect framework-managed offsets for this connector have been " + kind +
		" successfully. However, if this connector manages offsets externally, they will need to be manually " + kind +
		" in the system that the connector uses."}
}

// AlterOffsets is PATCH /connectors/{name}/offsets; a null offset removes
// the partition's offset.
func (h *Herder) AlterOffsets(ctx context.Context, name string, offs []ConnectorOffset) (*Message, error) {
	props, err := h.modifyOffsetsChecks(name)
	if err != nil {
		return nil, err
	}
	if h.typeOf(props) == string(connect.SinkPlugin) {
		if h.o.SinkOffsets == nil {
			return nil, &Error{Code: http.StatusInternalServerError, Msg: "Offsets of sink connectors are not available on this worker"}
		}
		if err := h.o.SinkOffsets.Alter(ctx, name, props, offs); err != nil {
			return nil, err
		}
		return modifiedMessage("altered"), nil
	}
	entries := make([]offsets.Entry, 0, len(offs))
	for _, o := range offs {
		if err := validateOffsetMap(o.Partition); err != nil {
			return nil, err
		}
		if err := validateOffsetMap(o.Offset); err != nil {
			return nil, err
		}
		if o.Partition == nil {
			// A null partition cannot be keyed; Kafka Connect writes the
			// key ["<connector>",null], which nothing ever reads back.
			return nil, badRequest("Partitions may not be null")
		}
		entries = append(entries, offsets.Entry{Partition: o.Partition, Offset: o.Offset})
	}
	if err := h.o.Offsets.Put(ctx, name, entries); err != nil {
		return nil, &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to modify offsets for source connector %s: %v", name, err)}
	}
	h.log.Info("offsets altered", "connector", name, "partitions", len(entries))
	return modifiedMessage("altered"), nil
}

// ResetOffsets is DELETE /connectors/{name}/offsets.
func (h *Herder) ResetOffsets(ctx context.Context, name string) (*Message, error) {
	props, err := h.modifyOffsetsChecks(name)
	if err != nil {
		return nil, err
	}
	if h.typeOf(props) == string(connect.SinkPlugin) {
		if h.o.SinkOffsets == nil {
			return nil, &Error{Code: http.StatusInternalServerError, Msg: "Offsets of sink connectors are not available on this worker"}
		}
		if err := h.o.SinkOffsets.Reset(ctx, name, props); err != nil {
			return nil, err
		}
		return modifiedMessage("reset"), nil
	}
	entries, err := h.o.Offsets.List(ctx, name)
	if err != nil {
		return nil, &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to modify offsets for source connector %s: %v", name, err)}
	}
	for i := range entries {
		entries[i].Offset = nil
	}
	if len(entries) > 0 {
		if err := h.o.Offsets.Put(ctx, name, entries); err != nil {
			return nil, &Error{Code: http.StatusInternalServerError, Msg: fmt.Sprintf("Failed to modify offsets for source connector %s: %v", name, err)}
		}
	}
	h.log.Info("offsets reset", "connector", name, "partitions", len(entries))
	return modifiedMessage("reset"), nil
}

// validateOffsetMap is Kafka Connect's OffsetUtils.validateFormat.
func validateOffsetMap(m map[string]any) error {
	for k, v := range m {
		switch v.(type) {
		case nil, string, bool, int64, float64, int, int32:
		default:
			return &Error{Code: http.StatusInternalServerError,
				Msg: fmt.Sprintf("Offsets may only contain primitive types as values, but field %s contains %s", k, javaTypeName(v))}
		}
	}
	return nil
}

func javaTypeName(v any) string {
	switch v.(type) {
	case map[string]any:
		return "class java.util.LinkedHashMap"
	case []any:
		return "class java.util.ArrayList"
	}
	return fmt.Sprintf("%T", v)
}

// Plugins is GET /connector-plugins.
func (h *Herder) Plugins(connectorsOnly bool) []PluginInfo {
	var sinks, sources []PluginInfo
	for _, p := range h.o.Plugins {
		pi := PluginInfo{Class: p.Class, Type: string(p.Type), Version: p.Version}
		if p.Type == connect.SinkPlugin {
			sinks = append(sinks, pi)
		} else {
			sources = append(sources, pi)
		}
	}
	byClass := func(s []PluginInfo) {
		sort.Slice(s, func(i, j int) bool { return s[i].Class < s[j].Class })
	}
	byClass(sinks)
	byClass(sources)
	out := append(append([]PluginInfo{}, sinks...), sources...)
	if !connectorsOnly {
		out = append(out, h.o.ExtraPlugins...)
	}
	return out
}

// ValidateConfig is PUT /connector-plugins/{type}/config/validate.
func (h *Herder) ValidateConfig(ctx context.Context, pluginName string, props map[string]string) (*ConfigInfos, error) {
	if included, ok := props["connector.class"]; ok {
		if !strings.HasSuffix(normalizedPluginName(included), normalizedPluginName(pluginName)) {
			return nil, badRequest("Included connector type %s does not match request type %s", included, pluginName)
		}
	} else {
		props = maps.Clone(props)
		props["connector.class"] = pluginName
	}
	ci, _, err := h.validate(ctx, props)
	return ci, err
}

func normalizedPluginName(n string) string {
	if strings.HasSuffix(n, "Connector") && len(n) > len("Connector") {
		return strings.TrimSuffix(n, "Connector")
	}
	return n
}

// PluginConfig is GET /connector-plugins/{name}/config: the plugin's own
// property definitions.
func (h *Herder) PluginConfig(name string) ([]ConfigKeyInfo, error) {
	p, err := h.lookupPlugin(name)
	if err != nil {
		return nil, notFound("Unknown plugin %s.", name)
	}
	out := []ConfigKeyInfo{}
	def := runtime.ConnectorDef(p.Type)
	if p.Config != nil {
		def = p.Config()
	}
	for _, k := range def.Keys() {
		ki := ConfigKeyInfo{Name: k.Name, Type: string(k.Type), Required: k.Required && !k.HasDefault, Importance: string(k.Importance),
			Documentation: k.Doc, Width: "NONE", DisplayName: k.Name, Dependents: []string{}, Order: -1}
		if k.HasDefault {
			d := k.Default
			ki.DefaultValue = &d
		}
		if k.Group != "" {
			g := k.Group
			ki.Group = &g
		}
		out = append(out, ki)
	}
	return out, nil
}

// SetClusterLoggerLevel is PUT /admin/loggers/{name}?scope=cluster: every
// worker applies it when it reads the record from the config topic.
func (h *Herder) SetClusterLoggerLevel(ctx context.Context, namespace, level string) error {
	return h.o.Configs.PutLoggerLevel(ctx, namespace, level)
}
