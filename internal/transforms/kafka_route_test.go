package transforms

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Cases from RegexRouterTest.
func TestRegexRouter(t *testing.T) {
	cases := []struct {
		name, regex, replacement, topic, want string
	}{
		{"staticReplacement", "foo", "bar", "foo", "bar"},
		{"doesntMatch", "foo", "bar", "orig", "orig"},
		{"identity", "(.*)", "$1", "orig", "orig"},
		{"addPrefix", "(.*)", "prefix-$1", "orig", "prefix-orig"},
		{"addSuffix", "(.*)", "$1-suffix", "orig", "orig-suffix"},
		{"slice", `(.*)-(\d\d\d\d\d\d\d\d)`, "$1", "index-20160117", "index"},
		// Java's group references, which Go's Expand reads differently.
		{"group followed by letters", "(.*)", "$1x", "orig", "origx"},
		{"group followed by digits beyond the group count", "(.*)", "$12", "orig", "orig2"},
		{"named group", "(?P<t>.*)", "${t}-x", "orig", "orig-x"},
		{"escaped dollar", "(.*)", `\$1`, "orig", "$1"},
		{"partial match does not route (matches(), not find())", "foo", "bar", "foofoo", "foofoo"},
		{"debezium topic", `([^.]+)\.([^.]+)\.([^.]+)`, "$3", "dbserver1.inventory.customers", "customers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newT(t, "org.apache.kafka.connect.transforms.RegexRouter", map[string]string{"regex": c.regex, "replacement": c.replacement})
			in := &connect.Record{Topic: c.topic}
			if got := apply(t, tr, in).Topic; got != c.want {
				t.Errorf("topic = %q, want %q", got, c.want)
			}
			if in.Topic != c.topic {
				t.Errorf("input record modified")
			}
		})
	}
}

func TestRegexRouterConfig(t *testing.T) {
	cases := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"replacement": "x"}, `regex: Missing required configuration "regex" which has no default value.`},
		{map[string]string{"regex": "x"}, `replacement: Missing required configuration "replacement" which has no default value.`},
		{map[string]string{"regex": "(", "replacement": "x"}, "regex: Invalid value ( for configuration regex: Invalid regex: "},
		{map[string]string{"regex": "(.*)", "replacement": "$2"}, "replacement: Invalid value $2 for configuration replacement: No group 2"},
		{map[string]string{"regex": "(.*)", "replacement": "${nope}"}, "No group with name {nope}"},
		{map[string]string{"regex": "(.*)", "replacement": "x", "replacment": "y"}, `replacment: unknown property (did you mean "replacement"?)`},
	}
	for _, c := range cases {
		_, err := newTErr("RegexRouter", c.props)
		checkErr(t, err, c.want)
	}
	// Through Build the alias and the full property name are given.
	_, err := buildChain(t, map[string]string{"transforms": "route", "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.route.regex": "[", "transforms.route.replacement": "x"})
	checkErr(t, err, "transforms.route.regex: Invalid value [ for configuration regex: Invalid regex")
}

// Cases from TimestampRouterTest, plus formats SimpleDateFormat users write.
func TestTimestampRouter(t *testing.T) {
	ts := time.UnixMilli(1483425001864) // 2017-01-03T06:30:01.864Z
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"defaultConfiguration", nil, "test-20170103"},
		{"hourly", map[string]string{"timestamp.format": "yyyy-MM-dd'T'HH", "topic.format": "${timestamp}_${topic}"}, "2017-01-03T06_test"},
		{"names and millis", map[string]string{"timestamp.format": "EEE MMM d yy HH:mm:ss.SSS z", "topic.format": "${timestamp}"}, "Tue Jan 3 17 06:30:01.864 UTC"},
		{"quotes", map[string]string{"timestamp.format": "''yyyy''", "topic.format": "${topic}${timestamp}"}, "test'2017'"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newT(t, "TimestampRouter", c.props)
			if got := apply(t, tr, &connect.Record{Topic: "test", Timestamp: ts}).Topic; got != c.want {
				t.Errorf("topic = %q, want %q", got, c.want)
			}
		})
	}
	tr := newT(t, "TimestampRouter", nil)
	if _, err := tr.Apply(&connect.Record{Topic: "test"}); err == nil {
		t.Error("record without a timestamp: expected an error")
	}
	_, err := newTErr("TimestampRouter", map[string]string{"timestamp.format": "bad-format"})
	checkErr(t, err, "timestamp.format: Invalid value bad-format for configuration timestamp.format: Illegal pattern character 'b'")
}
