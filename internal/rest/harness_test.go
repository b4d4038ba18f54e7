package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/transforms"
)

const testWorkerID = "127.0.0.1:8083"

type worker struct {
	signals *signal.Inboxes
	url     string
	h       *herder.Herder
	brokers []string
	offsets offsets.Store
	loggers *Loggers
	client  *http.Client
	user    string
	pass    string
	// collector receives what sink connectors of class CollectorClass put.
	collector *herdertest.Collector
}

type workerOpts struct {
	auth map[string]string
	// logs, when set, receives every log line of the worker at debug level.
	logs io.Writer
	// plugins are offered besides the counter and the collector.
	plugins connect.Plugins
	// converters are offered besides the built-in ones, by class.
	converters map[string]func(props map[string]string, isKey bool) (converter.Converter, error)
}

var testLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// startWorker runs a standalone herder over an embedded broker and serves
// the API with httptest.
func startWorker(t *testing.T, wo workerOpts) *worker {
	t.Helper()
	if os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
		testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	log := testLogger
	if wo.logs != nil {
		log = slog.New(slog.NewTextHandler(wo.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	sc, err := kafka.ClientConfig{Brokers: emb.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(emb.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	store := offsets.NewMemory()
	collector := herdertest.NewCollector()
	workerProps := map[string]string{
		"key.converter":                  converter.StringClass,
		"value.converter":                converter.JSONClass,
		"value.converter.schemas.enable": "false",
		"offset.flush.interval.ms":       "50",
	}
	reg := metrics.NewRegistry()
	tr := transforms.Builtin(log)
	runner := &herder.KafkaRunner{Brokers: emb.Addrs(), Sarama: sc, Raw: raw, Converters: &converter.Factory{Extra: wo.converters}, Transforms: tr,
		Offsets: store, Worker: workerProps, ShutdownTimeout: 5 * time.Second, Metrics: reg, Logger: log}
	loggers := NewLoggers(nil)
	signals := signal.NewInboxes()
	h, err := herder.New(herder.Options{Signals: signals, WorkerID: testWorkerID, Plugins: append(connect.Plugins{herdertest.CounterPlugin(), collector.Plugin()}, wo.plugins...),
		Converters: &converter.Factory{Extra: wo.converters}, Transforms: tr, Worker: workerProps,
		ExtraPlugins: []herder.PluginInfo{{Class: transforms.ExtractNewRecordStateClass, Type: "transformation", Version: "test"},
			{Class: converter.JSONClass, Type: "converter", Version: "test"}},
		Runner: runner, Configs: herder.NewMemoryConfigStore(log), Status: herder.NewMemoryStatusStore(log),
		Offsets: store, SinkOffsets: &herder.KafkaSinkOffsets{Client: raw.Client()}, RestartBackoff: 50 * time.Millisecond, RestartBackoffMax: 200 * time.Millisecond,
		TaskShutdownTimeout: 5 * time.Second, TopicTracking: true, TopicTrackingReset: true, Loggers: loggers,
		ClusterID: "test-cluster", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	reg.SetStatus(h.StatusSummary)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("herder did not stop")
		}
	})
	var auth *BasicAuth
	if wo.auth != nil {
		auth = NewBasicAuth(wo.auth)
	}
	srv := httptest.NewServer(NewHandler(Options{Herder: h, Signals: signals, Version: "9.9.9-test", Commit: "abc123", Loggers: loggers,
		Metrics: reg.Handler(), Probes: metrics.Probes{Ready: h.Ready}, Auth: auth, Logger: log}))
	t.Cleanup(srv.Close)
	jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
	defer jcancel()
	if err := h.WaitJoined(jctx, true); err != nil {
		t.Fatal(err)
	}
	w := &worker{signals: signals, url: srv.URL, h: h, brokers: emb.Addrs(), offsets: store, loggers: loggers, client: srv.Client(), collector: collector}
	for u, p := range wo.auth {
		w.user, w.pass = u, p
	}
	return w
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %s: %v", r.status, r.body, err)
	}
}

func (w *worker) do(t *testing.T, method, path, contentType, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if w.user != "" {
		req.SetBasicAuth(w.user, w.pass)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (w *worker) call(t *testing.T, method, path, body string) response {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	return w.do(t, method, path, ct, body)
}

// expect checks the status and, when want is not empty, the exact body.
func expect(t *testing.T, r response, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if want != "" && strings.TrimSpace(string(r.body)) != want {
		t.Fatalf("body\n got %s\nwant %s", r.body, want)
	}
}

// golden compares a JSON body, re-indented, with testdata/rest/<name>.
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, body)
	}
	buf.WriteByte('\n')
	path := filepath.Join("..", "..", "testdata", "rest", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", name, buf.Bytes(), want)
	}
}

// eventually polls until check passes.
func eventually(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := check()
		if ok {
			return
		}
		last = msg
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last: %s", what, last)
}

func (w *worker) waitStatus(t *testing.T, name, connState string, taskStates ...string) herder.ConnectorStateInfo {
	t.Helper()
	var st herder.ConnectorStateInfo
	eventually(t, 15*time.Second, name+" "+connState, func() (bool, string) {
		r := w.call(t, "GET", "/connectors/"+name+"/status", "")
		if r.status != 200 {
			return false, string(r.body)
		}
		st = herder.ConnectorStateInfo{}
		r.json(t, &st)
		if string(st.Connector.State) != connState || len(st.Tasks) != len(taskStates) {
			return false, string(r.body)
		}
		for i, ts := range taskStates {
			if string(st.Tasks[i].State) != ts {
				return false, string(r.body)
			}
		}
		return true, ""
	})
	return st
}

func counterConfig(name, topic string, extra ...string) string {
	m := map[string]string{"connector.class": herdertest.CounterClass, "topic": topic, "tasks.max": "1"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	b, _ := json.Marshal(map[string]any{"name": name, "config": m})
	return string(b)
}
