package transforms

import (
	"regexp"
	"sort"

	"github.com/tributary-io/tributary/connect"
)

// Predicate decides whether a transform applies to a record (Kafka
// Connect's org.apache.kafka.connect.transforms.predicates.Predicate).
type Predicate interface {
	Test(rec *connect.Record) bool
}

// PredicateFactory builds a predicate from its properties (with the
// "predicates.<alias>." prefix removed, "type" included).
type PredicateFactory func(props map[string]string) (Predicate, error)

// Kafka's predicate classes. Kafka Connect also accepts a plugin's simple
// class name as an alias.
const (
	TopicNameMatchesClass  = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
	HasHeaderKeyClass      = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey"
	RecordIsTombstoneClass = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"
)

var builtinPredicates = map[string]PredicateFactory{
	TopicNameMatchesClass:  newTopicNameMatches,
	"TopicNameMatches":     newTopicNameMatches,
	HasHeaderKeyClass:      newHasHeaderKey,
	"HasHeaderKey":         newHasHeaderKey,
	RecordIsTombstoneClass: newRecordIsTombstone,
	"RecordIsTombstone":    newRecordIsTombstone,
}

// PredicateClasses lists the predicate classes by full Java name, for
// "tributary plugins".
func PredicateClasses() []string {
	return []string{HasHeaderKeyClass, RecordIsTombstoneClass, TopicNameMatchesClass}
}

func predicateClassNames() []string {
	out := make([]string, 0, len(builtinPredicates))
	for n := range builtinPredicates {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// TopicNameMatches is true for records whose whole topic name matches
// "pattern" (Java's Matcher.matches, not find).
type TopicNameMatches struct{ re *regexp.Regexp }

func newTopicNameMatches(props map[string]string) (Predicate, error) {
	s, err := parseProps([]prop{reqStr("pattern").with(func(v string) string {
		if m := nonEmptyString(v); m != "" {
			return m
		}
		return regexCheck(v)
	})}, props)
	if err != nil {
		return nil, err
	}
	re, _ := compileWhole(s.str("pattern"))
	return &TopicNameMatches{re: re}, nil
}

// Test implements Predicate.
func (p *TopicNameMatches) Test(rec *connect.Record) bool {
	return rec.Topic != "" && p.re.MatchString(rec.Topic)
}

// HasHeaderKey is true for records with at least one header called "name".
type HasHeaderKey struct{ name string }

func newHasHeaderKey(props map[string]string) (Predicate, error) {
	s, err := parseProps([]prop{reqStr("name").with(nonEmptyString)}, props)
	if err != nil {
		return nil, err
	}
	return &HasHeaderKey{name: s.str("name")}, nil
}

// Test implements Predicate.
func (p *HasHeaderKey) Test(rec *connect.Record) bool {
	for _, h := range rec.Headers {
		if h.Key == p.name {
			return true
		}
	}
	return false
}

// RecordIsTombstone is true for records with a null value.
type RecordIsTombstone struct{}

func newRecordIsTombstone(props map[string]string) (Predicate, error) {
	if _, err := parseProps(nil, props); err != nil {
		return nil, err
	}
	return RecordIsTombstone{}, nil
}

// Test implements Predicate.
func (RecordIsTombstone) Test(rec *connect.Record) bool { return rec.Value == nil }
