package cli

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestWorkerPropertyCoverage checks the worker rows of
// testdata/coverage/connect-properties.tsv (Kafka Connect's WorkerConfig,
// StandaloneConfig, DistributedConfig and RestServerConfig definitions)
// against the worker definition `run`, `standalone` and `distributed`
// parse: each is implemented or refused with the reason.
func TestWorkerPropertyCoverage(t *testing.T) {
	f, err := os.Open("../testdata/coverage/connect-properties.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	def := workerDef()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 3 || cols[0] != "worker" {
			continue
		}
		n++
		if !def.Knows(cols[1]) {
			t.Errorf("worker: %s (defined in %s) is neither implemented nor refused with a reason", cols[1], cols[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Fatalf("only %d worker properties in the matrix", n)
	}
}

// Worker properties Tributary does not implement are refused at any value
// but Kafka's default, naming the reason; the default passes.
func TestWorkerRefusesUnimplementedProperties(t *testing.T) {
	for _, tc := range []struct{ name, def, other, reason string }{
		{"metric.reporters", "", "com.example.Reporter", "Prometheus"},
		{"connector.client.config.override.policy", "All", "None", "All policy"},
		{"inter.worker.key.ttl.ms", "3600000", "60000", "not signed"},
		{"internal.key.converter", "", "org.apache.kafka.connect.json.JsonConverter", "KIP-738"},
		{"reconnect.backoff.ms", "50", "500", "retry.backoff.ms"},
		{"access.control.allow.origin", "", "*", "CORS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := workerDef().Parse(map[string]string{tc.name: tc.def}); err != nil {
				t.Fatalf("the default %q refused: %v", tc.def, err)
			}
			_, err := workerDef().Parse(map[string]string{tc.name: tc.other})
			if err == nil || !strings.Contains(err.Error(), tc.name) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("%s=%s: want a refusal naming the property and %q, got %v", tc.name, tc.other, tc.reason, err)
			}
		})
	}
}
