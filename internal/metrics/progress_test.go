package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/runtime"
)

func TestSnapshotProgress(t *testing.T) {
	r := NewRegistry()
	task := NewTask("inv", 0)
	defer r.AddSourceTask(task, &runtime.Stats{})()
	m := ForTask(WithTask(context.Background(), task))

	// an incremental snapshot outside an initial one sets Debezium's
	// snapshot metrics itself
	p := m.StartProgress("inventory.t", 1000, "incremental")
	p.start = time.Now().Add(-10 * time.Second)
	p.Rows(250)
	rep := task.Progress()
	if len(rep) != 1 || rep[0].Rows != 250 || rep[0].EstimatedRows != 1000 || rep[0].Done {
		t.Fatalf("progress %+v", rep)
	}
	if rate := rep[0].RowsPerSecond; rate < 24 || rate > 26 {
		t.Errorf("rate %v, want about 25 rows/s", rate)
	}
	if eta := rep[0].ETASeconds; eta < 29 || eta > 31 {
		t.Errorf("ETA %v, want about 30 s", eta)
	}
	out := scrape(t, r)
	for _, want := range []string{
		`debezium_metrics_snapshot_running{connector="inv",task="0"} 1` + "\n",
		`debezium_metrics_total_table_count{connector="inv",task="0"} 1` + "\n",
		`debezium_metrics_remaining_table_count{connector="inv",task="0"} 1` + "\n",
		`debezium_metrics_rows_scanned{connector="inv",table="inventory.t",task="0"} 250` + "\n",
		`tributary_snapshot_estimated_rows{connector="inv",kind="incremental",table="inventory.t",task="0"} 1000` + "\n",
		`tributary_snapshot_eta_seconds{connector="inv",kind="incremental",table="inventory.t",task="0"} 3`,
		`tributary_snapshot_rows_per_second{connector="inv",kind="incremental",table="inventory.t",task="0"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	p.Rows(1100) // more than estimated: no ETA
	if eta := task.Progress()[0].ETASeconds; eta != -1 {
		t.Errorf("ETA past the estimate = %v, want -1", eta)
	}
	p.Done()
	out = scrape(t, r)
	for _, want := range []string{
		`debezium_metrics_snapshot_running{connector="inv",task="0"} 0` + "\n",
		`debezium_metrics_snapshot_completed{connector="inv",task="0"} 1` + "\n",
		`debezium_metrics_remaining_table_count{connector="inv",task="0"} 0` + "\n",
		`tributary_snapshot_eta_seconds{connector="inv",kind="incremental",table="inventory.t",task="0"} 0` + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if attrs := p.LogAttrs(); len(attrs) != 12 || attrs[0] != "table" {
		t.Errorf("log attributes %v", attrs)
	}
	// outside a worker progress is still computed for the log
	var none *Task
	if q := none.StartProgress("x", 0, "initial"); q.Report().ETASeconds != -1 {
		t.Error("ETA without an estimate is not unknown")
	}
}
