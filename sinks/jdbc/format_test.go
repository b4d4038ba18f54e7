package jdbc

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// The hand-written date, time and timestamp formatting writes exactly
// what the fmt.Sprintf formats it replaced write, BC years, years beyond
// 9999 and negative times included.
func TestFormatMatchesSprintf(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 123456, -1, -9, -10, -99, -100, -999, -1000, -12345} {
		for _, w := range []int{2, 4, 6} {
			if got, want := string(appendPadded(nil, n, w)), fmt.Sprintf("%0*d", w, n); got != want {
				t.Errorf("appendPadded(%d, %d) = %q, want %q", n, w, got, want)
			}
		}
	}
	times := []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 12, 31, 1, 2, 3, 4000, time.UTC),
		time.Date(-44, 3, 15, 12, 0, 0, 500000, time.UTC),
		time.Date(-12345, 3, 15, 12, 0, 0, 0, time.UTC),
		time.Date(12345, 10, 5, 7, 8, 9, 123456789, time.UTC),
		time.Date(999, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)),
		time.Unix(math.MaxInt32, 0).UTC(),
	}
	for _, ts := range times {
		for _, bc := range []bool{false, true} {
			y := ts.Year()
			ds, tsuffix := fmt.Sprintf("%04d-%02d-%02d", y, ts.Month(), ts.Day()), ""
			if y <= 0 && bc {
				ds = fmt.Sprintf("%04d-%02d-%02d BC", 1-y, ts.Month(), ts.Day())
				y, tsuffix = 1-y, " BC"
			}
			if got := formatDate(ts, bc); got != ds {
				t.Errorf("formatDate(%v, %v) = %q, want %q", ts, bc, got, ds)
			}
			want := fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d%s", y, ts.Month(), ts.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond()/1000, tsuffix)
			if got := formatTimestamp(ts, bc); got != want {
				t.Errorf("formatTimestamp(%v, %v) = %q, want %q", ts, bc, got, want)
			}
		}
	}
	for _, us := range []int64{0, 1, 999999, 1e6, 86399999999, 86400000000, 3600e6 * 838, -1, -86399999999, -3600e6 * 838, math.MaxInt64, math.MinInt64 + 1} {
		sign, a := "", us
		if a < 0 {
			sign, a = "-", -a
		}
		h := a / 3600e6
		a -= h * 3600e6
		m := a / 60e6
		a -= m * 60e6
		s := a / 1e6
		a -= s * 1e6
		want := fmt.Sprintf("%s%02d:%02d:%02d.%06d", sign, h, m, s, a)
		if got := formatTimeMicros(us); got != want {
			t.Errorf("formatTimeMicros(%d) = %q, want %q", us, got, want)
		}
	}
}
