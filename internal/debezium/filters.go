package debezium

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tributary-io/tributary/connect/config"
)

// Filter selects names (tables "schema.table", columns
// "schema.table.column") with Debezium's include/exclude semantics: each
// entry is a regular expression matched case-insensitively against the
// whole name; include and exclude lists are mutually exclusive.
type Filter struct {
	include, exclude []*regexp.Regexp
}

// NewFilter compiles include/exclude lists. includeName and excludeName are
// the property names, used in errors.
func NewFilter(includeName string, include []string, excludeName string, exclude []string) (*Filter, error) {
	if len(include) > 0 && len(exclude) > 0 {
		return nil, fmt.Errorf("%s and %s cannot both be set", includeName, excludeName)
	}
	f := &Filter{}
	var err error
	if f.include, err = compileAll(includeName, include); err != nil {
		return nil, err
	}
	if f.exclude, err = compileAll(excludeName, exclude); err != nil {
		return nil, err
	}
	return f, nil
}

func compileAll(prop string, pats []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, p := range pats {
		re, err := regexp.Compile("(?i)^(?:" + p + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: invalid regular expression %q: %w", prop, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Match reports whether name is selected.
func (f *Filter) Match(name string) bool {
	if f == nil {
		return true
	}
	if len(f.include) > 0 {
		for _, re := range f.include {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}
	for _, re := range f.exclude {
		if re.MatchString(name) {
			return false
		}
	}
	return true
}

// FiltersFrom builds the table and column filters from Debezium's common
// properties.
func FiltersFrom(v *config.Values) (tables, columns *Filter, err error) {
	tables, err = NewFilter("table.include.list", v.List("table.include.list"), "table.exclude.list", v.List("table.exclude.list"))
	if err != nil {
		return nil, nil, err
	}
	columns, err = NewFilter("column.include.list", v.List("column.include.list"), "column.exclude.list", v.List("column.exclude.list"))
	if err != nil {
		return nil, nil, err
	}
	return tables, columns, nil
}

// SkippedOps parses skipped.operations ("c,u,d,t" or "none"; default "t").
func SkippedOps(v *config.Values) (map[Op]bool, error) {
	out := map[Op]bool{}
	for _, s := range v.List("skipped.operations") {
		s = strings.ToLower(s)
		switch s {
		case "none":
			return map[Op]bool{}, nil
		case "c", "u", "d", "t":
			out[Op(s)] = true
		default:
			return nil, fmt.Errorf("skipped.operations: unknown operation %q (expected c, u, d, t or none)", s)
		}
	}
	return out, nil
}
