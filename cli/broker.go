package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/internal/kafka"
)

// newBrokerCmd runs the embedded development broker as a process of its
// own, so that tests can kill, freeze (SIGSTOP) or restart Kafka without
// touching the connector process that uses it.
func newBrokerCmd(g *globalFlags) *cobra.Command {
	var listen, dataDir string
	cmd := &cobra.Command{
		Use:   "broker --listen HOST:PORT [--data-dir DIR]",
		Short: "Run the embedded development Kafka broker on its own until interrupted (tests and demos; not a production broker)",
		Long: `Run the embedded in-process Kafka broker (the one 'run' starts without
bootstrap.servers) as a standalone process until SIGINT or SIGTERM.

The broker advertises the address it listens on, so HOST must be one its
clients can reach. With --data-dir, topics survive a restart (including
kill -9) on the same data directory. Once it accepts connections it prints
"broker listening on HOST:PORT" on standard output.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return err
			}
			// nil logger: StartEmbedded's warning speaks of a missing
			// bootstrap.servers, which means nothing here.
			emb, err := kafka.StartEmbeddedAddr(listen, dataDir, nil)
			if err != nil {
				return fmt.Errorf("broker on %s: %w", listen, err)
			}
			defer emb.Close()
			addrs := strings.Join(emb.Addrs(), ",")
			log.Info("embedded Kafka broker started (development and tests only)", "listen", addrs, "data.dir", dataDir)
			if _, err := fmt.Fprintf(cmd.OutOrStdout(), "broker listening on %s\n", addrs); err != nil {
				return fmt.Errorf("announcing the broker address: %w", err)
			}
			<-cmd.Context().Done()
			log.Info("embedded Kafka broker stopping", "listen", addrs)
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:9092", "HOST:PORT to listen on and advertise (port 0 picks a free one)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "directory that keeps topics across restarts (empty: in memory)")
	return cmd
}
