package herder

import (
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/redact"
)

// scrubber returns what hides a connector's secrets in the messages the
// herder passes on (status traces, logs, validation and REST errors).
// props may hold config provider references: the secrets are their
// resolved values, which is what a driver would quote. A connector class
// that is not known still has its secret-named properties hidden.
func (h *Herder) scrubber(props map[string]string) *redact.Secrets {
	var def *config.Def
	if p, err := h.lookupPlugin(props["connector.class"]); err == nil {
		def = connectorDef(p)
	}
	resolved := make(map[string]string, len(props))
	for k, v := range props {
		if r, err := resolveConfigValue(v); err == nil {
			resolved[k] = r
		} else {
			resolved[k] = v
		}
	}
	return redact.New(config.SecretValues(def, resolved)...)
}
