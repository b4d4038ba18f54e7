package avro_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry"
)

// TestJavaOnlyProperties pins how the AvroConverter treats the Confluent
// serializer/deserializer properties that tune Java object modes: the
// inert ones (no effect in Confluent's AvroConverter either) are accepted
// as booleans, the others only at their default, and a name Confluent
// does not have is unknown.
func TestJavaOnlyProperties(t *testing.T) {
	base := func(k, v string) map[string]string {
		return map[string]string{"schema.registry.url": "http://127.0.0.1:1", k: v}
	}
	inert := []string{"avro.reflection.allow.null", "id.compatibility.strict", "schema.reflection", "specific.avro.reader"}
	var documented []string
	for _, k := range avro.ConverterDef().Keys() {
		if strings.Contains(k.Doc, "no effect in Confluent's AvroConverter either") {
			documented = append(documented, k.Name)
		}
	}
	if strings.Join(documented, ",") != strings.Join(inert, ",") {
		t.Errorf("properties documented as inert: %v, want %v", documented, inert)
	}
	for _, k := range inert {
		for _, v := range []string{"true", "false"} {
			if _, err := avro.ParseConfig(base(k, v)); err != nil {
				t.Errorf("%s=%s: %v", k, v, err)
			}
		}
		if _, err := avro.ParseConfig(base(k, "yes please")); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=yes please: %v", k, err)
		}
	}
	for k, def := range map[string]string{"avro.use.logical.type.converters": "false", "propagate.schema.tags": "false", "rule.service.loader.enable": "true"} {
		if _, err := avro.ParseConfig(base(k, def)); err != nil {
			t.Errorf("%s=%s (the default): %v", k, def, err)
		}
		other := map[string]string{"false": "true", "true": "false"}[def]
		if _, err := avro.ParseConfig(base(k, other)); err == nil || !strings.Contains(err.Error(), k) || !strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s=%s: %v", k, other, err)
		}
	}
	if _, err := avro.ParseConfig(base("auto.register.schemas.normalize", "true")); err == nil || !strings.Contains(err.Error(), "unknown AvroConverter property") {
		t.Errorf("auto.register.schemas.normalize (not a Confluent property): %v", err)
	}
	// The client properties reach the registry client.
	cfg, err := avro.ParseConfig(map[string]string{"schema.registry.url": "http://a:1,http://b:2", "max.retries": "7",
		"schema.registry.url.randomize": "true", "request.header.X-A": "1", "proxy.host": "p", "proxy.port": "3128"})
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Registry; r.MaxRetries != 7 || !r.URLRandomize || r.Headers["X-A"] != "1" || r.ProxyHost != "p" || r.ProxyPort != 3128 {
		t.Errorf("registry config = %+v", r)
	}
	if _, err := avro.ParseConfig(base("max.retries", "-2")); err == nil || !strings.Contains(err.Error(), "max.retries") {
		t.Errorf("max.retries=-2: %v", err)
	}
}

// TestLatestCache: use.latest.version remembers the subject's latest
// version per schema (latest.cache.size, latest.cache.ttl.sec), in front of
// the client's own latest cache, as AbstractKafkaSchemaSerDe does.
func TestLatestCache(t *testing.T) {
	s := connect.StructBuilder().Name("ns.R").Field("a", connect.Prim(connect.Int32)).MustBuild()
	as, err := avro.FromConnect(s, avro.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		props   map[string]string
		fetches int
	}{
		{nil, 1},
		{map[string]string{"latest.cache.size": "0"}, 1}, // the client's cache (60 s) still answers
		{map[string]string{"latest.cache.size": "0", "latest.cache.ttl.sec": "0"}, 3},
		{map[string]string{"latest.cache.ttl.sec": "0"}, 3},
		{map[string]string{"latest.cache.ttl.sec": "3600"}, 1},
	} {
		reg := newCountingRegistry(t)
		client, _ := registry.NewClient(registry.Config{URL: reg.URL})
		if _, err := client.Register(context.Background(), "t-value", as.String()); err != nil {
			t.Fatal(err)
		}
		props := map[string]string{"auto.register.schemas": "false", "use.latest.version": "true"}
		for k, v := range tc.props {
			props[k] = v
		}
		c := newConverter(t, reg.URL, false, props)
		for range 3 {
			if _, err := c.FromConnect("t", s, connect.NewStruct(s).Set("a", int32(1))); err != nil {
				t.Fatal(err)
			}
		}
		fetches := 0
		reg.mu.Lock()
		for _, r := range reg.requests {
			if r == "GET /subjects/t-value/versions/latest" {
				fetches++
			}
		}
		reg.mu.Unlock()
		if fetches != tc.fetches {
			t.Errorf("%v: %d fetches of the latest version, want %d", tc.props, fetches, tc.fetches)
		}
	}
}

// TestReaderVersionOfDeletedSchema: the Connect version of data read is
// the writer schema's version under the subject even after that version
// was soft-deleted, as CachedSchemaRegistryClient.getVersion looks up with
// deleted=true.
func TestReaderVersionOfDeletedSchema(t *testing.T) {
	reg := newCountingRegistry(t)
	s := connect.StructBuilder().Name("ns.R").Field("a", connect.Prim(connect.Int32)).MustBuild()
	b, err := newConverter(t, reg.URL, false, nil).FromConnect("t", s, connect.NewStruct(s).Set("a", int32(1)))
	if err != nil {
		t.Fatal(err)
	}
	client, _ := registry.NewClient(registry.Config{URL: reg.URL})
	if _, err := client.DeleteVersion(context.Background(), "t-value", 1, false); err != nil {
		t.Fatal(err)
	}
	cs, _, err := newConverter(t, reg.URL, false, nil).ToConnect("t", b)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Version != 1 {
		t.Fatalf("version %d, want 1", cs.Version)
	}
}
