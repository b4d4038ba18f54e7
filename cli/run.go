package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/runtime"
)

func debeziumVersion() string { return debezium.Version }

// loadFiles merges several config files: worker properties from all, every
// connector once.
func loadFiles(paths []string) (*config.File, error) {
	if len(paths) == 0 {
		return nil, errors.New("no configuration: pass -c FILE")
	}
	paths, err := expandDirs(paths)
	if err != nil {
		return nil, err
	}
	out := &config.File{Worker: map[string]string{}}
	seen := map[string]string{} // connector name: file
	for _, p := range paths {
		f, err := config.LoadFile(p)
		if err != nil {
			return nil, err
		}
		for k, v := range f.Worker {
			if old, ok := out.Worker[k]; ok && old != v {
				return nil, fmt.Errorf("%s: worker property %q conflicts with an earlier file", p, k)
			}
			out.Worker[k] = v
		}
		for _, c := range f.Connectors {
			if first, ok := seen[c.Name]; ok && first != p {
				return nil, fmt.Errorf("%s: connector %q is already defined in %s; connector names must be unique across files", p, c.Name, first)
			}
			seen[c.Name] = p
		}
		out.Connectors = append(out.Connectors, f.Connectors...)
		if f.Sink != nil {
			if out.Sink != nil {
				return nil, fmt.Errorf("%s: a second sink: section; a pipeline has one sink", p)
			}
			out.Sink = f.Sink
		}
	}
	return out, nil
}

func newRunCmd(g *globalFlags) *cobra.Command {
	var files []string
	var brokerPort int
	cmd := &cobra.Command{
		Use:   "run -c CONFIG [-c CONFIG...]",
		Short: "Run source connectors (standalone mode, file offsets)",
		Long: `Run the connectors defined in the given YAML or JSON files until interrupted.

A file holds one connector ({name, config}) or several (connectors: [...]) and
optionally worker properties (worker: {bootstrap.servers: ..., offset.storage.file.filename: ...}).
Without bootstrap.servers an embedded in-process Kafka broker is started (development only):
its address is printed on standard output, its port is free unless --broker-port (or the
worker property embedded.broker.port) fixes it, and it keeps its topics in tributary-broker/
beside the offsets file (embedded.broker.data.dir), so that a second run finds the events
the stored offsets point after.
On SIGINT/SIGTERM the connectors stop reading, Kafka is flushed, offsets are committed and the
process exits 0. A connector that fails is not restarted: the others keep running and the
process exits 1 with its error once all have ended. With the REST API or metrics
(listeners, rest.port, metrics.port) or a connector directory, failed tasks are restarted
with backoff (task.restart.backoff.ms) instead, as by standalone.

A CONFIG that is a directory (a mounted ConfigMap) holds connector files: every *.yaml, *.yml
and *.json in it, including Strimzi KafkaConnector resources. Files added, changed and removed
while running start, reconfigure (restarting only that connector) and delete connectors.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			files, dirs := splitDirs(files)
			file, err := loadConfigOrEmpty(files, dirs)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("broker-port") {
				if file.Worker == nil {
					file.Worker = map[string]string{}
				}
				if v, ok := file.Worker["embedded.broker.port"]; ok && v != strconv.Itoa(brokerPort) {
					return fmt.Errorf("--broker-port=%d and the worker property embedded.broker.port=%s disagree; set one", brokerPort, v)
				}
				file.Worker["embedded.broker.port"] = strconv.Itoa(brokerPort)
			}
			printEmbedded := func(addrs []string, dataDir string) {
				fmt.Fprintln(cmd.OutOrStdout(), embeddedBrokerLine(addrs, dataDir))
			}
			_, attachRegistry, stopRegistry, err := startEmbeddedRegistry(cmd.Context(), file.Worker, log)
			if err != nil {
				return err
			}
			defer stopRegistry()
			if file.Sink != nil {
				// A Kafka-less pipeline: the sources' events go to the sink.
				releasePages(log, "configuration")
				return g.pipelineRunner(log).Run(cmd.Context(), file)
			}
			env, err := newWorkerEnv(g)
			if err != nil {
				return err
			}
			env.onBrokers = attachRegistry
			env.onEmbeddedBroker = printEmbedded
			env.connectorDirs = dirs
			return runConnectors(cmd.Context(), env, file)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "config", "c", nil, "connector/worker configuration file (YAML or JSON), or a directory of connector files")
	cmd.Flags().IntVar(&brokerPort, "broker-port", 0, "the embedded broker's port on 127.0.0.1 (without bootstrap.servers; worker property embedded.broker.port)")
	return cmd
}

// embeddedBrokerLine is what `run` prints on standard output when it
// starts the embedded broker, so that a consumer can be pointed at it.
func embeddedBrokerLine(addrs []string, dataDir string) string {
	where := "in memory: events are lost at exit"
	if dataDir != "" {
		where = "data in " + dataDir
	}
	return fmt.Sprintf("embedded Kafka broker: %s (%s)", strings.Join(addrs, ","), where)
}

// runConnectors is `tributary run`: the standalone worker, offsets in
// offset.storage.file.filename (or offset.storage.topic), the REST API
// and metrics only when the worker properties ask for them. Without
// those and without connector directories nothing could restart or
// reconfigure a connector, so the worker ends with its connectors: it
// returns once every task has ended (or ctx ends) with the errors of
// those that failed, which become the exit status.
func runConnectors(ctx context.Context, env *workerEnv, file *config.File) error {
	services := wantsWorkerServices(file.Worker)
	if !services && len(env.connectorDirs) == 0 {
		if len(file.Connectors) == 0 {
			return errors.New("no connectors configured")
		}
		env.exitWhenTasksEnd = true
	}
	return runWorker(ctx, env, file, false, services)
}

// wantsWorkerServices reports whether the worker properties ask for the
// REST API or the metrics endpoint.
func wantsWorkerServices(worker map[string]string) bool {
	for _, k := range []string{"listeners", "rest.port", "metrics.port"} {
		if _, ok := worker[k]; ok {
			return true
		}
	}
	return false
}

// runEnv is the environment of `run`'s worker with the given logger
// (the demo's and tests'; the command's own has adjustable levels).
func (g *globalFlags) runEnv(log *slog.Logger) *workerEnv {
	return &workerEnv{plugins: g.plugins(), converters: g.converters(), transforms: g.transformRegistry(), log: log}
}

func newValidateCmd(g *globalFlags) *cobra.Command {
	var files []string
	var offline bool
	cmd := &cobra.Command{
		Use:   "validate -c CONFIG",
		Short: "Check connector and worker properties (and, unless --offline, connectivity and server settings)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			file, err := loadFiles(files)
			if err != nil {
				return err
			}
			var problems []string
			var parsed []*runtime.Connector
			// Exactly-once settings are checked as `run` applies them:
			// offsets in Kafka with offset.storage.topic, else in a file.
			var eos *runtime.ExactlyOnce
			if wv, err := runtime.WorkerDef().Parse(file.Worker); err != nil {
				problems = append(problems, "worker: "+err.Error())
			} else if _, err := runtime.WorkerSaramaConfig(wv, nil); err != nil {
				problems = append(problems, err.Error())
			} else if e, err := runtime.WorkerExactlyOnce(wv, wv.String("offset.storage.topic") != ""); err != nil {
				problems = append(problems, "worker: "+err.Error())
			} else {
				eos = &e
			}
			if file.Sink != nil {
				problems = append(problems, g.sinkProblems(cmd.Context(), log, file, offline)...)
			}
			for _, c := range file.Connectors {
				pc, err := runtime.ParseConnector(g.plugins(), c)
				if err != nil {
					problems = append(problems, err.Error())
					continue
				}
				if _, _, err := runtime.Converters(g.converters(), pc, file.Worker); err != nil {
					problems = append(problems, err.Error())
					continue
				}
				if eos != nil {
					if errs := eos.Check(pc); len(errs) > 0 {
						problems = append(problems, fmt.Sprintf("connector %q: %v", c.Name, errs))
						continue
					}
				}
				if _, err := g.transformRegistry().Build(pc.Values); err != nil {
					problems = append(problems, fmt.Sprintf("connector %q: %v", c.Name, err))
					continue
				}
				if !offline && pc.Plugin.Validate != nil {
					if err := pc.Plugin.Validate(cmd.Context(), pc.Values); err != nil {
						// A driver's connection error may quote the DSN.
						problems = append(problems, fmt.Sprintf("connector %q: %v", c.Name, pc.Values.Scrubber().Error(err)))
						continue
					}
				}
				parsed = append(parsed, pc)
				log.Info("connector configuration is valid", "connector", c.Name, "class", pc.Plugin.Class)
			}
			if err := runtime.CheckConflicts(parsed); err != nil {
				problems = append(problems, err.Error())
			}
			if len(problems) > 0 {
				for _, p := range problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				return &exitError{code: 1, err: fmt.Errorf("%d configuration problem(s)", len(problems))}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "configuration is valid")
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "config", "c", nil, "configuration file (YAML or JSON)")
	cmd.Flags().BoolVar(&offline, "offline", false, "check properties only; do not connect to databases")
	return cmd
}

// sinkProblems checks the sink: section of a Kafka-less pipeline as run
// does before it starts: the sink's class and properties, offset.storage
// against what the sink's server can hold, at least one connector and,
// unless offline, that a publisher to the sink's server can be made (it
// is closed again at once).
func (g *globalFlags) sinkProblems(ctx context.Context, log *slog.Logger, file *config.File, offline bool) []string {
	var problems []string
	if len(file.Connectors) == 0 {
		problems = append(problems, "sink: no connectors configured to feed it")
	}
	sv, sf, err := g.pipelineRunner(log).ParseSink(file.Sink)
	if err != nil {
		return append(problems, err.Error())
	}
	if offline {
		return problems
	}
	scrub := sv.Scrubber()
	pub, err := sf.New(ctx, sv, scrub.Logger(log))
	if err != nil {
		// A connection error may quote a URL with credentials.
		return append(problems, scrub.Error(fmt.Errorf("sink: %w", err)).Error())
	}
	if err := pub.Close(); err != nil {
		log.Warn("closing the sink's test connection failed", "error", scrub.Error(err))
	}
	log.Info("sink configuration is valid", "class", file.Sink["connector.class"])
	return problems
}

func newPluginsCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "plugins",
		Short: "List connector classes and transforms",
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			for _, p := range g.plugins() {
				fmt.Fprintf(out, "%-6s %s (aliases: %s)\n", p.Type, p.Class, strings.Join(p.Aliases, ", "))
			}
			reg := g.transformRegistry()
			for _, t := range reg.Classes() {
				fmt.Fprintf(out, "transform %s\n", t)
			}
			for _, p := range reg.PredicateClasses() {
				fmt.Fprintf(out, "predicate %s\n", p)
			}
			return nil
		},
	}
}
