package registry

import "github.com/tributary-io/tributary/connect/config"

// ClientDef is the schema registry client properties the registry-based
// converters take (ConfigFromProperties reads them), for the reference.
func ClientDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "schema.registry.url", Required: true, Importance: config.High, Aliases: []string{"url"},
		Doc: "URL of the Confluent-compatible schema registry, or a comma-separated list: requests go to one and fail over to the next on a network error or a retriable status (408, 429, 500, 502, 503, 504), as Confluent's RestService does"})
	d.Define(config.Key{Name: "url.randomize", Type: config.TypeBoolean, Default: "false",
		Doc: "start at a random URL of schema.registry.url instead of the first, to spread clients sharing a configuration"})
	d.Define(config.Key{Name: "schema.registry.url.randomize", Type: config.TypeBoolean, Default: "false",
		Doc: "url.randomize under the name Confluent's serializer configuration gives it"})
	d.Define(config.Key{Name: "http.connect.timeout.ms", Type: config.TypeInt, Default: "60000",
		Doc: "time limit for connecting to the registry (at least 1)"})
	d.Define(config.Key{Name: "http.read.timeout.ms", Type: config.TypeInt, Default: "60000",
		Doc: "time limit of each wait for the registry's reply: its headers, then each read of its body (at least 1)"})
	d.Define(config.Key{Name: "max.retries", Type: config.TypeInt, Default: "3",
		Doc: "retries of a request against the same URL after a network error, an unreadable reply or a retriable status (408, 429, 500, 502, 503, 504)"})
	d.Define(config.Key{Name: "retries.wait.ms", Type: config.TypeInt, Default: "1000",
		Doc: "backoff before the first retry; the n-th retry waits a random time up to min(retries.wait.ms·2ⁿ, retries.max.wait.ms)"})
	d.Define(config.Key{Name: "retries.max.wait.ms", Type: config.TypeInt, Default: "20000",
		Doc: "cap of the backoff between retries"})
	d.Define(config.Key{Name: "proxy.host",
		Doc: "HTTP proxy all registry requests go through (HTTPS ones by CONNECT); with proxy.port"})
	d.Define(config.Key{Name: "proxy.port", Type: config.TypeInt, Default: "-1",
		Doc: "port of proxy.host; both or neither must be set"})
	d.Define(config.Key{Name: "max.schemas.per.subject", Type: config.TypeInt, Default: "1000",
		Doc: "bound of each client cache (subjects, schemas per subject, schemas by id); past it the least recently used entry is dropped and fetched again when needed, as in Confluent's client since 7.0"})
	d.Define(config.Key{Name: "latest.cache.ttl.sec", Type: config.TypeInt, Default: "-1",
		Doc: "seconds the latest version of a subject is remembered for use.latest.version (which only the AvroConverter implements), -1 for ever; unset, the client's own cache still keeps it 60 s, as in Confluent"})
	d.Define(config.Key{Name: "missing.cache.size", Type: config.TypeInt, Default: "10000",
		Doc: "bound of the caches of not-found answers"})
	d.Define(config.Key{Name: "missing.schema.cache.ttl.sec", Type: config.TypeInt, Default: "0",
		Doc: "seconds a schema found not registered under a subject is answered not found without asking again (0: always ask)"})
	d.Define(config.Key{Name: "missing.id.cache.ttl.sec", Type: config.TypeInt, Default: "0",
		Doc: "seconds an unknown schema id is answered not found without asking again (0: always ask)"})
	d.Define(config.Key{Name: "missing.version.cache.ttl.sec", Type: config.TypeInt, Default: "0",
		Doc: "validated only: Confluent's client consults it only when fetching versions including deleted ones for data-contract migrations, which Tributary does not run"})
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
	d.AllowPrefix(RequestHeaderPrefix)
	return d
}
