package bench

import (
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
	s := sampleProcMem(os.Getpid())
	time.Sleep(120 * time.Millisecond)
	anon, file := s.end()
	if anon <= 0 || file <= 0 {
		t.Fatalf("sampled RssAnon %d kB, RssFile %d kB of this process; want both positive", anon, file)
	}
}
