package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestMariaDBIssue14Scenario runs mariadb-stream-issue14 small: the
// scenario fails unless the binlog holds one row image per statement
// (the load generator once addressed ids beyond the table's rows, and
// half the UPDATEs logged nothing), and the connector must deliver them
// all.
func TestMariaDBIssue14Scenario(t *testing.T) {
	const rows = 1000
	cfg := testConfig(t, rows, MyStreamIssue14)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	var trib *Result
	for i, r := range rep.Results {
		if r.Scenario == MyStreamIssue14 && !r.Limit {
			trib = &rep.Results[i]
		}
	}
	if trib == nil {
		t.Fatalf("no Tributary result: %+v", rep.Results)
	}
	if trib.Events != rows || !strings.Contains(trib.Case, "500 INSERT + 500 UPDATE") {
		t.Errorf("case %q: %d events, want %d", trib.Case, trib.Events, rows)
	}
}
