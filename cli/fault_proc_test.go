package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultBinary is how the fault suite runs tributary: as a binary built from
// this package, so that signals, exit codes and output are those of the
// real command.
type faultBinary struct {
	path string
	// reexec: path is this test binary, which TestRunProcess turns into
	// tributary.
	reexec bool
}

// buildFaultBinary builds ./cmd/tributary once for the calling test.
// TRIBUTARY_FAULT_BINARY names a prebuilt one instead. With build false
// (the CI subset, whose minute a build under load would half use up) or
// without a go tool, this test binary runs as tributary through
// TestRunProcess, which executes the same command tree as main.
func buildFaultBinary(ctx context.Context, t *testing.T, build bool) *faultBinary {
	t.Helper()
	if p := os.Getenv("TRIBUTARY_FAULT_BINARY"); p != "" {
		return &faultBinary{path: p}
	}
	if !build {
		return &faultBinary{path: os.Args[0], reexec: true}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Logf("no go tool on PATH (%v): running this test binary as tributary", err)
		return &faultBinary{path: os.Args[0], reexec: true}
	}
	out := filepath.Join(t.TempDir(), "tributary")
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// go test runs in the package directory: the command is ../cmd/tributary.
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "../cmd/tributary")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building tributary for the fault suite: %v\n%s", err, b)
	}
	t.Logf("built %s in %s", out, time.Since(began).Round(time.Millisecond))
	return &faultBinary{path: out}
}

// command returns the command running `tributary args...`, inside network
// namespace netns when it is not empty.
func (b *faultBinary) command(netns string, args ...string) *exec.Cmd {
	var argv []string
	if netns != "" {
		argv = append(argv, "ip", "netns", "exec", netns)
	}
	argv = append(argv, b.path)
	var env []string
	if b.reexec {
		argv = append(argv, "-test.run=^TestRunProcess$")
		env = append(env, "TRIBUTARY_TEST_RUN_ARGS="+strings.Join(args, " "))
	} else {
		argv = append(argv, args...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	// Pdeathsig: a test killed by its timeout must not leave a broker or
	// connector behind. ip netns exec execs the command, so the setting
	// reaches tributary itself. Its own process group keeps a terminal's
	// Ctrl-C away: the suite alone decides which signal each process gets.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd
}

// faultProc is one run of a tributary process whose combined output goes to
// a log file.
type faultProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // cmd.Wait's result, valid once done is closed
}

func startFaultProc(name, logPath string, cmd *exec.Cmd) (*faultProc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: opening log: %w", name, err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	err = cmd.Start()
	logf.Close() // the child has its own copy
	if err != nil {
		return nil, fmt.Errorf("%s: starting %s: %w", name, strings.Join(cmd.Args, " "), err)
	}
	p := &faultProc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *faultProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit status once it exited (-1 for a signal).
func (p *faultProc) exitCode() int { return p.cmd.ProcessState.ExitCode() }

func (p *faultProc) signal(sig syscall.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("%s: sending %s: %w", p.name, sig, err)
	}
	return nil
}

// wait waits up to timeout for the process to exit and returns its exit
// code.
func (p *faultProc) wait(ctx context.Context, timeout time.Duration) (int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.exitCode(), nil
	case <-timer.C:
		return 0, fmt.Errorf("%s (pid %d) still running %s later", p.name, p.cmd.Process.Pid, timeout)
	case <-ctx.Done():
		return 0, fmt.Errorf("%s: waiting for exit: %w", p.name, ctx.Err())
	}
}

// terminate sends SIGTERM and requires exit 0 within timeout: what a
// graceful stop promises.
func (p *faultProc) terminate(ctx context.Context, timeout time.Duration) error {
	if p.exited() {
		return fmt.Errorf("%s had already exited (%v) before SIGTERM", p.name, p.err)
	}
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	code, err := p.wait(ctx, timeout)
	if err != nil {
		return fmt.Errorf("after SIGTERM: %w", err)
	}
	if code != 0 {
		return fmt.Errorf("%s exited with %d after SIGTERM, want 0 (%v)", p.name, code, p.err)
	}
	return nil
}

// kill ends the process with SIGKILL (also when it is stopped) and reaps it.
func (p *faultProc) kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// brokerProc is `tributary broker` in a process of its own: the suite kills,
// freezes and restarts it on the same address and data directory.
type brokerProc struct {
	bin     *faultBinary
	addr    string
	dataDir string
	dir     string
	starts  int
	proc    *faultProc
}

func newBroker(ctx context.Context, t *testing.T, bin *faultBinary, dir, host string) (*brokerProc, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("finding a free broker port on %s: %w", host, err)
	}
	addr := l.Addr().String()
	l.Close()
	b := &brokerProc{bin: bin, addr: addr, dataDir: filepath.Join(dir, "kafka"), dir: dir}
	t.Cleanup(func() {
		if b.proc != nil {
			b.proc.kill()
		}
	})
	return b, b.start(ctx)
}

// start runs the broker and waits until it announces its address.
func (b *brokerProc) start(ctx context.Context) error {
	b.starts++
	name := fmt.Sprintf("broker run %d", b.starts)
	p, err := startFaultProc(name, filepath.Join(b.dir, fmt.Sprintf("broker-%d.log", b.starts)),
		b.bin.command("", "broker", "--listen", b.addr, "--data-dir", b.dataDir))
	if err != nil {
		return err
	}
	b.proc = p
	want := []byte("broker listening on " + b.addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(p.log)
		if bytes.Contains(data, want) {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s on %s exited (%v) before listening:\n%s", name, b.addr, p.err, tail(data, 20))
		}
		if time.Now().After(deadline) {
			p.kill()
			return fmt.Errorf("%s on %s not listening after 30s:\n%s", name, b.addr, tail(data, 20))
		}
		select {
		case <-ctx.Done():
			p.kill()
			return fmt.Errorf("%s: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logs returns the output of every run of the broker.
func (b *brokerProc) logs() string {
	var out strings.Builder
	for i := 1; i <= b.starts; i++ {
		data, _ := os.ReadFile(filepath.Join(b.dir, fmt.Sprintf("broker-%d.log", i)))
		fmt.Fprintf(&out, "--- broker run %d ---\n%s", i, tail(data, 30))
	}
	return out.String()
}

// tail returns the last n lines of data.
func tail(data []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"... (" + strconv.Itoa(len(lines)-n) + " lines before)"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// runTool runs a system tool and returns an error carrying its output,
// which is where ip, iptables and mount explain a failure.
func runTool(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// errProcessGone is returned by waits that end because a process they
// depend on exited.
var errProcessGone = errors.New("process exited")
