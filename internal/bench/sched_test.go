package bench

import (
	"os"
	"testing"
	"time"
)

func TestSchedNote(t *testing.T) {
	for _, tt := range []struct {
		a, b   rusage
		events int64
		want   string
	}{
		{rusage{1, 0.5, 10, 2}, rusage{3.5, 1.5, 410, 102}, 200, "user 2.50 s + system 1.00 s; 2.50 context switches/event (2.00 voluntary); "},
		{rusage{}, rusage{1, 1, 1, 1}, 0, ""},
	} {
		if got := schedNote(tt.a, tt.b, tt.events); got != tt.want {
			t.Errorf("schedNote(%v, %v, %d) = %q, want %q", tt.a, tt.b, tt.events, got, tt.want)
		}
	}
}

// procRusage reads this process's threads from /proc as getrusage sees
// them: switches counted over all threads, CPU split into user and
// system.
func TestProcRusage(t *testing.T) {
	for i := 0; i < 20; i++ {
		time.Sleep(time.Millisecond) // voluntary switches
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ {
		_ = x * x
	}
	got, err := procRusage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self := readRusage()
	if got.user <= 0 || got.user > self.user+0.05 || got.vcsw <= 0 || got.vcsw > self.vcsw {
		t.Fatalf("/proc says %+v, getrusage %+v", got, self)
	}
}
