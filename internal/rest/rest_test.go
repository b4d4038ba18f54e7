package rest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
)

func TestRootAndErrors(t *testing.T) {
	w := startWorker(t, workerOpts{})
	expect(t, w.call(t, "GET", "/", ""), 200, `{"commit":"abc123","kafka_cluster_id":"test-cluster","version":"9.9.9-test"}`)
	cases := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", "/nope", "", 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`},
		{"DELETE", "/connectors", "", 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`},
		{"POST", "/connectors/x/pause", "", 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`},
		{"GET", "/connectors/nope", "", 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"GET", "/connectors/nope/config", "", 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"GET", "/connectors/nope/tasks", "", 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"GET", "/connectors/nope/status", "", 404, `{"error_code":404,"message":"No status found for connector nope"}`},
		{"GET", "/connectors/nope/tasks/0/status", "", 404, `{"error_code":404,"message":"No status found for task nope-0"}`},
		{"GET", "/connectors/nope/tasks/zero/status", "", 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`},
		{"POST", "/connectors/nope/tasks/0/restart", "", 404, `{"error_code":404,"message":"Unknown connector: nope"}`},
		{"DELETE", "/connectors/nope", "", 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"PUT", "/connectors/nope/pause", "", 404, `{"error_code":404,"message":"Unknown connector nope"}`},
		{"PUT", "/connectors/nope/resume", "", 404, `{"error_code":404,"message":"Unknown connector nope"}`},
		{"PUT", "/connectors/nope/stop", "", 404, `{"error_code":404,"message":"Unknown connector nope"}`},
		{"POST", "/connectors/nope/restart", "", 404, `{"error_code":404,"message":"Unknown connector: nope"}`},
		{"POST", "/connectors/nope/restart?includeTasks=true", "", 404, `{"error_code":404,"message":"Unknown connector: nope"}`},
		{"GET", "/connectors/nope/offsets", "", 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"DELETE", "/connectors/nope/offsets", "", 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"PATCH", "/connectors/nope/offsets", `{"offsets":[{"partition":{"a":1},"offset":{"b":2}}]}`, 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"PATCH", "/connectors/nope/config", `{"a":"b"}`, 404, `{"error_code":404,"message":"Connector nope not found"}`},
		{"POST", "/connectors", `{"name":"x","config":`, 500, ""},
		{"POST", "/connectors", `{"name":"x","config":{},"bogus":1}`, 500, `{"error_code":500,"message":"Unrecognized field \"bogus\", not marked as ignorable"}`},
		{"POST", "/connectors", `{"name":"x","config":{"connector.class":"NoSuchConnector"}}`, 500,
			`{"error_code":500,"message":"Failed to find any class that implements Connector and which name matches NoSuchConnector, available connectors are: ` + herdertest.CounterClass + `, ` + herdertest.CollectorClass + `"}`},
		{"POST", "/connectors", `{"name":"x","config":{"topic":"t"}}`, 400,
			`{"error_code":400,"message":"Connector config {name=x, topic=t} contains no connector type"}`},
		{"POST", "/connectors", `{"name":"x","config":{"name":"y","connector.class":"counter"}}`, 400,
			`{"error_code":400,"message":"Connector name configuration (y) doesn't match connector name in the URL (x)"}`},
		{"POST", "/connectors", `{"name":"x","config":{"connector.class":"counter","topic":null}}`, 400,
			"{\"error_code\":400,\"message\":\"Connector configuration is invalid and contains the following 1 error(s):\\nNull value can not be supplied as the configuration value.\\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`\"}"},
		{"POST", "/connectors", `{"name":"x","config":{"connector.class":"counter","topic":{"a":1}}}`, 500, ""},
		{"GET", "/admin/loggers/never.set", "", 404, `{"error_code":404,"message":"Logger never.set not found."}`},
		{"PUT", "/admin/loggers/x", `{"level":"LOUD"}`, 404, `{"error_code":404,"message":"invalid log level 'LOUD'."}`},
		{"PUT", "/admin/loggers/x", `{}`, 400, `{"error_code":400,"message":"Desired 'level' parameter was not specified in request."}`},
		{"GET", "/connector-plugins/NoSuch/config", "", 404, `{"error_code":404,"message":"Unknown plugin NoSuch."}`},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			r := w.call(t, c.method, c.path, c.body)
			expect(t, r, c.status, c.want)
			var em ErrorMessage
			r.json(t, &em)
			if em.ErrorCode != c.status || em.Message == "" {
				t.Fatalf("error body %s", r.body)
			}
		})
	}
}

func TestConnectorLifecycle(t *testing.T) {
	w := startWorker(t, workerOpts{})

	// Create.
	r := w.call(t, "POST", "/connectors", counterConfig("orders", "orders-topic", "counter.password", "s3cret"))
	expect(t, r, 201, "")
	if loc := r.header.Get("Location"); loc != "/connectors/orders" {
		t.Fatalf("Location %q", loc)
	}
	golden(t, "create_response.json", r.body)
	expect(t, w.call(t, "POST", "/connectors", counterConfig("orders", "orders-topic")), 409,
		`{"error_code":409,"message":"Connector orders already exists"}`)
	st := w.waitStatus(t, "orders", "RUNNING", "RUNNING")
	if st.Connector.WorkerID != testWorkerID || st.Type != "source" {
		t.Fatalf("status %+v", st)
	}
	expect(t, w.call(t, "GET", "/connectors", ""), 200, `["orders"]`)
	r = w.call(t, "GET", "/connectors/orders", "")
	expect(t, r, 200, "")
	golden(t, "connector_info.json", r.body)
	r = w.call(t, "GET", "/connectors/orders/tasks", "")
	expect(t, r, 200, "")
	golden(t, "tasks.json", r.body)
	expect(t, w.call(t, "GET", "/connectors/orders/tasks/0/status", ""), 200, `{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083"}`)
	expect(t, w.call(t, "GET", "/connectors/orders/tasks/1/status", ""), 404, `{"error_code":404,"message":"No status found for task orders-1"}`)
	r = w.call(t, "GET", "/connectors?expand=status&expand=info", "")
	expect(t, r, 200, "")
	golden(t, "connectors_expanded.json", r.body)
	r = w.call(t, "GET", "/connectors/orders/tasks-config", "")
	expect(t, r, 200, "")
	var tc map[string]map[string]string
	r.json(t, &tc)
	if tc["orders-0"]["task.class"] != herdertest.CounterClass+"Task" {
		t.Fatalf("tasks-config %s", r.body)
	}

	// Active topics.
	eventually(t, 10*time.Second, "active topics", func() (bool, string) {
		r := w.call(t, "GET", "/connectors/orders/topics", "")
		return string(r.body) == `{"orders":{"topics":["orders-topic"]}}`, string(r.body)
	})
	expect(t, w.call(t, "PUT", "/connectors/orders/topics/reset", ""), 202, "")
	expect(t, w.call(t, "GET", "/connectors/orders/topics", ""), 200, `{"orders":{"topics":[]}}`)

	// Offsets are committed as the task runs.
	var seq int64
	eventually(t, 10*time.Second, "offsets", func() (bool, string) {
		r := w.call(t, "GET", "/connectors/orders/offsets", "")
		var o herder.ConnectorOffsets
		if json.Unmarshal(r.body, &o) != nil || len(o.Offsets) != 1 {
			return false, string(r.body)
		}
		if o.Offsets[0].Partition["server"] != "orders" {
			return false, string(r.body)
		}
		f, _ := o.Offsets[0].Offset["seq"].(float64)
		seq = int64(f)
		return seq > 3, string(r.body)
	})
	expect(t, w.call(t, "PATCH", "/connectors/orders/offsets", `{"offsets":[{"partition":{"server":"orders"},"offset":{"seq":1}}]}`), 400,
		`{"error_code":400,"message":"Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/orders/stop' endpoint"}`)
	expect(t, w.call(t, "DELETE", "/connectors/orders/offsets", ""), 400, "")

	// Reconfigure: PUT replaces, PATCH merges; tasks restart with the new config.
	r = w.call(t, "PUT", "/connectors/orders/config", `{"connector.class":"counter","topic":"orders-topic","counter.interval.ms":"30"}`)
	expect(t, r, 200, "")
	var info herder.ConnectorInfo
	r.json(t, &info)
	if info.Config["counter.interval.ms"] != "30" || info.Config["name"] != "orders" || info.Config["counter.password"] != "" {
		t.Fatalf("PUT result %s", r.body)
	}
	r = w.call(t, "PATCH", "/connectors/orders/config", `{"counter.batch":2,"counter.interval.ms":null}`)
	expect(t, r, 200, "")
	info = herder.ConnectorInfo{}
	r.json(t, &info)
	if info.Config["counter.batch"] != "2" || info.Config["counter.interval.ms"] != "" {
		t.Fatalf("PATCH result %s", r.body)
	}
	expect(t, w.call(t, "PATCH", "/connectors/orders/config", `{"name":"other"}`), 400,
		`{"error_code":400,"message":"Connector name configuration (other) doesn't match connector name in the URL (orders)"}`)
	eventually(t, 10*time.Second, "task reconfigured", func() (bool, string) {
		r := w.call(t, "GET", "/connectors/orders/tasks", "")
		return strings.Contains(string(r.body), `"counter.batch":"2"`), string(r.body)
	})
	r = w.call(t, "PUT", "/connectors/orders/config", `{"connector.class":"counter","topic":"orders-topic","name":"mismatch"}`)
	expect(t, r, 400, `{"error_code":400,"message":"Connector name configuration (mismatch) doesn't match connector name in the URL (orders)"}`)
	r = w.call(t, "PUT", "/connectors/orders/config", `{"connector.class":"counter","topic":"orders-topic","counter.batch":"many","tpoic":"x"}`)
	expect(t, r, 400, "")
	golden(t, "invalid_config.json", r.body)

	// Pause and resume.
	expect(t, w.call(t, "PUT", "/connectors/orders/pause", ""), 202, "")
	w.waitStatus(t, "orders", "PAUSED", "PAUSED")
	expect(t, w.call(t, "PUT", "/connectors/orders/resume", ""), 202, "")
	w.waitStatus(t, "orders", "RUNNING", "RUNNING")

	// Restarts.
	expect(t, w.call(t, "POST", "/connectors/orders/restart", ""), 204, "")
	expect(t, w.call(t, "POST", "/connectors/orders/restart?includeTasks=true&onlyFailed=true", ""), 202,
		`{"name":"orders","connector":{"state":"RUNNING","worker_id":"127.0.0.1:8083"},"tasks":[{"id":0,"state":"RUNNING","worker_id":"127.0.0.1:8083"}],"type":"source"}`)
	expect(t, w.call(t, "POST", "/connectors/orders/restart?includeTasks=true", ""), 202,
		`{"name":"orders","connector":{"state":"RESTARTING","worker_id":"127.0.0.1:8083"},"tasks":[{"id":0,"state":"RESTARTING","worker_id":"127.0.0.1:8083"}],"type":"source"}`)
	w.waitStatus(t, "orders", "RUNNING", "RUNNING")
	expect(t, w.call(t, "POST", "/connectors/orders/tasks/0/restart", ""), 204, "")
	expect(t, w.call(t, "POST", "/connectors/orders/tasks/7/restart", ""), 404, `{"error_code":404,"message":"Unknown task: orders-7"}`)
	w.waitStatus(t, "orders", "RUNNING", "RUNNING")

	// Stop, then alter and reset offsets (KIP-875).
	expect(t, w.call(t, "PUT", "/connectors/orders/stop", ""), 204, "")
	w.waitStatus(t, "orders", "STOPPED")
	expect(t, w.call(t, "GET", "/connectors/orders/tasks", ""), 200, `[]`)
	for _, bad := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{}`, 400, "Partitions / offsets need to be provided for an alter offsets request"},
		{`{"offsets":[]}`, 400, "Partitions / offsets need to be provided for an alter offsets request"},
		{`[]`, 500, "Cannot deserialize value"},
		{`{"key":[]}`, 500, "Unrecognized field"},
		{`{"offsets":{}}`, 500, "Cannot deserialize value"},
		{`{"offsets":[{"key":"val"}]}`, 500, "Unrecognized field"},
		{`{"offsets":[{"partition":[]}]}`, 500, "Cannot deserialize value"},
		{`{"offsets":[{"partition":{"server":"orders"},"offset":{"seq":{"nested":1}}}]}`, 500, "Offsets may only contain primitive types as values, but field seq contains"},
	} {
		r := w.call(t, "PATCH", "/connectors/orders/offsets", bad.body)
		if r.status != bad.status || !strings.Contains(string(r.body), bad.msg) {
			t.Errorf("PATCH offsets %s: %d %s, want %d containing %q", bad.body, r.status, r.body, bad.status, bad.msg)
		}
	}
	const altered = `{"message":"The Connect framework-managed offsets for this connector have been altered successfully. However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."}`
	expect(t, w.call(t, "PATCH", "/connectors/orders/offsets", `{"offsets":[{"partition":{"server":"orders"},"offset":{"seq":1000000}},{"partition":{"server":"other"},"offset":{"seq":7}}]}`), 200, altered)
	expect(t, w.call(t, "GET", "/connectors/orders/offsets", ""), 200,
		`{"offsets":[{"partition":{"server":"orders"},"offset":{"seq":1000000}},{"partition":{"server":"other"},"offset":{"seq":7}}]}`)
	expect(t, w.call(t, "PATCH", "/connectors/orders/offsets", `{"offsets":[{"partition":{"server":"other"},"offset":null}]}`), 200, altered)
	expect(t, w.call(t, "GET", "/connectors/orders/offsets", ""), 200, `{"offsets":[{"partition":{"server":"orders"},"offset":{"seq":1000000}}]}`)
	// Resuming continues from the altered offset.
	expect(t, w.call(t, "PUT", "/connectors/orders/resume", ""), 202, "")
	w.waitStatus(t, "orders", "RUNNING", "RUNNING")
	eventually(t, 10*time.Second, "resume from altered offset", func() (bool, string) {
		got, err := w.offsets.Get(t.Context(), "orders", map[string]any{"server": "orders"})
		return err == nil && got["seq"].(int64) > 1000000, fmt.Sprint(got, err)
	})
	expect(t, w.call(t, "PUT", "/connectors/orders/stop", ""), 204, "")
	w.waitStatus(t, "orders", "STOPPED")
	expect(t, w.call(t, "DELETE", "/connectors/orders/offsets", ""), 200,
		`{"message":"The Connect framework-managed offsets for this connector have been reset successfully. However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."}`)
	expect(t, w.call(t, "GET", "/connectors/orders/offsets", ""), 200, `{"offsets":[]}`)

	// Delete.
	expect(t, w.call(t, "DELETE", "/connectors/orders", ""), 204, "")
	expect(t, w.call(t, "GET", "/connectors", ""), 200, `[]`)
	expect(t, w.call(t, "GET", "/connectors/orders/status", ""), 404, `{"error_code":404,"message":"No status found for connector orders"}`)
	expect(t, w.call(t, "DELETE", "/connectors/orders", ""), 404, `{"error_code":404,"message":"Connector orders not found"}`)

	// PUT creates.
	r = w.call(t, "PUT", "/connectors/again/config", `{"connector.class":"counter","topic":"again"}`)
	expect(t, r, 201, "")
	if r.header.Get("Location") != "/connectors/again" {
		t.Fatalf("Location %q", r.header.Get("Location"))
	}
	w.waitStatus(t, "again", "RUNNING", "RUNNING")
	// A connector created STOPPED has no tasks.
	expect(t, w.call(t, "POST", "/connectors", `{"name":"later","config":{"connector.class":"counter","topic":"later"},"initial_state":"STOPPED"}`), 201, "")
	w.waitStatus(t, "later", "STOPPED")
	expect(t, w.call(t, "POST", "/connectors", `{"name":"bad","config":{"connector.class":"counter","topic":"t"},"initial_state":"SLEEPING"}`), 500, "")
}

func TestFailedTaskReportsTraceAndRecovers(t *testing.T) {
	w := startWorker(t, workerOpts{})
	fail := filepath.Join(t.TempDir(), "fail")
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, w.call(t, "POST", "/connectors", counterConfig("flaky", "flaky", "counter.fail.file", fail)), 201, "")
	st := w.waitStatus(t, "flaky", "RUNNING", "FAILED")
	if !strings.Contains(st.Tasks[0].Trace, "cannot start while "+fail+" exists") {
		t.Fatalf("trace %q", st.Tasks[0].Trace)
	}
	r := w.call(t, "GET", "/readyz", "")
	if r.status != 503 || !strings.Contains(string(r.body), "flaky-0") {
		t.Fatalf("readyz with a failed task: %d %s", r.status, r.body)
	}
	expect(t, w.call(t, "POST", "/connectors/flaky/restart?includeTasks=true&onlyFailed=true", ""), 202, "")
	os.Remove(fail)
	// Automatic restart with backoff brings it back without intervention.
	st = w.waitStatus(t, "flaky", "RUNNING", "RUNNING")
	if st.Tasks[0].Trace != "" {
		t.Fatalf("trace kept after recovery: %q", st.Tasks[0].Trace)
	}
	expect(t, w.call(t, "GET", "/readyz", ""), 200, "ok")
	expect(t, w.call(t, "GET", "/healthz", ""), 200, "ok")
}

func TestYAMLConnector(t *testing.T) {
	w := startWorker(t, workerOpts{})
	yaml := `
name: inventory
config:
  connector.class: counter
  topic: inventory
  counter:
    interval.ms: 25
    server: dbserver1
`
	r := w.do(t, "POST", "/connectors", "application/yaml", yaml)
	expect(t, r, 201, "")
	var info herder.ConnectorInfo
	r.json(t, &info)
	if info.Config["counter.interval.ms"] != "25" || info.Config["counter.server"] != "dbserver1" || info.Name != "inventory" {
		t.Fatalf("YAML create: %s", r.body)
	}
	r = w.do(t, "PUT", "/connectors/inventory/config", "application/yaml", "connector.class: counter\ntopic: inventory2\n")
	expect(t, r, 200, "")
	info = herder.ConnectorInfo{}
	r.json(t, &info)
	if info.Config["topic"] != "inventory2" || info.Config["name"] != "inventory" {
		t.Fatalf("YAML put: %s", r.body)
	}
	expect(t, w.do(t, "POST", "/connectors", "application/yaml", "connectors: [{name: a}, {name: b}]"), 400, "")
	w.waitStatus(t, "inventory", "RUNNING", "RUNNING")
}

func TestPluginsAndValidate(t *testing.T) {
	w := startWorker(t, workerOpts{})
	expect(t, w.call(t, "GET", "/connector-plugins", ""), 200, `[{"class":"`+herdertest.CollectorClass+`","type":"sink","version":"1.0.0"},{"class":"`+herdertest.CounterClass+`","type":"source","version":"1.0.0"}]`)
	r := w.call(t, "GET", "/connector-plugins?connectorsOnly=false", "")
	expect(t, r, 200, "")
	golden(t, "plugins_all.json", r.body)
	r = w.call(t, "PUT", "/connector-plugins/CounterSourceConnector/config/validate", `{"connector.class":"`+herdertest.CounterClass+`","name":"v","topic":"t","counter.password":"secret"}`)
	expect(t, r, 200, "")
	golden(t, "validate_ok.json", r.body)
	r = w.call(t, "PUT", "/connector-plugins/counter/config/validate", `{"name":"v","counter.batch":"x","counter.unreachable":"true","extra.prop":"1"}`)
	expect(t, r, 200, "")
	golden(t, "validate_errors.json", r.body)
	r = w.call(t, "PUT", "/connector-plugins/counter/config/validate", `{"name":"v","topic":"t","counter.unreachable":"true"}`)
	var ci herder.ConfigInfos
	r.json(t, &ci)
	if ci.ErrorCount != 1 || !strings.Contains(string(r.body), "unable to connect: connection refused") {
		t.Fatalf("connectivity validation: %s", r.body)
	}
	expect(t, w.call(t, "PUT", "/connector-plugins/Other/config/validate", `{"connector.class":"`+herdertest.CounterClass+`"}`), 400,
		`{"error_code":400,"message":"Included connector type `+herdertest.CounterClass+` does not match request type Other"}`)
	r = w.call(t, "GET", "/connector-plugins/counter/config", "")
	expect(t, r, 200, "")
	golden(t, "plugin_config.json", r.body)
	// A connector whose validation fails is not created.
	r = w.call(t, "POST", "/connectors", counterConfig("down", "t", "counter.unreachable", "true"))
	expect(t, r, 400, "{\"error_code\":400,\"message\":\"Connector configuration is invalid and contains the following 1 error(s):\\nunable to connect: connection refused\\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`\"}")
}

func TestLoggers(t *testing.T) {
	w := startWorker(t, workerOpts{})
	expect(t, w.call(t, "GET", "/admin/loggers", ""), 200, `{"root":{"level":"INFO","last_modified":null}}`)
	r := w.call(t, "PUT", "/admin/loggers/io.debezium", `{"level":"debug"}`)
	expect(t, r, 200, `["io.debezium"]`)
	r = w.call(t, "PUT", "/admin/loggers/io.debezium.connector", `{"level":"TRACE"}`)
	expect(t, r, 200, `["io.debezium.connector"]`)
	r = w.call(t, "PUT", "/admin/loggers/io.debezium", `{"level":"WARN"}`)
	expect(t, r, 200, `["io.debezium","io.debezium.connector"]`)
	var lv LoggerLevel
	r = w.call(t, "GET", "/admin/loggers/io.debezium.connector", "")
	r.json(t, &lv)
	if lv.Level != "WARN" || lv.LastModified == nil {
		t.Fatalf("logger %s", r.body)
	}
	expect(t, w.call(t, "PUT", "/admin/loggers/orders?scope=cluster", `{"level":"ERROR"}`), 204, "")
	eventually(t, 5*time.Second, "cluster-wide level applied", func() (bool, string) {
		lv, ok := w.loggers.Level("orders")
		return ok && lv.Level == "ERROR", lv.Level
	})
}

func TestBasicAuth(t *testing.T) {
	w := startWorker(t, workerOpts{auth: map[string]string{"admin": "pa55"}})
	expect(t, w.call(t, "GET", "/connectors", ""), 200, `[]`)
	w.pass = "wrong"
	r := w.call(t, "GET", "/connectors", "")
	if r.status != 401 || string(r.body) != "User cannot access the resource." {
		t.Fatalf("bad credentials: %d %s", r.status, r.body)
	}
	w.user = ""
	expect(t, w.call(t, "GET", "/", ""), 401, "")
	// Probes need no credentials.
	expect(t, w.call(t, "GET", "/healthz", ""), 200, "ok")
}

func TestMetrics(t *testing.T) {
	w := startWorker(t, workerOpts{})
	expect(t, w.call(t, "POST", "/connectors", counterConfig("m", "m")), 201, "")
	w.waitStatus(t, "m", "RUNNING", "RUNNING")
	eventually(t, 10*time.Second, "metrics", func() (bool, string) {
		r := w.call(t, "GET", "/metrics", "")
		body := string(r.body)
		for _, want := range []string{
			`kafka_connect_source_task_metrics_source_record_poll_total{connector="m",task="0"} `,
			`kafka_connect_source_task_metrics_source_record_write_total{connector="m",task="0"} `,
			`kafka_connect_connector_task_metrics_offset_commit_completion_total{connector="m",task="0"} `,
			`debezium_metrics_milliseconds_behind_source{connector="m",task="0"} `,
			`kafka_connect_connector_status{connector="m",status="running",type="source"} 1`,
			`kafka_connect_connect_worker_metrics_connector_running_task_count{connector="m"} 1`,
			`# TYPE kafka_connect_source_task_metrics_source_record_poll_total counter`,
		} {
			if !strings.Contains(body, want) {
				return false, "missing " + want + " in\n" + body
			}
		}
		return !strings.Contains(body, `source_record_write_total{connector="m",task="0"} 0`+"\n"), body
	})
}

func TestSinkConnectorAndItsOffsets(t *testing.T) {
	w := startWorker(t, workerOpts{})
	expect(t, w.call(t, "POST", "/connectors", counterConfig("src", "numbers")), 201, "")
	w.waitStatus(t, "src", "RUNNING", "RUNNING")
	r := w.call(t, "POST", "/connectors", `{"name":"sink","config":{"connector.class":"collector","topics":"numbers",`+
		`"key.converter":"org.apache.kafka.connect.storage.StringConverter","value.converter":"org.apache.kafka.connect.json.JsonConverter",`+
		`"value.converter.schemas.enable":"false"}}`)
	expect(t, r, 201, "")
	var info herder.ConnectorInfo
	r.json(t, &info)
	if info.Type != "sink" {
		t.Fatalf("type %q", info.Type)
	}
	w.waitStatus(t, "sink", "RUNNING", "RUNNING")
	eventually(t, 20*time.Second, "records in the sink", func() (bool, string) {
		n := len(w.collector.Records("sink"))
		return n >= 5, fmt.Sprint(n, " records")
	})
	if v := w.collector.Records("sink")[0].Value; fmt.Sprint(v) != "0" {
		t.Fatalf("first record value %#v", v)
	}
	eventually(t, 20*time.Second, "sink offsets", func() (bool, string) {
		r := w.call(t, "GET", "/connectors/sink/offsets", "")
		return strings.HasPrefix(string(r.body), `{"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"numbers"},"offset":{"kafka_offset":`), string(r.body)
	})
	eventually(t, 10*time.Second, "sink active topics", func() (bool, string) {
		r := w.call(t, "GET", "/connectors/sink/topics", "")
		return string(r.body) == `{"sink":{"topics":["numbers"]}}`, string(r.body)
	})
	expect(t, w.call(t, "PUT", "/connectors/sink/stop", ""), 204, "")
	w.waitStatus(t, "sink", "STOPPED")
	expect(t, w.call(t, "PATCH", "/connectors/sink/offsets", `{"offsets":[{"partition":{"kafka_topic":"numbers"},"offset":{"kafka_offset":1}}]}`), 400,
		`{"error_code":400,"message":"The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'"}`)
	expect(t, w.call(t, "PATCH", "/connectors/sink/offsets", `{"offsets":[{"partition":{"kafka_topic":"numbers","kafka_partition":"zero"},"offset":{"kafka_offset":1}}]}`), 400,
		`{"error_code":400,"message":"Failed to parse the following Kafka partition value in the provided offsets: 'zero'. Partition values for sink connectors need to be integers."}`)
	expect(t, w.call(t, "PATCH", "/connectors/sink/offsets", `{"offsets":[{"partition":{"kafka_topic":"numbers","kafka_partition":0},"offset":{"kafka_offset":"3"}}]}`), 200, "")
	expect(t, w.call(t, "GET", "/connectors/sink/offsets", ""), 200,
		`{"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"numbers"},"offset":{"kafka_offset":3}}]}`)
	// Resumed, the sink re-reads from the altered offset.
	before := len(w.collector.Records("sink"))
	expect(t, w.call(t, "PUT", "/connectors/sink/resume", ""), 202, "")
	eventually(t, 20*time.Second, "re-read from offset 3", func() (bool, string) {
		recs := w.collector.Records("sink")
		if len(recs) <= before {
			return false, "nothing new"
		}
		return fmt.Sprint(recs[before].Value) == "3", fmt.Sprint(recs[before].Value)
	})
	expect(t, w.call(t, "PUT", "/connectors/sink/stop", ""), 204, "")
	w.waitStatus(t, "sink", "STOPPED")
	expect(t, w.call(t, "DELETE", "/connectors/sink/offsets", ""), 200, "")
	expect(t, w.call(t, "GET", "/connectors/sink/offsets", ""), 200, `{"offsets":[]}`)
}
