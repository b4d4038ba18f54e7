package exepages

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadOnlyMappings(t *testing.T) {
	dev := unix.Mkdev(0x103, 2)
	tests := []struct {
		name string
		maps string
		want []mapping
		err  bool
	}{
		{
			name: "text and read-only data, not the writable segment",
			maps: `00400000-01da9000 r-xp 00000000 103:02 4242 /usr/bin/tributary
01da9000-037eb000 r--p 019a9000 103:02 4242 /usr/bin/tributary
037eb000-040c4000 rw-p 033eb000 103:02 4242 /usr/bin/tributary
040c4000-06100000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7ffd1000-7ffd3000 r-xp 00000000 00:00 0 [vdso]`,
			want: []mapping{{0x400000, 0x1da9000}, {0x1da9000, 0x37eb000}},
		},
		{
			name: "same inode on another device, and a deleted executable",
			maps: `00400000-00500000 r-xp 00000000 103:03 4242 /mnt/other
00500000-00600000 r--p 00000000 103:02 4242 /usr/bin/tributary (deleted)`,
			want: []mapping{{0x500000, 0x600000}},
		},
		{name: "bad device", maps: `00400000-00500000 r-xp 00000000 zz 4242 /usr/bin/tributary`, err: true},
		{name: "bad range", maps: `00500000-00400000 r-xp 00000000 103:02 4242 /usr/bin/tributary`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readOnlyMappings([]byte(tt.maps), dev, 4242)
			if tt.err {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %x, want %x", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %x, want %x", got, tt.want)
				}
			}
		})
	}
}

// TestReleaseDropsFilePages releases this test binary's pages: after its
// package initialisation it maps megabytes of itself, and most of them
// are not touched again while the test runs.
func TestReleaseDropsFilePages(t *testing.T) {
	r, err := Release()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("advised %d MB; RssFile %d -> %d kB", r.Mapped>>20, r.FileBefore>>10, r.FileAfter>>10)
	if r.Mapped < 1<<20 {
		t.Errorf("advised %d bytes of the executable, want its read-only segments", r.Mapped)
	}
	if r.FileBefore < 1<<20 || r.FileAfter > r.FileBefore/2 {
		t.Errorf("RssFile %d -> %d bytes: the executable's pages were not released", r.FileBefore, r.FileAfter)
	}
	// The released code runs again: it faults back in, a page at a time.
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	// smaps: a header line ("start-end perms offset dev inode path"),
	// then "Key: value" lines ending with VmFlags.
	random, readOnly := 0, 0
	var header []string
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			header = f
			continue
		}
		if len(f) == 0 || f[0] != "VmFlags:" || header == nil || header[4] != strconv.FormatUint(st.Ino, 10) || header[1][1] == 'w' {
			continue
		}
		readOnly++
		if slices.Contains(f[1:], "rr") {
			random++
		}
	}
	if readOnly < 2 || random != readOnly {
		t.Errorf("%d of the executable's %d read-only mappings have the random-read hint (rr) after Release, want all", random, readOnly)
	}
}
