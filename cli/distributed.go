package cli

import (
	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect/config"
)

func newStandaloneCmd(g *globalFlags) *cobra.Command {
	var files, connectorDirs []string
	var restAddr string
	cmd := &cobra.Command{
		Use:   "standalone [-c] CONFIG [[-c] CONFIG...] [--rest HOST:PORT]",
		Short: "Run connectors in one process with file offsets and Kafka Connect's REST API",
		Long: `Run the connectors defined in the given files like Kafka Connect's connect-standalone:
offsets in offset.storage.file.filename, and (with --rest or the listeners worker property)
Kafka Connect's REST API, through which connectors can be added, changed, paused, stopped,
restarted and deleted. Changes made through the API last as long as the process, as in
Kafka Connect standalone; the files are the lasting configuration.

Files may also be given without -c, as to connect-standalone: tributary standalone
connect-standalone.properties connector1.properties connector2.properties takes Kafka
Connect's own files (a .properties file with connector.class is a connector, its name from
name=; any other is worker properties).

--connectors-dir DIR (or -c DIR) applies the connector files of a directory while running:
see run.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files := append(files, args...)
			env, err := newWorkerEnv(g)
			if err != nil {
				return err
			}
			files, dirs := splitDirs(files)
			env.connectorDirs = append(dirs, connectorDirs...)
			file := &config.File{Worker: map[string]string{}}
			if len(files) > 0 || len(env.connectorDirs) == 0 {
				if file, err = loadWorkerFiles(files); err != nil {
					return err
				}
			}
			if restAddr != "" {
				file.Worker["listeners"] = "http://" + restAddr
			}
			_, rest := file.Worker["listeners"]
			return runWorker(cmd.Context(), env, file, false, rest || restAddr != "")
		},
	}
	cmd.Flags().StringArrayVarP(&files, "config", "c", nil, "worker/connector configuration file (YAML, JSON or worker .properties), or a directory of connector files")
	cmd.Flags().StringVar(&restAddr, "rest", "", "serve the REST API on HOST:PORT (same as listeners=http://HOST:PORT)")
	cmd.Flags().StringArrayVar(&connectorDirs, connectorsDirFlag, nil, connectorsDirUsage)
	return cmd
}

func newDistributedCmd(g *globalFlags) *cobra.Command {
	var files, connectorDirs []string
	cmd := &cobra.Command{
		Use:   "distributed [-c] WORKER_CONFIG",
		Short: "Run a worker of a distributed cluster (Kafka Connect's connect-distributed)",
		Long: `Run a distributed worker. Workers sharing group.id form a cluster through Kafka's group
membership protocol and keep connector configurations, offsets and statuses in the topics
config.storage.topic, offset.storage.topic and status.storage.topic, in Kafka Connect's own
record formats: a Tributary cluster can take over the topics of a Kafka Connect cluster.
Connectors are managed through the REST API on any worker (listeners, default http://:8083).
The worker configuration may be a Kafka Connect connect-distributed.properties file, given
with -c or, as to connect-distributed, as the argument.

--connectors-dir DIR applies the connector files of a directory (a ConfigMap mounted in
every worker's pod; Strimzi KafkaConnector resources are accepted): the group's leader
creates, reconfigures and deletes connectors as files are added, changed and removed.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			files := append(files, args...)
			env, err := newWorkerEnv(g)
			if err != nil {
				return err
			}
			file, err := loadWorkerFiles(files)
			if err != nil {
				return err
			}
			env.connectorDirs = connectorDirs
			return runWorker(cmd.Context(), env, file, true, true)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "config", "c", nil, "worker configuration file (YAML, JSON or .properties)")
	cmd.Flags().StringArrayVar(&connectorDirs, connectorsDirFlag, nil, connectorsDirUsage)
	return cmd
}
