//go:build !linux

package postgres

// diskFree reports the free space as unknown where doctor does not read
// file system statistics; the WAL check then warns instead of comparing.
func diskFree(string) (uint64, bool) { return 0, false }
