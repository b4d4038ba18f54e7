package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/internal/testdb"
)

// Limit names (goals() matches on their prefixes).
const (
	limitPeek    = "pgoutput server-side decode (pg_logical_slot_peek_binary_changes)"
	limitRecv    = "pg_recvlogical -f FILE --endpos"
	limitCopyTo  = "COPY TO"
	limitCopyFr  = "COPY FROM"
	limitBinlog  = "mysqlbinlog --read-from-remote-server --base64-output=decode-rows -vv"
	limitSelect  = "mariadb --quick SELECT"
	limitSync    = "sarama SyncProducer.SendMessages x1000"
	limitAsync   = "sarama AsyncProducer"
	limitLoadDat = "LOAD DATA LOCAL INFILE"

	caseLive = "live:"
)

const pgDB = "bench"

// pgTableDDL is the 10-column table every scenario uses. stamp carries the
// database clock of the statement that last changed the row (latency).
const pgTableDDL = `CREATE TABLE bench (
  id bigint PRIMARY KEY, k integer NOT NULL, v bigint NOT NULL, name varchar(64) NOT NULL,
  amount numeric(12,2), flag boolean, created date, updated timestamp(6), note varchar(200),
  stamp bigint NOT NULL DEFAULT 0)`

const pgColumns = "id, k, v, name, amount, flag, created, updated, note, stamp"

// pgStampSQL is one pgbench-style transaction: a single-row UPDATE.
const pgStampSQL = `UPDATE bench SET v = v + 1, stamp = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint WHERE id = $1`

func (e *env) ensurePG(ctx context.Context) error {
	if e.pg != nil {
		return nil
	}
	e.progress("   starting PostgreSQL")
	pg, err := testdb.NewPostgres(ctx, "", e.log)
	if err != nil {
		return err
	}
	e.pg = pg
	if err := pg.CreateDatabaseContext(ctx, pgDB); err != nil {
		return err
	}
	var v string
	if err := e.pgQueryRow(ctx, "SHOW server_version", &v); err != nil {
		return err
	}
	e.report.Machine.Postgres = v
	return nil
}

func (e *env) pgQueryRow(ctx context.Context, sql string, dst ...any) error {
	conn, err := pgx.Connect(ctx, e.pg.DSN(pgDB))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, sql).Scan(dst...); err != nil {
		return fmt.Errorf("PostgreSQL: %s: %w", sql, err)
	}
	return nil
}

// ensurePGTable creates and fills bench with cfg.Rows rows, once.
func (e *env) ensurePGTable(ctx context.Context) error {
	if err := e.ensurePG(ctx); err != nil {
		return err
	}
	if e.tables["pg"] {
		return nil
	}
	e.progress("   loading %d rows into PostgreSQL", e.cfg.Rows)
	err := e.pg.ExecContext(ctx, pgDB, pgTableDDL,
		fmt.Sprintf(`INSERT INTO bench SELECT g, g %% 1000, 0, 'name-' || g, (g %% 100000) * 1.25, g %% 2 = 0,
  date '2024-01-01' + (g %% 365), timestamp '2024-01-01' + g * interval '1 millisecond', 'note ' || md5(g::text), 0
  FROM generate_series(1, %d) g`, e.cfg.Rows),
		"VACUUM ANALYZE bench", "CREATE PUBLICATION bench_pub FOR TABLE bench")
	if err != nil {
		return err
	}
	e.tables["pg"] = true
	return nil
}

func (e *env) pgSourceProps(prefix, slot string) map[string]string {
	return map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": e.pg.Host, "database.port": strconv.Itoa(e.pg.Port),
		"database.user": "postgres", "database.password": "", "database.dbname": pgDB, "database.sslmode": "disable",
		"topic.prefix": prefix, "table.include.list": "public.bench", "plugin.name": "pgoutput",
		"slot.name": slot, "publication.name": "bench_pub", "publication.autocreate.mode": "disabled",
	}
}

// timeoutFor bounds a phase handling n events generously (1 ms each).
func timeoutFor(n int) time.Duration { return time.Minute + time.Duration(n)*time.Millisecond }

// runSnapshot runs a snapshot connector until n records are acknowledged
// and returns the measured Tributary row.
func (e *env) runSnapshot(ctx context.Context, scenario, name string, props map[string]string, n int) (Result, error) {
	m := startMeter()
	run, err := e.startSource(ctx, name, props)
	if err != nil {
		m.end()
		return Result{}, err
	}
	_, werr := run.waitWritten(ctx, int64(n), timeoutFor(n))
	elapsed, cpu, rss := m.end()
	serr := run.stop()
	if werr != nil {
		return Result{}, werr
	}
	if serr != nil {
		return Result{}, serr
	}
	if got := run.written(); got != int64(n) {
		return Result{}, fmt.Errorf("%s wrote %d records for a %d-row table", name, got, n)
	}
	return Result{Scenario: scenario, Case: fmt.Sprintf("snapshot of %d rows x 10 columns", n), Name: "tributary",
		Events: int64(n), Bytes: run.sender.bytes.Load(), Seconds: elapsed.Seconds(),
		CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss), Note: "JSON with schemas"}, nil
}

func (e *env) pgSnapshot(ctx context.Context) error {
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	props := e.pgSourceProps("pgsnap", "snap_slot")
	props["snapshot.mode"] = "initial"
	props["slot.drop.on.stop"] = "true"
	trib, err := e.runSnapshot(ctx, PGSnapshot, "bench-pg-snapshot", props, e.cfg.Rows)
	e.pgDropSlots(ctx, "snap_slot")
	if err != nil {
		return err
	}
	e.add(trib)
	e.topics["pgsnap.public.bench"] = true
	e.topicBytes = trib.Bytes
	secs, err := e.psql(ctx, `\copy (SELECT * FROM bench) TO '/dev/null'`)
	if err != nil {
		return err
	}
	copyTo := Result{Name: limitCopyTo + ` (psql \copy (SELECT * FROM bench) TO /dev/null)`, Events: int64(e.cfg.Rows), Seconds: secs}
	e.addLimit(trib, copyTo)
	if err := e.rawKafka(ctx, trib, avgSize(trib)); err != nil {
		return err
	}
	if !e.hasConverter("io.confluent.connect.avro.AvroConverter") {
		e.report.Skipped = append(e.report.Skipped, "pg-snapshot with Avro: no Avro converter in this binary")
		return nil
	}
	// The same snapshot with the Avro converter (Confluent wire format,
	// schemas registered in the registry that runs in the broker child).
	props = e.pgSourceProps("pgsnapavro", "snap_avro_slot")
	props["snapshot.mode"] = "initial"
	props["slot.drop.on.stop"] = "true"
	for _, side := range []string{"key.converter", "value.converter"} {
		props[side] = "io.confluent.connect.avro.AvroConverter"
		props[side+".schema.registry.url"] = e.registry
	}
	avro, err := e.runSnapshot(ctx, PGSnapshot, "bench-pg-snapshot-avro", props, e.cfg.Rows)
	e.pgDropSlots(ctx, "snap_avro_slot")
	if err != nil {
		return err
	}
	avro.Case += " (Avro)"
	avro.Note = "Avro, Confluent wire format"
	e.add(avro)
	e.addLimit(avro, copyTo)
	if err := e.rawKafka(ctx, avro, avgSize(avro)); err != nil {
		return err
	}
	e.deleteTopics("pgsnapavro.public.bench")
	return nil
}

// hasConverter reports whether the binary under test knows a converter
// class.
func (e *env) hasConverter(class string) bool {
	_, err := e.cfg.Converters.New(class, map[string]string{"schema.registry.url": e.registry}, false)
	return err == nil
}

// avgSize is the mean Kafka message size (key plus value) of a run.
func avgSize(r Result) int {
	if r.Events == 0 {
		return 0
	}
	return int(r.Bytes / r.Events)
}

// psql runs one psql command against the bench database and returns its
// wall time.
func (e *env) psql(ctx context.Context, command string) (float64, error) {
	return e.psqlDB(ctx, pgDB, command)
}

func (e *env) psqlDB(ctx context.Context, db, command string) (float64, error) {
	bin, err := exec.LookPath("psql")
	if err != nil {
		bin = filepath.Join(testdb.PostgresBinDir, "psql")
	}
	cmd := exec.CommandContext(ctx, bin, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", e.pg.Host, "-p", strconv.Itoa(e.pg.Port),
		"-U", "postgres", "-d", db, "-c", command)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	secs := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("psql -c %q: %w: %s", command, err, strings.TrimSpace(string(out)))
	}
	return secs, nil
}

func (e *env) pgDropSlots(ctx context.Context, slots ...string) {
	for _, s := range slots {
		if err := e.pg.ExecContext(ctx, pgDB, fmt.Sprintf(
			`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '%s' AND NOT active`, s)); err != nil {
			e.log.Warn("bench: drop slot", "slot", s, "error", err)
		}
	}
}

func (e *env) pgCreateSlots(ctx context.Context, slots ...string) error {
	e.pgDropSlots(ctx, slots...)
	for _, s := range slots {
		if err := e.pg.ExecContext(ctx, pgDB, fmt.Sprintf(`SELECT pg_create_logical_replication_slot('%s', 'pgoutput')`, s)); err != nil {
			return err
		}
	}
	return nil
}

// pgDecodeLimits measures server-side decoding of the WAL between the
// creation of the two slots and endLSN: a peek over one slot, and
// pg_recvlogical draining the other into a file.
func (e *env) pgDecodeLimits(ctx context.Context, trib Result, peekSlot, recvSlot, endLSN string) error {
	var msgs, changes int64
	start := time.Now()
	err := e.pgQueryRow(ctx, fmt.Sprintf(`SELECT count(*), count(*) FILTER (WHERE get_byte(data, 0) IN (73, 85, 68))
  FROM pg_logical_slot_peek_binary_changes('%s', NULL, NULL, 'proto_version', '1', 'publication_names', 'bench_pub')`, peekSlot),
		&msgs, &changes)
	peek := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	e.addLimit(trib, Result{Name: limitPeek, Events: changes, Seconds: peek,
		Note: fmt.Sprintf("%d pgoutput messages, %d row changes", msgs, changes)})

	out := filepath.Join(e.dir, "recvlogical.out")
	defer os.Remove(out)
	bin, err := exec.LookPath("pg_recvlogical")
	if err != nil {
		bin = filepath.Join(testdb.PostgresBinDir, "pg_recvlogical")
	}
	cmd := exec.CommandContext(ctx, bin, "-h", e.pg.Host, "-p", strconv.Itoa(e.pg.Port), "-U", "postgres", "-d", pgDB,
		"--slot", recvSlot, "--start", "-o", "proto_version=1", "-o", "publication_names=bench_pub",
		"-f", out, "--endpos", endLSN, "--no-loop")
	start = time.Now()
	o, err := cmd.CombinedOutput()
	recv := time.Since(start).Seconds()
	if err != nil {
		return fmt.Errorf("pg_recvlogical: %w: %s", err, strings.TrimSpace(string(o)))
	}
	var size int64
	if fi, err := os.Stat(out); err == nil {
		size = fi.Size()
	}
	e.addLimit(trib, Result{Name: limitRecv, Events: changes, Bytes: size, Seconds: recv})
	return nil
}

func (e *env) pgStream(ctx context.Context) error {
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	const slot = "trib_stream"
	defer e.pgDropSlots(ctx, slot, "lim_peek", "lim_recv")
	if err := e.pgCreateSlots(ctx, slot, "lim_peek", "lim_recv"); err != nil {
		return err
	}
	e.progress("   %d single-row transactions (4 connections, as fast as possible)", e.cfg.SmallTxns)
	load, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Count: e.cfg.SmallTxns, Conns: 4})
	if err != nil {
		return err
	}
	var lsn string
	if err := e.pgQueryRow(ctx, "SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		return err
	}
	props := e.pgSourceProps("pgstream", slot)
	props["snapshot.mode"] = "no_data"
	trib, run, err := e.catchUp(ctx, PGStream, "bench-pg-stream", props, load.Done)
	if err != nil {
		return err
	}
	defer run.stop()
	if err := e.pgDecodeLimits(ctx, trib, "lim_peek", "lim_recv", lsn); err != nil {
		return err
	}
	e.pgDropSlots(ctx, "lim_peek", "lim_recv")
	if err := e.rawKafka(ctx, trib, avgSize(trib)); err != nil {
		return err
	}

	if err := e.live(ctx, PGStream, run, "pgx", e.pg.DSN(pgDB), pgStampSQL); err != nil {
		return err
	}

	if err := e.pgCreateSlots(ctx, "lim_peek", "lim_recv"); err != nil {
		return err
	}
	big, err := e.largeTxn(ctx, PGStream, run, func() error {
		return e.pg.ExecContext(ctx, pgDB, `UPDATE bench SET v = v + 1, stamp = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`)
	})
	if err != nil {
		return err
	}
	if err := e.pgQueryRow(ctx, "SELECT pg_current_wal_lsn()::text", &lsn); err != nil {
		return err
	}
	if err := e.pgDecodeLimits(ctx, big, "lim_peek", "lim_recv", lsn); err != nil {
		return err
	}
	if err := run.stop(); err != nil {
		return err
	}
	e.deleteTopics("pgstream.public.bench")
	return nil
}

// catchUp starts a streaming connector over a backlog of want changes
// and measures it until all are acknowledged; the connector keeps running.
func (e *env) catchUp(ctx context.Context, scenario, name string, props map[string]string, want int64) (Result, *sourceRun, error) {
	return e.catchUpCase(ctx, scenario, name, props, want, fmt.Sprintf("backlog: %d single-row txns", want))
}

// catchUpCase is catchUp reporting the measurement under caseName.
func (e *env) catchUpCase(ctx context.Context, scenario, name string, props map[string]string, want int64, caseName string) (Result, *sourceRun, error) {
	broker := e.brokerCPU()
	m := startMeter()
	run, err := e.startSource(ctx, name, props)
	if err != nil {
		m.end()
		return Result{}, nil, err
	}
	_, err = run.waitWritten(ctx, want, timeoutFor(int(want)))
	elapsed, cpu, rss := m.end()
	if err != nil {
		run.stop()
		return Result{}, nil, err
	}
	// The produce requests show how the producer batched: the broker's
	// CPU, which shares the machine, grows with their number.
	_, requests := run.prod.WireStats()
	r := Result{Scenario: scenario, Case: caseName, Name: "tributary",
		Events: run.written(), Bytes: run.sender.bytes.Load(), Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: fmt.Sprintf("connector start to last ack; %d produce requests (%.0f events each); ", requests, float64(run.written())/float64(max(requests, 1))) + m.schedNote(run.written()) + m.memNote() + broker()}
	e.add(r)
	return r, run, nil
}

// live runs single-row transactions at each of cfg.Rates for cfg.Duration
// against the running connector and measures stamp-to-ack latency.
func (e *env) live(ctx context.Context, scenario string, run *sourceRun, driver, dsn, sql string) error {
	for _, rate := range e.cfg.Rates {
		if err := e.liveAt(ctx, scenario, run, driver, dsn, sql, rate); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) liveAt(ctx context.Context, scenario string, run *sourceRun, driver, dsn, sql string, rate float64) error {
	rec := &latencyRec{since: time.Now().UnixMicro()}
	run.sender.lat.Store(rec)
	defer run.sender.lat.Store(nil)
	base := run.written()
	bytes0 := run.sender.bytes.Load()
	m := startMeter()
	load, err := e.load(ctx, driver, dsn, sql, childSpec{Rate: rate, Seconds: e.cfg.Duration.Seconds(), Conns: 8})
	if err != nil {
		m.end()
		return err
	}
	_, err = run.waitWritten(ctx, base+load.Done, timeoutFor(int(load.Done)))
	_, cpu, rss := m.end()
	if err != nil {
		return err
	}
	n, p50, p99, pmax := rec.percentiles()
	if n == 0 {
		return fmt.Errorf("%s: no latency samples (%d messages without a readable stamp)", scenario, rec.bad.Load())
	}
	e.add(Result{Scenario: scenario, Case: fmt.Sprintf("%s %.0f single-row txns/s for %s", caseLive, rate, e.cfg.Duration),
		Name: "tributary", Events: load.Done, Bytes: run.sender.bytes.Load() - bytes0, Seconds: load.Seconds,
		LatencyP50Ms: ptr(p50), LatencyP99Ms: ptr(p99), LatencyMaxMs: ptr(pmax), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: fmt.Sprintf("latency: row stamp to Kafka ack, %d samples", n)})
	return nil
}

// largeTxn runs exec (one N-row UPDATE in one transaction) against the
// running connector and measures from the commit's return to the last
// acknowledgement.
func (e *env) largeTxn(ctx context.Context, scenario string, run *sourceRun, exec func() error) (Result, error) {
	n := int64(e.cfg.Rows)
	base := run.written()
	bytes0 := run.sender.bytes.Load()
	m := startMeter()
	if err := exec(); err != nil {
		m.end()
		return Result{}, err
	}
	committed := time.Now()
	last, err := run.waitWritten(ctx, base+n, timeoutFor(int(n)))
	_, cpu, rss := m.end()
	if err != nil {
		return Result{}, err
	}
	secs := last.Sub(committed).Seconds()
	r := Result{Scenario: scenario, Case: fmt.Sprintf("1 txn updating %d rows", n), Name: "tributary",
		Events: run.written() - base, Bytes: run.sender.bytes.Load() - bytes0, Seconds: secs,
		LatencyMaxMs: ptr(secs * 1000), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: "COMMIT returned to last ack"}
	e.add(r)
	return r, nil
}

// load runs a load-generator child to completion. The ids it binds are
// 1..spec.IDs, or 1..N (the bench table) when spec.IDs is 0.
func (e *env) load(ctx context.Context, driver, dsn, sql string, spec childSpec) (loadResult, error) {
	spec.Role, spec.Driver, spec.DSN, spec.SQL = "load", driver, dsn, sql
	if spec.IDs == 0 {
		// Overwriting a caller's range made issue 14's MariaDB UPDATEs
		// address ids up to N on a table of N/2 rows: half of them
		// matched nothing and logged no row image.
		spec.IDs = e.cfg.Rows
	}
	c, err := startChild(e.cfg.ChildExe, e.cfg.ChildArgs, spec)
	if err != nil {
		return loadResult{}, err
	}
	defer c.stop()
	var res loadResult
	if err := c.readJSON(ctx, &res); err != nil {
		return res, err
	}
	if res.Error != "" {
		return res, fmt.Errorf("load generator: %s", res.Error)
	}
	return res, nil
}

func (e *env) jdbcPoll(ctx context.Context) error {
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	props := map[string]string{
		"connector.class":          "io.confluent.connect.jdbc.JdbcSourceConnector",
		"connection.url":           fmt.Sprintf("jdbc:postgresql://%s:%d/%s?user=postgres&sslmode=disable", e.pg.Host, e.pg.Port, pgDB),
		"mode":                     "incrementing",
		"incrementing.column.name": "id",
		"table.whitelist":          "bench",
		"topic.prefix":             "jdbc-",
	}
	m := startMeter()
	run, err := e.startSource(ctx, "bench-jdbc-poll", props)
	if err != nil {
		m.end()
		return err
	}
	_, werr := run.waitWritten(ctx, int64(e.cfg.Rows), timeoutFor(e.cfg.Rows))
	elapsed, cpu, rss := m.end()
	serr := run.stop()
	if werr != nil {
		return werr
	}
	if serr != nil {
		return serr
	}
	if got := run.written(); got != int64(e.cfg.Rows) {
		return fmt.Errorf("jdbc source wrote %d records for a %d-row table", got, e.cfg.Rows)
	}
	trib := Result{Scenario: JDBCPoll, Case: fmt.Sprintf("incrementing poll of %d rows", e.cfg.Rows), Name: "tributary",
		Events: int64(e.cfg.Rows), Bytes: run.sender.bytes.Load(), Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: "default batch.max.rows=100"}
	e.add(trib)
	secs, err := e.psql(ctx, `\copy (SELECT * FROM bench ORDER BY id) TO '/dev/null'`)
	if err != nil {
		return err
	}
	e.addLimit(trib, Result{Name: limitCopyTo + ` (psql \copy (SELECT * FROM bench ORDER BY id) TO /dev/null)`, Events: int64(e.cfg.Rows), Seconds: secs})
	if err := e.rawKafka(ctx, trib, avgSize(trib)); err != nil {
		return err
	}
	e.deleteTopics("jdbc-bench")
	return nil
}
