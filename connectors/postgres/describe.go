package postgres

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// DescribeSchemas returns the key and value (envelope) schemas of every
// captured table as the snapshot would build them from the live catalog
// right now; it implements connect.Plugin.DescribeSchemas for
// `tributary schema check/export`. Keyless tables have a nil Key.
func DescribeSchemas(ctx context.Context, cfg *config.Values) ([]connect.TopicSchema, error) {
	log := slog.New(slog.DiscardHandler)
	c, err := parseConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	t := &pgTask{cfg: c, log: log}
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	defer t.close(ctx)
	ids, err := t.capturedTables(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]connect.TopicSchema, 0, len(ids))
	for _, id := range ids {
		tbl, err := t.cat.readTable(ctx, id, true)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", id, err)
		}
		ts, err := c.schemas.build(tbl)
		if err != nil {
			return nil, fmt.Errorf("describe %s: %w", id, err)
		}
		out = append(out, connect.TopicSchema{Topic: ts.topic, Key: ts.key, Value: ts.envelope})
	}
	return out, nil
}
