package mysql

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/signal"
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
	return runStreamingDDL(b, e, props, c, want, file, pos, "CREATE TABLE t (id BIGINT PRIMARY KEY, a INT NOT NULL, v VARCHAR(60) NOT NULL, d DATETIME(3), x DECIMAL(12,2))")
}

// runStreamingDDL is runStreaming with the table of ddl. The task has a
// signal channel, as every task the runtime starts does (the REST
// signals' inbox).
func runStreamingDDL(b *testing.B, e *env, props map[string]string, c *counter, want int64, file string, pos int64, ddl string) time.Duration {
	v, err := MariaDBPlugin().Config().Parse(props)
	if err != nil {
		b.Fatal(err)
	}
	tk, err := newTask(mariadbFlavor, v, connect.TaskContext{ConnectorName: "bench", Offsets: c, Producer: e.raw})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tk.c.model.applyDDL(ddl, "inventory"); err != nil {
		b.Fatal(err)
	}
	db, err := tk.c.cfg.openDB()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tk.db = db
	tk.server = &serverInfo{mariadb: true, gtidMode: true}
	tk.signals = make(chan signal.Record)
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

// BenchmarkStreamingIssue14 streams issue 14's MariaDB backlog (N/2
// single-row INSERT transactions then N/2 single-row UPDATEs of a
// 5-column table, 4 connections) into a counting writer, so that only
// the connector and go-mysql are measured: no converter, no producer.
// It reports the process's CPU per event (user+sys while streaming).
func BenchmarkStreamingIssue14(b *testing.B) {
	n := benchRows() / 2
	e := benchEnv(b)
	const ddl = "CREATE TABLE issue14 (id bigint AUTO_INCREMENT PRIMARY KEY, k int NOT NULL, v bigint NOT NULL, name varchar(64) NOT NULL, note varchar(160) NOT NULL) ENGINE=InnoDB"
	e.db.Exec(b, "", "CREATE DATABASE inventory")
	e.db.Exec(b, "inventory", ddl)
	db, err := (&settings{host: e.db.Host, port: e.db.Port, user: "root", connectTimeout: 10 * time.Second}).openDB()
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	file, pos, _, err := binlogStatus(context.Background(), db, true)
	if err != nil {
		b.Fatal(err)
	}
	run := func(q string, arg func(i int) int) {
		var wg sync.WaitGroup
		var next atomic.Int64
		errs := make(chan error, 4)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)); i <= n; i = int(next.Add(1)) {
					if _, err := db.Exec(q, arg(i)); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	run("INSERT INTO inventory.issue14 (k, v, name, note) VALUES (?, 0, CONCAT('name-', LAST_INSERT_ID()), REPEAT(MD5(RAND()), 4))", func(i int) int { return i })
	run("UPDATE inventory.issue14 SET v = v + 1, name = CONCAT('upd-', v) WHERE id = ?", func(i int) int { return (i*7919)%n + 1 })
	want := int64(2 * n)
	b.ResetTimer()
	var total time.Duration
	var cpu float64
	for i := 0; i < b.N; i++ {
		c := &counter{topic: "mariadb1.inventory.issue14"}
		props := e.props(map[string]string{"snapshot.mode": "never", "schema.history.internal.kafka.topic": fmt.Sprintf("h-i14-%d", i)})
		before := cpuSeconds()
		total += runStreamingDDL(b, e, props, c, want, file, pos, ddl)
		cpu += cpuSeconds() - before
	}
	b.ReportMetric(float64(want)*float64(b.N)/total.Seconds(), "events/s")
	b.ReportMetric(cpu*1e6/float64(want)/float64(b.N), "cpu-µs/event")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
