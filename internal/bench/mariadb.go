package bench

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/internal/testdb"
)

const myTableDDL = `CREATE TABLE bench (
  id bigint PRIMARY KEY, k int NOT NULL, v bigint NOT NULL, name varchar(64) NOT NULL,
  amount decimal(12,2), flag boolean, created date, updated datetime(6), note varchar(200),
  stamp bigint NOT NULL DEFAULT 0) ENGINE=InnoDB`

// myStampSQL: NOW(6) is the statement's start on the server clock.
const myStampSQL = `UPDATE bench SET v = v + 1, stamp = CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED) WHERE id = ?`

func (e *env) ensureMy(ctx context.Context) error {
	if e.my != nil {
		return nil
	}
	e.progress("   starting MariaDB")
	my, err := testdb.NewMariaDB(ctx, "", e.log)
	if err != nil {
		return err
	}
	e.my = my
	if err := my.ExecContext(ctx, "", "CREATE DATABASE IF NOT EXISTS bench"); err != nil {
		return err
	}
	var v string
	if err := e.myQueryRow(ctx, "SELECT VERSION()", &v); err != nil {
		return err
	}
	e.report.Machine.MariaDB = v
	return nil
}

func (e *env) myQueryRow(ctx context.Context, q string, dst ...any) error {
	db, err := sql.Open("mysql", e.my.DSN("bench"))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, q).Scan(dst...); err != nil {
		return fmt.Errorf("MariaDB: %s: %w", q, err)
	}
	return nil
}

func (e *env) ensureMyTable(ctx context.Context) error {
	if err := e.ensureMy(ctx); err != nil {
		return err
	}
	if e.tables["mariadb"] {
		return nil
	}
	e.progress("   loading %d rows into MariaDB", e.cfg.Rows)
	err := e.my.ExecContext(ctx, "bench", myTableDDL,
		fmt.Sprintf(`INSERT INTO bench SELECT seq, seq %% 1000, 0, CONCAT('name-', seq), (seq %% 100000) * 1.25, seq %% 2 = 0,
  DATE '2024-01-01' + INTERVAL (seq %% 365) DAY, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq * 1000 MICROSECOND,
  CONCAT('note ', MD5(seq)), 0 FROM seq_1_to_%d`, e.cfg.Rows),
		"ANALYZE TABLE bench")
	if err != nil {
		return err
	}
	e.tables["mariadb"] = true
	return nil
}

func (e *env) mySourceProps(prefix string, serverID int) map[string]string {
	return map[string]string{
		"connector.class":   "io.debezium.connector.mariadb.MariaDbConnector",
		"database.hostname": e.my.Host, "database.port": strconv.Itoa(e.my.Port),
		"database.user": "root", "database.password": "", "database.server.id": strconv.Itoa(serverID),
		"topic.prefix": prefix, "database.include.list": "bench", "table.include.list": "bench.bench",
		"schema.history.internal.kafka.topic": "schemahistory." + prefix,
		"include.schema.changes":              "false",
	}
}

func (e *env) mySnapshot(ctx context.Context) error {
	if err := e.ensureMyTable(ctx); err != nil {
		return err
	}
	props := e.mySourceProps("mysnap", 5401)
	props["snapshot.mode"] = "initial"
	trib, err := e.runSnapshot(ctx, MySnapshot, "bench-mariadb-snapshot", props, e.cfg.Rows)
	if err != nil {
		return err
	}
	e.add(trib)
	bin, err := exec.LookPath("mariadb")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--quick", "--batch", "-h", e.my.Host, "-P", strconv.Itoa(e.my.Port),
		"-uroot", "bench", "-e", "SELECT * FROM bench")
	var out countingWriter
	cmd.Stdout = &out
	start := time.Now()
	if err := runTool(cmd); err != nil {
		return err
	}
	e.addLimit(trib, Result{Name: limitSelect + " to /dev/null", Events: int64(e.cfg.Rows), Bytes: out.n.Load(),
		Seconds: time.Since(start).Seconds()})
	if err := e.rawKafka(ctx, trib, avgSize(trib)); err != nil {
		return err
	}
	e.deleteTopics("mysnap.bench.bench", "schemahistory.mysnap")
	return nil
}

// myBinlogFile rotates the binary log and returns the name of the new
// (current) file.
func (e *env) myRotate(ctx context.Context) (string, error) {
	if err := e.my.ExecContext(ctx, "bench", "FLUSH BINARY LOGS"); err != nil {
		return "", err
	}
	var file string
	var pos int64
	var doDB, ignoreDB string
	db, err := sql.Open("mysql", e.my.DSN("bench"))
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, "SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB); err != nil {
		return "", fmt.Errorf("MariaDB: SHOW MASTER STATUS: %w", err)
	}
	return file, nil
}

// myBinlogLimit decodes one closed binlog file with mysqlbinlog from the
// server, as a replica would read it, to /dev/null. Its output used to be
// piped into this process and counted: the pipe's round trips between the
// two processes on a 2-core machine halved mysqlbinlog's speed (3.77 s to
// /dev/null, 7.77 s piped, same file, pg-stream-issue14), which is why
// this limit read 0.86 where the issue measured 0.41.
func (e *env) myBinlogLimit(ctx context.Context, trib Result, file string, changes int64) error {
	bin, err := exec.LookPath("mysqlbinlog")
	if err != nil {
		if bin, err = exec.LookPath("mariadb-binlog"); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--read-from-remote-server", "-h"+e.my.Host, "-P"+strconv.Itoa(e.my.Port), "-uroot",
		"--base64-output=decode-rows", "-vv", file)
	secs, cpu, err := runMeasured(cmd)
	if err != nil {
		return err
	}
	e.addLimit(trib, Result{Name: limitBinlog, Events: changes, Seconds: secs, CPUSeconds: ptr(cpu),
		Note: fmt.Sprintf("> /dev/null; %.1f µs CPU/event (the tool's own rusage)", cpu*1e6/float64(changes))})
	return nil
}

func (e *env) myStream(ctx context.Context) error {
	if err := e.ensureMyTable(ctx); err != nil {
		return err
	}
	const name = "bench-mariadb-stream"
	props := e.mySourceProps("mystream", 5402)
	props["snapshot.mode"] = "no_data"
	// Prime: run once so that an offset (binlog position) is stored, then
	// stop, build a backlog, and restart from that offset.
	if err := e.myPrime(ctx, name, props, "UPDATE bench SET v = v + 1 WHERE id = 1"); err != nil {
		return err
	}

	file, err := e.myRotate(ctx)
	if err != nil {
		return err
	}
	e.progress("   %d single-row transactions (4 connections, as fast as possible)", e.cfg.SmallTxns)
	load, err := e.load(ctx, "mysql", e.my.DSN("bench")+"&interpolateParams=true", myStampSQL, childSpec{Count: e.cfg.SmallTxns, Conns: 4})
	if err != nil {
		return err
	}
	if _, err := e.myRotate(ctx); err != nil {
		return err
	}
	trib, run, err := e.catchUp(ctx, MyStream, name, props, load.Done)
	if err != nil {
		return err
	}
	defer run.stop()
	if err := e.myBinlogLimit(ctx, trib, file, load.Done); err != nil {
		return err
	}
	if err := e.rawKafka(ctx, trib, avgSize(trib)); err != nil {
		return err
	}

	if err := e.live(ctx, MyStream, run, "mysql", e.my.DSN("bench")+"&interpolateParams=true", myStampSQL); err != nil {
		return err
	}

	if file, err = e.myRotate(ctx); err != nil {
		return err
	}
	big, err := e.largeTxn(ctx, MyStream, run, func() error {
		return e.my.ExecContext(ctx, "bench", "UPDATE bench SET v = v + 1, stamp = CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS SIGNED)")
	})
	if err != nil {
		return err
	}
	if _, err := e.myRotate(ctx); err != nil {
		return err
	}
	if err := e.myBinlogLimit(ctx, big, file, int64(e.cfg.Rows)); err != nil {
		return err
	}
	if err := run.stop(); err != nil {
		return err
	}
	e.deleteTopics("mystream.bench.bench", "schemahistory.mystream")
	return nil
}

// countingWriter counts and discards.
type countingWriter struct{ n atomic.Int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)

// runTool runs an external tool, naming it and quoting its error output
// when it fails.
func runTool(cmd *exec.Cmd) error {
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// myPrime runs a streaming MariaDB connector until it has delivered a
// change (made by running prime until one arrives) and committed its
// offset, then stops it: the binlog position it stored is where a
// backlog built afterwards starts.
func (e *env) myPrime(ctx context.Context, name string, props map[string]string, prime string) error {
	run, err := e.startSource(ctx, name, props)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for run.written() == 0 {
		if time.Now().After(deadline) {
			run.stop()
			return fmt.Errorf("%s: the connector did not pick up a change within a minute", name)
		}
		if err := e.my.ExecContext(ctx, "bench", prime); err != nil {
			run.stop()
			return err
		}
		if _, err := run.waitWritten(ctx, 1, 500*time.Millisecond); err != nil && run.done {
			return err
		}
	}
	if err := run.waitCommit(ctx, 30*time.Second); err != nil {
		run.stop()
		return err
	}
	return run.stop()
}
