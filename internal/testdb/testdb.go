// Package testdb starts private, throwaway PostgreSQL 15 and MariaDB 10.11
// servers from the locally installed Debian binaries, for integration tests,
// the demo command and benchmarks.
//
// Every instance is fully independent: its own directory (data, log, Unix
// socket, pid file) and its own free TCP port on 127.0.0.1, so tests and
// test binaries can start servers in parallel. Initialising a data directory
// (initdb, mariadb-install-db) costs about a second, so each process does it
// once per server kind into a template directory and copies the template for
// every instance.
//
// Servers never outlive the process that started them: Close (registered
// with t.Cleanup by StartPostgres and StartMariaDB) stops them, and a small
// detached watchdog shell stops them and removes their directory if the
// process dies without closing them (SIGKILL, os.Exit, a test timeout).
//
// Tests fail, rather than skip, when the server binaries are missing, so a
// broken CI image cannot silently pass; set TRIBUTARY_SKIP_DB=1 to skip them
// deliberately.
package testdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvSkip is the environment variable that, set to "1", makes StartPostgres
// and StartMariaDB skip the calling test instead of starting a server.
const EnvSkip = "TRIBUTARY_SKIP_DB"

// ErrMissingBinary is wrapped by the errors returned when a server binary is
// not installed; the message names the binary and the Debian package.
var ErrMissingBinary = errors.New("database server binary not installed")

// errPortInUse marks a start that failed only because another process took
// the chosen port between our probe and the server's bind; callers retry
// with another port.
var errPortInUse = errors.New("port already in use")

const (
	// readyTimeout bounds how long a start waits for the server to accept
	// connections; a healthy server needs well under a second.
	readyTimeout = 30 * time.Second
	// commandTimeout bounds each helper command (initdb, pg_ctl, cp...).
	commandTimeout = 2 * time.Minute
	// portAttempts is how many free ports a start tries before giving up.
	portAttempts = 5
	// pollInterval is the pause between readiness probes.
	pollInterval = 20 * time.Millisecond
)

// skipIfRequested skips the test when EnvSkip is set to "1".
func skipIfRequested(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skipf("%s=1: skipping test that needs a database server", EnvSkip)
	}
}

// tbContext returns the context for the testing.TB helpers. It is not
// t.Context, which is cancelled before cleanups run: a cleanup that calls
// Exec to, say, drop a replication slot must still work.
func tbContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), commandTimeout)
}

// testLogger returns a logger that writes through t.Log, so server life
// cycle messages only show up for failing or verbose tests. It must only be
// used synchronously from the test or its cleanups: t.Log panics once the
// test has completed, which is why nothing in this package logs from a
// background goroutine.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tbWriter{t}, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			// t.Log already says which test logged; the time is noise.
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

type tbWriter struct{ t testing.TB }

func (w tbWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

// discardLogger is used when a caller passes a nil logger.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// freePort asks the kernel for a free port on 127.0.0.1. The port is free
// only until someone else binds it, so starts retry on errPortInUse.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen on 127.0.0.1:0 to find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("close probe listener on port %d: %w", port, err)
	}
	return port, nil
}

// requireBinary returns an ErrMissingBinary error naming the Debian package
// when path is not an executable file.
func requireBinary(path, pkg string) error {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%w: %s not found; install the Debian package %s (apt-get install -y %s)",
			ErrMissingBinary, path, pkg, pkg)
	}
	return nil
}

// findBinary looks name up in PATH and then in the Debian locations, because
// /usr/sbin (where mariadbd lives) is not in a normal user's PATH.
func findBinary(name, pkg string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(dir, name)
		if requireBinary(p, pkg) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s not found in PATH or /usr/sbin, /usr/bin; install the Debian package %s (apt-get install -y %s)",
		ErrMissingBinary, name, pkg, pkg)
}

// runCommand runs cmd with a timeout and returns its combined output in the
// error, because initdb and friends explain failures only on stdout/stderr.
func runCommand(ctx context.Context, name string, args []string, dir string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// pg_ctl forks the server; should the server ever inherit our pipe, do
	// not wait for it to close forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("run %s %s: %w\n%s", name, strings.Join(args, " "), err, bytes.TrimSpace(out.Bytes()))
	}
	return out.Bytes(), nil
}

// copyDir copies src to dst with cp -a, which keeps ownership (the template
// belongs to the postgres user when we are root) and permissions (PostgreSQL
// insists on 0700 data directories).
func copyDir(ctx context.Context, src, dst string) error {
	if _, err := runCommand(ctx, "cp", []string{"-a", src, dst}, ""); err != nil {
		return fmt.Errorf("copy template %s to %s: %w", src, dst, err)
	}
	return nil
}

// logTail returns the last lines of a server log for error messages.
func logTail(path string, lines int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read server log %s: %v)", path, err)
	}
	defer f.Close()
	const maxBytes = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > maxBytes {
		if _, err := f.Seek(-maxBytes, io.SeekEnd); err != nil {
			return fmt.Sprintf("(cannot seek server log %s: %v)", path, err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read server log %s: %v)", path, err)
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return "server log " + path + " (tail):\n" + strings.Join(all, "\n")
}

// logSince returns what was appended to a log after offset, to tell whether
// the latest start attempt (not an earlier one) failed on a port clash.
func logSince(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return ""
	}
	return string(b)
}

// fileSize returns the size of path, or 0 if it does not exist yet.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// postgresUser returns the uid and gid of the postgres user, under which the
// server must run when we are root (postgres refuses to run as root).
func postgresUser() (uid, gid int, err error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return 0, 0, fmt.Errorf("%w: look up user postgres (created by the Debian package postgresql-15): %v",
			ErrMissingBinary, err)
	}
	uid, err = strconv.Atoi(u.Uid)
	if err != nil {
		return 0, 0, fmt.Errorf("parse uid %q of user postgres: %w", u.Uid, err)
	}
	gid, err = strconv.Atoi(u.Gid)
	if err != nil {
		return 0, 0, fmt.Errorf("parse gid %q of user postgres: %w", u.Gid, err)
	}
	return uid, gid, nil
}

// watchdogScript waits until its stdin reaches end of file, which happens
// when the process holding the write end of the pipe (us) exits for any
// reason, including SIGKILL. A normal Close kills the watchdog first, so the
// rest of the script only runs when we died without cleaning up: it stops
// the server whose pid is in file $1 with signal $3 (only if that process's
// command line still mentions $2, in case the pid was reused), and removes
// directory $4.
const watchdogScript = `read -r line
pidfile=$1 match=$2 sig=$3 dir=$4
if [ -n "$pidfile" ] && [ -r "$pidfile" ]; then
	pid=$(head -n 1 "$pidfile")
	case "$pid" in ''|*[!0-9]*) pid= ;; esac
	if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$match"; then
		kill -"$sig" "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i+1)); done
		kill -KILL "$pid" 2>/dev/null
	fi
fi
if [ -n "$dir" ]; then rm -rf -- "$dir"; fi
`

// watchdog is a detached shell that cleans up after us if we die; see
// watchdogScript.
type watchdog struct {
	cmd *exec.Cmd
	// writeFD is the write end of the watchdog's stdin pipe. It is a raw fd
	// rather than an *os.File on purpose: an *os.File's finalizer would
	// close it when the owning instance becomes unreachable, and the
	// watchdog would then kill a server whose DSN someone still uses.
	writeFD int
}

// startWatchdog starts a watchdog that, once this process has exited, sends
// sig to the process in pidFile (if its command line contains match) and
// removes removeDir (if not empty).
func startWatchdog(pidFile, match, sig, removeDir string) (*watchdog, error) {
	var fds [2]int
	// O_CLOEXEC keeps the write end out of every other child we start: any
	// copy would keep the pipe open after we die.
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("create watchdog pipe: %w", err)
	}
	r := os.NewFile(uintptr(fds[0]), "watchdog-stdin")
	cmd := exec.Command("/bin/sh", "-c", watchdogScript, "tributary-testdb-watchdog", pidFile, match, sig, removeDir)
	cmd.Stdin = r
	// Stdout and stderr stay nil (/dev/null): a watchdog holding go test's
	// output pipe would make go test wait for it.
	// Its own session keeps it out of the terminal's process group, so a
	// Ctrl-C that kills us does not kill the watchdog before it cleans up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Start()
	// The child has its own copy of the read end now (or failed to start).
	r.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, fmt.Errorf("start watchdog shell: %w", err)
	}
	return &watchdog{cmd: cmd, writeFD: fds[1]}, nil
}

// stop kills the watchdog without letting it clean up (we just did) and
// reaps it.
func (w *watchdog) stop() error {
	if w == nil || w.cmd == nil {
		return nil
	}
	// SIGKILL so the shell cannot run the cleanup part of its script; the
	// cleanup part is the only place it would have children.
	killErr := w.cmd.Process.Kill()
	_ = w.cmd.Wait() // "signal: killed" is the expected outcome
	closeErr := syscall.Close(w.writeFD)
	w.cmd = nil
	if killErr != nil && !errors.Is(killErr, os.ErrProcessDone) {
		return fmt.Errorf("kill watchdog: %w", killErr)
	}
	if closeErr != nil {
		return fmt.Errorf("close watchdog pipe: %w", closeErr)
	}
	return nil
}

// templates caches, for the lifetime of the process, one freshly
// initialised data directory per server kind. It is this package's only
// package-level variable, and deliberately so: initdb and mariadb-install-db
// take about a second each while copying their output takes well under
// 0.2 s, every integration test starts its own server, and tests in one
// binary cannot share state any other way without a TestMain in every
// package. The cache is per process rather than on disk so that no stale or
// half-written template can survive a server upgrade or a crashed run; each
// template directory is removed by a watchdog when the process exits.
var templates = &templateCache{entries: map[string]*templateEntry{}}

type templateCache struct {
	mu      sync.Mutex
	entries map[string]*templateEntry
}

type templateEntry struct {
	// mu is held while the template is being created, so concurrent
	// starts wait for one initdb instead of running several.
	mu  sync.Mutex
	dir string // data directory to copy; empty until created
	// dog removes the template's parent directory when the process exits.
	// The reference is kept so the watchdog's pipe stays open (and the
	// template exists) for the whole life of the process.
	dog *watchdog
}

// get returns the template data directory for key, creating it with create
// on first use. create receives a fresh parent directory and returns the
// data directory it initialised inside it. Failures are not cached, so a
// cancelled or failed first attempt does not poison later ones.
func (c *templateCache) get(ctx context.Context, key string, create func(ctx context.Context, parent string) (string, error)) (string, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if !ok {
		e = &templateEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dir != "" {
		return e.dir, nil
	}
	parent, err := os.MkdirTemp("", "tributary-"+key+"-template-*")
	if err != nil {
		return "", fmt.Errorf("create %s template directory: %w", key, err)
	}
	dog, err := startWatchdog("", "", "", parent)
	if err != nil {
		os.RemoveAll(parent)
		return "", fmt.Errorf("guard %s template directory %s: %w", key, parent, err)
	}
	dir, err := create(ctx, parent)
	if err != nil {
		os.RemoveAll(parent)
		if stopErr := dog.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return "", err
	}
	e.dir, e.dog = dir, dog
	return dir, nil
}

// shellQuote quotes s for /bin/sh, for the options pg_ctl passes to the
// server through a shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
