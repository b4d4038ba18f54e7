package signal

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// recorder is a Snapshots and Stream that writes down the actions asked.
type recorder struct{ calls []string }

func (r *recorder) WindowOpened(id string) { r.calls = append(r.calls, "open "+id) }
func (r *recorder) WindowClosed(_ context.Context, id string) error {
	r.calls = append(r.calls, "close "+id)
	return nil
}
func (r *recorder) Execute(_ context.Context, rec Record, req *SnapshotRequest) error {
	r.calls = append(r.calls, fmt.Sprintf("execute %s %v %s", rec.ID, req.DataCollections, req.Kind))
	return nil
}
func (r *recorder) Stop(_ context.Context, rec Record, dcs []string) error {
	r.calls = append(r.calls, fmt.Sprintf("stop %s %v", rec.ID, dcs))
	return nil
}
func (r *recorder) Pause(rec Record) { r.calls = append(r.calls, "pause "+rec.ID) }
func (r *recorder) Resume(_ context.Context, rec Record) error {
	r.calls = append(r.calls, "resume "+rec.ID)
	return nil
}
func (r *recorder) QueueBlocking(rec Record, req *SnapshotRequest) {
	r.calls = append(r.calls, fmt.Sprintf("blocking %s %v", rec.ID, req.DataCollections))
}
func (r *recorder) Offset() map[string]any { return map[string]any{"lsn": int64(42)} }

func TestDispatch(t *testing.T) {
	tests := []struct {
		name      string
		rec       Record
		wantCalls []string
		wantLog   string
	}{
		{"log", Record{ID: "1", Type: ActionLog, Data: `{"message": "at {}"}`}, nil, `msg="at {lsn=42}"`},
		{"open", Record{ID: "c-open", Type: ActionWindowOpen}, []string{"open c-open"}, ""},
		{"close", Record{ID: "c-close", Type: ActionWindowClose}, []string{"close c-close"}, ""},
		{"incremental", Record{ID: "2", Type: ActionExecuteSnapshot, Data: `{"data-collections": ["s.a"]}`}, []string{"execute 2 [s.a] incremental"}, ""},
		{"blocking", Record{ID: "3", Type: ActionExecuteSnapshot, Data: `{"data-collections": ["s.a"], "type": "blocking"}`}, []string{"blocking 3 [s.a]"}, "blocking snapshot requested"},
		{"stop", Record{ID: "4", Type: ActionStopSnapshot, Data: `{"data-collections": ["s.a"], "type": "incremental"}`}, []string{"stop 4 [s.a]"}, ""},
		{"stop blocking", Record{ID: "5", Type: ActionStopSnapshot, Data: `{"type": "blocking"}`}, nil, "has no effect"},
		{"pause", Record{ID: "6", Type: ActionPauseSnapshot}, []string{"pause 6"}, ""},
		{"resume", Record{ID: "7", Type: ActionResumeSnapshot}, []string{"resume 7"}, ""},
		{"malformed", Record{ID: "8", Type: ActionExecuteSnapshot, Data: `{`}, nil, "signal ignored: malformed data"},
		{"unknown", Record{ID: "9", Type: "reboot"}, nil, "signal ignored: unknown type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			r := &recorder{}
			if err := Dispatch(context.Background(), log, tt.rec, r, r); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.calls, tt.wantCalls) {
				t.Errorf("calls %q, want %q", r.calls, tt.wantCalls)
			}
			if !strings.Contains(buf.String(), tt.wantLog) {
				t.Errorf("log %q does not contain %q", buf.String(), tt.wantLog)
			}
			if tt.wantLog != "" && !strings.Contains(buf.String(), "signal_id="+tt.rec.ID) {
				t.Errorf("log %q does not name the signal", buf.String())
			}
		})
	}
}

func TestSourceRecord(t *testing.T) {
	row := func(cells ...any) (int, func(int) (string, bool)) {
		return len(cells), func(n int) (string, bool) {
			if cells[n] == nil {
				return "", false
			}
			return cells[n].(string), true
		}
	}
	source := &Config{Channels: map[string]bool{ChannelSource: true}, DataCollection: "s.sig", Watermarking: InsertInsert}
	insertDelete := &Config{Channels: map[string]bool{ChannelSource: true}, DataCollection: "s.sig", Watermarking: InsertDelete}
	kafkaOnly := &Config{Channels: map[string]bool{ChannelKafka: true}}
	tests := []struct {
		name    string
		cfg     *Config
		deleted bool
		cells   []any
		want    *Record
		wantLog string
	}{
		{"insert", source, false, []any{"1", "log", `{"message": "m"}`}, &Record{ID: "1", Type: "log", Data: `{"message": "m"}`, Channel: ChannelSource}, ""},
		{"insert without data", source, false, []any{"1", "pause-snapshot", nil}, &Record{ID: "1", Type: "pause-snapshot", Channel: ChannelSource}, ""},
		{"channel off", kafkaOnly, false, []any{"1", "log", "{}"}, nil, ""},
		{"two columns", source, false, []any{"1", "log"}, nil, "must have the columns id, type, data"},
		{"no type", source, false, []any{"1", nil, "{}"}, nil, "no type"},
		{"delete of open, insert_delete", insertDelete, true, []any{"c1-open", ActionWindowOpen, "{}"}, &Record{ID: "c1-close", Type: ActionWindowClose, Channel: ChannelSource}, ""},
		{"delete of open, insert_insert", source, true, []any{"c1-open", ActionWindowOpen, "{}"}, nil, ""},
		{"delete of another row", insertDelete, true, []any{"x", "log", "{}"}, nil, ""},
		{"delete of a bare suffix", insertDelete, true, []any{"-open"}, nil, ""},
		{"delete without old row", insertDelete, true, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&buf, nil))
			n, cell := row(tt.cells...)
			got, ok := SourceRecord(tt.cfg, log, tt.deleted, n, cell)
			switch {
			case tt.want == nil && ok:
				t.Errorf("got %+v, want no signal", got)
			case tt.want != nil && (!ok || got != *tt.want):
				t.Errorf("got %+v (%v), want %+v", got, ok, *tt.want)
			}
			if !strings.Contains(buf.String(), tt.wantLog) {
				t.Errorf("log %q does not contain %q", buf.String(), tt.wantLog)
			}
		})
	}
}
