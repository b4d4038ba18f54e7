package jdbc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/internal/transforms"
)

// TestEndToEnd runs the connector through the runtime into an embedded
// Kafka broker twice, from the same offset store: the second run must
// produce exactly the rows changed in between, and what Kafka holds must be
// JsonConverter envelopes with the row values.
func TestEndToEnd(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "e2e")
	pg.Exec(t, "e2e", `CREATE TABLE accounts (id serial PRIMARY KEY, owner text NOT NULL, balance numeric(10,2) NOT NULL,
  updated timestamptz NOT NULL DEFAULT clock_timestamp())`,
		`INSERT INTO accounts (owner, balance) SELECT 'owner-' || g, g FROM generate_series(1, 500) g`)
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	props := map[string]string{
		"connector.class":                "jdbc",
		"connection.url":                 fmt.Sprintf("jdbc:postgresql://%s:%d/e2e?user=postgres&sslmode=disable", pg.Host, pg.Port),
		"mode":                           "timestamp+incrementing",
		"timestamp.column.name":          "updated",
		"incrementing.column.name":       "id",
		"topic.prefix":                   "bank.",
		"poll.interval.ms":               "50",
		"batch.max.rows":                 "64",
		"value.converter.schemas.enable": "true",
	}
	sc, err := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	run := func(want int64) {
		t.Helper()
		producer, err := kafka.NewProducer(broker.Addrs(), sc)
		if err != nil {
			t.Fatal(err)
		}
		defer producer.Close()
		raw, err := kafka.NewRaw(broker.Addrs(), sc)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		c, err := runtime.ParseConnector(connect.Plugins{Plugin()}, config.Connector{Name: "bank", Config: props})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		src, err := runtime.NewSource(ctx, c, runtime.SourceDeps{Producer: producer, Raw: raw, Converters: &converter.Factory{},
			Transforms: transforms.Builtin(log), Offsets: store, Worker: map[string]string{"offset.flush.interval.ms": "50"}, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- src.Run(ctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for src.Stats.Written.Load() < want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // more polls; nothing else may arrive
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("runtime: %v", err)
		}
		if got := src.Stats.Written.Load(); got != want {
			t.Fatalf("run wrote %d records, want %d", got, want)
		}
	}
	run(500)
	pg.Exec(t, "e2e", `UPDATE accounts SET balance = balance + 1000, updated = clock_timestamp() WHERE id IN (7, 9)`,
		`INSERT INTO accounts (owner, balance) VALUES ('late', 1)`)
	run(3)

	raw, err := kafka.NewRaw(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	kvs, err := raw.ReadAll(context.Background(), "bank.accounts")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != 503 {
		t.Fatalf("%d records in Kafka, want 503", len(kvs))
	}
	type env struct {
		Payload struct {
			Op    string `json:"op"`
			After struct {
				ID      int    `json:"id"`
				Owner   string `json:"owner"`
				Balance string `json:"balance"`
			} `json:"after"`
			Source struct {
				Table string `json:"table"`
			} `json:"source"`
		} `json:"payload"`
	}
	var last3 []string
	for _, kv := range kvs[500:] {
		var e env
		if err := json.Unmarshal(kv.Value, &e); err != nil {
			t.Fatal(err)
		}
		if e.Payload.Source.Table != "accounts" {
			t.Fatalf("source.table %q", e.Payload.Source.Table)
		}
		last3 = append(last3, fmt.Sprintf("%s:%d:%s", e.Payload.Op, e.Payload.After.ID, e.Payload.After.Owner))
	}
	want := []string{"u:7:owner-7", "u:9:owner-9", "c:501:late"}
	if fmt.Sprint(last3) != fmt.Sprint(want) {
		t.Fatalf("second run produced %v, want %v", last3, want)
	}
	off, err := store.Get(context.Background(), "bank", map[string]any{"table": "public.accounts", "protocol": "1"})
	if err != nil || off["incrementing"] == nil || off["timestamp"] == nil {
		t.Fatalf("committed offset %v (%v)", off, err)
	}
}
