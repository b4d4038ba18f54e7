package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v5"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"gopkg.in/yaml.v3"
)

const referenceDir = "../docs/reference"

// TestReferenceDocs fails when docs/reference is not what `tributary docs`
// generates now: regenerate with `go run ./cmd/tributary docs`.
func TestReferenceDocs(t *testing.T) {
	files, err := builtin().generateReference()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(referenceDir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("docs/reference/%s is stale or missing: run `go run ./cmd/tributary docs`", name)
		}
	}
	entries, err := os.ReadDir(referenceDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := files[e.Name()]; !ok {
			t.Errorf("docs/reference/%s is not generated any more: remove it", e.Name())
		}
	}
}

// TestPropertyDescriptions fails when any property of any reference page
// has no description, naming the page and the property; generating the
// reference (tributary docs, and so CI's docs --check) fails the same way.
func TestPropertyDescriptions(t *testing.T) {
	pages := builtin().referencePages()
	for _, m := range undocumented(pages) {
		t.Errorf("%s has no description: give its config.Key a Doc", m)
	}
	// The check itself: a page with an undocumented property is refused.
	bad := []referencePage{{file: "x.md", keys: config.NewDef().Define(config.Key{Name: "a.b", Doc: "documented"}).Define(config.Key{Name: "c.d"}).Keys()}}
	if got := undocumented(bad); len(got) != 1 || got[0] != "x.md c.d" {
		t.Errorf("undocumented(page with c.d undocumented) = %q, want [x.md c.d]", got)
	}
}

func compileConnectorSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(referenceDir, "connector-file.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("connector-file.schema.json", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("connector-file.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// yamlValue decodes YAML into the JSON data model the validator takes.
func yamlValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConnectorFileSchema validates the repository's connector files with
// the generated JSON Schema, and checks that it refuses what Tributary
// refuses: unknown classes, misspelt properties, a connector without name.
func TestConnectorFileSchema(t *testing.T) {
	s := compileConnectorSchema(t)
	files, err := filepath.Glob("../testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.yaml: %v", err)
	}
	more, _ := filepath.Glob("../testdata/*/*.yaml")
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("kind: KafkaConnector")) || !bytes.Contains(data, []byte("connector.class")) {
			continue // Strimzi resources and non-connector YAML have their own schemas
		}
		if err := s.Validate(yamlValue(t, data)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, tc := range []struct {
		name, doc string
		valid     bool
	}{
		{"one connector", "name: a\nconfig:\n  connector.class: postgres\n  database.hostname: h\n  database.port: 5432\n  transforms: u\n  transforms.u.type: io.debezium.transforms.ExtractNewRecordState\n", true},
		{"several with worker", "worker:\n  bootstrap.servers: k:9092\nconnectors:\n  - name: a\n    config:\n      connector.class: io.debezium.connector.mysql.MySqlConnector\n      database.server.id: 1\n", true},
		{"misspelt property", "name: a\nconfig:\n  connector.class: postgres\n  database.hostnme: h\n", false},
		{"property of another connector", "name: a\nconfig:\n  connector.class: postgres\n  database.server.id: 1\n", false},
		{"unknown class", "name: a\nconfig:\n  connector.class: com.example.Nope\n", false},
		{"config without name", "config:\n  connector.class: postgres\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(yamlValue(t, []byte(tc.doc)))
			if tc.valid && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.valid && err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestConverterReference: the converter reference covers every converter
// class the binary builds, and each documented property is one the
// converter accepts (a documented property it refused as unknown would
// mean the reference drifted from the parser); an undocumented property
// is refused by the converters that refuse unknown properties.
func TestConverterReference(t *testing.T) {
	g := builtin()
	docs := g.converterDocs()
	documented := map[string]converterDoc{}
	for _, d := range docs {
		documented[d.class] = d
	}
	f := g.converters()
	for class := range f.Extra {
		if strings.Contains(class, ".") {
			if _, ok := documented[class]; !ok {
				t.Errorf("converter class %s has no reference section", class)
			}
		}
	}
	sample := func(k *config.Key) string {
		switch {
		case k.Name == "schema.registry.url":
			return "http://127.0.0.1:1"
		case k.HasDefault:
			return k.Default
		case len(k.OneOf) > 0:
			return k.OneOf[len(k.OneOf)-1]
		case k.Type == config.TypeBoolean:
			return "false"
		case k.Type == config.TypeInt:
			return "1"
		}
		return "x"
	}
	refusesUnknown := map[string]bool{converter.JSONClass: true, converter.AvroClass: true, "io.confluent.connect.json.JsonSchemaConverter": true, "io.confluent.connect.protobuf.ProtobufConverter": true}
	for _, d := range docs {
		if d.def == nil {
			continue
		}
		base := map[string]string{}
		if _, ok := d.def.Lookup("schema.registry.url"); ok {
			base["schema.registry.url"] = "http://127.0.0.1:1"
		}
		for _, k := range d.def.Keys() {
			props := map[string]string{k.Name: sample(k)}
			for bk, bv := range base {
				if _, set := props[bk]; !set {
					props[bk] = bv
				}
			}
			if _, err := f.New(d.class, props, false); err != nil && strings.Contains(err.Error(), "unknown") && strings.Contains(err.Error(), k.Name) {
				t.Errorf("%s: documented property %s is unknown to the converter: %v", d.class, k.Name, err)
			}
		}
		if refusesUnknown[d.class] {
			props := map[string]string{"qqqq.not.a.property": "1"}
			for bk, bv := range base {
				props[bk] = bv
			}
			if _, err := f.New(d.class, props, false); err == nil || !strings.Contains(err.Error(), "qqqq.not.a.property") {
				t.Errorf("%s: an undocumented property was accepted (err %v)", d.class, err)
			}
		}
	}
}
