// Package herder manages connectors and their tasks across one worker
// (standalone) or a group of workers (distributed), as Kafka Connect's
// Herder does: it keeps connector configurations, decides which worker runs
// what, starts, pauses, stops and restarts tasks, records their status, and
// answers the REST API.
//
// Distributed mode keeps its state in Kafka Connect's own internal topics
// and record formats (config.storage.topic, offset.storage.topic,
// status.storage.topic) and coordinates workers through Kafka's group
// membership protocol with Kafka Connect's "connect" protocol type and
// "compatible" (incremental cooperative) sub-protocol, so a Tributary
// cluster can take over the configurations and offsets of an existing
// Debezium-on-Kafka-Connect deployment.
package herder

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/runtime"
)

// TargetState is what the user asked a connector to be.
type TargetState string

const (
	TargetStarted TargetState = "STARTED"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

// State is a connector or task status, as Kafka Connect reports it.
type State string

const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateStopped    State = "STOPPED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
	StateDestroyed  State = "DESTROYED"
)

// TaskID names a task: connector name and task number. Its JSON form is
// Kafka Connect's ConnectorTaskId.
type TaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

func (id TaskID) String() string { return id.Connector + "-" + strconv.Itoa(id.Task) }

// parseTaskSuffix splits "<connector>-<n>" at the last dash, as Kafka
// Connect does for task-<connector>-<n> keys (connector names may contain
// dashes, task numbers cannot).
func parseTaskSuffix(s string) (TaskID, bool) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return TaskID{}, false
	}
	n, err := strconv.Atoi(s[i+1:])
	if err != nil || n < 0 {
		return TaskID{}, false
	}
	return TaskID{Connector: s[:i], Task: n}, true
}

// ConnectorInfo is GET /connectors/{name}.
type ConnectorInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []TaskID          `json:"tasks"`
	Type   string            `json:"type"`
}

// ConnectorState is the "connector" part of a status.
type ConnectorState struct {
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// TaskState is one task's status.
type TaskState struct {
	ID       int    `json:"id"`
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
	// Snapshot is Tributary's addition, which Kafka Connect clients
	// ignore: the progress of each table of the snapshot a task of this
	// worker runs or ran last (rows, estimate, rate, ETA).
	Snapshot []metrics.ProgressReport `json:"snapshot,omitempty"`
	// Tables is Tributary's addition too: the task's tables parked in
	// PAUSED_SCHEMA (a source's new schema refused by the registry, or a
	// sink's topic-partition whose schema change the target cannot
	// apply), resumed with POST /connectors/{name}/tables/{table}/resume.
	Tables []runtime.ParkedTable `json:"tables,omitempty"`
}

// ConnectorStateInfo is GET /connectors/{name}/status.
type ConnectorStateInfo struct {
	Name      string         `json:"name"`
	Connector ConnectorState `json:"connector"`
	Tasks     []TaskState    `json:"tasks"`
	Type      string         `json:"type"`
}

// TaskInfo is one element of GET /connectors/{name}/tasks.
type TaskInfo struct {
	ID     TaskID            `json:"id"`
	Config map[string]string `json:"config"`
}

// ConnectorOffset is one source partition and its offset (KIP-875).
type ConnectorOffset struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// ConnectorOffsets is the body of GET and PATCH /connectors/{name}/offsets.
type ConnectorOffsets struct {
	Offsets []ConnectorOffset `json:"offsets"`
}

// Message is Kafka Connect's {"message": ...} response.
type Message struct {
	Message string `json:"message"`
}

// ActiveTopics is the value of GET /connectors/{name}/topics.
type ActiveTopics struct {
	Topics []string `json:"topics"`
}

// PluginInfo is one element of GET /connector-plugins.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// ConfigKeyInfo is a property definition in a validation result.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
	Order         int      `json:"order"`
}

// ConfigValueInfo is a property value and its errors in a validation result.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// ConfigInfo pairs a definition (nil for properties the connector does
// not define) with its value.
type ConfigInfo struct {
	Definition *ConfigKeyInfo   `json:"definition"`
	Value      *ConfigValueInfo `json:"value"`
}

// ConfigInfos is PUT /connector-plugins/{type}/config/validate.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// RestartRequest is POST /connectors/{name}/restart (KIP-745).
type RestartRequest struct {
	Connector    string
	OnlyFailed   bool
	IncludeTasks bool
}

// forceConnectorOnly is the backwards-compatible plain restart.
func (r RestartRequest) forceConnectorOnly() bool { return !r.OnlyFailed && !r.IncludeTasks }

func (r RestartRequest) String() string {
	return fmt.Sprintf("restart request for {connectorName='%s', onlyFailed=%t, includeTasks=%t}", r.Connector, r.OnlyFailed, r.IncludeTasks)
}
