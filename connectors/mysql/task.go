package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tributary-io/tributary/internal/config"
	"github.com/tributary-io/tributary/internal/connect"
)

// task is one running connector task.
type task struct {
	c                    *connectorState
	db                   *sql.DB
	server               *serverInfo
	ignoreGtidOnRecovery bool
	flushIdle            time.Duration
}

func newTask(f flavor, v *config.Values, tc connect.TaskContext) (*task, error) {
	c, err := newConnectorState(f, v, tc)
	if err != nil {
		return nil, err
	}
	if tc.Producer == nil {
		return nil, fmt.Errorf("schema.history.internal.kafka.topic %q: the runtime gave the task no producer for the schema history", c.cfg.historyTopic)
	}
	return &task{c: c, ignoreGtidOnRecovery: v.Bool("gtid.ignore.on.recovery"), flushIdle: flushIdle}, nil
}

// Run snapshots and streams until ctx ends; with snapshot.mode=initial_only
// it returns after the snapshot.
func (t *task) Run(ctx context.Context, w connect.RecordWriter) error {
	c := t.c
	em := &emitter{w: w, max: c.cfg.maxBatch}
	db, err := c.cfg.openDB()
	if err != nil {
		return err
	}
	t.db = db
	defer db.Close()

	var prev *offsetState
	if c.tc.Offsets != nil {
		m, err := c.tc.Offsets.Offset(ctx, c.partition)
		if err != nil {
			return fmt.Errorf("read stored offset: %w", err)
		}
		if m != nil {
			if prev, err = loadOffset(m); err != nil {
				return fmt.Errorf("stored offset %v: %w", m, err)
			}
			prev.txMetadata = c.cfg.txMetadata
			c.log.Info("found previous offset", "offset", m)
		}
	}
	mode := c.cfg.snapshotMode
	snapData, snapSchema := false, false
	switch mode {
	case "initial", "initial_only":
		snapData = prev == nil || prev.initialSnapshotRunning()
		snapSchema = snapData
	case "no_data":
		snapSchema = prev == nil || prev.initialSnapshotRunning()
	case "always":
		snapData, snapSchema = true, true
	case "recovery":
		snapSchema = true
	case "when_needed":
		snapData = prev == nil || prev.initialSnapshotRunning()
		if !snapData {
			ok, err := t.positionAvailable(ctx, prev)
			if err != nil {
				return err
			}
			snapData = !ok
		}
		snapSchema = snapData
	case "never":
	}
	if prev != nil && prev.initialSnapshotRunning() && snapData {
		c.log.Info("previous snapshot was cancelled before completion; a new snapshot will be taken")
	}
	locking := snapSchema && c.cfg.lockingMode != "none"
	if t.server, err = checkServer(ctx, db, c.cfg, locking); err != nil {
		return err
	}

	var o *offsetState
	switch {
	case snapSchema:
		if o, err = t.snapshot(ctx, em, prev, snapData); err != nil {
			return err
		}
	case prev != nil:
		model, n, err := c.recoverHistory(ctx, prev.offset())
		if err != nil {
			return err
		}
		if n == 0 && mode != "never" {
			return fmt.Errorf("the schema history topic %q is missing or empty although the connector has a stored offset; recover it by setting snapshot.mode=recovery", c.cfg.historyTopic)
		}
		c.model = model
		c.log.Info("recovered schema history", "records", n, "tables", len(model.tables))
		ok, err := t.positionAvailable(ctx, prev)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the connector is trying to read binlog %s at position %d, but it is no longer available on the server; reconfigure the connector with snapshot.mode=when_needed to take a new snapshot", prev.restartFile, prev.restartPos)
		}
		o = prev
	default: // never, without offset: from the oldest binlog
		o = newOffsetState()
		o.txMetadata = c.cfg.txMetadata
	}
	if err := em.flush(ctx); err != nil {
		return err
	}
	if mode == "initial_only" {
		c.log.Info("snapshot.mode=initial_only: not streaming")
		return nil
	}
	return t.stream(ctx, em, o)
}

// positionAvailable reports whether the offset's binlog file is still on
// the server (GTID offsets are checked by the server when streaming).
func (t *task) positionAvailable(ctx context.Context, o *offsetState) (bool, error) {
	if o.restartFile == "" || o.restartGtidSet != "" {
		return true, nil
	}
	rows, err := t.db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return false, fmt.Errorf("list binary logs (needs REPLICATION CLIENT): %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return false, err
		}
		if name == o.restartFile {
			return true, nil
		}
	}
	return false, rows.Err()
}
