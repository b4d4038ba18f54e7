package offsets

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKeyMatchesKafkaConnect(t *testing.T) {
	k, err := Key("inventory-connector", map[string]any{"server": "dbserver1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `["inventory-connector",{"server":"dbserver1"}]`; string(k) != want {
		t.Fatalf("key %s, want %s", k, want)
	}
	c, p, err := ParseKey(k)
	if err != nil || c != "inventory-connector" || p["server"] != "dbserver1" {
		t.Fatalf("ParseKey = %q %v %v", c, p, err)
	}
}

func TestFileStoreSurvivesReopenAndKeepsBigIntegers(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "offsets.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	part := map[string]any{"server": "db1"}
	lsn := int64(1<<62 + 12345) // beyond float64 precision
	if err := f.Put(ctx, "c1", []Entry{{Partition: part, Offset: map[string]any{"lsn": lsn, "txId": int64(7), "snapshot": true}}}); err != nil {
		t.Fatal(err)
	}
	if err := f.Put(ctx, "c2", []Entry{{Partition: part, Offset: map[string]any{"lsn": int64(1)}}}); err != nil {
		t.Fatal(err)
	}
	g, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off, err := g.Get(ctx, "c1", part)
	if err != nil {
		t.Fatal(err)
	}
	if off["lsn"] != lsn || off["txId"] != int64(7) || off["snapshot"] != true {
		t.Fatalf("offset after reopen: %#v", off)
	}
	entries, _ := g.List(ctx, "c2")
	if len(entries) != 1 {
		t.Fatalf("List(c2) = %v", entries)
	}
	if err := g.Put(ctx, "c2", []Entry{{Partition: part}}); err != nil {
		t.Fatal(err)
	}
	if off, _ := g.Get(ctx, "c2", part); off != nil {
		t.Fatalf("deleted offset still there: %v", off)
	}
	leftovers, _ := filepath.Glob(path + ".tmp*")
	if len(leftovers) != 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}
}

// A damaged offsets file must stop the worker with the file and the byte
// at fault: starting from scratch would silently re-snapshot (or skip) data.
func TestFileStoreRejectsCorruptFile(t *testing.T) {
	good := `{
  "[\"c\",{\"server\":\"db1\"}]": {"lsn": 12345, "txId": 7}
}`
	cases := []struct {
		name    string
		content string
		at      int // byte offset the error must name
		want    string
	}{
		{"empty", "", 0, "unexpected end of JSON input"},
		{"truncated", good[:40], 40, "unexpected end of JSON input"},
		{"zero-filled", "\x00\x00\x00\x00", 0, "invalid character"},
		{"null", "null", 0, "expected a JSON object of offsets, found null"},
		{"array", " [ ]", 1, "expected a JSON object of offsets, found an array"},
		{"syntax error inside", `{"[\"c\",{}]": {"pos": 1}, x}`, 27, "invalid character 'x'"},
		{"key not a Kafka Connect key", `{"c": {"pos": 1}}`, 1, `expected ["connector", {partition}]`},
		{"offset not an object", `{"[\"c\",{}]": 5}`, 15, "expected a JSON object, found a number"},
		{"trailing data", good + "}", len(good), "invalid character '}' after top-level value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "offsets.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenFile(path)
			if err == nil {
				t.Fatal("OpenFile accepted a corrupt file")
			}
			msg := err.Error()
			for _, want := range []string{"offset.storage.file.filename=" + path, fmt.Sprintf("at byte %d:", tc.at), tc.want} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.Offset != int64(tc.at) {
				t.Errorf("error %#v: want a *CorruptError at byte %d", err, tc.at)
			}
			if data, _ := os.ReadFile(path); string(data) != tc.content {
				t.Errorf("OpenFile changed the corrupt file to %q", data)
			}
		})
	}
}

func TestFileStoreRemovesStaleTempFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "offsets.json")
	// What a process killed between CreateTemp and rename leaves behind.
	old := time.Now().Add(-2 * staleTempAge)
	for _, name := range []string{"offsets.json.tmp123", "offsets.json.tmp456"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`{"half`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(dir, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	// A young one may be a live commit of another process (a reader
	// opening the file while the worker writes it) and must be kept.
	live := filepath.Join(dir, "offsets.json.tmp789")
	if err := os.WriteFile(live, []byte(`{"being written`), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.json.tmp1")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(path + ".tmp*"); len(left) != 1 || left[0] != live {
		t.Fatalf("temp files left: %v, want only the live one", left)
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("another file's temp file was removed: %v", err)
	}
}

// FuzzOpenFile: whatever the file holds, OpenFile returns an error or
// offsets that List can read back; it never panics.
func FuzzOpenFile(f *testing.F) {
	for _, seed := range []string{"", "{}", "null", `{"[\"c\",{}]": {"pos": 1}}`, `{"[\"c\",{}]": 5}`, `{"[\"c\",{}]": {"pos": 1}`} {
		f.Add([]byte(seed))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "offsets.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFile(path)
		if err != nil {
			return
		}
		for k := range s.m {
			c, _, err := ParseKey([]byte(k))
			if err != nil {
				t.Fatalf("accepted key %q: %v", k, err)
			}
			if _, err := s.List(context.Background(), c); err != nil {
				t.Fatalf("accepted file that List cannot read: %v", err)
			}
		}
	})
}
