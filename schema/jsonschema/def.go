package jsonschema

import (
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/schema/registry"
)

// ConverterDef is the JsonSchemaConverter's properties as its
// configuration parser reads them, for the reference.
func ConverterDef() *config.Def {
	d := config.NewDef().Merge(registry.ClientDef())
	d.Define(config.Key{Name: "auto.register.schemas", Type: config.TypeBoolean, Default: "true",
		Doc: "register a schema the subject does not have yet; false looks it up and fails when it is not registered"})
	d.Define(config.Key{Name: "object.additional.properties", Type: config.TypeBoolean, Default: "true",
		Doc: "false writes \"additionalProperties\": false into the schemas of structs"})
	d.Define(config.Key{Name: "decimal.format", Default: "BASE64", OneOf: []string{"BASE64", "NUMERIC"},
		Doc: "how Decimal values are written: BASE64 (the unscaled bytes) or NUMERIC (a JSON number)"})
	d.Define(config.Key{Name: "schemas.cache.size", Type: config.TypeInt, Default: "1000",
		Doc: "Connect schemas whose JSON Schema form and registry id are cached"})
	for _, k := range []string{"key.subject.name.strategy", "value.subject.name.strategy"} {
		d.Define(config.Key{Name: k, Default: "TopicNameStrategy", Doc: "only TopicNameStrategy (<topic>-key, <topic>-value) is supported"})
	}
	for _, k := range []string{"json.fail.invalid.schema", "use.latest.version"} {
		d.Define(config.Key{Name: k, Type: config.TypeBoolean, Default: "false", Doc: "only false is supported: the behaviour it switches on is not implemented"})
	}
	d.Define(config.Key{Name: "converter.type", Doc: "set by the runtime: whether the converter serves keys, values or headers"})
	return d
}
