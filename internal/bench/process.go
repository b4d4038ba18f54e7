package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// nameProcess names the rows measured in a separate `tributary run`.
const nameProcess = "tributary run (separate process)"

// workerProcess is `tributary run` as its own process with one connector,
// so that its resident set is its own: the bench process shares the
// executable's pages with its broker child and runs the harness beside
// the connector.
type workerProcess struct {
	name   string
	dir    string
	cmd    *exec.Cmd
	logf   *os.File
	exited chan error
}

// startWorkerProcess starts bin (a copy of the tributary executable, see
// processBinary) with the connector conn, offsets in a file of its own
// and the bench's broker. Its log (gctrace included) goes to dir/log.
func (e *env) startWorkerProcess(bin, name string, conn map[string]string) (*workerProcess, error) {
	dir := filepath.Join(e.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cfg := map[string]any{
		"worker": map[string]string{
			"bootstrap.servers":            e.brokers[0],
			"offset.storage.file.filename": filepath.Join(dir, "offsets.json"),
		},
		"connectors": []map[string]any{{"name": name, "config": conn}},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "config.json")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "-c", file, "--log-level", "warn")
	// gctrace prints a line per GC to the log: the Go heap after the
	// last one is reported beside the RSS.
	cmd.Env = append(os.Environ(), "GODEBUG="+strings.Trim(os.Getenv("GODEBUG")+",gctrace=1", ","))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s run: %w", bin, err)
	}
	p := &workerProcess{name: name, dir: dir, cmd: cmd, logf: logf, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

func (p *workerProcess) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM and waits for the process to exit.
func (p *workerProcess) stop() error {
	defer p.logf.Close()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		return err
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within 30s of SIGTERM; killed", p.name)
	}
}

// fail stops the process and returns err with the end of its log.
func (p *workerProcess) fail(err error) error {
	_ = p.stop()
	return fmt.Errorf("%w\n%s log:\n%s", err, p.name, tail(p.log(), 2000))
}

func (p *workerProcess) log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "log"))
	return string(b)
}

// procMemSampler samples a process's memory every 50 ms and keeps the
// largest RSS, and the largest RssAnon with the RssFile beside it; for
// another process VmHWM (read at the end) is its peak RSS over its whole
// life, start-up included. tick, if set, runs at every sample (the meter
// reads the Go heap of this process with it).
type procMemSampler struct {
	pid  string
	tick func()
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak memPeak
}

// memPeak is what a procMemSampler found (kB).
type memPeak struct {
	rss, anon, fileAtAnon int64
}

// sampleProcMem samples process pid ("self" for this one).
func sampleProcMem(pid string, tick func()) *procMemSampler {
	s := &procMemSampler{pid: pid, tick: tick, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if s.tick != nil {
				s.tick()
			}
			if pm, err := readProcMem(s.pid); err == nil {
				s.mu.Lock()
				s.peak.rss = max(s.peak.rss, pm.RSS)
				if pm.Anon > s.peak.anon {
					s.peak.anon, s.peak.fileAtAnon = pm.Anon, pm.File
				}
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end stops sampling (once) and returns the peaks.
func (s *procMemSampler) end() memPeak {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// catchUpProcess streams a backlog of want events with the connector
// props in `tributary run` as its own process and reports that process:
// wall time from its start to the last event in topic, its CPU time, and
// its peak RSS over its whole life.
func (e *env) catchUpProcess(ctx context.Context, scenario, bin, name string, props map[string]string, topic string, want int64, caseName string) error {
	broker := e.brokerCPU()
	start := time.Now()
	p, err := e.startWorkerProcess(bin, name, props)
	if err != nil {
		return err
	}
	mem := sampleProcMem(fmt.Sprint(p.pid()), nil)
	err = e.waitTopic(ctx, topic, want, timeoutFor(int(want)), p.exited)
	secs := time.Since(start).Seconds()
	peak := mem.end()
	anon, file := peak.anon, peak.fileAtAnon
	if err != nil {
		return p.fail(err)
	}
	ru, err := procRusage(p.pid())
	if err != nil {
		return p.fail(err)
	}
	pm, err := readProcMem(fmt.Sprint(p.pid()))
	if err != nil {
		return p.fail(err)
	}
	if err := p.stop(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	cpu := ru.cpu()
	e.add(Result{Scenario: scenario, Case: caseName, Name: nameProcess, Events: want, Seconds: secs,
		CPUSeconds: ptr(cpu), PeakRSSMB: ptr(float64(pm.HWM) / 1024),
		Note: fmt.Sprintf("%.1f µs CPU/event; process start to the last event in %s, start-up included; peak RSS (VmHWM) over its whole life; %speak RssAnon %.0f MB (RssFile %.0f MB beside it); %s",
			cpu*1e6/float64(want), topic, schedNote(rusage{}, ru, want), float64(anon)/1024, float64(file)/1024, lastGC(p.log())) + broker()})
	return nil
}

// brokerCPU starts measuring the broker child's CPU time (it holds the
// schema registry too); the function it returns describes what the
// child used since, for a row's note, or "" when it cannot be read. On
// a machine with few cores the broker's work bounds a streaming run's
// wall time beside the connector's, though it is not counted in the
// connector's CPU.
func (e *env) brokerCPU() func() string {
	if e.broker == nil {
		return func() string { return "" }
	}
	pid := e.broker.cmd.Process.Pid
	t0, err := procCPUTicks(pid)
	return func() string {
		t1, err1 := procCPUTicks(pid)
		if err != nil || err1 != nil {
			return ""
		}
		return fmt.Sprintf("; broker process %.2f s CPU meanwhile", float64(t1-t0)/clockTicks)
	}
}
