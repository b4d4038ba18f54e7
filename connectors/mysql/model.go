package mysql

import (
	"fmt"
	"strconv"
	"strings"
)

// java.sql.Types codes, which Debezium records as a column's jdbcType.
const (
	jdbcBit                   = -7
	jdbcSmallint              = 5
	jdbcInteger               = 4
	jdbcBigint                = -5
	jdbcFloat                 = 6
	jdbcReal                  = 7
	jdbcDouble                = 8
	jdbcNumeric               = 2
	jdbcDecimal               = 3
	jdbcChar                  = 1
	jdbcVarchar               = 12
	jdbcNchar                 = -15
	jdbcNvarchar              = -9
	jdbcDate                  = 91
	jdbcTime                  = 92
	jdbcTimestamp             = 93
	jdbcTimestampWithTimezone = 2014
	jdbcBinary                = -2
	jdbcVarbinary             = -3
	jdbcBlob                  = 2004
	jdbcBoolean               = 16
	jdbcOther                 = 1111
)

// TableID names a table as Debezium's TableId does for MySQL: the database
// is the catalog and there is no schema.
type TableID struct {
	DB    string
	Table string
}

func (id TableID) String() string { return id.DB + "." + id.Table }

// doubleQuoted is TableId.toDoubleQuotedString, the "id" of a table change.
func (id TableID) doubleQuoted() string {
	if id.DB == "" {
		return `"` + id.Table + `"`
	}
	return `"` + id.DB + `"."` + id.Table + `"`
}

func (id TableID) quoted() string {
	return quoteIdent(id.DB) + "." + quoteIdent(id.Table)
}

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// Column mirrors io.debezium.relational.Column for the fields Debezium
// serialises into the schema history and uses to build schemas.
type Column struct {
	Name           string
	JDBCType       int
	TypeName       string
	TypeExpression string
	Charset        string // explicit column charset, "" when the DDL gives none
	TableCharset   string // the table's default charset, for decoding
	Length         int    // -1 when unset
	Scale          *int
	Position       int // 1-based
	Optional       bool
	AutoIncrement  bool
	Generated      bool
	Comment        *string
	HasDefault     bool
	DefaultExpr    *string
	EnumValues     []string // raw, quotes included, as Debezium records them
}

// Table is the connector's model of one table's structure.
type Table struct {
	ID             TableID
	Columns        []*Column
	PK             []string
	DefaultCharset string
	Comment        *string
}

func (t *Table) column(name string) (*Column, int) {
	for i, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, i
		}
	}
	return nil, -1
}

func (t *Table) clone() *Table {
	c := *t
	c.Columns = make([]*Column, len(t.Columns))
	for i, col := range t.Columns {
		cc := *col
		cc.EnumValues = append([]string(nil), col.EnumValues...)
		c.Columns[i] = &cc
	}
	c.PK = append([]string(nil), t.PK...)
	return &c
}

func (t *Table) renumber() {
	for i, c := range t.Columns {
		c.Position = i + 1
	}
}

// unsigned reports whether the column's type is UNSIGNED.
func (c *Column) unsigned() bool { return strings.Contains(c.TypeName, "UNSIGNED") }

// baseType is the first word of the type name (INT for "INT UNSIGNED").
func (c *Column) baseType() string {
	if i := strings.IndexByte(c.TypeName, ' '); i > 0 {
		return c.TypeName[:i]
	}
	return c.TypeName
}

// enumOptions returns the ENUM/SET options without their quotes.
func (c *Column) enumOptions() []string {
	out := make([]string, len(c.EnumValues))
	for i, v := range c.EnumValues {
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
			out[i] = unquoteString(v)
		} else {
			out[i] = v
		}
	}
	return out
}

// schemaModel holds every known table plus the charset context DDL needs.
type schemaModel struct {
	tables        map[TableID]*Table
	dbCharsets    map[string]string
	serverCharset string
}

func newSchemaModel() *schemaModel {
	return &schemaModel{tables: map[TableID]*Table{}, dbCharsets: map[string]string{}}
}

func (m *schemaModel) table(id TableID) *Table { return m.tables[id] }

// charsetFor returns the default charset a new table in db gets.
func (m *schemaModel) charsetFor(db string) string {
	if cs, ok := m.dbCharsets[db]; ok && cs != "" {
		return cs
	}
	return m.serverCharset
}

// resolveType fills a column's type fields from the type as written, the
// way Debezium's DDL parser data type resolver does.
func resolveType(col *Column, rt rawType) error {
	col.Length = -1
	col.Scale = nil
	col.EnumValues = nil
	w := rt.words[0]
	name := strings.Join(rt.words, " ")
	jdbc := 0
	suffixes := true
	defLen, defScale := -1, -1
	switch w {
	case "TINYINT", "INT1", "SMALLINT", "INT2":
		jdbc = jdbcSmallint
	case "MEDIUMINT", "INT3", "MIDDLEINT", "INT", "INTEGER", "INT4":
		jdbc = jdbcInteger
	case "BIGINT", "INT8":
		jdbc = jdbcBigint
	case "REAL":
		jdbc = jdbcReal
	case "DOUBLE", "FLOAT8":
		jdbc = jdbcDouble
	case "FLOAT", "FLOAT4":
		jdbc = jdbcFloat
	case "DECIMAL", "DEC", "FIXED":
		jdbc, defLen, defScale = jdbcDecimal, 10, 0
	case "NUMERIC":
		jdbc, defLen, defScale = jdbcNumeric, 10, 0
	case "BIT":
		jdbc, defLen = jdbcBit, 1
		suffixes = false
	case "BOOL", "BOOLEAN":
		jdbc = jdbcBoolean
		suffixes = false
	case "SERIAL":
		jdbc = jdbcBigint
		name = "BIGINT UNSIGNED"
		suffixes = false
		col.AutoIncrement, col.Generated = true, true
	case "DATE":
		jdbc = jdbcDate
		suffixes = false
	case "TIME":
		jdbc = jdbcTime
		suffixes = false
	case "TIMESTAMP":
		jdbc = jdbcTimestampWithTimezone
		suffixes = false
	case "DATETIME":
		jdbc = jdbcTimestamp
		suffixes = false
	case "YEAR":
		jdbc = jdbcInteger
		suffixes = false
	case "CHAR", "CHARACTER":
		jdbc = jdbcChar
		if len(rt.words) > 1 && rt.words[1] == "VARYING" {
			jdbc = jdbcVarchar
		}
		suffixes = false
	case "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT":
		jdbc = jdbcVarchar
		suffixes = false
	case "LONG":
		jdbc = jdbcVarchar
		if len(rt.words) > 1 && rt.words[1] == "VARBINARY" {
			jdbc = jdbcBlob
		}
		suffixes = false
	case "NCHAR":
		jdbc = jdbcNchar
		if len(rt.words) > 1 && (rt.words[1] == "VARYING" || rt.words[1] == "VARCHAR") {
			jdbc = jdbcNvarchar
		}
		suffixes = false
	case "NVARCHAR":
		jdbc = jdbcNvarchar
		suffixes = false
	case "NATIONAL":
		jdbc = jdbcNchar
		for _, x := range rt.words[1:] {
			if x == "VARCHAR" || x == "VARYING" {
				jdbc = jdbcNvarchar
			}
		}
		suffixes = false
	case "BINARY":
		jdbc = jdbcBinary
		suffixes = false
	case "VARBINARY":
		jdbc = jdbcVarbinary
		suffixes = false
	case "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
		jdbc = jdbcBlob
		suffixes = false
	case "ENUM", "SET":
		jdbc = jdbcChar
		suffixes = false
		col.EnumValues = append([]string(nil), rt.args...)
		if w == "SET" {
			col.Length = max(0, len(rt.args)*2-1)
		} else {
			col.Length = 1
		}
	case "JSON", "GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
		"GEOMETRYCOLLECTION", "GEOMCOLLECTION", "UUID", "INET4", "INET6", "VECTOR":
		jdbc = jdbcOther
		suffixes = false
	default:
		return fmt.Errorf("column %q: unknown data type %s", col.Name, name)
	}
	if suffixes {
		if rt.signed {
			name += " SIGNED"
		}
		if rt.unsigned {
			name += " UNSIGNED"
		}
		if rt.zerofill {
			name += " ZEROFILL"
		}
	}
	if rt.binary && (jdbc == jdbcChar || jdbc == jdbcVarchar || jdbc == jdbcNchar || jdbc == jdbcNvarchar) && w != "ENUM" && w != "SET" {
		name += " BINARY"
	}
	col.TypeName = name
	col.TypeExpression = name
	col.JDBCType = jdbc
	if w != "ENUM" && w != "SET" && len(rt.args) > 0 {
		l, err := parseLen(rt.args[0])
		if err != nil {
			return fmt.Errorf("column %q: type %s: %w", col.Name, name, err)
		}
		col.Length = l
		if len(rt.args) > 1 {
			s, err := strconv.Atoi(strings.TrimSpace(rt.args[1]))
			if err != nil {
				return fmt.Errorf("column %q: type %s: invalid scale %q", col.Name, name, rt.args[1])
			}
			col.Scale = &s
		}
	}
	if col.Length == -1 && defLen >= 0 {
		col.Length = defLen
	}
	if col.Scale == nil && defScale >= 0 {
		s := defScale
		col.Scale = &s
	}
	switch jdbc {
	case jdbcNchar, jdbcNvarchar:
		col.Charset = "utf8"
		if jdbc == jdbcNchar && col.Length == -1 {
			col.Length = 1
		}
	case jdbcChar, jdbcVarchar:
		col.Charset = rt.charset
		if col.Charset == "" && rt.collate != "" {
			col.Charset = charsetOfCollation(rt.collate)
		}
	default:
		col.Charset = ""
	}
	return nil
}

func parseLen(s string) (int, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, ".") { // FLOAT(7.3) style
		s = s[:strings.IndexByte(s, '.')]
		if s == "" || s == "0" {
			return 10, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid length %q", s)
	}
	if n > 1<<31-1 {
		n = 1<<31 - 1
	}
	return int(n), nil
}

// charsetOfCollation maps a collation to its charset by the naming
// convention every MySQL collation follows (<charset>_<rest>).
func charsetOfCollation(coll string) string {
	coll = strings.ToLower(coll)
	if coll == "binary" {
		return "binary"
	}
	if i := strings.IndexByte(coll, '_'); i > 0 {
		return coll[:i]
	}
	return coll
}
