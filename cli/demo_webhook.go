package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/testdb"
)

// runWebhookDemo is `tributary demo --webhook`: a Kafka-less pipeline from
// a throwaway PostgreSQL to a webhook receiver in the same process, which
// prints every event it is POSTed.
func (g *globalFlags) runWebhookDemo(ctx context.Context, log *slog.Logger, out io.Writer, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fmt.Fprintln(out, "==> starting a throwaway PostgreSQL 15")
	pg, err := testdb.NewPostgres(ctx, "", log)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer pg.Close()
	if err := pg.CreateDatabaseContext(ctx, "inventory"); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := pg.ExecContext(ctx, "inventory", demoPostgresSQL); err != nil {
		return fmt.Errorf("demo: loading PostgreSQL inventory: %w", err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var e struct {
			Op     string          `json:"op"`
			After  json.RawMessage `json:"after"`
			Source struct {
				Table string `json:"table"`
			} `json:"source"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "not a change event", http.StatusBadRequest)
			return
		}
		mu.Lock()
		seen[e.Op]++
		fmt.Fprintf(out, "webhook <- %s op=%s after=%s\n", e.Source.Table, e.Op, e.After)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	dir, err := os.MkdirTemp("", "tributary-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	file := &config.File{
		Worker: map[string]string{"offset.storage.file.filename": filepath.Join(dir, "offsets.json"), "offset.flush.interval.ms": "200"},
		Sink:   map[string]string{"connector.class": "webhook-sink", "http.api.url": srv.URL + "/events", "retry.backoff.ms": "200"},
		Connectors: []config.Connector{{Name: "inventory-connector", Config: map[string]string{
			"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
			"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port),
			"database.user": "postgres", "database.dbname": "inventory",
			"topic.prefix": "dbserver1", "table.include.list": "inventory.customers", "plugin.name": "pgoutput",
			"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		}}},
	}
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
	}
	say("==> pipeline PostgreSQL -> webhook %s/events, no Kafka\n", srv.URL)
	runErr := make(chan error, 1)
	go func() { runErr <- g.pipelineRunner(log).Run(ctx, file) }()
	deadline := time.After(timeout)
	wait := func(what string, cond func() bool) error {
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return nil
			}
			select {
			case err := <-runErr:
				if err == nil {
					err = errors.New("pipeline stopped")
				}
				return fmt.Errorf("demo: while waiting for %s: %w", what, err)
			case <-deadline:
				return fmt.Errorf("demo: timed out waiting for %s", what)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := wait("the snapshot", func() bool { return seen["r"] >= 4 }); err != nil {
		return err
	}
	say("==> changing a customer\n")
	if err := pg.ExecContext(ctx, "inventory", "UPDATE inventory.customers SET email = 'sally@acme.com' WHERE id = 1001"); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := wait("the update", func() bool { return seen["u"] >= 1 }); err != nil {
		return err
	}
	cancel()
	<-runErr
	say("==> done: %d snapshot and %d update events delivered by webhook\n", seen["r"], seen["u"])
	return nil
}
