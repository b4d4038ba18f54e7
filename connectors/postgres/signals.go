package postgres

import (
	"context"
	"fmt"

	"github.com/tributary-io/tributary/internal/signal"
)

// sourceSignal handles a change of the signal table (an insert, or with
// insert=false a delete).
func (s *streamer) sourceSignal(ctx context.Context, insert bool, cells []*cell) error {
	rec, ok := signal.SourceRecord(s.t.cfg.signals, s.t.log, !insert, len(cells), func(n int) (string, bool) {
		if cells[n] == nil || cells[n].null || cells[n].unchanged {
			return "", false
		}
		return cells[n].text, true
	})
	if !ok {
		return nil
	}
	return s.handleSignal(ctx, rec)
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

// handleSignal runs one signal's action.
func (s *streamer) handleSignal(ctx context.Context, rec signal.Record) error {
	return signal.Dispatch(ctx, s.t.log, rec, s.inc, s)
}

// QueueBlocking is signal.Stream's: the snapshot runs between two
// transactions (runBlocking).
func (s *streamer) QueueBlocking(rec signal.Record, req *signal.SnapshotRequest) {
	s.blocking = append(s.blocking, blockingRequest{rec: rec, req: req})
}

// Offset is signal.Stream's.
func (s *streamer) Offset() map[string]any { return s.off.offsetMap() }

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
