package cli

import (
	"context"
	"log/slog"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/pipeline"
	natssink "github.com/tributary-io/tributary/sinks/nats"
	redissink "github.com/tributary-io/tributary/sinks/redis"
	"github.com/tributary-io/tributary/sinks/webhook"
)

// pipelineRunner runs `tributary run` files with a sink: section
// (Kafka-less pipelines) into the bus sinks built in.
func (g *globalFlags) pipelineRunner(log *slog.Logger) *pipeline.Runner {
	return &pipeline.Runner{
		Plugins: g.plugins(), Converters: g.converters(), Transforms: g.transformRegistry(), Logger: log,
		Sinks: map[string]pipeline.SinkFactory{
			natssink.Class: {Def: natssink.Def, Offsets: "nats",
				New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
					return natssink.NewPublisher(ctx, v, log)
				}},
			webhook.Class: {Def: webhook.Def,
				New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
					return webhook.NewPublisher(ctx, v, log)
				}},
			redissink.Class: {Def: redissink.Def, Offsets: "redis",
				New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
					return redissink.NewPublisher(ctx, v, log)
				}},
		},
	}
}
