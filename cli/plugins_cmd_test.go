package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
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

// A custom binary's transforms and predicates are listed with the
// built-in ones, and one under a built-in name replaces it.
func TestPluginsListsExtensions(t *testing.T) {
	never := func(map[string]string) (connect.Predicate, error) { return nil, errors.New("unused") }
	keep := func(map[string]string) (connect.Transform, error) { return nil, errors.New("unused") }
	g := &globalFlags{ext: Extensions{
		Transforms: map[string]connect.TransformFactory{"com.example.Upper": keep},
		Predicates: map[string]connect.PredicateFactory{
			"com.example.Never": never,
			// A predicate replacing a built-in transform class.
			"org.apache.kafka.connect.transforms.Filter": never,
		},
	}}
	cmd := newPluginsCmd(g)
	var out bytes.Buffer
	cmd.SetOut(&out)
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"transform com.example.Upper\n", "predicate com.example.Never\n", "predicate org.apache.kafka.connect.transforms.Filter\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plugins output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "transform org.apache.kafka.connect.transforms.Filter\n") {
		t.Errorf("the replaced transform is still listed:\n%s", out.String())
	}
}
