package postgres

import (
	"context"
	"fmt"

	"github.com/tributary-io/tributary/internal/signal"
)

// sourceSignal reads a signal from a change of the signal table
// (SourceSignalChannel): an insert carries id, type and data in the
// table's first three columns; with the insert_delete watermarking a
// delete of an open watermark closes its window.
func (s *streamer) sourceSignal(ctx context.Context, insert bool, cells []*cell) error {
	cfg := s.t.cfg.signals
	if !cfg.Enabled(signal.ChannelSource) {
		return nil
	}
	text := func(n int) (string, bool) {
		if n >= len(cells) || cells[n] == nil || cells[n].null || cells[n].unchanged {
			return "", false
		}
		return cells[n].text, true
	}
	id, _ := text(0)
	if !insert {
		if cfg.Watermarking == signal.InsertDelete && len(id) > len("-open") && id[len(id)-len("-open"):] == "-open" {
			return s.handleSignal(ctx, signal.Record{ID: id[:len(id)-len("open")] + "close", Type: signal.ActionWindowClose, Channel: signal.ChannelSource})
		}
		return nil
	}
	if len(cells) < 3 {
		s.t.log.Warn("malformed signal row: the signal table must have the columns id, type, data", "signal_id", id, "table", cfg.DataCollection, "columns", len(cells))
		return nil
	}
	typ, ok := text(1)
	if !ok || typ == "" {
		s.t.log.Warn("malformed signal row: no type", "signal_id", id, "table", cfg.DataCollection)
		return nil
	}
	data, _ := text(2)
	return s.handleSignal(ctx, signal.Record{ID: id, Type: typ, Data: data, Channel: signal.ChannelSource})
}

// pollSignals handles the signals the kafka and file channels (and the
// REST API) delivered. It runs between transactions only, so an action
// never lands inside a transaction's events.
func (s *streamer) pollSignals(ctx context.Context) error {
	for {
		select {
		case rec := <-s.signals:
			if err := s.handleSignal(ctx, rec); err != nil {
				return err
			}
		default:
			return s.runBlocking(ctx)
		}
	}
}

// handleSignal runs one signal's action (SignalProcessor.processSignal).
// A signal that cannot be carried out is logged with its id and dropped;
// only failures of the database or Kafka end the stream.
func (s *streamer) handleSignal(ctx context.Context, rec signal.Record) error {
	log := s.t.log.With("signal_id", rec.ID, "signal_type", rec.Type, "channel", rec.Channel)
	bad := func(err error) error {
		log.Warn("signal ignored: malformed data", "data", rec.Data, "error", err)
		return nil
	}
	switch rec.Type {
	case signal.ActionLog:
		msg, err := signal.ParseLog(rec.Data)
		if err != nil {
			return bad(err)
		}
		log.Info(signal.FormatLog(msg, s.off.offsetMap()))
	case signal.ActionWindowOpen:
		s.inc.windowOpened(rec.ID)
	case signal.ActionWindowClose:
		return s.inc.windowClosed(ctx, rec.ID)
	case signal.ActionExecuteSnapshot:
		req, err := signal.ParseExecuteSnapshot(rec.Data)
		if err != nil {
			return bad(err)
		}
		if req.Kind == signal.KindBlocking {
			log.Info("blocking snapshot requested; it starts after the current transaction", "data_collections", req.DataCollections)
			s.blocking = append(s.blocking, blockingRequest{rec: rec, req: req})
			return nil
		}
		return s.inc.execute(ctx, rec, req)
	case signal.ActionStopSnapshot:
		req, err := signal.ParseStopSnapshot(rec.Data)
		if err != nil {
			return bad(err)
		}
		if req.Kind == signal.KindBlocking {
			// StopSnapshot only acts on incremental snapshots.
			log.Warn("stop-snapshot of type blocking has no effect: a blocking snapshot runs to completion")
			return nil
		}
		return s.inc.stop(ctx, rec, req.DataCollections)
	case signal.ActionPauseSnapshot:
		s.inc.pause(rec)
	case signal.ActionResumeSnapshot:
		return s.inc.resume(ctx, rec)
	default:
		log.Warn("signal ignored: unknown type")
	}
	return nil
}

type blockingRequest struct {
	rec signal.Record
	req *signal.SnapshotRequest
}

// runBlocking runs the blocking snapshots requested, with the stream
// paused between transactions (ChangeEventSourceCoordinator.doBlockingSnapshot).
func (s *streamer) runBlocking(ctx context.Context) error {
	for len(s.blocking) > 0 && !s.inTx {
		b := s.blocking[0]
		s.blocking = s.blocking[1:]
		if err := s.flush(ctx); err != nil {
			return err
		}
		if err := s.blockingSnapshot(ctx, b.rec, b.req); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if s.t.conn.IsClosed() {
				return fmt.Errorf("blocking snapshot of signal %s: %w", b.rec.ID, err)
			}
			// Debezium logs a failed blocking snapshot and resumes streaming.
			s.t.log.Warn("blocking snapshot failed; streaming resumes", "signal_id", b.rec.ID, "error", err)
		}
	}
	return nil
}
