package cli

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/schema/registry"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestEmbeddedRegistry: embedded.registry.port binds at once, holds
// requests until the worker reports its brokers, then serves from the
// brokers' _schemas topic.
func TestEmbeddedRegistry(t *testing.T) {
	ctx := context.Background()
	url, attach, stop, err := startEmbeddedRegistry(ctx, map[string]string{"embedded.registry.port": "0"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	c, err := registry.NewClient(registry.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		id  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		id, err := c.Register(ctx, "early-value", `"string"`)
		done <- result{id, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("registration answered before the store was open: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	attach(emb.Addrs())
	if r := <-done; r.err != nil || r.id != 1 {
		t.Fatalf("register after start: %+v", r)
	}
	// The schema is in the brokers' _schemas topic.
	sc, _ := kafka.ClientConfig{Brokers: emb.Addrs()}.SaramaConfig()
	raw, err := kafka.NewRaw(emb.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	recs, err := raw.ReadAll(ctx, "_schemas")
	if err != nil || len(recs) == 0 {
		t.Fatalf("_schemas has %d records (%v)", len(recs), err)
	}

	// Without the property nothing starts.
	u, attach2, stop2, err := startEmbeddedRegistry(ctx, map[string]string{}, quietLogger())
	if err != nil || u != "" {
		t.Fatalf("no property: %q %v", u, err)
	}
	attach2(emb.Addrs()) // a no-op, not a panic
	stop2()
	if _, _, _, err := startEmbeddedRegistry(ctx, map[string]string{"embedded.registry.port": "http"}, quietLogger()); err == nil {
		t.Error("bad port accepted")
	}
}
