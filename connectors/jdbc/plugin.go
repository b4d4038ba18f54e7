package jdbc

import (
	"context"
	"log/slog"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// Class is Confluent's connector class name, accepted unchanged.
const Class = "io.confluent.connect.jdbc.JdbcSourceConnector"

// Version is the Confluent JDBC connector release whose properties and
// offsets this source follows.
const Version = "10.9.0-tributary"

// Plugin describes the query-based JDBC source.
func Plugin() *connect.Plugin {
	return &connect.Plugin{
		Class:   Class,
		Aliases: []string{"jdbc", "jdbc-source", "JdbcSourceConnector"},
		Type:    connect.SourcePlugin,
		Version: Version,
		Config:  Def,
		// As Confluent's JdbcSourceConnector: a custom query runs in one
		// task, tables are split over up to tasks.max tasks.
		MaxTasks: func(cfg *config.Values) int {
			if cfg.String("query") != "" {
				return 1
			}
			return int(cfg.Int("tasks.max"))
		},
		Validate: func(ctx context.Context, cfg *config.Values) error {
			s, err := parseSettings(cfg)
			if err != nil {
				return err
			}
			return validate(ctx, s)
		},
		NewSourceTask: func(ctx context.Context, cfg *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			s, err := parseSettings(cfg)
			if err != nil {
				return nil, err
			}
			// The runtime's logger already names the connector and task.
			s.log = tc.Logger
			if s.log == nil {
				s.log = slog.Default()
			}
			return newTask(s, tc), nil
		},
	}
}

// validate connects and resolves every table and column the configuration
// names, so errors surface before the task starts.
func validate(ctx context.Context, s *settings) error {
	t := newTask(s, connect.TaskContext{})
	if err := t.connect(ctx); err != nil {
		return err
	}
	defer t.d.close()
	if s.query != "" {
		sql := "SELECT * FROM (" + s.query + ") tributary_query WHERE 1 = 0"
		it, err := t.d.query(ctx, sql, nil)
		if err != nil {
			return &queryError{source: "custom query", sql: sql, err: err}
		}
		cols := it.columns()
		it.close()
		q, err := t.newQueryQuerier(ctx)
		if err != nil {
			return err
		}
		_, err = q.shapeFor(cols)
		return err
	}
	return t.refreshTables(ctx, true)
}
