package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// cpuSeconds is the user+system CPU time this process has used so far.
// Child processes (databases, the broker, loaders) are not included:
// RUSAGE_SELF covers only Tributary's own process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
}

func tvSeconds(tv syscall.Timeval) float64 {
	return float64(tv.Sec) + float64(tv.Usec)/1e6
}

// procStatus reads the VmRSS and VmHWM lines (kB) of /proc/<pid>/status;
// pid "self" reads this process.
func procStatus(pid string) (rssKB, hwmKB int64, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "VmRSS:"):
			dst = &rssKB
		case strings.HasPrefix(line, "VmHWM:"):
			dst = &hwmKB
		default:
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return 0, 0, fmt.Errorf("/proc/%s/status: malformed line %q", pid, line)
		}
		if *dst, err = strconv.ParseInt(f[1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/%s/status: line %q: %w", pid, line, err)
		}
	}
	return rssKB, hwmKB, nil
}

// procCPUTicks returns utime+stime of /proc/<pid>/stat in clock ticks.
func procCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after the last
	// ')' are plain.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: only %d fields", pid, len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return ut + st, nil
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc on every
// architecture Go supports.
const clockTicks = 100

// meter measures one phase of this process: wall time, CPU seconds and the
// peak resident set size. Peak RSS comes from VmHWM after resetting it
// through /proc/self/clear_refs, with sampled VmRSS as a fallback where
// the reset is not permitted.
type meter struct {
	start    time.Time
	cpu0     float64
	hwmReset bool

	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	maxRSS  int64
	elapsed time.Duration
	cpu     float64
	peakKB  int64
}

// startMeter returns garbage from earlier phases to the OS first, so that
// the peak measured is this phase's own.
func startMeter() *meter {
	runtime.GC()
	debug.FreeOSMemory()
	m := &meter{stop: make(chan struct{}), done: make(chan struct{})}
	m.hwmReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	m.start = time.Now()
	m.cpu0 = cpuSeconds()
	go m.sample()
	return m
}

func (m *meter) sample() {
	defer close(m.done)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if rss, _, err := procStatus("self"); err == nil {
			m.mu.Lock()
			if rss > m.maxRSS {
				m.maxRSS = rss
			}
			m.mu.Unlock()
		}
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
	}
}

// end stops the meter; calling it again returns the same figures.
func (m *meter) end() (elapsed time.Duration, cpu float64, peakMB float64) {
	select {
	case <-m.stop:
	default:
		m.elapsed = time.Since(m.start)
		m.cpu = cpuSeconds() - m.cpu0
		close(m.stop)
		<-m.done
		_, hwm, err := procStatus("self")
		m.mu.Lock()
		m.peakKB = m.maxRSS
		if m.hwmReset && err == nil && hwm > m.peakKB {
			m.peakKB = hwm
		}
		m.mu.Unlock()
	}
	return m.elapsed, m.cpu, float64(m.peakKB) / 1024
}
