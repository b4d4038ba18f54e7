package jsonschema

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestJavaHashMapOrder checks javaHashMap against java.util.HashMap itself
// (the JDK on PATH runs testdata/HashOrder.java), on the field names of
// Debezium's envelopes and source blocks and on generated names that force
// resizes and bucket collisions.
func TestJavaHashMapOrder(t *testing.T) {
	if _, err := exec.LookPath("java"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("java not found (apt-get install default-jdk-headless): %v", err)
		}
		t.Skip("java not found")
	}
	lines := [][]string{
		{"before", "after", "source", "transaction", "op", "ts_ms", "ts_us", "ts_ns"},
		{"version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns", "schema", "table", "txId", "lsn", "xmin"},
		{"connect.index", "connect.type"},
		{"connect.type", "connect.index"},
		{"connect.index", "connect.type", "connect.version", "connect.parameters"},
		{"id", "first_name", "last_name", "email"},
		{"a", "b"},
	}
	var many []string
	for i := 0; i < 60; i++ {
		many = append(many, fmt.Sprintf("f%d", i*7))
		lines = append(lines, append([]string(nil), many...))
	}
	var in strings.Builder
	for _, l := range lines {
		in.WriteString(strings.Join(l, " ") + "\n")
	}
	cmd := exec.Command("java", "testdata/HashOrder.java")
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java: %v", err)
	}
	got := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(got) != len(lines) {
		t.Fatalf("java printed %d lines for %d", len(got), len(lines))
	}
	for i, l := range lines {
		want := strings.Join(hashMapOrder(l, false), " ") + "|" + strings.Join(hashMapOrder(l, true), " ") + "|" + strings.Join(jsonObjectOrder(l), " ")
		if got[i] != want {
			t.Errorf("names %v:\n java %s\n   go %s", l, got[i], want)
		}
	}
}
