package avsc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCanonicalGolden parses every testdata/*.avsc and compares the canonical
// form with the .canonical golden file beside it; the canonical form must
// also parse back to itself.
func TestCanonicalGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.avsc")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.avsc: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(string(src))
			if err != nil {
				t.Fatal(err)
			}
			got := s.Canonical() + "\n"
			golden := strings.TrimSuffix(f, ".avsc") + ".canonical"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("canonical form\n got %s\nwant %s", got, want)
			}
			again, err := Parse(s.Canonical())
			if err != nil {
				t.Fatalf("canonical form does not parse: %v", err)
			}
			if again.Canonical() != s.Canonical() {
				t.Errorf("canonical form is not a fixed point:\n%s\n%s", s.Canonical(), again.Canonical())
			}
		})
	}
}

func TestSameSchemaSameCanonical(t *testing.T) {
	a := `{"type":"record","name":"R","namespace":"n","fields":[{"name":"a","type":"int"},{"name":"e","type":{"type":"enum","name":"n.E","symbols":["X"]}}]}`
	b := `{
	  "fields": [ {"type": {"type":"int"}, "name": "a"},
	              {"name":"e","type":{"symbols":["X"],"name":"E","type":"enum"}} ],
	  "name": "n.R", "type": "record"
	}`
	pa, err := Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if pa.Canonical() != pb.Canonical() {
		t.Errorf("equivalent schemas print differently:\n%s\n%s", pa.Canonical(), pb.Canonical())
	}
	c, _ := Parse(strings.Replace(a, `"type":"int"`, `"type":"int","default":1`, 1))
	if c.Canonical() == pa.Canonical() {
		t.Error("a default value must change the canonical form: it changes resolution")
	}
}

func TestNames(t *testing.T) {
	s, err := Parse(`{"type":"record","name":"Outer","namespace":"a.b","aliases":["Old","x.Older"],"fields":[
		{"name":"in","type":{"type":"record","name":"Inner","fields":[]}},
		{"name":"other","type":{"type":"enum","name":"c.E","symbols":["A"]}},
		{"name":"nons","type":{"type":"fixed","name":"F","namespace":"","size":1}},
		{"name":"ref","type":"Inner"},
		{"name":"ref2","type":"c.E"},
		{"name":"self","type":["null","Outer"]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		s.Name:                       "a.b.Outer",
		s.Fields[0].Type.Name:        "a.b.Inner",
		s.Fields[1].Type.Name:        "c.E",
		s.Fields[2].Type.Name:        "F",
		s.Aliases[0]:                 "a.b.Old",
		s.Aliases[1]:                 "x.Older",
		s.Fields[0].Type.ShortName(): "Inner",
		s.Fields[1].Type.Namespace(): "c",
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if s.Fields[3].Type != s.Fields[0].Type || s.Fields[4].Type != s.Fields[1].Type {
		t.Error("references must resolve to the defining node")
	}
	if s.Fields[5].Type.Branches[1] != s {
		t.Error("self reference must point at the record itself")
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"not json":               `{"type":`,
		"trailing data":          `"int" "long"`,
		"unknown type":           `"integer"`,
		"unknown reference":      `{"type":"record","name":"R","fields":[{"name":"a","type":"Missing"}]}`,
		"record without name":    `{"type":"record","fields":[]}`,
		"bad name":               `{"type":"record","name":"1R","fields":[]}`,
		"duplicate field":        `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"long"}]}`,
		"duplicate definition":   `{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}`,
		"nested union":           `["null",["int"]]`,
		"duplicate branch":       `["int","int"]`,
		"duplicate named branch": `[{"type":"enum","name":"E","symbols":["A"]},"E"]`,
		"enum duplicate symbol":  `{"type":"enum","name":"E","symbols":["A","A"]}`,
		"enum bad default":       `{"type":"enum","name":"E","symbols":["A"],"default":"B"}`,
		"fixed without size":     `{"type":"fixed","name":"F"}`,
		"array without items":    `{"type":"array"}`,
		"map without values":     `{"type":"map"}`,
		"bad order":              `{"type":"record","name":"R","fields":[{"name":"a","type":"int","order":"up"}]}`,
		"number":                 `42`,
		"bad default (goavro)":   `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}`,
	}
	for name, src := range tests {
		if _, err := Parse(src); err == nil {
			t.Errorf("%s: Parse(%s) succeeded", name, src)
		}
	}
}
