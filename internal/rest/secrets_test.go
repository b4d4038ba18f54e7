package rest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/internal/herder"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsHiddenFromValidationTracesAndLogs uses a connector that
// quotes its password in its validation errors, its start failure and a
// log line, as a careless driver quoting its connection string would: the
// worker must hide the password in validation results, REST errors, task
// status traces and logs, whether it was given literally or as a config
// provider reference, and return the configuration as submitted, as Kafka
// Connect does.
func TestSecretsHiddenFromValidationTracesAndLogs(t *testing.T) {
	const secret = "Leaky-S3cret-42"
	t.Setenv("TRIBUTARY_REST_TEST_SECRET", secret)
	var logs lockedBuffer
	w := startWorker(t, workerOpts{logs: &logs})
	fail := filepath.Join(t.TempDir(), "fail")
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		password string // as submitted
		// wantReturned: GET /connectors/{name}/config returns this as the
		// password (Kafka Connect returns what was submitted).
		wantReturned string
	}{
		{"literal", secret, secret},
		{"reference", "${env:TRIBUTARY_REST_TEST_SECRET}", "${env:TRIBUTARY_REST_TEST_SECRET}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leaky := func(name string, kv ...string) string {
				return counterConfig(name, "t", append([]string{"counter.password", tc.password, "counter.leak.password", "true"}, kv...)...)
			}
			var checked []response

			// Validation: the value is [hidden] and the connector's error
			// quoting the password is scrubbed.
			r := w.call(t, "PUT", "/connector-plugins/counter/config/validate",
				`{"name":"v","topic":"t","counter.unreachable":"true","counter.leak.password":"true","counter.password":"`+tc.password+`"}`)
			var ci herder.ConfigInfos
			r.json(t, &ci)
			if ci.ErrorCount != 1 || !strings.Contains(string(r.body), "unable to connect with password [hidden]: connection refused") {
				t.Errorf("validation: %s", r.body)
			}
			for _, c := range ci.Configs {
				if c.Value != nil && c.Value.Name == "counter.password" && (c.Value.Value == nil || *c.Value.Value != "[hidden]") {
					t.Errorf("validation returned counter.password = %v, want [hidden]", c.Value.Value)
				}
			}
			checked = append(checked, r)

			// Creation refused for the same reason: the 400 message too.
			r = w.call(t, "POST", "/connectors", leaky("down-"+tc.name, "counter.unreachable", "true"))
			expect(t, r, 400, "")
			if !strings.Contains(string(r.body), "password [hidden]") {
				t.Errorf("creation refused with %s", r.body)
			}
			checked = append(checked, r)

			// A task that fails at start: its trace is scrubbed.
			name := "flaky-" + tc.name
			expect(t, w.call(t, "POST", "/connectors", leaky(name, "counter.fail.file", fail)), 201, "")
			st := w.waitStatus(t, name, "RUNNING", "FAILED")
			if want := "cannot start while " + fail + " exists (logged in with password [hidden])"; !strings.Contains(st.Tasks[0].Trace, want) {
				t.Errorf("trace %q, want it to contain %q", st.Tasks[0].Trace, want)
			}
			for _, p := range []string{"/status", "/tasks/0/status"} {
				checked = append(checked, w.call(t, "GET", "/connectors/"+name+p, ""))
			}
			checked = append(checked, w.call(t, "GET", "/connectors?expand=status", ""), w.call(t, "GET", "/metrics", ""),
				w.call(t, "GET", "/readyz", ""))

			// The configuration comes back as submitted.
			r = w.call(t, "GET", "/connectors/"+name+"/config", "")
			var cfg map[string]string
			r.json(t, &cfg)
			if cfg["counter.password"] != tc.wantReturned {
				t.Errorf("GET config returned counter.password = %q, want %q", cfg["counter.password"], tc.wantReturned)
			}

			for _, r := range checked {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("response %d contains the secret: %s", r.status, r.body)
				}
			}
			expect(t, w.call(t, "DELETE", "/connectors/"+name, ""), 204, "")
		})
	}
	out := logs.String()
	if i := strings.Index(out, secret); i >= 0 {
		t.Errorf("the log contains the secret: ...%s...", out[max(0, i-300):min(len(out), i+100)])
	}
	// The leaking paths did run and log, or the check above proves nothing.
	for _, want := range []string{"logging in with password [hidden]", "logged in with password [hidden]"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log does not contain %q:\n%s", want, out)
		}
	}
}
