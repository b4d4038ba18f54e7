package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/runtime"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("content type %q", ct)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestExposition(t *testing.T) {
	r := NewRegistry()
	now := time.Unix(1700000000, 0)
	r.now = func() time.Time { return now }
	stats := &runtime.Stats{}
	task := NewTask(`inv"entory`, 0)
	remove := r.AddSourceTask(task, stats)
	ctx := WithTask(context.Background(), task)
	m := ForTask(ctx)
	m.SnapshotStarted(3)
	m.SnapshotRows("public.customers", 1200)
	m.SnapshotTableCompleted("public.customers")
	m.StreamingLag(1500 * time.Millisecond)
	m.Connected(true)
	stats.Polled.Store(100)
	stats.Written.Store(90)
	stats.Commits.Store(4)
	stats.CommitNanos.Store(int64(3 * time.Millisecond))
	scrape(t, r)
	now = now.Add(10 * time.Second)
	stats.Polled.Store(300)
	stats.Written.Store(290)
	r.SetStatus(func() []ConnectorSummary {
		return []ConnectorSummary{{Name: "orders", Type: "source", State: "RUNNING", Tasks: map[string]int{"RUNNING": 1, "FAILED": 1}}}
	})
	out := scrape(t, r)
	for _, want := range []string{
		"# TYPE kafka_connect_source_task_metrics_source_record_poll_total counter\n",
		`kafka_connect_source_task_metrics_source_record_poll_total{connector="inv\"entory",task="0"} 300` + "\n",
		`kafka_connect_source_task_metrics_source_record_poll_rate{connector="inv\"entory",task="0"} 20` + "\n",
		`kafka_connect_source_task_metrics_source_record_write_rate{connector="inv\"entory",task="0"} 20` + "\n",
		`kafka_connect_source_task_metrics_source_record_active_count{connector="inv\"entory",task="0"} 10` + "\n",
		`kafka_connect_connector_task_metrics_offset_commit_last_time_ms{connector="inv\"entory",task="0"} 3` + "\n",
		`debezium_metrics_milliseconds_behind_source{connector="inv\"entory",task="0"} 1500` + "\n",
		`debezium_metrics_connected{connector="inv\"entory",task="0"} 1` + "\n",
		`debezium_metrics_snapshot_running{connector="inv\"entory",task="0"} 1` + "\n",
		`debezium_metrics_remaining_table_count{connector="inv\"entory",task="0"} 2` + "\n",
		`debezium_metrics_rows_scanned{connector="inv\"entory",table="public.customers",task="0"} 1200` + "\n",
		`kafka_connect_connector_status{connector="orders",status="running",type="source"} 1` + "\n",
		`kafka_connect_connect_worker_metrics_connector_failed_task_count{connector="orders"} 1` + "\n",
		`kafka_connect_connect_worker_metrics_connector_total_task_count{connector="orders"} 2` + "\n",
		"go_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	remove()
	if strings.Contains(scrape(t, r), "source_record_poll_total{") {
		t.Fatal("removed task still reported")
	}
	// A task run outside a worker has no metrics; reporting is a no-op.
	ForTask(context.Background()).SnapshotStarted(1)
}
