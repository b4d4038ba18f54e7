package bench

import (
	"context"
	"fmt"
	"strings"
)

// SMTChain is the transforms chain the pg-stream-transforms scenario
// measures: the chain most Debezium deployments run (flatten the envelope
// to the row with the operation and source timestamp, rename the topic,
// stamp a static field), in connector properties.
var SMTChain = map[string]string{
	"transforms":                     "unwrap,route,insert",
	"transforms.unwrap.type":         "io.debezium.transforms.ExtractNewRecordState",
	"transforms.unwrap.add.fields":   "op,source.ts_ms",
	"transforms.route.type":          "org.apache.kafka.connect.transforms.RegexRouter",
	"transforms.route.regex":         `([^.]+)\.public\.(.*)`,
	"transforms.route.replacement":   "$1.$2",
	"transforms.insert.type":         "org.apache.kafka.connect.transforms.InsertField$Value",
	"transforms.insert.static.field": "pipeline",
	"transforms.insert.static.value": "tributary-bench",
}

// smtChainName names the chain in result cases and goals.
const smtChainName = "unwrap+RegexRouter+InsertField"

// Cases of pg-stream-transforms; goals() pairs them by these suffixes.
const (
	caseWithoutSMT = "without transforms"
	caseWithSMT    = "with " + smtChainName
)

// smtRounds is how many times each variant consumes the backlog. The
// variants alternate (without, with, without, with) so that a change in
// the machine's load during the run weighs on both alike.
const smtRounds = 2

// pgStreamTransforms measures what the transforms chain adds to the CPU
// cost of a PostgreSQL streaming event: one backlog of single-row
// transactions is consumed by connectors with and without SMTChain, each
// from a replication slot of its own created before the backlog, so that
// both see exactly the same events. Only CPU time is compared: it is this
// process's own (getrusage), which other work on a shared machine
// disturbs much less than throughput.
func (e *env) pgStreamTransforms(ctx context.Context) error {
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	var slots []string
	for r := 1; r <= smtRounds; r++ {
		slots = append(slots, fmt.Sprintf("smt_plain_%d", r), fmt.Sprintf("smt_chain_%d", r))
	}
	defer e.pgDropSlots(ctx, slots...)
	if err := e.pgCreateSlots(ctx, slots...); err != nil {
		return err
	}
	e.progress("   %d single-row transactions (4 connections, as fast as possible)", e.cfg.SmallTxns)
	load, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Count: e.cfg.SmallTxns, Conns: 4})
	if err != nil {
		return err
	}
	for r := 1; r <= smtRounds; r++ {
		for _, chain := range []bool{false, true} {
			name, c := "plain", caseWithoutSMT
			if chain {
				name, c = "chain", caseWithSMT
			}
			prefix := fmt.Sprintf("smt%s%d", name, r)
			props := e.pgSourceProps(prefix, fmt.Sprintf("smt_%s_%d", name, r))
			props["snapshot.mode"] = "no_data"
			if chain {
				for k, v := range SMTChain {
					props[k] = v
				}
			}
			res, run, err := e.catchUpCase(ctx, PGStreamSMT, fmt.Sprintf("bench-pg-smt-%s-%d", name, r), props, load.Done,
				fmt.Sprintf("backlog: %d single-row txns, %s (round %d)", load.Done, c, r))
			if err != nil {
				return err
			}
			if err := run.stop(); err != nil {
				return err
			}
			if res.Events != load.Done {
				return fmt.Errorf("%s: %d events for a backlog of %d", res.Case, res.Events, load.Done)
			}
			e.deleteTopics(prefix+".public.bench", prefix+".bench")
		}
	}
	if g, ok := smtGoal(e.report.Results); ok {
		e.progress("   %s: %s", g.Goal, g.Measured)
	}
	return nil
}

// smtGoal compares the CPU time per event of the pg-stream-transforms
// rows with and without the chain, over all rounds.
func smtGoal(results []Result) (Goal, bool) {
	var cpu, events [2]float64
	for _, x := range results {
		if x.Scenario != PGStreamSMT || x.Limit || x.CPUSeconds == nil {
			continue
		}
		i := -1
		switch {
		case strings.Contains(x.Case, caseWithoutSMT):
			i = 0
		case strings.Contains(x.Case, caseWithSMT):
			i = 1
		}
		if i >= 0 {
			cpu[i] += *x.CPUSeconds
			events[i] += float64(x.Events)
		}
	}
	if events[0] == 0 || events[1] == 0 || cpu[0] == 0 {
		return Goal{}, false
	}
	without, with := cpu[0]/events[0]*1e6, cpu[1]/events[1]*1e6
	ratio := with / without
	return Goal{
		Goal:     fmt.Sprintf("%s: %s adds <= %.0f%% CPU per event", PGStreamSMT, smtChainName, goalSMTOverhead*100),
		Measured: fmt.Sprintf("x%.3f (%.2f vs %.2f µs CPU/event)", ratio, with, without),
		Met:      ratio <= 1+goalSMTOverhead,
	}, true
}
