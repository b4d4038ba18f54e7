package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/signal"
)

// task is one running connector task.
type task struct {
	c                    *connectorState
	db                   *sql.DB
	server               *serverInfo
	ignoreGtidOnRecovery bool
	flushIdle            time.Duration

	// signals carries the signals of the kafka and file channels and the
	// REST API; sig is the current streaming run's signal state.
	signals <-chan signal.Record
	sig     *sigRun
	// afterChunkRead, set by tests, runs after an incremental snapshot
	// chunk was read, before its window closes.
	afterChunkRead func(TableID, []any)
}

func newTask(f flavor, v *config.Values, tc connect.TaskContext) (*task, error) {
	c, err := newConnectorState(f, v, tc)
	if err != nil {
		return nil, err
	}
	if c.cfg.historyClass == kafkaHistoryClass {
		if tc.Producer == nil {
			return nil, fmt.Errorf("schema.history.internal.kafka.topic %q: there is no Kafka to keep the schema history in (a Kafka-less pipeline); set schema.history.internal=%s with schema.history.internal.file.filename, or %s", c.cfg.historyTopic, fileHistoryClass, redisHistoryClass)
		}
		hs, ok := tc.Producer.(historyStore)
		if !ok {
			return nil, fmt.Errorf("schema.history.internal.kafka.topic %q: the runtime's producer (%T) cannot create the topic or write a single partition, which the schema history needs", c.cfg.historyTopic, tc.Producer)
		}
		c.history = timedHistory{historyStore: hs, cfg: c.cfg.historyClient}
	}
	t := &task{c: c, ignoreGtidOnRecovery: v.Bool("gtid.ignore.on.recovery"), flushIdle: flushIdle}
	if p := c.cfg.pollInterval; p > 0 && p < t.flushIdle {
		// poll.interval.ms bounds how long Debezium's task waits for more
		// records before handing over what it has; the reader never
		// holds records longer than flushIdle, nor than this.
		t.flushIdle = p
	}
	return t, nil
}

// Run snapshots and streams until ctx ends; with snapshot.mode=initial_only
// it returns after the snapshot. An error that means the database
// connection was lost is connect.Retriable: the runtime then calls Run
// again on the same task, which starts over from the stored offsets
// exactly like a new task (the table model is rebuilt from the schema
// history, nothing of the failed run is kept).
func (t *task) Run(ctx context.Context, w connect.RecordWriter) error {
	// not logged here: the runtime logs the failure and the restart
	return classify(ctx, t.run(ctx, w))
}

func (t *task) run(ctx context.Context, w connect.RecordWriter) error {
	c := t.c
	// Nothing of an earlier run survives: its model may be ahead of the
	// committed offset (a DDL statement streamed but not committed).
	c.model = newSchemaModel()
	c.schemas = map[TableID]*tableSchema{}
	t.server = nil
	em := &emitter{w: w, max: c.cfg.maxBatch}
	closeHistory, err := t.openHistory()
	if err != nil {
		return err
	}
	defer closeHistory()
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
			return noRetry(fmt.Errorf("read stored offset: %w", err))
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
	case "initial", "initial_only", "when_needed":
		snapData = prev == nil || prev.initialSnapshotRunning()
		snapSchema = snapData
	case "no_data":
		snapSchema = prev == nil || prev.initialSnapshotRunning()
	case "always":
		snapData, snapSchema = true, true
	case "recovery":
		snapSchema = true
	case "never":
	}
	if prev != nil && prev.initialSnapshotRunning() && snapData {
		c.log.Info("previous snapshot was cancelled before completion; a new snapshot will be taken")
	}
	locking := snapSchema && c.cfg.lockingMode != "none"
	if t.server, err = t.checkServer(ctx, locking); err != nil {
		return err
	}
	for _, n := range t.server.notices {
		c.log.Warn("server setting", "problem", n)
	}

	// The stored position must still be on the server before anything
	// else happens (Debezium's BinlogSourceTask.validateSnapshotFeasibility):
	// a binlog purged while the connector was stopped would otherwise
	// surface as a replication error after the history was recovered, or,
	// worse, silently skip what was purged.
	if prev != nil && !prev.initialSnapshotRunning() && !snapData {
		gap, err := t.binlogGap(ctx, prev)
		if err != nil {
			return err
		}
		if gap != "" {
			if mode != "when_needed" {
				return fmt.Errorf("the connector cannot resume from its stored offset (%s): %s; set snapshot.mode=when_needed to take a new snapshot", describeOffset(prev), gap)
			}
			c.log.Warn("stored offset is no longer available on the server; snapshot.mode=when_needed: taking a new snapshot", "offset", describeOffset(prev), "reason", gap)
			snapData, snapSchema = true, true
			if c.cfg.lockingMode != "none" {
				// the privileges for locking were not checked above
				if _, err := t.checkServer(ctx, true); err != nil {
					return err
				}
			}
		}
	}

	if err := c.ensureHistoryTopic(ctx); err != nil {
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
			return fmt.Errorf("the %s is missing or empty although the connector has a stored offset; recover it by setting snapshot.mode=recovery", c.historyName())
		}
		c.model = model
		c.log.Info("recovered schema history", "records", n, "tables", len(model.tables))
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
	if snapSchema && c.cfg.streamingDelay > 0 {
		// streaming.delay.ms: after a snapshot that completed
		// (ChangeEventSourceCoordinator.delayStreamingIfNeeded)
		c.log.Info("waiting before streaming (streaming.delay.ms)", "delay", c.cfg.streamingDelay)
		if err := sleepCtx(ctx, c.cfg.streamingDelay); err != nil {
			return err
		}
	}
	stopSignals := t.startSignalChannels(ctx)
	defer stopSignals()
	return t.stream(ctx, em, o)
}

// checkServer is checkServer bounded by connect.timeout.ms: a server that
// accepts connections but does not answer (hung, or behind a network that
// drops packets) fails the run retriably instead of stalling it.
func (t *task) checkServer(ctx context.Context, locking bool) (*serverInfo, error) {
	qctx, cancel := t.c.cfg.bounded(ctx)
	defer cancel()
	info, err := checkServer(qctx, t.db, t.c.cfg, locking)
	return info, t.c.cfg.timedOut(ctx, err)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// describeOffset names a stored position for errors and logs.
func describeOffset(o *offsetState) string {
	s := fmt.Sprintf("binlog %s at position %d", o.restartFile, o.restartPos)
	if o.restartGtidSet != "" {
		s += fmt.Sprintf(", GTID set %s", o.restartGtidSet)
	}
	return s
}

// useGtid says whether streaming from o starts at its GTID set rather
// than at its binlog file and position.
func (t *task) useGtid(o *offsetState) bool {
	return t.server.gtidMode && o.restartGtidSet != "" && !t.ignoreGtidOnRecovery
}

// binlogGap reports why the server can no longer stream from o ("" when
// it can), checking what streaming will ask for: the GTID set or the
// binlog file (Debezium's isBinlogAvailable).
func (t *task) binlogGap(ctx context.Context, o *offsetState) (string, error) {
	gap, err := t.checkBinlog(ctx, o)
	return gap, t.c.cfg.timedOut(ctx, err)
}

func (t *task) checkBinlog(ctx context.Context, o *offsetState) (string, error) {
	qctx, cancel := t.c.cfg.bounded(ctx)
	defer cancel()
	switch {
	case t.useGtid(o) && t.server.mariadb:
		return t.mariadbGtidGap(qctx, o.restartGtidSet)
	case t.useGtid(o):
		return t.mysqlGtidGap(qctx, o.restartGtidSet)
	case o.restartFile == "":
		return "", nil // streaming starts at the oldest binlog
	}
	logs, err := binaryLogs(qctx, t.db)
	if err != nil {
		return "", err
	}
	for _, l := range logs {
		if l == o.restartFile {
			return "", nil
		}
	}
	return fmt.Sprintf("binlog file %s is no longer on the server, whose binary logs are %s..%s (purged, e.g. by PURGE BINARY LOGS or expire_logs_days)",
		o.restartFile, logs[0], logs[len(logs)-1]), nil
}

// mariadbGtidGap compares the offset's GTID position with the server's:
// its binlog state (the newest GTID per domain) and the Gtid_list at the
// start of its oldest binary log (the position just before the first
// event still on the server). MariaDB has no gtid_purged; a domain's
// events are available from the offset on only if the offset is at or
// after that list's GTID of the domain.
func (t *task) mariadbGtidGap(ctx context.Context, set string) (string, error) {
	need, err := maxSeqByDomain(set)
	if err != nil {
		return "", fmt.Errorf("stored offset %s %q: %w", offGtids, set, err)
	}
	var stateS string
	if err := t.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_state").Scan(&stateS); err != nil {
		return "", fmt.Errorf("read gtid_binlog_state: %w", err)
	}
	state, err := maxSeqByDomain(stateS)
	if err != nil {
		return "", fmt.Errorf("server gtid_binlog_state %q: %w", stateS, err)
	}
	logs, err := binaryLogs(ctx, t.db)
	if err != nil {
		return "", err
	}
	var startS sql.NullString // NULL if the file was purged meanwhile
	if err := t.db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, 4)", logs[0]).Scan(&startS); err != nil {
		return "", fmt.Errorf("read the GTID position at the start of binlog %s (BINLOG_GTID_POS): %w", logs[0], err)
	}
	start, err := maxSeqByDomain(startS.String)
	if err != nil {
		return "", fmt.Errorf("GTID position %q at the start of binlog %s: %w", startS.String, logs[0], err)
	}
	domains := make([]uint32, 0, len(need))
	for d := range need {
		domains = append(domains, d)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i] < domains[j] })
	for _, d := range domains {
		n := need[d]
		if !t.c.cfg.gtidFilter.Match(n.source()) {
			// a source gtid.source.includes/excludes leaves out, as
			// Debezium's isBinlogPositionAvailable retains only the others
			continue
		}
		if have, ok := state[d]; !ok || have.seq < n.seq {
			return fmt.Sprintf("the server's binary logs do not contain GTID %s (its gtid_binlog_state is %q): the binary log was reset, or this is another server", n, stateS), nil
		}
		if s, ok := start[d]; ok && n.seq < s.seq {
			return fmt.Sprintf("the binlog events after GTID %s were purged: the server's oldest binary log %s starts after GTID %s", n, logs[0], s), nil
		}
	}
	return "", nil
}

// mysqlGtidGap is Debezium's GTID check for MySQL: the offset's GTID set
// must be within gtid_executed, and every purged GTID (of the sources
// gtid.source.includes/excludes select) must be in the offset's set.
func (t *task) mysqlGtidGap(ctx context.Context, set string) (string, error) {
	need, err := parseMySQLGtidSet(set)
	if err != nil {
		return "", fmt.Errorf("stored offset %s %q: %w", offGtids, set, err)
	}
	var executedS, purgedS string
	if err := t.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed, @@GLOBAL.gtid_purged").Scan(&executedS, &purgedS); err != nil {
		return "", fmt.Errorf("read gtid_executed and gtid_purged: %w", err)
	}
	executed, err := parseMySQLGtidSet(executedS)
	if err != nil {
		return "", fmt.Errorf("server gtid_executed: %w", err)
	}
	purged, err := parseMySQLGtidSet(purgedS)
	if err != nil {
		return "", fmt.Errorf("server gtid_purged: %w", err)
	}
	// Debezium's isBinlogPositionAvailable: only the sources
	// gtid.source.includes/excludes select count
	need = need.retain(t.c.cfg.gtidFilter)
	if !executed.contains(need) {
		return fmt.Sprintf("the server's gtid_executed %s does not contain the connector's GTID set: the binary log was reset, or this is another server", executed), nil
	}
	missing := purged.retain(t.c.cfg.gtidFilter).subtract(need)
	if len(missing.sets) > 0 {
		return fmt.Sprintf("the server purged GTIDs %s that the connector has not read yet", missing), nil
	}
	return "", nil
}

// binaryLogs lists the server's binary log files, oldest first.
func binaryLogs(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return nil, fmt.Errorf("list binary logs (SHOW BINARY LOGS needs REPLICATION CLIENT): %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("list binary logs: %w", err)
	}
	var names []string
	for rows.Next() {
		vals := make([]any, len(cols))
		var name string
		vals[0] = &name
		for i := 1; i < len(vals); i++ {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return nil, fmt.Errorf("list binary logs: %w", err)
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list binary logs: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("the server has no binary logs (is log_bin enabled?)")
	}
	return names, nil
}
