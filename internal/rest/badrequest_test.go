package rest

import (
	"strings"
	"testing"
)

// Bad requests are answered as Kafka Connect answers them: a body that is
// not JSON (or YAML) is 415 before it is read, a body over the limit 413,
// and malformed JSON 500 with Jackson's wording (Kafka Connect's
// ConnectExceptionMapper maps Jackson's JsonParseException to 500; see
// body.go) and no Go type name.
func TestBadRequests(t *testing.T) {
	w := startWorker(t, workerOpts{})
	good := counterConfig("ok", "ok-topic")
	big := `{"name":"big","config":{"connector.class":"counter","topic":"t","pad":"` + strings.Repeat("x", 16<<20) + `"}}`
	for _, tc := range []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string // exact body, or "" for any
		wantIn                          string // substring of the body
	}{
		{"text/plain POST", "POST", "/connectors", "text/plain", good, 415, `{"error_code":415,"message":"HTTP 415 Unsupported Media Type"}`, ""},
		{"curl -d default", "POST", "/connectors", "application/x-www-form-urlencoded", good, 415, `{"error_code":415,"message":"HTTP 415 Unsupported Media Type"}`, ""},
		{"text/plain PUT", "PUT", "/connectors/ok/config", "text/plain", `{"connector.class":"counter","topic":"t"}`, 415, "", "415"},
		{"garbage content type", "PUT", "/connectors/ok/config", ";;;", `{"connector.class":"counter","topic":"t"}`, 415, "", "415"},
		{"over the limit", "POST", "/connectors", "application/json", big, 413, "", "exceeds 16777216 bytes"},
		{"config is an array", "POST", "/connectors", "application/json", `{"name":"x","config":[]}`, 500, "", "java.util."},
		{"name is a number", "POST", "/connectors", "application/json", `{"name":1,"config":{}}`, 500, "", "java.lang.String` from Number value"},
		{"truncated", "POST", "/connectors", "application/json", `{"name":"x","config":`, 500, "", "No content to map due to end-of-input"},
		{"json with charset", "POST", "/connectors", "application/json; charset=utf-8", good, 201, "", ""},
		{"no content type", "PUT", "/connectors/nock/config", "", `{"connector.class":"counter","topic":"t"}`, 201, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.do(t, tc.method, tc.path, tc.ctype, tc.body)
			expect(t, r, tc.status, tc.want)
			if !strings.Contains(string(r.body), tc.wantIn) {
				t.Fatalf("body %s lacks %q", r.body, tc.wantIn)
			}
			for _, goName := range []string{"map[", "[]string", "interface {}", "rest.", "struct {"} {
				if strings.Contains(string(r.body), goName) {
					t.Fatalf("body %s names a Go type (%s)", r.body, goName)
				}
			}
		})
	}
}
