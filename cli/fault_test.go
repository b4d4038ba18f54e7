package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/testdb"
)

// The fault-injection suite runs the real `tributary run` against a private
// PostgreSQL or MariaDB and a Kafka broker in a process of its own, injects
// one fault per scenario while a writer changes rows at a steady rate, and
// checks with an independent client (kcat) that every committed change
// reached the topic, in order per row.
//
// Without TRIBUTARY_FAULT_TESTS=1 only a short subset runs (the CI
// subset, under a minute); with it, every scenario runs (many minutes):
//
//	TRIBUTARY_FAULT_TESTS=1 go test -count=1 -timeout 60m -run '^TestFaultInjection$' -v ./cli
//
// The full suite runs a tributary binary it builds with go build; the CI
// subset spares itself the build and runs this test binary as tributary
// (TestRunProcess executes the same command tree as main). Either way
// TRIBUTARY_FAULT_BINARY=PATH runs a prebuilt binary instead.
//
// TRIBUTARY_FAULT_REPORT=FILE also writes the results as a Markdown table.

const (
	envFaultTests  = "TRIBUTARY_FAULT_TESTS"
	envFaultReport = "TRIBUTARY_FAULT_REPORT"

	// faultPassword is distinctive so that the suite can look for it in
	// everything the connector prints.
	faultPassword = "Fault-S3cret-42"
	faultRole     = "tributary_fault"
	faultTopic    = "fault.fault.events" // topic.prefix.schema-or-database.table
	faultName     = "fault-connector"
	// writeRate is the writer's changes per second.
	writeRate = 80
	// drainTimeout bounds the wait, after the writer stopped, for the
	// last change to reach the topic. It covers TCP's retransmission
	// back-off after a partition (the next retry of a connection that
	// lost 30 s of packets comes up to ~30 s after the heal).
	drainTimeout = 150 * time.Second
)

type faultSuite int

const (
	ciSuite faultSuite = 1 << iota
	fullSuite
)

type dbKind string

const (
	postgresDB dbKind = "postgres"
	mariaDB    dbKind = "mariadb"
)

// faultScenario is one row of the suite.
type faultScenario struct {
	name   string
	suites faultSuite
	db     dbKind
	// netns runs the connector in a network namespace of its own (root).
	netns bool
	// tmpfsOffsets puts the offsets file on a small tmpfs (root).
	tmpfsOffsets bool
	// initialRows exist before the connector starts: its snapshot.
	initialRows int
	// insertOnly: no updates. For a fault that makes the connector redo
	// its snapshot, which reports the rows' state rather than their
	// history: an update made meanwhile has no event of its own then.
	insertOnly bool
	// noSchemas turns the JsonConverter's embedded value schemas off,
	// which the schema check needs, for a topic too big to carry them.
	noSchemas bool
	// duringSnapshot: inject as soon as the connector starts, rather than
	// once it streams (inject waits for what it needs itself).
	duringSnapshot bool
	// before is how long the connector streams before the fault, after
	// is how long the writer goes on after it.
	before, after time.Duration
	// inject causes the fault and returns when it is over. The fault ends
	// when it returns, unless it set faultEnv.faultEnd itself.
	inject func(ctx context.Context, e *faultEnv) error
}

var faultScenarios = []faultScenario{
	{name: "PostgreSQL fast shutdown (pg_ctl stop -m fast), start", suites: ciSuite | fullSuite, db: postgresDB,
		before: 2 * time.Second, after: 3 * time.Second, inject: pgOutage(0, false)},
	{name: "PostgreSQL down 5 s (fast stop)", suites: ciSuite, db: postgresDB,
		before: 2 * time.Second, after: 3 * time.Second, inject: pgOutage(5*time.Second, false)},
	{name: "PostgreSQL down 60 s (fast stop)", suites: fullSuite, db: postgresDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: pgOutage(60*time.Second, false)},
	{name: "PostgreSQL crash (pg_ctl stop -m immediate), down 60 s", suites: fullSuite, db: postgresDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: pgOutage(60*time.Second, true)},
	{name: "MariaDB restart (SIGTERM, start)", suites: fullSuite, db: mariaDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: mariaOutage(2*time.Second, false)},
	{name: "MariaDB crash (SIGKILL), down 10 s", suites: fullSuite, db: mariaDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: mariaOutage(10*time.Second, true)},
	{name: "broker frozen 5 s (SIGSTOP, SIGCONT)", suites: ciSuite, db: postgresDB,
		before: 2 * time.Second, after: 3 * time.Second, inject: brokerFreeze(5 * time.Second)},
	{name: "broker frozen 30 s (SIGSTOP, SIGCONT)", suites: fullSuite, db: postgresDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: brokerFreeze(30 * time.Second)},
	{name: "broker restart (SIGTERM, same port and data dir)", suites: fullSuite, db: postgresDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: brokerRestart(false)},
	{name: "broker restart (kill -9, same port and data dir)", suites: fullSuite, db: postgresDB,
		before: 5 * time.Second, after: 10 * time.Second, inject: brokerRestart(true)},
	{name: "partition connector-PostgreSQL 30 s", suites: fullSuite, db: postgresDB, netns: true,
		before: 5 * time.Second, after: 10 * time.Second, inject: partition(30*time.Second, true, false)},
	{name: "partition connector-broker 30 s", suites: fullSuite, db: postgresDB, netns: true,
		before: 5 * time.Second, after: 10 * time.Second, inject: partition(30*time.Second, false, true)},
	{name: "partition connector-PostgreSQL and connector-broker 30 s", suites: fullSuite, db: postgresDB, netns: true,
		before: 5 * time.Second, after: 10 * time.Second, inject: partition(30*time.Second, true, true)},
	{name: "offsets file system full (tmpfs), free, restart", suites: fullSuite, db: postgresDB, tmpfsOffsets: true,
		before: 5 * time.Second, after: 10 * time.Second, inject: offsetsDiskFull},
	{name: "SIGTERM during the snapshot (300000 rows), restart", suites: fullSuite, db: postgresDB,
		initialRows: 300000, insertOnly: true, noSchemas: true, duringSnapshot: true, after: 10 * time.Second, inject: sigtermDuringSnapshot},
}

// faultResult is one row of the report.
type faultResult struct {
	fault string
	tally
	recovery  time.Duration
	recovered bool
	started   bool // the subtest ran (it may have skipped)
	ran       bool // the scenario ran
	skipped   string
	passed    bool
	notes     []string
}

func TestFaultInjection(t *testing.T) {
	if os.Getenv(testdb.EnvSkip) == "1" {
		t.Skipf("%s=1: the fault suite needs database servers", testdb.EnvSkip)
	}
	suite, label := ciSuite, "CI subset (set "+envFaultTests+"=1 for every scenario)"
	if os.Getenv(envFaultTests) == "1" {
		suite, label = fullSuite, "full suite"
	}
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatalf("the fault suite checks the topics with kcat (Debian package kcat, installed by .ci/run): %v", err)
	}
	began := time.Now()
	bin := buildFaultBinary(t.Context(), t, suite == fullSuite)
	var results []*faultResult
	for i := range faultScenarios {
		sc := &faultScenarios[i]
		if sc.suites&suite == 0 {
			continue
		}
		res := &faultResult{fault: sc.name}
		res.passed = t.Run(sc.name, func(t *testing.T) {
			res.started = true
			runFaultScenario(t, bin, sc, res)
		})
		if res.started { // not filtered out by -run
			results = append(results, res)
		}
	}
	t.Logf("%s: %d scenarios in %s", label, len(results), time.Since(began).Round(time.Second))
	table := faultTable(results)
	t.Logf("results (%s):\n%s", label, table)
	if path := os.Getenv(envFaultReport); path != "" {
		report := fmt.Sprintf("# Tributary fault-injection results: %s\n\n%s\n%s", label, began.UTC().Format(time.RFC3339), table)
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			t.Errorf("writing %s=%s: %v", envFaultReport, path, err)
		}
	}
}

// faultTable formats the results as a Markdown table.
func faultTable(results []*faultResult) string {
	var b strings.Builder
	b.WriteString("\n| fault | written | delivered | missing | duplicates | order violations | recovery | result | notes |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |\n")
	for _, r := range results {
		if !r.ran {
			fmt.Fprintf(&b, "| %s | | | | | | | skipped | %s |\n", r.fault, mdEscape(r.skipped))
			continue
		}
		rec := "not measured"
		if r.recovered {
			rec = fmt.Sprintf("%.1f s", r.recovery.Seconds())
		}
		result := "PASS"
		if !r.passed {
			result = "FAIL"
		}
		// The test log has the notes in full; the table keeps rows short.
		notes := make([]string, len(r.notes))
		for i, n := range r.notes {
			if len(n) > 300 {
				n = n[:300] + "..."
			}
			notes[i] = n
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %s | %s | %s |\n", r.fault, r.written, r.delivered, r.missing,
			r.duplicates, r.orderViolations, rec, result, mdEscape(strings.Join(notes, "; ")))
	}
	return b.String()
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// faultEnv is the world of one scenario.
type faultEnv struct {
	t   *testing.T
	sc  *faultScenario
	res *faultResult
	dir string
	bin *faultBinary

	pg     *testdb.Postgres
	maria  *testdb.MariaDB
	ns     *netns
	broker *brokerProc
	// dbHost and dbPort are the database as the connector reaches it.
	dbHost      string
	dbPort      int
	cfgPath     string
	offsetsPath string

	connector     *faultProc
	connectorLogs []string
	tail          *liveTail
	// faultEnd is when the fault was over: the start of the recovery
	// time.
	faultEnd time.Time
}

// note adds to the scenario's row and the test log.
func (e *faultEnv) note(format string, args ...any) {
	e.t.Helper()
	s := fmt.Sprintf(format, args...)
	e.res.notes = append(e.res.notes, s)
	e.t.Log(s)
}

// fail records a product failure: the scenario goes on, so that the row
// still shows every count.
func (e *faultEnv) fail(format string, args ...any) {
	e.t.Helper()
	s := fmt.Sprintf(format, args...)
	e.res.notes = append(e.res.notes, "FAILED: "+s)
	e.t.Error(s)
}

func runFaultScenario(t *testing.T, bin *faultBinary, sc *faultScenario, res *faultResult) {
	defer func() {
		if t.Skipped() {
			res.skipped = "needs root"
		}
	}()
	if sc.netns {
		requireRoot(t, "the network partition scenario (ip netns, iptables)")
	}
	if sc.tmpfsOffsets {
		requireRoot(t, "the disk-full scenario (mount -t tmpfs)")
	}
	res.ran = true
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	e := &faultEnv{t: t, sc: sc, res: res, dir: t.TempDir(), bin: bin}
	t.Cleanup(func() {
		if t.Failed() {
			e.dumpLogs()
		}
	})
	initial := e.setup(ctx)
	if err := e.startConnector(ctx); err != nil {
		t.Fatal(err)
	}
	e.tail = startTail(ctx, e.broker.addr, faultTopic)
	t.Cleanup(e.tail.stop)
	if !sc.duringSnapshot {
		// A snapshot reports the rows as they are when it reads them: a
		// change made earlier has no event of its own. So the writer
		// starts once the snapshot is on the topic.
		if err := e.waitFor(ctx, 2*time.Minute, "the snapshot on the topic", func() bool {
			return e.tail.missing(initial) == 0
		}); err != nil {
			t.Fatal(err)
		}
	}

	w := newWriter(e.newStore(), writeRate, int64(len(initial))+1, sc.insertOnly)
	w.start(ctx)
	stopped := false
	var writes []committedWrite
	stopWriter := func() {
		if !stopped {
			stopped = true
			writes = append(initial, w.stop()...)
		}
	}
	defer stopWriter()

	if !sc.duringSnapshot {
		// The fault must hit a connector that streams: wait for the
		// writer's first change to come through.
		first := rowVersion{seq: int64(len(initial)) + 1}
		if err := e.waitFor(ctx, 2*time.Minute, "the writer's first change on the topic", func() bool {
			_, ok := e.tail.firstSeen(first)
			return ok
		}); err != nil {
			t.Fatal(err)
		}
		sleepCtx(ctx, sc.before)
	}
	faultStart := time.Now()
	if err := sc.inject(ctx, e); err != nil {
		e.fail("fault: %v", err)
	}
	if e.faultEnd.IsZero() {
		e.faultEnd = time.Now()
	}
	t.Logf("fault over after %s", e.faultEnd.Sub(faultStart).Round(time.Millisecond))
	sleepCtx(ctx, sc.after)
	stopWriter()
	if retries, lastErr := w.stats(); retries > 0 {
		t.Logf("writer retried %d times (last error: %v)", retries, lastErr)
	}

	// Every committed change must reach the topic.
	if err := e.waitFor(ctx, drainTimeout, "every committed change on the topic", func() bool {
		return e.tail.missing(writes) == 0
	}); err != nil {
		e.fail("%v (%d of %d changes not on the topic)", err, e.tail.missing(writes), len(writes))
	}
	// Late duplicates (a replay still under way) show up in the final read.
	sleepCtx(ctx, time.Second)
	if e.connector.exited() {
		e.fail("the connector exited during the scenario with code %d (%v)", e.connector.exitCode(), e.connector.err)
	} else if err := e.connector.terminate(ctx, time.Minute); err != nil {
		e.fail("graceful stop after the scenario: %v", err)
	}
	e.tail.stop()

	evs, err := readTopic(ctx, e.broker.addr, faultTopic)
	if err != nil {
		// Still count what the live tail saw, so the row shows how much
		// got through; duplicates and order need the full read.
		e.fail("final read: %v; counts from the live tail, without duplicates and order", err)
		evs = e.tail.events()
	}
	res.tally = count(writes, evs)
	e.recovery(writes)
	t.Logf("written %d, delivered %d, missing %d, duplicates %d, order violations %d, unexpected %d, recovery %s (recovered %v)",
		res.written, res.delivered, res.missing, res.duplicates, res.orderViolations, res.unexpected, res.recovery.Round(time.Millisecond), res.recovered)
	if res.missing > 0 {
		var sample []string
		for _, m := range res.missingSample {
			sample = append(sample, fmt.Sprintf("%v (committed %s, %s after the fault ended)", m.rowVersion,
				m.at.Format("15:04:05.000"), m.at.Sub(e.faultEnd).Round(time.Millisecond)))
		}
		e.fail("%d committed changes missing from %s; first: %s", res.missing, faultTopic, strings.Join(sample, ", "))
	}
	if res.orderViolations > 0 {
		e.fail("%d per-row order violations: %s", res.orderViolations, strings.Join(res.violationSample, ", "))
	}
	if n := len(res.schemaChanges); n > 0 {
		e.fail("the value schema of %s changed %d times although the table did not: %s", faultTopic, n, strings.Join(res.schemaChanges[:min(3, n)], "; "))
	}
	if res.unexpected > 0 {
		e.fail("%d events for changes never committed: %s", res.unexpected, strings.Join(res.unexpectedSample, ", "))
	}
	if !res.recovered {
		e.fail("recovery not measured: the first change committed after the fault never reached the topic")
	}
	e.logDigest()
	// The scanner must find the password where it is, or its silence
	// about the logs would prove nothing.
	if hits, err := scanForSecret([]string{e.cfgPath}, faultPassword); err != nil || len(hits) == 0 {
		t.Fatalf("the password scan does not find the password in the connector's configuration (%v)", err)
	}
	hits, err := scanForSecret(e.connectorLogs, faultPassword)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) > 0 {
		e.fail("the database password appears %d times in the connector's output: %s", len(hits), strings.Join(hits[:min(3, len(hits))], " | "))
	}
}

// recovery sets the time from the fault's end until the first change
// committed after it was readable from the topic.
func (e *faultEnv) recovery(writes []committedWrite) {
	for _, w := range writes {
		if w.at.Before(e.faultEnd) {
			continue
		}
		if at, ok := e.tail.firstSeen(w.rowVersion); ok {
			e.res.recovery, e.res.recovered = at.Sub(e.faultEnd), true
		}
		return
	}
}

// waitFor polls cond until it holds, failing early when the connector
// process is gone, since nothing more will arrive then.
func (e *faultEnv) waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if e.connector != nil && e.connector.exited() {
			return fmt.Errorf("waiting for %s: the connector exited with code %d (%v): %w", what, e.connector.exitCode(), e.connector.err, errProcessGone)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// setup starts the database, the broker and (for the partition) the
// namespace, and writes the connector's configuration. It returns the
// initial rows as changes committed.
func (e *faultEnv) setup(ctx context.Context) []committedWrite {
	t := e.t
	host := "127.0.0.1"
	if e.sc.netns {
		ns, err := newNetns(ctx, t)
		if err != nil {
			t.Fatal(err)
		}
		e.ns, host = ns, ns.hostIP
	}
	var err error
	switch e.sc.db {
	case postgresDB:
		err = e.setupPostgres(ctx, host)
	case mariaDB:
		err = e.setupMariaDB(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	initial := make([]committedWrite, e.initialRows())
	for i := range initial {
		initial[i] = committedWrite{rowVersion: rowVersion{seq: int64(i) + 1}, at: now}
	}
	if e.broker, err = newBroker(ctx, t, e.bin, e.dir, host); err != nil {
		t.Fatal(err)
	}
	e.offsetsPath = filepath.Join(e.dir, "offsets.json")
	if e.sc.tmpfsOffsets {
		mnt := filepath.Join(e.dir, "offsets-fs")
		// 1 MiB: room for the offsets file and its temp copy, little
		// enough to fill at once.
		if err := mountTmpfs(ctx, t, mnt, "1m"); err != nil {
			t.Fatal(err)
		}
		e.offsetsPath = filepath.Join(mnt, "offsets.json")
	}
	if err := e.writeConfig(); err != nil {
		t.Fatal(err)
	}
	return initial
}

// initialRows is the size of the table the connector snapshots.
func (e *faultEnv) initialRows() int {
	if e.sc.initialRows == 0 {
		return 20
	}
	return e.sc.initialRows
}

// setupPostgres starts PostgreSQL with the connector's role behind
// password authentication over TCP, listening also on host when the
// connector lives in a namespace.
func (e *faultEnv) setupPostgres(ctx context.Context, host string) error {
	pg := testdb.StartPostgres(e.t)
	e.pg, e.dbHost, e.dbPort = pg, host, pg.Port
	if host != "127.0.0.1" {
		if err := pg.ExecContext(ctx, "postgres", "ALTER SYSTEM SET listen_addresses = '127.0.0.1, "+host+"'"); err != nil {
			return fmt.Errorf("making PostgreSQL listen on %s: %w", host, err)
		}
		if err := pg.StopServer(ctx); err != nil {
			return fmt.Errorf("restarting PostgreSQL to listen on %s: %w", host, err)
		}
		if err := pg.StartServer(ctx); err != nil {
			return fmt.Errorf("restarting PostgreSQL to listen on %s: %w", host, err)
		}
	}
	// testdb trusts every connection; the connector's role must prove its
	// password, so that the password really travels and could leak. The
	// first matching pg_hba.conf line wins, hence prepended.
	hba := filepath.Join(pg.DataDir(), "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		return fmt.Errorf("reading pg_hba.conf: %w", err)
	}
	lines := fmt.Sprintf("host all %[1]s 0.0.0.0/0 scram-sha-256\nhost replication %[1]s 0.0.0.0/0 scram-sha-256\n", faultRole)
	if err := os.WriteFile(hba, append([]byte(lines), old...), 0o600); err != nil {
		return fmt.Errorf("writing pg_hba.conf: %w", err)
	}
	if err := pg.CreateDatabaseContext(ctx, "fault"); err != nil {
		return err
	}
	err = pg.ExecContext(ctx, "fault",
		"SET password_encryption = 'scram-sha-256'",
		fmt.Sprintf("CREATE ROLE %s WITH LOGIN SUPERUSER REPLICATION PASSWORD '%s'", faultRole, faultPassword),
		"CREATE SCHEMA fault",
		"CREATE TABLE fault.events (seq bigint PRIMARY KEY, ver bigint NOT NULL, pad text NOT NULL)",
		fmt.Sprintf("INSERT INTO fault.events SELECT g, 0, '%s' FROM generate_series(1, %d) g", padding, e.initialRows()),
		"SELECT pg_reload_conf()")
	if err != nil {
		return fmt.Errorf("preparing PostgreSQL: %w", err)
	}
	// Prove the role needs its password: the reload is asynchronous.
	dsn := fmt.Sprintf("postgres://%s@%s:%d/fault?sslmode=disable&connect_timeout=2", faultRole, "127.0.0.1", pg.Port)
	return e.waitFor(ctx, 10*time.Second, "PostgreSQL to require the connector role's password", func() bool {
		c, err := pgx.Connect(ctx, dsn)
		if err == nil {
			c.Close(ctx)
			return false
		}
		c, err = pgx.Connect(ctx, strings.Replace(dsn, faultRole+"@", faultRole+":"+faultPassword+"@", 1))
		if err != nil {
			return false
		}
		c.Close(ctx)
		return true
	})
}

func (e *faultEnv) setupMariaDB(ctx context.Context) error {
	m := testdb.StartMariaDB(e.t)
	e.maria, e.dbHost, e.dbPort = m, m.Host, m.Port
	values := make([]string, e.initialRows())
	for i := range values {
		values[i] = fmt.Sprintf("(%d, 0, '%s')", i+1, padding)
	}
	stmts := []string{
		"CREATE DATABASE fault",
		"CREATE TABLE fault.events (seq BIGINT PRIMARY KEY, ver BIGINT NOT NULL, pad TEXT NOT NULL)",
		"INSERT INTO fault.events VALUES " + strings.Join(values, ","),
	}
	// mariadb-install-db's anonymous ''@'localhost' is more specific than
	// '%' for a client on 127.0.0.1, which MariaDB resolves to localhost:
	// the role needs an entry of its own there.
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		stmts = append(stmts,
			fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", faultRole, host, faultPassword),
			fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%s'", faultRole, host))
	}
	if err := m.ExecContext(ctx, "", stmts...); err != nil {
		return fmt.Errorf("preparing MariaDB: %w", err)
	}
	return nil
}

// newStore opens the writer's own connection to the database.
func (e *faultEnv) newStore() rowStore {
	if e.pg != nil {
		return &pgStore{dsn: e.pg.DSN("fault") + "&connect_timeout=2"}
	}
	db, err := sql.Open("mysql", e.maria.DSN("fault")+"&timeout=2s&readTimeout=5s&writeTimeout=5s")
	if err != nil {
		e.t.Fatalf("opening the writer's MariaDB pool: %v", err)
	}
	return &mariaStore{db: db}
}

// writeConfig writes the connector's configuration (JSON, which is YAML).
func (e *faultEnv) writeConfig() error {
	worker := map[string]string{
		"bootstrap.servers":            e.broker.addr,
		"offset.storage.file.filename": e.offsetsPath,
		"offset.flush.interval.ms":     "500",
		"key.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "false",
		"value.converter":              "org.apache.kafka.connect.json.JsonConverter",
		// Value schemas on: a schema that changes although the table
		// did not is a fault's trace too.
		"value.converter.schemas.enable": strconv.FormatBool(!e.sc.noSchemas),
	}
	conn := map[string]string{
		"database.hostname":  e.dbHost,
		"database.port":      strconv.Itoa(e.dbPort),
		"database.user":      faultRole,
		"database.password":  faultPassword,
		"topic.prefix":       "fault",
		"table.include.list": "fault.events",
		// Restart quickly after a retriable failure (default 10 s).
		"retriable.restart.connector.wait.ms": "1000",
	}
	switch e.sc.db {
	case postgresDB:
		conn["connector.class"] = "io.debezium.connector.postgresql.PostgresConnector"
		conn["database.dbname"] = "fault"
		conn["slot.name"] = "tributary_fault"
	case mariaDB:
		conn["connector.class"] = "io.debezium.connector.mariadb.MariaDbConnector"
		conn["database.server.id"] = "5601"
		conn["database.include.list"] = "fault"
		conn["schema.history.internal.kafka.topic"] = "schemahistory.fault"
		conn["schema.history.internal.kafka.bootstrap.servers"] = e.broker.addr
	}
	data, err := json.MarshalIndent(map[string]any{"worker": worker, "name": faultName, "config": conn}, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the connector configuration: %w", err)
	}
	e.cfgPath = filepath.Join(e.dir, "config.yaml")
	if err := os.WriteFile(e.cfgPath, data, 0o600); err != nil {
		return fmt.Errorf("writing the connector configuration: %w", err)
	}
	return nil
}

// startConnector starts `tributary run` (in the namespace, if any).
func (e *faultEnv) startConnector(ctx context.Context) error {
	if e.connector != nil && !e.connector.exited() {
		return errors.New("starting the connector: the previous run is still running")
	}
	n := len(e.connectorLogs) + 1
	log := filepath.Join(e.dir, fmt.Sprintf("connector-%d.log", n))
	ns := ""
	if e.ns != nil {
		ns = e.ns.name
	}
	p, err := startFaultProc(fmt.Sprintf("connector run %d", n), log, e.bin.command(ns, "run", "-c", e.cfgPath))
	if err != nil {
		return err
	}
	e.connector = p
	e.connectorLogs = append(e.connectorLogs, log)
	e.t.Cleanup(p.kill)
	return ctx.Err()
}

// logDigest logs the connector's warnings and errors, one line per
// message with a count and its first occurrence, as the scenario's
// evidence of how the connector saw the fault.
func (e *faultEnv) logDigest() {
	type seen struct {
		n     int
		first string
	}
	var order []string
	byMsg := map[string]*seen{}
	for _, l := range e.connectorLogs {
		data, _ := os.ReadFile(l)
		for line := range strings.SplitSeq(string(data), "\n") {
			if !strings.Contains(line, "level=WARN") && !strings.Contains(line, "level=ERROR") && !strings.HasPrefix(line, "error: ") {
				continue
			}
			msg := logMessage(line)
			key := digestKey(msg)
			if s, ok := byMsg[key]; ok {
				s.n++
				continue
			}
			byMsg[key] = &seen{n: 1, first: filepath.Base(l) + ": " + msg}
			order = append(order, key)
		}
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "\n  %d× %.400s", byMsg[k].n, byMsg[k].first)
	}
	if b.Len() > 0 {
		e.t.Logf("connector warnings and errors:%s", b.String())
	}
}

// digestKey groups log messages that differ only in numbers (ports,
// positions, attempts): the message and the start of its error.
func digestKey(msg string) string {
	key, _, _ := strings.Cut(msg, `" `)
	if _, errText, ok := strings.Cut(msg, "error="); ok {
		key += " " + errText[:min(len(errText), 100)]
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '#'
		}
		return r
	}, key)
}

// dumpLogs shows the end of every process's output of a failed scenario.
func (e *faultEnv) dumpLogs() {
	for _, l := range e.connectorLogs {
		data, _ := os.ReadFile(l)
		e.t.Logf("--- %s ---\n%s", filepath.Base(l), tail(data, 80))
	}
	if e.broker != nil {
		e.t.Log(e.broker.logs())
	}
}

// pgOutage stops PostgreSQL (fast shutdown, which must finish within
// 10 s with the connector attached, or immediate when crash), keeps it
// down for down, and starts it again.
func pgOutage(down time.Duration, crash bool) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		if crash {
			if err := e.pg.CrashServer(ctx); err != nil {
				return fmt.Errorf("crashing PostgreSQL: %w", err)
			}
		} else {
			took, err := e.pg.StopFast(ctx, 10*time.Second)
			switch {
			case errors.Is(err, testdb.ErrShutdownHung):
				e.fail("pg_ctl stop -m fast with the connector attached did not complete within 10 s (%s): %v", took.Round(time.Millisecond), err)
			case err != nil:
				return fmt.Errorf("stopping PostgreSQL: %w", err)
			default:
				e.note("fast shutdown took %.1f s", took.Seconds())
			}
		}
		sleepCtx(ctx, down)
		if err := e.pg.StartServer(ctx); err != nil {
			return fmt.Errorf("starting PostgreSQL again: %w", err)
		}
		return nil
	}
}

// mariaOutage stops MariaDB (SIGTERM, or SIGKILL when crash), keeps it
// down for down and starts it again on the same port.
func mariaOutage(down time.Duration, crash bool) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		stop := e.maria.StopServer
		if crash {
			stop = e.maria.CrashServer
		}
		if err := stop(ctx); err != nil {
			return fmt.Errorf("stopping MariaDB: %w", err)
		}
		sleepCtx(ctx, down)
		if err := e.maria.StartServer(ctx); err != nil {
			return fmt.Errorf("starting MariaDB again: %w", err)
		}
		return nil
	}
}

// brokerFreeze stops the broker process (SIGSTOP) for d: connections stay
// open but nothing answers, as with a broker stuck in a long GC pause.
func brokerFreeze(d time.Duration) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		if err := e.broker.proc.signal(syscall.SIGSTOP); err != nil {
			return err
		}
		sleepCtx(ctx, d)
		return e.broker.proc.signal(syscall.SIGCONT)
	}
}

// brokerRestart stops the broker (SIGKILL when kill, else SIGTERM) and
// starts it again on the same port and data directory.
func brokerRestart(kill bool) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		if kill {
			e.broker.proc.kill()
		} else if err := e.broker.proc.terminate(ctx, 30*time.Second); err != nil {
			return fmt.Errorf("stopping the broker: %w", err)
		}
		if err := e.broker.start(ctx); err != nil {
			return fmt.Errorf("starting the broker again: %w", err)
		}
		// Did the topic survive? The connector's producer re-creates a
		// lost topic within a second, so this diagnosis can come too
		// late; the missing count does not depend on it.
		topics, err := brokerTopics(ctx, e.broker.addr)
		if err != nil {
			return err
		}
		if !slices.Contains(topics, faultTopic) {
			e.fail("the restarted broker (same data dir %s) no longer has topic %s; its topics: %v", e.broker.dataDir, faultTopic, topics)
		}
		return nil
	}
}

// brokerTopics lists the broker's topics with kcat. Listing all topics
// never creates one, as asking for a missing topic by name may.
func brokerTopics(ctx context.Context, addr string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", "-L", "-J", "-b", addr).Output()
	if err != nil {
		return nil, fmt.Errorf("listing the topics of %s with kcat: %w", addr, err)
	}
	var md struct {
		Topics []struct {
			Topic string `json:"topic"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		return nil, fmt.Errorf("kcat -L -J output of %s: %w: %.200q", addr, err, out)
	}
	var names []string
	for _, t := range md.Topics {
		names = append(names, t.Topic)
	}
	return names, nil
}

// partition drops the connector's traffic to the database and/or the
// broker for d, then heals.
func partition(d time.Duration, db, broker bool) func(context.Context, *faultEnv) error {
	return func(ctx context.Context, e *faultEnv) error {
		var ports []int
		if db {
			ports = append(ports, e.dbPort)
		}
		if broker {
			_, ps, err := net.SplitHostPort(e.broker.addr)
			if err != nil {
				return fmt.Errorf("broker address: %w", err)
			}
			p, err := strconv.Atoi(ps)
			if err != nil {
				return fmt.Errorf("broker port: %w", err)
			}
			ports = append(ports, p)
		}
		if err := e.ns.cut(ctx, ports...); err != nil {
			return err
		}
		sleepCtx(ctx, d)
		return e.ns.heal(ctx)
	}
}

// offsetsDiskFull fills the file system of the offsets file while the
// connector streams. The connector must report that it cannot commit,
// naming the offsets file, and the file must keep the last good commit;
// once space is free again (and the connector restarted, if it stopped)
// nothing may be lost.
func offsetsDiskFull(ctx context.Context, e *faultEnv) error {
	filler := filepath.Join(filepath.Dir(e.offsetsPath), "filler")
	n, err := fillDisk(filler)
	if err != nil {
		return err
	}
	e.t.Logf("filled the offsets file system with %d bytes", n)
	want := "offset.storage.file.filename=" + e.offsetsPath
	var line string
	err = e.waitFor(ctx, time.Minute, "an error naming the offsets file", func() bool {
		data, _ := os.ReadFile(e.connector.log)
		for l := range strings.SplitSeq(string(data), "\n") {
			if strings.Contains(l, want) && strings.Contains(l, "no space left on device") {
				line = l
				return true
			}
		}
		return false
	})
	exited := errors.Is(err, errProcessGone)
	switch {
	case line != "" && e.connector.exited():
		exited = true
	case line != "" && !exited:
		// Let a connector that stops on the error get there.
		if _, werr := e.connector.wait(ctx, 30*time.Second); werr == nil {
			exited = true
		}
	}
	switch {
	case line == "" && exited:
		e.fail("the connector exited with code %d without an error naming %s and ENOSPC", e.connector.exitCode(), want)
	case line == "":
		e.fail("no error naming %s and ENOSPC: %v", want, err)
	case exited && e.connector.exitCode() == 0:
		e.fail("the connector exited 0 although it could not commit offsets: %s", line)
	case exited:
		e.note("connector stopped with exit code %d: %s", e.connector.exitCode(), logMessage(line))
	default:
		e.note("connector kept running, logging: %s", logMessage(line))
	}
	// The failed commit must have left the previous file as it was.
	if store, err := offsets.OpenFile(e.offsetsPath); err != nil {
		e.fail("the offsets file did not survive the failed commit: %v", err)
	} else if off, err := store.Get(ctx, faultName, map[string]any{"server": "fault"}); err != nil || off["lsn"] == nil {
		e.fail("the offsets file lost the connector's offset after the failed commit: %v %v", off, err)
	}
	if temps, _ := filepath.Glob(e.offsetsPath + ".tmp*"); len(temps) > 0 {
		e.fail("the failed commit left temp files behind: %v", temps)
	}
	if err := os.Remove(filler); err != nil {
		return fmt.Errorf("freeing the offsets file system: %w", err)
	}
	if exited {
		if err := e.startConnector(ctx); err != nil {
			return err
		}
	}
	return nil
}

// logMessage drops the time and level of a log line: the report wants
// what was said.
func logMessage(line string) string {
	line = strings.TrimSpace(line)
	if i := strings.Index(line, "msg="); i >= 0 {
		return line[i:]
	}
	return line
}

// sigtermDuringSnapshot stops the connector gracefully while it is
// snapshotting the big table, then starts it again: the stop must exit 0,
// and the restart must (re)deliver every row.
func sigtermDuringSnapshot(ctx context.Context, e *faultEnv) error {
	want := max(1, e.initialRows()/50)
	if err := e.waitFor(ctx, 2*time.Minute, "the snapshot to be under way", func() bool {
		_, reads := e.tail.count()
		return reads >= want
	}); err != nil {
		return err
	}
	sent := time.Now()
	if err := e.connector.terminate(ctx, time.Minute); err != nil {
		e.fail("SIGTERM during the snapshot: %v", err)
		e.connector.kill()
	} else {
		e.note("exit 0 %.1f s after SIGTERM", time.Since(sent).Seconds())
	}
	evs, err := readTopic(ctx, e.broker.addr, faultTopic)
	if err != nil {
		return err
	}
	read := map[int64]bool{}
	for _, ev := range evs {
		if ev.op == "r" {
			read[ev.rv.seq] = true
		}
	}
	if len(read) >= e.initialRows() {
		e.fail("the snapshot had completed (%d rows) before SIGTERM took effect: the scenario tested nothing; make the table bigger", len(read))
	} else {
		e.note("snapshot stopped after %d of %d rows", len(read), e.initialRows())
	}
	return e.startConnector(ctx)
}
