package bus

import (
	"context"
	"log/slog"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// SinkPlugin is the connector plugin of a sink that publishes to a bus:
// validation opens (and closes) a publisher, each task publishes through
// its own with the record encoding its properties give, and tasks.max
// tasks share the topics' partitions as Kafka Connect's sinks do.
func SinkPlugin[P Publisher](class string, aliases []string, def func() *config.Def,
	open func(ctx context.Context, v *config.Values, log *slog.Logger) (P, error)) *connect.Plugin {
	return &connect.Plugin{
		Class:    class,
		Aliases:  aliases,
		Type:     connect.SinkPlugin,
		Version:  "1.0.0",
		Config:   def,
		MaxTasks: func(v *config.Values) int { return int(v.Int("tasks.max")) },
		Validate: func(ctx context.Context, v *config.Values) error {
			p, err := open(ctx, v, nil)
			if err != nil {
				return err
			}
			return p.Close()
		},
		NewSinkTask: func(ctx context.Context, v *config.Values, tc connect.TaskContext) (connect.SinkTask, error) {
			p, err := open(ctx, v, tc.Logger)
			if err != nil {
				return nil, err
			}
			enc, err := NewEncoder(v)
			if err != nil {
				p.Close()
				return nil, err
			}
			return &SinkTask{Pub: p, Enc: enc, Log: tc.Logger}, nil
		},
	}
}
