package transforms

import (
	"strings"
	"testing"
)

// TestClassDocs: every built-in class describes itself (its factory hands
// out the definitions it parses with), has a description, and so has each
// of its properties; classDocs names no class or property that is gone.
func TestClassDocs(t *testing.T) {
	ref := Builtin(nil).Reference()
	seen := map[string]map[string]bool{}
	for _, cd := range ref {
		seen[cd.Class] = map[string]bool{"": true}
		if !cd.Described {
			t.Errorf("%s: its factory does not return its property definitions (parseProps or a describeKey check)", cd.Class)
		}
		if strings.TrimSpace(cd.Doc) == "" {
			t.Errorf("%s has no description in classDocs", cd.Class)
		}
		for _, k := range cd.Keys {
			seen[cd.Class][k.Name] = true
			if strings.TrimSpace(k.Doc) == "" {
				t.Errorf("%s property %s has no description", cd.Class, k.Name)
			}
		}
	}
	for class, props := range classDocs {
		if seen[class] == nil {
			t.Errorf("classDocs describes %s, which is not a built-in class", class)
			continue
		}
		for p := range props {
			if !seen[class][p] {
				t.Errorf("classDocs describes %s property %s, which the class does not parse (or defines with its own Doc)", class, p)
			}
		}
	}
}

// TestClassKeysAreWhatFactoriesParse: the reference's property list is the
// list the factory parses with — a property outside it is refused, one in
// it is not refused as unknown.
func TestClassKeysAreWhatFactoriesParse(t *testing.T) {
	r := Builtin(nil)
	for _, cd := range r.Reference() {
		class := cd.Class
		if len(cd.Variants) > 0 {
			class = cd.Variants[0]
		}
		cl := r[class]
		build := func(props map[string]string) error {
			if cl.Transform != nil {
				_, err := cl.Transform(props)
				return err
			}
			_, err := cl.Predicate(props)
			return err
		}
		if err := build(map[string]string{"zzzzzzzzzzzzzzzz.qqqqqqqqqq": "x"}); err == nil || !strings.Contains(err.Error(), "unknown property") {
			t.Errorf("%s: an undefined property was not refused as unknown: %v", class, err)
		}
		for _, k := range cd.Keys {
			if err := build(map[string]string{k.Name: "x"}); err != nil && strings.Contains(err.Error(), k.Name+": unknown property") {
				t.Errorf("%s: documented property %s is unknown to the factory: %v", class, k.Name, err)
			}
		}
	}
}
