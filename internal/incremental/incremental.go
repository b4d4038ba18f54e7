// Package incremental runs Debezium's incremental snapshots (the DBLog
// watermark algorithm of AbstractIncrementalSnapshotChangeEventSource)
// for the connectors: the queue of tables and its stop, pause and resume
// signals, the window of the chunk in flight (rows buffered by key,
// dropped when the stream changes their key after the chunk was read,
// emitted when the window closes) and progress. What depends on the
// database (the chunk query, how a watermark is written and how it comes
// back through the stream) is the connector's Source.
package incremental

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/signal"
)

// ProgressInterval is how often a running incremental snapshot logs its
// progress.
const ProgressInterval = 5 * time.Second

// Source is a connector's database side of an incremental snapshot.
type Source interface {
	// WatermarksArrive reports whether windows can close (the
	// watermarks it writes come back through the stream), and logs why
	// not.
	WatermarksArrive(ctx context.Context, log *slog.Logger) (bool, error)
	// Captured lists the names of the captured tables.
	Captured(ctx context.Context) ([]string, error)
	// Usable reports whether a data collection of a signal names a
	// captured table, and logs why not.
	Usable(ctx context.Context, log *slog.Logger, name string, captured []string) (bool, error)
	// OpenWindow and CloseWindow write the watermarks of the chunk
	// being read (signal.Incremental.ChunkID).
	OpenWindow(ctx context.Context) error
	CloseWindow(ctx context.Context) error
	// ReadTableChunk reads the current table's next chunk into the
	// window (Engine.Put, then Engine.ChunkRead). It reports false when
	// the table was finished or skipped instead.
	ReadTableChunk(ctx context.Context) (bool, error)
	// Lost reports whether an error of the above ends the stream (the
	// database connection is gone; a restart continues at the last key
	// sent) rather than the table or the snapshot.
	Lost(err error) bool
	// ResetTable forgets the structure of the table being read.
	ResetTable()
}

// Engine is one stream's incremental snapshot; R is a buffered row as
// the connector emits it. It runs on the stream's goroutine.
type Engine[R any] struct {
	snap      *signal.Incremental
	cfg       *signal.Config
	log       *slog.Logger
	src       Source
	cancelErr bool

	// rows holds the chunk in flight by window key, order its keys in
	// chunk order; awaiting is set from the chunk's read until its close.
	rows     map[string]R
	order    []string
	awaiting bool

	sent, dropped    int64 // of the current table
	started, lastLog time.Time
	progress         *metrics.Progress
}

// New returns the engine of snap. With cancelErr a cancelled context
// ends ReadChunk with the context's error, otherwise with nil.
func New[R any](snap *signal.Incremental, cfg *signal.Config, log *slog.Logger, src Source, cancelErr bool) *Engine[R] {
	return &Engine[R]{snap: snap, cfg: cfg, log: log, src: src, cancelErr: cancelErr, rows: map[string]R{}}
}

// Snapshot is the snapshot's context (queue, positions) as stored in
// offsets.
func (e *Engine[R]) Snapshot() *signal.Incremental { return e.snap }

// Awaiting reports whether a chunk was read and its window has not
// closed yet.
func (e *Engine[R]) Awaiting() bool { return e.awaiting }

// Buffered reports whether the window holds rows.
func (e *Engine[R]) Buffered() bool { return len(e.rows) > 0 }

// Put buffers a row of the chunk being read under its window key; a
// second row with the key replaces the first in its place.
func (e *Engine[R]) Put(key string, row R) {
	if _, dup := e.rows[key]; !dup {
		e.order = append(e.order, key)
	}
	e.rows[key] = row
}

// Drop drops the buffered row of a key the stream changed: the streamed
// change is at least as new.
func (e *Engine[R]) Drop(key string) {
	if _, in := e.rows[key]; in {
		delete(e.rows, key)
		e.dropped++
	}
}

// Truncated empties the window: the rows read before are gone.
func (e *Engine[R]) Truncated() {
	if len(e.rows) > 0 {
		e.rows = map[string]R{}
	}
}

// ChunkRead records the end of the chunk just read into the window and
// waits for its close.
func (e *Engine[R]) ChunkRead(last []any) {
	e.snap.SetChunkEnd(last)
	e.awaiting = true
}

// StartTable starts counting the rows of a table the snapshot begins,
// with the database's estimate of its size.
func (e *Engine[R]) StartTable(ctx context.Context, estimate int64) {
	e.started, e.lastLog, e.sent, e.dropped = time.Now(), time.Now(), 0, 0
	e.progress = metrics.ForTask(ctx).StartProgress(e.snap.Current().ID, estimate, "incremental")
}

// TableReady checks the stored position against the current table's
// chunk key of keyLen columns once the table's structure was read;
// keyChanged says the key columns changed under a running scan.
func (e *Engine[R]) TableReady(keyChanged bool, keyLen int) {
	id := e.snap.Current().ID
	if keyChanged {
		// The key changed under the scan: positions are meaningless now.
		e.log.Warn("incremental snapshot: the table's key changed; reading it again from its start", "table", id)
		e.snap.SetChunkEnd(nil)
		e.snap.SetMaximumKey(nil)
	}
	if end := e.snap.ChunkEnd(); end != nil && len(end) != keyLen {
		e.log.Warn("incremental snapshot: the stored position does not fit the table's key; reading it again from its start", "table", id, "stored_key", KeyString(end))
		e.snap.SetChunkEnd(nil)
		e.snap.SetMaximumKey(nil)
	}
	if m := e.snap.MaximumKey(); m != nil && len(m) != keyLen {
		e.snap.SetMaximumKey(nil)
	}
}

// Continue carries on with a snapshot found in the stored offset.
func (e *Engine[R]) Continue(ctx context.Context) error {
	if ok, err := e.src.WatermarksArrive(ctx, e.log); err != nil || !ok {
		return err
	}
	e.log.Info("incremental snapshot in progress; continuing", "tables", TableNames(e.snap.Collections()), "after_key", KeyString(e.snap.ChunkEnd()))
	return e.ReadChunk(ctx)
}

// Execute handles an execute-snapshot signal of type incremental: the
// captured tables it names join the queue.
func (e *Engine[R]) Execute(ctx context.Context, rec signal.Record, req *signal.SnapshotRequest) error {
	log := e.log.With("signal_id", rec.ID)
	if ok, err := e.src.WatermarksArrive(ctx, log); err != nil || !ok {
		return err
	}
	names, err := e.src.Captured(ctx)
	if err != nil {
		return err
	}
	var tables []string
	for _, name := range signal.MatchCollections(req.DataCollections, names) {
		ok, err := e.src.Usable(ctx, log, name, names)
		if err != nil {
			return err
		}
		if ok {
			tables = append(tables, name)
		}
	}
	if len(tables) == 0 {
		log.Warn("incremental snapshot signal names no table that can be snapshotted; nothing to do", "data_collections", req.DataCollections)
		return nil
	}
	running := e.snap.Running()
	added := e.snap.Add(rec.ID, tables, req)
	e.snap.SetSignalOffset(rec.KafkaOffset)
	log.Info("incremental snapshot requested", "tables", TableNames(added), "surrogate_key", req.SurrogateKey, "already_running", running)
	if running {
		return nil
	}
	return e.ReadChunk(ctx)
}

// Stop handles stop-snapshot: the tables leave the queue before the next
// chunk is read.
func (e *Engine[R]) Stop(ctx context.Context, rec signal.Record, patterns []string) error {
	if !e.snap.RequestStop(patterns) {
		e.log.Warn("stop-snapshot signal: no incremental snapshot is running", "signal_id", rec.ID)
		return nil
	}
	e.snap.SetSignalOffset(rec.KafkaOffset)
	e.log.Info("incremental snapshot stop requested", "signal_id", rec.ID, "data_collections", patterns)
	if !e.awaiting {
		// No chunk in flight (paused, or between signals): apply now.
		e.applyStops()
		if e.snap.Running() && !e.snap.Paused() {
			return e.ReadChunk(ctx)
		}
	}
	return nil
}

// Pause handles pause-snapshot: no chunk is read after the one in flight.
func (e *Engine[R]) Pause(rec signal.Record) {
	if e.snap.Pause() {
		e.log.Info("incremental snapshot paused", "signal_id", rec.ID, "table", e.snap.Current().ID)
		return
	}
	e.log.Warn("pause-snapshot signal: no incremental snapshot is running or it is paused already", "signal_id", rec.ID)
}

// Resume handles resume-snapshot.
func (e *Engine[R]) Resume(ctx context.Context, rec signal.Record) error {
	if !e.snap.Resume() {
		e.log.Warn("resume-snapshot signal: no paused incremental snapshot", "signal_id", rec.ID)
		return nil
	}
	e.log.Info("incremental snapshot resumed", "signal_id", rec.ID, "table", e.snap.Current().ID)
	if e.awaiting {
		return nil // the chunk in flight reads the next one when it closes
	}
	return e.ReadChunk(ctx)
}

// WindowOpened handles an open watermark coming back through the stream.
func (e *Engine[R]) WindowOpened(id string) {
	if !e.snap.IsCurrentWindow(id) {
		e.log.Debug("incremental snapshot: ignoring the open watermark of another chunk", "watermark", id, "chunk", e.snap.ChunkID())
	}
}

// IsClose reports whether a close watermark closes the window in flight,
// and logs one that does not.
func (e *Engine[R]) IsClose(id string) bool {
	if !e.snap.IsCurrentWindow(id) || !e.awaiting {
		e.log.Debug("incremental snapshot: ignoring the close watermark of another chunk", "watermark", id, "chunk", e.snap.ChunkID())
		return false
	}
	return true
}

// Send emits the rows left in the window in chunk order and empties it;
// emit is called with each row and must record it as the last sent
// (signal.Incremental.Sent) before the record takes its offset.
func (e *Engine[R]) Send(emit func(R) error) error {
	e.awaiting = false
	if len(e.order) == 0 {
		return nil
	}
	for _, k := range e.order {
		row, ok := e.rows[k]
		if !ok {
			continue // a streamed change replaced it
		}
		if err := emit(row); err != nil {
			return err
		}
		e.sent++
	}
	e.rows = map[string]R{}
	e.order = e.order[:0]
	e.progress.Rows(e.sent)
	if time.Since(e.lastLog) >= ProgressInterval {
		e.lastLog = time.Now()
		e.log.Info("incremental snapshot: progress", append([]any{"after_key", KeyString(e.snap.ChunkEnd())}, e.progress.LogAttrs()...)...)
	}
	return nil
}

// applyStops takes the tables of queued stop-snapshot signals off the
// queue (checkAndProcessStopFlag).
func (e *Engine[R]) applyStops() {
	stops := e.snap.TakeStops()
	if len(stops) == 0 || !e.snap.Running() {
		return
	}
	matched := e.snap.MatchingQueued(stops)
	cur := e.snap.Current().ID
	stopCurrent := false
	var removed []string
	for _, id := range matched {
		if id == cur {
			stopCurrent = true
			continue
		}
		if e.snap.Remove(id) {
			removed = append(removed, id)
		}
	}
	if stopCurrent {
		removed = append(removed, cur)
		e.nextTable()
	}
	if len(removed) == 0 {
		e.log.Warn("stop-snapshot: no table of the incremental snapshot matches", "data_collections", stops)
		return
	}
	e.log.Info("incremental snapshot: tables removed", "tables", removed, "remaining", TableNames(e.snap.Collections()))
	if !e.snap.Running() {
		e.log.Info("incremental snapshot stopped")
	}
}

func (e *Engine[R]) nextTable() {
	e.rows = map[string]R{}
	e.order = e.order[:0]
	e.awaiting = false
	e.src.ResetTable()
	e.snap.Next()
}

// Skip gives up on the current table with a warning and moves on
// (warnAndSkip).
func (e *Engine[R]) Skip(reason string, err error) {
	cur := e.snap.Current()
	log := e.log.With("table", cur.ID, "signal_id", cur.CorrelationID, "reason", reason)
	if err != nil {
		log.Warn("incremental snapshot: table skipped", "error", err)
	} else {
		log.Warn("incremental snapshot: table skipped")
	}
	e.progress.Done()
	e.nextTable()
}

// TableDone moves on from a table read to its end.
func (e *Engine[R]) TableDone() {
	e.progress.Rows(e.sent)
	e.progress.Done()
	e.log.Info("incremental snapshot: finished table", "table", e.snap.Current().ID, "rows", e.sent, "replaced_by_stream", e.dropped,
		"duration", time.Since(e.started).Round(time.Millisecond))
	e.nextTable()
}

// ReadChunk opens the window, reads the next chunk into it and closes
// it; tables that are done, empty or unusable are passed over on the
// way.
func (e *Engine[R]) ReadChunk(ctx context.Context) error {
	e.applyStops()
	if !e.snap.Running() {
		return nil
	}
	if e.snap.Paused() {
		e.log.Info("incremental snapshot is paused", "table", e.snap.Current().ID)
		return nil
	}
	e.snap.StartChunk()
	if err := e.src.OpenWindow(ctx); err != nil {
		return e.watermarkFailed(ctx, "the open watermark could not be written to the signal table", err)
	}
	for e.snap.Running() {
		read, err := e.src.ReadTableChunk(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return e.canceled(ctx)
			}
			if e.src.Lost(err) {
				// Restarting resumes at the last chunk sent.
				return fmt.Errorf("incremental snapshot of %s: %w", e.snap.Current().ID, err)
			}
			e.Skip("chunk query failed", err)
			continue
		}
		if read {
			break
		}
	}
	if !e.snap.Running() {
		e.log.Info("incremental snapshot completed")
	}
	if err := e.src.CloseWindow(ctx); err != nil {
		// The window would never close: give its rows up and stop.
		return e.watermarkFailed(ctx, "the close watermark could not be written to the signal table", err)
	}
	return nil
}

func (e *Engine[R]) canceled(ctx context.Context) error {
	if e.cancelErr {
		return ctx.Err()
	}
	return nil
}

func (e *Engine[R]) watermarkFailed(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return e.canceled(ctx)
	}
	if e.src.Lost(err) {
		return fmt.Errorf("incremental snapshot: %w", err)
	}
	e.log.Error("incremental snapshot stopped: "+what, "table", e.cfg.DataCollection, "error", err)
	for e.snap.Running() {
		e.Skip("watermark write failed", err)
	}
	return nil
}

// TableNames lists the tables of a snapshot's queue.
func TableNames(cs []signal.Collection) []string {
	out := make([]string, len(cs))
	for k, c := range cs {
		out[k] = c.ID
	}
	return out
}

// KeyString renders a chunk key for logs.
func KeyString(k []any) string {
	if k == nil {
		return "<start>"
	}
	parts := make([]string, len(k))
	for n, v := range k {
		if v == nil {
			parts[n] = "NULL"
		} else {
			parts[n] = signal.KeyText(v)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
