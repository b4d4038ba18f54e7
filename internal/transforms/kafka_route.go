package transforms

import (
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tributary-io/tributary/connect"
)

// RegexRouter is org.apache.kafka.connect.transforms.RegexRouter: when the
// whole topic matches "regex", it becomes Matcher.replaceFirst(replacement).
type RegexRouter struct {
	re   *regexp.Regexp
	repl javaReplacement
	// routes caches the outcome per input topic: a connector writes few
	// topics, and matching the regex twice per record was a third of the
	// chain unwrap+RegexRouter+InsertField (BenchmarkChainUnwrapRouteInsert).
	// The map is never modified once published, so lookups take no lock
	// and allocate nothing; mu serialises the copy-on-write additions.
	routes atomic.Pointer[map[string]route]
	mu     sync.Mutex
}

// route is what RegexRouter makes of one topic.
type route struct {
	topic   string
	matched bool
}

// maxRoutes bounds the cache; topics past it (a route.by.field with
// unbounded values in EventRouter, say) are matched every time, as
// without the cache, rather than copying a full map per record.
const maxRoutes = 1024

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
	r := t.route(rec.Topic)
	if !r.matched {
		return rec, nil
	}
	cp := *rec
	cp.Topic = r.topic
	return &cp, nil
}

func (t *RegexRouter) route(topic string) route {
	if m := t.routes.Load(); m != nil {
		if r, ok := (*m)[topic]; ok {
			return r
		}
	}
	r := route{topic: topic}
	if t.re.MatchString(topic) {
		r = route{topic: t.repl.replaceFirst(t.re, topic), matched: true}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.routes.Load()
	if old != nil && len(*old) >= maxRoutes {
		return r
	}
	next := map[string]route{topic: r}
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	t.routes.Store(&next)
	return r
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
