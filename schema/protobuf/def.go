package protobuf

import (
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/schema/registry"
)

// ConverterDef is the ProtobufConverter's properties as its configuration
// parser reads them, for the reference.
func ConverterDef() *config.Def {
	d := config.NewDef().Merge(registry.ClientDef())
	d.Define(config.Key{Name: "auto.register.schemas", Type: config.TypeBoolean, Default: "true",
		Doc: "register a schema the subject does not have yet; false looks it up and fails when it is not registered"})
	for _, k := range []string{"key.subject.name.strategy", "value.subject.name.strategy"} {
		d.Define(config.Key{Name: k, Default: "TopicNameStrategy", Doc: "only TopicNameStrategy (<topic>-key, <topic>-value) is supported"})
	}
	for _, k := range []string{"wrapper.for.nullables", "optional.for.nullables", "scrub.invalid.names", "enhanced.protobuf.schema.support",
		"generate.index.for.unions", "int.for.enums", "use.latest.version", "generalized.sum.type.support"} {
		d.Define(config.Key{Name: k, Type: config.TypeBoolean, Default: "false", Doc: "only false is supported: the behaviour it switches on is not implemented"})
	}
	d.Define(config.Key{Name: "converter.type", Doc: "set by the runtime: whether the converter serves keys, values or headers"})
	return d
}
