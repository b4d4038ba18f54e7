package transforms

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tributary-io/tributary/connect"
)

// Debezium's scripting transforms.
const (
	ContentBasedRouterClass = "io.debezium.transforms.ContentBasedRouter"
	ScriptFilterClass       = "io.debezium.transforms.Filter"
)

// ExprLanguage is the "language" value for Go expressions
// (github.com/expr-lang/expr): Debezium's JSR 223 engines (Groovy,
// JavaScript) need a JVM, so expressions are written in expr instead,
// over the same variables: value, key, valueSchema, keySchema, topic and
// header (header.<name>.value / .schema). Structs are maps of their
// fields, so value.after.status reads as in Groovy.
const ExprLanguage = "expr"

// scripted is the part of Debezium's ScriptingTransformation shared by
// Filter and ContentBasedRouter: topic.regex, null.handling.mode and the
// compiled expression.
type scripted struct {
	topicRe      *regexp.Regexp
	nullHandling string
	program      *vm.Program
	source       string
}

func newScripted(props map[string]string, exprProp string, filter bool) (*scripted, error) {
	s, err := parseProps([]prop{
		strProp("topic.regex").with(regexCheck),
		reqStr("language"),
		reqStr(exprProp),
		defStr("null.handling.mode", "keep").with(enumCheck("keep", "drop", "evaluate")),
	}, props)
	if err != nil {
		return nil, err
	}
	lang := strings.TrimSpace(s.str("language"))
	src := s.str(exprProp)
	if !strings.EqualFold(lang, ExprLanguage) {
		msg := fmt.Sprintf("language %q needs a JVM scripting engine; Tributary evaluates Go expressions (github.com/expr-lang/expr): set language=%s", lang, ExprLanguage)
		if tr, ok := translateScript(src); ok {
			msg += fmt.Sprintf(" and %s=%s", exprProp, tr)
		} else {
			msg += fmt.Sprintf(" and rewrite %s in expr syntax (value.after.status == 'x', topic startsWith 'db.', value.op in ['c', 'u'])", exprProp)
		}
		return nil, invalidValue("language", lang, msg)
	}
	opts := []expr.Option{expr.AllowUndefinedVariables()}
	if filter {
		opts = append(opts, expr.AsBool())
	}
	program, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, invalidValue(exprProp, src, "Failed to parse expression: "+err.Error())
	}
	sc := &scripted{program: program, source: src, nullHandling: strings.ToLower(strings.TrimSpace(s.str("null.handling.mode")))}
	if !s.isNull("topic.regex") && s.str("topic.regex") != "" {
		sc.topicRe, _ = compileWhole(s.str("topic.regex"))
	}
	return sc, nil
}

// skip reports whether the record bypasses evaluation, and what becomes
// of it then.
func (s *scripted) skip(rec *connect.Record) (out *connect.Record, skipped bool) {
	if s.topicRe != nil && !s.topicRe.MatchString(rec.Topic) {
		return rec, true
	}
	if rec.Value == nil {
		switch s.nullHandling {
		case "keep":
			return rec, true
		case "drop":
			return nil, true
		}
	}
	return nil, false
}

func (s *scripted) eval(rec *connect.Record) (any, error) {
	headers := make(map[string]any, len(rec.Headers))
	for _, h := range rec.Headers {
		// As Debezium's RecordHeader: the last header of a name wins.
		headers[h.Key] = map[string]any{"schema": h.Schema, "value": exprValue(h.Value)}
	}
	env := map[string]any{
		"value":       exprValue(rec.Value),
		"key":         exprValue(rec.Key),
		"valueSchema": rec.ValueSchema,
		"keySchema":   rec.KeySchema,
		"topic":       rec.Topic,
		"header":      headers,
	}
	out, err := expr.Run(s.program, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %w", s.source, err)
	}
	return out, nil
}

// exprValue exposes Connect values to expressions: structs become maps of
// their fields (defaults applied, as Struct.get does), recursively.
func exprValue(v any) any {
	switch x := v.(type) {
	case *connect.StructValue:
		if x == nil {
			return nil
		}
		m := make(map[string]any, len(x.Values))
		for _, f := range x.Schema.Fields {
			m[f.Name] = exprValue(fieldValue(x, f, true))
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = exprValue(e)
		}
		return out
	case connect.MapValue:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[fmt.Sprint(e.Key)] = exprValue(e.Value)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = exprValue(e)
		}
		return m
	}
	return v
}

// ScriptFilter is io.debezium.transforms.Filter: records for which
// "condition" is true are kept, the others dropped.
type ScriptFilter struct{ s *scripted }

func newScriptFilter(props map[string]string) (Transform, error) {
	s, err := newScripted(props, "condition", true)
	if err != nil {
		return nil, err
	}
	return &ScriptFilter{s: s}, nil
}

// Apply implements Transform.
func (t *ScriptFilter) Apply(rec *connect.Record) (*connect.Record, error) {
	if out, skipped := t.s.skip(rec); skipped {
		return out, nil
	}
	v, err := t.s.eval(rec)
	if err != nil {
		return nil, err
	}
	if keep, _ := v.(bool); keep {
		return rec, nil
	}
	return nil, nil
}

// ContentBasedRouter is io.debezium.transforms.ContentBasedRouter: the
// record goes to the topic "topic.expression" evaluates to, or stays where
// it is when it evaluates to nil.
type ContentBasedRouter struct{ s *scripted }

func newContentBasedRouter(props map[string]string) (Transform, error) {
	s, err := newScripted(props, "topic.expression", false)
	if err != nil {
		return nil, err
	}
	return &ContentBasedRouter{s: s}, nil
}

// Apply implements Transform.
func (t *ContentBasedRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	if out, skipped := t.s.skip(rec); skipped {
		return out, nil
	}
	v, err := t.s.eval(rec)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return rec, nil
	}
	topic, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("topic.expression %q returned %T, not a string", t.s.source, v)
	}
	cp := *rec
	cp.Topic = topic
	return &cp, nil
}

// Groovy/JavaScript forms and their expr equivalents, applied in order.
var scriptRewrites = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`\.get(?:String|Struct|Int8|Int16|Int32|Int64|Float32|Float64|Boolean|Bytes|Array|Map)?\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]\s*\)`), ".$1"},
	{regexp.MustCompile(`\.equals\(\s*(('[^']*')|("[^"]*"))\s*\)`), " == $1"},
	{regexp.MustCompile(`\.startsWith\(\s*(('[^']*')|("[^"]*"))\s*\)`), " startsWith $1"},
	{regexp.MustCompile(`\.endsWith\(\s*(('[^']*')|("[^"]*"))\s*\)`), " endsWith $1"},
	{regexp.MustCompile(`\.contains\(\s*(('[^']*')|("[^"]*"))\s*\)`), " contains $1"},
	{regexp.MustCompile(`\.matches\(\s*(('[^']*')|("[^"]*"))\s*\)`), " matches $1"},
	{regexp.MustCompile(`===`), "=="},
	{regexp.MustCompile(`!==`), "!="},
	{regexp.MustCompile(`\bnull\b`), "nil"},
	{regexp.MustCompile(`\bundefined\b`), "nil"},
}

// translateScript rewrites the common Groovy and JavaScript conditions and
// topic expressions Debezium's documentation shows into expr, and checks
// that the result compiles; ok is false when it does not.
func translateScript(src string) (string, bool) {
	out := strings.TrimSpace(src)
	for _, r := range scriptRewrites {
		out = r.re.ReplaceAllString(out, r.repl)
	}
	if _, err := expr.Compile(out, expr.AllowUndefinedVariables()); err != nil {
		return "", false
	}
	return out, true
}
