package transforms

import (
	"strconv"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// deleteRecord is FilterTest/RouterTest.createDeleteRecord: topic
// "dummy<id>", header idh=<id>, a delete event of row {id, name}.
func deleteRecord(id int32) *connect.Record {
	row := connect.StructBuilder().Name("dummy.Value").Optional().Field("id", prim(connect.Int32)).Field("name", optPrim(connect.String)).MustBuild()
	env := connect.StructBuilder().Name("dummy.Envelope").Field("before", row).Field("after", row).Field("op", prim(connect.String)).MustBuild()
	return &connect.Record{Topic: "dummy" + strconv.Itoa(int(id)), ValueSchema: env,
		Value:   structOf(env, structOf(row, id, "myRecord"), nil, "d"),
		Headers: []connect.Header{{Key: "idh", Schema: prim(connect.Int32), Value: id}}}
}

// Cases from Debezium's FilterTest (debezium-scripting), with language=expr.
func TestScriptFilter(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]string
		in    *connect.Record
		keep  bool
	}{
		{"shouldProcessCondition/delete 2", map[string]string{"condition": "value.op != 'd' || value.before.id != 2"}, deleteRecord(2), false},
		{"shouldProcessCondition/delete 1", map[string]string{"condition": "value.op != 'd' || value.before.id != 2"}, deleteRecord(1), true},
		{"shouldProcessTopic/2", map[string]string{"condition": "topic == 'dummy1'"}, deleteRecord(2), false},
		{"shouldProcessTopic/1", map[string]string{"condition": "topic == 'dummy1'"}, deleteRecord(1), true},
		{"shouldProcessHeader/2", map[string]string{"condition": "header.idh.value == 1"}, deleteRecord(2), false},
		{"shouldProcessHeader/1", map[string]string{"condition": "header.idh.value == 1"}, deleteRecord(1), true},
		{"shouldApplyTopicRegex/matching", map[string]string{"topic.regex": "dum.*", "condition": "value.op != 'd' || value.before.id != 2"}, deleteRecord(2), false},
		{"shouldApplyTopicRegex/not matching", map[string]string{"topic.regex": "other.*", "condition": "value.op != 'd' || value.before.id != 2"}, deleteRecord(2), true},
		{"shouldKeepNulls", map[string]string{"condition": "value.op != 'd' || value.before.id != 2"}, &connect.Record{Topic: "dummy"}, true},
		{"shouldDropNulls", map[string]string{"condition": "value.op != 'd' || value.before.id != 2", "null.handling.mode": "drop"}, &connect.Record{Topic: "dummy"}, false},
		{"shouldEvaluateNulls", map[string]string{"condition": "value == nil", "null.handling.mode": "evaluate"}, &connect.Record{Topic: "dummy"}, true},
		{"shouldRunJavaScriptWithHeaderAndTopic (expr)", map[string]string{"condition": "header.idh.value == 1 && topic startsWith 'dummy'"}, deleteRecord(1), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"language": "expr"}
			for k, v := range c.props {
				props[k] = v
			}
			out := apply(t, newT(t, ScriptFilterClass, props), c.in)
			if (out != nil) != c.keep || (out != nil && out != c.in) {
				t.Errorf("kept = %v, want %v", out != nil, c.keep)
			}
		})
	}
}

// Cases from Debezium's RouterTest.
func TestContentBasedRouter(t *testing.T) {
	route := "value == nil ? 'nulls' : (value.before.id == 1 ? 'ones' : nil)"
	tr := newT(t, ContentBasedRouterClass, map[string]string{"language": "expr", "topic.expression": route})
	if got := apply(t, tr, deleteRecord(1)).Topic; got != "ones" {
		t.Errorf("shouldRoute: %q", got)
	}
	if got := apply(t, tr, deleteRecord(2)).Topic; got != "dummy2" {
		t.Errorf("shouldRoute (nil keeps the topic): %q", got)
	}
	in := &connect.Record{Topic: "dummy"}
	if got := apply(t, tr, in); got != in {
		t.Error("shouldKeepNulls")
	}
	tr = newT(t, ContentBasedRouterClass, map[string]string{"language": "expr", "topic.expression": route, "null.handling.mode": "drop"})
	if got := apply(t, tr, &connect.Record{Topic: "dummy"}); got != nil {
		t.Error("shouldDropNulls")
	}
	tr = newT(t, ContentBasedRouterClass, map[string]string{"language": "expr", "topic.expression": route, "null.handling.mode": "evaluate"})
	if got := apply(t, tr, &connect.Record{Topic: "dummy"}).Topic; got != "nulls" {
		t.Errorf("shouldEvaluateNulls: %q", got)
	}
	tr = newT(t, ContentBasedRouterClass, map[string]string{"language": "expr", "topic.expression": route, "topic.regex": "dummy.*"})
	cust := deleteRecord(1)
	cust.Topic = "customer"
	if got := apply(t, tr, cust).Topic; got != "customer" {
		t.Errorf("shouldApplyTopicRegex (non-matching): %q", got)
	}
	tr = newT(t, ContentBasedRouterClass, map[string]string{"language": "expr", "topic.expression": "1"})
	_, err := tr.Apply(deleteRecord(1))
	checkErr(t, err, `topic.expression "1" returned int, not a string`)
}

// A JSR 223 language is refused with the expr translation of the
// expression (FilterTest.testLanguageRequired/testExpressionRequired and
// the forms in Debezium's documentation).
func TestScriptLanguageRejected(t *testing.T) {
	cases := []struct {
		lang, condition, want string
	}{
		{"jsr223.groovy", "value.op == 'd'", "set language=expr and condition=value.op == 'd'"},
		{"jsr223.groovy", "value.after.status == 'x'", "condition=value.after.status == 'x'"},
		{"jsr223.graal.js", "value.op === 'u' && topic.startsWith('db.')", "condition=value.op == 'u' && topic startsWith 'db.'"},
		{"jsr223.groovy", "value.getStruct('after').getString('status').equals('x')", "condition=value.after.status == 'x'"},
		{"jsr223.groovy", "topic == 'dummy1'", "condition=topic == 'dummy1'"},
		{"jsr223.groovy", "value.after != null", "condition=value.after != nil"},
		{"jsr223.groovy", "(new groovy.json.JsonSlurper()).parseText(value.after)", "rewrite condition in expr syntax"},
	}
	for _, c := range cases {
		_, err := newTErr(ScriptFilterClass, map[string]string{"language": c.lang, "condition": c.condition})
		checkErr(t, err, c.want)
		checkErr(t, err, "language: Invalid value "+c.lang)
	}
	for _, c := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"condition": "true"}, `Missing required configuration "language"`},
		{map[string]string{"language": "expr"}, `Missing required configuration "condition"`},
		{map[string]string{"language": "expr", "condition": "value.op != 'd"}, "condition: Invalid value value.op != 'd for configuration condition: Failed to parse expression"},
		{map[string]string{"language": "expr", "condition": "true", "null.handling.mode": "x"}, "Value must be one of keep, drop, evaluate"},
	} {
		_, err := newTErr(ScriptFilterClass, c.props)
		checkErr(t, err, c.want)
	}
}
