package registry_test

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	"github.com/tributary-io/tributary/schema/registry"
)

// TestConverterRegistryProperties: the registry client properties shared
// through registry.ConfigFromProperties reach the client of the JSON Schema
// and Protobuf converters; a malformed one is refused naming it, and
// unknown properties stay refused.
func TestConverterRegistryProperties(t *testing.T) {
	for name, parse := range map[string]func(map[string]string) (registry.Config, error){
		"jsonschema": func(p map[string]string) (registry.Config, error) {
			c, err := jsonschema.ParseConverterConfig(p)
			return c.Registry, err
		},
		"protobuf": func(p map[string]string) (registry.Config, error) {
			c, err := protobuf.ParseConverterConfig(p)
			return c.Registry, err
		},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := parse(map[string]string{"schema.registry.url": "http://a:1,http://b:2",
				"max.retries": "5", "retries.wait.ms": "10", "url.randomize": "true", "request.header.X-Tenant": "blue",
				"schema.registry.proxy.host": "proxy", "schema.registry.proxy.port": "3128", "http.connect.timeout.ms": "500",
				"max.schemas.per.subject": "20", "missing.id.cache.ttl.sec": "30"})
			if err != nil {
				t.Fatal(err)
			}
			if r.MaxRetries != 5 || !r.URLRandomize || r.Headers["X-Tenant"] != "blue" || r.ProxyPort != 3128 || r.MaxSchemasPerSubject != 20 {
				t.Errorf("registry config = %+v", r)
			}
			for k, v := range map[string]string{"max.retries": "-1", "proxy.host": "only-a-host", "qqqq.unknown": "1"} {
				_, err := parse(map[string]string{"schema.registry.url": "http://a:1", k: v})
				if err == nil || !strings.Contains(err.Error(), k) {
					t.Errorf("%s=%s: %v", k, v, err)
				}
			}
		})
	}
}
