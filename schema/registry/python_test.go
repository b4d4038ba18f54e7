package registry_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"testing"
	"time"
)

const systemPython = "/usr/bin/python3"

// TestConfluentPythonClient has confluent-kafka-python's schema registry
// client (Debian's python3-confluent-kafka) talk to our server over loopback.
func TestConfluentPythonClient(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_PYTHON") == "1" {
		t.Skip("TRIBUTARY_SKIP_PYTHON=1")
	}
	// The system interpreter, not whatever python3 is first on PATH: only
	// it sees Debian's packages.
	if _, err := os.Stat(systemPython); err != nil {
		t.Fatalf("%s not found; install python3 and python3-confluent-kafka, or set TRIBUTARY_SKIP_PYTHON=1", systemPython)
	}
	probe := exec.Command(systemPython, "-c", "import confluent_kafka.schema_registry")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("confluent_kafka.schema_registry is not importable by %s (apt-get install -y python3-confluent-kafka), "+
			"or set TRIBUTARY_SKIP_PYTHON=1: %v\n%s", systemPython, err, out)
	}
	ts, _ := newRegistry(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, systemPython, "testdata/confluent_client.py", ts.URL)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("python client failed: %v\n%s", err, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python client output %q: %v", out, err)
	}
	want := map[string]any{
		"id1":                     1.0,
		"id2":                     2.0,
		"id1_other_subject":       1.0,
		"incompatible_error":      []any{409.0, 40901.0},
		"transitive_latest":       true,
		"transitive_v1":           false,
		"invalid_subject_error":   []any{422.0, 42208.0},
		"referrer_refs":           []any{[]any{"otherns.Subrecord", "py-ref", 1.0}},
		"referrer_lookup":         true,
		"delete_referenced_error": []any{422.0, 42206.0},
		"fetched_type":            "AVRO",
		"fetched_fields":          []any{"id"},
		"latest":                  []any{2.0, 2.0, "py-value"},
		"lookup":                  []any{1.0, 1.0},
		"versions":                []any{1.0, 2.0},
		"subjects":                []any{"py-other", "py-value"},
		"compatible_v3":           false,
		"set_level":               map[string]any{"compatibility": "FULL"},
		"level":                   "FULL",
		"missing_version_error":   []any{404.0, 40402.0},
		"deleted":                 []any{1.0},
		"subjects_after_delete":   []any{"py-value"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("python client %s = %#v, want %#v", k, got[k], w)
		}
	}
}
