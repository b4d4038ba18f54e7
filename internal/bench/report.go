package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Goal thresholds (reported, not asserted).
const (
	goalStreamRatio   = 0.50 // of server-side decoding
	goalSnapshotRatio = 0.70 // of COPY TO
	goalP99Ms         = 50.0 // at goalRate
	goalRate          = 10000.0
	goalIdleRSSMB     = 30.0
	goalStreamRSSMB   = 64.0  // issue 14: peak of a separate `tributary run` streaming a backlog
	goalSnapshotRSSMB = 128.0 // "bounded": well below the data volume of a large snapshot
	goalSMTOverhead   = 0.10  // CPU per streamed event added by SMTChain
)

// PrintTable writes the results as an aligned text table, or as a
// Markdown table when markdown is set.
func (r *Report) PrintTable(w io.Writer, markdown bool) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs (%s), %d MB, Linux %s, %s, PostgreSQL %s, MariaDB %s; load average %s at start, %s at end\n",
		m.CPUs, m.CPUModel, m.MemoryMB, m.Kernel, m.GoVersion, m.Postgres, m.MariaDB, m.LoadAvgStart, m.LoadAvgEnd)
	fmt.Fprintf(w, "N = %d rows; run took %.0f s\n\n", r.Rows, r.Seconds)
	head := []string{"scenario", "case", "measured by", "events", "seconds", "events/s", "MB/s", "p50 ms", "p99 ms", "CPU s", "peak RSS MB", "tributary / limit"}
	var rows [][]string
	for _, x := range r.Results {
		name := x.Name
		if x.Limit {
			name = "limit: " + name
		}
		row := []string{x.Scenario, x.Case, name, fmt.Sprint(x.Events), fmt.Sprintf("%.2f", x.Seconds), fmt.Sprintf("%.0f", x.EventsPerSec),
			opt(x.MBPerSec > 0, "%.1f", x.MBPerSec), optp(x.LatencyP50Ms, "%.1f"), optp(x.LatencyP99Ms, "%.1f"),
			optp(x.CPUSeconds, "%.2f"), optp(x.PeakRSSMB, "%.0f"), optp(x.Ratio, "%.2f")}
		if x.Note != "" {
			row[2] += " (" + x.Note + ")"
		}
		rows = append(rows, row)
	}
	if markdown {
		fmt.Fprintf(w, "| %s |\n", strings.Join(head, " | "))
		fmt.Fprintf(w, "|%s\n", strings.Repeat("---|", len(head)))
		for _, row := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(head, "\t"))
		for _, row := range rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
		tw.Flush()
	}
	if len(r.Goals) > 0 {
		fmt.Fprintln(w)
		if markdown {
			fmt.Fprintln(w, "| goal | measured | met |")
			fmt.Fprintln(w, "|---|---|---|")
		}
		for _, g := range r.Goals {
			met := "no"
			if g.Met {
				met = "yes"
			}
			if markdown {
				fmt.Fprintf(w, "| %s | %s | %s |\n", g.Goal, g.Measured, met)
			} else {
				fmt.Fprintf(w, "goal %-55s measured %-45s met: %s\n", g.Goal, g.Measured, met)
			}
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped: %s\n", s)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "FAILED: %s\n", f)
	}
}

func opt(ok bool, f string, v float64) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf(f, v)
}

func optp(v *float64, f string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(f, *v)
}

// ReadReport loads a report written by WriteJSON and derives its goals
// again (so that a stored run can be re-printed, e.g. as Markdown).
func ReadReport(r io.Reader) (*Report, error) {
	var rep Report
	if err := json.NewDecoder(r).Decode(&rep); err != nil {
		return nil, fmt.Errorf("bench report: %w", err)
	}
	rep.Goals = goals(&rep)
	return &rep, nil
}

// goals derives the tracked goals from the results.
func goals(r *Report) []Goal {
	var out []Goal
	for _, x := range r.Results {
		if !x.Limit || x.Ratio == nil || isIssue14(x.Scenario) {
			continue
		}
		switch {
		case strings.HasPrefix(x.Name, limitPeek) || strings.HasPrefix(x.Name, limitBinlog):
			out = append(out, Goal{
				Goal:     fmt.Sprintf("%s %s: streaming >= %.0f%% of server-side decoding", x.Scenario, x.Case, goalStreamRatio*100),
				Measured: fmt.Sprintf("%.0f%% (%s)", *x.Ratio*100, x.Name),
				Met:      *x.Ratio >= goalStreamRatio,
			})
		case (strings.HasPrefix(x.Name, limitCopyTo) || strings.HasPrefix(x.Name, limitSelect)) && strings.HasSuffix(x.Scenario, "snapshot"):
			out = append(out, Goal{
				Goal:     fmt.Sprintf("%s, %s: snapshot >= %.0f%% of %s", x.Scenario, x.Case, goalSnapshotRatio*100, x.Name),
				Measured: fmt.Sprintf("%.0f%%", *x.Ratio*100),
				Met:      *x.Ratio >= goalSnapshotRatio,
			})
		}
	}
	for _, x := range r.Results {
		switch {
		case !x.Limit && x.LatencyP99Ms != nil && strings.HasPrefix(x.Case, fmt.Sprintf("%s %.0f ", caseLive, goalRate)):
			dest := "Kafka"
			if x.Scenario == PGNATS || x.Scenario == PGWebhook {
				dest = "sink"
			}
			out = append(out, Goal{
				Goal: fmt.Sprintf("%s: p99 commit-to-%s latency < %.0f ms at %.0fk events/s", x.Scenario, dest, goalP99Ms, goalRate/1000),
				Measured: fmt.Sprintf("p99 %.1f ms at %.0f events/s (p50 %.1f ms)",
					*x.LatencyP99Ms, x.EventsPerSec, *x.LatencyP50Ms),
				Met: *x.LatencyP99Ms < goalP99Ms && x.EventsPerSec >= 0.95*goalRate,
			})
		case !x.Limit && x.Scenario == Idle && x.PeakRSSMB != nil:
			out = append(out, Goal{
				Goal:     fmt.Sprintf("idle RSS < %.0f MB (%s)", goalIdleRSSMB, x.Case),
				Measured: idleMeasured(x),
				Met:      *x.PeakRSSMB < goalIdleRSSMB,
			})
		case !x.Limit && x.Scenario == PGStreamIssue14 && x.Name == nameProcess && x.PeakRSSMB != nil:
			out = append(out, Goal{
				Goal:     fmt.Sprintf("%s, %s: peak RSS streaming <= %.0f MB (%s)", x.Scenario, x.Case, goalStreamRSSMB, nameProcess),
				Measured: fmt.Sprintf("%.0f MB", *x.PeakRSSMB),
				Met:      *x.PeakRSSMB <= goalStreamRSSMB,
			})
		case !x.Limit && strings.HasSuffix(x.Scenario, "snapshot") && x.PeakRSSMB != nil:
			out = append(out, Goal{
				Goal: fmt.Sprintf("%s, %s: RSS bounded during snapshot (< %.0f MB, independent of N)", x.Scenario, x.Case, goalSnapshotRSSMB),
				Measured: fmt.Sprintf("peak %.0f MB while writing %.0f MB of events (N=%d)",
					*x.PeakRSSMB, float64(x.Bytes)/1e6, x.Events),
				Met: *x.PeakRSSMB < goalSnapshotRSSMB,
			})
		}
	}
	if g, ok := smtGoal(r.Results); ok {
		out = append(out, g)
	}
	return append(out, issue14Goals(r.Results)...)
}

// idleMeasured is an idle row's RSS with its private and file-backed
// parts when they were measured.
func idleMeasured(x Result) string {
	if x.RSSAnonMB == nil || x.RSSFileMB == nil {
		return fmt.Sprintf("%.1f MB", *x.PeakRSSMB)
	}
	return fmt.Sprintf("%.1f MB (RssAnon %.1f + RssFile %.1f)", *x.PeakRSSMB, *x.RSSAnonMB, *x.RSSFileMB)
}
