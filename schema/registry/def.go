package registry

import "github.com/tributary-io/tributary/connect/config"

// ClientDef is the schema registry client properties the registry-based
// converters take (ConfigFromProperties reads them), for the reference.
func ClientDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "schema.registry.url", Required: true, Importance: config.High, Aliases: []string{"url"},
		Doc: "URL of the Confluent-compatible schema registry (the first of a comma-separated list is used)"})
	d.Define(config.Key{Name: "basic.auth.credentials.source", OneOf: []string{"", "USER_INFO", "URL"},
		Doc: "where the basic authentication credentials come from: USER_INFO (basic.auth.user.info) or URL (user:password@ in the URL)"})
	d.Define(config.Key{Name: "basic.auth.user.info", Type: config.TypePassword, Aliases: []string{"schema.registry.basic.auth.user.info"},
		Doc: "user:password for basic authentication"})
	d.Define(config.Key{Name: "schema.registry.ssl.ca.location", Aliases: []string{"ssl.ca.location"},
		Doc: "PEM file of the CA certificates the registry's certificate is verified against (Java trust stores are not read)"})
	d.Define(config.Key{Name: "schema.registry.ssl.certificate.location", Aliases: []string{"ssl.certificate.location"},
		Doc: "PEM file of the client certificate, for registries that require one"})
	d.Define(config.Key{Name: "schema.registry.ssl.key.location", Aliases: []string{"ssl.key.location"},
		Doc: "PEM file of the client certificate's private key (unencrypted)"})
	return d
}
