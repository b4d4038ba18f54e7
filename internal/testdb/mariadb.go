package testdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	// Registers the "mysql" database/sql driver used by Exec and the
	// readiness probe.
	_ "github.com/go-sql-driver/mysql"
)

// mariadbPackage is the Debian package to name when binaries are missing.
const mariadbPackage = "mariadb-server"

// MariaDB is a private MariaDB 10.11 server listening on Host:Port, with
// data directory Dir/data (binary logs Dir/data/binlog.*), log Dir/log,
// temporary files in Dir/tmp and its Unix socket Dir/sock. Its root user has no password; a `test`
// database exists.
type MariaDB struct {
	Host string
	Port int
	Dir  string

	logger   *slog.Logger
	mariadbd string
	install  string // mariadb-install-db
	asRoot   bool
	ownsDir  bool // Dir was created by us and is removed by Close
	dog      *watchdog

	mu     sync.Mutex // guards proc and closed
	proc   *mariadbProc
	closed bool
}

// mariadbProc is one run of mariadbd.
type mariadbProc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait has returned
	err    error         // cmd.Wait's result, readable after exited is closed
}

// StartMariaDB starts a private MariaDB 10.11 server for the test and
// registers a cleanup that kills it and removes its directory. It fails the
// test if the server cannot start (including when mariadb-server is not
// installed) and skips it if TRIBUTARY_SKIP_DB=1.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	skipIfRequested(t)
	ctx, cancel := tbContext()
	defer cancel()
	m, err := NewMariaDB(ctx, "", testLogger(t))
	if err != nil {
		t.Fatalf("testdb: start MariaDB: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return m
}

// NewMariaDB starts a private MariaDB 10.11 server on a free port of
// 127.0.0.1 with --log-bin, --binlog-format=ROW, --binlog-row-image=FULL,
// --server-id=1, a password-less root and a `test` database.
//
// With dir empty, the server lives in a new temporary directory that Close
// removes. Otherwise it lives in dir (created if needed), an existing data
// directory there is reused, and Close only stops the server.
//
// Close must be called to stop the server; if the process exits without
// calling it, a watchdog kills the server (and removes a temporary
// directory) shortly after.
func NewMariaDB(ctx context.Context, dir string, logger *slog.Logger) (*MariaDB, error) {
	began := time.Now()
	if logger == nil {
		logger = discardLogger()
	}
	m := &MariaDB{Host: "127.0.0.1", logger: logger, asRoot: os.Geteuid() == 0}
	var err error
	if m.mariadbd, err = findBinary("mariadbd", mariadbPackage); err != nil {
		return nil, err
	}
	if m.install, err = findBinary("mariadb-install-db", mariadbPackage); err != nil {
		return nil, err
	}

	if dir == "" {
		d, err := os.MkdirTemp("", "tributary-mariadb-*")
		if err != nil {
			return nil, fmt.Errorf("create MariaDB directory: %w", err)
		}
		m.Dir, m.ownsDir = d, true
	} else {
		d, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("resolve MariaDB directory %s: %w", dir, err)
		}
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create MariaDB directory %s: %w", d, err)
		}
		m.Dir = d
	}
	removeDir := ""
	if m.ownsDir {
		removeDir = m.Dir
	}
	// SIGKILL: the data is thrown away (or, for a kept directory,
	// InnoDB recovers it on the next start).
	m.dog, err = startWatchdog(m.pidFile(), m.DataDir(), "KILL", removeDir)
	if err != nil {
		_ = m.removeOwnedDir()
		return nil, fmt.Errorf("guard MariaDB in %s: %w", m.Dir, err)
	}

	if err := m.prepareDataDir(ctx); err != nil {
		return nil, m.closeAfter(err)
	}
	if err := os.MkdirAll(m.tmpDir(), 0o700); err != nil {
		return nil, m.closeAfter(fmt.Errorf("create MariaDB tmpdir: %w", err))
	}
	for attempt := 1; ; attempt++ {
		if m.Port, err = freePort(); err != nil {
			return nil, m.closeAfter(err)
		}
		err = m.start(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, m.closeAfter(err)
		}
		logger.Info("testdb: MariaDB port was taken, retrying with another", "port", m.Port, "attempt", attempt)
	}
	// mariadb-install-db creates `test` today; make sure of it rather than
	// depend on a packaging default.
	if err := m.ExecContext(ctx, "", "CREATE DATABASE IF NOT EXISTS test"); err != nil {
		return nil, m.closeAfter(err)
	}
	logger.Info("testdb: started MariaDB", "port", m.Port, "dir", m.Dir,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return m, nil
}

// DataDir is the server's data directory, which also holds the binary logs.
func (m *MariaDB) DataDir() string { return filepath.Join(m.Dir, "data") }

// LogFile is the server's log file (its stdout and stderr).
func (m *MariaDB) LogFile() string { return filepath.Join(m.Dir, "log") }

func (m *MariaDB) pidFile() string { return filepath.Join(m.Dir, "mariadbd.pid") }

func (m *MariaDB) tmpDir() string { return filepath.Join(m.Dir, "tmp") }

// DSN returns a github.com/go-sql-driver/mysql DSN for database dbname as
// root; dbname may be empty.
func (m *MariaDB) DSN(dbname string) string {
	return fmt.Sprintf("root@tcp(%s:%d)/%s?parseTime=false&multiStatements=true", m.Host, m.Port, dbname)
}

// Exec runs each statement in database dbname (may be empty) on one
// connection, failing the test on the first error.
func (m *MariaDB) Exec(t testing.TB, dbname string, sql ...string) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := m.ExecContext(ctx, dbname, sql...); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// ExecContext runs each statement in database dbname (may be empty) on one
// connection (so session variables carry over), stopping at the first
// error. A statement may contain several, separated by semicolons.
func (m *MariaDB) ExecContext(ctx context.Context, dbname string, stmts ...string) error {
	db, err := sql.Open("mysql", m.DSN(dbname))
	if err != nil {
		return fmt.Errorf("open MariaDB database %q on port %d: %w", dbname, m.Port, err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to MariaDB database %q on port %d: %w", dbname, m.Port, err)
	}
	defer conn.Close()
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("MariaDB database %q on port %d: execute %q: %w", dbname, m.Port, stmt, err)
		}
	}
	return nil
}

// Stop shuts the server down cleanly (SIGTERM), ending every connection,
// failing the test on error. Start brings it back.
func (m *MariaDB) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := m.StopServer(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// Crash kills the server (SIGKILL); the next Start runs crash recovery.
// It fails the test on error.
func (m *MariaDB) Crash(t testing.TB) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := m.CrashServer(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// Start starts the stopped server again with the same port and data,
// failing the test on error.
func (m *MariaDB) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := tbContext()
	defer cancel()
	if err := m.StartServer(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
}

// StopServer shuts the server down cleanly (SIGTERM, then SIGKILL if it is
// still running after 30 seconds).
func (m *MariaDB) StopServer(ctx context.Context) error {
	return m.stopWith(ctx, syscall.SIGTERM)
}

// CrashServer kills the server with SIGKILL.
func (m *MariaDB) CrashServer(ctx context.Context) error {
	return m.stopWith(ctx, syscall.SIGKILL)
}

func (m *MariaDB) stopWith(ctx context.Context, sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("stop MariaDB on port %d: already closed", m.Port)
	}
	if m.proc == nil {
		return fmt.Errorf("stop MariaDB on port %d: not running", m.Port)
	}
	began := time.Now()
	if err := m.stopProc(ctx, sig); err != nil {
		return fmt.Errorf("stop MariaDB on port %d: %w\n%s", m.Port, err, logTail(m.LogFile(), 20))
	}
	m.logger.Info("testdb: stopped MariaDB", "port", m.Port, "signal", sig.String(),
		"elapsed", time.Since(began).Round(time.Millisecond))
	return nil
}

// stopProc signals the running mariadbd and waits for it to exit, falling
// back to SIGKILL after readyTimeout. m.mu must be held.
func (m *MariaDB) stopProc(ctx context.Context, sig syscall.Signal) error {
	proc := m.proc
	if proc == nil {
		return nil
	}
	if err := proc.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("send %s to mariadbd: %w", sig, err)
	}
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	select {
	case <-proc.exited:
	case <-timer.C:
		m.logger.Warn("testdb: mariadbd ignored the signal, killing it", "port", m.Port, "signal", sig.String())
		proc.cmd.Process.Kill()
		<-proc.exited
	case <-ctx.Done():
		// Never leave a server behind because a caller gave up.
		proc.cmd.Process.Kill()
		<-proc.exited
	}
	m.proc = nil
	return nil
}

// StartServer starts the stopped server again with the same port and data.
func (m *MariaDB) StartServer(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("start MariaDB on port %d: already closed", m.Port)
	}
	if m.proc != nil {
		return fmt.Errorf("start MariaDB on port %d: already running", m.Port)
	}
	began := time.Now()
	if err := m.start(ctx); err != nil {
		return err
	}
	m.logger.Info("testdb: restarted MariaDB", "port", m.Port,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return nil
}

// Close kills the server and, if NewMariaDB created the directory, removes
// it. It is safe to call more than once.
func (m *MariaDB) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.shutdown()
}

// closeAfter cleans up a half-started instance and returns cause (plus any
// cleanup error).
func (m *MariaDB) closeAfter(cause error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if err := m.shutdown(); err != nil {
		return errors.Join(cause, err)
	}
	return cause
}

// shutdown kills the server, stops the watchdog and removes an owned
// directory. m.mu must be held.
func (m *MariaDB) shutdown() error {
	var errs []error
	// SIGKILL is enough for a throwaway server, and a kept directory is
	// recovered by InnoDB on the next start.
	if err := m.stopProc(context.Background(), syscall.SIGKILL); err != nil {
		errs = append(errs, fmt.Errorf("MariaDB on port %d: %w", m.Port, err))
	}
	if err := m.dog.stop(); err != nil {
		errs = append(errs, fmt.Errorf("MariaDB in %s: %w", m.Dir, err))
	}
	if err := m.removeOwnedDir(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		m.logger.Info("testdb: closed MariaDB", "port", m.Port, "dir", m.Dir)
	}
	return errors.Join(errs...)
}

func (m *MariaDB) removeOwnedDir() error {
	if !m.ownsDir {
		return nil
	}
	if err := os.RemoveAll(m.Dir); err != nil {
		return fmt.Errorf("remove MariaDB directory %s: %w", m.Dir, err)
	}
	return nil
}

// prepareDataDir fills DataDir from the process-wide template unless it
// already holds a server (a reused directory).
func (m *MariaDB) prepareDataDir(ctx context.Context) error {
	if fileExists(filepath.Join(m.DataDir(), "mysql")) {
		return nil
	}
	if fileExists(m.DataDir()) {
		return fmt.Errorf("%s exists but is not a MariaDB data directory (no mysql schema); remove it or choose another directory", m.DataDir())
	}
	tmpl, err := templates.get(ctx, "mariadb", m.initTemplate)
	if err != nil {
		return err
	}
	return copyDir(ctx, tmpl, m.DataDir())
}

// initTemplate runs mariadb-install-db into parent/data.
func (m *MariaDB) initTemplate(ctx context.Context, parent string) (string, error) {
	began := time.Now()
	data := filepath.Join(parent, "data")
	args := []string{"--no-defaults"}
	if m.asRoot {
		args = append(args, "--user=root")
	}
	tmp := filepath.Join(parent, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return "", fmt.Errorf("create MariaDB template tmpdir: %w", err)
	}
	args = append(args, "--datadir="+data, "--tmpdir="+tmp, "--auth-root-authentication-method=normal")
	if _, err := runCommand(ctx, m.install, args, parent); err != nil {
		return "", fmt.Errorf("initialise MariaDB template: %w", err)
	}
	m.logger.Info("testdb: initialised MariaDB template", "dir", data,
		"elapsed", time.Since(began).Round(time.Millisecond))
	return data, nil
}

// serverArgs are mariadbd's arguments for the current port.
func (m *MariaDB) serverArgs() []string {
	args := []string{"--no-defaults"}
	if m.asRoot {
		// mariadbd refuses to run as root unless told to.
		args = append(args, "--user=root")
	}
	return append(args,
		"--datadir="+m.DataDir(),
		"--port="+strconv.Itoa(m.Port),
		"--bind-address=127.0.0.1",
		"--socket="+filepath.Join(m.Dir, "sock"),
		"--pid-file="+m.pidFile(),
		// Private, because at start-up MariaDB deletes every #sql* file
		// in its tmpdir: with the shared /tmp, each new server (or
		// mariadb-install-db) would destroy the temporary tables of the
		// others ("Unknown table 'mysql.tmp_user_sys'").
		"--tmpdir="+m.tmpDir(),
		"--log-bin="+filepath.Join(m.DataDir(), "binlog"),
		"--binlog-format=ROW",
		"--binlog-row-image=FULL",
		"--server-id=1",
		// The MariaDB counterpart of PostgreSQL's fsync=off: no fsync
		// per commit. Data still survives a server crash (it is in the
		// OS cache), only not a machine crash, which tests do not need.
		"--innodb-flush-log-at-trx-commit=2",
	)
}

// start runs mariadbd on m.Port and waits until it accepts connections.
// m.mu must be held (or m not yet shared).
func (m *MariaDB) start(ctx context.Context) error {
	logPath := m.LogFile()
	offset := fileSize(logPath)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open MariaDB log: %w", err)
	}
	// Not CommandContext: the server must outlive the start's context.
	cmd := exec.Command(m.mariadbd, m.serverArgs()...)
	cmd.Dir = m.Dir
	// A file, not a pipe, so no goroutine copies output and go test never
	// waits on a pipe held by the server.
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group keeps a terminal's Ctrl-C from reaching the
	// server directly; Close and the watchdog stop it in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	logf.Close() // the server has its own copy
	if err != nil {
		return fmt.Errorf("start %s: %w", m.mariadbd, err)
	}
	proc := &mariadbProc{cmd: cmd, exited: make(chan struct{})}
	go func() {
		proc.err = cmd.Wait()
		close(proc.exited)
	}()
	m.proc = proc

	if err := m.waitReady(ctx, proc); err != nil {
		_ = m.stopProc(context.Background(), syscall.SIGKILL)
		if strings.Contains(logSince(logPath, offset), "Address already in use") {
			return fmt.Errorf("start MariaDB on port %d: %w", m.Port, errPortInUse)
		}
		return fmt.Errorf("start MariaDB in %s on port %d: %w\n%s", m.Dir, m.Port, err, logTail(logPath, 30))
	}
	return nil
}

// waitReady polls until a connection succeeds, returning early if mariadbd
// exits.
func (m *MariaDB) waitReady(ctx context.Context, proc *mariadbProc) error {
	db, err := sql.Open("mysql", m.DSN("")+"&timeout=2s")
	if err != nil {
		return fmt.Errorf("open MariaDB readiness probe: %w", err)
	}
	defer db.Close()
	// Abandon a probe as soon as mariadbd exits: if another process owns
	// the port, the probe would otherwise wait for that process to answer.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-proc.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	deadline := time.Now().Add(readyTimeout)
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = db.PingContext(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-proc.exited:
			if proc.err == nil {
				return errors.New("mariadbd exited with status 0 during start-up")
			}
			return fmt.Errorf("mariadbd exited during start-up: %w", proc.err)
		default:
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %s: %w", readyTimeout, err)
		}
		time.Sleep(pollInterval)
	}
}
