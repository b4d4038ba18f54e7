package converter

import "github.com/tributary-io/tributary/connect/config"

// typeKey is converter.type, which Kafka Connect passes to every
// converter (key, value or header); it selects nothing here.
func typeKey() config.Key {
	return config.Key{Name: "converter.type", OneOf: []string{"", "key", "value", "header"},
		Doc: "set by the runtime: whether the converter serves keys, values or headers"}
}

// JSONDef is the JsonConverter's properties, as NewJSON parses them.
func JSONDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "schemas.enable", Type: config.TypeBoolean, Default: "true", Importance: config.High,
		Doc: "wrap each value in Kafka Connect's {\"schema\": ..., \"payload\": ...} envelope; false writes the bare JSON and reads data as schemaless"})
	d.Define(config.Key{Name: "decimal.format", Default: "BASE64", OneOf: []string{"BASE64", "NUMERIC"},
		Doc: "how Decimal values are written: BASE64 (the unscaled bytes, Kafka's default) or NUMERIC (a JSON number)"})
	d.Define(config.Key{Name: "schemas.cache.size", Type: config.TypeInt, Default: "1000",
		Doc: "schemas whose JSON form is cached (0: no cache)"})
	d.Define(config.Key{Name: "replace.null.with.default", Type: config.TypeBoolean, Default: "true",
		Doc: "write a null field whose schema has a default as that default; only true is implemented"})
	d.Define(typeKey())
	return d
}

// StringDef is the StringConverter's properties.
func StringDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "converter.encoding", Default: "UTF-8",
		Doc: "character set of the string; only UTF-8 is implemented (strings are written as their UTF-8 bytes)"})
	d.Define(typeKey())
	return d
}

// ByteArrayDef is the ByteArrayConverter's properties: it has none of its
// own, the bytes pass unchanged.
func ByteArrayDef() *config.Def {
	d := config.NewDef()
	d.Define(typeKey())
	return d
}
