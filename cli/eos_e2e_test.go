package cli

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/testdb"
)

// End to end in one `tributary run`: PostgreSQL → the embedded broker in
// Kafka transactions (offsets in a Kafka topic, transaction.boundary=
// connector) → the JDBC sink reading read_committed only, upserting into
// another database, which ends up equal to the source.
func TestRunExactlyOnceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "src")
	pg.CreateDatabase(t, "dst")
	pg.Exec(t, "src", `CREATE TABLE items (id bigint PRIMARY KEY, v bigint NOT NULL)`,
		`INSERT INTO items SELECT g, g FROM generate_series(1, 500) g`)
	file := &config.File{
		Worker: map[string]string{"offset.storage.topic": "connect-offsets", "exactly.once.source.support": "enabled",
			"offset.flush.interval.ms": "100"},
		Connectors: []config.Connector{
			{Name: "src", Config: map[string]string{"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
				"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
				"database.dbname": "src", "database.sslmode": "disable", "topic.prefix": "app", "plugin.name": "pgoutput",
				"table.include.list": "public.items", "exactly.once.support": "required", "transaction.boundary": "connector"}},
			{Name: "dst", Config: map[string]string{"connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
				"connection.url": fmt.Sprintf("jdbc:postgresql://%s:%d/dst?user=postgres&sslmode=disable", pg.Host, pg.Port),
				"topics":         "app.public.items", "insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
				"schema.evolution": "basic", "collection.name.format": "items",
				"consumer.override.isolation.level": "read_committed"}},
		},
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	env := builtin().runEnv(slog.New(slog.DiscardHandler))
	done := make(chan error, 1)
	go func() { done <- runConnectors(ctx, env, file) }()

	query := func(db string) (n, sum int64) {
		conn, err := pgx.Connect(ctx, pg.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(sum(v * id), 0) FROM items`).Scan(&n, &sum); err != nil {
			return -1, -1 // the sink has not created the table yet
		}
		return n, sum
	}
	converge := func(phase string) {
		t.Helper()
		wantN, wantSum := query("src")
		deadline := time.Now().Add(2 * time.Minute)
		for {
			n, sum := query("dst")
			if n == wantN && sum == wantSum {
				t.Logf("%s: target equals source, %d rows", phase, n)
				return
			}
			select {
			case err := <-done:
				t.Fatalf("run ended: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: target has %d rows (checksum %d), source %d (%d)", phase, n, sum, wantN, wantSum)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	converge("snapshot")
	// Streamed: multi-row transactions of updates, inserts and deletes.
	for i := 0; i < 50; i++ {
		pg.Exec(t, "src", fmt.Sprintf(`BEGIN; UPDATE items SET v = v + 1000 WHERE id %% 50 = %d; INSERT INTO items VALUES (%d, %d); DELETE FROM items WHERE id = %d; COMMIT`,
			i, 10_000+i, i, 2*i+1))
	}
	converge("stream")
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
