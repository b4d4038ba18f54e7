package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// tableID names a table; String is Debezium's "schema.table".
type tableID struct{ Schema, Table string }

func (t tableID) String() string { return t.Schema + "." + t.Table }

func (t tableID) quoted() string { return pgx.Identifier{t.Schema, t.Table}.Sanitize() }

// table is a table's structure as the connector knows it.
type table struct {
	ID              tableID
	OID             uint32
	Columns         []*column
	PK              []string // key columns in key order (primary key or first unique index)
	ReplicaIdentity byte     // d, n, f, i
}

func (t *table) column(name string) (int, *column) {
	for i, c := range t.Columns {
		if c.Name == name {
			return i, c
		}
	}
	return -1, nil
}

// catalog reads table structure with ordinary SQL.
type catalog struct {
	conn  *pgx.Conn
	types *typeRegistry
}

const columnsQuery = `SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull,
  pg_catalog.pg_get_expr(d.adbin, d.adrelid), pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`

// readTable reads a table's columns, key and replica identity. With
// comments, column comments become schema docs, as in Debezium's
// snapshot (JDBC metadata); streaming schemas come from relation
// messages, which carry none.
func (cat *catalog) readTable(ctx context.Context, id tableID, comments bool) (*table, error) {
	t := &table{ID: id}
	var ident string
	err := cat.conn.QueryRow(ctx, `SELECT c.oid, c.relreplident::text FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
		id.Schema, id.Table).Scan(&t.OID, &ident)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("table %s not found", id)
		}
		return nil, fmt.Errorf("read table %s: %w", id, err)
	}
	if ident != "" {
		t.ReplicaIdentity = ident[0]
	}
	rows, err := cat.conn.Query(ctx, columnsQuery, t.OID)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", id, err)
	}
	type rawCol struct {
		name    string
		typ     uint32
		typmod  int32
		notNull bool
		def     *string
		comment *string
	}
	var raws []rawCol
	for rows.Next() {
		var r rawCol
		if err := rows.Scan(&r.name, &r.typ, &r.typmod, &r.notNull, &r.def, &r.comment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read columns of %s: %w", id, err)
		}
		raws = append(raws, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", id, err)
	}
	for _, r := range raws {
		typ, err := cat.types.get(ctx, cat.conn, r.typ)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s: %w", id, r.name, err)
		}
		c := &column{Name: r.name, Type: typ, TypMod: r.typmod, Optional: !r.notNull}
		c.Length, c.Scale = lengthScale(typ, r.typmod)
		if r.def != nil {
			c.DefaultExpr, c.HasDefault = *r.def, true
		}
		if comments && r.comment != nil {
			c.Comment = *r.comment
		}
		t.Columns = append(t.Columns, c)
	}
	if t.PK, err = cat.readKey(ctx, t.OID); err != nil {
		return nil, fmt.Errorf("read key of %s: %w", id, err)
	}
	return t, nil
}

// readKey returns the primary key columns or, without one, the columns of
// the first unique index by name that has no expressions (Debezium's
// readPrimaryKeyOrUniqueIndexNames through the JDBC driver).
func (cat *catalog) readKey(ctx context.Context, relOID uint32) ([]string, error) {
	rows, err := cat.conn.Query(ctx, `SELECT i.indisprimary, ic.relname, a.attname
		FROM pg_catalog.pg_index i
		JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
		JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON true
		JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = $1 AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
		ORDER BY i.indisprimary DESC, ic.relname, k.ord`, relOID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var key []string
	var first string
	var firstPrimary bool
	for rows.Next() {
		var primary bool
		var idx, col string
		if err := rows.Scan(&primary, &idx, &col); err != nil {
			return nil, err
		}
		if first == "" {
			first, firstPrimary = idx, primary
		}
		if idx != first || primary != firstPrimary {
			break
		}
		key = append(key, col)
	}
	return key, rows.Err()
}

// tableSchema is the Connect side of a table: key/value/envelope schemas
// and how to fill them from a row.
type tableSchema struct {
	table     *table
	topic     string
	key       *connect.Schema // nil for keyless tables
	value     *connect.Schema
	envelope  *connect.Schema
	keyCols   []fieldCol
	valueCols []fieldCol
	hasKey    bool
}

// fieldCol binds a table column (by index) to a struct field.
type fieldCol struct {
	col   int
	field int
	m     *mapping
	c     *column
}

// schemaBuilder holds what building table schemas needs from the config.
type schemaBuilder struct {
	topicPrefix   string
	delimiter     string
	schemaAdjust  string
	fieldAdjust   string
	columns       *debezium.Filter
	keyRules      []keyColumnRule
	propagate     []*regexp.Regexp // column.propagate.source.type
	propagateType []*regexp.Regexp // datatype.propagate.source.type
	values        *valueOptions
	source        *connect.Schema
	log           *slog.Logger
}

// keyColumnRule is one table:col1,col2 entry of message.key.columns; each
// pattern matches "schema.table.column" case-insensitively.
type keyColumnRule struct {
	patterns []*regexp.Regexp
}

func parseKeyColumns(v string) ([]keyColumnRule, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var rules []keyColumnRule
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tbl, cols, ok := strings.Cut(part, ":")
		if !ok || strings.TrimSpace(cols) == "" {
			return nil, fmt.Errorf("message.key.columns: entry %q is not <table>:<column>[,<column>...]", part)
		}
		var r keyColumnRule
		for _, c := range strings.Split(cols, ",") {
			re, err := regexp.Compile("(?i)^(?:" + strings.TrimSpace(tbl) + "." + strings.TrimSpace(c) + ")$")
			if err != nil {
				return nil, fmt.Errorf("message.key.columns: invalid pattern in %q: %w", part, err)
			}
			r.patterns = append(r.patterns, re)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func compilePatterns(prop, v string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		re, err := regexp.Compile("(?i)^(?:" + p + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: invalid regular expression %q: %w", prop, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// keyColumns returns the columns forming the event key.
func (b *schemaBuilder) keyColumns(t *table) []int {
	var out []int
	for _, r := range b.keyRules {
		for _, p := range r.patterns {
			for i, c := range t.Columns {
				if p.MatchString(t.ID.String() + "." + c.Name) {
					out = append(out, i)
				}
			}
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, name := range t.PK {
		if i, _ := t.column(name); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

func (b *schemaBuilder) topicFor(id tableID) string {
	return sanitizeTopic(b.topicPrefix + b.delimiter + id.Schema + b.delimiter + id.Table)
}

// sanitizeTopic replaces characters Kafka does not allow in topic names,
// as Debezium's topic naming strategies do.
func sanitizeTopic(name string) string {
	var sb strings.Builder
	for _, r := range name {
		if r == '.' || r == '_' || r == '-' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			sb.WriteRune(r)
		} else {
			sb.WriteByte('_')
		}
	}
	s := sb.String()
	if len(s) > 249 {
		s = s[:249]
	}
	switch s {
	case ".":
		s = "_"
	case "..":
		s = "__"
	}
	return s
}

// build creates the Connect schemas of t.
func (b *schemaBuilder) build(t *table) (*tableSchema, error) {
	ts := &tableSchema{table: t, topic: b.topicFor(t.ID)}
	prefix := ts.topic
	keyB := connect.StructBuilder().Name(debezium.AdjustName(b.schemaAdjust, prefix+".Key"))
	for _, i := range b.keyColumns(t) {
		ts.hasKey = true
		fc, fs, err := b.field(t, i)
		if err != nil {
			return nil, err
		}
		if fc == nil {
			continue
		}
		fc.field = len(ts.keyCols)
		ts.keyCols = append(ts.keyCols, *fc)
		keyB.Field(debezium.AdjustName(b.fieldAdjust, t.Columns[i].Name), fs)
	}
	valB := connect.StructBuilder().Name(debezium.AdjustName(b.schemaAdjust, prefix+".Value"))
	for i, c := range t.Columns {
		if !b.columns.Match(t.ID.String() + "." + c.Name) {
			continue
		}
		fc, fs, err := b.field(t, i)
		if err != nil {
			return nil, err
		}
		if fc == nil {
			continue
		}
		fc.field = len(ts.valueCols)
		ts.valueCols = append(ts.valueCols, *fc)
		valB.Field(debezium.AdjustName(b.fieldAdjust, c.Name), fs)
	}
	var err error
	if ts.value, err = valB.Optional().Build(); err != nil {
		return nil, fmt.Errorf("table %s: value schema: %w", t.ID, err)
	}
	if ts.hasKey {
		if ts.key, err = keyB.Build(); err != nil {
			return nil, fmt.Errorf("table %s: key schema: %w", t.ID, err)
		}
	}
	ts.envelope = debezium.EnvelopeSchema(debezium.AdjustName(b.schemaAdjust, prefix+".Envelope"), ts.value, b.source)
	return ts, nil
}

// field builds the schema of column i, or returns nil when Debezium has
// no mapping for its type (the column is left out, with a warning).
func (b *schemaBuilder) field(t *table, i int) (*fieldCol, *connect.Schema, error) {
	c := t.Columns[i]
	m, err := b.values.mapColumn(c)
	if err != nil {
		if errors.Is(err, errUnsupported) {
			b.log.Warn("column has an unsupported type and is left out of change events (set include.unknown.datatypes=true to emit it as bytes)",
				"table", t.ID.String(), "column", c.Name, "type", c.Type.Name)
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("column %s.%s: %w", t.ID, c.Name, err)
	}
	fb := m.schema
	fq := t.ID.String() + "." + c.Name
	if matchAny(b.propagate, fq) || matchAny(b.propagateType, t.ID.String()+"."+c.Type.Name) {
		fb.Param("__debezium.source.column.type", strings.ToUpper(c.Type.Name))
		fb.Param("__debezium.source.column.length", fmt.Sprint(c.Length))
		fb.Param("__debezium.source.column.scale", fmt.Sprint(c.Scale))
		if c.Comment != "" {
			fb.Param("__debezium.source.column.comment", c.Comment)
		}
		fb.Param("__debezium.source.column.name", c.Name)
	}
	if c.Optional {
		fb.Optional()
	}
	if c.Comment != "" {
		fb.Doc(c.Comment)
	}
	if c.HasDefault {
		if v, ok := parseDefault(c, m); ok {
			fb.Default(v)
		}
	}
	fs, err := fb.Build()
	if err != nil {
		return nil, nil, fmt.Errorf("column %s.%s: %w", t.ID, c.Name, err)
	}
	return &fieldCol{col: i, m: m, c: c}, fs, nil
}

// cell is one column value of a decoded row: NULL, an unchanged TOASTed
// value, or text.
type cell struct {
	null      bool
	unchanged bool
	text      string
}

// packCells builds a row's n cells in three allocations instead of two
// per column: one backing array, and one string whose substrings are the
// texts. col gives column i's text, or says it is NULL or an unchanged
// TOAST value.
func packCells(n int, col func(i int) (text []byte, null, unchanged bool)) []*cell {
	size := 0
	for i := range n {
		b, _, _ := col(i)
		size += len(b)
	}
	var text strings.Builder // its String does not copy
	text.Grow(size)
	for i := range n {
		if b, null, unchanged := col(i); !null && !unchanged {
			text.Write(b)
		}
	}
	all := text.String()
	backing := make([]cell, n)
	cells := make([]*cell, n)
	at := 0
	for i := range n {
		switch b, null, unchanged := col(i); {
		case null:
			backing[i].null = true
		case unchanged:
			backing[i].unchanged = true
		default:
			backing[i].text = all[at : at+len(b)]
			at += len(b)
		}
		cells[i] = &backing[i]
	}
	return cells
}

// rowStruct fills a key or value struct from row cells; cells is indexed
// like the table's columns. nil cells mean "not sent" (NULL).
func (ts *tableSchema) rowStruct(s *connect.Schema, cols []fieldCol, cells []*cell) (*connect.StructValue, error) {
	v := connect.NewStruct(s)
	for _, fc := range cols {
		var ce *cell
		if fc.col < len(cells) {
			ce = cells[fc.col]
		}
		val, err := fc.value(ce, s.Fields[fc.field].Schema)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", ts.table.ID, fc.c.Name, err)
		}
		v.Values[fc.field] = val
	}
	return v, nil
}

func (fc *fieldCol) value(ce *cell, fs *connect.Schema) (any, error) {
	switch {
	case ce == nil || ce.null:
		// JdbcValueConverters.convertValue: null stays null for optional
		// columns; required ones get the schema default or the fallback.
		if fc.c.Optional {
			return nil, nil
		}
		if fs.HasDefault && fs.Default != nil {
			return fs.Default, nil
		}
		return fc.m.fallback, nil
	case ce.unchanged:
		if fc.m.toast != nil {
			return fc.m.toast()
		}
		if fc.c.Optional {
			return nil, nil
		}
		return nil, fmt.Errorf("unchanged TOASTed value of type %s has no placeholder", fc.c.Type.Name)
	}
	return fc.m.convert(ce.text)
}

func (ts *tableSchema) keyStruct(cells []*cell) (*connect.StructValue, error) {
	if ts.key == nil {
		return nil, nil
	}
	return ts.rowStruct(ts.key, ts.keyCols, cells)
}

func (ts *tableSchema) valueStruct(cells []*cell) (*connect.StructValue, error) {
	return ts.rowStruct(ts.value, ts.valueCols, cells)
}
