// Package compat decides whether data written with one Avro schema can be read
// with another, following the schema resolution rules of the Avro
// specification, and applies Confluent Schema Registry's compatibility levels
// on top of that.
//
// Incompatibilities are reported with the same type names and locations as
// Apache Avro Java's SchemaCompatibility (1.9+), because registry users read
// those in error messages and tooling matches on them.
package compat

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/schema/avsc"
)

// IncompatibilityType names a kind of incompatibility, spelled like Java's
// SchemaIncompatibilityType.
type IncompatibilityType string

// The kinds of incompatibility.
const (
	NameMismatch                   IncompatibilityType = "NAME_MISMATCH"
	FixedSizeMismatch              IncompatibilityType = "FIXED_SIZE_MISMATCH"
	MissingEnumSymbols             IncompatibilityType = "MISSING_ENUM_SYMBOLS"
	ReaderFieldMissingDefaultValue IncompatibilityType = "READER_FIELD_MISSING_DEFAULT_VALUE"
	TypeMismatch                   IncompatibilityType = "TYPE_MISMATCH"
	MissingUnionBranch             IncompatibilityType = "MISSING_UNION_BRANCH"
)

// Incompatibility is one reason the reader cannot read the writer's data.
type Incompatibility struct {
	Type IncompatibilityType
	// Path locates the problem in the reader schema, e.g. "/fields/0/type".
	Path string
	// Message is Java's short message: the missing field name, the missing
	// symbols, "expected: <writer name>", and so on.
	Message string
}

func (i Incompatibility) String() string {
	return fmt.Sprintf("%s at %s: %s", i.Type, i.Path, i.Message)
}

// Check lists why data written with writer cannot be read with reader; an
// empty result means the pair is compatible.
func Check(reader, writer *avsc.Schema) []Incompatibility {
	c := &checker{memo: map[pair][]Incompatibility{}}
	return c.check(reader, writer, nil)
}

// Compatible is Check reduced to a yes/no answer.
func Compatible(reader, writer *avsc.Schema) bool {
	return len(Check(reader, writer)) == 0
}

type pair struct{ r, w *avsc.Schema }

type checker struct {
	// memo holds finished results and, while a pair is being checked, a nil
	// entry: meeting the same pair again means we are inside a recursive
	// type, and assuming success there is what makes the check terminate
	// (Java does the same).
	memo map[pair][]Incompatibility
}

func with(path []string, seg ...string) []string {
	out := make([]string, 0, len(path)+len(seg))
	return append(append(out, path...), seg...)
}

func location(path []string) string { return "/" + strings.Join(path, "/") }

func typeName(s *avsc.Schema) string { return strings.ToUpper(string(s.Type)) }

func (c *checker) check(r, w *avsc.Schema, path []string) []Incompatibility {
	key := pair{r, w}
	if res, ok := c.memo[key]; ok {
		return res
	}
	c.memo[key] = nil
	res := c.calc(r, w, path)
	c.memo[key] = res
	return res
}

func (c *checker) calc(r, w *avsc.Schema, path []string) []Incompatibility {
	if r.Type == w.Type {
		switch r.Type {
		case avsc.Record:
			return append(names(r, w, path), c.fields(r, w, path)...)
		case avsc.Enum:
			return append(names(r, w, path), symbols(r, w, path)...)
		case avsc.Fixed:
			res := names(r, w, path)
			if r.Size != w.Size {
				res = append(res, Incompatibility{FixedSizeMismatch, location(with(path, "size")),
					fmt.Sprintf("expected: %d, found: %d", w.Size, r.Size)})
			}
			return res
		case avsc.Array:
			return c.check(r.Items, w.Items, with(path, "items"))
		case avsc.Map:
			return c.check(r.Values, w.Values, with(path, "values"))
		case avsc.Union:
			// Every branch the writer might have chosen must be readable.
			var res []Incompatibility
			for i, wb := range w.Branches {
				p := with(path, strconv.Itoa(i))
				if len(c.check(r, wb, p)) > 0 {
					res = append(res, Incompatibility{MissingUnionBranch, location(p),
						"reader union lacking writer type: " + typeName(wb)})
				}
			}
			return res
		default:
			return nil
		}
	}
	if w.Type == avsc.Union {
		// A non-union reader must accept every writer branch on its own.
		var res []Incompatibility
		for _, wb := range w.Branches {
			res = append(res, c.check(r, wb, path)...)
		}
		return res
	}
	if promotable(r.Type, w.Type) {
		return nil
	}
	if r.Type == avsc.Union {
		for _, rb := range r.Branches {
			if len(c.check(rb, w, path)) == 0 {
				return nil
			}
		}
		return []Incompatibility{{MissingUnionBranch, location(path),
			"reader union lacking writer type: " + typeName(w)}}
	}
	return []Incompatibility{{TypeMismatch, location(path),
		fmt.Sprintf("reader type: %s not compatible with writer type: %s", typeName(r), typeName(w))}}
}

// promotable lists the spec's primitive promotions, writer to reader.
func promotable(r, w avsc.Type) bool {
	switch r {
	case avsc.Long:
		return w == avsc.Int
	case avsc.Float:
		return w == avsc.Int || w == avsc.Long
	case avsc.Double:
		return w == avsc.Int || w == avsc.Long || w == avsc.Float
	case avsc.Bytes:
		return w == avsc.String
	case avsc.String:
		return w == avsc.Bytes
	}
	return false
}

// names applies the spec's rule that named types match on their unqualified
// name, or when the reader lists the writer's full name as an alias.
func names(r, w *avsc.Schema, path []string) []Incompatibility {
	if r.ShortName() == w.ShortName() || slices.Contains(r.Aliases, w.Name) {
		return nil
	}
	return []Incompatibility{{NameMismatch, location(with(path, "name")), "expected: " + w.Name}}
}

func symbols(r, w *avsc.Schema, path []string) []Incompatibility {
	var missing []string
	for _, s := range w.Symbols {
		if !slices.Contains(r.Symbols, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) == 0 || r.EnumDefault != "" {
		return nil
	}
	sort.Strings(missing)
	return []Incompatibility{{MissingEnumSymbols, location(with(path, "symbols")),
		"[" + strings.Join(missing, ", ") + "]"}}
}

func (c *checker) fields(r, w *avsc.Schema, path []string) []Incompatibility {
	var res []Incompatibility
	for i, rf := range r.Fields {
		wf := writerField(w, rf)
		if wf == nil {
			if !rf.HasDefault() {
				res = append(res, Incompatibility{ReaderFieldMissingDefaultValue,
					location(with(path, "fields", strconv.Itoa(i))), rf.Name})
			}
			continue
		}
		res = append(res, c.check(rf.Type, wf.Type, with(path, "fields", strconv.Itoa(i), "type"))...)
	}
	return res
}

// writerField finds the writer's field for a reader field: by name first, then
// by the reader field's aliases.
func writerField(w *avsc.Schema, rf *avsc.Field) *avsc.Field {
	if f := w.Field(rf.Name); f != nil {
		return f
	}
	for _, a := range rf.Aliases {
		if f := w.Field(a); f != nil {
			return f
		}
	}
	return nil
}
