package jdbc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testdb"
)

// counter is a RecordWriter that only counts.
type counter struct{ n int }

func (c *counter) Write(_ context.Context, recs []*connect.Record) error {
	c.n += len(recs)
	return nil
}

// BenchmarkIncrementalPoll reads JDBC_BENCH_ROWS rows (default 20000) of a
// PostgreSQL table through one timestamp+incrementing poll from scratch,
// and the same rows with psql's \copy (select ...) to /dev/null, reporting
// rows/s for both.
func BenchmarkIncrementalPoll(b *testing.B) {
	rows := 20000
	if v := os.Getenv("JDBC_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("JDBC_BENCH_ROWS=%q: not a positive number", v)
		}
		rows = n
	}
	pg := testdb.StartPostgres(b)
	pg.CreateDatabase(b, "bench")
	pg.Exec(b, "bench", `CREATE TABLE orders (id bigserial PRIMARY KEY, customer text NOT NULL, amount numeric(12,2),
  note varchar(200), created date, updated timestamptz NOT NULL)`,
		fmt.Sprintf(`INSERT INTO orders (customer, amount, note, created, updated)
SELECT 'customer-' || g, g * 1.25, repeat('x', 40), date '2024-01-01' + (g %% 365),
  timestamptz '2024-01-01' + g * interval '1 millisecond' FROM generate_series(1, %d) g`, rows),
		"CREATE INDEX orders_updated_id ON orders (updated, id)", "VACUUM ANALYZE orders")
	props := map[string]string{
		"connection.url":           fmt.Sprintf("jdbc:postgresql://%s:%d/bench?user=postgres&sslmode=disable", pg.Host, pg.Port),
		"mode":                     "timestamp+incrementing",
		"timestamp.column.name":    "updated",
		"incrementing.column.name": "id",
		"topic.prefix":             "bench-",
	}
	s, err := parseProps(props)
	if err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk := newTask(s, connect.TaskContext{ConnectorName: "bench", Offsets: newOffsets()})
		c := &counter{}
		start := time.Now()
		if err := tk.pollAll(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		tk.d.close()
		if c.n != rows {
			b.Fatalf("polled %d rows, want %d", c.n, rows)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")

	psql, err := exec.LookPath("psql")
	if err != nil {
		psql = testdb.PostgresBinDir + "/psql"
	}
	start := time.Now()
	cmd := exec.Command(psql, "-X", "-q", "-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-d", "bench",
		"-c", `\copy (SELECT * FROM orders ORDER BY updated, id) to /dev/null`)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("psql: %v: %s", err, out)
	}
	b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "psql_copy_rows/s")
}
