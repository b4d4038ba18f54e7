package jdbc

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Schema evolution beyond adding columns.
//
// basic (Debezium adds missing columns; Tributary also widens a column
// whose type no longer holds the field: a larger integer or float, a
// longer varchar, a decimal with more digits, when the record says so).
//
// advanced also follows renames and drops. The source's DDL is not read
// from a schema change topic: it is inferred from the records themselves,
// which carry the table's columns in the source's column order. A column
// of the target that a record no longer has, at the same position (the
// same number of shared columns before it) as a field the target does not
// have, and of a compatible type, was renamed; an unmatched target column
// was dropped; an unmatched field was added. This works for PostgreSQL
// (relation messages) and MySQL/MariaDB (schema change events) alike, one
// topic per table, and needs no state: after a crash the table itself
// says what was applied. Replaying records from before a rename renames
// the column back and forth, and replaying records from before a drop
// adds and drops it again; the table ends as the last record says.

// typeInfo is a column type reduced to what widening compares.
type typeInfo struct {
	family string // int, float, numeric, text, bytes, other:<type>
	rank   int    // int and float: width order
	length int    // text: varchar length, 0 unbounded
	p, s   int    // numeric: precision and scale, p 0 unbounded
}

var typeArgs = regexp.MustCompile(`^([a-z ]+?)\s*(?:\((\d+)(?:,\s*(\d+))?\))?((?: unsigned| zerofill| without time zone| with time zone)*)$`)

// parseType understands both dialects' catalog spellings (format_type,
// information_schema COLUMN_TYPE) and the types columnType produces.
func parseType(t string) typeInfo {
	m := typeArgs.FindStringSubmatch(strings.ToLower(strings.TrimSpace(t)))
	if m == nil {
		return typeInfo{family: "other:" + strings.ToLower(t)}
	}
	base := m[1]
	n1, _ := strconv.Atoi(m[2])
	n2, _ := strconv.Atoi(m[3])
	if strings.Contains(m[4], "unsigned") {
		// an unsigned column holds its signed counterpart's next size
		base += " unsigned"
	}
	if strings.Contains(m[4], " with time zone") {
		base += "tz" // format_type's spelling of timestamptz, timetz
	}
	switch base {
	case "json", "jsonb":
		return typeInfo{family: "json"}
	case "tinyint":
		if n1 == 1 {
			return typeInfo{family: "bool"}
		}
		return typeInfo{family: "int", rank: 1}
	case "boolean", "bool":
		return typeInfo{family: "bool"}
	case "smallint", "int2", "tinyint unsigned":
		return typeInfo{family: "int", rank: 2}
	case "mediumint", "smallint unsigned":
		return typeInfo{family: "int", rank: 3}
	case "int", "integer", "int4", "mediumint unsigned":
		return typeInfo{family: "int", rank: 4}
	case "bigint", "int8", "int unsigned", "integer unsigned":
		return typeInfo{family: "int", rank: 5}
	case "bigint unsigned":
		return typeInfo{family: "int", rank: 6}
	case "real", "float", "float4":
		return typeInfo{family: "float", rank: 1}
	case "double precision", "double", "float8":
		return typeInfo{family: "float", rank: 2}
	case "numeric", "decimal":
		return typeInfo{family: "numeric", p: n1, s: n2}
	case "varchar", "character varying":
		return typeInfo{family: "text", length: n1}
	case "text", "longtext", "mediumtext":
		return typeInfo{family: "text"}
	case "bytea", "longblob", "blob", "mediumblob":
		return typeInfo{family: "bytes"}
	}
	return typeInfo{family: "other:" + base}
}

// widens reports whether a column of type from must become to: same
// family, strictly wider. Unbounded targets (text, numeric without
// precision) come from records without length information and never
// widen a bounded column by themselves.
func widens(from, to string) bool {
	f, t := parseType(from), parseType(to)
	if f.family != t.family {
		return false
	}
	switch f.family {
	case "int", "float":
		return t.rank > f.rank
	case "text":
		return f.length > 0 && t.length > f.length
	case "numeric":
		if f.p == 0 || t.p == 0 {
			return false
		}
		return t.s >= f.s && t.p-t.s >= f.p-f.s && (t.p != f.p || t.s != f.s)
	}
	return false
}

// compatible reports whether a renamed column can keep its values: the
// same family of types (the widening, if any, follows).
func compatible(from, to string) bool {
	f, t := parseType(from), parseType(to)
	if f.family == t.family {
		return true
	}
	// MariaDB's JSON is a LONGTEXT in the catalog.
	return (f.family == "json" || f.family == "text") && (t.family == "json" || t.family == "text")
}

// conflicts reports whether a target column of type from cannot hold the
// values of a field that now needs type to: a number column receiving
// text, bytes or JSON. Neither level changes a column's type family (the
// values already there may not convert), so the change is left to the
// operator: the partition is parked (connect.SchemaChangeError). Other
// differences (a text column receiving numbers, temporal spellings) are
// left to the database, which converts them or refuses the row.
func conflicts(from, to string) bool {
	switch parseType(from).family {
	case "int", "float", "numeric":
		switch parseType(to).family {
		case "text", "bytes", "json":
			return true
		}
	}
	return false
}

// evolution is what a change needs done to its table.
type evolution struct {
	// conflicts describes the columns whose type cannot follow the
	// record's (see conflicts); nothing else is applied then.
	conflicts []string
	renames   [][2]string // target name, new name
	drops     []*colInfo
	adds      []column
	widens    []struct {
		ci  *colInfo
		typ string
	}
}

func (e *evolution) empty() bool {
	return len(e.conflicts)+len(e.renames)+len(e.drops)+len(e.adds)+len(e.widens) == 0
}

// plan compares a change with its table. Under basic it only adds and
// widens; under advanced it also matches renames and drops (see above).
func (t *Task) plan(ti *tableInfo, ch *change) (*evolution, error) {
	e := &evolution{}
	inRecord := map[string]bool{}
	for _, c := range ch.cols {
		inRecord[t.b.colKey(c.name)] = true
	}
	for _, f := range ch.unavailable {
		// left out of this row only; the column is still there
		inRecord[t.b.colKey(t.normName(f))] = true
	}
	// Fields the target lacks, and the number of shared columns before
	// each, in record order.
	type slot struct {
		anchor int
		c      column
	}
	var missing []slot
	shared := 0
	for _, c := range ch.cols {
		k := t.b.colKey(c.name)
		ci := ti.cols[k]
		if ci == nil {
			missing = append(missing, slot{shared, c})
			continue
		}
		shared++
		typ, err := t.b.columnType(c)
		if err != nil {
			return nil, columnTypeError(ti.id, c, err)
		}
		if widens(ci.typ, typ) {
			e.widens = append(e.widens, struct {
				ci  *colInfo
				typ string
			}{ci, typ})
		}
		if conflicts(ci.typ, typ) {
			e.conflicts = append(e.conflicts, fmt.Sprintf("column %s is %s in the target, field %q is now %s", ci.name, ci.typ, c.field, typ))
		}
	}
	if len(e.conflicts) > 0 {
		return e, nil
	}
	if !t.s.advanced {
		for _, m := range missing {
			e.adds = append(e.adds, m.c)
		}
		return e, nil
	}
	type orphan struct {
		anchor int
		ci     *colInfo
	}
	var orphans []orphan
	shared = 0
	for _, k := range ti.order {
		ci := ti.cols[k]
		switch {
		case inRecord[k]:
			shared++
		case ci.kept:
			// dropped at the source earlier, kept by drop.mode=keep
		case t.s.keepField(ch.rec.Topic, ci.name):
			// Excluded fields (field.exclude.list) are not the source's
			// doing: leave them alone.
			orphans = append(orphans, orphan{shared, ci})
		}
	}
	used := make([]bool, len(orphans))
	for _, m := range missing {
		typ, err := t.b.columnType(m.c)
		if err != nil {
			return nil, columnTypeError(ti.id, m.c, err)
		}
		renamed := false
		for i, o := range orphans {
			if used[i] || o.anchor != m.anchor || m.c.key || !compatible(o.ci.typ, typ) {
				continue
			}
			used[i], renamed = true, true
			e.renames = append(e.renames, [2]string{o.ci.name, m.c.name})
			if widens(o.ci.typ, typ) {
				e.widens = append(e.widens, struct {
					ci  *colInfo
					typ string
				}{&colInfo{name: m.c.name, typ: o.ci.typ, nullable: o.ci.nullable}, typ})
			}
			break
		}
		if !renamed {
			e.adds = append(e.adds, m.c)
		}
	}
	for i, o := range orphans {
		if !used[i] {
			e.drops = append(e.drops, o.ci)
		}
	}
	return e, nil
}

// statements renders an evolution in the target's dialect: renames
// first (so that adds and drops see the final names), then drops, adds
// and type changes.
func (t *Task) statements(id tableID, e *evolution) ([]string, error) {
	var out []string
	for _, r := range e.renames {
		out = append(out, t.b.renameColumn(id, r[0], r[1]))
	}
	for _, ci := range e.drops {
		if t.s.keepDropped {
			// nullable, and marked so that later changes leave it alone
			out = append(out, t.b.keepColumn(id, ci)...)
		} else {
			out = append(out, t.b.dropColumn(id, ci.name))
		}
	}
	for _, c := range e.adds {
		q, err := t.b.addColumn(id, c)
		if err != nil {
			return nil, fmt.Errorf("altering table %s: %w", id, err)
		}
		out = append(out, q)
	}
	for _, w := range e.widens {
		out = append(out, t.b.alterType(id, w.ci, w.typ))
	}
	return out, nil
}

// evolutionName names the setting that allowed the evolution, for errors.
func (t *Task) evolutionName() string {
	switch {
	case t.s.advanced:
		return "schema.evolution=advanced"
	case t.s.flavour == flavourConfluent:
		return "auto.evolve"
	}
	return "schema.evolution=basic"
}

// describeEvolution is the log form of an evolution.
func describeEvolution(e *evolution, keep bool) []any {
	var attrs []any
	if len(e.renames) > 0 {
		attrs = append(attrs, "renamed", joinMap(e.renames, ",", func(r [2]string) string { return r[0] + "->" + r[1] }))
	}
	if len(e.drops) > 0 {
		k := "dropped"
		if keep {
			k = "kept (source dropped them)"
		}
		attrs = append(attrs, k, joinMap(e.drops, ",", func(c *colInfo) string { return c.name }))
	}
	if len(e.adds) > 0 {
		attrs = append(attrs, "added", joinMap(e.adds, ",", func(c column) string { return c.name }))
	}
	if len(e.widens) > 0 {
		attrs = append(attrs, "widened", joinMap(e.widens, ",", func(w struct {
			ci  *colInfo
			typ string
		}) string {
			return w.ci.name + ":" + w.ci.typ + "->" + w.typ
		}))
	}
	return attrs
}

// evolve brings the change's table to the change's shape inside the
// write (advanced), after the rows before it. fits caches the shapes
// known to fit each table version.
func (t *Task) evolve(ctx context.Context, tx txn, ch *change, flushAll func() error) error {
	ti := t.tables[ch.table]
	if ti == nil {
		return fmt.Errorf("%s: table %s unknown", coords(ch.rec), ch.table)
	}
	if t.fits[ti] == nil {
		t.fits[ti] = map[string]bool{}
	}
	if t.fits[ti][ch.sig] {
		return nil
	}
	e, err := t.plan(ti, ch)
	if err != nil {
		return fmt.Errorf("%s: %w", coords(ch.rec), err)
	}
	if e.empty() {
		t.fits[ti][ch.sig] = true
		return nil
	}
	if len(e.conflicts) > 0 {
		return fmt.Errorf("%s: %w", coords(ch.rec), &connect.SchemaChangeError{Table: ch.table.String(),
			Reason: strings.Join(e.conflicts, "; ") + " (" + t.evolutionName() + " does not change a column's type family; alter the column in the target, then resume)"})
	}
	stmts, err := t.statements(ch.table, e)
	if err != nil {
		return fmt.Errorf("%s: %w", coords(ch.rec), err)
	}
	if err := flushAll(); err != nil {
		return err
	}
	t.log.Info("schema evolution", append([]any{"table", ch.table.String(), "record", coords(ch.rec)}, describeEvolution(e, t.s.keepDropped)...)...)
	if err := tx.ddl(ctx, stmts); err != nil {
		if t.b.retriable(err) {
			return fmt.Errorf("%s: schema evolution of %s: %w", coords(ch.rec), ch.table, err)
		}
		return fmt.Errorf("%s: %w", coords(ch.rec), &connect.SchemaChangeError{Table: ch.table.String(),
			Reason: "the database refused the DDL", Err: err}) // err names the statement
	}
	nti, err := t.refresh(ctx, ch.table)
	if err != nil {
		return err
	}
	if nti == nil {
		return fmt.Errorf("table %s not found after altering it", ch.table)
	}
	if again, err := t.plan(nti, ch); err != nil || !again.empty() {
		return fmt.Errorf("%s: %w", coords(ch.rec), &connect.SchemaChangeError{Table: ch.table.String(),
			Reason: fmt.Sprintf("the table still differs from the record after schema evolution (%v)", describeEvolution(again, t.s.keepDropped))})
	}
	t.fits[nti] = map[string]bool{ch.sig: true}
	return nil
}
