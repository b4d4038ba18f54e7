package config

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Target states of a connector file (Connector.State), as Strimzi's
// KafkaConnector spec.state names them.
const (
	StateRunning = "running"
	StatePaused  = "paused"
	StateStopped = "stopped"
)

// strimziConnector is Strimzi's KafkaConnector custom resource
// (kafka.strimzi.io/v1beta2), so that GitOps repositories' connector
// manifests work as connector files unchanged. spec is decoded strictly;
// metadata and status may hold anything a cluster adds.
type strimziConnector struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   map[string]any `yaml:"metadata"`
	Spec       struct {
		Class    string         `yaml:"class"`
		TasksMax *int           `yaml:"tasksMax"`
		Config   map[string]any `yaml:"config"`
		State    string         `yaml:"state"`
		// Pause is spec.pause, deprecated by spec.state.
		Pause *bool `yaml:"pause"`
		// Accepted and ignored: Tributary restarts failed tasks itself
		// (task.restart.backoff.ms), and offsets are listed and altered
		// through the REST API rather than through ConfigMaps.
		AutoRestart  yaml.Node `yaml:"autoRestart"`
		ListOffsets  yaml.Node `yaml:"listOffsets"`
		AlterOffsets yaml.Node `yaml:"alterOffsets"`
	} `yaml:"spec"`
	Status yaml.Node `yaml:"status"`
}

// parseKafkaConnectors parses data as one or more Strimzi KafkaConnector
// resources (YAML documents separated by ---). ok is false when the first
// document is not a KafkaConnector, and data is left to Parse.
func parseKafkaConnectors(data []byte, baseDir string) (f *File, ok bool, err error) {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
	}
	if yaml.Unmarshal(data, &head) != nil || !isKafkaConnector(head.APIVersion, head.Kind) {
		return nil, false, nil
	}
	out := &File{Worker: map[string]string{}}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	for i := 0; ; i++ {
		var sc strimziConnector
		if err := dec.Decode(&sc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, true, fmt.Errorf("KafkaConnector (document %d): %w", i+1, err)
		}
		if sc.Kind == "" && sc.APIVersion == "" && sc.Spec.Class == "" {
			continue // an empty document
		}
		if !isKafkaConnector(sc.APIVersion, sc.Kind) {
			return nil, true, fmt.Errorf("document %d: apiVersion %q kind %q: a file of KafkaConnector resources holds nothing else", i+1, sc.APIVersion, sc.Kind)
		}
		c, err := sc.connector(baseDir)
		if err != nil {
			return nil, true, fmt.Errorf("KafkaConnector %d: %w", i+1, err)
		}
		for _, prev := range out.Connectors {
			if prev.Name == c.Name {
				return nil, true, fmt.Errorf("connector %q defined twice", c.Name)
			}
		}
		out.Connectors = append(out.Connectors, c)
	}
	return out, true, nil
}

var otherProvider = regexp.MustCompile(`\$\{([A-Za-z0-9_.-]+):[^}]*\}`)

func isKafkaConnector(apiVersion, kind string) bool {
	return kind == "KafkaConnector" && strings.HasPrefix(apiVersion, "kafka.strimzi.io/")
}

// connector maps the resource as Strimzi's operator does: metadata.name is
// the connector's name, spec.class and spec.tasksMax set connector.class
// and tasks.max (over any in spec.config), spec.state (or the deprecated
// spec.pause) the target state.
func (sc *strimziConnector) connector(baseDir string) (Connector, error) {
	name, _ := sc.Metadata["name"].(string)
	if name == "" {
		return Connector{}, errors.New("metadata.name: missing")
	}
	if sc.Spec.Class == "" {
		return Connector{}, fmt.Errorf("%s: spec.class: missing", name)
	}
	cfg := sc.Spec.Config
	if cfg == nil {
		cfg = map[string]any{}
	}
	cfg["connector.class"] = sc.Spec.Class
	if sc.Spec.TasksMax != nil {
		if *sc.Spec.TasksMax < 1 {
			return Connector{}, fmt.Errorf("%s: spec.tasksMax %d: must be at least 1", name, *sc.Spec.TasksMax)
		}
		cfg["tasks.max"] = strconv.Itoa(*sc.Spec.TasksMax)
	}
	c := Connector{Name: name}
	var err error
	// Strimzi's KubernetesSecretConfigProvider (${secrets:...}) and Kafka's
	// DirectoryConfigProvider (${directory:...}) would stay literal strings
	// and fail later, at the database, as a wrong password.
	for k, v := range cfg {
		if s, ok := v.(string); ok {
			for _, m := range otherProvider.FindAllStringSubmatch(s, -1) {
				if m[1] != "env" && m[1] != "file" {
					return Connector{}, fmt.Errorf("%s: spec.config.%s: config provider %q is not supported: Tributary resolves ${env:NAME} and ${file:path:key}, so mount the Secret as a volume and use ${file:...}", name, k, m[1])
				}
			}
		}
	}
	if c.Config, c.Raw, err = flatten("spec.config", cfg, baseDir); err != nil {
		return Connector{}, fmt.Errorf("%s: %w", name, err)
	}
	delete(c.Config, "name")
	delete(c.Raw, "name")
	switch st := strings.ToLower(sc.Spec.State); st {
	case "":
		if sc.Spec.Pause != nil && *sc.Spec.Pause {
			c.State = StatePaused
		}
	case StateRunning, StatePaused, StateStopped:
		c.State = st
	default:
		return Connector{}, fmt.Errorf("%s: spec.state %q: must be running, paused or stopped", name, sc.Spec.State)
	}
	return c, nil
}
