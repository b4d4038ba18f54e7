package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// procStatus reads the VmRSS and VmHWM lines (kB) of /proc/<pid>/status;
// pid "self" reads this process.
func procStatus(pid string) (rssKB, hwmKB int64, err error) {
	m, err := readProcMem(pid)
	return m.RSS, m.HWM, err
}

// procMem is a process's memory from /proc/<pid>/status, in kB. RSS is
// Anon + File (+ Shmem): Anon is the process's private memory (the Go
// heap, stacks, the runtime's metadata); File is pages of mapped files
// (the executable's code and read-only data, shared and clean), which
// the kernel maps 64 KB or a whole page-cache folio at a time around
// each page touched, so it follows the binary's layout and how its
// page cache was filled more than what the process does.
type procMem struct {
	RSS, HWM, Anon, File int64
	Threads              int64
}

func readProcMem(pid string) (procMem, error) {
	var m procMem
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return m, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &m.RSS
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &m.HWM
		case strings.HasPrefix(line, "RssAnon:"):
			dst = &m.Anon
		case strings.HasPrefix(line, "RssFile:"):
			dst = &m.File
		case strings.HasPrefix(line, "Threads:"):
			dst = &m.Threads
		default:
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return m, fmt.Errorf("/proc/%s/status: malformed line %q", pid, line)
		}
		if *dst, err = strconv.ParseInt(f[1], 10, 64); err != nil {
			return m, fmt.Errorf("/proc/%s/status: line %q: %w", pid, line, err)
		}
	}
	return m, nil
}

// procCPUTicks returns utime+stime of /proc/<pid>/stat in clock ticks.
func procCPUTicks(pid int) (int64, error) {
	ut, st, err := procCPUSplit(pid)
	return ut + st, err
}

// procCPUSplit returns utime and stime of /proc/<pid>/stat in clock
// ticks.
func procCPUSplit(pid int) (ut, st int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces; fields after the last
	// ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: only %d fields", pid, len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return ut, st, nil
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc on every
// architecture Go supports.
const clockTicks = 100

// meter measures one phase of this process: wall time, CPU seconds and the
// peak resident set size. Peak RSS comes from VmHWM after resetting it
// through /proc/self/clear_refs, with sampled VmRSS as a fallback where
// the reset is not permitted.
type meter struct {
	start time.Time
	// ru0 and ru1 are this process's rusage at the start and the end;
	// child processes (databases, the broker, loaders) are not in it.
	ru0, ru1 rusage
	hwmReset bool
	mem      *procMemSampler

	mu      sync.Mutex
	ended   bool
	elapsed time.Duration
	cpu     float64
	peakKB  int64
	peak    memPeak
	// maxHeap and maxGoal are the largest Go heap (objects, live or not
	// yet swept) and GC heap goal sampled (bytes).
	maxHeap, maxGoal uint64
	samples          []metrics.Sample
}

// memSamples are the runtime/metrics the meter samples.
var memSamples = []string{"/memory/classes/heap/objects:bytes", "/gc/heap/goal:bytes"}

// startMeter returns garbage from earlier phases to the OS first, so that
// the peak measured is this phase's own.
func startMeter() *meter {
	runtime.GC()
	debug.FreeOSMemory()
	m := &meter{samples: make([]metrics.Sample, len(memSamples))}
	for i, n := range memSamples {
		m.samples[i].Name = n
	}
	m.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.start = time.Now()
	m.ru0 = readRusage()
	m.mem = sampleProcMem("self", m.sampleHeap)
	return m
}

// sampleHeap keeps the Go heap's peaks; the memory sampler's goroutine
// calls it every sample.
func (m *meter) sampleHeap() {
	metrics.Read(m.samples)
	m.mu.Lock()
	defer m.mu.Unlock()
	if v := m.samples[0].Value; v.Kind() == metrics.KindUint64 {
		m.maxHeap = max(m.maxHeap, v.Uint64())
	}
	if v := m.samples[1].Value; v.Kind() == metrics.KindUint64 {
		m.maxGoal = max(m.maxGoal, v.Uint64())
	}
}

// end stops the meter; calling it again returns the same figures.
func (m *meter) end() (elapsed time.Duration, cpu float64, peakMB float64) {
	m.mu.Lock()
	ended := m.ended
	if !ended {
		m.ended = true
		m.elapsed = time.Since(m.start)
		m.ru1 = readRusage()
		m.cpu = m.ru1.cpu() - m.ru0.cpu()
	}
	m.mu.Unlock()
	if !ended {
		// Not under m.mu: the sampler's last tick takes it.
		peak := m.mem.end()
		_, hwm, err := procStatus("self")
		m.mu.Lock()
		m.peak = peak
		m.peakKB = peak.rss
		if m.hwmReset && err == nil && hwm > m.peakKB {
			m.peakKB = hwm
		}
		m.mu.Unlock()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.elapsed, m.cpu, float64(m.peakKB) / 1024
}

// memNote describes the sampled peak's parts once end has run: private
// memory apart from the file pages RSS also counts, and the Go heap
// behind it.
func (m *meter) memNote() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	const mb = 1 << 20
	return fmt.Sprintf("peak RssAnon %.0f MB (RssFile %.0f MB beside it), Go heap peak %.0f MB, GC goal peak %.0f MB",
		float64(m.peak.anon)/1024, float64(m.peak.fileAtAnon)/1024, float64(m.maxHeap)/mb, float64(m.maxGoal)/mb)
}
