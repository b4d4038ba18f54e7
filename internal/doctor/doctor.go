// Package doctor holds the result type of tributary doctor's preflight
// checks and renders them as a table. The checks themselves live with what
// they check (each connector package, the Kafka and registry checks in the
// command), so they use the same connection settings as the connector.
package doctor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is the outcome of one check.
type Status string

const (
	Pass Status = "PASS"
	Warn Status = "WARN"
	Fail Status = "FAIL"
)

// Check is one line of the report. Fix says what to change, for every
// warning and failure.
type Check struct {
	Scope  string // connector name, "worker", "kafka", "registry"
	Name   string // e.g. wal_level
	Status Status
	Detail string
	Fix    string
}

// Options are the operator's expectations the checks compare against.
type Options struct {
	// Downtime is the longest the connector is expected to be stopped:
	// binlog/WAL retention shorter than this loses events.
	Downtime time.Duration
	// WALSample is how long the PostgreSQL check reads the server's WAL
	// position to measure its current write rate (0: only the long-run
	// average of pg_stat_wal).
	WALSample time.Duration
}

// Failed reports whether any check failed.
func Failed(cs []Check) bool {
	for _, c := range cs {
		if c.Status == Fail {
			return true
		}
	}
	return false
}

// Render writes the table and, under it, the fixes numbered per line.
func Render(w io.Writer, cs []Check) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tSCOPE\tCHECK\tDETAIL")
	for _, c := range cs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Status, c.Scope, c.Name, oneLine(c.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var fixes []string
	for _, c := range cs {
		if c.Status != Pass && c.Fix != "" {
			fixes = append(fixes, fmt.Sprintf("%s %s %s: %s", c.Status, c.Scope, c.Name, oneLine(c.Fix)))
		}
	}
	if len(fixes) > 0 {
		fmt.Fprintln(w, "\nHow to fix:")
		for _, f := range fixes {
			fmt.Fprintln(w, "  "+f)
		}
	}
	var pass, warn, fail int
	for _, c := range cs {
		switch c.Status {
		case Pass:
			pass++
		case Warn:
			warn++
		case Fail:
			fail++
		}
	}
	_, err := fmt.Fprintf(w, "\n%d passed, %d warnings, %d failed\n", pass, warn, fail)
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
