package jdbc

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testdb"
)

// BenchmarkPostgresApply compares, in one run, how fast N rows reach
// PostgreSQL through the sink (idempotent upserts of change records, half
// of them updates of existing rows) against a plain COPY of the same rows
// into an empty table and against row-at-a-time INSERT ... ON CONFLICT
// statements. Size: TRIBUTARY_BENCH_ROWS (default 20000).
//
//	go test -run '^$' -bench PostgresApply ./sinks/jdbc/
func BenchmarkPostgresApply(b *testing.B) {
	n := 20000
	if v := os.Getenv("TRIBUTARY_BENCH_ROWS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("TRIBUTARY_BENCH_ROWS=%q: not a positive integer", v)
		}
	}
	pg := testdb.StartPostgres(b)
	ctx := context.Background()
	url := fmt.Sprintf("jdbc:postgresql://%s:%d/postgres?user=postgres&sslmode=disable", pg.Host, pg.Port)
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)

	key := connect.StructBuilder().Name("bench.Key").Field("id", connect.Prim(connect.Int64)).MustBuild()
	val := connect.StructBuilder().Name("bench.Value").
		Field("id", connect.Prim(connect.Int64)).
		Field("name", connect.OptionalPrim(connect.String)).
		Field("amount", connect.DecimalSchema(2).Param("connect.decimal.precision", "14").Optional().MustBuild()).
		Field("created", connect.NewBuilder(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1).Optional().MustBuild()).
		Field("flag", connect.OptionalPrim(connect.Boolean)).
		MustBuild()
	recs := make([]*connect.Record, n)
	for i := range recs {
		id := int64(i) // updates come from the pre-seeded even ids
		v := connect.NewStruct(val).Set("id", id).Set("name", fmt.Sprintf("customer %d", i)).
			Set("amount", connect.Decimal{Unscaled: big.NewInt(int64(i) * 137), Scale: 2}).
			Set("created", int64(1700000000000000)+int64(i)*1000).Set("flag", i%3 == 0)
		recs[i] = &connect.Record{Topic: "bench", KafkaOffset: int64(i), KeySchema: key, Key: connect.NewStruct(key).Set("id", id), ValueSchema: val, Value: v}
	}
	const ddl = `CREATE TABLE %s (id bigint PRIMARY KEY, name text, amount numeric(14,2), created timestamp(6), flag boolean)`
	reset := func(b *testing.B, table string, seedHalf bool) {
		b.Helper()
		if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, fmt.Sprintf(ddl, table)); err != nil {
			b.Fatal(err)
		}
		if seedHalf {
			// half of the records will be updates of existing rows
			if _, err := conn.Exec(ctx, "INSERT INTO "+table+" SELECT g, 'old', 0, now(), false FROM generate_series(0, $1::bigint - 1, 2) g", n); err != nil {
				b.Fatal(err)
			}
		}
	}
	rowsPerSec := func(b *testing.B, elapsed time.Duration) {
		b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "rows/s")
	}
	const batch = 2000

	b.Run("sink-upsert", func(b *testing.B) {
		props := sinkProps(b, map[string]string{
			"connection.url": url, "insert.mode": "upsert", "primary.key.mode": "record_key",
			"collection.name.format": "bench_sink", "batch.size": strconv.Itoa(batch), "topics": "bench",
		})
		task, err := NewTask(ctx, DebeziumClass, props, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer task.Close()
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			reset(b, "bench_sink", true)
			b.StartTimer()
			start := time.Now()
			for off := 0; off < n; off += batch {
				if err := task.Put(ctx, recs[off:min(n, off+batch)]); err != nil {
					b.Fatal(err)
				}
			}
			elapsed += time.Since(start)
		}
		rowsPerSec(b, elapsed)
		var count int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM bench_sink WHERE name <> 'old'").Scan(&count); err != nil || count != n {
			b.Fatalf("bench_sink has %d new rows (err %v), want %d", count, err, n)
		}
	})

	b.Run("plain-copy", func(b *testing.B) {
		rows := make([][]any, n)
		for i, r := range recs {
			v := r.Value.(*connect.StructValue)
			rows[i] = []any{v.Get("id"), v.Get("name"), v.Get("amount").(connect.Decimal).String(),
				time.UnixMicro(v.Get("created").(int64)).UTC(), v.Get("flag")}
		}
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			reset(b, "bench_copy", false)
			b.StartTimer()
			start := time.Now()
			if _, err := conn.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, []string{"id", "name", "amount", "created", "flag"}, pgx.CopyFromRows(rows)); err != nil {
				b.Fatal(err)
			}
			elapsed += time.Since(start)
		}
		rowsPerSec(b, elapsed)
	})

	b.Run("row-at-a-time-upsert", func(b *testing.B) {
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			reset(b, "bench_rows", true)
			b.StartTimer()
			start := time.Now()
			for off := 0; off < n; off += batch {
				tx, err := conn.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range recs[off:min(n, off+batch)] {
					v := r.Value.(*connect.StructValue)
					if _, err := tx.Exec(ctx, `INSERT INTO bench_rows (id, name, amount, created, flag) VALUES ($1, $2, $3::numeric, $4, $5)
						ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, amount = EXCLUDED.amount, created = EXCLUDED.created, flag = EXCLUDED.flag`,
						v.Get("id"), v.Get("name"), v.Get("amount").(connect.Decimal).String(), time.UnixMicro(v.Get("created").(int64)).UTC(), v.Get("flag")); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(ctx); err != nil {
					b.Fatal(err)
				}
			}
			elapsed += time.Since(start)
		}
		rowsPerSec(b, elapsed)
	})
}
