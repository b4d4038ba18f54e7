package mysql

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	isnap "github.com/tributary-io/tributary/internal/incremental"
	"github.com/tributary-io/tributary/internal/signal"
)

// incremental runs Debezium's incremental snapshots on the binlog
// reader's goroutine (BinlogSignalBasedIncrementalSnapshotChangeEventSource
// and, with read.only=true, BinlogReadOnlyIncrementalSnapshotChangeEventSource).
// A chunk of rows ordered by the table's key is read into a window; a
// streamed change of a key in the window removes the buffered row (the
// streamed change is at least as new); the rest of the window is emitted
// as read events (op r, source.snapshot incremental) when the window
// closes, and the next chunk is read then. The window closes when the
// close watermark row written to the signal table after the chunk read
// comes back through the binlog, or, read-only, when the binlog reader
// has processed every GTID the server had executed when the chunk read
// ended (@@global.gtid_executed, MariaDB @@gtid_binlog_pos); nothing is
// written to the database then.
//
// Deviation from Debezium, deliberately (as in the PostgreSQL
// connector): a buffered row is dropped for any streamed change of its key
// processed after the chunk was read, not only for those between the two
// watermarks. A transaction written to the binlog before the open
// watermark may become visible to other sessions a moment after it (the
// binlog is written before the storage engine commits), so the chunk can
// hold the row as it was before it while its change arrives before the
// open watermark. Dropping on every later change is always safe: the
// dropped row's key has a streamed event no older than the row.
type incremental struct {
	*isnap.Engine[*windowRow]
	r    *sigRun
	cfg  *signal.Config
	ctx  *signal.Incremental
	conn *sql.Conn // the snapshot's own session: time zone UTC, watermarks

	id        TableID
	ts        *tableSchema
	chunkCols []int
	estimated int64

	openedAt           time.Time
	openColl, openCorr string
	// high is the read-only window's high watermark: the GTIDs the
	// server had executed when the chunk read ended.
	high gtidSet
}

type windowRow struct {
	chunkKey   []any
	key, value *connect.StructValue
}

func newIncremental(r *sigRun, inc *signal.Incremental) *incremental {
	i := &incremental{r: r, cfg: r.t.c.cfg.signals, ctx: inc}
	i.Engine = isnap.New[*windowRow](inc, r.t.c.cfg.signals, r.t.c.log, (*incSource)(i), true)
	return i
}

// incSource is the database side of the incremental snapshot
// (isnap.Source).
type incSource incremental

func (src *incSource) WatermarksArrive(ctx context.Context, log *slog.Logger) (bool, error) {
	return (*incremental)(src).watermarksArrive(ctx, log)
}

func (src *incSource) Captured(context.Context) ([]string, error) {
	return (*incremental)(src).capturedNames(), nil
}

func (src *incSource) Usable(ctx context.Context, log *slog.Logger, name string, captured []string) (bool, error) {
	return (*incremental)(src).usable(ctx, log, name, captured)
}

func (src *incSource) OpenWindow(ctx context.Context) error {
	i := (*incremental)(src)
	if i.readOnly() {
		return nil // the low watermark is the binlog reader's position
	}
	return i.watermark(ctx, true)
}

// CloseWindow writes the close watermark, or read-only takes the GTIDs
// the server has executed as the high watermark.
func (src *incSource) CloseWindow(ctx context.Context) error {
	i := (*incremental)(src)
	if !i.readOnly() {
		return i.watermark(ctx, false)
	}
	if !i.Awaiting() {
		return nil
	}
	high, err := i.executedGtids(ctx)
	if err != nil {
		return &gtidWatermarkError{err}
	}
	i.high = high
	return nil
}

func (src *incSource) ReadTableChunk(ctx context.Context) (bool, error) {
	return (*incremental)(src).readTableChunk(ctx)
}

// Lost: a lost connection is retriable (the task restarts from the
// committed offset), and a read-only window whose high watermark cannot
// be read ends the stream as well.
func (src *incSource) Lost(err error) bool {
	var de *dbError
	var ge *gtidWatermarkError
	return errors.As(err, &de) || errors.As(err, &ge)
}

func (src *incSource) ResetTable() {
	src.high = nil
	src.ts, src.chunkCols = nil, nil
	src.id = TableID{}
}

// gtidWatermarkError is a failure to read the read-only high watermark.
type gtidWatermarkError struct{ err error }

func (e *gtidWatermarkError) Error() string { return e.err.Error() }
func (e *gtidWatermarkError) Unwrap() error { return e.err }

func (i *incremental) log() *slog.Logger { return i.r.t.c.log }

func (i *incremental) readOnly() bool { return i.r.t.c.cfg.readOnly }

// close ends the snapshot's session.
func (i *incremental) close() {
	if i.conn != nil {
		i.conn.Close()
		i.conn = nil
	}
}

// session returns the snapshot's database session, opening it on first
// use.
func (i *incremental) session(ctx context.Context) (*sql.Conn, error) {
	if i.conn != nil {
		return i.conn, nil
	}
	c := i.r.t.c
	cctx, cancel := c.cfg.bounded(ctx)
	conn, err := i.r.t.db.Conn(cctx)
	cancel()
	if err != nil {
		return nil, &dbError{fmt.Errorf("incremental snapshot: open connection: %w", c.cfg.timedOut(ctx, err))}
	}
	stmts := append(append([]string(nil), c.cfg.initialStatements...),
		// TIMESTAMP values are read in UTC, as in the initial snapshot;
		// key literals are written with backslash escapes.
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
	for _, st := range stmts {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			conn.Close()
			return nil, i.dbErr(fmt.Errorf("incremental snapshot: %s: %w", st, err))
		}
	}
	i.conn = conn
	return conn, nil
}

// dbErr makes a lost connection retriable (the task restarts from the
// committed offset and continues the snapshot from the last key sent).
func (i *incremental) dbErr(err error) error {
	if connectionLost(err) {
		i.close()
		return &dbError{err}
	}
	return err
}

// start continues a snapshot found in the stored offset.
func (i *incremental) start(ctx context.Context) error {
	if !i.ctx.Running() {
		return nil
	}
	if n := i.r.o.incNotice; n != nil {
		i.log().Warn("incremental snapshot: the stored position cannot be read; the current table is read again from its start", "table", i.ctx.Current().ID, "error", n)
	}
	return i.Continue(ctx)
}

// watermarksArrive checks that the chosen watermarks can work: the signal
// table exists (watermark rows), or the binlog reader follows GTIDs from
// a GTID position (read-only).
func (i *incremental) watermarksArrive(ctx context.Context, log *slog.Logger) (bool, error) {
	if i.readOnly() {
		if !i.r.t.server.gtidMode {
			log.Error("incremental snapshot signal ignored: read.only=true takes GTID sets as watermarks, and the server does not have gtid_mode=ON")
			return false, nil
		}
		// MariaDB's GTID positions hold the last sequence number per
		// domain, so a reader that started from a file position compares
		// as well as one that started from a GTID position; MySQL's sets
		// need the whole history.
		if !i.r.st.gtidsComplete && !i.r.t.server.mariadb {
			log.Error("incremental snapshot signal ignored: read.only=true needs the binlog reader to run from a GTID position, and this run started from a binlog file and position (no GTID set in the offset, or gtid.ignore.on.recovery)")
			return false, nil
		}
		return true, nil
	}
	if !i.cfg.SourceSignals() {
		log.Warn("incremental snapshot signal ignored: incremental snapshots write watermarks to the signal table, which needs signal.data.collection and the source channel in signal.enabled.channels (or read.only=true for GTID watermarks)")
		return false, nil
	}
	conn, err := i.session(ctx)
	if err != nil {
		return false, err
	}
	var n int
	st := i.r.table
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", st.DB, st.Table).Scan(&n); err != nil {
		return false, i.dbErr(fmt.Errorf("check signal table %s: %w", st, err))
	}
	if n == 0 {
		log.Error("incremental snapshot signal ignored: the signal table does not exist; create it with the columns id, type, data", "signal_table", st.String())
		return false, nil
	}
	return true, nil
}

// capturedNames lists the captured tables the model knows.
func (i *incremental) capturedNames() []string {
	var out []string
	for id := range i.r.t.c.model.tables {
		if i.r.t.c.captured(id) {
			out = append(out, id.String())
		}
	}
	return out
}

// usable reports whether a data collection of a signal names a captured
// table, and logs why not.
func (i *incremental) usable(ctx context.Context, log *slog.Logger, name string, captured []string) (bool, error) {
	for _, c := range captured {
		if c == name {
			return true, nil
		}
	}
	if db, tbl, ok := strings.Cut(name, "."); ok {
		conn, err := i.session(ctx)
		if err != nil {
			return false, err
		}
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", db, tbl).Scan(&n); err != nil {
			return false, i.dbErr(fmt.Errorf("look up table %s: %w", name, err))
		}
		if n > 0 {
			log.Warn("signal names a table that is not captured (database.include.list, table.include.list and their exclude lists); it is skipped", "table", name)
			return false, nil
		}
	}
	log.Warn("signal names a table that does not exist; it is skipped", "table", name)
	return false, nil
}

// WindowClosed handles the close watermark: the rows left in the window
// are emitted and the next chunk is read.
func (i *incremental) WindowClosed(ctx context.Context, id string) error {
	if i.readOnly() {
		i.log().Debug("incremental snapshot: ignoring the close watermark of another chunk", "watermark", id, "chunk", i.ctx.ChunkID())
		return nil
	}
	if !i.IsClose(id) {
		return nil
	}
	if err := i.sendWindow(ctx); err != nil {
		return err
	}
	return i.ReadChunk(ctx)
}

// idle closes read-only windows whose high watermark the binlog reader
// has reached (readUntilGtidChange); it runs between transactions.
func (i *incremental) idle(ctx context.Context) error {
	for i.readOnly() && i.Awaiting() && i.high != nil && i.r.st.gtids != nil && i.r.st.gtids.contains(i.high) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := i.sendWindow(ctx); err != nil {
			return err
		}
		if err := i.ReadChunk(ctx); err != nil {
			return err
		}
	}
	return nil
}

// sendWindow emits the window's rows as read events carrying the
// stream's position and, in the offset, the key of each row as the last
// key sent.
func (i *incremental) sendWindow(ctx context.Context) error {
	i.high = nil
	c := i.r.t.c
	off := *i.r.o
	off.snapshotType = "INCREMENTAL"
	off.snapshotRc = debezium.SnapshotIncremental
	if i.readOnly() {
		off.query = nil // as BinlogReadOnlyIncrementalSnapshotChangeEventSource.sendEvent
	}
	off.tableEvent(i.id.DB, []TableID{i.id}, c.now())
	var recs []*connect.Record
	return i.Send(func(row *windowRow) error {
		i.ctx.Sent(row.chunkKey)
		recs = c.dataRecords(recs[:0], i.ts, debezium.OpRead, nil, nil, row.key, row.value, &off, nil)
		for _, rec := range recs {
			if err := i.r.em.emit(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
}

// identity names a row in the window: its event key, or for a keyless
// table read by a surrogate key, the chunk columns' values.
func (i *incremental) identity(key, value *connect.StructValue) (string, bool) {
	if i.ts.keyS != nil {
		if key == nil {
			return "", false
		}
		return fmt.Sprintf("%v", key.Values), true
	}
	if value == nil {
		return "", false
	}
	vals := make([]any, len(i.chunkCols))
	for n, col := range i.chunkCols {
		name := i.ts.table.Columns[col].Name
		if value.Schema.Field(name) == nil {
			return "", false
		}
		vals[n] = value.Get(name)
	}
	return fmt.Sprintf("%v", vals), true
}

// dedup drops the buffered rows of the keys a streamed change of table id
// touched (before and after image).
func (i *incremental) dedup(id TableID, bk, bv, ak, av *connect.StructValue) {
	if !i.Buffered() || i.ts == nil || id != i.id {
		return
	}
	for _, kv := range [][2]*connect.StructValue{{bk, bv}, {ak, av}} {
		if kv[0] == nil && kv[1] == nil {
			continue
		}
		if k, ok := i.identity(kv[0], kv[1]); ok {
			i.Drop(k)
		}
	}
}

// truncated empties the window when the current table is truncated: the
// rows read before are gone.
func (i *incremental) truncated(id TableID) {
	if i.ts != nil && id == i.id {
		i.Truncated()
	}
}

// executedGtids reads the server's executed GTID set, the read-only
// variant's watermark.
func (i *incremental) executedGtids(ctx context.Context) (gtidSet, error) {
	conn, err := i.session(ctx)
	if err != nil {
		return nil, err
	}
	q := "SELECT @@GLOBAL.gtid_executed"
	if i.r.t.server.mariadb {
		q = "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	var s string
	if err := conn.QueryRowContext(ctx, q).Scan(&s); err != nil {
		return nil, i.dbErr(fmt.Errorf("incremental snapshot: read the GTID watermark (%s): %w", q, err))
	}
	set, err := parseGtidSet(i.r.t.server.mariadb, lineBreaks.Replace(s))
	if err != nil {
		return nil, fmt.Errorf("incremental snapshot: GTID watermark %q: %w", s, err)
	}
	return set, nil
}

// readTableChunk reads the current table's next chunk into the window.
// It reports false when the table was finished or skipped instead.
func (i *incremental) readTableChunk(ctx context.Context) (bool, error) {
	col := i.ctx.Current()
	db, tbl, ok := strings.Cut(col.ID, ".")
	if !ok || db == "" || tbl == "" {
		i.Skip("not a <database>.<table> name", nil)
		return false, nil
	}
	id := TableID{DB: db, Table: tbl}
	// a DDL statement since the last chunk dropped the table's schemas
	if i.ts == nil || i.id != id || i.r.t.c.schemas[id] != i.ts {
		if ok, err := i.prepareTable(ctx, id, col); err != nil || !ok {
			return false, err
		}
	}
	conn, err := i.session(ctx)
	if err != nil {
		return false, err
	}
	if i.ctx.MaximumKey() == nil {
		maxKey, err := i.maximumKey(ctx, conn, col)
		if err != nil {
			return false, err
		}
		if maxKey == nil {
			i.log().Info("incremental snapshot: table is empty", "table", col.ID)
			i.TableDone()
			return false, nil
		}
		i.ctx.SetMaximumKey(maxKey)
		i.log().Info("incremental snapshot: reading table", "table", col.ID, "signal_id", col.CorrelationID, "until_key", isnap.KeyString(maxKey),
			"after_key", isnap.KeyString(i.ctx.ChunkEnd()), "estimated_rows", i.estimated, "condition", col.Condition, "surrogate_key", col.SurrogateKey)
	}
	q := i.chunkQuery(col)
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return false, i.dbErr(fmt.Errorf("%s: %w", q, err))
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return false, i.dbErr(err)
	}
	if len(cols) != len(i.ts.table.Columns) {
		return false, fmt.Errorf("%s returns %d columns but the table's known structure has %d", q, len(cols), len(i.ts.table.Columns))
	}
	raw := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for n := range raw {
		ptrs[n] = &raw[n]
	}
	var last []any
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return false, i.dbErr(fmt.Errorf("%s: %w", q, err))
		}
		key, value, err := i.ts.rowValue(func(ci int, cv *converter) (any, error) { return cv.fromText(raw[ci]) })
		if err != nil {
			return false, fmt.Errorf("table %s: %w", id, err)
		}
		ck := i.chunkKey(raw)
		last = ck
		k, ok := i.identity(key, value)
		if !ok {
			continue
		}
		i.Put(k, &windowRow{chunkKey: ck, key: key, value: value})
	}
	if err := rows.Err(); err != nil {
		return false, i.dbErr(fmt.Errorf("%s: %w", q, err))
	}
	if last == nil {
		i.TableDone()
		return false, nil
	}
	i.ChunkRead(last)
	if h := i.r.t.afterChunkRead; h != nil {
		h(id, last)
	}
	return true, nil
}

// prepareTable takes the table's structure from the model (which follows
// the binlog's DDL) and decides the chunk key.
func (i *incremental) prepareTable(ctx context.Context, id TableID, col *signal.Collection) (bool, error) {
	c := i.r.t.c
	ts, err := c.schemaFor(id)
	if err != nil {
		i.Skip("its schema cannot be built", err)
		return false, nil
	}
	if ts == nil {
		i.Skip("the table does not exist", nil)
		return false, nil
	}
	var chunk []int
	if col.SurrogateKey != "" {
		_, n := ts.table.column(col.SurrogateKey)
		if n < 0 {
			i.Skip(fmt.Sprintf("surrogate key %q is not a column of the table", col.SurrogateKey), nil)
			return false, nil
		}
		chunk = []int{n}
	} else {
		for _, name := range c.keyColumns(ts.table) {
			if _, n := ts.table.column(name); n >= 0 {
				chunk = append(chunk, n)
			}
		}
	}
	if len(chunk) == 0 {
		i.Skip("the table has no primary key (give a surrogate-key in the signal)", nil)
		return false, nil
	}
	keyChanged := i.ts != nil && i.id == id && !sameColumns(i.chunkCols, chunk, i.ts.table, ts.table)
	if i.ts == nil || i.id != id {
		i.estimated = i.estimateRows(ctx, id)
		i.StartTable(ctx, i.estimated)
	}
	i.id, i.ts, i.chunkCols = id, ts, chunk
	i.TableReady(keyChanged, len(chunk))
	return true, nil
}

// estimateRows is the table's row estimate (information_schema's
// TABLE_ROWS), for progress; 0 when unknown.
func (i *incremental) estimateRows(ctx context.Context, id TableID) int64 {
	conn, err := i.session(ctx)
	if err != nil {
		return 0
	}
	var n sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", id.DB, id.Table).Scan(&n); err != nil {
		return 0
	}
	return n.Int64
}

func sameColumns(a, b []int, ta, tb *Table) bool {
	if len(a) != len(b) {
		return false
	}
	for n := range a {
		if !strings.EqualFold(ta.Columns[a[n]].Name, tb.Columns[b[n]].Name) {
			return false
		}
	}
	return true
}

// chunkKey returns a row's chunk key with the Java classes Connector/J
// returns for them (Integer, Long, String), so the stored position is the
// one Debezium would store.
func (i *incremental) chunkKey(raw []sql.RawBytes) []any {
	out := make([]any, len(i.chunkCols))
	for n, c := range i.chunkCols {
		if raw[c] == nil {
			continue
		}
		out[n] = typedKey(i.ts.table.Columns[c], string(raw[c]))
	}
	return out
}

func typedKey(col *Column, text string) any {
	unsigned := col.unsigned()
	switch strings.ToUpper(col.baseType()) {
	case "TINYINT", "SMALLINT", "MEDIUMINT":
		if v, err := strconv.ParseInt(text, 10, 32); err == nil {
			return int32(v)
		}
	case "INT", "INTEGER":
		if unsigned {
			if v, err := strconv.ParseInt(text, 10, 64); err == nil {
				return v
			}
		} else if v, err := strconv.ParseInt(text, 10, 32); err == nil {
			return int32(v)
		}
	case "BIGINT":
		if !unsigned {
			if v, err := strconv.ParseInt(text, 10, 64); err == nil {
				return v
			}
		}
	}
	return text
}

// literal renders a key value as an SQL literal: numbers as they are,
// binary strings in hex, other text quoted with backslash escapes (the
// session clears NO_BACKSLASH_ESCAPES).
func literal(col *Column, v any) string {
	switch x := v.(type) {
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	s := signal.KeyText(v)
	switch strings.ToUpper(col.baseType()) {
	case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
		return "X'" + hex.EncodeToString([]byte(s)) + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)
	return "'" + r.Replace(s) + "'"
}

// maximumKey reads the largest chunk key (with the signal's condition);
// nil for an empty table.
func (i *incremental) maximumKey(ctx context.Context, conn *sql.Conn, col *signal.Collection) ([]any, error) {
	cols := make([]string, len(i.chunkCols))
	desc := make([]string, len(i.chunkCols))
	for n, c := range i.chunkCols {
		cols[n] = quoteIdent(i.ts.table.Columns[c].Name)
		desc[n] = cols[n] + " DESC"
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + i.id.quoted()
	if col.Condition != "" {
		q += " WHERE " + col.Condition
	}
	q += " ORDER BY " + strings.Join(desc, ", ") + " LIMIT 1"
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return nil, i.dbErr(fmt.Errorf("%s: %w", q, err))
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, i.dbErr(rows.Err())
	}
	raw := make([]sql.RawBytes, len(i.chunkCols))
	ptrs := make([]any, len(raw))
	for n := range raw {
		ptrs[n] = &raw[n]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, i.dbErr(fmt.Errorf("%s: %w", q, err))
	}
	full := make([]sql.RawBytes, len(i.ts.table.Columns))
	for n, c := range i.chunkCols {
		full[c] = raw[n]
	}
	return i.chunkKey(full), nil
}

// chunkQuery is AbstractChunkQueryBuilder.buildChunkQuery: rows after the
// last chunk's end, up to the maximum key, in key order, at most
// incremental.snapshot.chunk.size of them. The upper bound applies to the
// first chunk too, so rows inserted after the scan began are left to the
// stream.
func (i *incremental) chunkQuery(col *signal.Collection) string {
	keys := make([]string, len(i.chunkCols))
	cols := make([]*Column, len(i.chunkCols))
	for n, c := range i.chunkCols {
		keys[n] = quoteIdent(i.ts.table.Columns[c].Name)
		cols[n] = i.ts.table.Columns[c]
	}
	var conds []string
	if end := i.ctx.ChunkEnd(); end != nil {
		conds = append(conds, boundCondition(keys, cols, end))
	}
	if m := i.ctx.MaximumKey(); m != nil {
		conds = append(conds, "NOT "+boundCondition(keys, cols, m))
	}
	if col.Condition != "" {
		cond := col.Condition
		if !strings.HasPrefix(cond, "(") {
			cond = "(" + cond + ")"
		}
		conds = append(conds, cond)
	}
	q := "SELECT * FROM " + i.id.quoted()
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	return q + " ORDER BY " + strings.Join(keys, ", ") + " LIMIT " + strconv.Itoa(i.cfg.ChunkSize)
}

// boundCondition selects the rows whose key comes after k:
//
//	(k1 > ?) OR (k1 = ? AND k2 > ?) OR ...
//
// Key columns of a primary key are never NULL; a NULL in a surrogate key
// sorts first in MySQL, so nothing comes after it in its column but a
// value.
func boundCondition(keys []string, cols []*Column, k []any) string {
	var b strings.Builder
	b.WriteByte('(')
	for n := range keys {
		if n > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j := 0; j <= n; j++ {
			if j > 0 {
				b.WriteString(" AND ")
			}
			switch {
			case k[j] == nil && j == n:
				b.WriteString(keys[j] + " IS NOT NULL")
			case k[j] == nil:
				b.WriteString(keys[j] + " IS NULL")
			case j == n:
				b.WriteString(keys[j] + " > " + literal(cols[j], k[j]))
			default:
				b.WriteString(keys[j] + " = " + literal(cols[j], k[j]))
			}
		}
		b.WriteByte(')')
	}
	b.WriteByte(')')
	return b.String()
}

// watermark writes the open or close watermark of the current chunk: a
// row <chunk id>-open / -close of type snapshot-window-open / -close in
// the signal table; with insert_delete the close deletes the open row
// instead. Failures are retried signal.emit.failure.max.retries times.
func (i *incremental) watermark(ctx context.Context, open bool) error {
	conn, err := i.session(ctx)
	if err != nil {
		return err
	}
	table := i.r.table.quoted()
	id := i.ctx.ChunkID()
	now := time.Now()
	var coll, corr string
	if cur := i.ctx.Current(); cur != nil {
		coll, corr = cur.ID, cur.CorrelationID
	}
	var q string
	var args []any
	switch {
	case open:
		i.openedAt, i.openColl, i.openCorr = now, coll, corr
		q, args = "INSERT INTO "+table+" VALUES (?, ?, ?)", []any{id + "-open", signal.ActionWindowOpen, signal.WindowMetadata(now, time.Time{}, corr, coll)}
	case i.cfg.Watermarking == signal.InsertDelete:
		q, args = "DELETE FROM "+table+" WHERE "+quoteIdent(i.signalIDColumn())+" = ?", []any{id + "-open"}
	default:
		q, args = "INSERT INTO "+table+" VALUES (?, ?, ?)", []any{id + "-close", signal.ActionWindowClose, signal.WindowMetadata(i.openedAt, now, i.openCorr, i.openColl)}
	}
	for attempt := 0; ; attempt++ {
		_, err := conn.ExecContext(ctx, q, args...)
		if err == nil {
			return nil
		}
		if connectionLost(err) {
			return i.dbErr(fmt.Errorf("signal.data.collection %s: %w", i.cfg.DataCollection, err))
		}
		if ctx.Err() != nil || (i.cfg.EmitRetries >= 0 && attempt >= i.cfg.EmitRetries) {
			return fmt.Errorf("signal.data.collection %s: %w", i.cfg.DataCollection, err)
		}
		i.log().Warn("incremental snapshot: writing a watermark failed; retrying", "table", i.cfg.DataCollection, "attempt", attempt+1, "backoff", i.cfg.EmitBackoff, "error", err)
		if err := sleepCtx(ctx, i.cfg.EmitBackoff); err != nil {
			return err
		}
	}
}

// signalIDColumn is the name of the signal table's first column.
func (i *incremental) signalIDColumn() string {
	if t := i.r.t.c.model.table(i.r.table); t != nil && len(t.Columns) > 0 {
		return t.Columns[0].Name
	}
	return "id"
}
