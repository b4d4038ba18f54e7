package mysql

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Benchmarks (not run in CI): go test -run '^$' -bench . ./connectors/mysql
// TRIBUTARY_BENCH_ROWS sets the table size (default 20000).

func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("TRIBUTARY_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// counter is a RecordWriter that counts data records.
type counter struct {
	n     atomic.Int64
	topic string
}

func (c *counter) Write(ctx context.Context, recs []*connect.Record) error {
	for _, r := range recs {
		if r.Topic == c.topic {
			c.n.Add(1)
		}
	}
	return nil
}

func (c *counter) Offset(context.Context, map[string]any) (map[string]any, error) { return nil, nil }

func benchTable(b *testing.B, e *env, rows int) {
	e.db.Exec(b, "", "CREATE DATABASE inventory")
	e.db.Exec(b, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT NOT NULL, v VARCHAR(60) NOT NULL, d DATETIME(3), x DECIMAL(12,2))",
		"SET SESSION max_recursive_iterations = 100000000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < %d) SELECT n, n, REPEAT('x', 50), '2024-01-02 03:04:05.678', n / 100 FROM g", rows))
}

func benchEnv(b *testing.B) *env { return newEnvTB(b) }

func runCounting(b *testing.B, e *env, props map[string]string, c *counter, want int64) time.Duration {
	v, err := MariaDBPlugin().Config().Parse(props)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	task, err := MariaDBPlugin().NewSourceTask(ctx, v, connect.TaskContext{ConnectorName: "bench", Offsets: c, Producer: e.raw})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- task.Run(ctx, c) }()
	for c.n.Load() < want {
		select {
		case err := <-done:
			b.Fatalf("task ended: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	el := time.Since(start)
	cancel()
	<-done
	return el
}

// BenchmarkSnapshot measures snapshot throughput.
func BenchmarkSnapshot(b *testing.B) {
	rows := benchRows()
	e := benchEnv(b)
	benchTable(b, e, rows)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		c := &counter{topic: "mariadb1.inventory.t"}
		total += runCounting(b, e, e.props(map[string]string{"schema.history.internal.kafka.topic": fmt.Sprintf("h-snap-%d", i)}), c, int64(rows))
	}
	b.ReportMetric(float64(rows)*float64(b.N)/total.Seconds(), "rows/s")
}

// BenchmarkStreamingUpdate measures streaming throughput for one large
// UPDATE and compares it with mysqlbinlog decoding the same binlog.
func BenchmarkStreamingUpdate(b *testing.B) {
	rows := benchRows()
	e := benchEnv(b)
	benchTable(b, e, rows)
	var startFile string
	var startPos int64
	db, err := (&settings{host: e.db.Host, port: e.db.Port, user: "root", connectTimeout: 10 * time.Second}).openDB()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	b.ResetTimer()
	var total, tool time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		file, pos, _, err := binlogStatus(context.Background(), db, true)
		if err != nil {
			b.Fatal(err)
		}
		startFile, startPos = file, pos
		e.db.Exec(b, "inventory", "UPDATE t SET a = a + 1")
		b.StartTimer()
		c := &counter{topic: "mariadb1.inventory.t"}
		// start streaming right before the UPDATE: snapshot.mode=never with
		// a stored offset would need history; no_data captures the
		// structure, then the offset is rewound to the UPDATE
		props := e.props(map[string]string{"snapshot.mode": "never", "schema.history.internal.kafka.topic": fmt.Sprintf("h-stream-%d", i)})
		total += runStreaming(b, e, props, c, int64(rows), startFile, startPos)
		b.StopTimer()
		cmd := exec.Command("mysqlbinlog", "--read-from-remote-server", "--host="+e.db.Host, "--port="+strconv.Itoa(e.db.Port), "--user=root",
			"--base64-output=decode-rows", "-vv", "--start-position="+strconv.FormatInt(startPos, 10), startFile)
		cmd.Stdout = nil
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("mysqlbinlog: %v", err)
		}
		tool += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/total.Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/tool.Seconds(), "mysqlbinlog-rows/s")
}

// runStreaming runs a task whose model comes from DDL applied directly,
// streaming from file/pos.
func runStreaming(b *testing.B, e *env, props map[string]string, c *counter, want int64, file string, pos int64) time.Duration {
	v, err := MariaDBPlugin().Config().Parse(props)
	if err != nil {
		b.Fatal(err)
	}
	tk, err := newTask(mariadbFlavor, v, connect.TaskContext{ConnectorName: "bench", Offsets: c, Producer: e.raw})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tk.c.model.applyDDL("CREATE TABLE t (id BIGINT PRIMARY KEY, a INT NOT NULL, v VARCHAR(60) NOT NULL, d DATETIME(3), x DECIMAL(12,2))", "inventory"); err != nil {
		b.Fatal(err)
	}
	db, err := tk.c.cfg.openDB()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tk.db = db
	tk.server = &serverInfo{mariadb: true, gtidMode: true}
	o := newOffsetState()
	o.setBinlogStartPoint(file, pos)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	em := &emitter{w: c, max: 2048}
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- tk.stream(ctx, em, o) }()
	for c.n.Load() < want {
		select {
		case err := <-done:
			b.Fatalf("stream ended: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	el := time.Since(start)
	cancel()
	<-done
	return el
}
