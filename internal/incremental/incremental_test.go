package incremental

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/signal"
)

// memTable is a Source over in-memory tables whose rows are their
// integer keys: it reads chunks in key order as a database would and
// writes down the watermarks.
type memTable struct {
	e         *Engine[int64]
	tables    map[string][]int64
	chunk     int
	marks     []string
	failOpen  error
	failChunk error
}

var errLost = errors.New("connection lost")

func (m *memTable) WatermarksArrive(context.Context, *slog.Logger) (bool, error) { return true, nil }
func (m *memTable) Captured(context.Context) ([]string, error) {
	return []string{"s.a", "s.b", "s.empty"}, nil
}
func (m *memTable) Usable(_ context.Context, _ *slog.Logger, name string, captured []string) (bool, error) {
	for _, c := range captured {
		if c == name {
			return true, nil
		}
	}
	return false, nil
}
func (m *memTable) OpenWindow(context.Context) error {
	if m.failOpen != nil {
		return m.failOpen
	}
	m.marks = append(m.marks, "open")
	return nil
}
func (m *memTable) CloseWindow(context.Context) error {
	m.marks = append(m.marks, "close")
	return nil
}
func (m *memTable) ReadTableChunk(ctx context.Context) (bool, error) {
	if m.failChunk != nil {
		return false, m.failChunk
	}
	snap := m.e.Snapshot()
	cur := snap.Current()
	if snap.MaximumKey() == nil {
		m.e.StartTable(ctx, int64(len(m.tables[cur.ID])))
		m.e.TableReady(false, 1)
	}
	var last []any
	n := 0
	for _, k := range m.tables[cur.ID] {
		if end := snap.ChunkEnd(); end != nil && k <= end[0].(int64) {
			continue
		}
		if n == m.chunk {
			break
		}
		m.e.Put(fmt.Sprint(k), k)
		last = []any{k}
		n++
	}
	if last == nil {
		m.e.TableDone()
		return false, nil
	}
	m.e.ChunkRead(last)
	return true, nil
}
func (m *memTable) Lost(err error) bool { return errors.Is(err, errLost) }
func (m *memTable) ResetTable()         {}

func newMem(t *testing.T, chunk int) (*memTable, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	m := &memTable{tables: map[string][]int64{"s.a": {1, 2, 3, 4, 5}, "s.b": {10, 20}, "s.empty": nil}, chunk: chunk}
	m.e = New[int64](signal.NewIncremental(), &signal.Config{DataCollection: "s.sig"}, log, m, false)
	return m, &buf
}

// closeAll closes windows until the snapshot ends, sending what each
// holds, and returns the rows sent; between reads, streamed changes of
// the keys in streamed are dropped from the window.
func closeAll(t *testing.T, m *memTable, streamed map[int64]bool) []int64 {
	t.Helper()
	var sent []int64
	for m.e.Awaiting() {
		for k := range streamed {
			m.e.Drop(fmt.Sprint(k))
		}
		if err := m.e.Send(func(k int64) error {
			m.e.Snapshot().Sent([]any{k})
			sent = append(sent, k)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := m.e.ReadChunk(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return sent
}

func TestEngineReadsEveryTableInChunks(t *testing.T) {
	tests := []struct {
		name     string
		chunk    int
		streamed map[int64]bool
		want     []int64
	}{
		{"chunks of two", 2, nil, []int64{1, 2, 3, 4, 5, 10, 20}},
		{"one chunk per table", 10, nil, []int64{1, 2, 3, 4, 5, 10, 20}},
		{"streamed keys dropped", 2, map[int64]bool{2: true, 20: true}, []int64{1, 3, 4, 5, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, log := newMem(t, tt.chunk)
			req := &signal.SnapshotRequest{DataCollections: []string{"s.a", "s.b", "s.empty", "s.missing"}}
			if err := m.e.Execute(context.Background(), signal.Record{ID: "sig1"}, req); err != nil {
				t.Fatal(err)
			}
			got := closeAll(t, m, tt.streamed)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sent %v, want %v", got, tt.want)
			}
			if m.e.Snapshot().Running() {
				t.Error("snapshot still running")
			}
			if len(m.marks)%2 != 0 || m.marks[0] != "open" || m.marks[len(m.marks)-1] != "close" {
				t.Errorf("watermarks %v are not open/close pairs", m.marks)
			}
			for _, want := range []string{"incremental snapshot requested", "finished table", "table=s.empty", "incremental snapshot completed"} {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
		})
	}
}

func TestEngineStopPauseResume(t *testing.T) {
	ctx := context.Background()
	m, _ := newMem(t, 2)
	if err := m.e.Execute(ctx, signal.Record{ID: "sig1"}, &signal.SnapshotRequest{DataCollections: []string{"s.a", "s.b"}}); err != nil {
		t.Fatal(err)
	}
	m.e.Pause(signal.Record{ID: "p"})
	// The chunk in flight closes; no next chunk is read while paused.
	if err := m.e.Send(func(int64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := m.e.ReadChunk(ctx); err != nil {
		t.Fatal(err)
	}
	if m.e.Awaiting() {
		t.Fatal("a chunk was read while paused")
	}
	// Stopping s.a (the current table) while paused moves on to s.b.
	if err := m.e.Stop(ctx, signal.Record{ID: "s"}, []string{"s.a"}); err != nil {
		t.Fatal(err)
	}
	if cur := m.e.Snapshot().Current(); cur == nil || cur.ID != "s.b" {
		t.Fatalf("current table %v after stopping s.a, want s.b", cur)
	}
	if err := m.e.Resume(ctx, signal.Record{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if got := closeAll(t, m, nil); !reflect.DeepEqual(got, []int64{10, 20}) {
		t.Errorf("sent %v after resume, want [10 20]", got)
	}
}

func TestEngineFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		failOpen  error
		failChunk error
		wantErr   bool
		wantLog   string
	}{
		{"open watermark fails", errors.New("permission denied"), nil, false, "the open watermark could not be written"},
		{"open watermark, connection lost", errLost, nil, true, ""},
		{"chunk query fails", nil, errors.New("syntax error"), false, "chunk query failed"},
		{"chunk query, connection lost", nil, errLost, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, log := newMem(t, 2)
			m.failOpen, m.failChunk = tt.failOpen, tt.failChunk
			err := m.e.Execute(ctx, signal.Record{ID: "sig1"}, &signal.SnapshotRequest{DataCollections: []string{"s.a", "s.b"}})
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errLost)) {
				t.Fatalf("error %v, want error: %v", err, tt.wantErr)
			}
			if !tt.wantErr && m.e.Snapshot().Running() {
				t.Error("the snapshot goes on after a failure that skips every table")
			}
			if tt.wantErr && !m.e.Snapshot().Running() {
				t.Error("a lost connection gave the snapshot up; a restart must continue it")
			}
			if !strings.Contains(log.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, log)
			}
		})
	}
}
