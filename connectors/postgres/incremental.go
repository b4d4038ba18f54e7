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
	"github.com/tributary-io/tributary/internal/jackson"
	"github.com/tributary-io/tributary/internal/metrics"
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
	t   *pgTask
	s   *streamer
	cfg *signal.Config
	ctx *signal.Incremental

	// window holds the rows of the chunk in flight, by window key, in key
	// order; awaiting is set from the chunk's read until its close.
	window   map[string]*windowRow
	order    []string
	awaiting bool

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

	rows     int64 // rows emitted for the current table
	dropped  int64 // buffered rows a streamed change replaced
	started  time.Time
	lastLog  time.Time
	progress *metrics.Progress

	// Attribution of the open watermark, repeated in the close.
	openedAt           time.Time
	openColl, openCorr string
}

type windowRow struct {
	cells []*cell
	key   []any
}

func newIncremental(t *pgTask, s *streamer, inc *signal.Incremental) *incremental {
	return &incremental{t: t, s: s, cfg: t.cfg.signals, ctx: inc, window: map[string]*windowRow{}}
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
		log.Error("incremental snapshot in the stored offset cannot continue: it needs signal.data.collection and the source channel for its watermarks", "tables", tableNames(i.ctx.Collections()))
		return nil
	}
	if ok, err := i.watermarksArrive(ctx, log); err != nil || !ok {
		return err
	}
	log.Info("incremental snapshot in progress; continuing", "tables", tableNames(i.ctx.Collections()), "after_key", keyString(i.ctx.ChunkEnd()))
	return i.readChunk(ctx)
}

func tableNames(cs []signal.Collection) []string {
	out := make([]string, len(cs))
	for k, c := range cs {
		out[k] = c.ID
	}
	return out
}

func keyString(k []any) string {
	if k == nil {
		return "<start>"
	}
	parts := make([]string, len(k))
	for n, v := range k {
		if v == nil {
			parts[n] = "NULL"
		} else {
			parts[n] = signal.KeyText(v)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// execute handles an execute-snapshot signal of type incremental.
func (i *incremental) execute(ctx context.Context, rec signal.Record, req *signal.SnapshotRequest) error {
	log := i.t.log.With("signal_id", rec.ID)
	if !i.cfg.SourceSignals() {
		log.Warn("incremental snapshot signal ignored: incremental snapshots write watermarks to the signal table, which needs signal.data.collection and the source channel in signal.enabled.channels")
		return nil
	}
	if ok, err := i.watermarksArrive(ctx, log); err != nil || !ok {
		return err
	}
	captured, err := i.t.capturedTables(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(captured))
	for n, id := range captured {
		names[n] = id.String()
	}
	var tables []string
	for _, name := range signal.MatchCollections(req.DataCollections, names) {
		if ok, err := i.usable(ctx, log, name, names); err != nil {
			return err
		} else if !ok {
			continue
		}
		tables = append(tables, name)
	}
	if len(tables) == 0 {
		log.Warn("incremental snapshot signal names no table that can be snapshotted; nothing to do", "data_collections", req.DataCollections)
		return nil
	}
	running := i.ctx.Running()
	added := i.ctx.Add(rec.ID, tables, req)
	log.Info("incremental snapshot requested", "tables", tableNames(added), "surrogate_key", req.SurrogateKey, "already_running", running)
	if running {
		return nil
	}
	return i.readChunk(ctx)
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

// stop handles stop-snapshot for incremental snapshots: the tables are
// taken off the queue before the next chunk is read.
func (i *incremental) stop(ctx context.Context, rec signal.Record, patterns []string) error {
	if !i.ctx.RequestStop(patterns) {
		i.t.log.Warn("stop-snapshot signal: no incremental snapshot is running", "signal_id", rec.ID)
		return nil
	}
	i.t.log.Info("incremental snapshot stop requested", "signal_id", rec.ID, "data_collections", patterns)
	if !i.awaiting {
		// No chunk in flight (paused, or between signals): apply now.
		i.applyStops()
		if i.ctx.Running() && !i.ctx.Paused() {
			return i.readChunk(ctx)
		}
	}
	return nil
}

func (i *incremental) pause(rec signal.Record) {
	if i.ctx.Pause() {
		i.t.log.Info("incremental snapshot paused", "signal_id", rec.ID, "table", i.ctx.Current().ID)
		return
	}
	i.t.log.Warn("pause-snapshot signal: no incremental snapshot is running or it is paused already", "signal_id", rec.ID)
}

func (i *incremental) resume(ctx context.Context, rec signal.Record) error {
	if !i.ctx.Resume() {
		i.t.log.Warn("resume-snapshot signal: no paused incremental snapshot", "signal_id", rec.ID)
		return nil
	}
	i.t.log.Info("incremental snapshot resumed", "signal_id", rec.ID, "table", i.ctx.Current().ID)
	if i.awaiting {
		return nil // the chunk in flight reads the next one when it closes
	}
	return i.readChunk(ctx)
}

// windowOpened handles the open watermark coming back through the stream.
func (i *incremental) windowOpened(id string) {
	if !i.ctx.IsCurrentWindow(id) {
		i.t.log.Debug("incremental snapshot: ignoring the open watermark of another chunk", "watermark", id, "chunk", i.ctx.ChunkID())
	}
}

// windowClosed handles the close watermark: the rows left in the window
// are emitted and the next chunk is read.
func (i *incremental) windowClosed(ctx context.Context, id string) error {
	if !i.ctx.IsCurrentWindow(id) || !i.awaiting {
		i.t.log.Debug("incremental snapshot: ignoring the close watermark of another chunk", "watermark", id, "chunk", i.ctx.ChunkID())
		return nil
	}
	if err := i.sendWindow(); err != nil {
		return err
	}
	return i.readChunk(ctx)
}

// sendWindow emits the window's rows as read events (op r, snapshot
// incremental) carrying the stream's position and, in the offset, the key
// of each row as the last key sent.
func (i *incremental) sendWindow() error {
	i.awaiting = false
	if len(i.order) == 0 {
		return nil
	}
	off := *i.s.off
	off.snapshotType = snapshotIncremental
	off.lastSnapshotRec, off.snapshotCompleted = false, false
	off.ts = time.Now().UTC()
	for _, k := range i.order {
		row, ok := i.window[k]
		if !ok {
			continue // a streamed change replaced it
		}
		i.ctx.Sent(row.key)
		r, err := i.t.readRecord(i.ts, row.cells, debezium.SnapshotIncremental, &off)
		if err != nil {
			return fmt.Errorf("incremental snapshot of %s: %w", i.ts.table.ID, err)
		}
		i.s.batch = append(i.s.batch, r)
		i.rows++
	}
	i.window = map[string]*windowRow{}
	i.order = i.order[:0]
	i.progress.Rows(i.rows)
	if time.Since(i.lastLog) >= progressInterval {
		i.lastLog = time.Now()
		i.t.log.Info("incremental snapshot: progress", append([]any{"after_key", keyString(i.ctx.ChunkEnd())}, i.progress.LogAttrs()...)...)
	}
	return nil
}

// dedup drops the buffered row of a key a streamed change touched; ts is
// the streamed relation's schema, cells its tuple.
func (i *incremental) dedup(ts *tableSchema, cells []*cell) {
	if len(i.window) == 0 || i.ts == nil || i.ts.table.ID != ts.table.ID {
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
		if _, in := i.window[k]; in {
			delete(i.window, k)
			i.dropped++
		}
	}
}

// truncated empties the window when the current table is truncated: the
// rows read before are gone.
func (i *incremental) truncated(id tableID) {
	if i.ts != nil && i.ts.table.ID == id && len(i.window) > 0 {
		i.window = map[string]*windowRow{}
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

// applyStops takes the tables of queued stop-snapshot signals off the
// queue (checkAndProcessStopFlag).
func (i *incremental) applyStops() {
	stops := i.ctx.TakeStops()
	if len(stops) == 0 || !i.ctx.Running() {
		return
	}
	matched := i.ctx.MatchingQueued(stops)
	cur := i.ctx.Current().ID
	stopCurrent := false
	var removed []string
	for _, id := range matched {
		if id == cur {
			stopCurrent = true
			continue
		}
		if i.ctx.Remove(id) {
			removed = append(removed, id)
		}
	}
	if stopCurrent {
		removed = append(removed, cur)
		i.nextTable()
	}
	if len(removed) == 0 {
		i.t.log.Warn("stop-snapshot: no table of the incremental snapshot matches", "data_collections", stops)
		return
	}
	i.t.log.Info("incremental snapshot: tables removed", "tables", removed, "remaining", tableNames(i.ctx.Collections()))
	if !i.ctx.Running() {
		i.t.log.Info("incremental snapshot stopped")
	}
}

func (i *incremental) nextTable() {
	i.window = map[string]*windowRow{}
	i.order = i.order[:0]
	i.awaiting = false
	i.ts, i.chunkCols, i.dedupCols, i.stale, i.dedupIdx = nil, nil, nil, false, nil
	i.ctx.Next()
}

// skip gives up on the current table with a warning and moves on
// (warnAndSkip).
func (i *incremental) skip(reason string, err error) {
	cur := i.ctx.Current()
	log := i.t.log.With("table", cur.ID, "signal_id", cur.CorrelationID, "reason", reason)
	if err != nil {
		log.Warn("incremental snapshot: table skipped", "error", err)
	} else {
		log.Warn("incremental snapshot: table skipped")
	}
	i.progress.Done()
	i.nextTable()
}

func (i *incremental) tableDone() {
	el := time.Since(i.started)
	i.progress.Rows(i.rows)
	i.progress.Done()
	i.t.log.Info("incremental snapshot: finished table", "table", i.ctx.Current().ID, "rows", i.rows, "replaced_by_stream", i.dropped, "duration", el.Round(time.Millisecond))
	i.nextTable()
}

// readChunk writes the open watermark, reads the next chunk into the
// window and writes the close watermark; tables that are done, empty or
// unusable are passed over on the way.
func (i *incremental) readChunk(ctx context.Context) error {
	i.applyStops()
	if !i.ctx.Running() {
		return nil
	}
	if i.ctx.Paused() {
		i.t.log.Info("incremental snapshot is paused", "table", i.ctx.Current().ID)
		return nil
	}
	i.ctx.StartChunk()
	if err := i.watermark(ctx, true); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if i.t.conn.IsClosed() {
			return fmt.Errorf("incremental snapshot: %w", err)
		}
		i.t.log.Error("incremental snapshot stopped: the open watermark could not be written to the signal table", "table", i.cfg.DataCollection, "error", err)
		for i.ctx.Running() {
			i.skip("watermark write failed", err)
		}
		return nil
	}
	for i.ctx.Running() {
		read, err := i.readTableChunk(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if i.t.conn.IsClosed() {
				// Restarting resumes at the last chunk sent.
				return fmt.Errorf("incremental snapshot of %s: %w", i.ctx.Current().ID, err)
			}
			i.skip("chunk query failed", err)
			continue
		}
		if read {
			break
		}
	}
	if !i.ctx.Running() {
		i.t.log.Info("incremental snapshot completed")
	}
	if err := i.watermark(ctx, false); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		if i.t.conn.IsClosed() {
			return fmt.Errorf("incremental snapshot: %w", err)
		}
		// The window would never close: give its rows up and stop.
		i.t.log.Error("incremental snapshot stopped: the close watermark could not be written to the signal table", "table", i.cfg.DataCollection, "error", err)
		for i.ctx.Running() {
			i.skip("watermark write failed", err)
		}
	}
	return nil
}

// readTableChunk reads the current table's next chunk into the window. It
// reports false when the table was finished or skipped instead.
func (i *incremental) readTableChunk(ctx context.Context) (bool, error) {
	col := i.ctx.Current()
	id, ok := parseTableID(col.ID)
	if !ok {
		i.skip("not a <schema>.<table> name", nil)
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
			i.tableDone()
			return false, nil
		}
		i.ctx.SetMaximumKey(maxKey)
		i.t.log.Info("incremental snapshot: reading table", "table", col.ID, "signal_id", col.CorrelationID, "until_key", keyString(maxKey),
			"after_key", keyString(i.ctx.ChunkEnd()), "condition", col.Condition, "surrogate_key", col.SurrogateKey)
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
		if _, dup := i.window[k]; !dup {
			i.order = append(i.order, k)
		}
		i.window[k] = &windowRow{cells: cells, key: i.keyOf(cells)}
		last = cells
	}
	res.Close()
	if err := res.Err(); err != nil {
		return false, fmt.Errorf("%s: %w", q, err)
	}
	if last == nil {
		i.tableDone()
		return false, nil
	}
	i.ctx.SetChunkEnd(i.keyOf(last))
	i.awaiting = true
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
			i.skip("the table does not exist", nil)
			return false, nil
		}
		return false, err
	}
	ts, err := i.t.cfg.schemas.build(tbl)
	if err != nil {
		i.skip("its schema cannot be built", err)
		return false, nil
	}
	var chunk []int
	if col.SurrogateKey != "" {
		n, _ := tbl.column(col.SurrogateKey)
		if n < 0 {
			i.skip(fmt.Sprintf("surrogate key %q is not a column of the table", col.SurrogateKey), nil)
			return false, nil
		}
		chunk = []int{n}
	} else {
		chunk = i.t.cfg.schemas.keyColumns(tbl)
	}
	if len(chunk) == 0 {
		i.skip("the table has no primary key (give a surrogate-key in the signal)", nil)
		return false, nil
	}
	dedup := make([]int, 0, len(ts.keyCols))
	for _, fc := range ts.keyCols {
		dedup = append(dedup, fc.col)
	}
	if len(dedup) == 0 {
		dedup = chunk
	}
	if i.ts != nil && i.ts.table.ID == id && !sameColumns(i.chunkCols, chunk, i.ts.table, tbl) {
		// The key changed under the scan: positions are meaningless now.
		i.t.log.Warn("incremental snapshot: the table's key changed; reading it again from its start", "table", col.ID)
		i.ctx.SetChunkEnd(nil)
		i.ctx.SetMaximumKey(nil)
	}
	if i.ts == nil {
		i.started, i.lastLog, i.rows, i.dropped = time.Now(), time.Now(), 0, 0
		var estimate float64
		_ = i.t.conn.QueryRow(ctx, "SELECT reltuples FROM pg_catalog.pg_class WHERE oid = $1", tbl.OID).Scan(&estimate)
		i.progress = metrics.ForTask(ctx).StartProgress(col.ID, int64(max(estimate, 0)), "incremental")
	}
	i.ts, i.chunkCols, i.dedupCols, i.stale, i.dedupIdx = ts, chunk, dedup, false, nil
	if end := i.ctx.ChunkEnd(); end != nil && len(end) != len(chunk) {
		i.t.log.Warn("incremental snapshot: the stored position does not fit the table's key; reading it again from its start", "table", col.ID, "stored_key", keyString(end))
		i.ctx.SetChunkEnd(nil)
		i.ctx.SetMaximumKey(nil)
	}
	if m := i.ctx.MaximumKey(); m != nil && len(m) != len(chunk) {
		i.ctx.SetMaximumKey(nil)
	}
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
		sql, args = "INSERT INTO "+table+" VALUES ($1, $2, $3)", []any{id + "-open", signal.ActionWindowOpen, windowMetadata(now, time.Time{}, corr, coll)}
	case i.cfg.Watermarking == signal.InsertDelete:
		sql, args = "DELETE FROM "+table+" WHERE id = $1", []any{id + "-open"}
	default:
		// The close carries the open's attribution: the queue may have
		// moved to the next table meanwhile.
		sql, args = "INSERT INTO "+table+" VALUES ($1, $2, $3)", []any{id + "-close", signal.ActionWindowClose, windowMetadata(i.openedAt, now, i.openCorr, i.openColl)}
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

// windowMetadata is SignalMetadata.metadataString: a JSON object with
// ": " and ", " separators and the timestamps as Java's Instant.toString.
func windowMetadata(open, close time.Time, correlationID, collection string) string {
	var parts []string
	add := func(k, v string) {
		parts = append(parts, `"`+k+`": `+string(jackson.AppendString(nil, v)))
	}
	if !open.IsZero() {
		add("openWindowTimestamp", javaInstant(open))
	}
	if !close.IsZero() {
		add("closeWindowTimestamp", javaInstant(close))
	}
	if correlationID != "" {
		add("correlationId", correlationID)
	}
	if collection != "" {
		add("dataCollectionId", collection)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// javaInstant formats t as java.time.Instant.toString: UTC, seconds
// always, the fraction in groups of three digits only as long as needed.
func javaInstant(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	ns := t.Nanosecond()
	switch {
	case ns == 0:
	case ns%1_000_000 == 0:
		s += fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		s += fmt.Sprintf(".%06d", ns/1_000)
	default:
		s += fmt.Sprintf(".%09d", ns)
	}
	return s + "Z"
}
