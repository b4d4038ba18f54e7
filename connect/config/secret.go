package config

import (
	"github.com/tributary-io/tributary/internal/redact"
)

// IsSecret reports whether property name holds a secret: typed PASSWORD
// here, or named like one (database.password, value.converter.
// basic.auth.user.info, a misspelled *.password...), since pass-through and
// unknown properties have no type to go by.
func (d *Def) IsSecret(name string) bool {
	if d != nil {
		if k, ok := d.keys[name]; ok && k.Type == TypePassword {
			return true
		}
	}
	return redact.Name(name)
}

// Display is a property's value as messages may show it: [hidden] for a
// secret, otherwise the value with any credentials embedded in a URL or
// connection string hidden (connection.url may carry user:password@).
func (d *Def) Display(name, value string) string {
	if d.IsSecret(name) {
		return redact.Hidden
	}
	return redact.URL(value)
}

// DisplayValue is e.Value as messages may show it (see Def.Display). It
// also covers field errors that connectors build themselves.
func (e FieldError) DisplayValue() string {
	var d *Def
	return d.Display(e.Name, e.Value)
}

// Redacted returns props with every secret value replaced by [hidden],
// for messages that quote a whole configuration. d may be nil when the
// connector's definition is not known.
func Redacted(d *Def, props map[string]string) map[string]string {
	out := make(map[string]string, len(props))
	for k, v := range props {
		out[k] = d.Display(k, v)
	}
	return out
}

// Secrets returns the values of v's secret properties and the passwords
// embedded in its other values, for redact.New: what must never appear in
// a log line or an error that the connector's code or drivers produce.
func (v *Values) Secrets() []string { return SecretValues(v.def, v.raw) }

// SecretValues returns the values of the secret properties of props and
// the passwords embedded in the others (see Values.Secrets). d may be nil
// when the connector's definition is not known.
func SecretValues(d *Def, props map[string]string) []string {
	var out []string
	for k, s := range props {
		if d.IsSecret(k) {
			out = append(out, s)
		} else {
			out = append(out, redact.Credentials(s)...)
		}
	}
	return out
}

// Scrubber returns a scrubber of v's secrets (see Secrets).
func (v *Values) Scrubber() *redact.Secrets { return redact.New(v.Secrets()...) }
