package transforms

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// buildChain parses props as a connector's and builds its chain.
func buildChain(t *testing.T, props map[string]string) (Chain, error) {
	t.Helper()
	vals, err := Def().Parse(props)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return Builtin(nil).Build(vals)
}

func headers(keys ...string) []connect.Header {
	var hs []connect.Header
	for _, k := range keys {
		hs = append(hs, connect.Header{Key: k})
	}
	return hs
}

// Cases from HasHeaderKeyTest and TopicNameMatchesTest
// (connect/transforms/src/test/java/org/apache/kafka/connect/transforms/predicates).
func TestPredicateConfig(t *testing.T) {
	cases := []struct {
		name, class string
		props       map[string]string
		wantErr     string
	}{
		{"HasHeaderKeyTest.testNameRequiredInConfig", HasHeaderKeyClass, nil, `Missing required configuration "name"`},
		{"HasHeaderKeyTest.testNameMayNotBeEmptyInConfig", HasHeaderKeyClass, map[string]string{"name": ""}, "Invalid value  for configuration name: String must be non-empty"},
		{"HasHeaderKeyTest.testConfig", HasHeaderKeyClass, map[string]string{"name": "foo"}, ""},
		{"TopicNameMatchesTest.testPatternRequiredInConfig", TopicNameMatchesClass, nil, `Missing required configuration "pattern"`},
		{"TopicNameMatchesTest.testPatternMayNotBeEmptyInConfig", TopicNameMatchesClass, map[string]string{"pattern": ""}, "String must be non-empty"},
		{"TopicNameMatchesTest.testPatternIsValidRegexInConfig", TopicNameMatchesClass, map[string]string{"pattern": "["}, "Invalid regex"},
		{"TopicNameMatchesTest.testConfig", TopicNameMatchesClass, map[string]string{"pattern": "*"}, "Invalid regex"},
		{"TopicNameMatchesTest.testConfig/valid", TopicNameMatchesClass, map[string]string{"pattern": "my-prefix-.*"}, ""},
		{"RecordIsTombstone takes no properties", RecordIsTombstoneClass, map[string]string{"pattern": "x"}, "pattern: unknown property"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"type": c.class}
			for k, v := range c.props {
				props[k] = v
			}
			_, err := builtinPredicates()[c.class](props)
			checkErr(t, err, c.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("expected an error containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

func TestPredicateTest(t *testing.T) {
	hhk, _ := newHasHeaderKey(map[string]string{"name": "foo"})
	tnm, _ := newTopicNameMatches(map[string]string{"pattern": "my-prefix-.*"})
	tomb, _ := newRecordIsTombstone(nil)
	cases := []struct {
		name string
		p    Predicate
		rec  *connect.Record
		want bool
	}{
		// HasHeaderKeyTest.testTest
		{"foo", hhk, &connect.Record{Headers: headers("foo")}, true},
		{"foo,bar", hhk, &connect.Record{Headers: headers("foo", "bar")}, true},
		{"bar,foo,bar,foo", hhk, &connect.Record{Headers: headers("bar", "foo", "bar", "foo")}, true},
		{"bar", hhk, &connect.Record{Headers: headers("bar")}, false},
		{"bar,bar", hhk, &connect.Record{Headers: headers("bar", "bar")}, false},
		{"none", hhk, &connect.Record{}, false},
		// TopicNameMatchesTest.testTest
		{"my-prefix-", tnm, &connect.Record{Topic: "my-prefix-"}, true},
		{"my-prefix-foo", tnm, &connect.Record{Topic: "my-prefix-foo"}, true},
		{"x-my-prefix-", tnm, &connect.Record{Topic: "x-my-prefix-"}, false},
		{"null topic", tnm, &connect.Record{}, false},
		// RecordIsTombstone (Kafka has no test of its own): value null
		{"tombstone", tomb, &connect.Record{Key: "k"}, true},
		{"not tombstone", tomb, &connect.Record{Value: "v"}, false},
	}
	for _, c := range cases {
		if got := c.p.Test(c.rec); got != c.want {
			t.Errorf("%s: Test = %v, want %v", c.name, got, c.want)
		}
	}
}

// Cases from ConnectorConfigTest (connect/runtime/src/test/java/org/apache/
// kafka/connect/runtime/ConnectorConfigTest.java), with InsertField$Value
// standing in for its SimpleTransformation and HasHeaderKey for its
// TestPredicate.
func TestBuildPredicates(t *testing.T) {
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{
			"transforms":              "a",
			"transforms.a.type":       kafkaPkg + "Filter",
			"predicates":              "my-pred",
			"predicates.my-pred.type": HasHeaderKeyClass,
			"predicates.my-pred.name": "drop-me",
			"transforms.a.predicate":  "my-pred",
		}
		for k, v := range extra {
			if v == "<unset>" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	withHeader := &connect.Record{Topic: "t", Value: "v", Headers: headers("drop-me")}
	without := &connect.Record{Topic: "t", Value: "v"}
	cases := []struct {
		name        string
		props       map[string]string
		wantErr     string
		dropWith    bool
		dropWithout bool
	}{
		{"singleConditionalTransform (negate=true)", base(map[string]string{"transforms.a.negate": "true"}), "", false, true},
		{"predicateNegationDefaultsToFalse", base(nil), "", true, false},
		{"missingPredicateAliasProperty", base(map[string]string{"predicates": "<unset>"}), "", true, false},
		{"missingPredicateConfig", base(map[string]string{"predicates.my-pred.type": "<unset>", "predicates.my-pred.name": "<unset>"}),
			"predicates.my-pred.type: Invalid value null for configuration predicates.my-pred.type: Not a Predicate", false, false},
		{"misconfiguredPredicate", base(map[string]string{"predicates.my-pred.name": ""}),
			"predicates.my-pred.name: Invalid value  for configuration name: String must be non-empty", false, false},
		{"wrongPredicateType", base(map[string]string{"predicates.my-pred.type": "org.example.Nope"}),
			"predicates.my-pred.type: Invalid value org.example.Nope for configuration predicates.my-pred.type: Class org.example.Nope could not be found.", false, false},
		{"negatedButNoPredicate", base(map[string]string{"transforms.a.predicate": "<unset>", "transforms.a.negate": "true"}),
			"there is no config 'transforms.a.predicate' defining a predicate to be negated", false, false},
		{"unknown predicate referenced", base(map[string]string{"transforms.a.predicate": "other"}),
			`transforms.a.predicate: Invalid value other for configuration transforms.a.predicate: unknown predicate "other"`, false, false},
		{"bad negate", base(map[string]string{"transforms.a.negate": "yes"}),
			"transforms.a.negate: Invalid value yes for configuration transforms.a.negate: Expected value to be either true or false", false, false},
		{"duplicate transform alias", base(map[string]string{"transforms": "a,a"}), "transforms: Invalid value a,a for configuration transforms: Duplicate alias provided.", false, false},
		{"duplicate predicate alias", base(map[string]string{"predicates": "my-pred, my-pred"}), "Duplicate alias provided.", false, false},
		{"danglingTransformAlias", base(map[string]string{"transforms": "a,dangler"}), "transforms.dangler.type: Invalid value null for configuration transforms.dangler.type: Not a Transformation", false, false},
		{"wrongTransformationType", base(map[string]string{"transforms.a.type": "uninstantiable"}), "Class uninstantiable could not be found", false, false},
		{"predicate class as a transform", base(map[string]string{"transforms.a.type": "HasHeaderKey"}),
			"transforms.a.type: Invalid value HasHeaderKey for configuration transforms.a.type: Not a Transformation", false, false},
		{"transform class as a predicate", base(map[string]string{"predicates.my-pred.type": "Filter"}),
			"predicates.my-pred.type: Invalid value Filter for configuration predicates.my-pred.type: Not a Predicate", false, false},
		{"simple-name alias", base(map[string]string{"transforms.a.type": "Filter", "predicates.my-pred.type": "HasHeaderKey"}), "", true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			chain, err := buildChain(t, c.props)
			checkErr(t, err, c.wantErr)
			if err != nil {
				return
			}
			for _, r := range []struct {
				rec  *connect.Record
				drop bool
			}{{withHeader, c.dropWith}, {without, c.dropWithout}} {
				out, err := chain.Apply(r.rec)
				if err != nil {
					t.Fatal(err)
				}
				if (out == nil) != r.drop {
					t.Errorf("headers %v: dropped = %v, want %v", r.rec.Headers, out == nil, r.drop)
				}
			}
		})
	}
}

// Transform properties that fail are reported in full, with the alias.
func TestBuildNamesAliasAndProperty(t *testing.T) {
	_, err := buildChain(t, map[string]string{"transforms": "f", "transforms.f.type": kafkaPkg + "Filter", "transforms.f.nope": "1"})
	checkErr(t, err, "transforms.f.nope: unknown property")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Property != "transforms.f.nope" {
		t.Errorf("error %v is not a ConfigError for transforms.f.nope", err)
	}
}

// Every class is registered under its Java name and its simple name.
func TestRegistryNames(t *testing.T) {
	r := Builtin(nil)
	classes := r.Classes()
	if len(classes) != 38 {
		t.Fatalf("only %d classes: %v", len(classes), classes)
	}
	for _, c := range classes {
		simple := c[strings.LastIndexByte(c, '.')+1:]
		if _, ok := r[simple]; !ok {
			t.Errorf("%s: no simple name %s", c, simple)
		}
	}
	// "Filter" is Kafka's, as Kafka Connect resolves the ambiguous alias.
	if _, err := r["Filter"].Transform(map[string]string{"type": "Filter"}); err != nil {
		t.Errorf("Filter alias: %v", err)
	}
}

// topicIs is a predicate written against the SDK only, as a custom
// binary's would be.
type topicIs string

func (p topicIs) Test(rec *connect.Record) bool { return rec.Topic == string(p) }

// Classes a custom binary adds (cli.Extensions) are built like the
// built-in ones, and replace a built-in class of the same name.
func TestRegistryExtension(t *testing.T) {
	r := Builtin(nil)
	r["com.example.TopicIs"] = Class{Predicate: func(props map[string]string) (connect.Predicate, error) {
		topic, ok := props["topic"]
		if !ok {
			return nil, &ConfigError{Property: "topic", Message: "Missing required configuration \"topic\""}
		}
		return topicIs(topic), nil
	}}
	r["Filter"] = Class{Transform: func(map[string]string) (connect.Transform, error) {
		return nil, errors.New("the replacement was built")
	}}
	vals := func(props map[string]string) *config.Values {
		t.Helper()
		v, err := Def().Parse(props)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	chain, err := r.Build(vals(map[string]string{
		"transforms": "drop", "transforms.drop.type": kafkaPkg + "Filter", "transforms.drop.predicate": "isA",
		"predicates": "isA", "predicates.isA.type": "com.example.TopicIs", "predicates.isA.topic": "a",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for topic, wantDropped := range map[string]bool{"a": true, "b": false} {
		out, err := chain.Apply(&connect.Record{Topic: topic})
		if err != nil {
			t.Fatal(err)
		}
		if (out == nil) != wantDropped {
			t.Errorf("topic %s: dropped = %v, want %v", topic, out == nil, wantDropped)
		}
	}
	_, err = r.Build(vals(map[string]string{"predicates": "isA", "predicates.isA.type": "com.example.TopicIs"}))
	checkErr(t, err, `predicates.isA.topic: Missing required configuration "topic"`)
	_, err = r.Build(vals(map[string]string{"transforms": "f", "transforms.f.type": "Filter"}))
	checkErr(t, err, "transforms.f: the replacement was built")
	if got := r.PredicateClasses(); !slices.Contains(got, "com.example.TopicIs") || !slices.Contains(got, HasHeaderKeyClass) || slices.Contains(got, kafkaPkg+"Filter") {
		t.Errorf("PredicateClasses = %v", got)
	}
}
