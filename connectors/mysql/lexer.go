package mysql

import (
	"strings"
)

// token is one lexical token of a DDL statement. The TiDB parser builds the
// statement structure, but it normalises column types (BOOLEAN becomes
// TINYINT(1), FLOAT(30) becomes DOUBLE, widths are dropped) and rejects
// spatial types, while Debezium records types exactly as written. A light
// lexer over the original text recovers what TiDB loses.
type token struct {
	text  string // raw text, quotes included
	kind  tokKind
	start int
	end   int
	// open marks a quoted token that runs to the end of the statement
	// without its closing quote (the parser then rejects the statement).
	open bool
}

type tokKind int

const (
	tokWord   tokKind = iota // unquoted identifier or keyword
	tokQuoted                // `name`
	tokString                // 'x' or "x"
	tokNumber
	tokPunct
)

// lexSQL splits sql into tokens, dropping comments and whitespace. MySQL
// executable comments (/*! ... */) are treated as code, as the server does.
func lexSQL(sql string) []token {
	var out []token
	i := 0
	n := len(sql)
	for i < n {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '#':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '-' && i+2 < n && sql[i+1] == '-' && (sql[i+2] == ' ' || sql[i+2] == '\t' || sql[i+2] == '\n'):
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			if i+2 < n && (sql[i+2] == '!' || sql[i+2] == 'M') && (sql[i+2] == '!' || strings.HasPrefix(sql[i+2:], "M!")) {
				// executable comment: skip the marker and version, lex the body
				j := i + 3
				if sql[i+2] == 'M' {
					j = i + 4
				}
				for j < n && sql[j] >= '0' && sql[j] <= '9' {
					j++
				}
				end := strings.Index(sql[j:], "*/")
				if end < 0 {
					end = n - j
				}
				for _, t := range lexSQL(sql[j : j+end]) {
					t.start += j
					t.end += j
					out = append(out, t)
				}
				i = j + end + 2
				continue
			}
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				i = n
			} else {
				i = i + 2 + end + 2
			}
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < n {
				if sql[j] == '\\' && c != '`' && j+1 < n {
					j += 2
					continue
				}
				if sql[j] == c {
					if j+1 < n && sql[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			open := j >= n
			if open {
				j = n - 1
			}
			k := tokString
			if c == '`' {
				k = tokQuoted
			}
			out = append(out, token{text: sql[i : j+1], kind: k, start: i, end: j + 1, open: open})
			i = j + 1
		case c >= '0' && c <= '9' || (c == '.' && i+1 < n && sql[i+1] >= '0' && sql[i+1] <= '9'):
			j := i
			for j < n && (isIdentChar(sql[j]) || sql[j] == '.') {
				j++
			}
			out = append(out, token{text: sql[i:j], kind: tokNumber, start: i, end: j})
			i = j
		case isIdentChar(c):
			j := i
			for j < n && isIdentChar(sql[j]) {
				j++
			}
			out = append(out, token{text: sql[i:j], kind: tokWord, start: i, end: j})
			i = j
		default:
			out = append(out, token{text: sql[i : i+1], kind: tokPunct, start: i, end: i + 1})
			i++
		}
	}
	return out
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80
}

// identName returns the identifier a word or quoted token names. An
// unterminated quoted token (a lone "`" at the end of the text) has no
// closing quote to strip.
func identName(t token) string {
	if t.kind == tokQuoted {
		body := t.text[1:]
		if !t.open {
			body = body[:len(body)-1]
		}
		return strings.ReplaceAll(body, "``", "`")
	}
	return t.text
}

// unquoteString removes the quotes of a string literal and resolves doubled
// quotes and backslash escapes, as MySQL reads it.
func unquoteString(s string) string {
	if len(s) < 2 {
		return s
	}
	q := s[0]
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '\\' && i+1 < len(body) {
			i++
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case 'Z':
				b.WriteByte(26)
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(body[i])
			}
			continue
		}
		if c == q && i+1 < len(body) && body[i+1] == q {
			i++
		}
		b.WriteByte(c)
	}
	return b.String()
}

// typeWords are the MySQL/MariaDB data type keywords that can follow a
// column name. The value says whether TiDB's parser understands the type;
// those it does not are replaced by LONGBLOB before parsing.
var typeWords = map[string]bool{
	"BIT": true, "TINYINT": true, "INT1": true, "SMALLINT": true, "INT2": true, "MEDIUMINT": true, "INT3": true,
	"MIDDLEINT": true, "INT": true, "INTEGER": true, "INT4": true, "BIGINT": true, "INT8": true,
	"REAL": true, "DOUBLE": true, "FLOAT8": true, "FLOAT": true, "FLOAT4": true,
	"DECIMAL": true, "DEC": true, "FIXED": true, "NUMERIC": true,
	"BOOL": true, "BOOLEAN": true, "SERIAL": true,
	"DATE": true, "TIME": true, "TIMESTAMP": true, "DATETIME": true, "YEAR": true,
	"CHAR": true, "CHARACTER": true, "VARCHAR": true, "NCHAR": true, "NVARCHAR": true, "NATIONAL": true,
	"TINYTEXT": true, "TEXT": true, "MEDIUMTEXT": true, "LONGTEXT": true, "LONG": true,
	"BINARY": true, "VARBINARY": true, "TINYBLOB": true, "BLOB": true, "MEDIUMBLOB": true, "LONGBLOB": true,
	"ENUM": true, "SET": true, "JSON": true,
	"GEOMETRY": false, "POINT": false, "LINESTRING": false, "POLYGON": false, "MULTIPOINT": false,
	"MULTILINESTRING": false, "MULTIPOLYGON": false, "GEOMETRYCOLLECTION": false, "GEOMCOLLECTION": false,
	"UUID": false, "INET4": false, "INET6": false, "VECTOR": false,
}

// rawType is a column type exactly as the DDL text spells it.
type rawType struct {
	column   string
	words    []string // upper-cased type words, e.g. [DOUBLE PRECISION], [CHAR VARYING]
	args     []string // the parenthesised arguments, raw (enum options keep their quotes)
	unsigned bool
	zerofill bool
	signed   bool
	binary   bool // CHAR(10) BINARY
	charset  string
	collate  string
}

// scanColumnTypes finds "name TYPE ..." sequences in statement tokens and
// returns them in textual order together with the statement rewritten so
// that TiDB's parser accepts it.
func scanColumnTypes(sql string) ([]rawType, string) {
	toks := lexSQL(sql)
	var out []rawType
	var rewrite strings.Builder
	last := 0
	for i := 1; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokWord {
			continue
		}
		up := strings.ToUpper(t.text)
		supported, isType := typeWords[up]
		if !isType {
			continue
		}
		prev := toks[i-1]
		if prev.kind != tokWord && prev.kind != tokQuoted {
			continue
		}
		if prev.kind == tokWord && isReservedBeforeType(strings.ToUpper(prev.text)) {
			continue
		}
		rt := rawType{column: identName(prev), words: []string{up}}
		j := i + 1
		// multi-word types
		for j < len(toks) && toks[j].kind == tokWord {
			w := strings.ToUpper(toks[j].text)
			if (up == "DOUBLE" && w == "PRECISION") || ((up == "CHAR" || up == "CHARACTER" || up == "NCHAR" || up == "NATIONAL") && (w == "VARYING" || w == "CHAR" || w == "CHARACTER" || w == "VARCHAR")) || (up == "LONG" && (w == "VARCHAR" || w == "VARBINARY")) {
				rt.words = append(rt.words, w)
				j++
				continue
			}
			break
		}
		if j < len(toks) && toks[j].text == "(" {
			depth := 0
			argStart := j + 1
			k := j
			for ; k < len(toks); k++ {
				if toks[k].text == "(" {
					depth++
				} else if toks[k].text == ")" {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			// split args on top-level commas
			var cur []string
			d := 0
			for a := argStart; a < k && a < len(toks); a++ {
				tx := toks[a].text
				if tx == "(" {
					d++
				} else if tx == ")" {
					d--
				}
				if tx == "," && d == 0 {
					rt.args = append(rt.args, strings.Join(cur, ""))
					cur = nil
					continue
				}
				cur = append(cur, tx)
			}
			if len(cur) > 0 {
				rt.args = append(rt.args, strings.Join(cur, ""))
			}
			j = k + 1
		}
		// attributes that belong to the type
		for j < len(toks) {
			w := strings.ToUpper(toks[j].text)
			switch {
			case toks[j].kind == tokWord && w == "UNSIGNED":
				rt.unsigned = true
				j++
			case toks[j].kind == tokWord && w == "SIGNED":
				rt.signed = true
				j++
			case toks[j].kind == tokWord && w == "ZEROFILL":
				rt.zerofill = true
				rt.unsigned = true
				j++
			case toks[j].kind == tokWord && w == "BINARY":
				rt.binary = true
				j++
			case toks[j].kind == tokWord && (w == "CHARSET" || w == "CHARACTER"):
				k := j + 1
				if w == "CHARACTER" && k < len(toks) && strings.EqualFold(toks[k].text, "SET") {
					k++
				}
				if k < len(toks) {
					rt.charset = strings.ToLower(strings.Trim(identName(toks[k]), "'\""))
					j = k + 1
				} else {
					j = k
				}
			case toks[j].kind == tokWord && w == "COLLATE":
				if j+1 < len(toks) {
					rt.collate = strings.ToLower(strings.Trim(identName(toks[j+1]), "'\""))
				}
				j += 2
			case toks[j].kind == tokWord && w == "ASCII":
				rt.charset = "latin1"
				j++
			case toks[j].kind == tokWord && w == "UNICODE":
				rt.charset = "ucs2"
				j++
			default:
				goto done
			}
		}
	done:
		out = append(out, rt)
		if !supported {
			rewrite.WriteString(sql[last:t.start])
			rewrite.WriteString("LONGBLOB")
			last = t.end
			// drop the type's arguments, LONGBLOB takes none
			if i+1 < len(toks) && toks[i+1].text == "(" && len(rt.args) > 0 {
				for k := i + 1; k < len(toks); k++ {
					if toks[k].text == ")" {
						last = toks[k].end
						break
					}
				}
			}
		}
		i = j - 1
	}
	rewrite.WriteString(sql[last:])
	return out, rewrite.String()
}

// isReservedBeforeType reports words that precede a type keyword without
// being a column name (CAST(x AS CHAR), CONVERT ... USING, RETURNS ...).
func isReservedBeforeType(w string) bool {
	switch w {
	case "AS", "USING", "RETURNS", "TO", "FROM", "BY", "ON", "IN", "IS", "NOT", "AND", "OR", "CHARSET", "DEFAULT",
		"CONVERT", "COLLATE", "SET", "TABLE", "COLUMN", "KEY", "INDEX", "SELECT", "WHERE", "THEN", "ELSE", "WHEN":
		return true
	}
	return false
}
