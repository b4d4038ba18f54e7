package runtime

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/testfs"
)

// ackSender acknowledges every message at once: Kafka is not what these
// tests exercise.
type ackSender struct{}

func (ackSender) Send(_ context.Context, m *sarama.ProducerMessage) error {
	m.Metadata.(*kafka.Pending).Ack(nil)
	return nil
}

// pacedTask writes one record per millisecond after the stored offset
// until stopped, remembering the first position it wrote.
type pacedTask struct {
	offsets connect.OffsetReader
	first   atomic.Int64
	stopped atomic.Bool
}

func (p *pacedTask) Run(ctx context.Context, w connect.RecordWriter) error {
	defer p.stopped.Store(true)
	pos := int64(0)
	off, err := p.offsets.Offset(ctx, part)
	if err != nil {
		return err
	}
	if off != nil {
		pos = off["pos"].(int64) + 1
	}
	p.first.Store(pos)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for ; ; pos++ {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		rec := &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": pos}, Topic: "t", Partition: -1,
			ValueSchema: connect.Prim(connect.Int64), Value: pos}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return err
		}
	}
}

// committedPos reads the offsets file as a restarting worker would.
func committedPos(t *testing.T, path string) int64 {
	t.Helper()
	store, err := offsets.OpenFile(path)
	if err != nil {
		t.Fatalf("reopening the offsets file: %v", err)
	}
	off, err := store.Get(context.Background(), "c", part)
	if err != nil || off == nil {
		t.Fatalf("committed offset: %v, %v", off, err)
	}
	return off["pos"].(int64)
}

// TestSourceStopsWhenOffsetsDiskFails runs a source task whose offsets
// file sits on a tmpfs that fills up or turns read-only mid-run: the task
// must stop with an error naming the offsets file and the cause, the file
// must still hold the last committed offset, and once the disk is repaired
// a new task resumes right after that offset and commits again.
func TestSourceStopsWhenOffsetsDiskFails(t *testing.T) {
	cases := []struct {
		name      string
		errno     syscall.Errno
		cause     string
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
			dir := testfs.Tmpfs(t, 64<<10)
			path := filepath.Join(dir, "offsets.json")
			newSource := func() (*Source, *pacedTask) {
				store, err := offsets.OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				task := &pacedTask{offsets: OffsetReader{Store: store, Connector: "c"}}
				j := &converter.JSON{SchemasEnabled: true}
				return &Source{Name: "c", Task: task, Producer: ackSender{}, Offsets: store, KeyConverter: j, ValueConverter: j,
					FlushInterval: 20 * time.Millisecond, Stats: &Stats{}, Logger: slog.New(slog.DiscardHandler)}, task
			}
			waitCommits := func(src *Source, n int64) {
				deadline := time.Now().Add(20 * time.Second)
				for src.Stats.Commits.Load() < n {
					if time.Now().After(deadline) {
						t.Fatalf("%d offset commits after 20s, want %d", src.Stats.Commits.Load(), n)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}

			src, task := newSource()
			done := make(chan error, 1)
			go func() { done <- src.Run(context.Background()) }()
			waitCommits(src, 3)
			repair := tc.breakDisk(t, dir)

			var err error
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the source task kept running after its offsets could not be committed")
			}
			if err == nil || !errors.Is(err, tc.errno) {
				t.Fatalf("Run = %v, want an error unwrapping to %v", err, tc.errno)
			}
			want := "connector c: committing offsets: offset.storage.file.filename=" + path + ": " + tc.cause
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("Run = %q, want it to contain %q", err, want)
			}
			if !task.stopped.Load() {
				t.Fatal("Run returned while the task was still running")
			}
			if left, _ := filepath.Glob(path + ".tmp*"); len(left) != 0 {
				t.Fatalf("temp files left by failed commits: %v", left)
			}
			last := committedPos(t, path)
			if written := src.Stats.Written.Load(); last >= written {
				t.Fatalf("committed pos %d, but only %d records were acknowledged", last, written)
			}

			repair()
			src2, task2 := newSource()
			ctx, cancel := context.WithCancel(context.Background())
			go func() { done <- src2.Run(ctx) }()
			waitCommits(src2, 3)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run after the disk was repaired = %v", err)
			}
			if first := task2.first.Load(); first != last+1 {
				t.Fatalf("restarted task began at pos %d, want %d (right after the last committed offset)", first, last+1)
			}
			if got := committedPos(t, path); got <= last {
				t.Fatalf("committed pos %d after the restart, want beyond %d", got, last)
			}
		})
	}
}
