package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestStreamRSSGoal(t *testing.T) {
	for _, tt := range []struct {
		name string
		rss  float64
		met  bool
	}{
		{nameProcess, 50, true},
		{nameProcess, 64, true},
		{nameProcess, 73, false},
		{"tributary", 50, false}, // the in-process row shares its pages with the broker child: no goal
	} {
		r := &Report{Results: []Result{{Scenario: PGStreamIssue14, Case: "backlog", Name: tt.name, PeakRSSMB: ptr(tt.rss)}}}
		var got []Goal
		for _, g := range goals(r) {
			if strings.Contains(g.Goal, "peak RSS streaming") {
				got = append(got, g)
			}
		}
		if tt.name != nameProcess {
			if len(got) != 0 {
				t.Errorf("%s: goals %+v, want none", tt.name, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Met != tt.met {
			t.Errorf("%s %.0f MB: goals %+v, want one with met=%v", tt.name, tt.rss, got, tt.met)
		}
	}
}

func TestProcMemSampler(t *testing.T) {
	ticks := 0
	s := sampleProcMem(fmt.Sprint(os.Getpid()), func() { ticks++ })
	time.Sleep(120 * time.Millisecond)
	p := s.end()
	if p.anon <= 0 || p.fileAtAnon <= 0 || p.rss < p.anon+p.fileAtAnon {
		t.Fatalf("sampled %+v (kB) of this process; want RssAnon and RssFile positive and RSS at least their sum", p)
	}
	if ticks < 2 {
		t.Fatalf("tick ran %d times in 120 ms of 50 ms samples", ticks)
	}
}
