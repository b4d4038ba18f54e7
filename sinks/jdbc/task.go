package jdbc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// Task is the JDBC sink task. Every Put is one database transaction:
// either all of the batch's changes are committed or none.
type Task struct {
	s      *settings
	b      backend
	in     *interpreter
	log    *slog.Logger
	tables map[tableID]*tableInfo
	// fits holds, per table version, the column signatures known to need
	// no schema evolution.
	fits map[*tableInfo]map[string]bool
}

var _ connect.SinkTask = (*Task)(nil)

// NewTask connects to the target database described by the connector
// properties (parsed with the plugin's Config definition).
func NewTask(ctx context.Context, class string, v *config.Values, logger *slog.Logger) (*Task, error) {
	f := flavourDebezium
	if class == ConfluentClass {
		f = flavourConfluent
	}
	s, err := parseSettings(f, v)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &Task{s: s, log: logger, tables: map[tableID]*tableInfo{}, fits: map[*tableInfo]map[string]bool{}}
	switch s.target.Dialect {
	case PostgreSQL:
		t.b, err = newPGBackend(ctx, s.target, s.quote)
	default:
		t.b, err = newMyBackend(ctx, s.target, s.zone)
	}
	if err != nil {
		return nil, err
	}
	t.in = &interpreter{s: s, normName: t.normName, splitName: t.splitName}
	return t, nil
}

// normName applies PostgreSQL's folding of unquoted identifiers when
// quote.identifiers is off, as Debezium does; names are quoted in SQL
// either way so reserved words and odd characters work.
func (t *Task) normName(n string) string {
	if t.s.target.Dialect == PostgreSQL && !t.s.quote {
		return strings.ToLower(n)
	}
	return n
}

// splitName parses "table", "schema.table" or "catalog.schema.table"; for
// MySQL the qualifier is the database.
func (t *Task) splitName(n string) (tableID, error) {
	parts := strings.Split(n, ".")
	for i := range parts {
		if parts[i] == "" {
			return tableID{}, errors.New("empty name part")
		}
		parts[i] = t.normName(parts[i])
	}
	switch len(parts) {
	case 1:
		return tableID{name: parts[0]}, nil
	case 2:
		return tableID{schema: parts[0], name: parts[1]}, nil
	case 3:
		if t.s.target.Dialect == PostgreSQL {
			return tableID{schema: parts[1], name: parts[2]}, nil
		}
		return tableID{schema: parts[0], name: parts[2]}, nil
	}
	return tableID{}, fmt.Errorf("too many name parts")
}

// Close implements connect.SinkTask.
func (t *Task) Close() error { return t.b.close() }

// Put implements connect.SinkTask.
func (t *Task) Put(ctx context.Context, recs []*connect.Record) error {
	changes := make([]*change, 0, len(recs))
	for _, r := range recs {
		ch, err := t.in.interpret(r)
		if err != nil {
			return err
		}
		if ch.op == opSkip {
			t.log.Debug("record skipped", "topic", r.Topic, "partition", r.Partition, "offset", r.KafkaOffset, "reason", ch.reason)
			continue
		}
		changes = append(changes, ch)
	}
	if len(changes) == 0 {
		return nil
	}
	err := t.write(ctx, changes)
	if err == nil {
		return nil
	}
	// The catalogue may have changed under us (or our DDL rolled back).
	t.tables = map[tableID]*tableInfo{}
	t.fits = map[*tableInfo]map[string]bool{}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if t.b.retriable(err) {
		return &retriableError{err}
	}
	return err
}

func (t *Task) write(ctx context.Context, changes []*change) error {
	// The transaction begins first so that PostgreSQL's DDL (on the same
	// connection) commits or rolls back with the rows.
	tx, err := t.b.begin(ctx)
	if err != nil {
		return err
	}
	if err := t.prepareTables(ctx, changes); err != nil {
		_ = tx.rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := t.apply(ctx, tx, changes); err != nil {
		_ = tx.rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.commit(ctx)
}

// prepareTables creates missing tables and adds missing columns
// (schema.evolution=basic), or reports them. On MySQL this DDL runs on
// another connection, outside the data transaction (MySQL commits
// implicitly on DDL); it is additive, so a batch that later fails and is
// replayed finds it already done. Under schema.evolution=advanced a table
// is created from its first change only and every later change of shape
// is applied in order by evolve: adding the union of the batch's fields up
// front would hide renames.
func (t *Task) prepareTables(ctx context.Context, changes []*change) error {
	type need struct {
		cols    []column
		seen    map[string]int // colKey -> index in cols
		count   map[string]int // colKey -> number of upserts carrying it
		upserts int
		first   map[string]*change
		rowful  bool
		// last is the column slice of the table's previous change and
		// pending the upserts since then sharing it (the interpreter's
		// cached bindings hand out one slice per shape): they add no
		// column, so their counts are added once per run of them instead
		// of a map update per column and row (a quarter of Put's CPU).
		last    []column
		pending int
	}
	flush := func(n *need) {
		for _, c := range n.last {
			n.count[t.b.colKey(c.name)] += n.pending
		}
		n.pending = 0
	}
	needs := map[tableID]*need{}
	var order []tableID
	for _, ch := range changes {
		n := needs[ch.table]
		if n == nil {
			n = &need{seen: map[string]int{}, count: map[string]int{}, first: map[string]*change{}}
			needs[ch.table] = n
			order = append(order, ch.table)
		}
		if ch.op == opTruncate || (t.s.advanced && n.rowful) {
			continue
		}
		n.rowful = true
		if ch.op == opUpsert {
			n.upserts++
		}
		if len(ch.cols) > 0 && len(ch.cols) == len(n.last) && &ch.cols[0] == &n.last[0] {
			if ch.op == opUpsert {
				n.pending++
			}
			continue
		}
		flush(n)
		n.last = ch.cols
		for _, c := range ch.cols {
			k := t.b.colKey(c.name)
			if _, ok := n.seen[k]; !ok {
				n.seen[k] = len(n.cols)
				n.cols = append(n.cols, c)
				n.first[k] = ch
			}
			if ch.op == opUpsert {
				n.count[k]++
			}
		}
	}
	for _, id := range order {
		n := needs[id]
		flush(n)
		ti, err := t.table(ctx, id)
		if err != nil {
			return err
		}
		if ti == nil {
			if !n.rowful {
				continue // truncating a table that does not exist
			}
			if !t.s.create {
				fix := "schema.evolution=none; set schema.evolution=basic to create it"
				if t.s.flavour == flavourConfluent {
					fix = "auto.create=false; set auto.create=true to create it"
				}
				return fmt.Errorf("%s: table %s does not exist (%s)", coords(n.first[t.b.colKey(n.cols[0].name)].rec), id, fix)
			}
			cols := make([]column, len(n.cols))
			copy(cols, n.cols)
			for i, c := range cols {
				// NOT NULL only when every row of the batch has the column:
				// a field that appears mid-batch is absent from earlier rows.
				if !c.key && n.count[t.b.colKey(c.name)] < n.upserts {
					s := *c.schema
					s.Optional = true
					cols[i].schema = &s
				}
			}
			t.log.Info("creating table", "table", id.String(), "columns", len(cols))
			if err := t.b.createTable(ctx, id, cols, t.s.pkMode != pkNone); err != nil {
				return t.ddlFailed(id, "creating the table", err)
			}
			if ti, err = t.refresh(ctx, id); err != nil {
				return err
			}
			if ti == nil {
				return fmt.Errorf("table %s not found after creating it", id)
			}
		}
		var missing []column
		for _, c := range n.cols {
			if t.s.advanced {
				break
			}
			if ti.cols[t.b.colKey(c.name)] == nil {
				missing = append(missing, c)
			}
		}
		if len(missing) > 0 {
			if !t.s.evolve {
				c := missing[0]
				off := "schema.evolution=none"
				if t.s.flavour == flavourConfluent {
					off = "auto.evolve=false"
				}
				return fmt.Errorf("%s: table %s has no column %s for field %q (%s)", coords(n.first[t.b.colKey(c.name)].rec), id, c.name, c.field, off)
			}
			t.log.Info("adding columns", "table", id.String(), "columns", joinMap(missing, ",", func(c column) string { return c.name }))
			if err := t.b.addColumns(ctx, id, missing); err != nil {
				return t.ddlFailed(id, "adding columns "+joinMap(missing, ",", func(c column) string { return c.name }), err)
			}
			if ti, err = t.refresh(ctx, id); err != nil {
				return err
			}
			for _, c := range missing {
				if ti.cols[t.b.colKey(c.name)] == nil {
					return fmt.Errorf("table %s: column %s missing after adding it", id, c.name)
				}
			}
		}
	}
	return nil
}

// ddlFailed reports DDL the database refused as a schema change the sink
// cannot apply (the partition is parked until the operator fixes the
// target); a lost connection or a deadlock stays a retriable failure.
func (t *Task) ddlFailed(id tableID, what string, err error) error {
	if t.b.retriable(err) {
		return err
	}
	return &connect.SchemaChangeError{Table: id.String(), Reason: "the database refused " + what, Err: err}
}

func (t *Task) table(ctx context.Context, id tableID) (*tableInfo, error) {
	if ti, ok := t.tables[id]; ok {
		return ti, nil
	}
	return t.refresh(ctx, id)
}

func (t *Task) refresh(ctx context.Context, id tableID) (*tableInfo, error) {
	ti, err := t.b.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	if ti != nil {
		t.tables[id] = ti
	} else {
		delete(t.tables, id)
	}
	return ti, nil
}

// buffer accumulates consecutive same-shaped changes of one table.
type buffer struct {
	r     *run
	sig   string
	keys  map[string]int // dedup: key -> row index
	rec   []*connect.Record
	first *change
}

// apply writes the changes in order. Changes of different tables are
// independent, so each table buffers its own run; a table's run is
// flushed when an operation of another kind or shape arrives for it, at
// batch.size, before a truncate, and at the end.
func (t *Task) apply(ctx context.Context, tx txn, changes []*change) error {
	bufs := map[tableID]*buffer{}
	var order []tableID
	flush := func(id tableID) error {
		b := bufs[id]
		if b == nil || len(b.r.rows) == 0 {
			return nil
		}
		delete(bufs, id)
		if err := tx.write(ctx, b.r); err != nil {
			var me *missingRowsError
			if errors.As(err, &me) {
				err = fmt.Errorf("%w; %w", err, t.in.unavailableError(b.first, "insert.mode=upsert, row absent from the target"))
			}
			if len(b.rec) == 1 {
				return fmt.Errorf("%s: %w", coords(b.rec[0]), err)
			}
			return fmt.Errorf("%d records from %s to %s: %w", len(b.rec), coords(b.rec[0]), coords(b.rec[len(b.rec)-1]), err)
		}
		return nil
	}
	flushAll := func() error {
		for _, id := range order {
			if err := flush(id); err != nil {
				return err
			}
		}
		order = order[:0]
		return nil
	}
	for _, ch := range changes {
		if ch.op == opTruncate {
			if err := flushAll(); err != nil {
				return err
			}
			ti, err := t.table(ctx, ch.table)
			if err != nil {
				return err
			}
			if ti == nil {
				continue
			}
			if err := tx.truncate(ctx, ti); err != nil {
				return fmt.Errorf("%s: %w", coords(ch.rec), err)
			}
			continue
		}
		if t.s.evolve && ch.op == opUpsert {
			if err := t.evolve(ctx, tx, ch, flushAll); err != nil {
				return err
			}
		}
		b := bufs[ch.table]
		if b != nil && (b.r.op != ch.op || b.sig != ch.sig) {
			if err := flush(ch.table); err != nil {
				return err
			}
			b = nil
		}
		if b == nil {
			ti := t.tables[ch.table]
			if ti == nil {
				return fmt.Errorf("%s: table %s unknown", coords(ch.rec), ch.table)
			}
			r := &run{table: ti, op: ch.op, mode: t.s.insertMode, cols: ch.cols}
			if len(ch.unavailable) > 0 {
				// Only the available columns are written, to the existing
				// row; an upsert that finds no row fails rather than insert
				// a row without them.
				r.mode, r.mustExist = modeUpdate, t.s.insertMode == modeUpsert
			}
			for _, c := range ch.cols {
				r.info = append(r.info, ti.cols[t.b.colKey(c.name)])
			}
			// Resolve cached names to the catalogue's spelling (MySQL
			// compares case-insensitively).
			r.cols = make([]column, len(ch.cols))
			for i, c := range ch.cols {
				c.name = r.info[i].name
				r.cols[i] = c
			}
			b = &buffer{r: r, sig: ch.sig, keys: map[string]int{}, first: ch}
			bufs[ch.table] = b
			found := false
			for _, id := range order {
				if id == ch.table {
					found = true
				}
			}
			if !found {
				order = append(order, ch.table)
			}
		}
		dedup := ch.op == opDelete || t.s.insertMode != modeInsert
		if k := keyString(ch); dedup && k != "" {
			if i, ok := b.keys[k]; ok {
				// Full row images: the last change of a key wins.
				b.r.rows[i] = ch.vals
				b.rec = append(b.rec, ch.rec)
				continue
			}
			b.keys[k] = len(b.r.rows)
		}
		b.r.rows = append(b.r.rows, ch.vals)
		b.rec = append(b.rec, ch.rec)
		if len(b.r.rows) >= t.s.batchSize {
			if err := flush(ch.table); err != nil {
				return err
			}
		}
	}
	return flushAll()
}

// keyString identifies a change's key values within one run. The common
// key types are written without fmt (fmt.Fprintf per record was 10% of
// Put); a type tag keeps values of different types apart.
func keyString(ch *change) string {
	var b []byte
	for i, c := range ch.cols {
		if !c.key {
			continue
		}
		switch v := ch.vals[i].(type) {
		case int64:
			b = strconv.AppendInt(append(b, 'l'), v, 10)
		case int32:
			b = strconv.AppendInt(append(b, 'i'), int64(v), 10)
		case int16:
			b = strconv.AppendInt(append(b, 's'), int64(v), 10)
		case int8:
			b = strconv.AppendInt(append(b, 'b'), int64(v), 10)
		case string:
			// Length-prefixed: a string may hold the separator.
			b = append(append(strconv.AppendInt(append(b, 'S'), int64(len(v)), 10), ':'), v...)
		default:
			b = fmt.Appendf(append(b, '?'), "%T:%v", v, v)
		}
		b = append(b, 0)
	}
	return string(b)
}
