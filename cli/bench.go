package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tributary-io/tributary/internal/bench"
)

func newBenchCmd(g *globalFlags) *cobra.Command {
	var (
		rows, small                          int
		rates                                []float64
		duration                             time.Duration
		scenarios                            []string
		jsonPath, cpuProfile                 string
		memProfile, brokerProfile, brokerLog string
		markdown, noIdleBin                  bool
		reportPath                           string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure throughput, latency, CPU and memory of the connectors against the physical limits",
		Long: `bench starts throwaway PostgreSQL 15 and MariaDB 10.11 servers and a Kafka broker (a child
process), runs each scenario through the same runtime as 'tributary run', and measures the
limit of the same work done by the databases' and Kafka's own tools in the same run:
server-side pgoutput decoding and pg_recvlogical, mysqlbinlog, COPY TO/FROM and LOAD DATA,
and a raw sarama producer. Each Tributary figure is printed with its ratio to those limits.

Scenarios: ` + strings.Join(bench.Scenarios, ", ") + `.
The default size (N=200000) runs in a few minutes on 2 cores; --rows 1000000 is the full size,
--rows 2000 a smoke test. CPU seconds and peak RSS are this process's own (the broker and the
load generators run in child processes); the idle scenario measures a separate 'tributary run'.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if bench.IsChild() {
				return bench.RunChild(cmd.Context())
			}
			if reportPath != "" {
				f, err := os.Open(reportPath)
				if err != nil {
					return fmt.Errorf("--report: %w", err)
				}
				defer f.Close()
				rep, err := bench.ReadReport(f)
				if err != nil {
					return fmt.Errorf("--report %s: %w", reportPath, err)
				}
				rep.PrintTable(cmd.OutOrStdout(), markdown)
				return nil
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("bench: locating the tributary executable: %w", err)
			}
			cfg := bench.Config{
				Rows: rows, SmallTxns: small, Rates: rates, Duration: duration, Scenarios: scenarios,
				Plugins: g.plugins(), Converters: g.converters(), Transforms: g.transformRegistry(), Sinks: g.pipelineRunner(log).Sinks,
				ChildExe: exe, ChildArgs: []string{"bench"}, TributaryBinary: exe, BrokerCPUProfile: brokerProfile, BrokerLog: brokerLog,
				Progress: cmd.ErrOrStderr(), Logger: log,
			}
			if noIdleBin {
				cfg.TributaryBinary = ""
			}
			if cpuProfile != "" {
				stop, err := bench.StartCPUProfile(cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer stop()
			}
			rep, err := bench.Run(cmd.Context(), cfg)
			if rep != nil {
				fmt.Fprintln(cmd.OutOrStdout())
				rep.PrintTable(cmd.OutOrStdout(), markdown)
				if jsonPath != "" {
					f, ferr := os.Create(jsonPath)
					if ferr != nil {
						return fmt.Errorf("--json: %w", ferr)
					}
					if werr := rep.WriteJSON(f); werr != nil {
						f.Close()
						return fmt.Errorf("--json %s: %w", jsonPath, werr)
					}
					if cerr := f.Close(); cerr != nil {
						return fmt.Errorf("--json %s: %w", jsonPath, cerr)
					}
				}
			}
			if memProfile != "" {
				f, ferr := os.Create(memProfile)
				if ferr != nil {
					return fmt.Errorf("--memprofile: %w", ferr)
				}
				runtime.GC()
				// allocs carries both allocation totals (alloc_space) and
				// what is still live (inuse_space).
				if werr := pprof.Lookup("allocs").WriteTo(f, 0); werr != nil {
					f.Close()
					return fmt.Errorf("--memprofile: %w", werr)
				}
				if cerr := f.Close(); cerr != nil {
					return fmt.Errorf("--memprofile: %w", cerr)
				}
			}
			if err != nil {
				return err
			}
			if len(rep.Failures) > 0 {
				return fmt.Errorf("bench: %d scenario(s) failed", len(rep.Failures))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&rows, "rows", 200000, "N: table size for snapshots, polls and sinks, and rows of the large transaction")
	f.IntVar(&small, "small-txns", 0, "single-row transactions in the streaming backlog (default rows/2)")
	f.Float64SliceVar(&rates, "rate", []float64{1000, 10000}, "single-row transactions per second in the live latency phases (one phase per rate)")
	f.DurationVar(&duration, "duration", 10*time.Second, "length of each live latency phase")
	f.StringSliceVar(&scenarios, "scenarios", nil, "comma-separated scenarios to run (default all): "+strings.Join(bench.Scenarios, ","))
	f.StringVar(&jsonPath, "json", "", "also write the results as JSON to this file")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	f.StringVar(&brokerLog, "broker-log", "", "where the broker child keeps topics: files or memory (default: memory when a sink scenario runs, files otherwise)")
	f.StringVar(&brokerProfile, "broker-cpuprofile", "", "write a CPU profile of the broker child process (kfake and the schema registry) to this file")
	f.StringVar(&memProfile, "memprofile", "", "write an allocation profile (alloc and inuse) at the end to this file")
	f.BoolVar(&markdown, "markdown", false, "print the table as Markdown")
	f.BoolVar(&noIdleBin, "no-idle-process", false, "skip starting 'tributary run' for the idle scenario")
	f.StringVar(&reportPath, "report", "", "print the results stored by an earlier --json FILE instead of running")
	return cmd
}
