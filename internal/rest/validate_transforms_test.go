package rest

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
)

// A transform's or predicate's bad property is reported under its own
// name, as Kafka Connect's validate does, with its value shown.
func TestValidateNamesTransformProperty(t *testing.T) {
	w := startWorker(t, workerOpts{})
	r := w.call(t, "PUT", "/connector-plugins/CounterSourceConnector/config/validate", `{"connector.class":"`+herdertest.CounterClass+
		`","name":"v","topic":"t","transforms":"route","transforms.route.type":"org.apache.kafka.connect.transforms.RegexRouter",`+
		`"transforms.route.regex":"(","transforms.route.replacement":"x"}`)
	expect(t, r, 200, "")
	var ci herder.ConfigInfos
	r.json(t, &ci)
	if ci.ErrorCount != 1 {
		t.Fatalf("error_count %d, want 1: %s", ci.ErrorCount, r.body)
	}
	for _, c := range ci.Configs {
		if c.Value == nil || c.Value.Name != "transforms.route.regex" {
			continue
		}
		if c.Value.Value == nil || *c.Value.Value != "(" || len(c.Value.Errors) != 1 ||
			!strings.Contains(c.Value.Errors[0], "Invalid value ( for configuration regex") {
			t.Fatalf("transforms.route.regex reported as %+v", c.Value)
		}
		return
	}
	t.Fatalf("no entry for transforms.route.regex: %s", r.body)
}
