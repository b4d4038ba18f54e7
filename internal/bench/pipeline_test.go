package bench

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/pipeline"
	natssink "github.com/tributary-io/tributary/sinks/nats"
	"github.com/tributary-io/tributary/sinks/webhook"
)

// TestPipelineScenarios runs pg-nats and pg-webhook at smoke size: every
// change of the backlog reaches the sink, the raw publish limit of the
// same server is measured beside it, and the live phase has latencies.
func TestPipelineScenarios(t *testing.T) {
	const rows = 2000
	cfg := testConfig(t, rows, PGNATS, PGWebhook)
	cfg.Plugins = append(cfg.Plugins, natssink.Plugin(), webhook.Plugin())
	cfg.Sinks = map[string]pipeline.SinkFactory{
		natssink.Class: {Def: natssink.Def, Offsets: "nats",
			New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
				return natssink.NewPublisher(ctx, v, log)
			}},
		webhook.Class: {Def: webhook.Def,
			New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
				return webhook.NewPublisher(ctx, v, log)
			}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 || len(rep.Skipped) > 0 {
		t.Fatalf("failures: %v, skipped: %v", rep.Failures, rep.Skipped)
	}
	var sb strings.Builder
	rep.PrintTable(&sb, false)
	t.Log("\n" + sb.String())
	for _, tt := range []struct{ scenario, limit string }{{PGNATS, limitJetStream}, {PGWebhook, limitHTTP}} {
		var backlog, limit, live *Result
		for i, r := range rep.Results {
			switch {
			case r.Scenario != tt.scenario:
			case r.Case == "backlog: 1000 single-row txns" && !r.Limit:
				backlog = &rep.Results[i]
			case r.Case == "backlog: 1000 single-row txns" && strings.HasPrefix(r.Name, tt.limit):
				limit = &rep.Results[i]
			case strings.HasPrefix(r.Case, caseLive):
				live = &rep.Results[i]
			}
		}
		if backlog == nil || limit == nil || live == nil {
			t.Errorf("%s: missing rows (backlog %v, limit %v, live %v)", tt.scenario, backlog, limit, live)
			continue
		}
		if backlog.Events != rows/2 || backlog.Bytes < rows/2*100 || backlog.EventsPerSec <= 0 {
			t.Errorf("%s backlog row %+v", tt.scenario, *backlog)
		}
		if limit.Ratio == nil || *limit.Ratio <= 0 || limit.Events != rows/2 {
			t.Errorf("%s limit row %+v", tt.scenario, *limit)
		}
		if live.LatencyP50Ms == nil || *live.LatencyP50Ms <= 0 || *live.LatencyP99Ms < *live.LatencyP50Ms || live.Events < 1000 {
			t.Errorf("%s live row %+v", tt.scenario, *live)
		}
	}
}
