package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

// idle runs `tributary run` as its own process with one connector whose
// tables do not change and measures that process: its resident set after
// the connector has settled and its CPU time over an idle window.
func (e *env) idle(ctx context.Context) error {
	if e.cfg.TributaryBinary == "" {
		e.report.Skipped = append(e.report.Skipped, "idle: no tributary binary to run (Config.TributaryBinary)")
		e.progress("   skipped: no tributary binary")
		return nil
	}
	bin, err := e.processBinary()
	if err != nil {
		return err
	}
	if err := e.ensurePG(ctx); err != nil {
		return err
	}
	if err := e.pg.ExecContext(ctx, pgDB, "DROP TABLE IF EXISTS idle", "CREATE TABLE idle (id int PRIMARY KEY, v text)",
		"INSERT INTO idle SELECT g, 'row ' || g FROM generate_series(1, 10) g"); err != nil {
		return err
	}
	pgConn := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": e.pg.Host, "database.port": strconv.Itoa(e.pg.Port),
		"database.user": "postgres", "database.password": "", "database.dbname": pgDB, "database.sslmode": "disable",
		"topic.prefix": "idlepg", "table.include.list": "public.idle", "slot.name": "idle_slot", "slot.drop.on.stop": "true",
		"publication.name": "idle_pub", "publication.autocreate.mode": "filtered",
	}
	err = e.idleRun(ctx, bin, "PostgreSQL connector, no changes", "idle-pg", pgConn, "idlepg.public.idle")
	e.pgDropSlots(ctx, "idle_slot")
	if err != nil {
		return err
	}
	if err := e.ensureMy(ctx); err != nil {
		return err
	}
	if err := e.my.ExecContext(ctx, "bench", "DROP TABLE IF EXISTS idle", "CREATE TABLE idle (id int PRIMARY KEY, v text)",
		"INSERT INTO idle SELECT seq, CONCAT('row ', seq) FROM seq_1_to_10"); err != nil {
		return err
	}
	myConn := e.mySourceProps("idlemy", 5410)
	myConn["table.include.list"] = "bench.idle"
	return e.idleRun(ctx, bin, "MariaDB connector, no changes", "idle-mariadb", myConn, "idlemy.bench.idle")
}

// processBinary copies cfg.TributaryBinary once for every scenario that
// runs `tributary run` as its own process (see copyExecutable).
func (e *env) processBinary() (string, error) {
	if e.processBin == "" {
		bin, err := copyExecutable(e.cfg.TributaryBinary, filepath.Join(e.dir, "tributary-run"))
		if err != nil {
			return "", err
		}
		e.processBin = bin
	}
	return e.processBin, nil
}

// copyExecutable copies the binary the idle process runs with plain
// writes. RssFile counts the executable's pages the kernel maps around
// each page touched, and how many depends on how the file's page cache
// was filled: on Linux 6.18 the output of go build (written by the linker
// through mmap) sits in large folios that are mapped whole, 1-2 MB per
// page touched, and the idle RSS read 42-47 MB; the same binary copied
// (64 KB around each page touched) read 32-36 MB. A copy makes runs
// comparable whatever built the binary, as an installed binary is
// written by a package manager or an image extraction.
func copyExecutable(src, dst string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return dst, out.Close()
}

const (
	idleSettle = 3 * time.Second
	idleWindow = 10 * time.Second
)

func (e *env) idleRun(ctx context.Context, bin, caseName, name string, conn map[string]string, topic string) error {
	p, err := e.startWorkerProcess(bin, name, conn)
	if err != nil {
		return err
	}
	// Settled: the 10-row snapshot is in Kafka, the connector streams.
	if err := e.waitTopic(ctx, topic, 10, time.Minute, p.exited); err != nil {
		return p.fail(err)
	}
	select {
	case <-time.After(idleSettle):
	case err := <-p.exited:
		return p.fail(fmt.Errorf("%s exited: %v", name, err))
	}
	pid := p.pid()
	t0, err := procCPUTicks(pid)
	if err != nil {
		return p.fail(err)
	}
	start := time.Now()
	select {
	case <-time.After(idleWindow):
	case err := <-p.exited:
		return p.fail(fmt.Errorf("%s exited: %v", name, err))
	}
	t1, err := procCPUTicks(pid)
	if err != nil {
		return p.fail(err)
	}
	secs := time.Since(start).Seconds()
	pm, err := readProcMem(strconv.Itoa(pid))
	if err != nil {
		return p.fail(err)
	}
	if err := p.stop(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cpu := float64(t1-t0) / clockTicks
	e.add(Result{Scenario: Idle, Case: caseName, Name: nameProcess, Seconds: secs,
		CPUSeconds: ptr(cpu), PeakRSSMB: ptr(float64(pm.RSS) / 1024), RSSAnonMB: ptr(float64(pm.Anon) / 1024), RSSFileMB: ptr(float64(pm.File) / 1024),
		Note: fmt.Sprintf("RSS after settling: RssAnon %.1f MB (private) + RssFile %.1f MB (the executable's pages); peak since start %.1f MB; %d threads; %s; CPU %.2f%% of a core",
			float64(pm.Anon)/1024, float64(pm.File)/1024, float64(pm.HWM)/1024, pm.Threads, lastGC(p.log()), cpu/secs*100)})
	return nil
}

// lastGC describes the Go heap at the last GC a gctrace log shows
// ("gc 3 @0.04s 2%: ..., 3->3->2 MB, 4 MB goal, 0 MB stacks, ...").
func lastGC(log string) string {
	last := ""
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "gc ") && strings.Contains(l, " MB goal") {
			last = l
		}
	}
	f := strings.Split(last, ", ")
	if len(f) < 5 {
		return "no GC ran"
	}
	heap := strings.Split(strings.TrimSuffix(f[2], " MB"), "->")
	if len(heap) != 3 {
		return "no GC ran"
	}
	return fmt.Sprintf("Go heap at GC #%s: %s MB live, %s, %s", strings.Fields(f[0])[1], heap[2], f[3], f[4])
}

// waitTopic waits until topic holds at least n messages.
func (e *env) waitTopic(ctx context.Context, topic string, n int64, timeout time.Duration, exited <-chan error) error {
	sc, err := e.saramaConfig()
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(e.brokers, sc)
	if err != nil {
		return err
	}
	defer client.Close()
	deadline := time.Now().Add(timeout)
	for {
		if hw, err := client.GetOffset(topic, 0, sarama.OffsetNewest); err == nil && hw >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("topic %s did not receive %d messages within %s", topic, n, timeout)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("tributary run exited: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		_ = client.RefreshMetadata(topic)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
