package jdbc

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// horizonWait bounds how long a poll waits for the transactions running
// at its start to end before it falls back to an older horizon mark.
const horizonWait = 100 * time.Millisecond

// horizonMark is a read position that is final once every transaction
// that held an ID when the mark was taken has ended: a row at or before it
// got its timestamp or sequence value before the mark, so (as the horizon
// guarantee assumes) from a transaction that already had an ID.
type horizonMark struct {
	nextXid uint64    // first transaction ID not yet assigned at the mark
	ts      time.Time // timestamp modes: database clock read before the mark's snapshot
	inc     *int64    // incrementing mode: largest incrementing value visible at the mark; nil if none
}

// querier polls one table or the custom query.
type querier struct {
	t         *task
	table     *tableInfo // nil for the custom query
	query     string
	topic     string
	partition map[string]any

	incCol  string   // incrementing column, "" if the mode has none
	tsCols  []string // timestamp columns (COALESCE'd)
	tieCols []string // keyset tiebreak after the timestamp in timestamp mode
	keyCols []string // message key
	horizon bool     // apply the transaction ID horizon

	off      offsetState
	nextPoll time.Time
	shape    *shape
	// safe is the newest horizon mark known final; pending is an older-
	// than-current mark still waiting for its transactions.
	safe, pending *horizonMark
	// incLimit bounds incrementing-mode pages to the safe mark.
	incLimit *int64
	// heldSince is when the horizon first stopped progress, for logging.
	heldSince time.Time
}

func (q *querier) name() string {
	if q.table != nil {
		return q.table.id.fqn()
	}
	return "custom query"
}

// newTableQuerier validates the table against the mode's columns.
func (t *task) newTableQuerier(ctx context.Context, d db, id tableID) (*querier, error) {
	info, err := d.describe(ctx, id)
	if err != nil {
		if err == errNoTable {
			return nil, fmt.Errorf("table %s does not exist", id.fqn())
		}
		return nil, err
	}
	s := t.s
	q := &querier{t: t, table: info, topic: s.topicPrefix + info.id.name,
		partition: map[string]any{partTable: info.id.fqn(), partProtocol: "1"}}
	fqn := info.id.fqn()
	if s.usesIncrementing() {
		col := s.incColumn
		if len(s.incMapping) > 0 {
			col = ""
			for _, m := range s.incMapping {
				if m.re.MatchString(fqn) {
					col = m.columns[0]
					break
				}
			}
			if col == "" {
				return nil, fmt.Errorf("incrementing.column.mapping: no mapping matches table %s", fqn)
			}
		}
		if col == "" {
			for _, c := range info.columns {
				if c.autoIncrement {
					col = c.name
					break
				}
			}
			if col == "" {
				return nil, fmt.Errorf("incrementing.column.name is required for mode %s: table %s has no auto-increment column", s.mode, fqn)
			}
		}
		c := info.column(col)
		if c == nil {
			return nil, fmt.Errorf("incrementing.column.name: column %q does not exist in table %s", col, fqn)
		}
		if c.kind != kInt && !(c.kind == kDecimal && c.scale == 0) {
			return nil, fmt.Errorf("incrementing.column.name: column %s.%s has type %s; it must be an integer", fqn, c.name, c.typeName)
		}
		if s.validateNonNull && c.nullable {
			return nil, fmt.Errorf("cannot make incremental queries using incrementing column %s on %s because this column is nullable (validate.non.null)", c.name, fqn)
		}
		q.incCol = c.name
	}
	if s.usesTimestamp() {
		cols := s.tsColumns
		if len(s.tsMapping) > 0 {
			cols = nil
			for _, m := range s.tsMapping {
				if m.re.MatchString(fqn) {
					cols = m.columns
					break
				}
			}
			if cols == nil {
				return nil, fmt.Errorf("timestamp.columns.mapping: no mapping matches table %s", fqn)
			}
		}
		anyNotNull := false
		for _, name := range cols {
			c := info.column(name)
			if c == nil {
				return nil, fmt.Errorf("timestamp.column.name: column %q does not exist in table %s", name, fqn)
			}
			switch c.kind {
			case kTimestamp, kTimestampTZ, kDate:
			default:
				return nil, fmt.Errorf("timestamp.column.name: column %s.%s has type %s; it must be a date or timestamp", fqn, c.name, c.typeName)
			}
			if !c.nullable {
				anyNotNull = true
			}
			q.tsCols = append(q.tsCols, c.name)
		}
		if s.validateNonNull && !anyNotNull {
			return nil, fmt.Errorf("cannot make incremental queries using timestamp columns %s on %s because all of these columns are nullable (validate.non.null)", strings.Join(cols, ","), fqn)
		}
	}
	q.keyCols = info.pk
	if rule := s.keyRule(fqn, info.id.name); rule != nil {
		q.keyCols = nil
		for _, name := range rule.columns {
			c := info.column(name)
			if c == nil {
				return nil, fmt.Errorf("key.columns: column %q does not exist in table %s", name, fqn)
			}
			q.keyCols = append(q.keyCols, c.name)
		}
	}
	switch s.mode {
	case modeTimestampIncrementing:
		q.tieCols = []string{q.incCol}
	case modeTimestamp:
		// The primary key orders rows sharing a timestamp. key.columns
		// cannot: nothing makes them unique or non-null.
		usable := len(info.pk) > 0
		for _, k := range info.pk {
			if c := info.column(k); c == nil || tieText(nil, c) == "" {
				usable = false
			}
		}
		if usable {
			q.tieCols = info.pk
		}
	}
	if s.softDeleteCol != "" && info.column(s.softDeleteCol) == nil {
		t.log.Info("table has no soft.delete.column; its rows are never treated as deleted", "table", fqn, "column", s.softDeleteCol)
	}
	q.horizon = s.horizon != horizonNone && d.dialect() == dialectPostgres && s.mode != modeBulk
	return q, q.loadOffset(ctx)
}

func (t *task) newQueryQuerier(ctx context.Context) (*querier, error) {
	s := t.s
	q := &querier{t: t, query: s.query, topic: s.topicPrefix,
		partition: map[string]any{partQuery: partQuery}}
	if s.usesIncrementing() {
		q.incCol = s.incColumn
	}
	if s.usesTimestamp() {
		q.tsCols = s.tsColumns
	}
	if rule := s.keyRule("", ""); rule != nil {
		q.keyCols = rule.columns
	}
	if s.mode == modeTimestampIncrementing {
		q.tieCols = []string{q.incCol}
	}
	return q, q.loadOffset(ctx)
}

// keyRule finds the key.columns entry for a table (or the custom query).
func (s *settings) keyRule(fqn, name string) *keyColumnRule {
	for i := range s.keyColumns {
		r := &s.keyColumns[i]
		if r.re == nil || (fqn != "" && (r.re.MatchString(fqn) || r.re.MatchString(name))) {
			return r
		}
	}
	return nil
}

// loadOffset reads the committed offset, trying Confluent's protocol-1
// partition then its legacy unqualified one, as JdbcSourceTask does.
func (q *querier) loadOffset(ctx context.Context) error {
	s := q.t.s
	if s.mode == modeBulk {
		return nil
	}
	partitions := []map[string]any{q.partition}
	if q.table != nil {
		partitions = append(partitions, map[string]any{partTable: q.table.id.name})
	}
	for _, p := range partitions {
		if q.t.offsets == nil {
			break
		}
		m, err := q.t.offsets.Offset(ctx, p)
		if err != nil {
			return fmt.Errorf("read offset of %s: %w", q.name(), err)
		}
		if m != nil {
			o, err := offsetFromMap(m)
			if err != nil {
				return fmt.Errorf("stored offset of %s: %w", q.name(), err)
			}
			if len(o.tie) != len(q.tieCols) {
				// Written under another key or mode: resume after the
				// whole timestamp, as Confluent would.
				o.tie = nil
			}
			q.off = o
			q.t.log.Info("resuming from stored offset", "source", q.name(), "offset", m)
			return nil
		}
	}
	if s.tsInitial != nil && s.usesTimestamp() {
		var ts time.Time
		if *s.tsInitial == -1 {
			ts = q.t.initialNow
		} else {
			ts = time.UnixMilli(*s.tsInitial).UTC()
		}
		q.off.ts = &ts
		q.t.log.Info("no stored offset; starting at timestamp.initial", "source", q.name(), "timestamp", ts)
	}
	return nil
}

// shape is how one result set maps to records.
type shape struct {
	sig      string
	fields   []fieldMapping
	idx      []int // result column of each field
	keyIdx   []int // field index of each key column
	valueSch *connect.Schema
	keySch   *connect.Schema
	envSch   *connect.Schema
	tsIdx    []int // result columns
	incIdx   int
	tieIdx   []int
	softIdx  int
	cols     []column
}

func (q *querier) shapeFor(cols []column) (*shape, error) {
	var sig strings.Builder
	for _, c := range cols {
		fmt.Fprintf(&sig, "%s|%d|%d|%t|%d|%d|%s;", c.name, c.kind, c.bits, c.nullable, c.precision, c.scale, c.typeName)
	}
	if q.shape != nil && q.shape.sig == sig.String() {
		return q.shape, nil
	}
	t := q.t
	sh := &shape{sig: sig.String(), incIdx: -1, softIdx: -1, cols: cols}
	vb := connect.StructBuilder().Name(q.topic + ".Value").Optional()
	var skipped []string
	for i, c := range cols {
		// Table columns carry catalog facts (NOT NULL, bit widths,
		// unsignedness) the result metadata may lack.
		if q.table != nil {
			if tc := q.table.column(c.name); tc != nil && tc.name == c.name {
				c = *tc
			}
		}
		sch, conv, ok := t.mapper.mapColumn(c)
		if !ok {
			skipped = append(skipped, c.name+" ("+c.typeName+")")
			continue
		}
		sh.fields = append(sh.fields, fieldMapping{col: c, schema: sch, conv: conv})
		sh.idx = append(sh.idx, i)
		vb.Field(c.name, sch)
	}
	if len(skipped) > 0 {
		t.log.Warn("skipping columns of unsupported types", "source", q.name(), "columns", strings.Join(skipped, ", "))
	}
	var err error
	if sh.valueSch, err = vb.Build(); err != nil {
		return nil, fmt.Errorf("value schema of %s: %w", q.name(), err)
	}
	find := func(name, what string) (int, error) {
		for i, c := range cols {
			if c.name == name {
				return i, nil
			}
		}
		for i, c := range cols {
			if strings.EqualFold(c.name, name) {
				return i, nil
			}
		}
		return -1, fmt.Errorf("%s column %q is not in the result of %s (columns: %s)", what, name, q.name(), columnNames(cols))
	}
	for _, n := range q.tsCols {
		i, err := find(n, "timestamp")
		if err != nil {
			return nil, err
		}
		if k := cols[i].kind; k != kTimestamp && k != kTimestampTZ && k != kDate {
			return nil, fmt.Errorf("timestamp column %s of %s has type %s; it must be a date or timestamp", n, q.name(), cols[i].typeName)
		}
		sh.tsIdx = append(sh.tsIdx, i)
	}
	if q.incCol != "" {
		if sh.incIdx, err = find(q.incCol, "incrementing"); err != nil {
			return nil, err
		}
	}
	for _, n := range q.tieCols {
		i, err := find(n, "key")
		if err != nil {
			return nil, err
		}
		sh.tieIdx = append(sh.tieIdx, i)
	}
	if q.t.s.softDeleteCol != "" {
		if i, err := find(q.t.s.softDeleteCol, "soft delete"); err == nil {
			sh.softIdx = i
		}
	}
	if len(q.keyCols) > 0 {
		kb := connect.StructBuilder().Name(q.topic + ".Key")
		for _, k := range q.keyCols {
			fi := -1
			for j, f := range sh.fields {
				if f.col.name == k || (fi < 0 && strings.EqualFold(f.col.name, k)) {
					fi = j
				}
			}
			if fi < 0 {
				return nil, fmt.Errorf("key column %q is not in the result of %s (columns: %s)", k, q.name(), columnNames(cols))
			}
			sh.keyIdx = append(sh.keyIdx, fi)
			kb.Field(sh.fields[fi].col.name, sh.fields[fi].schema)
		}
		if sh.keySch, err = kb.Build(); err != nil {
			return nil, fmt.Errorf("key schema of %s: %w", q.name(), err)
		}
	}
	sh.envSch = debezium.EnvelopeSchema(q.topic+".Envelope", sh.valueSch, t.sourceSchema)
	q.shape = sh
	return sh, nil
}

func columnNames(cols []column) string {
	n := make([]string, 0, len(cols))
	for _, c := range cols {
		n = append(n, c.name)
	}
	return strings.Join(n, ", ")
}

// page is one bounded query's worth of rows.
type pageRow struct {
	recs []*connect.Record
	off  offsetState
	ts   *time.Time
}

// tieText renders a key value so castParam can compare it in SQL; "" means
// the type cannot be a tiebreaker. With v == nil it only checks the type.
func tieText(v any, c *column) string {
	switch c.kind {
	case kInt, kDecimal, kString, kBytes, kDate, kTimestamp, kTimestampTZ, kBool, kTime:
	default:
		return ""
	}
	if v == nil {
		return "ok"
	}
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case string:
		return x
	case []byte:
		return hex.EncodeToString(x)
	case decimal:
		return decimalText(x)
	case bool:
		return strconv.FormatBool(x)
	case timeOfDay:
		d := time.Duration(x)
		return fmt.Sprintf("%02d:%02d:%02d.%06d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, (d%time.Second)/time.Microsecond)
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999")
	}
	return fmt.Sprint(v)
}

// sqlBuilder assembles a statement with the dialect's placeholders.
type sqlBuilder struct {
	d    db
	b    strings.Builder
	args []any
}

func (b *sqlBuilder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.placeholder(len(b.args))
}

func (b *sqlBuilder) w(s ...string) {
	for _, x := range s {
		b.b.WriteString(x)
	}
}

// from writes the SELECT ... FROM part.
func (q *querier) from(b *sqlBuilder) {
	d := b.d
	if q.table == nil {
		b.w("SELECT * FROM (", q.query, ") tributary_query")
		return
	}
	b.w("SELECT t.* FROM ", q.quotedTable(d), " t")
}

func (q *querier) quotedTable(d db) string {
	id := q.table.id
	var parts []string
	for _, p := range []string{id.catalog, id.schema, id.name} {
		if p != "" {
			parts = append(parts, d.quote(p))
		}
	}
	return strings.Join(parts, ".")
}

func (q *querier) colRef(d db, name string) string {
	if q.table == nil {
		return "tributary_query." + d.quote(name)
	}
	return "t." + d.quote(name)
}

func (q *querier) tsExpr(d db) string {
	if len(q.tsCols) == 1 {
		return q.colRef(d, q.tsCols[0])
	}
	refs := make([]string, len(q.tsCols))
	for i, c := range q.tsCols {
		refs[i] = q.colRef(d, c)
	}
	return "COALESCE(" + strings.Join(refs, ",") + ")"
}

// tsColumn is the column whose type the timestamp parameters take.
func (q *querier) tsColumn() *column {
	if q.shape != nil && len(q.shape.tsIdx) > 0 {
		c := q.shape.cols[q.shape.tsIdx[0]]
		if q.table != nil {
			if tc := q.table.column(c.name); tc != nil {
				return tc
			}
		}
		return &c
	}
	if q.table != nil {
		return q.table.column(q.tsCols[0])
	}
	// A custom query before its first result: timestamps compare as
	// absolute instants until the result's column type is known.
	return &column{kind: kTimestampTZ, typeName: "timestamptz"}
}

func (q *querier) colInfo(name string) *column {
	if q.table != nil {
		return q.table.column(name)
	}
	if q.shape != nil {
		for i := range q.shape.cols {
			if q.shape.cols[i].name == name {
				return &q.shape.cols[i]
			}
		}
	}
	return nil
}

// tsParam renders an instant for comparison with the timestamp expression.
func (q *querier) tsParam(b *sqlBuilder, t time.Time) string {
	c := q.tsColumn()
	return b.d.castParam(b.arg(b.d.timeText(t, c, q.t.s.zone)), c)
}

// pageSQL builds the keyset query for the next page after q.off, bounded
// by end (the timestamp upper limit) and limit rows.
func (q *querier) pageSQL(d db, end *time.Time, limit int) (string, []any, error) {
	b := &sqlBuilder{d: d}
	q.from(b)
	var conds []string
	var order []string
	switch q.t.s.mode {
	case modeIncrementing:
		inc := q.colRef(d, q.incCol)
		if q.off.inc != nil {
			conds = append(conds, inc+" > "+b.arg(*q.off.inc))
		}
		if q.incLimit != nil {
			conds = append(conds, inc+" <= "+b.arg(*q.incLimit))
		}
		order = []string{inc}
	case modeTimestamp, modeTimestampIncrementing:
		ts := q.tsExpr(d)
		conds = append(conds, ts+" < "+q.tsParam(b, *end))
		if q.off.ts != nil {
			switch {
			case q.t.s.mode == modeTimestampIncrementing && q.off.inc != nil:
				inc := *q.off.inc
				conds = append(conds, q.keyset(b, []string{ts, q.colRef(d, q.incCol)}, func(i int) string {
					if i == 0 {
						return q.tsParam(b, *q.off.ts)
					}
					return b.arg(inc)
				}))
			case q.t.s.mode == modeTimestampIncrementing:
				conds = append(conds, ts+" >= "+q.tsParam(b, *q.off.ts))
			case len(q.tieCols) > 0 && len(q.off.tie) == len(q.tieCols):
				exprs := []string{ts}
				cols := []*column{nil}
				for _, name := range q.tieCols {
					c := q.colInfo(name)
					if c == nil {
						return "", nil, fmt.Errorf("key column %s of %s is unknown", name, q.name())
					}
					exprs = append(exprs, q.colRef(d, name))
					cols = append(cols, c)
				}
				conds = append(conds, q.keyset(b, exprs, func(i int) string {
					if i == 0 {
						return q.tsParam(b, *q.off.ts)
					}
					return q.tieParam(b, cols[i], q.off.tie[i-1])
				}))
			default:
				conds = append(conds, ts+" > "+q.tsParam(b, *q.off.ts))
			}
		}
		order = []string{ts}
		for _, c := range q.tieCols {
			order = append(order, q.colRef(d, c))
		}
	}
	if len(conds) > 0 {
		b.w(" WHERE ", strings.Join(conds, " AND "))
	}
	if len(order) > 0 {
		b.w(" ORDER BY ", strings.Join(order, ", "))
	}
	if limit > 0 {
		b.w(d.limit(limit))
	}
	if q.t.s.querySuffix != "" {
		b.w(" ", q.t.s.querySuffix)
	}
	return b.b.String(), b.args, nil
}

// keyset is the condition "(e0, e1, ...) > (p0, p1, ...)" for resuming
// after the last delivered row. PostgreSQL compares rows natively and
// seeks a btree index on the same columns straight to the position.
// MySQL/MariaDB get the expanded form behind a sargable "e0 >= p0", so an
// index on the leading column bounds the scan. param(i) binds the i-th
// value and is called in textual order, as "?" placeholders require.
func (q *querier) keyset(b *sqlBuilder, exprs []string, param func(i int) string) string {
	if b.d.dialect() == dialectPostgres {
		ps := make([]string, len(exprs))
		for i := range exprs {
			ps[i] = param(i)
		}
		return "(" + strings.Join(exprs, ", ") + ") > (" + strings.Join(ps, ", ") + ")"
	}
	lead := exprs[0] + " >= " + param(0)
	var ors []string
	for i := range exprs {
		var ands []string
		for j := 0; j <= i; j++ {
			op := " = "
			if j == i {
				op = " > "
			}
			ands = append(ands, exprs[j]+op+param(j))
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return lead + " AND (" + strings.Join(ors, " OR ") + ")"
}

func (q *querier) tieParam(b *sqlBuilder, c *column, v string) string {
	if c.kind == kBytes && b.d.dialect() == dialectPostgres {
		return "decode(" + b.arg(v) + "::text, 'hex')"
	}
	return b.d.castParam(b.arg(v), c)
}

// groupSQL selects every row at exactly timestamp ts, for timestamp mode
// without a key when one timestamp fills a whole page.
func (q *querier) groupSQL(d db, ts time.Time) (string, []any) {
	b := &sqlBuilder{d: d}
	q.from(b)
	b.w(" WHERE ", q.tsExpr(d), " = ", q.tsParam(b, ts))
	if q.t.s.querySuffix != "" {
		b.w(" ", q.t.s.querySuffix)
	}
	return b.b.String(), b.args
}

// bulkSQL reads the whole table or query.
func (q *querier) bulkSQL(d db) string {
	b := &sqlBuilder{d: d}
	if q.table == nil {
		b.w(q.query)
	} else {
		b.w("SELECT * FROM ", q.quotedTable(d))
	}
	if q.t.s.querySuffix != "" {
		b.w(" ", q.t.s.querySuffix)
	}
	return b.b.String()
}

// horizonBound returns the newest horizon mark whose transactions have all
// ended (nil if none yet), taking a new mark at now and waiting up to
// horizonWait for the transactions running at it. A mark still waiting
// after that stays pending, so that progress never depends on an instant
// when no transaction runs at all.
//
// Comparing each row's xmin with the oldest running transaction is not
// enough: a transaction older than every running one can still write a
// row after theirs in read order (A writes, B writes and stays open, A
// writes again and commits), and passing that row skips B's.
func (q *querier) horizonBound(ctx context.Context, d db, now time.Time) (*horizonMark, error) {
	maxSQL := ""
	if q.t.s.mode == modeIncrementing {
		maxSQL = "SELECT max(" + q.colRef(d, q.incCol) + ") FROM " + q.quotedTable(d) + " t"
	}
	h, err := d.xidHorizon(ctx, maxSQL)
	if err != nil {
		return nil, &queryError{source: q.name(), sql: "(transaction ID horizon)", err: err}
	}
	mark := &horizonMark{nextXid: h.next, ts: now}
	if h.max != nil {
		n, err := incrementingValue(h.max)
		if err != nil {
			return nil, fmt.Errorf("incrementing column %s.%s: %w", q.name(), q.incCol, err)
		}
		mark.inc = &n
	}
	deadline := time.Now().Add(horizonWait)
	for {
		if q.pending != nil && h.oldest >= q.pending.nextXid {
			q.safe, q.pending = q.pending, nil
		}
		if h.oldest >= mark.nextXid {
			q.safe, q.pending = mark, nil
			return q.safe, nil
		}
		if !time.Now().Before(deadline) {
			break
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return nil, err
		}
		if h, err = d.xidHorizon(ctx, ""); err != nil {
			return nil, &queryError{source: q.name(), sql: "(transaction ID horizon)", err: err}
		}
	}
	if q.pending == nil {
		q.pending = mark
	}
	return q.safe, nil
}

// poll runs one polling cycle: every row available now, in pages of
// batch.max.rows written as they are read.
func (q *querier) poll(ctx context.Context, d db, w connect.RecordWriter) error {
	if q.t.s.mode == modeBulk {
		return q.pollBulk(ctx, d, w)
	}
	var end *time.Time
	var now time.Time
	if q.t.s.usesTimestamp() {
		var err error
		if now, err = d.now(ctx); err != nil {
			return err
		}
		e := now.Add(-q.t.s.delay)
		end = &e
	}
	if q.horizon {
		safe, err := q.horizonBound(ctx, d, now)
		if err != nil {
			return err
		}
		if q.pending != nil {
			if q.heldSince.IsZero() {
				q.heldSince = time.Now()
			}
			q.t.log.Debug("waiting for older transactions to finish before passing rows written after they started",
				"source", q.name(), "held_for", time.Since(q.heldSince))
		} else {
			q.heldSince = time.Time{}
		}
		switch {
		case safe == nil:
			return nil
		case end != nil:
			if safe.ts.Before(*end) {
				end = &safe.ts
			}
		case safe.inc == nil:
			return nil // the table was empty at the safe mark
		default:
			q.incLimit = safe.inc
		}
	}
	limit := q.t.s.batchMaxRows
	for {
		sql, args, err := q.pageSQL(d, end, limit)
		if err != nil {
			return err
		}
		rows, n, err := q.readPage(ctx, d, sql, args)
		if err != nil {
			return err
		}
		full := n == limit
		if full && q.t.s.mode == modeTimestamp && len(q.tieCols) == 0 && len(rows) > 0 {
			// Without a key, rows sharing the page's last timestamp may
			// continue past the LIMIT: hold them back for the next page.
			last := rows[len(rows)-1].ts
			cut := len(rows)
			for cut > 0 && rows[cut-1].ts != nil && last != nil && rows[cut-1].ts.Equal(*last) {
				cut--
			}
			if cut == 0 {
				if err := q.pollGroup(ctx, d, w, *last); err != nil {
					return err
				}
				continue
			}
			rows = rows[:cut]
		}
		if err := q.emit(ctx, w, rows); err != nil {
			return err
		}
		if !full {
			return nil
		}
	}
}

func (q *querier) emit(ctx context.Context, w connect.RecordWriter, rows []pageRow) error {
	if len(rows) == 0 {
		return nil
	}
	var recs []*connect.Record
	for _, r := range rows {
		recs = append(recs, r.recs...)
	}
	if err := w.Write(ctx, recs); err != nil {
		return err
	}
	q.off = rows[len(rows)-1].off
	return nil
}

// readPage runs a page query and converts its rows; n is how many rows the
// query returned.
func (q *querier) readPage(ctx context.Context, d db, sql string, args []any) (out []pageRow, n int, err error) {
	q.t.log.Debug("page query", "source", q.name(), "sql", q.redact(sql), "args", args)
	it, err := d.query(ctx, sql, args)
	if err != nil {
		return nil, 0, &queryError{source: q.name(), sql: q.redact(sql), err: err}
	}
	defer it.close()
	sh, err := q.shapeFor(it.columns())
	if err != nil {
		return nil, 0, err
	}
	off := q.off
	now := q.t.clock()
	for it.next() {
		vals, err := it.values()
		if err != nil {
			return nil, n, fmt.Errorf("read row of %s: %w", q.name(), err)
		}
		n++
		r, err := q.row(sh, vals, off, now)
		if err != nil {
			return nil, n, err
		}
		off = r.off
		out = append(out, r)
	}
	if err := it.err(); err != nil {
		return nil, n, &queryError{source: q.name(), sql: q.redact(sql), err: err}
	}
	return out, n, nil
}

// pollGroup streams every row at timestamp ts in batches. Only the last
// batch moves the offset to ts: a restart in between re-reads the group.
func (q *querier) pollGroup(ctx context.Context, d db, w connect.RecordWriter, ts time.Time) error {
	sql, args := q.groupSQL(d, ts)
	it, err := d.query(ctx, sql, args)
	if err != nil {
		return &queryError{source: q.name(), sql: q.redact(sql), err: err}
	}
	defer it.close()
	sh, err := q.shapeFor(it.columns())
	if err != nil {
		return err
	}
	prev := q.off
	var batch []*connect.Record
	flush := func(final bool) error {
		if len(batch) == 0 {
			return nil
		}
		if final {
			o := prev
			o.ts = &ts
			for _, r := range batch {
				r.SourceOffset = o.toMap()
			}
		}
		err := w.Write(ctx, batch)
		batch = nil
		return err
	}
	now := q.t.clock()
	for it.next() {
		vals, err := it.values()
		if err != nil {
			return fmt.Errorf("read row of %s: %w", q.name(), err)
		}
		r, err := q.row(sh, vals, prev, now)
		if err != nil {
			return err
		}
		for _, rec := range r.recs {
			rec.SourceOffset = prev.toMap()
		}
		if len(batch) >= q.t.s.batchMaxRows {
			if err := flush(false); err != nil {
				return err
			}
		}
		batch = append(batch, r.recs...)
	}
	if err := it.err(); err != nil {
		return &queryError{source: q.name(), sql: q.redact(sql), err: err}
	}
	if err := flush(true); err != nil {
		return err
	}
	q.off.ts = &ts
	return nil
}

func (q *querier) pollBulk(ctx context.Context, d db, w connect.RecordWriter) error {
	sql := q.bulkSQL(d)
	it, err := d.query(ctx, sql, nil)
	if err != nil {
		return &queryError{source: q.name(), sql: q.redact(sql), err: err}
	}
	defer it.close()
	sh, err := q.shapeFor(it.columns())
	if err != nil {
		return err
	}
	var batch []*connect.Record
	now := q.t.clock()
	for it.next() {
		vals, err := it.values()
		if err != nil {
			return fmt.Errorf("read row of %s: %w", q.name(), err)
		}
		r, err := q.row(sh, vals, offsetState{}, now)
		if err != nil {
			return err
		}
		batch = append(batch, r.recs...)
		if len(batch) >= q.t.s.batchMaxRows {
			if err := w.Write(ctx, batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	if err := it.err(); err != nil {
		return &queryError{source: q.name(), sql: q.redact(sql), err: err}
	}
	if len(batch) > 0 {
		return w.Write(ctx, batch)
	}
	return nil
}

func (q *querier) redact(sql string) string {
	if q.t.s.queryMasked {
		return "<query.masked>"
	}
	return sql
}

// row converts one result row into its record(s) and the offset after it.
func (q *querier) row(sh *shape, vals []any, prev offsetState, now time.Time) (pageRow, error) {
	s := q.t.s
	value := connect.NewStruct(sh.valueSch)
	for i, f := range sh.fields {
		v := vals[sh.idx[i]]
		if v == nil {
			if !f.col.nullable {
				return pageRow{}, fmt.Errorf("column %s.%s is NULL but declared NOT NULL", q.name(), f.col.name)
			}
			continue
		}
		cv, err := f.conv(v)
		if err != nil {
			return pageRow{}, fmt.Errorf("column %s.%s (%s): %w", q.name(), f.col.name, f.col.typeName, err)
		}
		value.Values[i] = cv
	}
	off := prev
	var rowTS *time.Time
	for _, i := range sh.tsIdx {
		if t, ok := vals[i].(time.Time); ok {
			abs := q.t.mapper.instant(t, sh.cols[i].kind)
			rowTS = &abs
			break
		}
	}
	if s.usesTimestamp() {
		if rowTS == nil {
			return pageRow{}, fmt.Errorf("all timestamp columns (%s) of a row of %s are NULL", strings.Join(q.tsCols, ","), q.name())
		}
		off.ts = rowTS
	}
	op := debezium.OpCreate
	var incVal *int64
	if sh.incIdx >= 0 {
		n, err := incrementingValue(vals[sh.incIdx])
		if err != nil {
			return pageRow{}, fmt.Errorf("incrementing column %s.%s: %w", q.name(), q.incCol, err)
		}
		incVal = &n
		off.inc = &n
		if s.mode == modeTimestampIncrementing {
			if prev.maxInc != nil && n <= *prev.maxInc {
				op = debezium.OpUpdate
			} else {
				m := n
				off.maxInc = &m
			}
		}
	}
	switch s.mode {
	case modeBulk:
		op = debezium.OpRead
	case modeTimestamp:
		// Timestamp mode cannot tell a new row from a changed one.
		op = debezium.OpUpdate
	}
	if len(sh.tieIdx) > 0 && s.mode == modeTimestamp {
		off.tie = make([]string, len(sh.tieIdx))
		for j, i := range sh.tieIdx {
			v := vals[i]
			if t, ok := v.(time.Time); ok {
				c := sh.cols[i]
				v = q.t.d.timeText(q.t.mapper.instant(t, c.kind), &c, s.zone)
			}
			off.tie[j] = tieText(v, &sh.cols[i])
		}
	}
	var key *connect.StructValue
	if sh.keySch != nil {
		key = connect.NewStruct(sh.keySch)
		for j, fi := range sh.keyIdx {
			key.Values[j] = value.Values[fi]
		}
	}
	deleted := sh.softIdx >= 0 && isSoftDeleted(vals[sh.softIdx], s.softDeleteValue)
	srcTS := now
	if rowTS != nil && s.usesTimestamp() {
		srcTS = *rowTS
	}
	src := connect.NewStruct(q.t.sourceSchema)
	snapshot := ""
	if s.mode == modeBulk {
		snapshot = debezium.SnapshotTrue
	}
	debezium.FillSource(src, debezium.SourceCommon{Connector: "jdbc", Name: q.t.name, TS: srcTS, Snapshot: snapshot, DB: q.t.dbName(q)})
	if q.table != nil {
		if q.table.id.schema != "" {
			src.Set("schema", q.table.id.schema)
		}
		src.Set("table", q.table.id.name)
	} else if !s.queryMasked {
		src.Set("query", q.query)
	}
	if incVal != nil {
		src.Set("incrementing", *incVal)
	}
	if rowTS != nil && s.usesTimestamp() {
		src.Set("timestamp", rowTS.UnixMilli())
	}
	var offMap map[string]any
	if s.mode != modeBulk {
		offMap = off.toMap()
	}
	rec := &connect.Record{SourcePartition: q.partition, SourceOffset: offMap, Topic: q.topic, Partition: -1}
	if key != nil {
		rec.KeySchema, rec.Key = sh.keySch, key
	}
	rec.ValueSchema = sh.envSch
	if deleted {
		rec.Value = debezium.NewEnvelope(sh.envSch, debezium.OpDelete, value, nil, src, nil, now)
	} else {
		rec.Value = debezium.NewEnvelope(sh.envSch, op, nil, value, src, nil, now)
	}
	out := pageRow{recs: []*connect.Record{rec}, off: off, ts: rowTS}
	if deleted && key != nil && s.tombstones {
		out.recs = append(out.recs, &connect.Record{SourcePartition: q.partition, SourceOffset: offMap, Topic: q.topic,
			Partition: -1, KeySchema: sh.keySch, Key: key})
	}
	return out, nil
}

func incrementingValue(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, fmt.Errorf("NULL value")
	case int64:
		return x, nil
	case uint64:
		if x > 1<<63-1 {
			return 0, fmt.Errorf("value %d exceeds Long.MAX_VALUE", x)
		}
		return int64(x), nil
	case decimal:
		if x.exp < 0 {
			return 0, fmt.Errorf("scale of decimal value must be 0")
		}
		n := new(big.Int).Mul(x.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(x.exp)), nil))
		if !n.IsInt64() {
			return 0, fmt.Errorf("decimal value %s exceeds Long.MAX_VALUE", n)
		}
		return n.Int64(), nil
	}
	return 0, fmt.Errorf("invalid type %T", v)
}

// isSoftDeleted: with soft.delete.value set, the column's text equals it
// (booleans as true/false); otherwise any non-NULL value other than false
// or 0 marks the row deleted (an is_deleted flag or a deleted_at time).
func isSoftDeleted(v any, want *string) bool {
	if v == nil {
		return false
	}
	if want != nil {
		var s string
		switch x := v.(type) {
		case bool:
			s = strconv.FormatBool(x)
		case time.Time:
			s = x.Format("2006-01-02 15:04:05.999999")
		default:
			s = tieText(v, &column{kind: kString})
		}
		return strings.EqualFold(s, *want)
	}
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case uint64:
		return x != 0
	case string:
		return x != "" && !strings.EqualFold(x, "false") && x != "0" && !strings.EqualFold(x, "f") && !strings.EqualFold(x, "n")
	}
	return true
}
