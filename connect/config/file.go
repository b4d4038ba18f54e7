package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Connector is one connector's name and properties, as Kafka Connect's REST
// API takes them ({"name": ..., "config": {...}}).
type Connector struct {
	Name   string            `json:"name" yaml:"name"`
	Config map[string]string `json:"config" yaml:"config"`
	// Raw holds the properties as written, ${env:...} and ${file:...}
	// references unresolved (file paths made absolute, so they resolve
	// the same from any directory). It is what a worker stores and what
	// GET /connectors/{name}/config returns, as Kafka Connect keeps config
	// provider references rather than the secrets they stand for. Nil when
	// the connector was not read from a file.
	Raw map[string]string `json:"-" yaml:"-"`
	// State is the target state a file asks for: "" or StateRunning,
	// StatePaused, StateStopped (a Strimzi KafkaConnector's spec.state).
	State string `json:"-" yaml:"-"`
}

// File is a Tributary configuration file: worker properties (what Kafka
// Connect keeps in connect-standalone.properties) and connectors.
type File struct {
	Worker     map[string]string
	Connectors []Connector
	// Sink is the sink: section of a Kafka-less pipeline (its
	// connector.class and properties), nil when there is none.
	Sink map[string]string
}

// rawFile accepts both a single connector at top level and a list, so a
// Kafka Connect JSON connector payload works unchanged.
type rawFile struct {
	Name       string         `yaml:"name"`
	Config     map[string]any `yaml:"config"`
	Worker     map[string]any `yaml:"worker"`
	Sink       map[string]any `yaml:"sink"`
	Connectors []struct {
		Name   string         `yaml:"name"`
		Config map[string]any `yaml:"config"`
	} `yaml:"connectors"`
}

// LoadFile reads a YAML or JSON configuration file, or a Kafka Connect
// .properties file (worker or connector), and resolves ${env:...} and
// ${file:...} references.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config %s: %w", path, err)
	}
	parse := Parse
	if IsPropertiesFile(path) {
		parse = parsePropertiesFile
	}
	f, err := parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return f, nil
}

// Parse parses configuration text. JSON is valid YAML, so one parser
// serves both. baseDir resolves relative ${file:...} paths. A Strimzi
// KafkaConnector resource (apiVersion kafka.strimzi.io/..., one or more
// YAML documents) is read as the connector it describes.
func Parse(data []byte, baseDir string) (*File, error) {
	if f, ok, err := parseKafkaConnectors(data, baseDir); ok {
		return f, err
	}
	var rf rawFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	out := &File{}
	var err error
	if out.Worker, _, err = flatten("worker", rf.Worker, baseDir); err != nil {
		return nil, err
	}
	if rf.Sink != nil {
		if out.Sink, _, err = flatten("sink", rf.Sink, baseDir); err != nil {
			return nil, err
		}
	}
	if rf.Config != nil || rf.Name != "" {
		c := Connector{Name: rf.Name}
		if c.Config, c.Raw, err = flatten("config", rf.Config, baseDir); err != nil {
			return nil, err
		}
		out.Connectors = append(out.Connectors, c)
	}
	for i, rc := range rf.Connectors {
		c := Connector{Name: rc.Name}
		if c.Config, c.Raw, err = flatten(fmt.Sprintf("connectors[%d].config", i), rc.Config, baseDir); err != nil {
			return nil, err
		}
		out.Connectors = append(out.Connectors, c)
	}
	seen := map[string]bool{}
	for i := range out.Connectors {
		c := &out.Connectors[i]
		if c.Name == "" {
			c.Name = c.Config["name"]
		}
		if c.Name == "" {
			return nil, fmt.Errorf("connector %d: missing \"name\"", i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("connector %q defined twice", c.Name)
		}
		seen[c.Name] = true
		delete(c.Config, "name")
		delete(c.Raw, "name")
	}
	return out, nil
}

// flatten turns YAML scalars into Kafka Connect's string properties,
// resolved and raw (see Connector.Raw). Nested maps are joined with dots,
// so both "database.hostname: x" and "database: {hostname: x}" work.
func flatten(where string, m map[string]any, baseDir string) (resolved, raw map[string]string, err error) {
	out, rawOut := map[string]string{}, map[string]string{}
	var walk func(prefix string, v any) error
	walk = func(prefix string, v any) error {
		switch t := v.(type) {
		case map[string]any:
			for k, vv := range t {
				if err := walk(joinKey(prefix, k), vv); err != nil {
					return err
				}
			}
			return nil
		case []any:
			parts := make([]string, len(t))
			for i, e := range t {
				s, err := scalar(e)
				if err != nil {
					return fmt.Errorf("%s.%s[%d]: %w", where, prefix, i, err)
				}
				parts[i] = s
			}
			return set(out, rawOut, where, prefix, strings.Join(parts, ","), baseDir)
		default:
			s, err := scalar(v)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", where, prefix, err)
			}
			return set(out, rawOut, where, prefix, s, baseDir)
		}
	}
	for k, v := range m {
		if err := walk(k, v); err != nil {
			return nil, nil, err
		}
	}
	return out, rawOut, nil
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

func set(out, raw map[string]string, where, k, v, baseDir string) error {
	if _, dup := out[k]; dup {
		return fmt.Errorf("%s: property %q given twice", where, k)
	}
	// Resolved now even when the raw form is what gets stored, so that a
	// typo in a reference fails at load, naming the file and property.
	r, err := Resolve(v, baseDir)
	if err != nil {
		return fmt.Errorf("%s.%s: %w", where, k, err)
	}
	out[k] = r
	raw[k] = absoluteRefs(v, baseDir)
	return nil
}

// absoluteRefs rewrites relative ${file:path:key} references of v as
// absolute ones under baseDir, leaving the rest of v as it is.
func absoluteRefs(v, baseDir string) string {
	if baseDir == "" {
		return v
	}
	return refPattern.ReplaceAllStringFunc(v, func(m string) string {
		sub := refPattern.FindStringSubmatch(m)
		if sub[1] != "file" || filepath.IsAbs(sub[2]) {
			return m
		}
		abs, err := filepath.Abs(filepath.Join(baseDir, sub[2]))
		if err != nil {
			return m
		}
		return "${file:" + abs + "}"
	})
}

func scalar(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("unsupported value of type %T", v)
}

var refPattern = regexp.MustCompile(`\$\{(env|file):([^}]*)\}`)

// Resolve expands Kafka config-provider references: ${env:NAME} (Kafka's
// EnvVarConfigProvider) and ${file:path:key} (FileConfigProvider, reading
// a properties file). An unresolvable reference is an error, not an empty
// string, so a typo never connects with a blank password.
func Resolve(v, baseDir string) (string, error) {
	var firstErr error
	out := refPattern.ReplaceAllStringFunc(v, func(m string) string {
		sub := refPattern.FindStringSubmatch(m)
		switch sub[1] {
		case "env":
			val, ok := os.LookupEnv(sub[2])
			if !ok && firstErr == nil {
				firstErr = fmt.Errorf("environment variable %s referenced by %s is not set", sub[2], m)
			}
			return val
		default:
			i := strings.LastIndex(sub[2], ":")
			if i < 0 {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: expected ${file:path:key}", m)
				}
				return ""
			}
			path, key := sub[2][:i], sub[2][i+1:]
			if !filepath.IsAbs(path) && baseDir != "" {
				path = filepath.Join(baseDir, path)
			}
			props, err := readProperties(path)
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", m, err)
				}
				return ""
			}
			val, ok := props[key]
			if !ok && firstErr == nil {
				firstErr = fmt.Errorf("%s: key %q not found in %s", m, key, path)
			}
			return val
		}
	})
	return out, firstErr
}

// MarshalJSON renders a connector as Kafka Connect's REST payload with
// sorted keys.
func (c Connector) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(c.Config))
	for k := range c.Config {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	cfg := make(map[string]string, len(keys))
	for _, k := range keys {
		cfg[k] = c.Config[k]
	}
	type plain struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
	}
	return json.Marshal(plain{c.Name, cfg})
}
