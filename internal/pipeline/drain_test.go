package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/testbus"
	"github.com/tributary-io/tributary/internal/testdb"
)

// TestDrainTimeoutNamesTheSink: a pipeline stopped while its sink does
// not acknowledge (a webhook answering 503) gives up after
// task.shutdown.graceful.timeout.ms and says which sink it waited for.
func TestDrainTimeoutNamesTheSink(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	pg.Exec(t, "app", `CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)`, `INSERT INTO t VALUES (1, 'init')`)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	raw, _ := json.Marshal(map[string]any{
		"worker": map[string]any{"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets.json"), "task.shutdown.graceful.timeout.ms": "500"},
		"sink":   map[string]any{"connector.class": "webhook-sink", "http.api.url": srv.URL, "retry.backoff.ms": "50"},
		"name":   "pg",
		"config": map[string]any{"connector.class": "postgres", "database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port),
			"database.user": "postgres", "database.dbname": "app", "topic.prefix": "dbserver1", "plugin.name": "pgoutput"},
	})
	f, err := config.Parse(raw, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runner().Run(ctx, f) }()
	testbus.WaitFor(t, time.Minute, "the webhook to be called", func() bool { return calls.Load() > 0 })
	cancel()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the pipeline did not stop")
	}
	want := "timed out after 500ms waiting for the sink webhook-sink to acknowledge in-flight records"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
}
