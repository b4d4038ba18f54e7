// Package rest serves Kafka Connect's REST API — same paths, payloads,
// status codes and error bodies — over a herder, plus /metrics, /healthz
// and /readyz.
package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/signal"
)

// Herder is what the API serves.
type Herder interface {
	ClusterID() string
	TopicTracking() (enabled, resetAllowed bool)
	Connectors(ctx context.Context) ([]string, error)
	ConnectorInfo(ctx context.Context, name string) (*herder.ConnectorInfo, error)
	ConnectorConfig(ctx context.Context, name string) (map[string]string, error)
	TaskConfigs(ctx context.Context, name string) ([]herder.TaskInfo, error)
	PutConnectorConfig(ctx context.Context, name string, props map[string]string, allowReplace bool, initial herder.TargetState) (bool, *herder.ConnectorInfo, error)
	PatchConnectorConfig(ctx context.Context, name string, patch map[string]*string) (*herder.ConnectorInfo, error)
	DeleteConnector(ctx context.Context, name string) error
	PauseConnector(ctx context.Context, name string) error
	ResumeConnector(ctx context.Context, name string) error
	StopConnector(ctx context.Context, name string) error
	RestartConnector(ctx context.Context, r herder.RestartRequest) (*herder.ConnectorStateInfo, error)
	RestartTask(ctx context.Context, id herder.TaskID) error
	ConnectorStatus(ctx context.Context, name string) (*herder.ConnectorStateInfo, error)
	TaskStatus(ctx context.Context, id herder.TaskID) (*herder.TaskState, error)
	ActiveTopics(ctx context.Context, name string) (herder.ActiveTopics, error)
	ResetActiveTopics(ctx context.Context, name string) error
	Offsets(ctx context.Context, name string) (*herder.ConnectorOffsets, error)
	AlterOffsets(ctx context.Context, name string, offs []herder.ConnectorOffset) (*herder.Message, error)
	ResetOffsets(ctx context.Context, name string) (*herder.Message, error)
	Plugins(connectorsOnly bool) []herder.PluginInfo
	ValidateConfig(ctx context.Context, plugin string, props map[string]string) (*herder.ConfigInfos, error)
	PluginConfig(name string) ([]herder.ConfigKeyInfo, error)
	SetClusterLoggerLevel(ctx context.Context, namespace, level string) error
}

// Options configure the API.
type Options struct {
	Herder  Herder
	Version string
	Commit  string
	Loggers *Loggers
	// Metrics serves /metrics when set.
	Metrics http.Handler
	// Console serves /ui and everything under it when set (behind Auth).
	Console http.Handler
	Probes  metrics.Probes
	// Auth, when set, requires HTTP Basic credentials on every endpoint
	// except /healthz and /readyz.
	Auth *BasicAuth
	// Client forwards requests to other workers (TLS settings); nil uses
	// a default client.
	Client *http.Client
	// RequestTimeout bounds each request (Kafka Connect: 90s).
	RequestTimeout time.Duration
	// MaxBodyBytes bounds a request body; a larger one is answered 413
	// (default 16 MiB: connector configurations are kilobytes).
	MaxBodyBytes int64
	// Signals are the inboxes of this worker's tasks, to which POST
	// /connectors/{name}/signals hands a signal; nil answers 404 (no
	// task takes REST signals).
	Signals *signal.Inboxes
	Logger  *slog.Logger
}

// ErrorMessage is Kafka Connect's error body.
type ErrorMessage struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// restError carries an HTTP status.
type restError struct {
	code int
	msg  string
}

func (e *restError) Error() string   { return e.msg }
func (e *restError) StatusCode() int { return e.code }

func errorf(code int, format string, args ...any) error {
	return &restError{code: code, msg: fmt.Sprintf(format, args...)}
}

type api struct {
	o   Options
	log *slog.Logger
}

// NewHandler returns the API handler.
func NewHandler(o Options) http.Handler {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 90 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.RequestTimeout}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Loggers == nil {
		o.Loggers = NewLoggers(nil)
	}
	a := &api{o: o, log: o.Logger}
	var h http.Handler = http.HandlerFunc(a.serve)
	console := o.Console
	if o.Auth != nil {
		h = o.Auth.wrap(h)
		if console != nil {
			console = o.Auth.wrap(console)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			o.Probes.Healthz(w, r)
			return
		case "/readyz":
			o.Probes.Readyz(w, r)
			return
		}
		if o.Console != nil && (r.URL.Path == "/ui" || strings.HasPrefix(r.URL.Path, "/ui/")) {
			console.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// request is one call, with its path segments decoded.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	segs []string
	body []byte
}

type route struct {
	method  string
	pattern []string // "*" matches any segment
	handle  func(a *api, q *request) error
}

var routes = []route{
	{"GET", nil, (*api).root},
	{"GET", []string{"connectors"}, (*api).listConnectors},
	{"POST", []string{"connectors"}, (*api).createConnector},
	{"GET", []string{"connectors", "*"}, (*api).getConnector},
	{"DELETE", []string{"connectors", "*"}, (*api).deleteConnector},
	{"GET", []string{"connectors", "*", "config"}, (*api).getConfig},
	{"PUT", []string{"connectors", "*", "config"}, (*api).putConfig},
	{"PATCH", []string{"connectors", "*", "config"}, (*api).patchConfig},
	{"GET", []string{"connectors", "*", "status"}, (*api).getStatus},
	{"POST", []string{"connectors", "*", "restart"}, (*api).restart},
	{"PUT", []string{"connectors", "*", "pause"}, (*api).pause},
	{"PUT", []string{"connectors", "*", "resume"}, (*api).resume},
	{"PUT", []string{"connectors", "*", "stop"}, (*api).stop},
	{"POST", []string{"connectors", "*", "signals"}, (*api).signal},
	{"POST", []string{"connectors", "*", "tables", "*", "resume"}, (*api).resumeTable},
	{"GET", []string{"connectors", "*", "tasks"}, (*api).tasks},
	{"GET", []string{"connectors", "*", "tasks-config"}, (*api).tasksConfig},
	{"GET", []string{"connectors", "*", "tasks", "*", "status"}, (*api).taskStatus},
	{"POST", []string{"connectors", "*", "tasks", "*", "restart"}, (*api).restartTask},
	{"GET", []string{"connectors", "*", "topics"}, (*api).topics},
	{"PUT", []string{"connectors", "*", "topics", "reset"}, (*api).resetTopics},
	{"GET", []string{"connectors", "*", "offsets"}, (*api).getOffsets},
	{"PATCH", []string{"connectors", "*", "offsets"}, (*api).alterOffsets},
	{"DELETE", []string{"connectors", "*", "offsets"}, (*api).resetOffsets},
	{"GET", []string{"connector-plugins"}, (*api).plugins},
	{"PUT", []string{"connector-plugins", "*", "config", "validate"}, (*api).validate},
	{"GET", []string{"connector-plugins", "*", "config"}, (*api).pluginConfig},
	{"GET", []string{"admin", "loggers"}, (*api).listLoggers},
	{"GET", []string{"admin", "loggers", "*"}, (*api).getLogger},
	{"PUT", []string{"admin", "loggers", "*"}, (*api).setLogger},
}

func match(pattern, segs []string) bool {
	if len(pattern) != len(segs) {
		return false
	}
	for i, p := range pattern {
		if p != "*" && p != segs[i] {
			return false
		}
	}
	return true
}

func splitPath(escaped string) ([]string, error) {
	escaped = strings.Trim(escaped, "/")
	if escaped == "" {
		return nil, nil
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" && a.o.Metrics != nil && r.Method == http.MethodGet {
		a.o.Metrics.ServeHTTP(w, r)
		return
	}
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		writeError(w, errorf(http.StatusNotFound, "HTTP 404 Not Found"))
		return
	}
	var found *route
	pathMatched := false
	for i := range routes {
		if match(routes[i].pattern, segs) {
			pathMatched = true
			if routes[i].method == r.Method {
				found = &routes[i]
				break
			}
		}
	}
	if found == nil {
		if pathMatched {
			writeError(w, errorf(http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed"))
		} else {
			writeError(w, errorf(http.StatusNotFound, "HTTP 404 Not Found"))
		}
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.o.RequestTimeout)
	defer cancel()
	q := &request{w: w, r: r, ctx: ctx, segs: segs}
	if r.Body != nil {
		// One byte past the limit tells a body at the limit from a larger
		// one, which would otherwise be silently cut to a parse error.
		q.body, err = io.ReadAll(io.LimitReader(r.Body, a.o.MaxBodyBytes+1))
		if err != nil {
			writeError(w, errorf(http.StatusBadRequest, "reading request body: %v", err))
			return
		}
		if int64(len(q.body)) > a.o.MaxBodyBytes {
			writeError(w, errorf(http.StatusRequestEntityTooLarge, "HTTP 413 Payload Too Large: the request body exceeds %d bytes", a.o.MaxBodyBytes))
			return
		}
	}
	if len(q.body) > 0 && !acceptedContentType(r) {
		// Kafka Connect's resources consume application/json only
		// (Tributary adds YAML): Jersey answers anything else 415, and
		// curl -d without -H sends application/x-www-form-urlencoded.
		writeError(w, errorf(http.StatusUnsupportedMediaType, "HTTP 415 Unsupported Media Type"))
		return
	}
	if err := found.handle(a, q); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = errorf(http.StatusInternalServerError, "Request timed out")
		}
		var sc interface{ StatusCode() int }
		if !errors.As(err, &sc) || sc.StatusCode() >= 500 {
			a.log.Error("REST request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		}
		writeError(w, err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) {
		code = sc.StatusCode()
	}
	writeJSON(w, code, ErrorMessage{ErrorCode: code, Message: err.Error()})
}

// forward sends the request to the worker a RequestTargetError names, as
// Kafka Connect's HerderRequestHandler.completeOrForwardRequest does: the
// first worker may forward to one that forwards once more (two hops).
func (a *api) forward(q *request, err error, body any) error {
	var target interface{ ForwardURL() string }
	if !errors.As(err, &target) {
		return err
	}
	fwd := q.r.URL.Query().Get("forward")
	if fwd == "false" {
		return errorf(http.StatusConflict, "Cannot complete request because of a conflicting operation (e.g. worker rebalance)")
	}
	base := target.ForwardURL()
	if base == "" {
		return errorf(http.StatusConflict, "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway.")
	}
	u, perr := url.Parse(strings.TrimSuffix(base, "/") + q.r.URL.EscapedPath())
	if perr != nil {
		return errorf(http.StatusInternalServerError, "Error trying to forward REST request: %v", perr)
	}
	query := q.r.URL.Query()
	query.Set("forward", strconv.FormatBool(fwd == ""))
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, rerr := http.NewRequestWithContext(q.ctx, q.r.Method, u.String(), rd)
	if rerr != nil {
		return errorf(http.StatusInternalServerError, "Error trying to forward REST request: %v", rerr)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if auth := q.r.Header.Get("Authorization"); auth != "" {
		req.Header.Set("Authorization", auth)
	}
	a.log.Debug("forwarding request", "method", q.r.Method, "url", u.String())
	resp, derr := a.o.Client.Do(req)
	if derr != nil {
		return errorf(http.StatusInternalServerError, "IO Error trying to forward REST request: %v", derr)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	for _, h := range []string{"Content-Type", "Location"} {
		if v := resp.Header.Get(h); v != "" {
			q.w.Header().Set(h, v)
		}
	}
	q.w.WriteHeader(resp.StatusCode)
	q.w.Write(data)
	return nil
}

func (a *api) root(q *request) error {
	writeJSON(q.w, http.StatusOK, map[string]string{"version": a.o.Version, "commit": a.o.Commit, "kafka_cluster_id": a.o.Herder.ClusterID()})
	return nil
}

func (a *api) listConnectors(q *request) error {
	names, err := a.o.Herder.Connectors(q.ctx)
	if err != nil {
		return err
	}
	expand, ok := q.r.URL.Query()["expand"]
	if !ok {
		writeJSON(q.w, http.StatusOK, names)
		return nil
	}
	out := map[string]map[string]any{}
	for _, n := range names {
		exp := map[string]any{}
		missing := false
		for _, e := range expand {
			switch e {
			case "status":
				st, err := a.o.Herder.ConnectorStatus(q.ctx, n)
				if herder.IsNotFound(err) {
					missing = true
					continue
				}
				if err != nil {
					return err
				}
				exp["status"] = st
			case "info":
				ci, err := a.o.Herder.ConnectorInfo(q.ctx, n)
				if herder.IsNotFound(err) {
					missing = true
					continue
				}
				if err != nil {
					return err
				}
				exp["info"] = ci
			default:
				a.log.Info("ignoring unknown expansion type", "expand", e)
			}
		}
		if !missing {
			out[n] = exp
		}
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func connectorPath(name string) string { return "/connectors/" + url.PathEscape(name) }

// createRequest is Kafka Connect's CreateConnectorRequest.
type createRequest struct {
	Name         *string         `json:"name"`
	Config       json.RawMessage `json:"config"`
	InitialState *string         `json:"initial_state"`
}

func initialState(s *string) (herder.TargetState, error) {
	if s == nil {
		return "", nil
	}
	switch strings.ToUpper(*s) {
	case "RUNNING":
		return herder.TargetStarted, nil
	case "PAUSED":
		return herder.TargetPaused, nil
	case "STOPPED":
		return herder.TargetStopped, nil
	}
	return "", errorf(http.StatusInternalServerError, "Cannot deserialize value of type `InitialState` from String %q: not one of the values accepted for Enum class: [STOPPED, PAUSED, RUNNING]", *s)
}

func (a *api) createConnector(q *request) error {
	var name string
	var props map[string]string
	var initial herder.TargetState
	if isYAML(q.r) {
		n, p, err := yamlConnector(q.body, "")
		if err != nil {
			return err
		}
		name, props = n, p
	} else {
		var cr createRequest
		if err := decodeStrict(q.body, &cr); err != nil {
			return err
		}
		if cr.Name != nil {
			name = strings.TrimSpace(*cr.Name)
		}
		if len(cr.Config) > 0 && string(cr.Config) != "null" {
			p, err := decodeProps(cr.Config)
			if err != nil {
				return err
			}
			props = p
		}
		var err error
		if initial, err = initialState(cr.InitialState); err != nil {
			return err
		}
	}
	if props == nil {
		props = map[string]string{}
	}
	if err := checkAndPutName(name, props); err != nil {
		return err
	}
	_, info, err := a.o.Herder.PutConnectorConfig(q.ctx, name, props, false, initial)
	if err != nil {
		body := map[string]any{"name": name, "config": props}
		if initial != "" {
			body["initial_state"] = map[herder.TargetState]string{herder.TargetStarted: "RUNNING", herder.TargetPaused: "PAUSED", herder.TargetStopped: "STOPPED"}[initial]
		}
		return a.forward(q, err, body)
	}
	q.w.Header().Set("Location", connectorPath(name))
	writeJSON(q.w, http.StatusCreated, info)
	return nil
}

// checkAndPutName is Kafka Connect's checkAndPutConnectorConfigName.
func checkAndPutName(name string, props map[string]string) error {
	if included, ok := props["name"]; ok {
		if included != name {
			return errorf(http.StatusBadRequest, "Connector name configuration (%s) doesn't match connector name in the URL (%s)", included, name)
		}
		return nil
	}
	props["name"] = name
	return nil
}

func (a *api) getConnector(q *request) error {
	ci, err := a.o.Herder.ConnectorInfo(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, ci)
	return nil
}

func (a *api) deleteConnector(q *request) error {
	if err := a.o.Herder.DeleteConnector(q.ctx, q.segs[1]); err != nil {
		return a.forward(q, err, nil)
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) getConfig(q *request) error {
	c, err := a.o.Herder.ConnectorConfig(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, c)
	return nil
}

func (a *api) putConfig(q *request) error {
	name := q.segs[1]
	var props map[string]string
	var err error
	if isYAML(q.r) {
		_, props, err = yamlConnector(q.body, name)
	} else {
		props, err = decodeProps(q.body)
	}
	if err != nil {
		return err
	}
	if props == nil {
		props = map[string]string{}
	}
	if err := checkAndPutName(name, props); err != nil {
		return err
	}
	created, info, err := a.o.Herder.PutConnectorConfig(q.ctx, name, props, true, "")
	if err != nil {
		return a.forward(q, err, props)
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		q.w.Header().Set("Location", connectorPath(name))
	}
	writeJSON(q.w, status, info)
	return nil
}

func (a *api) patchConfig(q *request) error {
	raw, err := decodeMembers(q.body)
	if err != nil {
		return err
	}
	patch := make(map[string]*string, len(raw))
	for k, v := range raw {
		if string(bytes.TrimSpace(v)) == "null" {
			patch[k] = nil
			continue
		}
		s, err := scalarString(k, v)
		if err != nil {
			return err
		}
		patch[k] = &s
	}
	info, err := a.o.Herder.PatchConnectorConfig(q.ctx, q.segs[1], patch)
	if err != nil {
		return a.forward(q, err, raw)
	}
	writeJSON(q.w, http.StatusOK, info)
	return nil
}

func (a *api) getStatus(q *request) error {
	st, err := a.o.Herder.ConnectorStatus(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, st)
	return nil
}

func boolParam(q *request, name string) (bool, error) {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusNotFound, "HTTP 404 Not Found")
	}
	return b, nil
}

func (a *api) restart(q *request) error {
	includeTasks, err := boolParam(q, "includeTasks")
	if err != nil {
		return err
	}
	onlyFailed, err := boolParam(q, "onlyFailed")
	if err != nil {
		return err
	}
	r := herder.RestartRequest{Connector: q.segs[1], IncludeTasks: includeTasks, OnlyFailed: onlyFailed}
	st, err := a.o.Herder.RestartConnector(q.ctx, r)
	if err != nil {
		return a.forward(q, err, nil)
	}
	if st == nil {
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(q.w, http.StatusAccepted, st)
	return nil
}

func (a *api) pause(q *request) error {
	if err := a.o.Herder.PauseConnector(q.ctx, q.segs[1]); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) resume(q *request) error {
	if err := a.o.Herder.ResumeConnector(q.ctx, q.segs[1]); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusAccepted)
	return nil
}

// signal hands a Debezium signal ({"id", "type", "data"}) to the
// connector's task running in this worker (Tributary's addition: Debezium
// offers the same actions through the signal table, Kafka, a file or
// JMX). 202 with the signal's id once the task has it; what the action
// does is in the connector's log under that id.
// signalTargeter is a herder that knows which worker runs a connector's
// task (distributed mode).
type signalTargeter interface {
	SignalTarget(ctx context.Context, connector string) error
}

// signalStartWait bounds how long a signal for a task assigned to this
// worker waits for the task to start taking signals.
const signalStartWait = 10 * time.Second

func (a *api) signal(q *request) error {
	rec, err := signal.ParseJSON(q.body, signal.ChannelREST)
	if err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	name := q.segs[1]
	id, err := a.o.Signals.Deliver(q.ctx, name, rec)
	if st, ok := a.o.Herder.(signalTargeter); ok && errors.Is(err, signal.ErrNoTask) {
		// In a cluster the task may run on another worker: the herder
		// says which, and the request goes there as Kafka Connect sends
		// a task restart to the task's owner.
		if terr := st.SignalTarget(q.ctx, name); terr != nil {
			return a.forward(q, terr, json.RawMessage(q.body))
		}
		// The task is assigned here but may still be starting (it takes
		// signals once connected to its database).
		wctx, cancel := context.WithTimeout(q.ctx, signalStartWait)
		werr := a.o.Signals.WaitRegistered(wctx, name)
		cancel()
		if werr == nil {
			id, err = a.o.Signals.Deliver(q.ctx, name, rec)
		}
	}
	switch {
	case errors.Is(err, signal.ErrNoTask):
		return errorf(http.StatusNotFound, "connector %s: %v", name, err)
	case err != nil:
		return errorf(http.StatusServiceUnavailable, "connector %s: %v", name, err)
	}
	writeJSON(q.w, http.StatusAccepted, map[string]string{"id": id, "type": rec.Type})
	return nil
}

func (a *api) stop(q *request) error {
	if err := a.o.Herder.StopConnector(q.ctx, q.segs[1]); err != nil {
		return a.forward(q, err, nil)
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) tasks(q *request) error {
	ts, err := a.o.Herder.TaskConfigs(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, ts)
	return nil
}

func (a *api) tasksConfig(q *request) error {
	ts, err := a.o.Herder.TaskConfigs(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	out := map[string]map[string]string{}
	for _, t := range ts {
		out[t.ID.String()] = t.Config
	}
	writeJSON(q.w, http.StatusOK, out)
	return nil
}

func taskID(q *request) (herder.TaskID, error) {
	n, err := strconv.ParseInt(q.segs[3], 10, 32)
	if err != nil {
		return herder.TaskID{}, errorf(http.StatusNotFound, "HTTP 404 Not Found")
	}
	return herder.TaskID{Connector: q.segs[1], Task: int(n)}, nil
}

func (a *api) taskStatus(q *request) error {
	id, err := taskID(q)
	if err != nil {
		return err
	}
	st, err := a.o.Herder.TaskStatus(q.ctx, id)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, st)
	return nil
}

func (a *api) restartTask(q *request) error {
	id, err := taskID(q)
	if err != nil {
		return err
	}
	if err := a.o.Herder.RestartTask(q.ctx, id); err != nil {
		return a.forward(q, err, nil)
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) topics(q *request) error {
	if on, _ := a.o.Herder.TopicTracking(); !on {
		return errorf(http.StatusForbidden, "Topic tracking is disabled.")
	}
	t, err := a.o.Herder.ActiveTopics(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, map[string]herder.ActiveTopics{q.segs[1]: t})
	return nil
}

func (a *api) resetTopics(q *request) error {
	on, reset := a.o.Herder.TopicTracking()
	if !on {
		return errorf(http.StatusForbidden, "Topic tracking is disabled.")
	}
	if !reset {
		return errorf(http.StatusForbidden, "Topic tracking reset is disabled.")
	}
	if err := a.o.Herder.ResetActiveTopics(q.ctx, q.segs[1]); err != nil {
		return err
	}
	q.w.WriteHeader(http.StatusAccepted)
	return nil
}

func (a *api) getOffsets(q *request) error {
	o, err := a.o.Herder.Offsets(q.ctx, q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, o)
	return nil
}

type offsetsBody struct {
	Offsets []offsetBody `json:"offsets"`
}

type offsetBody struct {
	Partition json.RawMessage `json:"partition"`
	Offset    json.RawMessage `json:"offset"`
}

func (a *api) alterOffsets(q *request) error {
	var ob offsetsBody
	if err := decodeStrict(q.body, &ob); err != nil {
		return err
	}
	if len(ob.Offsets) == 0 {
		return errorf(http.StatusBadRequest, "Partitions / offsets need to be provided for an alter offsets request")
	}
	offs := make([]herder.ConnectorOffset, 0, len(ob.Offsets))
	for _, o := range ob.Offsets {
		p, err := decodeOffsetMap("partition", o.Partition)
		if err != nil {
			return err
		}
		v, err := decodeOffsetMap("offset", o.Offset)
		if err != nil {
			return err
		}
		offs = append(offs, herder.ConnectorOffset{Partition: p, Offset: v})
	}
	msg, err := a.o.Herder.AlterOffsets(q.ctx, q.segs[1], offs)
	if err != nil {
		return a.forward(q, err, ob)
	}
	writeJSON(q.w, http.StatusOK, msg)
	return nil
}

func (a *api) resetOffsets(q *request) error {
	msg, err := a.o.Herder.ResetOffsets(q.ctx, q.segs[1])
	if err != nil {
		return a.forward(q, err, nil)
	}
	writeJSON(q.w, http.StatusOK, msg)
	return nil
}

func (a *api) plugins(q *request) error {
	only := true
	if v := q.r.URL.Query().Get("connectorsOnly"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errorf(http.StatusNotFound, "HTTP 404 Not Found")
		}
		only = b
	}
	writeJSON(q.w, http.StatusOK, a.o.Herder.Plugins(only))
	return nil
}

func (a *api) validate(q *request) error {
	var props map[string]string
	var err error
	if isYAML(q.r) {
		_, props, err = yamlConnector(q.body, "")
	} else {
		props, err = decodeProps(q.body)
	}
	if err != nil {
		return err
	}
	if props == nil {
		props = map[string]string{}
	}
	ci, err := a.o.Herder.ValidateConfig(q.ctx, q.segs[1], props)
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, ci)
	return nil
}

func (a *api) pluginConfig(q *request) error {
	keys, err := a.o.Herder.PluginConfig(q.segs[1])
	if err != nil {
		return err
	}
	writeJSON(q.w, http.StatusOK, keys)
	return nil
}

func (a *api) listLoggers(q *request) error {
	writeJSON(q.w, http.StatusOK, a.o.Loggers.All())
	return nil
}

func (a *api) getLogger(q *request) error {
	lv, ok := a.o.Loggers.Level(q.segs[2])
	if !ok {
		return errorf(http.StatusNotFound, "Logger %s not found.", q.segs[2])
	}
	writeJSON(q.w, http.StatusOK, lv)
	return nil
}

func (a *api) setLogger(q *request) error {
	var body map[string]*string
	if err := decodeJSON(q.body, &body); err != nil {
		return err
	}
	lvp := body["level"]
	if lvp == nil {
		return errorf(http.StatusBadRequest, "Desired 'level' parameter was not specified in request.")
	}
	if _, ok := ParseLevel(*lvp); !ok {
		return errorf(http.StatusNotFound, "invalid log level '%s'.", *lvp)
	}
	ns := q.segs[2]
	scope := strings.ToLower(q.r.URL.Query().Get("scope"))
	if scope == "cluster" {
		if err := a.o.Herder.SetClusterLoggerLevel(q.ctx, ns, strings.ToUpper(*lvp)); err != nil {
			return err
		}
		q.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if scope != "" && scope != "worker" {
		a.log.Warn("invalid logging scope; defaulting to worker", "scope", scope)
	}
	affected, err := a.o.Loggers.SetLevel(ns, *lvp)
	if err != nil {
		return errorf(http.StatusNotFound, "%v.", err)
	}
	sort.Strings(affected)
	writeJSON(q.w, http.StatusOK, affected)
	return nil
}
