package avro

import (
	"sort"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/schema/registry"
)

// ConverterDef is the AvroConverter's properties as parseConfig reads
// them, for the reference (TestConverterReference in cli checks each is
// accepted).
func ConverterDef() *config.Def {
	d := config.NewDef().Merge(registry.ClientDef())
	strategies := "TopicNameStrategy (<topic>-key/-value), RecordNameStrategy (the record's full name) or TopicRecordNameStrategy (<topic>-<record name>), with or without the io.confluent.kafka.serializers.subject. package"
	d.Define(config.Key{Name: "auto.register.schemas", Type: config.TypeBoolean, Default: "true",
		Doc: "register a schema the subject does not have yet; false looks it up and fails when it is not registered"})
	d.Define(config.Key{Name: "use.latest.version", Type: config.TypeBoolean, Default: "false",
		Doc: "write with the subject's latest registered schema instead of the record's own (with auto.register.schemas=false)"})
	d.Define(config.Key{Name: "latest.compatibility.strict", Type: config.TypeBoolean, Default: "true",
		Doc: "with use.latest.version: fail unless the record's schema is compatible with the latest registered one"})
	d.Define(config.Key{Name: "key.subject.name.strategy", Default: "TopicNameStrategy", Doc: "subject of key schemas: " + strategies})
	d.Define(config.Key{Name: "value.subject.name.strategy", Default: "TopicNameStrategy", Doc: "subject of value schemas: " + strategies})
	d.Define(config.Key{Name: "connect.meta.data", Type: config.TypeBoolean, Default: "true",
		Doc: "keep Connect's schema name, version, doc and parameters in the Avro schema (connect.name, connect.version, connect.parameters...)"})
	d.Define(config.Key{Name: "enhanced.avro.schema.support", Type: config.TypeBoolean, Default: "false",
		Doc: "map Connect enums (io.confluent.connect.avro.Enum parameters) to Avro enums and name union members by full name"})
	d.Define(config.Key{Name: "scrub.invalid.names", Type: config.TypeBoolean, Default: "false",
		Doc: "replace characters Avro names cannot hold with underscores"})
	d.Define(config.Key{Name: "discard.type.doc.default", Type: config.TypeBoolean, Default: "false",
		Doc: "place docs and defaults as Confluent did before 6.1"})
	d.Define(config.Key{Name: "allow.optional.map.keys", Type: config.TypeBoolean, Default: "false",
		Doc: "write maps with optional string keys as Avro maps too (otherwise as arrays of key/value records)"})
	d.Define(config.Key{Name: "ignore.default.for.nullables", Type: config.TypeBoolean, Default: "false",
		Doc: "write null, not the field's default, for a null optional field"})
	d.Define(config.Key{Name: "flatten.singleton.unions", Type: config.TypeBoolean, Default: "true",
		Doc: "read a union of one type as that type"})
	for _, k := range []string{"generalized.sum.type.support", "normalize.schemas", "use.latest.with.metadata"} {
		d.Define(config.Key{Name: k, Type: config.TypeBoolean, Default: "false", Doc: "only false is supported: the behaviour it switches on is not implemented"})
	}
	d.Define(config.Key{Name: "use.schema.id", Type: config.TypeInt, Default: "-1", Doc: "only -1 is supported: writing with a fixed schema id is not implemented"})
	d.Define(config.Key{Name: "schemas.cache.size", Type: config.TypeInt, Default: "1000", Aliases: []string{"schemas.cache.config"},
		Doc: "Connect schemas whose Avro form and registry id are cached"})
	d.Define(config.Key{Name: "latest.cache.size", Type: config.TypeInt, Default: "1000",
		Doc: "latest versions (by subject and schema) use.latest.version keeps; see latest.cache.ttl.sec"})
	d.Define(config.Key{Name: "converter.type", Doc: "set by the runtime: whether the converter serves keys, values or headers"})
	for _, k := range sortedKeys(inertProps) {
		d.Define(config.Key{Name: k, Type: config.TypeBoolean, Default: map[bool]string{true: "true", false: "false"}[k == "id.compatibility.strict"],
			Doc: "accepted, with no effect in Confluent's AvroConverter either: " + inertProps[k]})
	}
	for _, k := range sortedKeys(refusedProps) {
		r := refusedProps[k]
		d.Define(config.Key{Name: k, Type: config.TypeBoolean, Default: r.def, Doc: "only " + r.def + " is supported: " + r.why})
	}
	return d
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
