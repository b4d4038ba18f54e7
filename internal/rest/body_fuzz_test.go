package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/herder"
)

// fuzzHerder accepts every request; the fuzz target is the REST layer's
// reading of request bodies, so any 5xx must come from that. It records
// the properties it is handed. Methods the body endpoints do not call are
// the nil embedded interface's (they would panic: a finding too).
type fuzzHerder struct {
	Herder
	props map[string]string
	name  string
}

func (h *fuzzHerder) ClusterID() string { return "fuzz" }

func (h *fuzzHerder) PutConnectorConfig(_ context.Context, name string, props map[string]string, _ bool, _ herder.TargetState) (bool, *herder.ConnectorInfo, error) {
	h.name, h.props = name, props
	return true, &herder.ConnectorInfo{Name: name, Config: props, Tasks: []herder.TaskID{}, Type: "source"}, nil
}

func (h *fuzzHerder) PatchConnectorConfig(_ context.Context, name string, patch map[string]*string) (*herder.ConnectorInfo, error) {
	cfg := map[string]string{"name": name}
	for k, v := range patch {
		if v != nil {
			cfg[k] = *v
		}
	}
	return &herder.ConnectorInfo{Name: name, Config: cfg, Tasks: []herder.TaskID{}, Type: "source"}, nil
}

func (h *fuzzHerder) ValidateConfig(_ context.Context, plugin string, props map[string]string) (*herder.ConfigInfos, error) {
	h.props = props
	return &herder.ConfigInfos{Name: plugin, Groups: []string{}, Configs: []herder.ConfigInfo{}}, nil
}

func (h *fuzzHerder) AlterOffsets(context.Context, string, []herder.ConnectorOffset) (*herder.Message, error) {
	return &herder.Message{Message: "altered"}, nil
}

func (h *fuzzHerder) SetClusterLoggerLevel(context.Context, string, string) error { return nil }

// bodyRoutes are the endpoints that read a request body.
var bodyRoutes = []struct {
	method, path string
	yaml         bool // also takes YAML bodies
	shape        func(v any) bool
}{
	{"POST", "/connectors", true, createShape},
	{"PUT", "/connectors/c1/config", true, propsShape},
	{"PATCH", "/connectors/c1/config", false, propsShape},
	{"PUT", "/connector-plugins/counter/config/validate", true, propsShape},
	{"PATCH", "/connectors/c1/offsets", false, offsetsShape},
	{"PUT", "/admin/loggers/org.apache.kafka", false, loggerShape},
}

// FuzzRequestBody sends arbitrary bodies to every endpoint that reads one,
// as JSON and, where accepted, YAML. The answer is never a panic and is a
// JSON body with a 2xx or 4xx status, with one deliberate exception: like
// Kafka Connect (whose Jackson provider errors become 500s), a JSON body
// that does not deserialize is a 500 with Jackson's message. So a 500 is
// checked against an independent reading of the body: it must be one the
// endpoint's JSON shape rejects, and a body of the right shape must not
// get one.
func FuzzRequestBody(f *testing.F) {
	seeds := []string{
		`{"name":"c1","config":{"connector.class":"counter","tasks.max":1,"topic":"t","flag":true}}`,
		`{"name":"c1","config":{"connector.class":"counter"},"initial_state":"PAUSED"}`,
		`{"name":"c1","config":{"connector.class":"counter"},"initial_state":"SLEEPING"}`,
		`{"connector.class":"counter","topic":"t","name":"c1"}`,
		`{"connector.class":"counter","topic":null}`,
		`{"a":{"b":1}}`,
		`{"offsets":[{"partition":{"server":"dbserver1"},"offset":{"lsn":12345678901234567890,"txId":1.5}}]}`,
		`{"offsets":[]}`,
		`{"level":"DEBUG"}`,
		`{"level":7}`,
		"name: c1\nconfig:\n  connector.class: counter\n  topic: t\n  tasks.max: 1\n",
		"connectors:\n  - name: c1\n    config: {connector.class: counter}\n",
		"connector.class: counter\ndatabase:\n  hostname: localhost\n  port: 5432\ntable.include.list: [a, b]\n",
		`{"name":"x","config":`,
		``,
		`null`,
		`[]`,
	}
	for _, name := range []string{filepath.Join("curl", "connector.json"), "create_response.json"} {
		if data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rest", name)); err == nil {
			seeds = append(seeds, string(data))
		}
	}
	for i := range bodyRoutes {
		for _, s := range seeds {
			f.Add(uint8(i), false, []byte(s))
		}
	}
	f.Add(uint8(0), true, []byte("name: c1\nconfig:\n  connector.class: counter\n"))
	f.Add(uint8(1), true, []byte("connector.class: counter\ntopic: [a, {b: c}]\n"))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, route uint8, yamlBody bool, body []byte) {
		r := bodyRoutes[int(route)%len(bodyRoutes)]
		yamlBody = yamlBody && r.yaml
		h := &fuzzHerder{}
		api := NewHandler(Options{Herder: h, Logger: quiet, Loggers: NewLoggers(nil)})
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		if yamlBody {
			req.Header.Set("Content-Type", "application/yaml")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		status := rec.Code
		if status < 200 || status >= 600 || status >= 300 && status < 400 {
			t.Fatalf("%s %s: status %d", r.method, r.path, status)
		}
		var answer any
		if rec.Body.Len() > 0 && json.Unmarshal(rec.Body.Bytes(), &answer) != nil {
			t.Fatalf("%s %s: status %d with a body that is not JSON: %q", r.method, r.path, status, rec.Body.String())
		}
		if status >= 400 {
			var em ErrorMessage
			if json.Unmarshal(rec.Body.Bytes(), &em) != nil || em.ErrorCode != status || em.Message == "" {
				t.Fatalf("%s %s: status %d with error body %q", r.method, r.path, status, rec.Body.String())
			}
		}
		wellShaped := !yamlBody && jsonShape(body, r.shape)
		switch {
		case status >= 500 && (yamlBody || wellShaped):
			t.Fatalf("%s %s: %d for a body that is not malformed JSON: %s\nbody %q", r.method, r.path, status, rec.Body.String(), body)
		case status < 300 && !yamlBody && !wellShaped:
			t.Fatalf("%s %s: %d for a body of the wrong shape %q", r.method, r.path, status, body)
		}
		if status < 300 && h.props != nil && r.path == "/connectors/c1/config" && h.props["name"] != "c1" {
			t.Fatalf("PUT config handed the herder name %q for connector c1", h.props["name"])
		}
	})
}

// jsonShape reads the first JSON value of body, as the handlers do, and
// checks it against the endpoint's request shape.
func jsonShape(body []byte, shape func(any) bool) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := orderedValue(dec)
	return err == nil && shape(v)
}

// member is one name/value of a JSON object. Objects are read as all
// their members in order, duplicates included: a deserializer reads each
// member, so a bad value followed by a good one under the same name is
// still bad (a Go map would keep only the last).
type member struct {
	k string
	v any
}

type object []member

func orderedValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := orderedValue(dec)
			if err != nil {
				return nil, err
			}
			o = append(o, member{k.(string), v})
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := orderedValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return tok, nil
}

// scalarOrNull is a property value Kafka Connect's Map<String, String>
// takes: strings, numbers and booleans (coerced), or null (rejected with
// a 400 later, not a deserialization error).
func scalarOrNull(v any) bool {
	switch v.(type) {
	case object, []any:
		return false
	}
	return true
}

func propsShape(v any) bool {
	if v == nil {
		return true
	}
	m, ok := v.(object)
	if !ok {
		return false
	}
	for _, e := range m {
		if !scalarOrNull(e.v) {
			return false
		}
	}
	return true
}

func createShape(v any) bool {
	m, ok := v.(object)
	if !ok {
		return v == nil
	}
	for _, kv := range m {
		k, e := kv.k, kv.v
		switch k {
		case "name":
			if _, isStr := e.(string); e != nil && !isStr {
				return false
			}
		case "config":
			if !propsShape(e) {
				return false
			}
		case "initial_state":
			s, isStr := e.(string)
			if e != nil && (!isStr || !strings.EqualFold(s, "RUNNING") && !strings.EqualFold(s, "PAUSED") && !strings.EqualFold(s, "STOPPED")) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func offsetsShape(v any) bool {
	m, ok := v.(object)
	if !ok {
		return v == nil
	}
	for _, kv := range m {
		k, e := kv.k, kv.v
		if k != "offsets" {
			return false
		}
		arr, isArr := e.([]any)
		if e != nil && !isArr {
			return false
		}
		for _, o := range arr {
			om, isObj := o.(object)
			if o != nil && !isObj {
				return false
			}
			for _, m := range om {
				if m.k != "partition" && m.k != "offset" {
					return false
				}
				if _, isMap := m.v.(object); m.v != nil && !isMap {
					return false
				}
			}
		}
	}
	return true
}

func loggerShape(v any) bool {
	m, ok := v.(object)
	if !ok {
		return v == nil
	}
	for _, e := range m {
		if _, isStr := e.v.(string); e.v != nil && !isStr {
			return false
		}
	}
	return true
}

// Jackson matches member names exactly; encoding/json alone would take
// "Config" for config and "Partition" for partition.
func TestRequestMemberNamesAreCaseSensitive(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct{ method, path, body, field string }{
		{"POST", "/connectors", `{"name":"c1","Config":{"connector.class":"counter"}}`, "Config"},
		{"POST", "/connectors", `{"NAME":"c1","config":{}}`, "NAME"},
		{"PATCH", "/connectors/c1/offsets", `{"Offsets":[]}`, "Offsets"},
		{"PATCH", "/connectors/c1/offsets", `{"offsets":[{"Partition":{"a":1},"offset":{"b":2}}]}`, "Partition"},
	} {
		rec := httptest.NewRecorder()
		NewHandler(Options{Herder: &fuzzHerder{}, Logger: quiet}).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
		want := `{"error_code":500,"message":"Unrecognized field \"` + tc.field + `\", not marked as ignorable"}`
		if rec.Code != 500 || rec.Body.String() != want {
			t.Errorf("%s %s %s: %d %s, want %s", tc.method, tc.path, tc.body, rec.Code, rec.Body.String(), want)
		}
	}
	rec := httptest.NewRecorder()
	NewHandler(Options{Herder: &fuzzHerder{}, Logger: quiet}).ServeHTTP(rec, httptest.NewRequest("POST", "/connectors",
		strings.NewReader(`{"name":"c1","config":{"connector.class":"counter"},"initial_state":"PAUSED"}`)))
	if rec.Code != 201 {
		t.Errorf("well-formed create: %d %s", rec.Code, rec.Body.String())
	}
}

// Jackson reads every member of a configuration object, so an object
// value fails even when a later member of the same name is a string; of
// valid duplicates the last wins, as in its map.
func TestConfigDuplicateMembers(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		method, body string
		status       int
	}{
		{"PUT", `{"a":{},"a":"x"}`, 500},
		{"PATCH", `{"a":[1],"a":"x"}`, 500},
		{"PUT", `{"a":"1","a":"2"}`, 201},
	} {
		h := &fuzzHerder{}
		rec := httptest.NewRecorder()
		NewHandler(Options{Herder: h, Logger: quiet}).ServeHTTP(rec, httptest.NewRequest(tc.method, "/connectors/c1/config", strings.NewReader(tc.body)))
		if rec.Code != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.body, rec.Code, rec.Body.String(), tc.status)
		}
		if tc.status == 201 && h.props["a"] != "2" {
			t.Errorf("%s %s: herder got a=%q, want the last value", tc.method, tc.body, h.props["a"])
		}
	}
}
