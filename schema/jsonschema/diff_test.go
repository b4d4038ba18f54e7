package jsonschema

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestConfluentDiffExamples runs the cases of Confluent's
// json-schema-provider SchemaDiffTest.checkJsonSchemaCompatibility, read
// from its test resource diff-schema-examples.json (kept verbatim in
// testdata/confluent-diff-schema-examples.json, confluentinc/schema-registry
// commit 794611bd). Each case names the changes Confluent reports, with their
// paths, and the verdict under the strict policy. The changes are compared
// as sorted lists: Confluent's order follows Java HashSet iteration over
// property names, which carries no meaning.
func TestConfluentDiffExamples(t *testing.T) {
	raw, err := os.ReadFile("testdata/confluent-diff-schema-examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Description string          `json:"description"`
		Original    json.RawMessage `json:"original_schema"`
		Update      json.RawMessage `json:"update_schema"`
		Changes     []string        `json:"changes"`
		Compatible  bool            `json:"compatible"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	for i, tc := range cases {
		o, err := Parse(string(tc.Original), nil)
		if err != nil {
			t.Errorf("case %d %q: original: %v", i, tc.Description, err)
			continue
		}
		u, err := Parse(string(tc.Update), nil)
		if err != nil {
			t.Errorf("case %d %q: update: %v", i, tc.Description, err)
			continue
		}
		var got []string
		for _, d := range Diff(o.Root, u.Root) {
			got = append(got, d.String())
		}
		want := slices.Clone(tc.Changes)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("case %d %q:\n got %q\nwant %q", i, tc.Description, got, want)
		}
		if compat := len(Incompatibilities(o.Root, u.Root)) == 0; compat != tc.Compatible {
			t.Errorf("case %d %q: compatible = %v, want %v", i, tc.Description, compat, tc.Compatible)
		}
	}
}
