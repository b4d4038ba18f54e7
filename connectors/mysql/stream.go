package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/tributary-io/tributary/internal/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// flushIdle is how long the reader waits for the next binlog event before
// handing buffered records to the runtime. Records are normally handed over
// at each transaction end, after each DDL statement and every max.batch.size
// records; this only catches what is emitted outside those points
// (heartbeats, rows of XA transactions, whose end is not tracked).
const flushIdle = 20 * time.Millisecond

// binlogReadAhead bounds how many parsed binlog events go-mysql's reader
// goroutine queues ahead of the connector (its default is 10240). Each rows
// event carries the decoded images of up to binlog_row_event_max_size (8 KB
// by default) of rows, so the default let a 200k-row transaction be decoded
// almost entirely ahead of the writer: 517 MB peak RSS. 256 events (a few
// thousand rows) still keep the reader busy while the connector converts;
// what follows the connector is bounded by the runtime. It is not derived
// from max.queue.size, which counts change events (Debezium's queue between
// the connector and Kafka Connect), not binlog events of many rows each.
const binlogReadAhead = 256

// permanentError marks streaming failures that a reconnect cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// stream reads the binlog from o's restart position until ctx ends,
// reconnecting with backoff when the connection drops.
func (t *task) stream(ctx context.Context, em *emitter, o *offsetState) error {
	backoff := 500 * time.Millisecond
	for {
		start := time.Now()
		err := t.streamOnce(ctx, em, o)
		if ctx.Err() != nil {
			em.flush(context.WithoutCancel(ctx))
			return nil
		}
		var pe *permanentError
		if errors.As(err, &pe) {
			return pe.err
		}
		if ferr := em.flush(ctx); ferr != nil {
			return ferr
		}
		if time.Since(start) > time.Minute {
			backoff = 500 * time.Millisecond
		}
		t.c.log.Warn("binlog connection lost; reconnecting from the last processed position", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		if backoff < 30*time.Second {
			backoff *= 2
		}
		// restart exactly like a task restart from the stored offset
		n, lerr := loadOffset(o.offset())
		if lerr != nil {
			return lerr
		}
		n.serverID, n.txMetadata = o.serverID, o.txMetadata
		n.txCtxID, n.txCounts, n.txOrder, n.txTotal = o.txCtxID, o.txCounts, o.txOrder, o.txTotal
		*o = *n
	}
}

var dmlPrefix = regexp.MustCompile(`(?i)^(INSERT|UPDATE|DELETE|REPLACE)\s`)
var setStatementPrefix = regexp.MustCompile(`(?is)^SET\s+STATEMENT\s+.*?\s+FOR\s+`)

// streamState is BinlogStreamingChangeEventSource's per-connection state.
type streamState struct {
	tableIDs      map[uint64]TableID
	gtids         gtidSet
	eventsToSkip  int64
	rowsToSkip    int
	skipEvent     bool
	eventTS       time.Time
	lastHeartbeat time.Time
	tx            *txTracker
}

func (t *task) syncerConfig() (replication.BinlogSyncerConfig, error) {
	c := t.c
	cfg := replication.BinlogSyncerConfig{
		ServerID:                c.cfg.serverID,
		Flavor:                  gmysql.MySQLFlavor,
		Host:                    c.cfg.host,
		Port:                    uint16(c.cfg.port),
		User:                    c.cfg.user,
		Password:                c.cfg.password,
		ParseTime:               false,
		TimestampStringLocation: time.UTC,
		UseDecimal:              false,
		DisableRetrySync:        true,
		MaxReconnectAttempts:    1,
		Logger:                  slog.New(slog.DiscardHandler),
		DiscardGTIDSet:          true,
		EventCacheCount:         binlogReadAhead,
	}
	if c.cfg.flavor.mariadb || t.server.mariadb {
		cfg.Flavor = gmysql.MariaDBFlavor
	}
	hb := c.cfg.keepAliveInterval
	if hb <= 0 || hb > 30*time.Second {
		hb = 30 * time.Second
	}
	if c.cfg.heartbeatInterval > 0 && c.cfg.heartbeatInterval < hb {
		hb = c.cfg.heartbeatInterval
	}
	if hb < time.Second {
		hb = time.Second
	}
	cfg.HeartbeatPeriod = hb
	cfg.ReadTimeout = 3 * hb
	tc, _, err := c.cfg.tlsConfig()
	if err != nil {
		return cfg, err
	}
	if tc != nil && c.cfg.sslMode != "preferred" && c.cfg.sslMode != "trust" {
		cfg.TLSConfig = tc
	}
	return cfg, nil
}

func (t *task) streamOnce(ctx context.Context, em *emitter, o *offsetState) error {
	c := t.c
	cfg, err := t.syncerConfig()
	if err != nil {
		return permanent(err)
	}
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()

	st := &streamState{tableIDs: map[uint64]TableID{}}
	if c.cfg.txMetadata {
		st.tx = &txTracker{c: c, o: o}
	}
	mariadb := cfg.Flavor == gmysql.MariaDBFlavor
	useGtid := t.server.gtidMode && o.restartGtidSet != "" && !t.ignoreGtidOnRecovery
	var streamer *replication.BinlogStreamer
	if useGtid {
		set, err := gmysql.ParseGTIDSet(cfg.Flavor, o.restartGtidSet)
		if err != nil {
			return permanent(fmt.Errorf("offset gtids %q: %w", o.restartGtidSet, err))
		}
		if st.gtids, err = parseGtidSet(mariadb, o.restartGtidSet); err != nil {
			return permanent(err)
		}
		c.log.Info("registering binlog reader with GTID set", "gtids", o.restartGtidSet)
		streamer, err = syncer.StartSyncGTID(set)
		if err != nil {
			return fmt.Errorf("start binlog stream at GTID set %q on %s:%d: %w", o.restartGtidSet, c.cfg.host, c.cfg.port, err)
		}
	} else {
		file, pos := o.restartFile, o.restartPos
		if file == "" {
			if file, err = t.firstBinlog(ctx); err != nil {
				return err
			}
			pos = 4
		}
		if t.server.gtidMode {
			st.gtids, _ = parseGtidSet(mariadb, "")
		}
		c.log.Info("registering binlog reader", "file", file, "pos", pos)
		streamer, err = syncer.StartSync(gmysql.Position{Name: file, Pos: uint32(pos)})
		if err != nil {
			return fmt.Errorf("start binlog stream at %s:%d on %s:%d: %w", file, pos, c.cfg.host, c.cfg.port, err)
		}
	}
	st.eventsToSkip = o.restartEvents
	st.rowsToSkip = o.restartRows
	c.log.Info("streaming started", "skip_events", st.eventsToSkip, "skip_rows", st.rowsToSkip)
	for {
		var ev *replication.BinlogEvent
		if len(em.buf) > 0 {
			wctx, cancel := context.WithTimeout(ctx, t.flushIdle)
			ev, err = streamer.GetEvent(wctx)
			cancel()
			if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				if err := em.flush(ctx); err != nil {
					return permanent(err)
				}
				continue
			}
		} else {
			ev, err = streamer.GetEvent(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read binlog from %s:%d: %w", c.cfg.host, c.cfg.port, err)
		}
		if err := t.handleEvent(ctx, em, o, st, ev, mariadb); err != nil {
			return permanent(err)
		}
	}
}

// firstBinlog returns the oldest binlog file still on the server, where
// snapshot.mode=never starts.
func (t *task) firstBinlog(ctx context.Context) (string, error) {
	rows, err := t.db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return "", fmt.Errorf("list binary logs: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", errors.New("the server has no binary logs")
	}
	vals := make([]any, len(cols))
	var name string
	vals[0] = &name
	for i := 1; i < len(vals); i++ {
		vals[i] = new(any)
	}
	if err := rows.Scan(vals...); err != nil {
		return "", err
	}
	return name, nil
}

// handleEvent is BinlogStreamingChangeEventSource.handleEvent.
func (t *task) handleEvent(ctx context.Context, em *emitter, o *offsetState, st *streamState, ev *replication.BinlogEvent, mariadb bool) error {
	h := ev.Header
	if h.EventType == replication.HEARTBEAT_EVENT || h.EventType == replication.HEARTBEAT_LOG_EVENT_V2 {
		return t.heartbeat(ctx, em, o, st, true)
	}
	if h.Timestamp != 0 {
		st.eventTS = time.Unix(int64(h.Timestamp), 0)
	}
	o.serverID = int64(h.ServerID)
	if re, ok := ev.Event.(*replication.RotateEvent); ok {
		o.setBinlogStartPoint(string(re.NextLogName), int64(re.Position))
		st.tableIDs = map[uint64]TableID{}
	} else if h.LogPos > 0 {
		o.setEventPosition(int64(h.LogPos)-int64(h.EventSize), int64(h.EventSize))
	}
	var err error
	switch e := ev.Event.(type) {
	case *replication.QueryEvent:
		err = t.handleQuery(ctx, em, o, st, e)
	case *replication.XIDEvent:
		err = t.commit(ctx, em, o, st)
	case *replication.TableMapEvent:
		id := TableID{DB: string(e.Schema), Table: string(e.Table)}
		st.tableIDs[e.TableID] = id
		if t.c.captured(id) && t.c.model.table(id) == nil {
			err = t.unknownTable(id, o, h)
		}
	case *replication.RowsEvent:
		err = t.handleRows(ctx, em, o, st, ev, e)
	case *replication.GTIDEvent:
		if len(e.SID) != 16 {
			return fmt.Errorf("GTID event at %s:%d: source id of %d bytes", o.file, o.pos, len(e.SID))
		}
		gtid := fmt.Sprintf("%x-%x-%x-%x-%x:%d", e.SID[0:4], e.SID[4:6], e.SID[6:8], e.SID[8:10], e.SID[10:16], e.GNO)
		if e.OriginalCommitTimestamp != 0 {
			st.eventTS = time.UnixMicro(int64(e.OriginalCommitTimestamp))
		}
		if st.gtids == nil {
			st.gtids, _ = parseGtidSet(false, "")
		}
		if err := st.gtids.add(gtid); err != nil {
			return err
		}
		o.startGtid(gtid, st.gtids.String())
	case *replication.MariadbGTIDEvent:
		gtid := fmt.Sprintf("%d-%d-%d", e.GTID.DomainID, h.ServerID, e.GTID.SequenceNumber)
		if st.gtids == nil {
			st.gtids, _ = parseGtidSet(true, "")
		}
		if err := st.gtids.add(gtid); err != nil {
			return err
		}
		o.startGtid(gtid, st.gtids.String())
		err = t.begin(ctx, em, o, st, -1)
	case *replication.RowsQueryEvent:
		if t.c.cfg.includeQuery {
			q := string(e.Query)
			o.query = &q
		}
	case *replication.MariadbAnnotateRowsEvent:
		if t.c.cfg.includeQuery {
			q := string(e.Query)
			o.query = &q
		}
	case *replication.TransactionPayloadEvent:
		for _, inner := range e.Events {
			if err := t.handleEvent(ctx, em, o, st, inner, mariadb); err != nil {
				return err
			}
		}
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.heartbeat(ctx, em, o, st, false); err != nil {
		return err
	}
	o.completeEvent()
	if st.skipEvent {
		st.eventsToSkip--
		st.skipEvent = st.eventsToSkip > 0
	}
	return nil
}

// heartbeat emits a heartbeat record when heartbeat.interval.ms elapsed.
func (t *task) heartbeat(ctx context.Context, em *emitter, o *offsetState, st *streamState, server bool) error {
	iv := t.c.cfg.heartbeatInterval
	if iv <= 0 {
		return nil
	}
	now := t.c.now()
	if now.Sub(st.lastHeartbeat) < iv {
		return nil
	}
	st.lastHeartbeat = now
	return em.emit(ctx, debezium.HeartbeatRecord(t.c.cfg.heartbeatTopic, t.c.cfg.topicPrefix, t.c.partition, o.offset(), now))
}

func (t *task) unknownTable(id TableID, o *offsetState, h *replication.EventHeader) error {
	msg := fmt.Sprintf("encountered change event for table %s whose schema isn't known to this connector (at %s:%d); the schema history topic %q may be incomplete: take a new snapshot, or set snapshot.mode=recovery to rebuild the history",
		id, o.file, o.pos, t.c.cfg.historyTopic)
	switch t.c.cfg.inconsistentMode {
	case "warn":
		t.c.log.Warn(msg)
		return nil
	case "skip":
		return nil
	}
	return errors.New(msg)
}

func (t *task) begin(ctx context.Context, em *emitter, o *offsetState, st *streamState, thread int64) error {
	o.startNextTransaction()
	if st.tx != nil {
		if err := st.tx.begin(ctx, em, st.eventTS); err != nil {
			return err
		}
	}
	if thread >= 0 {
		o.threadID = thread
	}
	if st.eventsToSkip != 0 {
		st.skipEvent = true
	}
	return nil
}

func (t *task) commit(ctx context.Context, em *emitter, o *offsetState, st *streamState) error {
	if st.tx != nil {
		if err := st.tx.end(ctx, em, st.eventTS); err != nil {
			return err
		}
	}
	o.commitTransaction()
	o.threadID = -1
	st.skipEvent = false
	// Hand the transaction to the runtime now: under a steady load the binlog
	// never pauses long enough for the idle flush, and waiting for a full
	// batch made every event wait for max.batch.size-1 others.
	return em.flush(ctx)
}

func (t *task) handleQuery(ctx context.Context, em *emitter, o *offsetState, st *streamState, e *replication.QueryEvent) error {
	sql := strings.TrimSpace(string(e.Query))
	switch strings.ToUpper(sql) {
	case "BEGIN":
		return t.begin(ctx, em, o, st, int64(e.SlaveProxyID))
	case "COMMIT":
		return t.commit(ctx, em, o, st)
	}
	upper := strings.ToUpper(strings.TrimSpace(setStatementPrefix.ReplaceAllString(sql, "")))
	if strings.HasPrefix(upper, "XA ") {
		return nil
	}
	if !isTruncate(sql) && t.c.cfg.ddlFiltered(sql) {
		return nil
	}
	if dmlPrefix.MatchString(upper) {
		t.c.log.Warn("received DML in a query event; the binlog probably contains statement- or mixed-format events, which are ignored", "sql", truncateForLog(sql))
		return nil
	}
	if upper == "ROLLBACK" {
		t.c.log.Warn("ROLLBACK statement in the binlog cannot be handled without binlog buffering")
		return nil
	}
	truncates, err := t.c.handleDDL(ctx, em, o, sql, string(e.Schema), st.eventTS, false)
	if err != nil {
		return fmt.Errorf("binlog %s:%d: %w", o.file, o.pos, err)
	}
	if t.c.cfg.skipped[debezium.OpTruncate] {
		return em.flush(ctx)
	}
	for _, id := range truncates {
		ts, err := t.c.schemaFor(id)
		if err != nil {
			return err
		}
		if ts == nil {
			break
		}
		o.tableEvent(id.DB, []TableID{id}, st.eventTS)
		now := t.c.now()
		env := debezium.NewEnvelope(ts.envelope, debezium.OpTruncate, nil, nil, t.c.sourceStruct(o), nil, now)
		if err := em.emit(ctx, &connect.Record{SourcePartition: t.c.partition, SourceOffset: o.offset(), Topic: ts.topic, Partition: -1,
			ValueSchema: ts.envelope, Value: env, Timestamp: now}); err != nil {
			return err
		}
	}
	// A DDL statement commits implicitly: no COMMIT or XID event follows it,
	// so its schema change and truncate events are handed over here.
	return em.flush(ctx)
}

// handleRows is BinlogStreamingChangeEventSource.handleChange.
func (t *task) handleRows(ctx context.Context, em *emitter, o *offsetState, st *streamState, ev *replication.BinlogEvent, e *replication.RowsEvent) error {
	var op debezium.Op
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert:
		op = debezium.OpCreate
	case replication.EnumRowsEventTypeUpdate:
		op = debezium.OpUpdate
	case replication.EnumRowsEventTypeDelete:
		op = debezium.OpDelete
	default:
		return nil
	}
	// The rows to skip belong to the first rows event that is not skipped
	// as a whole: a restart in the middle of a transaction skips its
	// first events (eventsToSkip) and then the rows of the next one that
	// were already emitted. Clearing them in a skipped event (or one of a
	// skipped operation, for which Debezium registers no handler) re-emitted
	// the already delivered rows of that next event.
	if t.c.cfg.skipped[op] || st.skipEvent {
		return nil
	}
	defer func() { st.rowsToSkip = 0 }()
	id, ok := st.tableIDs[e.TableID]
	if !ok || !t.c.captured(id) {
		return nil
	}
	ts, err := t.c.schemaFor(id)
	if err != nil {
		return fmt.Errorf("binlog %s:%d: %w", o.file, o.pos, err)
	}
	if ts == nil {
		return t.unknownTable(id, o, ev.Header)
	}
	step := 1
	if op == debezium.OpUpdate {
		step = 2
	}
	numRows := len(e.Rows) / step
	ncols := len(ts.table.Columns)
	for r := st.rowsToSkip; r < numRows; r++ {
		var before, after []any
		switch op {
		case debezium.OpCreate:
			after = e.Rows[r]
		case debezium.OpDelete:
			before = e.Rows[r]
		case debezium.OpUpdate:
			before, after = e.Rows[2*r], e.Rows[2*r+1]
		}
		for _, row := range [][]any{before, after} {
			if row != nil && len(row) != ncols {
				return fmt.Errorf("binlog %s:%d: row of table %s has %d columns but the table's known structure has %d; restart the connector with snapshot.mode=recovery", o.file, o.pos, id, len(row), ncols)
			}
		}
		o.setRowNumber(r, numRows)
		o.tableEvent(id.DB, []TableID{id}, st.eventTS)
		var bk, bv, ak, av *connect.StructValue
		if before != nil {
			if bk, bv, err = ts.rowValue(func(ci int, cv *converter) (any, error) { return cv.fromBinlog(before[ci]) }); err != nil {
				return fmt.Errorf("binlog %s:%d: %w", o.file, o.pos, err)
			}
		}
		if after != nil {
			if ak, av, err = ts.rowValue(func(ci int, cv *converter) (any, error) { return cv.fromBinlog(after[ci]) }); err != nil {
				return fmt.Errorf("binlog %s:%d: %w", o.file, o.pos, err)
			}
		}
		for _, rec := range t.c.dataRecords(ts, op, bk, bv, ak, av, o, st.tx) {
			if err := em.emit(ctx, rec); err != nil {
				return err
			}
		}
	}
	if st.rowsToSkip < numRows {
		o.changeEventCompleted()
	}
	return nil
}
