package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/tributary-io/tributary/schema/check"
	"github.com/tributary-io/tributary/schema/compat"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

type pair struct {
	name, schemaType, old, new string
}

// avroPairs span the Avro resolution rules (Confluent's
// RestApiTransitiveCompatibilityTest schemas among them).
var avroPairs = []pair{
	{"add field with default", "AVRO", `{"type":"record","name":"r","fields":[{"name":"f1","type":"string"}]}`,
		`{"type":"record","name":"r","fields":[{"name":"f1","type":"string"},{"name":"f2","type":"string","default":"foo"}]}`},
	{"add field without default", "AVRO", `{"type":"record","name":"r","fields":[{"name":"f1","type":"string"}]}`,
		`{"type":"record","name":"r","fields":[{"name":"f1","type":"string"},{"name":"f2","type":"string"}]}`},
	{"remove field without default", "AVRO", `{"type":"record","name":"r","fields":[{"name":"f1","type":"string"},{"name":"f2","type":"string"}]}`,
		`{"type":"record","name":"r","fields":[{"name":"f1","type":"string"}]}`},
	{"int to long", "AVRO", `{"type":"record","name":"r","fields":[{"name":"n","type":"int"}]}`, `{"type":"record","name":"r","fields":[{"name":"n","type":"long"}]}`},
	{"enum symbol added", "AVRO", `{"type":"enum","name":"e","symbols":["A"]}`, `{"type":"enum","name":"e","symbols":["A","B"]}`},
	{"become optional", "AVRO", `{"type":"record","name":"r","fields":[{"name":"n","type":"int"}]}`,
		`{"type":"record","name":"r","fields":[{"name":"n","type":["null","int"],"default":null}]}`},
}

func jsonPairs(t *testing.T) []pair {
	t.Helper()
	raw, err := os.ReadFile("../jsonschema/testdata/confluent-diff-schema-examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Description string          `json:"description"`
		Original    json.RawMessage `json:"original_schema"`
		Update      json.RawMessage `json:"update_schema"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	var out []pair
	for i, c := range cases {
		out = append(out, pair{fmt.Sprintf("json %d %s", i, c.Description), "JSON", string(c.Original), string(c.Update)})
	}
	return out
}

func post(t *testing.T, url, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url+path, registry.ContentType, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, out)
	}
	return out
}

func put(t *testing.T, url, path, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url+path, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", registry.ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %d", path, resp.StatusCode)
	}
}

func protobufPairs(t *testing.T) []pair {
	t.Helper()
	raw, err := os.ReadFile("../protobuf/testdata/confluent-diff-schema-examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Description  string            `json:"description"`
		Original     string            `json:"original_schema"`
		Update       string            `json:"update_schema"`
		Dependencies []json.RawMessage `json:"update_dependencies"`
		OrigDeps     []json.RawMessage `json:"original_dependencies"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	var out []pair
	for i, c := range cases {
		if len(c.Dependencies)+len(c.OrigDeps) > 0 {
			continue // schema check takes candidates without references
		}
		out = append(out, pair{fmt.Sprintf("protobuf %d %s", i, c.Description), "PROTOBUF", c.Original, c.Update})
	}
	return out
}

// TestCheckAgreesWithRegistry: for every pair (Avro, the 104 JSON Schema
// pairs of Confluent's json-schema-provider diff-schema-examples.json and
// the protobuf-provider ones without references) at every level,
// `schema check` against the registry gives the verdict the registry's own
// compatibility endpoint gives for registering the new schema.
func TestCheckAgreesWithRegistry(t *testing.T) {
	ts := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	defer ts.Close()
	client, err := registry.NewClient(registry.Config{URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	base := &check.RegistryBaseline{Client: client, URL: ts.URL}
	ctx := context.Background()
	pairs := append(append(append([]pair{}, avroPairs...), jsonPairs(t)...), protobufPairs(t)...)
	disagreements, incompatible := 0, 0
	for i, p := range pairs {
		subject := fmt.Sprintf("s%d", i)
		put(t, ts.URL, "/config/"+subject, `{"compatibility":"NONE"}`)
		post(t, ts.URL, "/subjects/"+subject+"/versions", map[string]string{"schema": p.old, "schemaType": p.schemaType})
		for _, level := range compat.Levels {
			put(t, ts.URL, "/config/"+subject, `{"compatibility":"`+string(level)+`"}`)
			reg := post(t, ts.URL, "/compatibility/subjects/"+subject+"/versions", map[string]string{"schema": p.new, "schemaType": p.schemaType})
			rep, err := check.Run(ctx, []check.Candidate{{Subject: subject, Schema: p.new, SchemaType: p.schemaType}}, base, "")
			if err != nil {
				t.Fatalf("%s at %s: %v", p.name, level, err)
			}
			if rep.Compatible != reg["is_compatible"] {
				disagreements++
				t.Errorf("%s at %s: schema check says compatible=%v, the registry %v", p.name, level, rep.Compatible, reg["is_compatible"])
			}
			if !rep.Compatible {
				incompatible++
			}
		}
	}
	t.Logf("%d pairs x %d levels, %d incompatible verdicts, %d disagreements", len(pairs), len(compat.Levels), incompatible, disagreements)
	if incompatible == 0 {
		t.Fatal("no incompatible verdict at all: the comparison proves nothing")
	}
}
