package bench

import (
	"fmt"
	"strings"
)

// Issue 14's goals. The CPU goals were stated in µs on the machine where
// pg_recvlogical used issue14RecvCPU µs per event on the same backlog; a
// slower or faster machine moves both, so each CPU goal is also reported
// as the same multiple of pg_recvlogical's CPU in this run.
const (
	goalJSONCPUMicros = 15.0
	goalAvroCPUMicros = 10.0
	issue14RecvCPU    = 8.5 // µs per event, pg_recvlogical, as the issue measured
	goalBinlogRatio   = 1.0 // of mysqlbinlog > /dev/null, wall time
)

// limitRecvNull is pg_recvlogical writing to /dev/null: issue 14's
// reference for CPU per event and the Avro run's wall time.
const limitRecvNull = "pg_recvlogical -f /dev/null --endpos"

func isIssue14(scenario string) bool {
	return scenario == PGStreamIssue14 || scenario == MyStreamIssue14
}

// issue14Goals holds each Tributary row of the issue-14 scenarios against
// the issue's goals, with the reference tool's row of the same case.
func issue14Goals(rs []Result) []Goal {
	var out []Goal
	for _, x := range rs {
		if x.Limit || !isIssue14(x.Scenario) || x.CPUSeconds == nil || x.Events == 0 {
			continue
		}
		label := fmt.Sprintf("%s, %s (%s)", x.Scenario, x.Case, x.Name)
		cpu := cpuMicros(x)
		switch {
		case strings.Contains(x.Case, "MariaDB"):
			tool, ok := caseLimit(rs, x.Case, limitBinlog+" > /dev/null")
			if !ok || x.Seconds <= 0 {
				continue
			}
			ratio := tool.Seconds / x.Seconds
			out = append(out, Goal{
				Goal: fmt.Sprintf("%s: streaming >= %.1f x mysqlbinlog > /dev/null", label, goalBinlogRatio),
				Measured: fmt.Sprintf("%.2f x (%.2f s against %.2f s; %.1f µs CPU/event against the tool's %.1f)",
					ratio, x.Seconds, tool.Seconds, cpu, cpuMicros(tool)),
				Met: ratio >= goalBinlogRatio,
			})
		default:
			goal, conv := goalJSONCPUMicros, "JSON"
			if strings.Contains(x.Case, "Avro") {
				goal, conv = goalAvroCPUMicros, "Avro"
			}
			out = append(out, Goal{
				Goal:     fmt.Sprintf("%s: %s CPU/event <= %.0f µs", label, conv, goal),
				Measured: fmt.Sprintf("%.1f µs", cpu),
				Met:      cpu <= goal,
			})
			recv, ok := caseLimit(rs, x.Case, limitRecvNull)
			if !ok || recv.CPUSeconds == nil {
				continue
			}
			ratio, want := cpu/cpuMicros(recv), goal/issue14RecvCPU
			out = append(out, Goal{
				Goal:     fmt.Sprintf("%s: %s CPU/event <= %.2f x pg_recvlogical's (the issue's %.0f µs at its %.1f µs)", label, conv, want, goal, issue14RecvCPU),
				Measured: fmt.Sprintf("%.2f x (%.1f µs against %.1f µs)", ratio, cpu, cpuMicros(recv)),
				Met:      ratio <= want,
			})
			if conv == "Avro" {
				out = append(out, Goal{
					Goal:     fmt.Sprintf("%s: wall time <= pg_recvlogical's", label),
					Measured: fmt.Sprintf("%.2f s against %.2f s", x.Seconds, recv.Seconds),
					Met:      x.Seconds <= recv.Seconds,
				})
			}
		}
	}
	return out
}

// caseLimit finds the limit row of a case whose name starts with name.
func caseLimit(rs []Result, caseName, name string) (Result, bool) {
	for _, r := range rs {
		if r.Limit && r.Case == caseName && strings.HasPrefix(r.Name, name) {
			return r, true
		}
	}
	return Result{}, false
}

func cpuMicros(r Result) float64 {
	if r.CPUSeconds == nil || r.Events == 0 {
		return 0
	}
	return *r.CPUSeconds * 1e6 / float64(r.Events)
}
