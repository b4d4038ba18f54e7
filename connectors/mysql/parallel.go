package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
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

// batchWriter hands a reader's record batches to the snapshot's emitter
// through a channel whose capacity bounds what the readers hold ahead of
// Kafka.
type batchWriter struct{ ch chan<- []*connect.Record }

func (b batchWriter) Write(ctx context.Context, recs []*connect.Record) error {
	select {
	case b.ch <- recs:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []*connect.Record, 2*len(conns))
	next := make(chan int, len(tables))
	for i := range tables {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for _, conn := range conns {
		wg.Add(1)
		go func(conn *sql.Conn) {
			defer wg.Done()
			// each reader has its own copy of the offset: the source
			// block's table and marker are per record
			oc := *o
			rem := &emitter{w: batchWriter{ch}, max: parallelBatch}
			for i := range next {
				if rctx.Err() != nil {
					return
				}
				err := t.snapshotTable(rctx, conn, rem, &oc, tables[i], false, false, i+1, len(tables), "", "initial")
				if err == nil {
					err = rem.flush(rctx)
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					cancel()
					return
				}
			}
		}(conn)
	}
	go func() {
		wg.Wait()
		close(ch)
	}()
	first := true
	for batch := range ch {
		for _, r := range batch {
			if first {
				first = false
				markSnapshotRecord(r, debezium.SnapshotFirst)
			}
			if err := em.emit(ctx, r); err != nil {
				cancel()
				for range ch { // let the readers finish
				}
				return err
			}
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
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
