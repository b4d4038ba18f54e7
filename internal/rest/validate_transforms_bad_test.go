package rest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
)

// The bad transform configurations of issue 11 through the REST validate
// endpoint: each is reported as one error under the property at fault
// (alias included), with a message naming what is wrong.
func TestValidateBadTransforms(t *testing.T) {
	w := startWorker(t, workerOpts{})
	const rr = "org.apache.kafka.connect.transforms.RegexRouter"
	cases := []struct {
		name     string
		props    map[string]string
		property string
		wantErr  string
	}{
		{"unknown class", map[string]string{"transforms.route.type": "org.apache.kafka.connect.transforms.RegexRuoter"},
			"transforms.route.type", `Class org.apache.kafka.connect.transforms.RegexRuoter could not be found. (did you mean "` + rr + `"?)`},
		{"missing required property", map[string]string{"transforms.route.type": rr, "transforms.route.replacement": "$1"},
			"transforms.route.regex", `Missing required configuration "regex" which has no default value.`},
		{"invalid regex", map[string]string{"transforms.route.type": rr, "transforms.route.regex": "dbserver1\\.(", "transforms.route.replacement": "$1"},
			"transforms.route.regex", "Invalid value dbserver1\\.( for configuration regex: Invalid regex"},
		{"misspelt property", map[string]string{"transforms.route.type": rr, "transforms.route.regex": "a", "transforms.route.replacment": "x"},
			"transforms.route.replacment", `unknown property (did you mean "replacement"?)`},
		{"outbox placement", map[string]string{"transforms.route.type": "io.debezium.transforms.outbox.EventRouter",
			"transforms.route.table.fields.additional.placement": "type:body"},
			"transforms.route.table.fields.additional.placement", `unknown placement "body"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"connector.class": herdertest.CounterClass, "name": "v", "topic": "t", "transforms": "route"}
			for k, v := range c.props {
				props[k] = v
			}
			body, err := json.Marshal(props)
			if err != nil {
				t.Fatal(err)
			}
			r := w.call(t, "PUT", "/connector-plugins/CounterSourceConnector/config/validate", string(body))
			expect(t, r, 200, "")
			var ci herder.ConfigInfos
			r.json(t, &ci)
			if ci.ErrorCount != 1 {
				t.Fatalf("error_count %d, want 1: %s", ci.ErrorCount, r.body)
			}
			for _, cfg := range ci.Configs {
				if cfg.Value == nil || cfg.Value.Name != c.property {
					continue
				}
				if len(cfg.Value.Errors) != 1 || !strings.Contains(cfg.Value.Errors[0], c.wantErr) {
					t.Fatalf("%s reported as %+v, want an error containing %q", c.property, cfg.Value, c.wantErr)
				}
				return
			}
			t.Fatalf("no entry for %s: %s", c.property, r.body)
		})
	}
}
