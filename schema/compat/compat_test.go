package compat

import (
	"reflect"
	"testing"

	"github.com/tributary-io/tributary/schema/avsc"
)

func mustParse(t *testing.T, s string) *avsc.Schema {
	t.Helper()
	p, err := avsc.Parse(s)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return p
}

func TestCheck(t *testing.T) {
	rec := func(fields string) string {
		return `{"type":"record","name":"R","namespace":"ns","fields":[` + fields + `]}`
	}
	tests := []struct {
		name           string
		reader, writer string
		want           []Incompatibility
	}{
		{"identical primitives", `"int"`, `"int"`, nil},
		{"int to long", `"long"`, `"int"`, nil},
		{"int to float", `"float"`, `"int"`, nil},
		{"int to double", `"double"`, `"int"`, nil},
		{"long to float", `"float"`, `"long"`, nil},
		{"long to double", `"double"`, `"long"`, nil},
		{"float to double", `"double"`, `"float"`, nil},
		{"string to bytes", `"bytes"`, `"string"`, nil},
		{"bytes to string", `"string"`, `"bytes"`, nil},
		{"long to int is narrowing", `"int"`, `"long"`,
			[]Incompatibility{{TypeMismatch, "/", "reader type: INT not compatible with writer type: LONG"}}},
		{"double to float is narrowing", `"float"`, `"double"`,
			[]Incompatibility{{TypeMismatch, "/", "reader type: FLOAT not compatible with writer type: DOUBLE"}}},
		{"reader field missing in writer without default",
			rec(`{"name":"a","type":"int"},{"name":"b","type":"string"}`), rec(`{"name":"a","type":"int"}`),
			[]Incompatibility{{ReaderFieldMissingDefaultValue, "/fields/1", "b"}}},
		{"reader field missing in writer with default",
			rec(`{"name":"a","type":"int"},{"name":"b","type":"string","default":"x"}`), rec(`{"name":"a","type":"int"}`), nil},
		{"null default counts as a default",
			rec(`{"name":"b","type":["null","string"],"default":null}`), rec(``), nil},
		{"writer field missing in reader is ignored",
			rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"int"},{"name":"b","type":"string"}`), nil},
		{"field type mismatch has a path",
			rec(`{"name":"a","type":"int"},{"name":"b","type":"int"}`), rec(`{"name":"a","type":"int"},{"name":"b","type":"string"}`),
			[]Incompatibility{{TypeMismatch, "/fields/1/type", "reader type: INT not compatible with writer type: STRING"}}},
		{"field matched through reader alias",
			rec(`{"name":"new","type":"int","aliases":["old"]}`), rec(`{"name":"old","type":"int"}`), nil},
		{"writer aliases are not used",
			rec(`{"name":"old","type":"int"}`), rec(`{"name":"new","type":"int","aliases":["old"]}`),
			[]Incompatibility{{ReaderFieldMissingDefaultValue, "/fields/0", "old"}}},
		{"record renamed",
			`{"type":"record","name":"A","fields":[]}`, `{"type":"record","name":"B","fields":[]}`,
			[]Incompatibility{{NameMismatch, "/name", "expected: B"}}},
		{"record renamed with reader alias",
			`{"type":"record","name":"A","aliases":["B"],"fields":[]}`, `{"type":"record","name":"B","fields":[]}`, nil},
		{"relative alias resolves in the reader's namespace",
			`{"type":"record","name":"A","namespace":"x","aliases":["B"],"fields":[]}`, `{"type":"record","name":"x.B","fields":[]}`, nil},
		{"enum symbol added to writer",
			`{"type":"enum","name":"E","symbols":["A","B"]}`, `{"type":"enum","name":"E","symbols":["A","B","D","C"]}`,
			[]Incompatibility{{MissingEnumSymbols, "/symbols", "[C, D]"}}},
		{"enum symbol removed from writer", `{"type":"enum","name":"E","symbols":["A","B"]}`, `{"type":"enum","name":"E","symbols":["A"]}`, nil},
		{"fixed size changed",
			`{"type":"fixed","name":"F","size":4}`, `{"type":"fixed","name":"F","size":8}`,
			[]Incompatibility{{FixedSizeMismatch, "/size", "expected: 8, found: 4"}}},
		{"fixed renamed and resized reports both",
			`{"type":"fixed","name":"F","size":4}`, `{"type":"fixed","name":"G","size":8}`,
			[]Incompatibility{{NameMismatch, "/name", "expected: G"}, {FixedSizeMismatch, "/size", "expected: 8, found: 4"}}},
		{"array items promote", `{"type":"array","items":"double"}`, `{"type":"array","items":"int"}`, nil},
		{"array items mismatch", `{"type":"array","items":"int"}`, `{"type":"array","items":"string"}`,
			[]Incompatibility{{TypeMismatch, "/items", "reader type: INT not compatible with writer type: STRING"}}},
		{"map values mismatch", `{"type":"map","values":"int"}`, `{"type":"map","values":"boolean"}`,
			[]Incompatibility{{TypeMismatch, "/values", "reader type: INT not compatible with writer type: BOOLEAN"}}},
		{"map vs array", `{"type":"map","values":"int"}`, `{"type":"array","items":"int"}`,
			[]Incompatibility{{TypeMismatch, "/", "reader type: MAP not compatible with writer type: ARRAY"}}},
		{"union widened in reader", `["null","int","string"]`, `["null","int"]`, nil},
		{"union narrowed in reader", `["null","int"]`, `["null","int","string"]`,
			[]Incompatibility{{MissingUnionBranch, "/2", "reader union lacking writer type: STRING"}}},
		{"union branch readable by promotion", `["null","long"]`, `["null","int"]`, nil},
		{"non-union writer, union reader", `["null","string"]`, `"string"`, nil},
		{"non-union writer missing from union reader", `["null","string"]`, `"int"`,
			[]Incompatibility{{MissingUnionBranch, "/", "reader union lacking writer type: INT"}}},
		{"union writer, non-union reader, every branch readable", `"long"`, `["int","long"]`, nil},
		{"union writer, non-union reader, a branch unreadable", `"long"`, `["int","string"]`,
			[]Incompatibility{{TypeMismatch, "/", "reader type: LONG not compatible with writer type: STRING"}}},
		{"union of records matched by name",
			`[{"type":"record","name":"A","fields":[{"name":"x","type":"long"}]},{"type":"record","name":"B","fields":[]}]`,
			`[{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}]`, nil},
		{"nested record field path",
			rec(`{"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"x","type":"int"}]}}`),
			rec(`{"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"x","type":"bytes"}]}}`),
			[]Incompatibility{{TypeMismatch, "/fields/0/type/fields/0/type", "reader type: INT not compatible with writer type: BYTES"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(mustParse(t, tt.reader), mustParse(t, tt.writer))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check(\n  reader %s,\n  writer %s)\n= %v\nwant %v", tt.reader, tt.writer, got, tt.want)
			}
		})
	}
}

// TestJava18Deviations pins the spec's answers where Avro Java 1.8 (the
// differential test's oracle) differs, so those cases are still covered.
func TestJava18Deviations(t *testing.T) {
	tests := []struct {
		name           string
		reader, writer string
		compatible     bool
	}{
		// Java 1.8 checks the reader's type before unpacking a writer union.
		{"non-union reader of union writer", `"double"`, `["int","float"]`, true},
		{"field unwrapped from optional",
			`{"type":"record","name":"R","fields":[{"name":"a","type":"string"}]}`,
			`{"type":"record","name":"R","fields":[{"name":"a","type":["string","bytes"]}]}`, true},
		// The spec matches named types on the unqualified name; 1.8 on the full name.
		{"record namespace changed", `{"type":"record","name":"a.R","fields":[]}`, `{"type":"record","name":"b.R","fields":[]}`, true},
		{"enum namespace changed", `{"type":"enum","name":"a.E","symbols":["X"]}`, `{"type":"enum","name":"b.E","symbols":["X"]}`, true},
		{"fixed namespace changed", `{"type":"fixed","name":"a.F","size":2}`, `{"type":"fixed","name":"b.F","size":2}`, true},
		// Enum defaults arrived in Avro 1.9.
		{"enum default absorbs unknown writer symbols",
			`{"type":"enum","name":"E","symbols":["A","UNKNOWN"],"default":"UNKNOWN"}`,
			`{"type":"enum","name":"E","symbols":["A","B"]}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Check(mustParse(t, tt.reader), mustParse(t, tt.writer))
			if (len(got) == 0) != tt.compatible {
				t.Errorf("compatible = %v (%v), want %v", len(got) == 0, got, tt.compatible)
			}
		})
	}
}

func TestRecursiveSchemas(t *testing.T) {
	list := func(valueType string, extra string) string {
		return `{"type":"record","name":"Node","fields":[{"name":"value","type":"` + valueType + `"},` +
			`{"name":"next","type":["null","Node"],"default":null}` + extra + `]}`
	}
	if got := Check(mustParse(t, list("long", "")), mustParse(t, list("int", ""))); len(got) != 0 {
		t.Errorf("promoted recursive list: %v", got)
	}
	got := Check(mustParse(t, list("int", "")), mustParse(t, list("long", "")))
	want := []Incompatibility{{TypeMismatch, "/fields/0/type", "reader type: INT not compatible with writer type: LONG"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("narrowed recursive list: %v, want %v", got, want)
	}
	// Mutual recursion through two records.
	a := `{"type":"record","name":"A","fields":[{"name":"b","type":["null",{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]},{"name":"x","type":"int"}]}]}]}`
	b := `{"type":"record","name":"A","fields":[{"name":"b","type":["null",{"type":"record","name":"B","fields":[{"name":"a","type":["null","A"]},{"name":"x","type":"string"}]}]}]}`
	if got := Check(mustParse(t, a), mustParse(t, b)); len(got) == 0 {
		t.Errorf("mutually recursive records with int vs string field reported compatible")
	}
}

func TestCheckLevel(t *testing.T) {
	v1 := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`
	// v2 adds a field without a default: old readers cope, new readers don't.
	v2 := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string"}]}`
	// v3 has a default for b and drops nothing.
	v3 := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":"string","default":""}]}`
	// v4 removes a, which v1 and v2 need, but gives b a default v3 reads.
	v4 := `{"type":"record","name":"R","fields":[{"name":"b","type":"string","default":""}]}`
	tests := []struct {
		level    Level
		prev     []string
		cand     string
		wantPrev []int // Previous index of each violation, in order
	}{
		{None, []string{v1}, `"int"`, nil},
		{Backward, []string{v1}, v2, []int{0}},
		{Forward, []string{v1}, v2, nil},
		{Full, []string{v1}, v2, []int{0}},
		{Backward, []string{v1, v2}, v3, nil},
		{Forward, []string{v1, v2, v3}, v4, []int{2}},
		{Backward, []string{v1, v2, v3}, v4, nil},
		// Only transitive levels look past the latest version.
		{ForwardTransitive, []string{v1, v2, v3}, v4, []int{2, 1, 0}},
		{BackwardTransitive, []string{v2, v1}, v3, nil},
		{FullTransitive, []string{v1, v3}, v4, []int{1, 0}},
		{Backward, nil, v1, nil},
	}
	for _, tt := range tests {
		var prev []*avsc.Schema
		for _, p := range tt.prev {
			prev = append(prev, mustParse(t, p))
		}
		got, err := CheckLevel(tt.level, mustParse(t, tt.cand), prev)
		if err != nil {
			t.Fatal(err)
		}
		var idx []int
		for _, v := range got {
			idx = append(idx, v.Previous)
		}
		if !reflect.DeepEqual(idx, tt.wantPrev) {
			t.Errorf("%s with %d previous: violations against %v, want %v (%v)", tt.level, len(tt.prev), idx, tt.wantPrev, got)
		}
	}
	if _, err := CheckLevel("SIDEWAYS", mustParse(t, v1), nil); err == nil {
		t.Error("unknown level accepted")
	}
}

func TestParseLevel(t *testing.T) {
	for _, l := range Levels {
		got, err := ParseLevel(string(l))
		if err != nil || got != l {
			t.Errorf("ParseLevel(%s) = %v, %v", l, got, err)
		}
	}
	if got, _ := ParseLevel("full_transitive"); got != FullTransitive {
		t.Errorf("lower case not accepted: %q", got)
	}
	if _, err := ParseLevel("BACKWARDS"); err == nil {
		t.Error("BACKWARDS accepted")
	}
}

func TestDescribe(t *testing.T) {
	v := Violation{Previous: 0, Direction: NewReadsOld,
		Incompatibility: Incompatibility{ReaderFieldMissingDefaultValue, "/fields/1", "b"}}
	want := "The field 'b' at path '/fields/1' in the new schema has no default value and is missing in the old schema"
	if got := v.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
	v.Direction, v.Incompatibility = OldReadsNew, Incompatibility{MissingEnumSymbols, "/symbols", "[C]"}
	want = "The old schema is missing enum symbols '[C]' at path '/symbols' in the new schema"
	if got := v.Describe(); got != want {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}
