package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/internal/debezium"
	isnap "github.com/tributary-io/tributary/internal/incremental"
	"github.com/tributary-io/tributary/internal/signal"
)

// incremental runs Debezium's incremental snapshots (the DBLog watermark
// algorithm of SignalBasedIncrementalSnapshotChangeEventSource) on the
// stream's goroutine. A chunk of rows, ordered by the table's key, is read
// between two watermark rows written to the signal table; the rows wait in
// the window until the close watermark comes back through the replication
// stream. A streamed change of a key in the window removes the buffered
// row (the streamed change is at least as new), so what is emitted at the
// close is never older than a change already streamed. The next chunk is
// read when the close is handled, so the stream is never paused longer
// than one chunk query.
//
// Deviation from Debezium, deliberately: a buffered row is dropped for any
// streamed change of its key that arrives after the chunk was read, not
// only for those between the open and the close watermark. PostgreSQL
// writes a transaction's commit record before the transaction becomes
// visible to new snapshots, so a transaction whose commit precedes the
// open watermark in the WAL can still be invisible to the chunk query:
// its change arrives before the open watermark and the chunk holds the
// row as it was before it. Dropping on every change after the read is
// always safe, because the dropped row's key has a streamed event that is
// emitted no earlier than the window would have been.
type incremental struct {
	*isnap.Engine[*windowRow]
	t   *pgTask
	s   *streamer
	cfg *signal.Config
	ctx *signal.Incremental

	// The current table as the chunks read it: its schema, the columns
	// the chunks are ordered by (key or surrogate key) and the columns
	// that identify a row in the window (the event key, or the chunk key
	// for a keyless table read by a surrogate key).
	ts        *tableSchema
	chunkCols []int
	dedupCols []int
	stale     bool // a Relation message changed the table: read it again
	// dedupIdx maps the dedup columns to the positions of a streamed
	// relation's tuples, by name: pgoutput leaves generated columns out,
	// so positions can differ from the catalog's.
	dedupIdx map[*tableSchema][]int

	// Attribution of the open watermark, repeated in the close.
	openedAt           time.Time
	openColl, openCorr string
}

type windowRow struct {
	cells []*cell
	key   []any
}

func newIncremental(t *pgTask, s *streamer, inc *signal.Incremental) *incremental {
	i := &incremental{t: t, s: s, cfg: t.cfg.signals, ctx: inc}
	i.Engine = isnap.New[*windowRow](inc, t.cfg.signals, t.log, (*incSource)(i), false)
	return i
}

// start resumes a snapshot found in the stored offset.
func (i *incremental) start(ctx context.Context) error {
	if !i.ctx.Running() {
		return nil
	}
	log := i.t.log
	if n := i.s.off.incNotice; n != nil {
		log.Warn("incremental snapshot: the stored position cannot be read; the current table is read again from its start", "table", i.ctx.Current().ID, "error", n)
	}
	if !i.cfg.SourceSignals() {
		log.Error("incremental snapshot in the stored offset cannot continue: it needs signal.data.collection and the source channel for its watermarks", "tables", isnap.TableNames(i.ctx.Collections()))
		return nil
	}
	return i.Continue(ctx)
}

// incSource is the database side of the incremental snapshot
// (isnap.Source).
type incSource incremental

func (src *incSource) WatermarksArrive(ctx context.Context, log *slog.Logger) (bool, error) {
	i := (*incremental)(src)
	if !i.cfg.SourceSignals() {
		log.Warn("incremental snapshot signal ignored: incremental snapshots write watermarks to the signal table, which needs signal.data.collection and the source channel in signal.enabled.channels")
		return false, nil
	}
	return i.watermarksArrive(ctx, log)
}

func (src *incSource) Captured(ctx context.Context) ([]string, error) {
	captured, err := src.t.capturedTables(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(captured))
	for n, id := range captured {
		names[n] = id.String()
	}
	return names, nil
}

func (src *incSource) Usable(ctx context.Context, log *slog.Logger, name string, captured []string) (bool, error) {
	return (*incremental)(src).usable(ctx, log, name, captured)
}

func (src *incSource) OpenWindow(ctx context.Context) error {
	return (*incremental)(src).watermark(ctx, true)
}

func (src *incSource) CloseWindow(ctx context.Context) error {
	return (*incremental)(src).watermark(ctx, false)
}

func (src *incSource) ReadTableChunk(ctx context.Context) (bool, error) {
	return (*incremental)(src).readTableChunk(ctx)
}

// Lost: the replication connection also runs the snapshot's queries, so
// a closed connection ends the stream.
func (src *incSource) Lost(error) bool { return src.t.conn.IsClosed() }

func (src *incSource) ResetTable() {
	src.ts, src.chunkCols, src.dedupCols, src.stale, src.dedupIdx = nil, nil, nil, false, nil
}

// watermarksArrive checks that the signal table exists and is in the
// publication: otherwise the watermarks never come back through the
// stream and the first window would wait for ever.
func (i *incremental) watermarksArrive(ctx context.Context, log *slog.Logger) (bool, error) {
	st := i.t.cfg.signalTable
	var exists, published bool
	err := i.t.conn.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $2 AND c.relname = $3),
		EXISTS (SELECT 1 FROM pg_catalog.pg_publication p WHERE p.pubname = $1 AND (p.puballtables OR EXISTS
			(SELECT 1 FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname AND pt.schemaname = $2 AND pt.tablename = $3)))`,
		i.t.cfg.publication, st.Schema, st.Table).Scan(&exists, &published)
	if err != nil {
		return false, fmt.Errorf("check signal table %s: %w", st, err)
	}
	switch {
	case !exists:
		log.Error("incremental snapshot signal ignored: the signal table does not exist; create it with the columns id, type, data", "signal_table", st.String())
		return false, nil
	case !published:
		log.Error("incremental snapshot signal ignored: the signal table is not in the publication, so its watermarks would never arrive; add it (ALTER PUBLICATION ... ADD TABLE) or use publication.autocreate.mode=filtered or all_tables",
			"signal_table", st.String(), "publication", i.t.cfg.publication)
		return false, nil
	}
	return true, nil
}

// usable reports whether a data collection of a signal names a captured
// table, and logs why not.
func (i *incremental) usable(ctx context.Context, log *slog.Logger, name string, captured []string) (bool, error) {
	for _, c := range captured {
		if c == name {
			return true, nil
		}
	}
	schema, tbl, ok := strings.Cut(name, ".")
	if ok {
		var exists bool
		if err := i.t.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p'))`, schema, tbl).Scan(&exists); err != nil {
			return false, fmt.Errorf("look up table %s: %w", name, err)
		}
		if exists {
			log.Warn("signal names a table that is not captured (table.include.list, table.exclude.list); it is skipped", "table", name)
			return false, nil
		}
	}
	log.Warn("signal names a table that does not exist; it is skipped", "table", name)
	return false, nil
}

// WindowClosed handles the close watermark: the rows left in the window
// are emitted and the next chunk is read.
func (i *incremental) WindowClosed(ctx context.Context, id string) error {
	if !i.IsClose(id) {
		return nil
	}
	if err := i.sendWindow(); err != nil {
		return err
	}
	return i.ReadChunk(ctx)
}

// sendWindow emits the window's rows as read events (op r, snapshot
// incremental) carrying the stream's position and, in the offset, the key
// of each row as the last key sent.
func (i *incremental) sendWindow() error {
	off := *i.s.off
	off.snapshotType = snapshotIncremental
	off.lastSnapshotRec, off.snapshotCompleted = false, false
	off.ts = time.Now().UTC()
	return i.Send(func(row *windowRow) error {
		i.ctx.Sent(row.key)
		r, err := i.t.readRecord(i.ts, row.cells, debezium.SnapshotIncremental, &off)
		if err != nil {
			return fmt.Errorf("incremental snapshot of %s: %w", i.ts.table.ID, err)
		}
		i.s.batch = append(i.s.batch, r)
		return nil
	})
}

// dedup drops the buffered row of a key a streamed change touched; ts is
// the streamed relation's schema, cells its tuple.
func (i *incremental) dedup(ts *tableSchema, cells []*cell) {
	if !i.Buffered() || i.ts == nil || i.ts.table.ID != ts.table.ID {
		return
	}
	idx, ok := i.dedupIdx[ts]
	if !ok {
		idx = make([]int, len(i.dedupCols))
		for n, c := range i.dedupCols {
			idx[n], _ = ts.table.column(i.ts.table.Columns[c].Name)
		}
		if i.dedupIdx == nil {
			i.dedupIdx = map[*tableSchema][]int{}
		}
		i.dedupIdx[ts] = idx
	}
	if k, ok := windowKey(idx, cells); ok {
		i.Drop(k)
	}
}

// truncated empties the window when the current table is truncated: the
// rows read before are gone.
func (i *incremental) truncated(id tableID) {
	if i.ts != nil && i.ts.table.ID == id {
		i.Truncated()
	}
}

// relationChanged notes a structure change of the current table; the
// next chunk reads it again from the catalog.
func (i *incremental) relationChanged(id tableID) {
	if i.ts != nil && i.ts.table.ID == id {
		i.stale = true
	}
}

// windowKey identifies a row by the text of columns (unambiguously: each
// value is length-prefixed). It fails when a value is not in the tuple (an
// unchanged TOASTed key column).
func windowKey(cols []int, cells []*cell) (string, bool) {
	var b strings.Builder
	for _, c := range cols {
		if c < 0 || c >= len(cells) || cells[c] == nil || cells[c].null {
			b.WriteString("N;")
			continue
		}
		if cells[c].unchanged {
			return "", false
		}
		b.WriteString(strconv.Itoa(len(cells[c].text)))
		b.WriteByte(':')
		b.WriteString(cells[c].text)
	}
	return b.String(), true
}

// readTableChunk reads the current table's next chunk into the window. It
// reports false when the table was finished or skipped instead.
func (i *incremental) readTableChunk(ctx context.Context) (bool, error) {
	col := i.ctx.Current()
	id, ok := parseTableID(col.ID)
	if !ok {
		i.Skip("not a <schema>.<table> name", nil)
		return false, nil
	}
	if i.ts == nil || i.stale {
		if ok, err := i.prepareTable(ctx, id, col); err != nil || !ok {
			return false, err
		}
	}
	if i.ctx.MaximumKey() == nil {
		maxKey, err := i.maximumKey(ctx, col)
		if err != nil {
			return false, err
		}
		if maxKey == nil {
			i.t.log.Info("incremental snapshot: table is empty", "table", col.ID)
			i.TableDone()
			return false, nil
		}
		i.ctx.SetMaximumKey(maxKey)
		i.t.log.Info("incremental snapshot: reading table", "table", col.ID, "signal_id", col.CorrelationID, "until_key", isnap.KeyString(maxKey),
			"after_key", isnap.KeyString(i.ctx.ChunkEnd()), "condition", col.Condition, "surrogate_key", col.SurrogateKey)
	}
	q := i.chunkQuery(col)
	res, err := i.t.conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return false, fmt.Errorf("%s: %w", q, err)
	}
	var last []*cell
	for res.Next() {
		raw := res.RawValues()
		cells := make([]*cell, len(raw))
		for n, b := range raw {
			if b == nil {
				cells[n] = &cell{null: true}
			} else {
				cells[n] = &cell{text: string(b)}
			}
		}
		k, ok := windowKey(i.dedupCols, cells)
		if !ok {
			continue
		}
		i.Put(k, &windowRow{cells: cells, key: i.keyOf(cells)})
		last = cells
	}
	res.Close()
	if err := res.Err(); err != nil {
		return false, fmt.Errorf("%s: %w", q, err)
	}
	if last == nil {
		i.TableDone()
		return false, nil
	}
	i.ChunkRead(i.keyOf(last))
	if h := i.t.afterChunkRead; h != nil {
		h(i.ts.table.ID, i.keyOf(last))
	}
	return true, nil
}

func parseTableID(s string) (tableID, bool) {
	schema, tbl, ok := strings.Cut(s, ".")
	return tableID{Schema: schema, Table: tbl}, ok && schema != "" && tbl != ""
}

// prepareTable reads the table's structure and decides the chunk key.
func (i *incremental) prepareTable(ctx context.Context, id tableID, col *signal.Collection) (bool, error) {
	tbl, err := i.t.cat.readTable(ctx, id, true)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			i.Skip("the table does not exist", nil)
			return false, nil
		}
		return false, err
	}
	ts, err := i.t.cfg.schemas.build(tbl)
	if err != nil {
		i.Skip("its schema cannot be built", err)
		return false, nil
	}
	var chunk []int
	if col.SurrogateKey != "" {
		n, _ := tbl.column(col.SurrogateKey)
		if n < 0 {
			i.Skip(fmt.Sprintf("surrogate key %q is not a column of the table", col.SurrogateKey), nil)
			return false, nil
		}
		chunk = []int{n}
	} else {
		chunk = i.t.cfg.schemas.keyColumns(tbl)
	}
	if len(chunk) == 0 {
		i.Skip("the table has no primary key (give a surrogate-key in the signal)", nil)
		return false, nil
	}
	dedup := make([]int, 0, len(ts.keyCols))
	for _, fc := range ts.keyCols {
		dedup = append(dedup, fc.col)
	}
	if len(dedup) == 0 {
		dedup = chunk
	}
	keyChanged := i.ts != nil && i.ts.table.ID == id && !sameColumns(i.chunkCols, chunk, i.ts.table, tbl)
	if i.ts == nil {
		var estimate float64
		_ = i.t.conn.QueryRow(ctx, "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = $1", tbl.OID).Scan(&estimate)
		i.StartTable(ctx, int64(max(estimate, 0)))
	}
	i.ts, i.chunkCols, i.dedupCols, i.stale, i.dedupIdx = ts, chunk, dedup, false, nil
	i.TableReady(keyChanged, len(chunk))
	return true, nil
}

func sameColumns(a, b []int, ta, tb *table) bool {
	if len(a) != len(b) {
		return false
	}
	for n := range a {
		if ta.Columns[a[n]].Name != tb.Columns[b[n]].Name {
			return false
		}
	}
	return true
}

// keyOf returns the chunk key of a row with the Java classes Debezium's
// JDBC rows hold (Integer, Long, UUID, String), so the stored position is
// the one Debezium would store.
func (i *incremental) keyOf(cells []*cell) []any {
	out := make([]any, len(i.chunkCols))
	for n, c := range i.chunkCols {
		ce := cells[c]
		if ce == nil || ce.null {
			continue
		}
		out[n] = typedKey(i.ts.table.Columns[c].Type, ce.text)
	}
	return out
}

func typedKey(t *pgType, text string) any {
	switch t.root().OID {
	case oidInt2, oidInt4:
		if v, err := strconv.ParseInt(text, 10, 32); err == nil {
			return int32(v)
		}
	case oidInt8, oidOID:
		if v, err := strconv.ParseInt(text, 10, 64); err == nil {
			return v
		}
	case oidUUID:
		if u, err := signal.ParseUUID(text); err == nil {
			return u
		}
	}
	return text
}

// literal renders a key value as an SQL literal; an untyped literal takes
// the column's type in the comparison. E” strings do not depend on
// standard_conforming_strings.
func literal(v any) string {
	s := signal.KeyText(v)
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `'`, `''`)
	return "E'" + s + "'"
}

func (i *incremental) quotedCol(c int) string {
	return pgx.Identifier{i.ts.table.Columns[c].Name}.Sanitize()
}

// maximumKey reads the largest chunk key (with the signal's condition);
// nil for an empty table.
func (i *incremental) maximumKey(ctx context.Context, col *signal.Collection) ([]any, error) {
	cols := make([]string, len(i.chunkCols))
	desc := make([]string, len(i.chunkCols))
	for n, c := range i.chunkCols {
		cols[n] = i.quotedCol(c)
		desc[n] = cols[n] + " DESC"
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + i.ts.table.ID.quoted()
	if col.Condition != "" {
		q += " WHERE " + col.Condition
	}
	q += " ORDER BY " + strings.Join(desc, ", ") + " LIMIT 1"
	res, err := i.t.conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", q, err)
	}
	defer res.Close()
	if !res.Next() {
		return nil, res.Err()
	}
	cells := make([]*cell, len(i.ts.table.Columns))
	for n, b := range res.RawValues() {
		if b == nil {
			cells[i.chunkCols[n]] = &cell{null: true}
		} else {
			cells[i.chunkCols[n]] = &cell{text: string(b)}
		}
	}
	res.Close()
	return i.keyOf(cells), res.Err()
}

// chunkQuery is AbstractChunkQueryBuilder.buildChunkQuery: rows after the
// last chunk's end, up to the maximum key, in key order, at most
// incremental.snapshot.chunk.size of them. The upper bound applies to the
// first chunk too, so rows inserted after the scan began are left to the
// stream.
func (i *incremental) chunkQuery(col *signal.Collection) string {
	cols := make([]string, len(i.ts.table.Columns))
	for n := range i.ts.table.Columns {
		cols[n] = i.quotedCol(n)
	}
	keys := make([]string, len(i.chunkCols))
	nullable := make([]bool, len(i.chunkCols))
	for n, c := range i.chunkCols {
		keys[n] = i.quotedCol(c)
		nullable[n] = i.ts.table.Columns[c].Optional
	}
	var conds []string
	if end := i.ctx.ChunkEnd(); end != nil {
		conds = append(conds, boundCondition(keys, nullable, end, false))
	}
	if m := i.ctx.MaximumKey(); m != nil {
		conds = append(conds, "NOT "+boundCondition(keys, nullable, m, false))
	}
	if col.Condition != "" {
		cond := col.Condition
		if !strings.HasPrefix(cond, "(") {
			cond = "(" + cond + ")"
		}
		conds = append(conds, cond)
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + i.ts.table.ID.quoted()
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + strings.Join(keys, ", ") + " LIMIT " + strconv.Itoa(i.cfg.ChunkSize)
}

// boundCondition is addLowerBound for a database where NULL sorts last
// (PostgreSQL's ascending order): rows whose key comes after k, or is k
// when inclusive.
//
//	(k1 > ?) OR (k1 = ? AND k2 > ?) OR ...
//
// A nullable column compares as "greater or NULL" against a value and as
// nothing is greater than NULL against NULL.
func boundCondition(cols []string, nullable []bool, k []any, inclusive bool) string {
	var b strings.Builder
	if len(cols) > 1 {
		b.WriteByte('(')
	}
	for n := range cols {
		lastN := n == len(cols)-1
		b.WriteByte('(')
		for j := 0; j <= n; j++ {
			lastJ := j == n
			op := " = "
			if lastJ {
				op = " > "
				if lastN && inclusive {
					op = " >= "
				}
			}
			switch {
			case k[j] == nil && lastJ:
				if lastN && inclusive {
					b.WriteString(cols[j] + " IS NULL")
				} else {
					b.WriteString("1 = 0")
				}
			case k[j] == nil:
				b.WriteString(cols[j] + " IS NULL")
			case nullable[j] && lastJ:
				b.WriteString("(" + cols[j] + op + literal(k[j]) + " OR " + cols[j] + " IS NULL)")
			default:
				b.WriteString(cols[j] + op + literal(k[j]))
			}
			if !lastJ {
				b.WriteString(" AND ")
			}
		}
		b.WriteByte(')')
		if !lastN {
			b.WriteString(" OR ")
		}
	}
	if len(cols) > 1 {
		b.WriteByte(')')
	}
	return b.String()
}

// watermark writes the open or close watermark of the current chunk:
// a row <chunk id>-open / -close of type snapshot-window-open / -close;
// with insert_delete the close deletes the open row instead. Failures are
// retried signal.emit.failure.max.retries times.
func (i *incremental) watermark(ctx context.Context, open bool) error {
	table := i.t.cfg.signalTable.quoted()
	id := i.ctx.ChunkID()
	var sql string
	var args []any
	now := time.Now()
	var coll, corr string
	if cur := i.ctx.Current(); cur != nil {
		coll, corr = cur.ID, cur.CorrelationID
	}
	switch {
	case open:
		i.openedAt, i.openColl, i.openCorr = now, coll, corr
		sql, args = "INSERT INTO "+table+" VALUES ($1, $2, $3)", []any{id + "-open", signal.ActionWindowOpen, signal.WindowMetadata(now, time.Time{}, corr, coll)}
	case i.cfg.Watermarking == signal.InsertDelete:
		sql, args = "DELETE FROM "+table+" WHERE id = $1", []any{id + "-open"}
	default:
		// The close carries the open's attribution: the queue may have
		// moved to the next table meanwhile.
		sql, args = "INSERT INTO "+table+" VALUES ($1, $2, $3)", []any{id + "-close", signal.ActionWindowClose, signal.WindowMetadata(i.openedAt, now, i.openCorr, i.openColl)}
	}
	for attempt := 0; ; attempt++ {
		_, err := i.t.conn.Exec(ctx, sql, args...)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || (i.cfg.EmitRetries >= 0 && attempt >= i.cfg.EmitRetries) {
			return fmt.Errorf("signal.data.collection %s: %w", i.cfg.DataCollection, err)
		}
		if i.t.conn.IsClosed() {
			return fmt.Errorf("signal.data.collection %s: %w", i.cfg.DataCollection, err)
		}
		i.t.log.Warn("incremental snapshot: writing a watermark failed; retrying", "table", i.cfg.DataCollection, "attempt", attempt+1, "backoff", i.cfg.EmitBackoff, "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(i.cfg.EmitBackoff):
		}
	}
}
