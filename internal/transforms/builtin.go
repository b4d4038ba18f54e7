package transforms

import (
	"log/slog"
	"sort"
	"strings"
)

// Builtin returns every transform and predicate Tributary implements,
// keyed by Java class name and by the simple class name Kafka Connect also
// accepts as an alias ("RegexRouter", "InsertField$Value"). logger receives
// configuration warnings (deprecated options); nil discards them.
func Builtin(logger *slog.Logger) Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	unwrap := func(props map[string]string) (Transform, error) {
		return NewExtractNewRecordState(props, logger)
	}
	r := Registry{"unwrap": {Transform: unwrap}}
	r.add(ExtractNewRecordStateClass, unwrap)
	for class, f := range kafkaTransforms(logger) {
		r.add(class, f)
	}
	r.add(EventRouterClass, newEventRouter(logger))
	r.add(ByLogicalTableRouterClass, newLogicalTableRouter(true, logger))
	r.add(ToLogicalTopicRouterClass, newLogicalTableRouter(false, logger))
	r.add(ExtractChangedRecordStateClass, newExtractChangedRecordState)
	r.add(HeaderToValueClass, newHeaderToValue)
	r.add(SchemaChangeEventFilterClass, newSchemaChangeEventFilter)
	r.add(PartitionRoutingClass, newPartitionRouting)
	r.add(DecodeLogicalDecodingMessageContentClass, newDecodeLogicalDecodingMessageContent)
	r.add(TimezoneConverterClass, newTimezoneConverter(logger))
	// Filter and ContentBasedRouter are registered under their full names
	// only: "Filter" is Kafka's.
	r[ScriptFilterClass] = Class{Transform: newScriptFilter}
	r.add(ContentBasedRouterClass, newContentBasedRouter)
	for class, f := range builtinPredicates() {
		r.addClass(class, Class{Predicate: f})
	}
	return r
}

// Classes lists the transform classes the registry holds by Java class
// name, sorted, without the short aliases, for "tributary plugins".
func (r Registry) Classes() []string { return r.classes(false) }

// PredicateClasses lists the predicate classes likewise.
func (r Registry) PredicateClasses() []string { return r.classes(true) }

func (r Registry) classes(predicates bool) []string {
	var out []string
	for name, cl := range r {
		if strings.Contains(name, ".") && (cl.Predicate != nil) == predicates {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// add registers the transform f under its Java class name and its simple
// name.
func (r Registry) add(class string, f Factory) { r.addClass(class, Class{Transform: f}) }

func (r Registry) addClass(class string, cl Class) {
	r[class] = cl
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		if _, taken := r[class[i+1:]]; !taken {
			r[class[i+1:]] = cl
		}
	}
}
