package transforms

import (
	"log/slog"
	"sort"
	"strings"
)

// Builtin returns every transform Tributary implements, keyed by Java
// class name and by the simple class name Kafka Connect also accepts as an
// alias ("RegexRouter", "InsertField$Value"). logger receives
// configuration warnings (deprecated options); nil discards them.
func Builtin(logger *slog.Logger) Registry {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	unwrap := func(props map[string]string) (Transform, error) {
		return NewExtractNewRecordState(props, logger)
	}
	r := Registry{"unwrap": unwrap}
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
	r[ScriptFilterClass] = newScriptFilter
	r.add(ContentBasedRouterClass, newContentBasedRouter)
	return r
}

// Classes lists the Java class names the registry holds, sorted, without
// the short aliases, for "tributary plugins".
func (r Registry) Classes() []string {
	var out []string
	for name := range r {
		if strings.Contains(name, ".") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// add registers f under its Java class name and its simple name.
func (r Registry) add(class string, f Factory) {
	r[class] = f
	if i := strings.LastIndexByte(class, '.'); i >= 0 {
		if _, taken := r[class[i+1:]]; !taken {
			r[class[i+1:]] = f
		}
	}
}
