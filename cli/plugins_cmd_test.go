package cli

import (
	"bytes"
	"strings"
	"testing"
)

// tributary plugins lists the transforms and predicates under the Java
// class names a connector configuration uses.
func TestPluginsListsTransformsAndPredicates(t *testing.T) {
	cmd := newPluginsCmd(builtin())
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"source io.debezium.connector.postgresql.PostgresConnector (aliases: postgres, postgresql, PostgresConnector)",
		"transform org.apache.kafka.connect.transforms.RegexRouter",
		"transform org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transform io.debezium.transforms.outbox.EventRouter",
		"transform io.debezium.transforms.ExtractNewRecordState",
		"predicate org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
	} {
		if !strings.Contains(out.String(), want+"\n") {
			t.Errorf("plugins output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "transform unwrap\n") || strings.Contains(out.String(), "transform RegexRouter\n") {
		t.Errorf("plugins lists short aliases as classes:\n%s", out.String())
	}
}
