package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// fieldPath is Kafka's SingleFieldPath (KIP-821): with
// field.syntax.version=V1 the whole string names a top-level field; with V2
// dots separate nested fields and backticks quote names containing dots.
type fieldPath []string

var fieldSyntaxProp = defStr("field.syntax.version", "V1").with(oneOfFold("V1", "V2"))

func newFieldPath(text, version string) (fieldPath, error) {
	if !strings.EqualFold(version, "V2") {
		return fieldPath{text}, nil
	}
	var steps []string
	idx := 0
	for idx < len(text) && idx >= 0 {
		if text[idx] != '`' {
			start := idx
			if dot := strings.IndexByte(text[idx:], '.'); dot >= 0 {
				steps = append(steps, text[start:idx+dot])
				idx += dot + 1
			} else {
				steps = append(steps, text[start:])
				idx = -1
			}
			continue
		}
		backtickAt := idx
		idx++
		var field strings.Builder
		start := idx
		for {
			next := strings.IndexByte(text[idx:], '`')
			if next < 0 {
				return nil, incompleteBacktick(text, backtickAt)
			}
			idx += next
			escaped := text[idx-1] == '\\'
			if idx >= len(text)-1 {
				if escaped {
					return nil, incompleteBacktick(text, backtickAt)
				}
				field.WriteString(text[start:idx])
				steps = append(steps, field.String())
				idx++
				break
			}
			if text[idx+1] != '.' {
				idx++
				continue
			}
			if escaped {
				field.WriteString(text[start : idx-1])
				field.WriteByte('`')
				idx++
				start = idx
				continue
			}
			field.WriteString(text[start:idx])
			steps = append(steps, field.String())
			idx += 2
			break
		}
	}
	if text != "" && text[len(text)-1] == '.' {
		steps = append(steps, "")
	}
	return steps, nil
}

func incompleteBacktick(path string, at int) error {
	return &ConfigError{Message: fmt.Sprintf("Incomplete backtick pair in path: [%s], consider adding a backslash before backtick at position %d to escape it", path, at)}
}

// fieldFrom returns the field the path names in schema, or nil.
func (p fieldPath) fieldFrom(schema *connect.Schema) *connect.Field {
	if len(p) == 0 {
		return nil
	}
	cur := schema
	for _, step := range p[:len(p)-1] {
		f := cur.Field(step)
		if f == nil {
			return nil
		}
		cur = f.Schema
	}
	return cur.Field(p[len(p)-1])
}

// valueFromStruct is SingleFieldPath.valueFrom(Struct, withDefault).
func (p fieldPath) valueFromStruct(v *connect.StructValue, withDefault bool) (any, error) {
	if len(p) == 0 {
		return nil, nil
	}
	cur := v
	for _, step := range p[:len(p)-1] {
		f := cur.Schema.Field(step)
		if f == nil {
			return nil, nil
		}
		sub := fieldValue(cur, *f, true)
		if sub == nil {
			return nil, nil
		}
		s, err := requireStruct(sub, "nested field access")
		if err != nil {
			return nil, err
		}
		cur = s
	}
	f := cur.Schema.Field(p[len(p)-1])
	if f == nil {
		return nil, nil
	}
	return fieldValue(cur, *f, withDefault), nil
}

// valueFromMap is SingleFieldPath.valueFrom(Map).
func (p fieldPath) valueFromMap(m map[string]any) (any, error) {
	if len(p) == 0 {
		return nil, nil
	}
	cur := m
	for _, step := range p[:len(p)-1] {
		sub := cur[step]
		if sub == nil {
			return nil, nil
		}
		next, err := requireMap(sub, "nested field access")
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur[p[len(p)-1]], nil
}
