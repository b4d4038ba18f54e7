// Package cli is the tributary command: `run`, `standalone`,
// `distributed`, `validate` and the rest. cmd/tributary runs it with the
// built-in plugins; a custom binary runs it with its own connectors and
// transforms added (see Extensions and examples/).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with
// -ldflags "-X github.com/tributary-io/tributary/cli.version=...".
var version = "0.1.0-dev"

// exitError carries a specific exit code (e.g. 1 incompatible, 2 usage for
// schema check) through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// Main runs the tributary command with os.Args and returns its exit
// status: the built-in connectors, converters and transforms, plus ext's.
// A custom binary's main is os.Exit(cli.Main(ext)).
func Main(ext Extensions) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(ext)
	root.SetArgs(os.Args[1:])
	return exitStatus(ctx, root.ExecuteContext(ctx), os.Stderr)
}

// exitStatus is the process's exit status for a command that returned
// err under ctx, the context that SIGINT and SIGTERM cancel.
func exitStatus(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// The signal arrived while the command was still starting (a
		// store being opened, a connector being submitted): a stop, not
		// a failure, as Kafka Connect's workers exit 0 on SIGTERM.
		return 0
	}
	fmt.Fprintln(stderr, "error:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

type globalFlags struct {
	logLevel  string
	logFormat string
	ext       Extensions
}

func (g *globalFlags) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", g.logLevel, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch g.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: must be text or json", g.logFormat)
}

func newRootCmd(ext Extensions) *cobra.Command {
	g := &globalFlags{ext: ext}
	root := &cobra.Command{
		Use:           "tributary",
		Short:         "Debezium-compatible change data capture without Kafka Connect",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "text or json")
	root.AddCommand(newRunCmd(g), newValidateCmd(g), newVersionCmd(), newDemoCmd(g), newPluginsCmd(g), newStandaloneCmd(g), newDistributedCmd(g), newBenchCmd(g), newRegistryCmd(g), newSchemaCmd(g))
	root.AddCommand(newBrokerCmd(g))
	root.AddCommand(newDoctorCmd(g), newMigrateCmd(g), newDocsCmd(g))
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "tributary %s (Debezium event format %s)\n", version, debeziumVersion())
			return nil
		},
	}
}
