package rest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCurlDocumentationExamples drives the API with an independent client:
// curl, running Kafka Connect's documentation examples from a shell script
// (testdata/rest/curl/kafka-connect-docs.sh).
func TestCurlDocumentationExamples(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	w := startWorker(t, workerOpts{})
	script, err := filepath.Abs(filepath.Join("..", "..", "testdata", "rest", "curl", "kafka-connect-docs.sh"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(cmd.Environ(), "CONNECT_URL="+w.url)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("curl examples failed: %v", err)
	}
}
