package kafka

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite the generated part of docs/kafka-clients.md")

const (
	docBegin = "<!-- BEGIN GENERATED: client properties (go test ./internal/kafka -run TestClientPropsDoc -update-docs) -->"
	docEnd   = "<!-- END GENERATED -->"
)

// TestClientPropsDoc keeps the property table of docs/kafka-clients.md in
// step with clientProps.
func TestClientPropsDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "kafka-clients.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, docBegin), strings.Index(s, docEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: generated section markers missing", path)
	}
	want := s[:i+len(docBegin)] + "\n" + clientPropsTable() + s[j:]
	if want == s {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is stale: run go test ./internal/kafka -run TestClientPropsDoc -update-docs", path)
}

func clientPropsTable() string {
	names := make([]string, 0, len(clientProps))
	for k := range clientProps {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("| property | clients | Tributary |\n|---|---|---|\n")
	for _, n := range names {
		p := clientProps[n]
		what := "applied"
		if p.refuse != "" {
			what = "refused: " + p.refuse
		} else if note := clientPropNotes[n]; note != "" {
			what = note
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", n, p.roles, strings.ReplaceAll(what, "|", "\\|"))
	}
	return b.String()
}
