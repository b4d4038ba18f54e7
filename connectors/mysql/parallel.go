package mysql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/parallelsnapshot"
)

// openReaders opens n more snapshot connections, each in a REPEATABLE
// READ consistent snapshot transaction, for snapshot.max.threads. They
// are opened while the snapshot's lock holds writes back (unless
// snapshot.locking.mode=none), so all readers see the same data.
func (t *task) openReaders(ctx context.Context, n int) ([]*sql.Conn, error) {
	c := t.c
	var out []*sql.Conn
	fail := func(err error) ([]*sql.Conn, error) {
		for _, rc := range out {
			rc.Close()
		}
		return nil, err
	}
	for range n {
		cctx, cancel := c.cfg.bounded(ctx)
		rc, err := t.db.Conn(cctx)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("snapshot.max.threads: open a snapshot connection: %w", c.cfg.timedOut(ctx, err)))
		}
		out = append(out, rc)
		stmts := append(append([]string(nil), c.cfg.initialStatements...), "SET SESSION time_zone = '+00:00'",
			"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT")
		for _, st := range stmts {
			if _, err := rc.ExecContext(ctx, st); err != nil {
				return fail(fmt.Errorf("snapshot.max.threads: %s: %w", st, err))
			}
		}
	}
	return out, nil
}

// parallelBatch is the records a reader hands over at a time.
const parallelBatch = 256

// snapshotParallel reads the tables on several connections at once
// (snapshot.max.threads), each reader taking the next table when it has
// finished one, and emits their records through em on this goroutine. At
// most two batches per reader wait in memory. The records of different
// tables interleave; each table's records keep their order and their
// first_in_data_collection / last_in_data_collection markers, the very
// first record emitted is marked first and, as in the sequential
// snapshot, the very last one last.
func (t *task) snapshotParallel(ctx context.Context, conns []*sql.Conn, em *emitter, o *offsetState, tables []TableID) error {
	c := t.c
	// schemas are built here: the model is not shared between goroutines
	for _, id := range tables {
		ts, err := c.schemaFor(id)
		if err != nil {
			return err
		}
		if ts == nil {
			return fmt.Errorf("snapshot: no schema known for table %s", id)
		}
	}
	return parallelsnapshot.Read(ctx, conns, len(tables), func(conn *sql.Conn, w connect.RecordWriter) parallelsnapshot.TableReader {
		// each reader has its own copy of the offset: the source block's
		// table and marker are per record
		oc := *o
		rem := &emitter{w: w, max: parallelBatch}
		return func(ctx context.Context, i int) error {
			if err := t.snapshotTable(ctx, conn, rem, &oc, tables[i], false, false, i+1, len(tables), "", "initial"); err != nil {
				return err
			}
			return rem.flush(ctx)
		}
	}, func(ctx context.Context, r *connect.Record, first bool) error {
		if first {
			markSnapshotRecord(r, debezium.SnapshotFirst)
		}
		return em.emit(ctx, r)
	})
}

// markSnapshotRecord sets a snapshot record's source.snapshot.
func markSnapshotRecord(r *connect.Record, marker string) {
	sv, ok := r.Value.(*connect.StructValue)
	if !ok || sv.Schema.Field("source") == nil {
		return
	}
	if src, ok := sv.Get("source").(*connect.StructValue); ok {
		cp := &connect.StructValue{Schema: src.Schema, Values: append([]any(nil), src.Values...)}
		cp.Set("snapshot", marker)
		nv := &connect.StructValue{Schema: sv.Schema, Values: append([]any(nil), sv.Values...)}
		nv.Set("source", cp)
		r.Value = nv
	}
}
