package runtime_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	jdbcsource "github.com/tributary-io/tributary/connectors/jdbc"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/runtime"
	jdbcsink "github.com/tributary-io/tributary/sinks/jdbc"
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

// TestConnectPropertyCoverage does the same for the Debezium JDBC sink's
// documented properties and the config definitions of Kafka Connect's
// worker and connectors and of Confluent's JDBC source and sink
// (testdata/coverage/connect-properties.tsv, each row with the upstream
// commit it was read from). The rows were extracted from the first
// argument of every ConfigDef.define call of the classes named in the
// file's header (constants resolved across the upstream sources), and
// from the [[jdbc-property-*]] anchors of Debezium's jdbc.adoc.
func TestConnectPropertyCoverage(t *testing.T) {
	defs := map[string]*config.Def{
		"debezium-jdbc-sink":    runtime.ConnectorDef(connect.SinkPlugin).Merge(jdbcsink.Plugin().Config()),
		"confluent-jdbc-sink":   runtime.ConnectorDef(connect.SinkPlugin).Merge(jdbcsink.ConfluentPlugin().Config()),
		"confluent-jdbc-source": runtime.ConnectorDef(connect.SourcePlugin).Merge(jdbcsource.Plugin().Config()),
		"source-connector":      runtime.ConnectorDef(connect.SourcePlugin),
		"sink-connector":        runtime.ConnectorDef(connect.SinkPlugin),
	}
	f, err := os.Open("../../testdata/coverage/connect-properties.tsv")
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
		if cols[0] == "worker" {
			continue // the worker's definition is the command's: cli TestWorkerPropertyCoverage
		}
		def, ok := defs[cols[0]]
		if !ok {
			t.Fatalf("unknown component %q", cols[0])
		}
		counts[cols[0]]++
		if !def.Knows(cols[1]) {
			t.Errorf("%s: %s (defined in %s) is neither implemented nor refused with a reason", cols[0], cols[1], cols[2])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for c := range defs {
		if counts[c] < 15 {
			t.Errorf("%s: only %d upstream properties in the matrix; the extraction lost them", c, counts[c])
		}
	}
}
