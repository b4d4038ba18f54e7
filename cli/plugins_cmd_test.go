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

// rot13 is a converter written against the SDK only, as a custom
// binary's would be.
type rot13 struct{}

func (rot13) FromConnect(_ string, _ *connect.Schema, v any) ([]byte, error) {
	return []byte(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return 'a' + (r-'a'+13)%26
		}
		return r
	}, v.(string))), nil
}

func (rot13) ToConnect(_ string, data []byte) (*connect.Schema, any, error) {
	return connect.Prim(connect.String), string(data), nil
}

// A custom binary's converter classes are built by key.converter and
// value.converter, and their errors come back as they were.
func TestExtensionConverters(t *testing.T) {
	g := &globalFlags{ext: Extensions{Converters: map[string]connect.ConverterFactory{
		"com.example.Rot13": func(props map[string]string, isKey bool) (connect.Converter, error) {
			if props["strict"] == "maybe" {
				return nil, errors.New("strict: must be true or false")
			}
			return rot13{}, nil
		},
	}}}
	c, err := g.converters().New("com.example.Rot13", map[string]string{}, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.FromConnect("t", connect.Prim(connect.String), "hello")
	if err != nil || string(b) != "uryyb" {
		t.Fatalf("FromConnect = %q, %v", b, err)
	}
	if _, err := g.converters().New("com.example.Rot13", map[string]string{"strict": "maybe"}, true); err == nil || !strings.Contains(err.Error(), "strict: must be true or false") {
		t.Fatalf("error %v", err)
	}
}
