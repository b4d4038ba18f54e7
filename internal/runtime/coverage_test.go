package runtime_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/connect"
	"github.com/tributary-io/tributary/internal/runtime"
)

// TestDebeziumPropertyCoverage reads the properties Debezium documents for
// each connector (testdata/coverage/debezium-properties.tsv, generated
// from Debezium's documentation with the commit recorded) and fails for
// each one Tributary neither defines (implemented, or refused at validate
// time by its definition with the reason) nor refuses as renamed.
func TestDebeziumPropertyCoverage(t *testing.T) {
	plugins := map[string]*connect.Plugin{"postgres": postgres.Plugin(), "mysql": mysql.Plugin(), "mariadb": mysql.MariaDBPlugin()}
	f, err := os.Open("../../testdata/coverage/debezium-properties.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("malformed line %q", line)
		}
		p, ok := plugins[cols[0]]
		if !ok {
			t.Fatalf("unknown connector %q", cols[0])
		}
		counts[cols[0]]++
		def := runtime.ConnectorDef(p.Type).Merge(p.Config())
		if !def.Knows(cols[1]) {
			t.Errorf("%s: %s (documented in %s) is neither implemented nor refused with a reason", cols[0], cols[1], cols[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for c := range plugins {
		if counts[c] < 50 {
			t.Errorf("%s: only %d documented properties in the matrix; the generator lost the tables", c, counts[c])
		}
	}
}
