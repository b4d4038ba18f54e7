package offsets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tributary-io/tributary/internal/testfs"
)

// TestFileStoreOnFailingDisk drives the file store through commits on a
// real tmpfs that fills up or turns read-only: every failed commit must
// name the offsets file and the cause, leave the previous file intact and
// readable with no temp files, and commits must work again once the disk
// does.
func TestFileStoreOnFailingDisk(t *testing.T) {
	cases := []struct {
		name  string
		errno syscall.Errno
		cause string
		// breakDisk makes writes fail; it returns what repairs the disk.
		breakDisk func(t *testing.T, dir string) (repair func())
	}{
		{"disk full", syscall.ENOSPC, "no space left on device", func(t *testing.T, dir string) func() {
			filler := testfs.Fill(t, dir)
			return func() {
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"read-only file system", syscall.EROFS, "read-only file system", func(t *testing.T, dir string) func() {
			testfs.SetReadOnly(t, dir, true)
			return func() { testfs.SetReadOnly(t, dir, false) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := testfs.Tmpfs(t, 64<<10)
			path := filepath.Join(dir, "offsets.json")
			store, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			part := map[string]any{"server": "db1"}
			put := func(pos int64) error {
				return store.Put(ctx, "c1", []Entry{{Partition: part, Offset: map[string]any{"lsn": pos}}})
			}
			if err := put(1); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}

			repair := tc.breakDisk(t, dir)
			// Several failed commits, as a task would attempt before it
			// stops: none may leave a temp file behind.
			for pos := int64(2); pos <= 4; pos++ {
				err := put(pos)
				if err == nil {
					t.Fatalf("commit %d succeeded on a broken disk", pos)
				}
				if !errors.Is(err, tc.errno) {
					t.Fatalf("commit %d: error %v does not unwrap to %v", pos, err, tc.errno)
				}
				msg := err.Error()
				for _, want := range []string{"offset.storage.file.filename=" + path + ": " + tc.cause, "the previous offsets file is unchanged"} {
					if !strings.Contains(msg, want) {
						t.Fatalf("commit %d: error %q does not contain %q", pos, msg, want)
					}
				}
			}
			if after, err := os.ReadFile(path); err != nil || string(after) != string(before) {
				t.Fatalf("offsets file after failed commits: %q, %v; want it unchanged: %q", after, err, before)
			}
			if left, _ := filepath.Glob(path + ".tmp*"); len(left) != 0 {
				t.Fatalf("temp files left by failed commits: %v", left)
			}
			// The store itself still serves the last committed offset,
			// and a fresh open reads it back from the intact file.
			for _, s := range []*File{store, mustOpen(t, path)} {
				if off, err := s.Get(ctx, "c1", part); err != nil || off["lsn"] != int64(1) {
					t.Fatalf("offset after failed commits: %v, %v; want lsn 1", off, err)
				}
			}

			repair()
			if err := put(5); err != nil {
				t.Fatalf("commit after the disk was repaired: %v", err)
			}
			if off, err := mustOpen(t, path).Get(ctx, "c1", part); err != nil || off["lsn"] != int64(5) {
				t.Fatalf("offset after repair: %v, %v; want lsn 5", off, err)
			}
		})
	}
}

func mustOpen(t *testing.T, path string) *File {
	t.Helper()
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Without root, a directory the worker cannot write to fails the same
// way. Root ignores file modes, so as root the read-only tmpfs above
// covers this path instead.
func TestFileStorePermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file modes; TestFileStoreOnFailingDisk covers read-only offsets directories")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "offsets.json")
	store := mustOpen(t, path)
	part := map[string]any{"server": "db1"}
	if err := store.Put(context.Background(), "c1", []Entry{{Partition: part, Offset: map[string]any{"lsn": int64(1)}}}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	err := store.Put(context.Background(), "c1", []Entry{{Partition: part, Offset: map[string]any{"lsn": int64(2)}}})
	if !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), "offset.storage.file.filename="+path+": permission denied") {
		t.Fatalf("commit into a read-only directory: %v", err)
	}
	if off, err := mustOpen(t, path).Get(context.Background(), "c1", part); err != nil || off["lsn"] != int64(1) {
		t.Fatalf("offset after the failed commit: %v, %v; want lsn 1", off, err)
	}
}
