package offsets

import (
	"context"
	"os"
	"path/filepath"
	"testing"
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

func TestFileStoreRejectsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "offsets.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil {
		t.Fatal("expected an error naming the corrupt file")
	}
}
