package transforms

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect/config"
)

// ConfigError is a bad transform or predicate property. Property is the
// name as the user wrote it once Build has added the
// "transforms.<alias>." or "predicates.<alias>." prefix; it is empty for
// errors about the combination of properties (Kafka's "No field insertion
// configured"). Message is the text Kafka's ConfigDef or the Java
// transform would give, so that users can search for it.
type ConfigError struct {
	Property string
	Message  string
}

func (e *ConfigError) Error() string {
	if e.Property == "" {
		return e.Message
	}
	return e.Property + ": " + e.Message
}

// withPrefix returns err with its property name prefixed, as Build reports
// it; other errors are wrapped naming the prefix.
func withPrefix(prefix string, err error) error {
	if ce, ok := err.(*ConfigError); ok {
		if ce.Property == "" {
			return &ConfigError{Property: strings.TrimSuffix(prefix, "."), Message: ce.Message}
		}
		return &ConfigError{Property: prefix + ce.Property, Message: ce.Message}
	}
	return fmt.Errorf("%s: %w", strings.TrimSuffix(prefix, "."), err)
}

// invalidValue is Kafka's ConfigException(name, value, message).
func invalidValue(name string, value any, msg string) *ConfigError {
	m := fmt.Sprintf("Invalid value %v for configuration %s", value, name)
	if msg != "" {
		m += ": " + msg
	}
	return &ConfigError{Property: name, Message: m}
}

// kind is a property's ConfigDef.Type.
type kind int

const (
	kString kind = iota
	kList
	kBool
	kInt
)

// prop is one ConfigDef.define: a name, a type, a default (nil default
// when neither required nor hasDefault) and an optional validator that
// returns the message of Kafka's validator.
type prop struct {
	name     string
	kind     kind
	required bool // ConfigDef.NO_DEFAULT_VALUE
	def      string
	hasDef   bool
	// check validates the raw (trimmed for non-strings) value; it returns
	// the message after "Invalid value X for configuration name: ".
	check func(v string) string
}

func strProp(name string) prop     { return prop{name: name} }
func reqStr(name string) prop      { return prop{name: name, required: true} }
func defStr(name, def string) prop { return prop{name: name, def: def, hasDef: true} }
func boolProp(name string, def bool) prop {
	return prop{name: name, kind: kBool, def: strconv.FormatBool(def), hasDef: true}
}
func reqList(name string) prop  { return prop{name: name, kind: kList, required: true} }
func listProp(name string) prop { return prop{name: name, kind: kList, def: "", hasDef: true} }

func (p prop) with(check func(string) string) prop { p.check = check; return p }

// nonEmptyString is ConfigDef.NonEmptyString.
func nonEmptyString(v string) string {
	if v == "" {
		return "String must be non-empty"
	}
	return ""
}

// nonEmptyList is Kafka's NonEmptyListValidator.
func nonEmptyList(v string) string {
	if len(splitList(v)) == 0 {
		return "Empty list"
	}
	return ""
}

// oneOf is ConfigDef.ValidString.in: case-sensitive, as in Java.
func oneOf(options ...string) func(string) string {
	return func(v string) string {
		for _, o := range options {
			if v == o {
				return ""
			}
		}
		return "String must be one of: " + strings.Join(options, ", ")
	}
}

// oneOfFold is ConfigDef.CaseInsensitiveValidString.in.
func oneOfFold(options ...string) func(string) string {
	return func(v string) string {
		for _, o := range options {
			if strings.EqualFold(v, o) {
				return ""
			}
		}
		return "String must be one of (case insensitive): " + strings.Join(options, ", ")
	}
}

// splitList is ConfigDef's LIST parsing: comma-separated, each item
// trimmed, an empty (or blank) value is the empty list.
func splitList(v string) []string {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// settings are parsed properties, as Kafka's SimpleConfig.
type settings struct {
	vals map[string]string
	nul  map[string]bool // properties whose value is Java null (no default, not set)
	set  map[string]bool
}

func (s *settings) str(name string) string { return s.vals[name] }

// isNull reports whether name has Java's null value: not set and
// defaulting to null.
func (s *settings) isNull(name string) bool { return s.nul[name] }

func (s *settings) list(name string) []string { return splitList(s.vals[name]) }

func (s *settings) boolean(name string) bool {
	return strings.EqualFold(strings.TrimSpace(s.vals[name]), "true")
}

func (s *settings) integer(name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s.vals[name]))
	return n
}

// parseProps validates props against defs as Kafka's ConfigDef.parse
// does, in definition order, and reports the first problem with Kafka's
// message (an unknown property before any other). "type" is always accepted. Unlike Kafka, which ignores them,
// unknown properties are rejected naming the closest known one: a typo in
// a transform property otherwise silently changes what reaches the topic.
func parseProps(defs []prop, props map[string]string) (*settings, error) {
	if _, ok := props[describeKey]; ok {
		return nil, &described{keys: propKeys(defs)}
	}
	s := &settings{vals: map[string]string{}, nul: map[string]bool{}, set: map[string]bool{}}
	// Unknown properties first: a misspelt required property is then
	// reported as the typo with the name it was meant to be, not as
	// missing.
	var unknown []string
	for name := range props {
		if name == "type" {
			continue
		}
		known := false
		for _, d := range defs {
			if d.name == name {
				known = true
				break
			}
		}
		if !known {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &ConfigError{Property: unknown[0], Message: "unknown property" + suggest(unknown[0], defs)}
	}
	for _, d := range defs {
		v, ok := props[d.name]
		if !ok {
			switch {
			case d.required:
				return nil, &ConfigError{Property: d.name, Message: fmt.Sprintf("Missing required configuration %q which has no default value.", d.name)}
			case !d.hasDef:
				s.nul[d.name] = true
				continue
			}
			v = d.def
		} else {
			s.set[d.name] = true
			// ConfigDef.parseType trims every STRING, LIST and BOOLEAN.
			v = strings.TrimSpace(v)
		}
		switch d.kind {
		case kBool:
			t := strings.ToLower(strings.TrimSpace(v))
			if t != "true" && t != "false" {
				return nil, invalidValue(d.name, v, "Expected value to be either true or false")
			}
		case kInt:
			if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err != nil {
				return nil, invalidValue(d.name, v, "Not a number of type INT")
			}
		}
		if d.check != nil {
			if msg := d.check(v); msg != "" {
				return nil, invalidValue(d.name, v, msg)
			}
		}
		s.vals[d.name] = v
	}
	return s, nil
}

func suggest(name string, defs []prop) string {
	best, bestDist := "", 4
	for _, d := range defs {
		if dist := config.EditDistance(name, d.name); dist < bestDist {
			best, bestDist = d.name, dist
		}
	}
	if best == "" {
		names := make([]string, len(defs))
		for i, d := range defs {
			names[i] = d.name
		}
		if len(names) == 0 {
			return " (this class takes no properties)"
		}
		return " (known: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
