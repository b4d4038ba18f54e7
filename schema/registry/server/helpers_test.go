package server

import (
	"flag"
	"os"
	"testing"

	"github.com/tributary-io/tributary/schema/avsc"
)

var update = flag.Bool("update", false, "rewrite golden files")

func mustCanonical(t *testing.T, schema string) string {
	t.Helper()
	s, err := avsc.Parse(schema)
	if err != nil {
		t.Fatal(err)
	}
	return s.Canonical()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
