package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/metrics"
)

// progressInterval is how often a long table read logs its progress.
const progressInterval = 5 * time.Second

// snapshot reads every captured table in one REPEATABLE READ transaction
// and emits read events. With exported, the transaction imports the
// slot's exported snapshot, so streaming from the slot's consistent point
// continues exactly where the data read ends. releaseSlotConn closes the
// connection that holds the exported snapshot once it is imported.
func (t *pgTask) snapshot(ctx context.Context, w connect.RecordWriter, exported *pglogrepl.CreateReplicationSlotResult, releaseSlotConn func()) (*offsetState, error) {
	if d := t.cfg.snapshotDelay; d > 0 {
		// snapshot.delay.ms (AbstractSnapshotChangeEventSource.delaySnapshotIfNeeded)
		t.log.Info("waiting before the snapshot (snapshot.delay.ms)", "delay", d.String())
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
	}
	started := time.Now()
	conn, err := pgx.Connect(ctx, t.cfg.dsn(false))
	if err != nil {
		return nil, fmt.Errorf("snapshot: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range t.cfg.initialStatements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("database.initial.statements: %q: %w", s, err)
		}
	}
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return nil, fmt.Errorf("snapshot: begin: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "ROLLBACK") //nolint:errcheck // the snapshot transaction only reads
	var lsn pglogrepl.LSN
	if exported != nil {
		if _, err := conn.Exec(ctx, fmt.Sprintf("SET TRANSACTION SNAPSHOT '%s'", exported.SnapshotName)); err != nil {
			return nil, fmt.Errorf("snapshot: import exported snapshot %s: %w", exported.SnapshotName, err)
		}
		if releaseSlotConn != nil {
			releaseSlotConn()
		}
		if lsn, err = pglogrepl.ParseLSN(exported.ConsistentPoint); err != nil {
			return nil, fmt.Errorf("snapshot: slot consistent point %q: %w", exported.ConsistentPoint, err)
		}
	} else {
		var s string
		if err := conn.QueryRow(ctx, "SELECT (CASE pg_is_in_recovery() WHEN 't' THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END)::text").Scan(&s); err != nil {
			return nil, fmt.Errorf("snapshot: read WAL position: %w", err)
		}
		if lsn, err = pglogrepl.ParseLSN(s); err != nil {
			return nil, err
		}
	}
	off := &offsetState{lsn: lsn, ts: time.Now().UTC(), snapshotRunning: true}
	var txid int64
	if err := conn.QueryRow(ctx, "SELECT (CASE pg_is_in_recovery() WHEN 't' THEN '0'::xid8 ELSE pg_current_xact_id() END)::text::bigint").Scan(&txid); err != nil {
		return nil, fmt.Errorf("snapshot: read transaction id: %w", err)
	}
	if txid > 0 {
		off.txID = &txid
	}
	t.log.Info("snapshot: reading data", "lsn", lsn.String(), "txId", txid)

	// The structure is read inside the snapshot transaction, so it is the
	// structure of the data read.
	cat := &catalog{conn: conn, types: t.types}
	ids, err := t.capturedTablesOn(ctx, conn)
	if err != nil {
		return nil, err
	}
	var toRead []tableID
	for _, id := range ids {
		if len(t.cfg.snapshotTables) == 0 || matchAny(t.cfg.snapshotTables, id.String()) {
			toRead = append(toRead, id)
		}
	}
	schemas := make([]*tableSchema, len(toRead))
	for i, id := range toRead {
		tbl, err := cat.readTable(ctx, id, true)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if schemas[i], err = t.cfg.schemas.build(tbl); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}

	sn := &snapshotWriter{t: t, w: w, off: off}
	total := int64(0)
	metrics.ForTask(ctx).SnapshotStarted(len(schemas))
	if threads := min(t.cfg.snapshotThreads, len(schemas)); threads > 1 {
		if total, err = t.snapshotParallel(ctx, conn, sn, schemas, threads); err != nil {
			metrics.ForTask(ctx).SnapshotAborted()
			return nil, err
		}
	} else {
		for i, ts := range schemas {
			n, err := t.snapshotTable(ctx, conn, sn, ts, i == 0, i == len(schemas)-1, i+1, len(schemas), t.cfg.selectOverrides[ts.table.ID])
			if err != nil {
				metrics.ForTask(ctx).SnapshotAborted()
				return nil, err
			}
			total += n
		}
	}
	// Debezium marks the very last record of the snapshot "last" and gives
	// it the completed offset, even when it came from an earlier table.
	off.lastSnapshotRec = true
	off.snapshotCompleted = true
	if err := sn.finish(ctx); err != nil {
		return nil, err
	}
	off.snapshotRunning, off.lastSnapshotRec, off.snapshotCompleted = false, false, false
	if t.cfg.heartbeatInterval > 0 {
		if err := w.Write(ctx, []*connect.Record{t.heartbeatRecord(off)}); err != nil {
			return nil, err
		}
	}
	metrics.ForTask(ctx).SnapshotCompleted()
	t.log.Info("snapshot completed", "tables", len(schemas), "rows", total, "duration", time.Since(started).Round(time.Millisecond))
	return off, nil
}

func (t *pgTask) capturedTablesOn(ctx context.Context, conn *pgx.Conn) ([]tableID, error) {
	saved := t.conn
	t.conn = conn
	defer func() { t.conn = saved }()
	return t.capturedTables(ctx)
}

// snapshotWriter holds back the latest read record so the snapshot's very
// last record can be re-marked, as Debezium's buffering receiver does.
type snapshotWriter struct {
	t       *pgTask
	w       connect.RecordWriter
	off     *offsetState
	batch   []*connect.Record
	pending *connect.Record
}

func (s *snapshotWriter) add(ctx context.Context, r *connect.Record) error {
	if s.pending != nil {
		s.batch = append(s.batch, s.pending)
	}
	s.pending = r
	if len(s.batch) >= s.t.cfg.maxBatch {
		return s.flush(ctx)
	}
	return nil
}

func (s *snapshotWriter) flush(ctx context.Context) error {
	if len(s.batch) == 0 {
		return nil
	}
	err := s.w.Write(ctx, s.batch)
	s.batch = nil
	return err
}

func (s *snapshotWriter) finish(ctx context.Context) error {
	if s.pending != nil {
		env := s.pending.Value.(*connect.StructValue)
		if src, ok := env.Get("source").(*connect.StructValue); ok {
			src.Set("snapshot", debezium.SnapshotLast)
		}
		s.pending.SourceOffset = s.off.offsetMap()
		s.batch = append(s.batch, s.pending)
		s.pending = nil
	}
	return s.flush(ctx)
}

func snapshotMarker(firstTable, lastTable, firstInTable, lastInTable bool) string {
	switch {
	case lastInTable && lastTable:
		return debezium.SnapshotLast
	case firstInTable && firstTable:
		return debezium.SnapshotFirst
	case lastInTable:
		return debezium.SnapshotLastInDataCollection
	case firstInTable:
		return debezium.SnapshotFirstInDataCollection
	}
	return debezium.SnapshotTrue
}

// snapshotTable streams one table through a server-side cursor in chunks
// of snapshot.fetch.size rows; at most one chunk is in memory. selectStmt
// replaces SELECT * (snapshot.select.statement.overrides, or a blocking
// snapshot signal's filter); its columns are matched to the table's by
// name, and table columns it does not return are NULL.
func (t *pgTask) snapshotTable(ctx context.Context, conn *pgx.Conn, sn *snapshotWriter, ts *tableSchema, firstTable, lastTable bool, order, count int, selectStmt string) (int64, error) {
	id := ts.table.ID
	var estimate float64
	_ = conn.QueryRow(ctx, "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = $1", ts.table.OID).Scan(&estimate)
	var now time.Time
	if err := conn.QueryRow(ctx, "SELECT CURRENT_TIMESTAMP").Scan(&now); err != nil {
		return 0, fmt.Errorf("snapshot of %s: %w", id, err)
	}
	sn.off.ts = now.UTC()
	query := "SELECT * FROM " + id.quoted()
	if selectStmt != "" {
		query = selectStmt
		t.log.Info("snapshot: exporting table", "table", id.String(), "order", order, "of", count, "estimated_rows", int64(max(estimate, 0)), "select", selectStmt)
	} else {
		t.log.Info("snapshot: exporting table", "table", id.String(), "order", order, "of", count, "estimated_rows", int64(max(estimate, 0)))
	}
	start := time.Now()
	kind := "initial"
	if sn.off.snapshotType == snapshotBlocking {
		kind = "blocking"
	}
	progress := metrics.ForTask(ctx).StartProgress(id.String(), int64(max(estimate, 0)), kind)
	cursor := "tributary_snapshot"
	if _, err := conn.Exec(ctx, "DECLARE "+cursor+" NO SCROLL CURSOR FOR "+query); err != nil {
		if selectStmt != "" {
			return 0, fmt.Errorf("snapshot of %s with the SELECT %q: %w", id, selectStmt, err)
		}
		return 0, fmt.Errorf("snapshot of %s: %w", id, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "CLOSE "+cursor) //nolint:errcheck // the transaction ends anyway
	fetch := fmt.Sprintf("FETCH FORWARD %d FROM %s", t.cfg.fetchSize, cursor)
	var rows int64
	var prevCells []*cell
	var columnOf []int // result column → table column, with selectStmt
	lastLog := time.Now()
	emit := func(cells []*cell, first, last bool) error {
		sn.off.lastSnapshotRec = false
		r, err := t.readRecord(ts, cells, snapshotMarker(firstTable, lastTable, first, last), sn.off)
		if err != nil {
			return err
		}
		return sn.add(ctx, r)
	}
	for {
		res, err := conn.Query(ctx, fetch, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return rows, fmt.Errorf("snapshot of %s: %w", id, err)
		}
		n := 0
		if selectStmt != "" && columnOf == nil {
			if columnOf, err = resultColumns(ts.table, res.FieldDescriptions()); err != nil {
				res.Close()
				return 0, fmt.Errorf("snapshot of %s with the SELECT %q: %w", id, selectStmt, err)
			}
		}
		for res.Next() {
			raw := res.RawValues()
			var cells []*cell
			if columnOf == nil {
				cells = rawCells(raw)
			} else {
				cells = make([]*cell, len(ts.table.Columns))
				for i, b := range raw {
					switch {
					case i >= len(columnOf) || columnOf[i] < 0:
					case b == nil:
						cells[columnOf[i]] = &cell{null: true}
					default:
						cells[columnOf[i]] = &cell{text: string(b)}
					}
				}
			}
			if prevCells != nil {
				if err := emit(prevCells, rows == 1, false); err != nil {
					res.Close()
					return rows, err
				}
			}
			prevCells = cells
			rows++
			n++
		}
		res.Close()
		if err := res.Err(); err != nil {
			return rows, fmt.Errorf("snapshot of %s: %w", id, err)
		}
		progress.Rows(rows)
		if time.Since(lastLog) >= progressInterval {
			t.log.Info("snapshot: progress", progress.LogAttrs()...)
			lastLog = time.Now()
		}
		if n < t.cfg.fetchSize {
			break
		}
	}
	if prevCells != nil {
		if err := emit(prevCells, rows == 1, true); err != nil {
			return rows, err
		}
	}
	progress.Rows(rows)
	progress.Done()
	el := time.Since(start)
	rate := int64(0)
	if el > 0 {
		rate = int64(float64(rows) / el.Seconds())
	}
	t.log.Info("snapshot: finished table", "table", id.String(), "rows", rows, "order", order, "of", count,
		"duration", el.Round(time.Millisecond), "rows_per_second", rate)
	return rows, nil
}

// resultColumns maps the columns of an overriding SELECT to the table's
// columns by name (ColumnUtils.toArray); a result column the table does
// not have is an error, since its values would go nowhere.
func resultColumns(tbl *table, fields []pgconn.FieldDescription) ([]int, error) {
	out := make([]int, len(fields))
	for i, f := range fields {
		n, _ := tbl.column(f.Name)
		if n < 0 {
			return nil, fmt.Errorf("the result column %q is not a column of the table", f.Name)
		}
		out[i] = n
	}
	return out, nil
}

// readRecord builds an op=r record.
func (t *pgTask) readRecord(ts *tableSchema, cells []*cell, marker string, off *offsetState) (*connect.Record, error) {
	key, err := ts.keyStruct(cells)
	if err != nil {
		return nil, err
	}
	after, err := ts.valueStruct(cells)
	if err != nil {
		return nil, err
	}
	src := off.sourceStruct(t.cfg.schemas.source, t.cfg.topicPrefix, t.cfg.dbname, ts.table.ID, marker)
	env := debezium.NewEnvelope(ts.envelope, debezium.OpRead, nil, after, src, nil, time.Now())
	return t.dataRecord(ts, key, env, off.offsetMap()), nil
}

func (t *pgTask) dataRecord(ts *tableSchema, key *connect.StructValue, env *connect.StructValue, offset map[string]any) *connect.Record {
	r := &connect.Record{SourcePartition: t.partition, SourceOffset: offset, Topic: ts.topic, Partition: -1,
		KeySchema: ts.key, ValueSchema: ts.envelope, Value: env}
	if key != nil {
		r.Key = key
	}
	return r
}

// rawCells is the cells of one row of text values (nil: NULL).
func rawCells(raw [][]byte) []*cell {
	return packCells(len(raw), func(i int) ([]byte, bool, bool) { return raw[i], raw[i] == nil, false })
}
