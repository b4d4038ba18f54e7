package testdb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// PostgresBinDir is where Debian's postgresql-15 package installs the
	// server binaries (they are not on PATH).
	PostgresBinDir = "/usr/lib/postgresql/15/bin"
	// postgresPackage is the Debian package to name when binaries are missing.
	postgresPackage = "postgresql-15"
)

// postgresConf is appended to the template's postgresql.conf rather than
// passed with -c on the command line, because command-line settings cannot
// be overridden by ALTER SYSTEM: tests that, say, lower wal_level and
// restart the server must be able to.
const postgresConf = `
# Added by tributary internal/testdb: a throwaway server for tests.
listen_addresses = '127.0.0.1'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
fsync = off
`

// Postgres is a private PostgreSQL 15 server listening on Host:Port, with
// data directory Dir/data, log Dir/log and its Unix socket in Dir. Its
// superuser is "postgres" and every connection is trusted (no password).
type Postgres struct {
	Host string
	Port int
	Dir  string

	logger  *slog.Logger
	runuser string // path of runuser when we are root, else empty
	uid     int    // owner of Dir when we are root
	gid     int
	ownsDir bool // Dir was created by us and is removed by Close
	dog     *watchdog

	mu      sync.Mutex // guards running and closed
	running bool
	closed  bool
}

// StartPostgres starts a private PostgreSQL 15 server for the test and
// registers a cleanup that stops it and removes its directory. It fails the
// test if the server cannot start (including when postgresql-15 is not
// installed) and skips it if TRIBUTARY_SKIP_DB=1.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	skipIfRequested(t)
	ctx, cancel := tbContext()
	defer cancel()
	p, err := NewPostgres(ctx, "", testLogger(t))
	if err != nil {
		t.Fatalf("testdb: start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return p
}

// NewPostgres starts a private PostgreSQL 15 server on a free port of
// 127.0.0.1 with wal_level=logical, max_replication_slots=20,
// max_wal_senders=20, fsync=off and trust authentication for the superuser
// "postgres". The server runs as the postgres user when this process is
// root.
//
// With dir empty, the server lives in a new temporary directory that Close
// removes. Otherwise it lives in dir (created if needed), an existing data
// directory there is reused, and Close only stops the server, so a demo can
// keep its data between runs.
//
// Close must be called to stop the server; if the process exits without
// calling it, a watchdog stops the server (and removes a temporary
// directory) shortly after.
func NewPostgres(ctx context.Context, dir string, logger *slog.Logger) (*Postgres, error) {
	began := time.Now()
	if logger == nil {
		logger = discardLogger()
	}
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		if err := requireBinary(filepath.Join(PostgresBinDir, name), postgresPackage); err != nil {
			return nil, err
		}
	}
	p := &Postgres{Host: "127.0.0.1", logger: logger}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		var err error
		if p.runuser, err = findBinary("runuser", "util-linux"); err != nil {
			return nil, err
		}
		if p.uid, p.gid, err = postgresUser(); err != nil {
			return nil, err
		}
	}

	if dir == "" {
		// os.MkdirTemp rather than t.TempDir: the server runs as the
		// postgres user, which cannot enter t.TempDir's root-only parent.
		d, err := os.MkdirTemp("", "tributary-pg-*")
		if err != nil {
			return nil, fmt.Errorf("create PostgreSQL directory: %w", err)
		}
		p.Dir, p.ownsDir = d, true
	} else {
		d, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("resolve PostgreSQL directory %s: %w", dir, err)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create PostgreSQL directory %s: %w", d, err)
		}
		p.Dir = d
	}
	if err := p.chown(p.Dir); err != nil {
		_ = p.removeOwnedDir()
		return nil, err
	}
	if p.runuser != "" && !p.ownsDir {
		// A caller's directory may sit below a root-only parent, which
		// otherwise surfaces later as a puzzling pg_ctl error.
		if _, err := runCommand(ctx, p.runuser, []string{"-u", "postgres", "--", "test", "-w", p.Dir}, "/"); err != nil {
			return nil, fmt.Errorf("the postgres user, which runs the server because this process is root, cannot write to %s (is every parent directory searchable by others? chmod o+x): %w", p.Dir, err)
		}
	}
	removeDir := ""
	if p.ownsDir {
		removeDir = p.Dir
	}
	var err error
	p.dog, err = startWatchdog(filepath.Join(p.DataDir(), "postmaster.pid"), p.DataDir(), "QUIT", removeDir)
	if err != nil {
		_ = p.removeOwnedDir()
		return nil, fmt.Errorf("guard PostgreSQL in %s: %w", p.Dir, err)
	}

	if err := p.prepareDataDir(ctx); err != nil {
		return nil, p.closeAfter(err)
	}
	for attempt := 1; ; attempt++ {
		if p.Port, err = freePort(); err != nil {
			return nil, p.closeAfter(err)
		}
		err = p.start(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, p.closeAfter(err)
		}
		logger.Info("testdb: PostgreSQL port was taken, retrying with another", "port", p.Port, "attempt", attempt)
	}
	logger.Info("testdb: started PostgreSQL", "port", p.Port, "dir", p.Dir,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return p, nil
}

// DataDir is the server's data directory.
func (p *Postgres) DataDir() string { return filepath.Join(p.Dir, "data") }

// LogFile is the server's log file.
func (p *Postgres) LogFile() string { return filepath.Join(p.Dir, "log") }

// DSN returns a URL for connecting to database dbname as the superuser.
func (p *Postgres) DSN(dbname string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", p.Host, p.Port, dbname)
}

// CreateDatabase creates database name, failing the test on error.
func (p *Postgres) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := p.CreateDatabaseContext(ctx, name); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// CreateDatabaseContext creates database name.
func (p *Postgres) CreateDatabaseContext(ctx context.Context, name string) error {
	return p.ExecContext(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// Exec runs each statement in database dbname on one connection, failing
// the test on the first error.
func (p *Postgres) Exec(t testing.TB, dbname string, sql ...string) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := p.ExecContext(ctx, dbname, sql...); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// ExecContext runs each statement in database dbname on one connection (so
// session settings carry over), stopping at the first error. A statement may
// contain several commands separated by semicolons.
func (p *Postgres) ExecContext(ctx context.Context, dbname string, sql ...string) error {
	conn, err := pgx.Connect(ctx, p.DSN(dbname))
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL database %s on port %d: %w", dbname, p.Port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, stmt := range sql {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("PostgreSQL database %s on port %d: execute %q: %w", dbname, p.Port, stmt, err)
		}
	}
	return nil
}

// Stop shuts the server down cleanly (pg_ctl stop -m fast), ending every
// connection, failing the test on error. Start brings it back. If the fast
// shutdown has not finished after 10 s (a replication client that does not
// confirm what it was sent holds it up), Stop falls back to immediate mode.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := p.StopServer(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// Crash stops the server the way a crash would (pg_ctl stop -m immediate:
// no checkpoint, crash recovery on the next Start), failing the test on
// error.
func (p *Postgres) Crash(t testing.TB) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := p.CrashServer(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// Start starts the stopped server again with the same port and data,
// failing the test on error.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := p.StartServer(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// StopServer shuts the server down cleanly (pg_ctl stop -m fast), falling
// back to immediate mode after 10 s; see Stop.
func (p *Postgres) StopServer(ctx context.Context) error { return p.stopMode(ctx, "fast", true) }

// ErrShutdownHung is returned by StopFast when a fast shutdown did not
// complete in time.
var ErrShutdownHung = errors.New("fast shutdown did not complete")

// StopFast is pg_ctl stop -m fast that must complete within timeout, as a
// DBA's restart would: it returns how long the shutdown took, or an error
// wrapping ErrShutdownHung when it did not finish (the server is then
// stopped in immediate mode so that the test can go on).
func (p *Postgres) StopFast(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	began := time.Now()
	err := p.stopModeTimeout(ctx, "fast", false, timeout)
	elapsed := time.Since(began)
	if err != nil {
		p.mu.Lock()
		hung := p.running
		p.mu.Unlock()
		if hung {
			if ierr := p.stopMode(ctx, "immediate", false); ierr != nil {
				return elapsed, errors.Join(err, ierr)
			}
			return elapsed, fmt.Errorf("%w within %s: %w", ErrShutdownHung, timeout, err)
		}
	}
	return elapsed, err
}

// CrashServer stops the server without a shutdown checkpoint
// (pg_ctl stop -m immediate).
func (p *Postgres) CrashServer(ctx context.Context) error { return p.stopMode(ctx, "immediate", false) }

func (p *Postgres) stopMode(ctx context.Context, mode string, fallback bool) error {
	timeout := 30 * time.Second
	if mode == "fast" {
		// A fast shutdown waits for each logical walsender's client to
		// confirm the WAL sent to it, up to wal_sender_timeout (60 s) if
		// the client never does; a test should not hang on that.
		timeout = 10 * time.Second
	}
	return p.stopModeTimeout(ctx, mode, fallback, timeout)
}

func (p *Postgres) stopModeTimeout(ctx context.Context, mode string, fallback bool, timeout time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("stop PostgreSQL on port %d: already closed", p.Port)
	}
	if !p.running {
		return fmt.Errorf("stop PostgreSQL on port %d: not running", p.Port)
	}
	began := time.Now()
	secs := strconv.Itoa(max(1, int(timeout/time.Second)))
	err := p.pgctl(ctx, "stop", "-w", "-t", secs, "-m", mode, "-D", p.DataDir())
	if err != nil && fallback && mode == "fast" && fileExists(filepath.Join(p.DataDir(), "postmaster.pid")) {
		p.logger.Warn("testdb: PostgreSQL fast shutdown did not finish, stopping it in immediate mode",
			"port", p.Port, "err", err)
		mode = "immediate"
		err = p.pgctl(ctx, "stop", "-w", "-t", "30", "-m", mode, "-D", p.DataDir())
	}
	if err != nil {
		return fmt.Errorf("stop PostgreSQL on port %d: %w\n%s", p.Port, err, logTail(p.LogFile(), 20))
	}
	p.running = false
	p.logger.Info("testdb: stopped PostgreSQL", "port", p.Port, "mode", mode,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return nil
}

// StartServer starts the stopped server again with the same port and data.
func (p *Postgres) StartServer(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("start PostgreSQL on port %d: already closed", p.Port)
	}
	if p.running {
		return fmt.Errorf("start PostgreSQL on port %d: already running", p.Port)
	}
	began := time.Now()
	if err := p.start(ctx); err != nil {
		return err
	}
	p.logger.Info("testdb: restarted PostgreSQL", "port", p.Port,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return nil
}

// Close stops the server immediately and, if NewPostgres created the
// directory, removes it. It is safe to call more than once.
func (p *Postgres) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.shutdown()
}

// closeAfter cleans up a half-started instance and returns cause (plus any
// cleanup error).
func (p *Postgres) closeAfter(cause error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if err := p.shutdown(); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// shutdown stops the server, the watchdog and removes an owned directory.
// p.mu must be held.
func (p *Postgres) shutdown() error {
	var errs []error
	// The context of the caller may be gone (t.Context is cancelled
	// before cleanups run), and cleanup must happen regardless.
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	// Check the pid file as well as p.running: a start that timed out may
	// have left a server behind.
	if p.running || fileExists(filepath.Join(p.DataDir(), "postmaster.pid")) {
		if err := p.pgctl(ctx, "stop", "-w", "-t", "30", "-m", "immediate", "-D", p.DataDir()); err != nil && p.running {
			errs = append(errs, fmt.Errorf("stop PostgreSQL on port %d: %w", p.Port, err))
		}
		p.running = false
	}
	if err := p.dog.stop(); err != nil {
		errs = append(errs, fmt.Errorf("PostgreSQL in %s: %w", p.Dir, err))
	}
	if err := p.removeOwnedDir(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		p.logger.Info("testdb: closed PostgreSQL", "port", p.Port, "dir", p.Dir)
	}
	return errors.Join(errs...)
}

func (p *Postgres) removeOwnedDir() error {
	if !p.ownsDir {
		return nil
	}
	if err := os.RemoveAll(p.Dir); err != nil {
		return fmt.Errorf("remove PostgreSQL directory %s: %w", p.Dir, err)
	}
	return nil
}

// prepareDataDir fills DataDir from the process-wide template unless it
// already holds a cluster (a reused directory).
func (p *Postgres) prepareDataDir(ctx context.Context) error {
	if fileExists(filepath.Join(p.DataDir(), "PG_VERSION")) {
		return nil
	}
	if fileExists(p.DataDir()) {
		return fmt.Errorf("%s exists but is not a PostgreSQL data directory (no PG_VERSION); remove it or choose another directory", p.DataDir())
	}
	tmpl, err := templates.get(ctx, "pg15", p.initTemplate)
	if err != nil {
		return err
	}
	return copyDir(ctx, tmpl, p.DataDir())
}

// initTemplate runs initdb into parent/data and appends postgresConf.
func (p *Postgres) initTemplate(ctx context.Context, parent string) (string, error) {
	began := time.Now()
	if err := p.chown(parent); err != nil {
		return "", err
	}
	data := filepath.Join(parent, "data")
	// --no-locale and UTF8 make sorting and encoding independent of the
	// caller's environment; --no-sync because the data is throwaway.
	_, err := p.command(ctx, parent, filepath.Join(PostgresBinDir, "initdb"),
		"-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	if err != nil {
		return "", fmt.Errorf("initialise PostgreSQL template: %w", err)
	}
	conf := filepath.Join(data, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", fmt.Errorf("open PostgreSQL template config: %w", err)
	}
	_, werr := f.WriteString(postgresConf)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return "", fmt.Errorf("write PostgreSQL template config %s: %w", conf, werr)
	}
	p.logger.Info("testdb: initialised PostgreSQL template", "dir", data,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return data, nil
}

// start runs the server on p.Port and waits until it accepts connections.
// p.mu must be held (or p not yet shared).
func (p *Postgres) start(ctx context.Context) error {
	logPath := p.LogFile()
	offset := fileSize(logPath)
	// pg_ctl hands -o to a shell, hence the quoting. The socket goes in
	// our own directory so instances never share a lock file.
	opts := "-p " + strconv.Itoa(p.Port) + " -k " + shellQuote(p.Dir)
	err := p.pgctl(ctx, "start", "-w", "-t", strconv.Itoa(int(readyTimeout/time.Second)),
		"-D", p.DataDir(), "-l", logPath, "-o", opts)
	if err != nil {
		// pg_ctl may have given up on a server that is still starting.
		if fileExists(filepath.Join(p.DataDir(), "postmaster.pid")) {
			_ = p.pgctl(context.WithoutCancel(ctx), "stop", "-w", "-t", "30", "-m", "immediate", "-D", p.DataDir())
		}
		if strings.Contains(logSince(logPath, offset), "Address already in use") {
			return fmt.Errorf("start PostgreSQL on port %d: %w", p.Port, errPortInUse)
		}
		return fmt.Errorf("start PostgreSQL in %s on port %d: %w\n%s", p.Dir, p.Port, err, logTail(logPath, 30))
	}
	p.running = true
	if err := p.waitReady(ctx); err != nil {
		stopErr := p.pgctl(context.WithoutCancel(ctx), "stop", "-w", "-t", "30", "-m", "immediate", "-D", p.DataDir())
		if stopErr == nil {
			p.running = false
		}
		return fmt.Errorf("PostgreSQL in %s on port %d: %w\n%s", p.Dir, p.Port, err, logTail(logPath, 30))
	}
	return nil
}

// waitReady polls until a connection succeeds. pg_ctl -w has already waited
// for the postmaster to report readiness; this makes sure TCP works too.
func (p *Postgres) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, p.DSN("postgres"))
		if err == nil {
			err = conn.Ping(attemptCtx)
			conn.Close(attemptCtx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %s: %w", readyTimeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// pgctl runs pg_ctl (as the postgres user when we are root).
func (p *Postgres) pgctl(ctx context.Context, args ...string) error {
	_, err := p.command(ctx, p.Dir, filepath.Join(PostgresBinDir, "pg_ctl"), args...)
	return err
}

// command runs a PostgreSQL program in dir, through runuser when we are
// root. dir is also the working directory, because the postgres user may
// not be allowed into ours.
func (p *Postgres) command(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	if p.runuser != "" {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = p.runuser
	}
	return runCommand(ctx, name, args, dir)
}

// chown gives path to the postgres user when we are root.
func (p *Postgres) chown(path string) error {
	if p.runuser == "" {
		return nil
	}
	if err := os.Chown(path, p.uid, p.gid); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", path, err)
	}
	return nil
}
