package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"gopkg.in/yaml.v3"
)

// migrateOptions are tributary migrate's flags.
type migrateOptions struct {
	restURL      string // Kafka Connect REST API, e.g. http://connect:8083
	brokers      string // Kafka Connect's cluster, for its internal topics
	configTopic  string
	offsetsTopic string
	outDir       string
	offsetsFile  string // target: offsets file (default OUT/offsets.json)
	toTopic      string // target: an offsets topic on --bootstrap-servers instead
	workerFile   string // worker properties of the source cluster, for client settings
	// start writes every connector running, for connectors stopped on
	// Kafka Connect only for the migration.
	start bool
}

// migrated is one Kafka Connect connector as read from the cluster.
type migrated struct {
	name   string
	config map[string]string
	// state is Kafka Connect's target state: RUNNING, PAUSED or STOPPED.
	state   string
	source  bool
	offsets []offsets.Entry
	// offsetsFrom says where offsets came from; "" when they could not be
	// read (the connector would start over).
	offsetsFrom string
}

func newMigrateCmd(g *globalFlags) *cobra.Command {
	o := &migrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate (--from URL | --bootstrap-servers HOSTS) --out DIR",
		Short: "Read a Kafka Connect cluster's connectors and offsets and write Tributary connector files and offsets",
		Long: `migrate reads the connectors of a running Kafka Connect cluster, through its REST API (--from,
GET /connectors?expand=info&expand=status and KIP-875's GET /connectors/{name}/offsets) or
through its internal topics (--bootstrap-servers with --config-topic and --offsets-topic), and
writes:

  OUT/connectors/<name>.yaml  one connector file each (a KafkaConnector resource with
                              spec.state when the connector is paused or stopped)
  OUT/offsets.json            the source offsets, in Kafka Connect's format, so that each
                              connector resumes where Debezium stopped (or --to-offsets-topic)
  OUT/worker.yaml             the worker properties pointing at those offsets

Stop the Kafka Connect connectors first (PUT /connectors/{name}/stop) so the offsets are final.
Exit 1 when a connector's configuration is not accepted or its offsets could not be read.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			return g.runMigrate(cmd.Context(), o, cmd.OutOrStdout(), log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.restURL, "from", "", "Kafka Connect REST URL, e.g. http://connect:8083")
	f.StringVar(&o.brokers, "bootstrap-servers", "", "Kafka Connect's Kafka cluster: read its config and offsets topics (with --from: offsets only, for clusters before Kafka 3.6 without GET /offsets)")
	f.StringVar(&o.configTopic, "config-topic", "connect-configs", "Kafka Connect's config.storage.topic")
	f.StringVar(&o.offsetsTopic, "offsets-topic", "connect-offsets", "Kafka Connect's offset.storage.topic")
	f.StringVar(&o.workerFile, "worker", "", "a Tributary file whose worker properties hold the Kafka client settings (security.protocol, sasl.*, ssl.*) for --bootstrap-servers")
	f.StringVar(&o.outDir, "out", "", "directory to write connector files, offsets and worker properties into")
	f.StringVar(&o.offsetsFile, "offsets-file", "", "offsets file to write (default OUT/offsets.json)")
	f.BoolVar(&o.start, "start", false, "write every connector as running (connectors paused or stopped on Kafka Connect for the migration)")
	f.StringVar(&o.toTopic, "to-offsets-topic", "", "write the offsets into this topic on --bootstrap-servers instead of a file (for tributary distributed)")
	return cmd
}

func (g *globalFlags) runMigrate(ctx context.Context, o *migrateOptions, w io.Writer, log *slog.Logger) error {
	if o.outDir == "" {
		return errors.New("--out: required")
	}
	if o.restURL == "" && o.brokers == "" {
		return errors.New("give --from (Kafka Connect REST URL) or --bootstrap-servers (its internal topics)")
	}
	if o.toTopic != "" && o.brokers == "" {
		return errors.New("--to-offsets-topic needs --bootstrap-servers")
	}
	var sc *sarama.Config
	if o.brokers != "" {
		worker := map[string]string{}
		if o.workerFile != "" {
			f, err := config.LoadFile(o.workerFile)
			if err != nil {
				return fmt.Errorf("--worker: %w", err)
			}
			worker = f.Worker
		}
		wv, err := runtime.WorkerDef().Parse(worker)
		if err != nil {
			return fmt.Errorf("--worker: %w", err)
		}
		if sc, err = runtime.WorkerSaramaConfig(wv, strings.Split(o.brokers, ",")); err != nil {
			return err
		}
	}
	var cs []*migrated
	var err error
	if o.restURL != "" {
		cs, err = readConnectREST(ctx, o.restURL)
	} else {
		cs, err = g.readConnectTopics(ctx, o, sc, log)
	}
	if err != nil {
		return err
	}
	if o.restURL != "" && o.brokers != "" {
		if err := fillOffsetsFromTopic(ctx, o, sc, cs, log); err != nil {
			return err
		}
	}
	return g.writeMigration(ctx, o, sc, cs, w, log)
}

// readConnectREST reads every connector, its status and (KIP-875) its
// offsets through Kafka Connect's REST API.
func readConnectREST(ctx context.Context, base string) ([]*migrated, error) {
	base = strings.TrimRight(base, "/")
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string, out any) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("GET %s: %w", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return resp.StatusCode, fmt.Errorf("GET %s: %s: %s", path, resp.Status, bytes.TrimSpace(body))
		}
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, fmt.Errorf("GET %s: %w", path, err)
		}
		return resp.StatusCode, nil
	}
	var all map[string]struct {
		Info struct {
			Name   string            `json:"name"`
			Config map[string]string `json:"config"`
			Type   string            `json:"type"`
		} `json:"info"`
		Status struct {
			Connector struct {
				State string `json:"state"`
			} `json:"connector"`
			Type string `json:"type"`
		} `json:"status"`
	}
	if _, err := get("/connectors?expand=info&expand=status", &all); err != nil {
		return nil, fmt.Errorf("the Kafka Connect REST API at %s: %w", base, err)
	}
	var out []*migrated
	for name, c := range all {
		m := &migrated{name: name, config: c.Info.Config, state: strings.ToUpper(c.Status.Connector.State)}
		typ := c.Info.Type
		if typ == "" {
			typ = c.Status.Type
		}
		m.source = typ != "sink"
		if m.source {
			var resp struct {
				Offsets []struct {
					Partition json.RawMessage `json:"partition"`
					Offset    json.RawMessage `json:"offset"`
				} `json:"offsets"`
			}
			code, err := get("/connectors/"+url.PathEscape(name)+"/offsets", &resp)
			switch {
			case err == nil:
				for _, e := range resp.Offsets {
					p, err := offsets.DecodeMap(e.Partition)
					if err != nil {
						return nil, fmt.Errorf("connector %q: offsets: partition: %w", name, err)
					}
					off, err := offsets.DecodeMap(e.Offset)
					if err != nil {
						return nil, fmt.Errorf("connector %q: offsets: offset: %w", name, err)
					}
					m.offsets = append(m.offsets, offsets.Entry{Partition: p, Offset: off})
				}
				m.offsetsFrom = "GET /connectors/" + name + "/offsets"
			case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
				// Kafka Connect before 3.6 has no offsets endpoint: the
				// offsets topic (--bootstrap-servers) is the only source.
			default:
				return nil, fmt.Errorf("connector %q: %w", name, err)
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// requireTopic fails unless topic exists: opening a store would create an
// empty one and migrate nothing without saying so.
func requireTopic(o *migrateOptions, sc *sarama.Config, topic, flag string) error {
	client, err := sarama.NewClient(strings.Split(o.brokers, ","), sc)
	if err != nil {
		return fmt.Errorf("--bootstrap-servers %s: %w", o.brokers, err)
	}
	defer client.Close()
	topics, err := client.Topics()
	if err != nil {
		return fmt.Errorf("--bootstrap-servers %s: list topics: %w", o.brokers, err)
	}
	for _, t := range topics {
		if t == topic {
			return nil
		}
	}
	return fmt.Errorf("%s: topic %q does not exist on %s", flag, topic, o.brokers)
}

// readConnectTopics reads the connectors from Kafka Connect's config topic
// and their offsets from its offsets topic, in Kafka Connect's record
// formats.
func (g *globalFlags) readConnectTopics(ctx context.Context, o *migrateOptions, sc *sarama.Config, log *slog.Logger) ([]*migrated, error) {
	if err := requireTopic(o, sc, o.configTopic, "--config-topic"); err != nil {
		return nil, err
	}
	store, err := herder.OpenKafkaConfigStore(ctx, strings.Split(o.brokers, ","), sc, o.configTopic, log)
	if err != nil {
		return nil, err
	}
	snap := store.Snapshot()
	_ = store.Close()
	var out []*migrated
	for _, name := range snap.Names() {
		st := "RUNNING"
		switch snap.Target(name) {
		case herder.TargetPaused:
			st = "PAUSED"
		case herder.TargetStopped:
			st = "STOPPED"
		}
		out = append(out, &migrated{name: name, config: snap.Connectors[name], state: st})
	}
	// Which connectors are sources is known once the classes resolve;
	// offsets are read for every connector, sinks have none there.
	for _, m := range out {
		m.source = true
		if pc, err := runtime.ParseConnector(g.plugins(), config.Connector{Name: m.name, Config: m.config}); err == nil {
			m.source = pc.Plugin.Type != connect.SinkPlugin
		}
	}
	return out, fillOffsetsFromTopic(ctx, o, sc, out, log)
}

// fillOffsetsFromTopic reads the offsets topic for every source connector
// whose offsets are not known yet.
func fillOffsetsFromTopic(ctx context.Context, o *migrateOptions, sc *sarama.Config, cs []*migrated, log *slog.Logger) error {
	need := false
	for _, m := range cs {
		need = need || (m.source && m.offsetsFrom == "")
	}
	if !need {
		return nil
	}
	if err := requireTopic(o, sc, o.offsetsTopic, "--offsets-topic"); err != nil {
		return err
	}
	store, err := offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: strings.Split(o.brokers, ","), Config: sc, Topic: o.offsetsTopic, Logger: log})
	if err != nil {
		return fmt.Errorf("--offsets-topic %s: %w", o.offsetsTopic, err)
	}
	defer store.Close()
	for _, m := range cs {
		if !m.source || m.offsetsFrom != "" {
			continue
		}
		if m.offsets, err = store.List(ctx, m.name); err != nil {
			return fmt.Errorf("connector %q: offsets: %w", m.name, err)
		}
		m.offsetsFrom = "topic " + o.offsetsTopic
	}
	return nil
}

var unsafeFileName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// writeMigration writes the connector files, the offsets and the worker
// file, and reports per connector what was done.
func (g *globalFlags) writeMigration(ctx context.Context, o *migrateOptions, sc *sarama.Config, cs []*migrated, w io.Writer, log *slog.Logger) error {
	connDir := filepath.Join(o.outDir, "connectors")
	if err := os.MkdirAll(connDir, 0o755); err != nil {
		return err
	}
	var store offsets.Store
	worker := map[string]string{}
	if o.toTopic != "" {
		k, err := offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: strings.Split(o.brokers, ","), Config: sc, Topic: o.toTopic, Logger: log})
		if err != nil {
			return fmt.Errorf("--to-offsets-topic %s: %w", o.toTopic, err)
		}
		defer k.Close()
		store = k
		worker["bootstrap.servers"] = o.brokers
		worker["offset.storage.topic"] = o.toTopic
	} else {
		path := o.offsetsFile
		if path == "" {
			path = filepath.Join(o.outDir, "offsets.json")
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		f, err := offsets.OpenFile(abs)
		if err != nil {
			return fmt.Errorf("--offsets-file: %w", err)
		}
		store = f
		worker["offset.storage.file.filename"] = abs
	}
	var problems []string
	for _, m := range cs {
		if o.start {
			m.state = "RUNNING"
		}
		file := filepath.Join(connDir, unsafeFileName.ReplaceAllString(m.name, "_")+".yaml")
		data, err := migratedYAML(m)
		if err != nil {
			return fmt.Errorf("connector %q: %w", m.name, err)
		}
		if err := os.WriteFile(file, data, 0o600); err != nil {
			return err
		}
		line := fmt.Sprintf("%s: %s (%s)", m.name, file, strings.ToLower(m.state))
		if _, err := runtime.ParseConnector(g.plugins(), config.Connector{Name: m.name, Config: m.config}); err != nil {
			problems = append(problems, fmt.Sprintf("%s: not accepted by Tributary as written: %v", file, err))
		}
		if m.source {
			switch {
			case m.offsetsFrom == "":
				problems = append(problems, fmt.Sprintf("connector %q: offsets not read (the REST API has no GET /offsets before Kafka 3.6): pass --bootstrap-servers and --offsets-topic, or the connector starts over with a new snapshot", m.name))
			case len(m.offsets) == 0:
				line += ", no offsets stored: it starts with a snapshot as on Kafka Connect"
			default:
				if err := store.Put(ctx, m.name, m.offsets); err != nil {
					return fmt.Errorf("connector %q: write offsets: %w", m.name, err)
				}
				line += fmt.Sprintf(", %d offset(s) from %s", len(m.offsets), m.offsetsFrom)
			}
		}
		fmt.Fprintln(w, line)
	}
	wf := filepath.Join(o.outDir, "worker.yaml")
	wdata, err := yaml.Marshal(map[string]any{"worker": worker})
	if err != nil {
		return err
	}
	header := "# Written by tributary migrate. Add the converters and client settings of the Kafka Connect\n" +
		"# worker (connect-distributed.properties: key.converter, value.converter, bootstrap.servers...).\n"
	if err := os.WriteFile(wf, append([]byte(header), wdata...), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(w, "worker properties: %s\n", wf)
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(w, "problem: "+p)
		}
		return &exitError{code: 1, err: fmt.Errorf("%d problem(s) migrating", len(problems))}
	}
	return nil
}

// migratedYAML renders a connector file; a paused or stopped connector
// becomes a Strimzi KafkaConnector resource, the connector file format
// that carries a target state.
func migratedYAML(m *migrated) ([]byte, error) {
	header := []byte("# Migrated from Kafka Connect by tributary migrate.\n")
	if m.state != "PAUSED" && m.state != "STOPPED" {
		b, err := yaml.Marshal(map[string]any{"name": m.name, "config": m.config})
		return append(header, b...), err
	}
	cfg := map[string]string{}
	for k, v := range m.config {
		if k != "connector.class" && k != "name" && k != "tasks.max" {
			cfg[k] = v
		}
	}
	spec := map[string]any{"class": m.config["connector.class"], "config": cfg, "state": strings.ToLower(m.state)}
	if tm, ok := m.config["tasks.max"]; ok {
		var n int
		if _, err := fmt.Sscan(tm, &n); err == nil {
			spec["tasksMax"] = n
		}
	}
	b, err := yaml.Marshal(map[string]any{
		"apiVersion": "kafka.strimzi.io/v1beta2",
		"kind":       "KafkaConnector",
		"metadata":   map[string]any{"name": m.name},
		"spec":       spec,
	})
	return append(header, b...), err
}
