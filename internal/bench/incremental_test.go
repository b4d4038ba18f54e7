package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestIncrementalScenario runs mariadb-incremental at smoke size: the
// incremental snapshot completes under a live update load, the stream's
// latency during it is measured, and the rate is reported with its ratio
// to the initial snapshot of the same table in the same run.
func TestIncrementalScenario(t *testing.T) {
	const rows = 5000
	cfg := testConfig(t, rows, MyIncremental)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	var sb strings.Builder
	rep.PrintTable(&sb, false)
	t.Log("\n" + sb.String())
	var inc, initial *Result
	for i, r := range rep.Results {
		switch {
		case r.Scenario == MyIncremental && !r.Limit:
			inc = &rep.Results[i]
		case r.Scenario == MyIncremental && strings.Contains(r.Name, "initial snapshot"):
			initial = &rep.Results[i]
		}
	}
	if inc == nil || initial == nil {
		t.Fatalf("results %+v", rep.Results)
	}
	if inc.Events < rows*9/10 || inc.Events > rows || inc.Seconds <= 0 || inc.Bytes < rows*100 {
		t.Errorf("incremental snapshot row %+v", *inc)
	}
	if inc.LatencyP50Ms == nil || *inc.LatencyP50Ms <= 0 || *inc.LatencyP99Ms < *inc.LatencyP50Ms {
		t.Errorf("no stream latency during the snapshot: %+v", *inc)
	}
	if initial.Ratio == nil || *initial.Ratio <= 0 || initial.Events != rows {
		t.Errorf("initial snapshot limit row %+v", *initial)
	}
}
