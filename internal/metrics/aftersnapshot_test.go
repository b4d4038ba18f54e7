package metrics

import "testing"

func TestAfterSnapshot(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(*Task)
		want int
	}{
		{"initial snapshot completed", func(tm *Task) { tm.SnapshotStarted(1); tm.SnapshotCompleted() }, 1},
		{"initial snapshot aborted", func(tm *Task) { tm.SnapshotStarted(1); tm.SnapshotAborted() }, 0},
		{"ad-hoc snapshot's last table done", func(tm *Task) {
			a, b := tm.StartProgress("a", 10, "incremental"), tm.StartProgress("b", 10, "incremental")
			a.Done()
			b.Done()
		}, 1},
		{"two snapshots", func(tm *Task) {
			tm.SnapshotStarted(1)
			tm.SnapshotCompleted()
			tm.SnapshotStarted(1)
			tm.SnapshotCompleted()
		}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			tm := NewTask("c", 0)
			tm.AfterSnapshot = func() { calls++ }
			tc.run(tm)
			if calls != tc.want {
				t.Errorf("AfterSnapshot called %d times, want %d", calls, tc.want)
			}
		})
	}
	t.Run("unset", func(t *testing.T) {
		tm := NewTask("c", 0)
		tm.SnapshotStarted(1)
		tm.SnapshotCompleted() // no hook: must not panic
	})
}
