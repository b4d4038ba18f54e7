package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/internal/signal"
)

// blockingSnapshot is an execute-snapshot signal of type blocking: with
// the stream paused between two transactions, the tables are read in one
// REPEATABLE READ transaction and emitted as read events (source.snapshot
// first/true/last as in the initial snapshot, offset snapshot=BLOCKING),
// then streaming resumes where it paused. Changes committed while the
// snapshot reads come from the stream afterwards; they may repeat what the
// snapshot read, never contradict it: a key's last event is its latest
// state.
//
// Each table is read with the signal's additional condition for it (a
// whole SELECT statement for blocking snapshots), else with
// snapshot.select.statement.overrides, else SELECT *. Debezium applies
// only the signal's statements here; falling back to the configured
// override keeps a table's blocking snapshot consistent with its initial
// one.
//
// As in Debezium, a blocking snapshot interrupted by a restart is not
// resumed: its records carry the stream's position, so streaming resumes
// there and the signal has to be sent again.
func (s *streamer) blockingSnapshot(ctx context.Context, rec signal.Record, req *signal.SnapshotRequest) error {
	t := s.t
	log := t.log.With("signal_id", rec.ID)
	started := time.Now()
	captured, err := t.capturedTables(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(captured))
	for i, id := range captured {
		names[i] = id.String()
	}
	var ids []tableID
	for _, name := range signal.MatchCollections(req.DataCollections, names) {
		id, ok := parseTableID(name)
		if !ok {
			log.Warn("blocking snapshot: not a <schema>.<table> name; skipped", "table", name)
			continue
		}
		found := false
		for _, c := range captured {
			found = found || c == id
		}
		if !found {
			if _, err := s.inc.usable(ctx, log, name, names); err != nil {
				return err
			}
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		log.Warn("blocking snapshot signal names no table that can be snapshotted; streaming continues", "data_collections", req.DataCollections)
		return nil
	}
	log.Info("blocking snapshot: streaming paused", "tables", len(ids), "lsn", s.off.lsn.String())
	// The keep-alive goroutine answers the server while the loop is busy.
	s.writing.Store(true)
	defer s.writing.Store(false)

	conn, err := pgx.Connect(ctx, t.cfg.dsn(false))
	if err != nil {
		return fmt.Errorf("blocking snapshot: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, st := range t.cfg.initialStatements {
		if _, err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("database.initial.statements: %q: %w", st, err)
		}
	}
	if err := s.beginSeeingStreamed(ctx, conn, log); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // the snapshot transaction only reads
	cat := &catalog{conn: conn, types: t.types}
	schemas := make([]*tableSchema, 0, len(ids))
	for _, id := range ids {
		tbl, err := cat.readTable(ctx, id, true)
		if err != nil {
			return fmt.Errorf("blocking snapshot: %w", err)
		}
		ts, err := t.cfg.schemas.build(tbl)
		if err != nil {
			return fmt.Errorf("blocking snapshot: %w", err)
		}
		schemas = append(schemas, ts)
	}
	off := *s.off
	off.snapshotType = snapshotBlocking
	off.lastSnapshotRec, off.snapshotCompleted = false, false
	sn := &snapshotWriter{t: t, w: s.w, off: &off}
	var total int64
	for i, ts := range schemas {
		stmt := req.FilterFor(ts.table.ID.String())
		if stmt == "" {
			stmt = t.cfg.selectOverrides[ts.table.ID]
		}
		n, err := t.snapshotTable(ctx, conn, sn, ts, i == 0, i == len(schemas)-1, i+1, len(schemas), stmt)
		if err != nil {
			return err
		}
		total += n
	}
	off.lastSnapshotRec, off.snapshotCompleted = true, true
	if err := sn.finish(ctx); err != nil {
		return err
	}
	log.Info("blocking snapshot completed; streaming resumes", "tables", len(schemas), "rows", total, "duration", time.Since(started).Round(time.Millisecond))
	return nil
}

// recentXidCount is how many of the last streamed transactions a
// blocking snapshot checks it can see.
const recentXidCount = 256

// beginSeeingStreamed opens the blocking snapshot's REPEATABLE READ
// transaction with a snapshot that sees every transaction the stream has
// already delivered. PostgreSQL writes a commit record (which the stream
// may already have sent) a moment before the transaction becomes visible
// to new snapshots; a snapshot taken in that moment would read a row a
// streamed delete had removed, and its read event, coming after the
// delete, would bring the row back for consumers. The check runs as the
// transaction's first statement, so it tests the very snapshot the reads
// use; while a recent transaction is not yet visible it starts over.
func (s *streamer) beginSeeingStreamed(ctx context.Context, conn *pgx.Conn, log *slog.Logger) error {
	n := min(s.recentN, recentXidCount)
	xids := make([]int64, n)
	for i := range n {
		xids[i] = int64(s.recentXids[i])
	}
	// A 32-bit xid becomes an xid8 with the epoch of the snapshot's xmax
	// (one less when the xid is above xmax's low half: before a wrap).
	const check = `WITH s AS (SELECT pg_current_snapshot() AS snap),
		e AS (SELECT pg_snapshot_xmax(snap)::text::bigint AS xmax FROM s)
		SELECT count(*) FROM s, e, unnest($1::bigint[]) AS x(xid)
		WHERE NOT pg_visible_in_snapshot(
			((((e.xmax >> 32) - CASE WHEN x.xid > (e.xmax & 4294967295) THEN 1 ELSE 0 END) << 32) | x.xid)::text::xid8, s.snap)`
	deadline := time.Now().Add(30 * time.Second)
	for attempt := 0; ; attempt++ {
		if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
			return fmt.Errorf("blocking snapshot: begin: %w", err)
		}
		var unseen int64
		if err := conn.QueryRow(ctx, check, xids).Scan(&unseen); err != nil {
			return fmt.Errorf("blocking snapshot: check that streamed transactions are visible: %w", err)
		}
		if unseen == 0 {
			return nil
		}
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return fmt.Errorf("blocking snapshot: rollback: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("blocking snapshot: %d streamed transactions still not visible to new snapshots after 30 s", unseen)
		}
		if attempt == 0 {
			log.Debug("blocking snapshot: waiting for streamed transactions to become visible", "unseen", unseen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
