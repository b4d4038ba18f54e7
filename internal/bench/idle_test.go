package bench

import "testing"

func TestLastGC(t *testing.T) {
	for _, tc := range []struct {
		name, log, want string
	}{
		{"no gctrace", "level=WARN msg=x\n", "no GC ran"},
		{"last of several", "gc 1 @0.010s 1%: 0.01+0.5+0.01 ms clock, 0.03+0/0.4/0+0.02 ms cpu, 3->3->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n" +
			"level=WARN msg=x\n" +
			"gc 2 @0.050s 2%: 0.02+1.1+0.01 ms clock, 0.04+0.1/0.9/0+0.02 ms cpu, 4->4->2 MB, 5 MB goal, 1 MB stacks, 0 MB globals, 2 P\n",
			"Go heap at GC #2: 2 MB live, 5 MB goal, 1 MB stacks"},
		{"forced GC", "gc 3 @120.1s 0%: 0.02+1.0+0.01 ms clock, 0.04+0/0.8/0+0.02 ms cpu, 2->2->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)\n",
			"Go heap at GC #3: 2 MB live, 5 MB goal, 0 MB stacks"},
		{"truncated line", "gc 4 @1.0s 0%: 0.02+1.0+0.01 ms clock\n", "no GC ran"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lastGC(tc.log); got != tc.want {
				t.Errorf("lastGC = %q, want %q", got, tc.want)
			}
		})
	}
}
