package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/internal/testdb"
)

// PGStreamIssue14 is issue #14's workload: a backlog of single-row INSERT
// transactions then single-row UPDATEs of a 5-column table (~200-byte
// rows), streamed with the JsonConverter and the AvroConverter next to
// pg_recvlogical on the same backlog, and the MariaDB equivalent next to
// mysqlbinlog. Reported per event: the connector's CPU µs and peak RSS
// (the broker runs in its own process), and the tools' own CPU from their
// rusage.
const PGStreamIssue14 = "pg-stream-issue14"

// MyStreamIssue14 is pg-stream-issue14's MariaDB half alone (N/2 INSERT
// then N/2 UPDATE single-row transactions next to mysqlbinlog), to
// compare builds of the MySQL connector without the PostgreSQL runs.
const MyStreamIssue14 = "mariadb-stream-issue14"

const i14PGDDL = `CREATE TABLE issue14 (id bigserial PRIMARY KEY, k integer NOT NULL, v bigint NOT NULL, name varchar(64) NOT NULL, note varchar(160) NOT NULL)`

// The inserts bind k, the updates a random existing id.
const (
	i14PGInsert = `INSERT INTO issue14 (k, v, name, note) VALUES ($1::bigint, 0, 'name-' || $1::bigint, repeat(md5($1::bigint::text), 4))`
	i14PGUpdate = `UPDATE issue14 SET v = v + 1, name = 'upd-' || v WHERE id = $1`
	i14MyDDL    = `CREATE TABLE issue14 (id bigint AUTO_INCREMENT PRIMARY KEY, k int NOT NULL, v bigint NOT NULL, name varchar(64) NOT NULL, note varchar(160) NOT NULL) ENGINE=InnoDB`
	i14MyInsert = `INSERT INTO issue14 (k, v, name, note) VALUES (?, 0, CONCAT('name-', LAST_INSERT_ID()), REPEAT(MD5(RAND()), 4))`
	i14MyUpdate = `UPDATE issue14 SET v = v + 1, name = CONCAT('upd-', v) WHERE id = ?`
)

// issue14 runs both halves; the MariaDB half runs even when PostgreSQL's
// fails.
func (e *env) issue14(ctx context.Context) error {
	perr := e.issue14PG(ctx)
	if perr != nil {
		e.progress("   PostgreSQL half FAILED: %v", perr)
	}
	merr := e.issue14My(ctx, PGStreamIssue14)
	if merr != nil {
		merr = fmt.Errorf("MariaDB half: %w", merr)
	}
	return errors.Join(perr, merr)
}

// i14Counts are the inserts and the updates: N each for PostgreSQL, N/2
// for MariaDB (the issue's 200k+200k and 100k+100k at the default N).
func (e *env) i14Counts(div int) int { return max(e.cfg.Rows/div, 1) }

func (e *env) issue14PG(ctx context.Context) error {
	if err := e.ensurePG(ctx); err != nil {
		return err
	}
	n := e.i14Counts(1)
	slots := []string{"i14_json", "i14_avro", "i14_peek", "i14_recv"}
	// The same backlog in `tributary run` as its own process, for its RSS.
	bin := ""
	if e.cfg.TributaryBinary != "" {
		var err error
		if bin, err = e.processBinary(); err != nil {
			return err
		}
		slots = append(slots, "i14_json_proc", "i14_avro_proc")
	}
	defer e.pgDropSlots(ctx, slots...)
	if err := e.pg.ExecContext(ctx, pgDB, "DROP TABLE IF EXISTS issue14", i14PGDDL,
		"DROP PUBLICATION IF EXISTS issue14_pub", "CREATE PUBLICATION issue14_pub FOR TABLE issue14"); err != nil {
		return err
	}
	if err := e.pgCreateSlots(ctx, slots...); err != nil {
		return err
	}
	e.progress("   %d single-row INSERT then %d single-row UPDATE transactions (4 connections)", n, n)
	ins, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), i14PGInsert, childSpec{Count: n, Conns: 4, IDs: 1 << 30})
	if err != nil {
		return err
	}
	upd, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), i14PGUpdate, childSpec{Count: n, Conns: 4, IDs: int(ins.Done)})
	if err != nil {
		return err
	}
	want := ins.Done + upd.Done
	var lsn string
	if err := e.pgQueryRow(ctx, "SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		return err
	}
	caseName := fmt.Sprintf("backlog: %d INSERT + %d UPDATE single-row txns, 5 columns", ins.Done, upd.Done)

	for i, conv := range []string{"json", "avro"} {
		if conv == "avro" && !e.hasConverter("io.confluent.connect.avro.AvroConverter") {
			e.report.Skipped = append(e.report.Skipped, PGStreamIssue14+" with Avro: no Avro converter in this binary")
			continue
		}
		label := "JsonConverter (schemas on)"
		if conv == "avro" {
			label = "AvroConverter + registry"
		}
		caseProps := func(prefix, slot string) map[string]string {
			props := e.pgSourceProps(prefix, slot)
			props["snapshot.mode"] = "no_data"
			props["table.include.list"] = "public.issue14"
			props["publication.name"] = "issue14_pub"
			if conv == "avro" {
				for _, side := range []string{"key.converter", "value.converter"} {
					props[side] = "io.confluent.connect.avro.AvroConverter"
					props[side+".schema.registry.url"] = e.registry
				}
			}
			return props
		}
		prefix := "i14" + conv
		props := caseProps(prefix, "i14_"+conv)
		r, run, err := e.catchUpCase(ctx, PGStreamIssue14, "bench-pg-issue14-"+conv, props, want, caseName+", "+label)
		if err != nil {
			return err
		}
		serr := run.stop()
		e.deleteTopics(prefix + ".public.issue14")
		if serr != nil {
			return serr
		}
		e.annotate(&e.report.Results[len(e.report.Results)-1])
		peek, recv := "i14_peek", "i14_recv"
		if i > 0 {
			peek, recv = "", "" // the same limits, next to the Avro run
		}
		if err := e.i14PGLimits(ctx, r, peek, recv, lsn, want); err != nil {
			return err
		}
		if bin != "" {
			pprefix := prefix + "proc"
			err := e.catchUpProcess(ctx, PGStreamIssue14, bin, "bench-pg-issue14-"+conv+"-process", caseProps(pprefix, "i14_"+conv+"_proc"),
				pprefix+".public.issue14", want, caseName+", "+label)
			e.deleteTopics(pprefix + ".public.issue14")
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// annotate adds the CPU µs per event to a Tributary row's note.
func (e *env) annotate(r *Result) {
	if r.CPUSeconds == nil || r.Events == 0 {
		return
	}
	r.Note = fmt.Sprintf("%.1f µs CPU/event; %s", cpuMicros(*r), r.Note)
	e.progress("   %s: %s, peak RSS %.0f MB", r.Case, r.Note, *r.PeakRSSMB)
}

// i14PGLimits measures the server-side decode (peekSlot) and
// pg_recvlogical to /dev/null (recvSlot) over the backlog, with the
// tool's own CPU time. Empty slots repeat the last figures
// under trib's case.
func (e *env) i14PGLimits(ctx context.Context, trib Result, peekSlot, recvSlot, endLSN string, changes int64) error {
	if peekSlot == "" {
		for _, l := range e.i14Last {
			e.addLimit(trib, l)
		}
		return nil
	}
	e.i14Last = nil
	var msgs int64
	start := time.Now()
	err := e.pgQueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM pg_logical_slot_peek_binary_changes('%s', NULL, NULL, 'proto_version', '1', 'publication_names', 'issue14_pub')`, peekSlot), &msgs)
	peek := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	peekRes := Result{Name: limitPeek, Events: changes, Seconds: peek, Note: fmt.Sprintf("%d pgoutput messages", msgs)}
	bin, err := exec.LookPath("pg_recvlogical")
	if err != nil {
		bin = filepath.Join(testdb.PostgresBinDir, "pg_recvlogical")
	}
	cmd := exec.CommandContext(ctx, bin, "-h", e.pg.Host, "-p", strconv.Itoa(e.pg.Port), "-U", "postgres", "-d", pgDB,
		"--slot", recvSlot, "--start", "-o", "proto_version=1", "-o", "publication_names=issue14_pub",
		"-f", "/dev/null", "--endpos", endLSN, "--no-loop")
	secs, cpu, err := runMeasured(cmd)
	if err != nil {
		return err
	}
	recvRes := Result{Name: limitRecvNull, Events: changes, Seconds: secs, CPUSeconds: ptr(cpu),
		Note: fmt.Sprintf("%.1f µs CPU/event (the tool's own rusage)", cpu*1e6/float64(changes))}
	e.i14Last = []Result{peekRes, recvRes}
	for _, l := range e.i14Last {
		e.addLimit(trib, l)
	}
	return nil
}

// runMeasured runs a tool with its stdout on /dev/null and returns its wall
// time and CPU time (user+system) from its rusage. Not its peak RSS: the
// child's ru_maxrss includes this process's pages from before the exec
// (Go starts children with a vfork-style clone), so it showed the bench's
// own RSS.
func runMeasured(cmd *exec.Cmd) (secs, cpu float64, err error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return 0, 0, err
	}
	defer null.Close()
	cmd.Stdout = null
	start := time.Now()
	if err := runTool(cmd); err != nil {
		return 0, 0, err
	}
	secs = time.Since(start).Seconds()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		cpu = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	return secs, cpu, nil
}

func (e *env) issue14My(ctx context.Context, scenario string) error {
	if err := e.ensureMy(ctx); err != nil {
		return err
	}
	n := e.i14Counts(2)
	if err := e.my.ExecContext(ctx, "bench", "DROP TABLE IF EXISTS issue14", i14MyDDL); err != nil {
		return err
	}
	// Each scenario has its own connector name, hence its own stored
	// offset: both scenarios in one run delete the same topics, and a
	// second run under the first one's name would find an offset without
	// its schema history.
	name := "bench-mariadb-issue14-" + scenario
	props := e.mySourceProps("i14my", 5414)
	props["snapshot.mode"] = "no_data"
	props["table.include.list"] = "bench.issue14"
	// Store a binlog position first (as mariadb-stream does), then build
	// the backlog after it.
	if err := e.myPrime(ctx, name, props, "INSERT INTO issue14 (k, v, name, note) VALUES (0, 0, 'prime', 'prime')"); err != nil {
		return err
	}
	file, err := e.myRotate(ctx)
	if err != nil {
		return err
	}
	dsn := e.my.DSN("bench") + "&interpolateParams=true"
	e.progress("   MariaDB: %d single-row INSERT then %d single-row UPDATE transactions (4 connections)", n, n)
	ins, err := e.load(ctx, "mysql", dsn, i14MyInsert, childSpec{Count: n, Conns: 4, IDs: 1 << 30})
	if err != nil {
		return err
	}
	// The ids need not be consecutive (auto_increment_increment, the
	// priming inserts): the updates address the k-th backlog row.
	var lo, hi, rows, step int64
	if err := e.myQueryRow(ctx, "SELECT MIN(id), MAX(id), COUNT(*), @@auto_increment_increment FROM issue14 WHERE name <> 'prime'", &lo, &hi, &rows, &step); err != nil {
		return err
	}
	if rows != ins.Done || step <= 0 || (hi-lo)/step+1 != rows {
		return fmt.Errorf("%s: %d inserted rows with ids %d..%d are not every %dth id", name, rows, lo, hi, step)
	}
	update := strings.Replace(i14MyUpdate, "id = ?", fmt.Sprintf("id = %d + (? - 1) * %d", lo, step), 1)
	upd, err := e.load(ctx, "mysql", dsn, update, childSpec{Count: n, Conns: 4, IDs: int(ins.Done)})
	if err != nil {
		return err
	}
	if _, err := e.myRotate(ctx); err != nil {
		return err
	}
	// Every statement changes one row, so the binlog holds one row image
	// per statement; anything else is a broken workload, not a figure.
	want, err := e.binlogRows(ctx, file)
	if err != nil {
		return err
	}
	if want != ins.Done+upd.Done {
		return fmt.Errorf("%s: the binlog holds %d row changes for %d INSERT and %d UPDATE statements", name, want, ins.Done, upd.Done)
	}
	caseName := fmt.Sprintf("backlog: %d INSERT + %d UPDATE single-row txns (%d row changes in the binlog), 5 columns (MariaDB)", ins.Done, upd.Done, want)
	// The restart resumes after the priming inserts: only the backlog is
	// sent again.
	trib, run, err := e.catchUpCase(ctx, scenario, name, props, want, caseName+", JsonConverter (schemas on)")
	if err != nil {
		return err
	}
	serr := run.stop()
	e.deleteTopics("i14my.bench.issue14", "schemahistory.i14my")
	if serr != nil {
		return serr
	}
	e.annotate(&e.report.Results[len(e.report.Results)-1])
	return e.i14Binlog(ctx, trib, file, want)
}

// i14Binlog decodes the backlog's binlog file with mysqlbinlog twice: its
// output read through a pipe by this process, as mariadb-stream's limit
// does, and written to /dev/null, as the issue measured; the second also
// gives the tool's own CPU time.
func (e *env) i14Binlog(ctx context.Context, trib Result, file string, changes int64) error {
	bin, err := exec.LookPath("mysqlbinlog")
	if err != nil {
		if bin, err = exec.LookPath("mariadb-binlog"); err != nil {
			return err
		}
	}
	args := []string{"--no-defaults", "--read-from-remote-server", "-h" + e.my.Host, "-P" + strconv.Itoa(e.my.Port), "-uroot",
		"--base64-output=decode-rows", "-vv", file}
	var out countingWriter
	piped := exec.CommandContext(ctx, bin, args...)
	piped.Stdout = &out
	start := time.Now()
	if err := runTool(piped); err != nil {
		return err
	}
	e.addLimit(trib, Result{Name: limitBinlog + " (stdout piped to this process, as mariadb-stream)", Events: changes, Bytes: out.n.Load(),
		Seconds: time.Since(start).Seconds(), Note: "bytes = decoded text"})
	secs, cpu, err := runMeasured(exec.CommandContext(ctx, bin, args...))
	if err != nil {
		return err
	}
	e.addLimit(trib, Result{Name: limitBinlog + " > /dev/null", Events: changes, Seconds: secs, CPUSeconds: ptr(cpu),
		Note: fmt.Sprintf("%.1f µs CPU/event (the tool's own rusage)", cpu*1e6/float64(changes))})
	return nil
}

// binlogRows counts the row images mysqlbinlog decodes from file.
func (e *env) binlogRows(ctx context.Context, file string) (int64, error) {
	cmd := exec.CommandContext(ctx, "mysqlbinlog", "--no-defaults", "--read-from-remote-server", "-h"+e.my.Host, "-P"+strconv.Itoa(e.my.Port), "-uroot",
		"--base64-output=decode-rows", "-v", file)
	out, err := cmd.Output()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, l := range bytes.Split(out, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("### INSERT INTO")) || bytes.HasPrefix(l, []byte("### UPDATE ")) || bytes.HasPrefix(l, []byte("### DELETE FROM")) {
			n++
		}
	}
	return n, nil
}
