package jsonschema_test

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/schema/jsonschema"
)

// TestRegistryClientProperties: the registry client properties shared
// through registry.ConfigFromProperties reach the client; a malformed one
// is refused naming it, and unknown properties stay refused.
func TestRegistryClientProperties(t *testing.T) {
	cfg, err := jsonschema.ParseConverterConfig(map[string]string{"schema.registry.url": "http://a:1,http://b:2",
		"max.retries": "5", "retries.wait.ms": "10", "url.randomize": "true", "request.header.X-Tenant": "blue",
		"schema.registry.proxy.host": "proxy", "schema.registry.proxy.port": "3128", "http.connect.timeout.ms": "500",
		"max.schemas.per.subject": "20", "missing.id.cache.ttl.sec": "30"})
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Registry; r.MaxRetries != 5 || !r.URLRandomize || r.Headers["X-Tenant"] != "blue" || r.ProxyPort != 3128 || r.MaxSchemasPerSubject != 20 {
		t.Errorf("registry config = %+v", r)
	}
	for k, v := range map[string]string{"max.retries": "-1", "proxy.host": "only-a-host", "qqqq.unknown": "1"} {
		_, err := jsonschema.ParseConverterConfig(map[string]string{"schema.registry.url": "http://a:1", k: v})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}
