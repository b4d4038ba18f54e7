package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/signal"
)

// runBlocking runs the blocking snapshots requested, with the binlog
// reader paused between transactions
// (ChangeEventSourceCoordinator.doBlockingSnapshot).
func (r *sigRun) runBlocking(ctx context.Context) error {
	for len(r.blocking) > 0 && r.between() {
		b := r.blocking[0]
		r.blocking = r.blocking[1:]
		if err := r.em.flush(ctx); err != nil {
			return err
		}
		if err := r.blockingSnapshot(ctx, b.rec, b.req); err != nil {
			var de *dbError
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.As(err, &de) || connectionLost(err) {
				return &dbError{fmt.Errorf("blocking snapshot of signal %s: %w", b.rec.ID, err)}
			}
			// Debezium logs a failed blocking snapshot and resumes streaming.
			r.t.c.log.Warn("blocking snapshot failed; streaming resumes", "signal_id", b.rec.ID, "error", err)
		}
	}
	return nil
}

// blockingSnapshot is an execute-snapshot signal of type blocking: with
// the binlog reader paused between two transactions, the tables are read
// in one consistent snapshot transaction and emitted as read events
// (source.snapshot first/true/last as in the initial snapshot, offset
// snapshot=BLOCKING but for the last record), then streaming resumes
// where it paused. Changes committed while the snapshot reads, and those
// the reader had not reached yet, come from the binlog afterwards, in
// their order: they may repeat what the snapshot read, never contradict
// it, so a key's last event is its latest state.
//
// Each table is read with the signal's additional condition for it (a
// whole SELECT statement for blocking snapshots), else with
// snapshot.select.statement.overrides, else SELECT *. As in Debezium, a
// blocking snapshot interrupted by a restart is not resumed.
func (r *sigRun) blockingSnapshot(ctx context.Context, rec signal.Record, req *signal.SnapshotRequest) error {
	t, c := r.t, r.t.c
	log := c.log.With("signal_id", rec.ID)
	started := time.Now()
	names := r.inc.capturedNames()
	var ids []TableID
	for _, name := range signal.MatchCollections(req.DataCollections, names) {
		ok, err := r.inc.usable(ctx, log, name, names)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		db, tbl, _ := strings.Cut(name, ".")
		ids = append(ids, TableID{DB: db, Table: tbl})
	}
	if len(ids) == 0 {
		log.Warn("blocking snapshot signal names no table that can be snapshotted; streaming continues", "data_collections", req.DataCollections)
		return nil
	}
	sortedTableIDs(ids)
	log.Info("blocking snapshot: streaming paused", "tables", len(ids), "file", r.o.restartFile, "pos", r.o.restartPos)
	cctx, cancel := c.cfg.bounded(ctx)
	conn, err := t.db.Conn(cctx)
	cancel()
	if err != nil {
		return &dbError{fmt.Errorf("blocking snapshot: open connection: %w", c.cfg.timedOut(ctx, err))}
	}
	defer conn.Close()
	stmts := append(append([]string(nil), c.cfg.initialStatements...),
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT")
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("blocking snapshot: %s: %w", st, err)
		}
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // the snapshot transaction only reads
	off := *r.o
	off.snapshotType = "BLOCKING"
	off.query = nil
	em := &emitter{w: r.em.w, max: r.em.max, holding: true}
	m := metrics.ForTask(ctx)
	m.SnapshotStarted(len(ids))
	for n, id := range ids {
		if _, err := c.schemaFor(id); err != nil {
			m.SnapshotAborted()
			return err
		}
		if err := t.snapshotTable(ctx, conn, em, &off, id, n == 0, n == len(ids)-1, n+1, len(ids), req.FilterFor(id.String()), "blocking"); err != nil {
			m.SnapshotAborted()
			return err
		}
	}
	if err := em.releaseHeld(ctx, markLastSnapshotRecord); err != nil {
		m.SnapshotAborted()
		return err
	}
	m.SnapshotCompleted()
	log.Info("blocking snapshot completed; streaming resumes", "tables", len(ids), "duration", time.Since(started).Round(time.Millisecond))
	return nil
}
