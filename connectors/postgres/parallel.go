package postgres

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/parallelsnapshot"
)

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
	var total atomic.Int64
	err := parallelsnapshot.Read(ctx, conns, len(schemas), func(c *pgx.Conn, w connect.RecordWriter) parallelsnapshot.TableReader {
		off := *sn.off // each reader's records carry their own source block
		rsn := &snapshotWriter{t: t, w: w, off: &off}
		return func(ctx context.Context, i int) error {
			ts := schemas[i]
			n, err := t.snapshotTable(ctx, c, rsn, ts, false, false, i+1, len(schemas), t.cfg.selectOverrides[ts.table.ID])
			if err != nil {
				return err
			}
			total.Add(n)
			if rsn.pending != nil {
				rsn.batch = append(rsn.batch, rsn.pending)
				rsn.pending = nil
			}
			return rsn.flush(ctx)
		}
	}, func(ctx context.Context, r *connect.Record, first bool) error {
		if first {
			if src, ok := r.Value.(*connect.StructValue).Get("source").(*connect.StructValue); ok {
				src.Set("snapshot", debezium.SnapshotFirst)
			}
		}
		return sn.add(ctx, r)
	})
	if err != nil {
		return 0, err
	}
	return total.Load(), nil
}
