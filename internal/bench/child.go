package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/schema/registry/server"
)

// The benchmark runs the Kafka broker and the database load generators in
// child processes (the same executable, re-run with childEnv set), so that
// the CPU time and memory measured for this process are Tributary's alone:
// the embedded broker keeps every message in memory and would otherwise
// dominate the resident set.
const childEnv = "TRIBUTARY_BENCH_CHILD"

// childSpec tells a child process what to do.
type childSpec struct {
	Role string `json:"role"` // "broker", "load" or "webhook"

	// broker: write a CPU profile of the broker's whole life here.
	CPUProfile string `json:"cpu_profile,omitempty"`
	// broker: BrokerLogFiles or BrokerLogMemory.
	Log string `json:"log,omitempty"`

	// load: run SQL (one placeholder, bound to a random id in 1..IDs)
	// as single-statement autocommit transactions.
	Driver  string  `json:"driver,omitempty"` // "pgx" or "mysql"
	DSN     string  `json:"dsn,omitempty"`
	SQL     string  `json:"sql,omitempty"`
	IDs     int     `json:"ids,omitempty"`
	Count   int     `json:"count,omitempty"`   // stop after this many (0: no limit)
	Seconds float64 `json:"seconds,omitempty"` // stop after this long (0: no limit)
	Rate    float64 `json:"rate,omitempty"`    // transactions per second (0: as fast as possible)
	Conns   int     `json:"conns,omitempty"`
}

// brokerHello is what the broker child prints once it listens.
type brokerHello struct {
	Addrs    []string `json:"addrs"`
	Registry string   `json:"registry"`
}

// loadResult is what a load child prints when it finishes.
type loadResult struct {
	Done    int64   `json:"done"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// IsChild reports whether this process was started by the benchmark as a
// helper; the caller must then run RunChild instead of its usual work.
func IsChild() bool { return os.Getenv(childEnv) != "" }

// RunChild runs the helper role described in the environment until it is
// finished or its parent goes away (stdin closes).
func RunChild(ctx context.Context) error {
	var spec childSpec
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &spec); err != nil {
		return fmt.Errorf("%s: %w", childEnv, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// The parent holds our stdin open; EOF means it stopped or died.
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	switch spec.Role {
	case "broker":
		// The broker and, for the Avro converter, a schema registry (in
		// memory) live in this child.
		if spec.CPUProfile != "" {
			stop, err := StartCPUProfile(spec.CPUProfile)
			if err != nil {
				return fmt.Errorf("broker CPU profile: %w", err)
			}
			defer stop()
		}
		// Its log is in files (page cache, no fsync per batch, as a Kafka
		// broker's) or in memory, as brokerLogFor chose.
		bcfg := kafka.EmbeddedConfig{Addr: "127.0.0.1:0"}
		switch spec.Log {
		case BrokerLogFiles:
			dir, err := os.MkdirTemp("", "tributary-bench-broker-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			bcfg.DataDir = dir
		default:
			// Small segments: kfake grows an in-memory segment by copying
			// it into a buffer twice its size.
			bcfg.SegmentBytes = 1 << 20
		}
		emb, err := kafka.StartEmbeddedWith(bcfg)
		if err != nil {
			return err
		}
		defer emb.Close()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: server.NewServer(server.NewMemoryStore(), nil), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		hello := brokerHello{Addrs: emb.Addrs(), Registry: "http://" + ln.Addr().String()}
		if err := json.NewEncoder(os.Stdout).Encode(hello); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	case "load":
		res := runLoad(ctx, spec)
		return json.NewEncoder(os.Stdout).Encode(res)
	case "webhook":
		return runWebhookReceiver(ctx)
	}
	return fmt.Errorf("%s: unknown role %q", childEnv, spec.Role)
}

// StartCPUProfile profiles this process into path until stop is called
// (the bench's --cpuprofile and its broker child's).
func StartCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func runLoad(ctx context.Context, spec childSpec) loadResult {
	conns := max(spec.Conns, 1)
	dbs := make([]dbConn, conns)
	for i := range dbs {
		c, err := openConn(ctx, spec.Driver, spec.DSN)
		if err != nil {
			return loadResult{Error: err.Error()}
		}
		defer c.Close()
		dbs[i] = c
	}
	if spec.Seconds > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(spec.Seconds*float64(time.Second)))
		defer cancel()
	}
	var next, done atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(db dbConn, seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
			for {
				j := next.Add(1) - 1
				if spec.Count > 0 && j >= int64(spec.Count) {
					return
				}
				if spec.Rate > 0 {
					// Open-loop schedule: transaction j is due at j/rate; a
					// worker that falls behind catches up without pausing.
					due := start.Add(time.Duration(float64(j) / spec.Rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					}
				}
				if ctx.Err() != nil {
					return
				}
				id := rng.IntN(max(spec.IDs, 1)) + 1
				if err := db.Exec(ctx, spec.SQL, id); err != nil {
					if ctx.Err() != nil {
						return
					}
					errOnce.Do(func() { firstErr = fmt.Errorf("%s with id %d: %w", spec.SQL, id, err) })
					return
				}
				done.Add(1)
			}
		}(dbs[w], uint64(w+1))
	}
	wg.Wait()
	res := loadResult{Done: done.Load(), Seconds: time.Since(start).Seconds()}
	if firstErr != nil {
		res.Error = firstErr.Error()
	}
	return res
}

// childProc is a running helper process.
type childProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	exited chan struct{}
}

// startChild starts exe args... as a helper for spec. Pdeathsig makes sure
// no helper outlives a benchmark that is killed.
func startChild(exe string, args []string, spec childSpec) (*childProc, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{b: &stderr, max: 64 << 10}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s helper (%s): %w", spec.Role, exe, err)
	}
	c := &childProc{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout), stderr: &stderr, exited: make(chan struct{})}
	return c, nil
}

// readJSON decodes the next line the child prints.
func (c *childProc) readJSON(ctx context.Context, v any) error {
	type line struct {
		b   []byte
		err error
	}
	ch := make(chan line, 1)
	go func() {
		b, err := c.out.ReadBytes('\n')
		ch <- line{b, err}
	}()
	select {
	case l := <-ch:
		if l.err != nil {
			return fmt.Errorf("%s helper: %w (stderr: %s)", c.role(), l.err, strings.TrimSpace(c.stderr.String()))
		}
		if err := json.Unmarshal(l.b, v); err != nil {
			return fmt.Errorf("%s helper printed %q: %w", c.role(), l.b, err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *childProc) role() string {
	var s childSpec
	for _, e := range c.cmd.Env {
		if v, ok := strings.CutPrefix(e, childEnv+"="); ok {
			_ = json.Unmarshal([]byte(v), &s)
		}
	}
	return s.Role
}

// stop closes the child's stdin (its signal to finish) and waits; a child
// still running after five seconds is killed.
func (c *childProc) stop() error {
	_ = c.stdin.Close()
	waitErr := make(chan error, 1)
	go func() { waitErr <- c.cmd.Wait() }()
	select {
	case err := <-waitErr:
		return err
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-waitErr
		return errors.New(c.role() + " helper did not stop; killed")
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
