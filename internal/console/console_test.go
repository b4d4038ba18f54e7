package console

import (
	"testing"

	"github.com/tributary-io/tributary/internal/metrics"
)

func TestSnapshotOf(t *testing.T) {
	tbl := func(rows, est int64, rate float64, done bool) metrics.ProgressReport {
		return metrics.ProgressReport{Table: "t", Rows: rows, EstimatedRows: est, RowsPerSecond: rate, Done: done}
	}
	for _, tc := range []struct {
		name        string
		live        metrics.TaskLive
		nilWant     bool
		percent     float64
		eta         float64
		rows, estim int64
	}{
		{name: "never snapshotted", nilWant: true},
		{name: "half way", live: metrics.TaskLive{SnapshotRunning: true, Snapshot: []metrics.ProgressReport{tbl(50, 100, 10, false)}},
			percent: 50, eta: 5, rows: 50, estim: 100},
		{name: "two tables, one done", live: metrics.TaskLive{SnapshotRunning: true, Snapshot: []metrics.ProgressReport{tbl(100, 100, 50, true), tbl(50, 100, 25, false)}},
			percent: 75, eta: 2, rows: 150, estim: 200},
		{name: "rows beyond the estimate stay below 100 until completed", live: metrics.TaskLive{SnapshotRunning: true, Snapshot: []metrics.ProgressReport{tbl(120, 100, 10, false)}},
			percent: 99.9, eta: 0, rows: 120, estim: 120},
		{name: "completed", live: metrics.TaskLive{SnapshotCompleted: true, Snapshot: []metrics.ProgressReport{tbl(120, 100, 10, true)}},
			percent: 100, eta: 0, rows: 120, estim: 120},
		{name: "no estimate", live: metrics.TaskLive{SnapshotRunning: true, Snapshot: []metrics.ProgressReport{tbl(10, 0, 10, false)}},
			percent: 0, eta: -1, rows: 10, estim: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := snapshotOf(tc.live)
			if tc.nilWant {
				if s != nil {
					t.Fatalf("got %+v, want nil", s)
				}
				return
			}
			if s.Percent != tc.percent || s.ETASecond != tc.eta || s.Rows != tc.rows || s.Estimated != tc.estim {
				t.Fatalf("got percent %v eta %v rows %d/%d, want %v %v %d/%d", s.Percent, s.ETASecond, s.Rows, s.Estimated, tc.percent, tc.eta, tc.rows, tc.estim)
			}
		})
	}
}

func TestAppendBounded(t *testing.T) {
	var s []float64
	for i := range historyLen + 5 {
		s = appendBounded(s, float64(i))
	}
	if len(s) != historyLen || s[0] != 5 || s[len(s)-1] != historyLen+4 {
		t.Fatalf("len %d first %v last %v", len(s), s[0], s[len(s)-1])
	}
}
