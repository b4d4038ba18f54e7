package bench

import (
	"context"
	"strings"
	"testing"
)

// The exactly-once scenario measures each mode's backlog and live load;
// every row must be there with positive figures, and the live rows a
// latency measured to the commit (exactly-once) or the ack.
func TestPGStreamEOS(t *testing.T) {
	cfg := testConfig(t, 2000, PGStreamEOS)
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	rows := 0
	for _, r := range rep.Results {
		if r.Scenario != PGStreamEOS {
			continue
		}
		rows++
		if r.Seconds <= 0 || r.EventsPerSec <= 0 || r.Events <= 0 {
			t.Errorf("%s: non-positive figures: %+v", r.Case, r)
		}
		live := strings.Contains(r.Case, caseLive)
		if live && (r.LatencyP99Ms == nil || *r.LatencyP99Ms <= 0) {
			t.Errorf("%s: no p99 latency", r.Case)
		}
		if live && strings.HasPrefix(r.Case, "exactly-once") && !strings.Contains(r.Note, "commit") {
			t.Errorf("%s: latency not measured to the commit: %s", r.Case, r.Note)
		}
		p99 := 0.0
		if r.LatencyP99Ms != nil {
			p99 = *r.LatencyP99Ms
		}
		t.Logf("%-90s %8.0f ev/s  p99 %6.1f ms", r.Case, r.EventsPerSec, p99)
	}
	if rows != 8 {
		t.Fatalf("%d result rows, want 8 (4 modes x backlog and live)", rows)
	}
}
