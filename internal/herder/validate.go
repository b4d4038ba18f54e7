package herder

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/redact"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

func resolveConfigValue(v string) (string, error) { return config.Resolve(v, "") }

// lookupPlugin finds the connector plugin for a class or alias, accepting
// the simple class name and the name without "Connector" as Kafka Connect
// does.
func (h *Herder) lookupPlugin(class string) (*connect.Plugin, error) {
	class = strings.TrimSpace(class)
	if p, ok := h.o.Plugins.Lookup(class); ok {
		return p, nil
	}
	var matches []*connect.Plugin
	for _, p := range h.o.Plugins {
		simple := p.Class[strings.LastIndexByte(p.Class, '.')+1:]
		if simple == class || simple == class+"Connector" {
			matches = append(matches, p)
		}
	}
	names := make([]string, 0, len(h.o.Plugins))
	for _, p := range h.o.Plugins {
		names = append(names, p.Class)
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, &Error{Code: http.StatusInternalServerError, Msg: "Failed to find any class that implements Connector and which name matches " +
			class + ", available connectors are: " + strings.Join(names, ", ")}
	}
	return nil, &Error{Code: http.StatusInternalServerError, Msg: "More than one connector matches alias " + class +
		". Please use full package and class name instead. Classes found: " + strings.Join(names, ", ")}
}

// parse resolves config provider references and validates a connector's
// properties as the runtime will run them.
func (h *Herder) parse(name string, props map[string]string) (*runtime.Connector, *connect.Plugin, error) {
	p, err := h.lookupPlugin(props["connector.class"])
	if err != nil {
		return nil, nil, err
	}
	resolved := make(map[string]string, len(props))
	for k, v := range props {
		r, err := resolveConfigValue(v)
		if err != nil {
			return nil, nil, fmt.Errorf("connector %q: property %s: %w", name, k, err)
		}
		resolved[k] = r
	}
	resolved["connector.class"] = p.Class
	c, err := parseWith(p, name, resolved)
	if err != nil {
		return nil, p, err
	}
	return c, p, nil
}

func connectorType(p *connect.Plugin) string {
	if p == nil {
		return "unknown"
	}
	return string(p.Type)
}

func (h *Herder) typeOf(props map[string]string) string {
	if props == nil {
		return "unknown"
	}
	p, err := h.lookupPlugin(props["connector.class"])
	if err != nil {
		return "unknown"
	}
	return connectorType(p)
}

// validate is Kafka Connect's validateConnectorConfig: every property the
// connector and the runtime define, with its value and errors, plus
// properties nobody defines (Tributary rejects those; Kafka Connect
// ignores them).
func (h *Herder) validate(ctx context.Context, props map[string]string) (*ConfigInfos, *connect.Plugin, error) {
	class, ok := props["connector.class"]
	if !ok {
		// Kafka Connect quotes the whole configuration here, secrets
		// included; Tributary hides them.
		return nil, nil, badRequest("Connector config %s contains no connector type", javaMap(config.Redacted(nil, props)))
	}
	p, err := h.lookupPlugin(class)
	if err != nil {
		return nil, nil, err
	}
	def := connectorDef(p)
	resolved := make(map[string]string, len(props))
	errs := map[string][]string{}
	// Drivers and connectors may quote what they were given (a DSN, a
	// URL with user:password@): every message is scrubbed of the
	// configuration's secrets.
	scrub := h.scrubber(props)
	addErr := func(name, msg string) { errs[name] = append(errs[name], scrub.String(msg)) }
	for k, v := range props {
		r, err := resolveConfigValue(v)
		if err != nil {
			addErr(k, fmt.Sprintf("Invalid value %s for configuration %s: %v", def.Display(k, v), k, err))
			r = v
		}
		resolved[k] = r
	}
	resolved["connector.class"] = p.Class
	if n := strings.TrimSpace(props["name"]); n == "" {
		addErr("name", "Invalid value  for configuration name: String may not be empty")
	} else if strings.IndexFunc(n, unicode.IsControl) >= 0 {
		addErr("name", fmt.Sprintf("Invalid value %s for configuration name: String may not contain control sequences but had the following ASCII control characters: %s", n, controlChars(n)))
	}
	vals, perr := def.Parse(resolved)
	var fes config.Errors
	if perr != nil && !errors.As(perr, &fes) {
		addErr("connector.class", perr.Error())
	}
	for _, fe := range fes {
		addErr(fe.Name, fieldMessage(fe))
	}
	if perr == nil {
		if tm := vals.Int("tasks.max"); tm < 1 {
			addErr("tasks.max", fmt.Sprintf("Invalid value %d for configuration tasks.max: Value must be at least 1", tm))
		}
		c := &runtime.Connector{Name: props["name"], Plugin: p, Values: vals}
		if h.o.Converters != nil {
			if _, _, err := runtime.Converters(h.o.Converters, c, h.o.Worker); err != nil {
				addErr(converterProp(err), err.Error())
			}
		}
		if h.o.Transforms != nil {
			if _, err := h.o.Transforms.Build(vals); err != nil {
				// Kafka Connect reports a transform's or predicate's bad
				// property under that property's own name.
				var ce *transforms.ConfigError
				if errors.As(err, &ce) && ce.Property != "" {
					addErr(ce.Property, ce.Message)
				} else {
					addErr("transforms", err.Error())
				}
			}
		}
		if h.o.ExactlyOnce != nil {
			// Kafka Connect adds these messages as they are, without
			// "Invalid value ... for configuration".
			for _, fe := range h.o.ExactlyOnce.Check(c) {
				addErr(fe.Name, fe.Message)
			}
		}
		if len(errs) == 0 && p.Validate != nil && !h.o.OfflineValidation {
			if err := p.Validate(ctx, vals); err != nil {
				var ves config.Errors
				var ve config.FieldError
				switch {
				case errors.As(err, &ves):
					for _, fe := range ves {
						addErr(fe.Name, fieldMessage(fe))
					}
				case errors.As(err, &ve):
					addErr(ve.Name, fieldMessage(ve))
				default:
					// Connectors name the property at fault as "prop: message".
					msg := err.Error()
					target := "connector.class"
					if i := strings.Index(msg, ": "); i > 0 {
						if _, ok := def.Lookup(msg[:i]); ok {
							target = msg[:i]
						}
					}
					addErr(target, msg)
				}
			}
		}
	}

	out := &ConfigInfos{Name: class, Groups: []string{}, Configs: []ConfigInfo{}}
	defined := map[string]bool{}
	groupSeen := map[string]bool{}
	for _, k := range def.Keys() {
		defined[k.Name] = true
		if k.Group != "" && !groupSeen[k.Group] {
			groupSeen[k.Group] = true
			out.Groups = append(out.Groups, k.Group)
		}
	}
	// Undefined properties come first, as in Kafka Connect's generateResult.
	var undefined []string
	for name := range errs {
		if !defined[name] {
			undefined = append(undefined, name)
		}
	}
	sort.Strings(undefined)
	for _, name := range undefined {
		var val *string
		if v, ok := props[name]; ok {
			// Undefined, so untyped: nothing tells whether it is a
			// secret (a misspelled database.passwrd is one), so it is
			// hidden. Kafka Connect does not list such properties.
			// Transform and predicate properties are defined by their
			// class (Kafka Connect lists them), and none is a secret.
			if !strings.HasPrefix(name, "transforms.") && !strings.HasPrefix(name, "predicates.") {
				v = redact.Hidden
			}
			val = &v
		}
		out.Configs = append(out.Configs, ConfigInfo{Value: &ConfigValueInfo{Name: name, Value: val, RecommendedValues: []string{},
			Errors: errs[name], Visible: true}})
		out.ErrorCount += len(errs[name])
	}
	for _, k := range def.Keys() {
		ki := &ConfigKeyInfo{Name: k.Name, Type: string(k.Type), Required: k.Required && !k.HasDefault, Importance: string(k.Importance),
			Documentation: k.Doc, Width: "NONE", DisplayName: k.Name, Dependents: []string{}, Order: -1}
		if k.HasDefault {
			d := k.Default
			ki.DefaultValue = &d
		}
		if k.Group != "" {
			g := k.Group
			ki.Group = &g
		}
		vi := &ConfigValueInfo{Name: k.Name, RecommendedValues: append([]string{}, k.OneOf...), Errors: append([]string{}, errs[k.Name]...), Visible: true}
		if v, ok := props[k.Name]; ok {
			vi.Value = &v
		} else if k.HasDefault {
			d := k.Default
			vi.Value = &d
		}
		if vi.Value != nil && k.Type == config.TypePassword {
			hidden := "[hidden]"
			vi.Value = &hidden
		}
		out.ErrorCount += len(vi.Errors)
		out.Configs = append(out.Configs, ConfigInfo{Definition: ki, Value: vi})
	}
	return out, p, nil
}

// fieldMessage words a property error as Kafka's ConfigDef does.
func fieldMessage(fe config.FieldError) string {
	switch {
	case strings.HasPrefix(fe.Message, "missing required property"):
		return fmt.Sprintf("Missing required configuration %q which has no default value.", fe.Name)
	case strings.HasPrefix(fe.Message, "unknown property"):
		return fmt.Sprintf("Unknown configuration %q%s", fe.Name, strings.TrimPrefix(fe.Message, "unknown property"))
	}
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", fe.DisplayValue(), fe.Name, fe.Message)
}

func converterProp(err error) string {
	msg := err.Error()
	for _, p := range []string{"key.converter", "value.converter", "header.converter"} {
		if strings.Contains(msg, p) {
			return p
		}
	}
	return "value.converter"
}

func controlChars(s string) string {
	var parts []string
	for _, r := range s {
		if unicode.IsControl(r) {
			parts = append(parts, fmt.Sprintf("%d", r))
		}
	}
	return strings.Join(parts, ", ")
}

// javaMap renders a map as Java's AbstractMap.toString does, for messages
// that quote a configuration.
func javaMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// configErrorMessage is the 400 message for a rejected configuration.
func configErrorMessage(ci *ConfigInfos) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Connector configuration is invalid and contains the following %d error(s):", ci.ErrorCount)
	for _, c := range ci.Configs {
		if c.Value == nil {
			continue
		}
		for _, e := range c.Value.Errors {
			b.WriteString("\n")
			b.WriteString(e)
		}
	}
	b.WriteString("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`")
	return b.String()
}
