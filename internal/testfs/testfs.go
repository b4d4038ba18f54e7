// Package testfs gives tests real file systems that fail the way disks do
// in production: a small tmpfs that fills up (ENOSPC) and can be
// remounted read-only (EROFS). Faking those errors would not show what
// the code does with the partial writes and leftovers a real file system
// produces.
//
// Mounting needs root (CAP_SYS_ADMIN). Without it the tests skip, unless
// TRIBUTARY_REQUIRE_ROOT_TESTS=1 says they must run (CI runs as root).
package testfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// RequireRootEnv makes the tests that need root fail instead of skip.
const RequireRootEnv = "TRIBUTARY_REQUIRE_ROOT_TESTS"

// skipOrFail skips the test for a reason outside its control, or fails it
// when RequireRootEnv is set.
func skipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireRootEnv) == "1" {
		t.Fatalf("%s (and %s=1 requires this test to run)", msg, RequireRootEnv)
	}
	t.Skipf("%s; run as root (or set %s=1 to make this a failure)", msg, RequireRootEnv)
}

// Tmpfs mounts a tmpfs of size bytes on a new directory and unmounts it
// when the test ends.
func Tmpfs(t testing.TB, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "mounting a tmpfs needs root, running as uid %d", os.Geteuid())
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("size=%d,mode=0755", size)
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			skipOrFail(t, "mount -t tmpfs -o %s tmpfs %s is not permitted here: %v", opts, dir, err)
		}
		t.Fatalf("mount -t tmpfs -o %s tmpfs %s: %v", opts, dir, err)
	}
	// Registered after t.TempDir's cleanup, so it runs before the
	// directory is removed.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			// Something still holds a file open: detach so the test
			// directory can go, and say so.
			t.Logf("umount %s: %v; detaching", dir, err)
			if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
				t.Errorf("umount -l %s: %v", dir, err)
			}
		}
	})
	return dir
}

// SetReadOnly remounts the tmpfs at dir read-only, or read-write again.
// Remounting read-only fails with EBUSY while a file on it is open for
// writing.
func SetReadOnly(t testing.TB, dir string, readOnly bool) {
	t.Helper()
	flags := uintptr(syscall.MS_REMOUNT | syscall.MS_NOSUID | syscall.MS_NODEV)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	// A writer that has a file open (the code under test, between its
	// create and close) makes the remount fail with EBUSY for a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := syscall.Mount("tmpfs", dir, "tmpfs", flags, "")
		if err == nil {
			return
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			t.Fatalf("remount %s (read-only %t): %v", dir, readOnly, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// Fill writes a file in dir until the file system has no space left and
// returns its path; removing it frees the space.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("filling %s: %v", dir, err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for i := 0; ; i++ {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
		if i > 1<<20 {
			t.Fatalf("filling %s: still not full after 4 GiB; is it the small tmpfs?", dir)
		}
	}
}
