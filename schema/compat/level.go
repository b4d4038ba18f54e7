package compat

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/schema/avsc"
)

// Level is a Confluent Schema Registry compatibility level.
type Level string

// The levels Confluent Schema Registry defines.
const (
	None               Level = "NONE"
	Backward           Level = "BACKWARD"
	BackwardTransitive Level = "BACKWARD_TRANSITIVE"
	Forward            Level = "FORWARD"
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"
	Full               Level = "FULL"
	FullTransitive     Level = "FULL_TRANSITIVE"
)

// Levels lists every level, in Confluent's documentation order.
var Levels = []Level{None, Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive}

// ParseLevel accepts a level name in any letter case.
func ParseLevel(s string) (Level, error) {
	l := Level(strings.ToUpper(strings.TrimSpace(s)))
	for _, k := range Levels {
		if k == l {
			return l, nil
		}
	}
	return "", fmt.Errorf("unknown compatibility level %q", s)
}

// Transitive reports whether the level checks against every earlier version
// rather than only the latest.
func (l Level) Transitive() bool { return strings.HasSuffix(string(l), "_TRANSITIVE") }

func (l Level) backward() bool {
	return strings.HasPrefix(string(l), "BACKWARD") || strings.HasPrefix(string(l), "FULL")
}
func (l Level) forward() bool {
	return strings.HasPrefix(string(l), "FORWARD") || strings.HasPrefix(string(l), "FULL")
}

// Direction says which schema played the reader.
type Direction string

// Directions of a check against an earlier schema.
const (
	// NewReadsOld is the backward direction: the new schema reads old data.
	NewReadsOld Direction = "backward"
	// OldReadsNew is the forward direction: the old schema reads new data.
	OldReadsNew Direction = "forward"
)

// Violation is an incompatibility between the candidate schema and one of the
// earlier versions.
type Violation struct {
	// Previous indexes the previous slice passed to CheckLevel.
	Previous  int
	Direction Direction
	Incompatibility
}

// CheckLevel checks candidate against previous (oldest first) as the level
// demands: non-transitive levels look only at the last element.
func CheckLevel(level Level, candidate *avsc.Schema, previous []*avsc.Schema) ([]Violation, error) {
	if _, err := ParseLevel(string(level)); err != nil {
		return nil, err
	}
	if level == None || len(previous) == 0 {
		return nil, nil
	}
	first := len(previous) - 1
	if level.Transitive() {
		first = 0
	}
	var out []Violation
	// Newest first, so the most relevant failures lead the report.
	for i := len(previous) - 1; i >= first; i-- {
		old := previous[i]
		if level.backward() {
			for _, inc := range Check(candidate, old) {
				out = append(out, Violation{i, NewReadsOld, inc})
			}
		}
		if level.forward() {
			for _, inc := range Check(old, candidate) {
				out = append(out, Violation{i, OldReadsNew, inc})
			}
		}
	}
	return out, nil
}

// Describe phrases a violation the way Confluent Schema Registry words it,
// naming the new and old schema instead of reader and writer.
func (v Violation) Describe() string {
	reader, writer := "new", "old"
	if v.Direction == OldReadsNew {
		reader, writer = "old", "new"
	}
	switch v.Type {
	case NameMismatch:
		return fmt.Sprintf("The name of the schema has changed (path '%s')", v.Path)
	case FixedSizeMismatch:
		return fmt.Sprintf("The size of FIXED type field at path '%s' in the %s schema does not match with the %s schema", v.Path, reader, writer)
	case MissingEnumSymbols:
		return fmt.Sprintf("The %s schema is missing enum symbols '%s' at path '%s' in the %s schema", reader, v.Message, v.Path, writer)
	case ReaderFieldMissingDefaultValue:
		return fmt.Sprintf("The field '%s' at path '%s' in the %s schema has no default value and is missing in the %s schema", v.Message, v.Path, reader, writer)
	case TypeMismatch:
		return fmt.Sprintf("The type (path '%s') of a field in the %s schema does not match with the %s schema", v.Path, reader, writer)
	case MissingUnionBranch:
		return fmt.Sprintf("The %s schema is missing a type inside a union field at path '%s' in the %s schema", reader, v.Path, writer)
	}
	return v.Incompatibility.String()
}
