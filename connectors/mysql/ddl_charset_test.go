package mysql

import "testing"

// A string column decodes binlog bytes in its effective charset: its own,
// else the table default it was created under. ALTER TABLE ... DEFAULT
// CHARSET changes only the default for new columns; CONVERT TO changes
// every column. Both must hold live and after the schema history's round
// trip, which is how a restart recovers the table.
func TestAlterTableCharsetKeepsColumnCharsets(t *testing.T) {
	effective := func(c *Column) string {
		if c.Charset != "" {
			return c.Charset
		}
		return c.TableCharset
	}
	recovered := func(tb *Table) *Table {
		doc, err := parseJdoc(tableDoc(tb).marshal())
		if err != nil {
			t.Fatal(err)
		}
		back, err := tableFromDoc(tb.ID, doc)
		if err != nil {
			t.Fatal(err)
		}
		return back
	}
	m := newSchemaModel()
	m.serverCharset = "utf8mb4"
	id := TableID{"db", "t"}
	for _, step := range []struct {
		sql           string
		old, new, num string // effective charsets of columns old and new, and of the table default
	}{
		{"CREATE TABLE t (old VARCHAR(10), n INT)", "utf8mb4", "", "utf8mb4"},
		{"ALTER TABLE t DEFAULT CHARSET=latin1, ADD COLUMN new VARCHAR(10)", "utf8mb4", "latin1", "latin1"},
		{"ALTER TABLE t CONVERT TO CHARACTER SET utf8mb4", "utf8mb4", "utf8mb4", "utf8mb4"},
		{"ALTER TABLE t CONVERT TO CHARACTER SET latin1", "latin1", "latin1", "latin1"},
	} {
		if _, err := m.applyDDL(step.sql, "db"); err != nil {
			t.Fatalf("%s: %v", step.sql, err)
		}
		for _, tb := range []*Table{m.table(id), recovered(m.table(id))} {
			if tb.DefaultCharset != step.num {
				t.Errorf("after %s: table default %q, want %q", step.sql, tb.DefaultCharset, step.num)
			}
			if c, _ := tb.column("old"); effective(c) != step.old {
				t.Errorf("after %s: column old decodes as %q, want %q", step.sql, effective(c), step.old)
			}
			if c, _ := tb.column("new"); c != nil && effective(c) != step.new {
				t.Errorf("after %s: column new decodes as %q, want %q", step.sql, effective(c), step.new)
			}
		}
	}
}

// Statements MySQL rejects must be errors here too, not a model that
// fails later (duplicate names break the Connect schema, an empty column
// name breaks recovering the schema history after a restart).
func TestDDLRejectsImpossibleColumnNames(t *testing.T) {
	for _, sql := range []string{
		"CREATE TABLE x (a INT, A INT)",
		"CREATE TABLE x (`` INT)",
		"ALTER TABLE t ADD COLUMN ``  INT",
		"ALTER TABLE t RENAME COLUMN a TO b",
		"ALTER TABLE t RENAME COLUMN a TO ``",
		"ALTER TABLE t CHANGE a b INT",
	} {
		m := newSchemaModel()
		if _, err := m.applyDDL("CREATE TABLE t (a INT, b INT)", "db"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.applyDDL(sql, "db"); err == nil {
			t.Errorf("%s: accepted", sql)
		}
	}
}
