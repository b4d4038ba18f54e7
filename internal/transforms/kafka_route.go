package transforms

import (
	"regexp"
	"strings"

	"github.com/tributary-io/tributary/internal/connect"
)

// RegexRouter is org.apache.kafka.connect.transforms.RegexRouter: when the
// whole topic matches "regex", it becomes Matcher.replaceFirst(replacement).
type RegexRouter struct {
	re   *regexp.Regexp
	repl javaReplacement
}

func newRegexRouter(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqStr("regex").with(regexCheck), reqStr("replacement")}, props)
	if err != nil {
		return nil, err
	}
	re, _ := compileWhole(s.str("regex"))
	repl, err := parseJavaReplacement(s.str("replacement"), re)
	if err != nil {
		// Java fails only when a record matches; failing at start-up
		// names the property instead of stopping the task later.
		return nil, invalidValue("replacement", s.str("replacement"), err.Error())
	}
	return &RegexRouter{re: re, repl: repl}, nil
}

// Apply implements Transform.
func (t *RegexRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	if !t.re.MatchString(rec.Topic) {
		return rec, nil
	}
	cp := *rec
	cp.Topic = t.repl.replaceFirst(t.re, rec.Topic)
	return &cp, nil
}

// TimestampRouter is org.apache.kafka.connect.transforms.TimestampRouter:
// the topic becomes topic.format with ${topic} and ${timestamp} (the
// record timestamp in timestamp.format, UTC) substituted.
type TimestampRouter struct {
	topicFormat string
	tsFormat    *javaDateFormat
}

func newTimestampRouter(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{
		defStr("topic.format", "${topic}-${timestamp}"),
		defStr("timestamp.format", "yyyyMMdd").with(func(v string) string {
			if _, err := parseJavaDateFormat(v); err != nil {
				return err.Error()
			}
			return ""
		}),
	}, props)
	if err != nil {
		return nil, err
	}
	f, _ := parseJavaDateFormat(s.str("timestamp.format"))
	return &TimestampRouter{topicFormat: s.str("topic.format"), tsFormat: f}, nil
}

// Apply implements Transform.
func (t *TimestampRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Timestamp.IsZero() {
		return nil, dataErrorf("Timestamp missing on record: topic %s", rec.Topic)
	}
	topic := strings.ReplaceAll(t.topicFormat, "${topic}", rec.Topic)
	topic = strings.ReplaceAll(topic, "${timestamp}", t.tsFormat.format(rec.Timestamp))
	cp := *rec
	cp.Topic = topic
	return &cp, nil
}
