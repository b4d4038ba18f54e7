package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// batchWriter hands a reader's record batches to the snapshot's writer
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

// snapshotParallel reads the tables on threads connections at once
// (snapshot.max.threads): the snapshot transaction on conn exports its
// snapshot and every other reader imports it, so all read the same data.
// Each reader takes the next table when it has finished one and hands
// its records over in batches of max.batch.size, at most two per reader
// waiting; they are written through sn on this goroutine. The records of
// different tables interleave; each table keeps its order and its
// first_in_data_collection / last_in_data_collection markers, the very
// first record written is marked first and sn marks the very last one
// last, as in the sequential snapshot.
func (t *pgTask) snapshotParallel(ctx context.Context, conn *pgx.Conn, sn *snapshotWriter, schemas []*tableSchema, threads int) (int64, error) {
	var name string
	if err := conn.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&name); err != nil {
		return 0, fmt.Errorf("snapshot.max.threads: export the snapshot for the other readers: %w", err)
	}
	conns := []*pgx.Conn{conn}
	defer func() {
		for _, c := range conns[1:] {
			c.Close(context.WithoutCancel(ctx))
		}
	}()
	for range threads - 1 {
		c, err := pgx.Connect(ctx, t.cfg.dsn(false))
		if err != nil {
			return 0, fmt.Errorf("snapshot.max.threads: connect: %w", err)
		}
		conns = append(conns, c)
		stmts := append(append([]string(nil), t.cfg.initialStatements...), "BEGIN ISOLATION LEVEL REPEATABLE READ",
			fmt.Sprintf("SET TRANSACTION SNAPSHOT '%s'", name))
		for _, st := range stmts {
			if _, err := c.Exec(ctx, st); err != nil {
				return 0, fmt.Errorf("snapshot.max.threads: %s: %w", st, err)
			}
		}
	}
	t.log.Info("snapshot: reading tables in parallel", "threads", threads, "tables", len(schemas))
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan []*connect.Record, 2*threads)
	next := make(chan int, len(schemas))
	for i := range schemas {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	var total atomic.Int64
	for _, c := range conns {
		wg.Add(1)
		go func(c *pgx.Conn) {
			defer wg.Done()
			off := *sn.off // each reader's records carry their own source block
			rsn := &snapshotWriter{t: t, w: batchWriter{ch}, off: &off}
			for i := range next {
				if rctx.Err() != nil {
					return
				}
				ts := schemas[i]
				n, err := t.snapshotTable(rctx, c, rsn, ts, false, false, i+1, len(schemas), t.cfg.selectOverrides[ts.table.ID])
				if err == nil {
					total.Add(n)
					if rsn.pending != nil {
						rsn.batch = append(rsn.batch, rsn.pending)
						rsn.pending = nil
					}
					err = rsn.flush(rctx)
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
		}(c)
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
				if src, ok := r.Value.(*connect.StructValue).Get("source").(*connect.StructValue); ok {
					src.Set("snapshot", debezium.SnapshotFirst)
				}
			}
			if err := sn.add(ctx, r); err != nil {
				cancel()
				for range ch { // let the readers finish
				}
				return 0, err
			}
		}
	}
	if firstErr != nil {
		return 0, firstErr
	}
	return total.Load(), ctx.Err()
}
