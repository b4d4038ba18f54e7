package transforms

import (
	"regexp"

	"github.com/tributary-io/tributary/connect"
)

// Predicate and PredicateFactory are the SDK's (connect.Predicate).
type (
	Predicate        = connect.Predicate
	PredicateFactory = connect.PredicateFactory
)

// Kafka's predicate classes. Kafka Connect also accepts a plugin's simple
// class name as an alias.
const (
	TopicNameMatchesClass  = "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
	HasHeaderKeyClass      = "org.apache.kafka.connect.transforms.predicates.HasHeaderKey"
	RecordIsTombstoneClass = "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone"
)

// builtinPredicates are Kafka's predicates by class name.
func builtinPredicates() map[string]PredicateFactory {
	return map[string]PredicateFactory{
		TopicNameMatchesClass:  newTopicNameMatches,
		HasHeaderKeyClass:      newHasHeaderKey,
		RecordIsTombstoneClass: newRecordIsTombstone,
	}
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
