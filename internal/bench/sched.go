package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// rusage is the part of getrusage(RUSAGE_SELF) that shows how a phase
// spent its CPU: user against system time, and how often its threads
// gave up a core. Goroutines that park and wake for every event show as
// system time and voluntary context switches, and cost more when other
// processes hold the cores: under another benchmark's load the catch-up
// rows' CPU per event grew three- to four-fold while the work stayed the
// same.
type rusage struct {
	user, sys   float64
	vcsw, ivcsw int64
}

// cpu is user plus system time.
func (r rusage) cpu() float64 { return r.user + r.sys }

func readRusage() rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return rusage{}
	}
	return rusage{user: tvSeconds(ru.Utime), sys: tvSeconds(ru.Stime), vcsw: ru.Nvcsw, ivcsw: ru.Nivcsw}
}

// schedNote describes a meter's phase per event once end has run.
func (m *meter) schedNote(events int64) string {
	return schedNote(m.ru0, m.ru1, events)
}

func schedNote(a, b rusage, events int64) string {
	if events <= 0 {
		return ""
	}
	v, iv := b.vcsw-a.vcsw, b.ivcsw-a.ivcsw
	return fmt.Sprintf("user %.2f s + system %.2f s; %.2f context switches/event (%.2f voluntary); ",
		b.user-a.user, b.sys-a.sys, float64(v+iv)/float64(events), float64(v)/float64(events))
}

// procRusage reads a live process's rusage from /proc: its CPU from
// /proc/PID/stat and the context switches of its threads.
func procRusage(pid int) (rusage, error) {
	var r rusage
	ut, st, err := procCPUSplit(pid)
	if err != nil {
		return r, err
	}
	r.user, r.sys = float64(ut)/clockTicks, float64(st)/clockTicks
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil {
		return r, err
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that exited meanwhile
		}
		for _, l := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				continue
			}
			switch k {
			case "voluntary_ctxt_switches":
				r.vcsw += n
			case "nonvoluntary_ctxt_switches":
				r.ivcsw += n
			}
		}
	}
	return r, nil
}
