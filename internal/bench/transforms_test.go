package bench

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSMTGoal(t *testing.T) {
	row := func(c string, events int64, cpu float64) Result {
		return Result{Scenario: PGStreamSMT, Case: "backlog: " + c, Name: "tributary", Events: events, CPUSeconds: ptr(cpu)}
	}
	tests := []struct {
		name     string
		results  []Result
		ok, met  bool
		measured string
	}{
		{"met", []Result{row(caseWithoutSMT+" (round 1)", 1000, 0.040), row(caseWithSMT+" (round 1)", 1000, 0.041),
			row(caseWithoutSMT+" (round 2)", 1000, 0.040), row(caseWithSMT+" (round 2)", 1000, 0.043)},
			true, true, "x1.050 (42.00 vs 40.00 µs CPU/event)"},
		{"missed", []Result{row(caseWithoutSMT, 1000, 0.040), row(caseWithSMT, 1000, 0.048)}, true, false, "x1.200"},
		{"only one variant", []Result{row(caseWithoutSMT, 1000, 0.040)}, false, false, ""},
		{"other scenarios ignored", []Result{{Scenario: PGStream, Case: caseWithSMT, Events: 5, CPUSeconds: ptr(1.0)}}, false, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, ok := smtGoal(tc.results)
			if ok != tc.ok || g.Met != tc.met || !strings.Contains(g.Measured, tc.measured) {
				t.Errorf("smtGoal = %+v, %v; want ok %v, met %v, measured %q", g, ok, tc.ok, tc.met, tc.measured)
			}
		})
	}
}

// TestSmokeTransforms runs pg-stream-transforms at smoke size: every
// round of both variants consumes the whole backlog and the goal is
// derived.
func TestSmokeTransforms(t *testing.T) {
	cfg := testConfig(t, 2000, PGStreamSMT)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	var with, without int
	for _, r := range rep.Results {
		switch {
		case r.Events != 1000:
			t.Errorf("%s: %d events, want the backlog of 1000", r.Case, r.Events)
		case strings.Contains(r.Case, caseWithSMT):
			with++
		case strings.Contains(r.Case, caseWithoutSMT):
			without++
		}
	}
	if with != smtRounds || without != smtRounds {
		t.Errorf("%d rows with the chain and %d without, want %d each", with, without, smtRounds)
	}
	if _, ok := smtGoal(rep.Results); !ok {
		t.Error("no transforms goal derived")
	}
}
