package jsonschema

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/schema/compat"
)

// Violation is an incompatible change between the candidate and one of
// the earlier versions.
type Violation struct {
	// Previous indexes the previous slice given to CheckLevel.
	Previous  int
	Direction compat.Direction
	Difference
}

// CheckLevel applies a Confluent compatibility level to JSON Schemas, as
// Confluent's JsonSchema.isBackwardCompatible does under its checker:
// backward compares the old schema to the new one, forward the new to the
// old; non-transitive levels look only at the last of previous (oldest
// first). Violations come newest version first.
func CheckLevel(level compat.Level, candidate *Schema, previous []*Schema) ([]Violation, error) {
	if _, err := compat.ParseLevel(string(level)); err != nil {
		return nil, fmt.Errorf("compatibility level: %w", err)
	}
	if level == compat.None || len(previous) == 0 {
		return nil, nil
	}
	first := len(previous) - 1
	if level.Transitive() {
		first = 0
	}
	name := string(level)
	backward := strings.HasPrefix(name, "BACKWARD") || strings.HasPrefix(name, "FULL")
	forward := strings.HasPrefix(name, "FORWARD") || strings.HasPrefix(name, "FULL")
	var out []Violation
	for i := len(previous) - 1; i >= first; i-- {
		if backward {
			for _, d := range Incompatibilities(previous[i], candidate) {
				out = append(out, Violation{i, compat.NewReadsOld, d})
			}
		}
		if forward {
			for _, d := range Incompatibilities(candidate, previous[i]) {
				out = append(out, Violation{i, compat.OldReadsNew, d})
			}
		}
	}
	return out, nil
}
