package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	gmysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/tributary-io/tributary/connect"
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

// stream reads the binlog from o's restart position until ctx ends. It
// does not reconnect: when the connection is lost it returns the error
// (retriable, see classify) and the runtime runs the task again from the
// committed offset, as Kafka Connect does with Debezium. A reconnect
// inside the task would resume from the position of the last event read,
// which is ahead of what Kafka has acknowledged, and keep the table model
// of the failed connection.
func (t *task) stream(ctx context.Context, em *emitter, o *offsetState) error {
	err := t.streamOnce(ctx, em, o)
	if ctx.Err() != nil {
		// stopped: hand over what was read, the runtime commits it
		if ferr := em.flush(context.WithoutCancel(ctx)); ferr != nil {
			t.c.log.Warn("could not hand over the last records at shutdown", "error", ferr)
		}
		return nil
	}
	// After a failure the buffered records are dropped, not written: they
	// are what was read after the last handed-over record, and the next
	// run reads them again from that record's offset.
	return err
}

var dmlPrefix = regexp.MustCompile(`(?i)^(INSERT|UPDATE|DELETE|REPLACE)\s`)
var setStatementPrefix = regexp.MustCompile(`(?is)^SET\s+STATEMENT\s+.*?\s+FOR\s+`)

// tableRef is what a table map event says about a table id: the table,
// and whether its changes are captured. Kept from one transaction's table
// map to the next (the server maps the same id again for each), so that
// neither the names are copied nor the filters matched for every event.
type tableRef struct {
	id TableID
	// ids is id alone, the offset's tables for the table's row events
	// (a slice per row otherwise).
	ids      []TableID
	captured bool
}

// streamState is BinlogStreamingChangeEventSource's per-connection state.
type streamState struct {
	tableIDs map[uint64]tableRef
	// recs holds a row change's records while they are emitted.
	recs          []*connect.Record
	gtids         gtidSet
	eventsToSkip  int64
	rowsToSkip    int
	skipEvent     bool
	eventTS       time.Time
	lastHeartbeat time.Time
	tx            *txTracker
	// ignoreDML skips the row events of the current transaction: its GTID
	// source is one gtid.source.includes/excludes leaves out (with
	// gtid.source.filter.dml.events). DDL of such transactions is still
	// applied, as Debezium does.
	ignoreDML bool
	// gtidsComplete: gtids holds every GTID before the stream's position
	// (the run started from a GTID set), so it can be compared with the
	// server's executed GTIDs (read-only incremental snapshots).
	gtidsComplete bool
	// afterDDL: the last event was a DDL statement, which commits
	// implicitly. MariaDB starts its GTID like a transaction's, and no
	// COMMIT ends it, but signals may act here as between transactions.
	afterDDL bool
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
		// go-mysql's own reconnect resumes from the last event it read,
		// ahead of the committed offset and of the connector's table
		// model, and retries forever by default; the task fails
		// retriably instead and restarts from the committed offset.
		DisableRetrySync:     true,
		MaxReconnectAttempts: 1,
		Logger:               slog.New(slog.DiscardHandler),
		DiscardGTIDSet:       true,
		EventCacheCount:      binlogReadAhead,
		// Checks binary JSON before go-mysql decodes it (binlogjson.go).
		RowsEventDecodeFunc: decodeRowsEvent,
	}
	if c.cfg.flavor.mariadb || t.server.mariadb {
		cfg.Flavor = gmysql.MariaDBFlavor
		if c.cfg.includeQuery {
			// MariaDB sends ANNOTATE_ROWS events, which carry the SQL of the
			// row events that follow, only to replicas that ask for them
			// (BinaryLogClient.setUseSendAnnotateRowsEvent in Debezium);
			// MySQL sends ROWS_QUERY events unasked.
			cfg.DumpCommandFlag |= replication.BINLOG_SEND_ANNOTATE_ROWS_EVENT
		}
	}
	if c.cfg.netReadTimeout > 0 || c.cfg.netWriteTimeout > 0 {
		// binlog.net.read.timeout / binlog.net.write.timeout, set on the
		// binlog connection's session before the dump starts, as
		// BinaryLogClient.setNetReadTimeout/setNetWriteTimeout do
		cfg.Option = func(conn *client.Conn) error {
			for _, v := range []struct {
				name string
				secs int64
			}{{"net_read_timeout", c.cfg.netReadTimeout}, {"net_write_timeout", c.cfg.netWriteTimeout}} {
				if v.secs <= 0 {
					continue
				}
				if _, err := conn.Execute(fmt.Sprintf("SET SESSION %s = %d", v.name, v.secs)); err != nil {
					return fmt.Errorf("binlog connection: set %s (binlog.%s): %w", v.name, strings.ReplaceAll(v.name, "_", "."), err)
				}
			}
			// the server may clamp a value: log what the session has
			res, err := conn.Execute("SELECT @@SESSION.net_read_timeout, @@SESSION.net_write_timeout")
			if err != nil {
				return fmt.Errorf("binlog connection: read net_read_timeout and net_write_timeout: %w", err)
			}
			rd, _ := res.GetInt(0, 0)
			wr, _ := res.GetInt(0, 1)
			c.log.Info("binlog connection session timeouts", "net_read_timeout", rd, "net_write_timeout", wr)
			return nil
		}
	}
	hb, idle := livenessTimes(c.cfg.keepAlive, c.cfg.keepAliveInterval, c.cfg.heartbeatInterval)
	cfg.HeartbeatPeriod = hb
	// Not cfg.ReadTimeout: see idleConn.
	cfg.Dialer = binlogDialer(c.cfg.connectTimeout, idle, c.cfg.nongraceful)
	tc, _, err := c.cfg.tlsConfig()
	if err != nil {
		return cfg, err
	}
	if tc != nil && ((c.cfg.sslMode != "preferred" && c.cfg.sslMode != "trust") || len(tc.Certificates) > 0) {
		cfg.TLSConfig = tc
	}
	return cfg, nil
}

// mariadbGtidStart registers a MariaDB binlog reader at the GTID set
// gtids, as go-mysql's StartSyncGTID does (the same session variables,
// which make the server ignore the dump's file and position), on the
// binlog connection before its dump starts, after next (the session
// timeouts), if any. The stream is then started as from a position:
// StartSyncGTID keeps its own copy of the set for reconnecting and clones
// it on every MariaDB GTID event, even with DisableRetrySync (70 MB
// allocated and 4 % of the CPU for 200 000 single-row transactions); the
// connector tracks the set itself (streamState.gtids) and reconnects
// from its committed offset.
func mariadbGtidStart(next func(*client.Conn) error, gtids string) func(*client.Conn) error {
	return func(conn *client.Conn) error {
		if next != nil {
			if err := next(conn); err != nil {
				return err
			}
		}
		// gtids is a parsed set's text: digits, dashes and commas.
		for _, q := range []string{"SET @slave_connect_state='" + gtids + "'", "SET @slave_gtid_strict_mode=1"} {
			if _, err := conn.Execute(q); err != nil {
				return fmt.Errorf("binlog connection: register at GTID set %q: %s: %w", gtids, q, err)
			}
		}
		return nil
	}
}

// livenessTimes derives the binlog connection's heartbeat period and
// idle read timeout from Debezium's properties. As Debezium's
// BinaryLogClient, the server is asked for a heartbeat at 0.8 of
// connect.keep.alive.interval.ms, and a connection silent for the whole
// interval is considered lost. A heartbeat.interval.ms below that also
// shortens the server's heartbeat period: heartbeat records on a quiet
// binlog are emitted when the server's heartbeat events arrive. With
// connect.keep.alive=false nothing checks the connection (only the
// operating system's TCP keep-alive notices a dead peer).
func livenessTimes(keepAlive bool, interval, heartbeatInterval time.Duration) (hb, idle time.Duration) {
	const minPeriod = 100 * time.Millisecond // far below anything useful, far above MySQL's 1 ms resolution
	if keepAlive && interval > 0 {
		idle = max(interval, 2*minPeriod)
		hb = idle * 4 / 5
	}
	if heartbeatInterval > 0 && (hb == 0 || heartbeatInterval < hb) {
		hb = heartbeatInterval
	}
	if hb > 0 {
		hb = max(hb, minPeriod)
	}
	return hb, idle
}

func (t *task) streamOnce(ctx context.Context, em *emitter, o *offsetState) error {
	c := t.c
	cfg, err := t.syncerConfig()
	if err != nil {
		return err
	}
	// go-mysql's Close dials the server to KILL the binlog session. After
	// the connection was lost that waits for a server that is down or does
	// not answer (up to connect.keep.alive.interval.ms for a hung one), so
	// it is skipped: the server ends a leftover dump thread itself when the
	// next run registers with the same server id.
	var lost atomic.Bool
	dial := cfg.Dialer
	cfg.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if lost.Load() {
			return nil, errors.New("binlog connection lost: not dialling again to end the old session")
		}
		return dial(ctx, network, addr)
	}
	st := &streamState{tableIDs: map[uint64]tableRef{}}
	if c.cfg.txMetadata {
		st.tx = &txTracker{c: c, o: o}
	}
	mariadb := cfg.Flavor == gmysql.MariaDBFlavor
	var set gmysql.GTIDSet
	if t.useGtid(o) {
		if set, err = gmysql.ParseGTIDSet(cfg.Flavor, o.restartGtidSet); err != nil {
			return fmt.Errorf("stored offset %s %q: %w", offGtids, o.restartGtidSet, err)
		}
		if st.gtids, err = parseGtidSet(mariadb, o.restartGtidSet); err != nil {
			return fmt.Errorf("stored offset %s %q: %w", offGtids, o.restartGtidSet, err)
		}
		st.gtidsComplete = true
		if mariadb {
			cfg.Option = mariadbGtidStart(cfg.Option, set.String())
		}
	}
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()

	var streamer *replication.BinlogStreamer
	switch {
	case set != nil && mariadb:
		// Registered by mariadbGtidStart; the server ignores the position.
		c.log.Info("registering binlog reader with GTID set", "gtids", o.restartGtidSet)
		streamer, err = syncer.StartSync(gmysql.Position{Pos: 4})
		if err != nil {
			return fmt.Errorf("start binlog stream at GTID set %q on %s:%d: %w", o.restartGtidSet, c.cfg.host, c.cfg.port, err)
		}
	case set != nil:
		c.log.Info("registering binlog reader with GTID set", "gtids", o.restartGtidSet)
		streamer, err = syncer.StartSyncGTID(set)
		if err != nil {
			return fmt.Errorf("start binlog stream at GTID set %q on %s:%d: %w", o.restartGtidSet, c.cfg.host, c.cfg.port, err)
		}
	default:
		file, pos := o.restartFile, o.restartPos
		if file == "" {
			qctx, cancel := t.c.cfg.bounded(ctx)
			logs, err := binaryLogs(qctx, t.db)
			cancel()
			if err != nil {
				return t.c.cfg.timedOut(ctx, err)
			}
			file, pos = logs[0], 4
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
	sr := t.newSigRun(em, o, st)
	t.sig = sr
	defer sr.inc.close()
	if o.blockingInterrupted {
		c.log.Warn("a blocking snapshot was interrupted by the restart and is not resumed (as in Debezium); streaming continues where it paused, send the signal again to redo it")
		o.blockingInterrupted = false
	}
	if err := sr.inc.start(ctx); err != nil {
		return signalError(err)
	}
	var waiter eventWaiter
	defer waiter.stop()
	for {
		if sr.between() {
			// signals act between transactions only
			if err := sr.poll(ctx); err != nil {
				return signalError(err)
			}
		}
		var ev *replication.BinlogEvent
		if wait := t.eventWait(len(em.buf) > 0); wait > 0 {
			ev, err = waiter.next(ctx, streamer, wait)
			if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				if err := em.flush(ctx); err != nil {
					return err
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
			err = t.readError(o, err)
			if connectionLost(err) {
				lost.Store(true)
			}
			return err
		}
		if err := t.handleEvent(ctx, em, o, st, ev, mariadb); err != nil {
			// handling an event talks to no database but for
			// heartbeat.action.query: its other errors are the data's, the
			// writer's or the schema history's
			var de *dbError
			if errors.As(err, &de) {
				return err
			}
			return noRetry(err)
		}
	}
}

// eventWaiter waits for the next binlog event for at most a given time.
// Its deadline context is reused from event to event while the deadline
// is no further than the wait: a context.WithTimeout for every event (a
// timer, and a registration with the parent context) was a fifth of the
// connector's streaming CPU, as every task has a signal channel and so
// waits with a timeout.
type eventWaiter struct {
	ctx      context.Context
	cancel   context.CancelFunc
	deadline time.Time
}

// next returns the next event, or context.DeadlineExceeded when none came
// within wait (never sooner: a reused deadline that ends the wait early is
// followed by a wait for the rest).
func (w *eventWaiter) next(ctx context.Context, s *replication.BinlogStreamer, wait time.Duration) (*replication.BinlogEvent, error) {
	start := time.Now()
	if w.ctx == nil || !start.Before(w.deadline) || w.deadline.Sub(start) > wait {
		w.reset(ctx, start.Add(wait))
	}
	ev, err := s.GetEvent(w.ctx)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && time.Since(start) < wait {
		w.reset(ctx, start.Add(wait))
		ev, err = s.GetEvent(w.ctx)
	}
	return ev, err
}

func (w *eventWaiter) reset(ctx context.Context, deadline time.Time) {
	w.stop()
	w.deadline = deadline
	w.ctx, w.cancel = context.WithDeadline(ctx, deadline)
}

func (w *eventWaiter) stop() {
	if w.cancel != nil {
		w.cancel()
		w.ctx, w.cancel = nil, nil
	}
}

// signalPollInterval bounds how long the reader waits for a binlog event
// when signals may arrive from outside the binlog (kafka, file, REST),
// so that a quiet database still acts on them.
const signalPollInterval = 200 * time.Millisecond

// eventWait is how long to wait for the next binlog event (0: no limit).
func (t *task) eventWait(buffered bool) time.Duration {
	switch {
	case buffered:
		return t.flushIdle
	case t.signals != nil:
		return signalPollInterval
	}
	return 0
}

// signalError classifies an error of a signal's action: a lost database
// connection is retriable, anything else is not.
func signalError(err error) error {
	var de *dbError
	if err == nil || errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	return noRetry(err)
}

// readError describes a failed read of the binlog stream, naming the
// position, and decides what a restart can do about it.
func (t *task) readError(o *offsetState, err error) error {
	file, pos := o.file, o.pos
	if file == "" {
		file, pos = o.restartFile, o.restartPos
	}
	where := fmt.Sprintf("read binlog from %s:%d after %s position %d", t.c.cfg.host, t.c.cfg.port, file, pos)
	switch code := serverErrorCode(err); {
	case code == errBinlogGone:
		return fmt.Errorf("%s: %w; the server does not have the binlog position the connector asked for (purged, or the binary log was reset); set snapshot.mode=when_needed to take a new snapshot", where, err)
	case code != 0:
		return fmt.Errorf("%s: %w", where, err)
	case errors.Is(err, gmysql.ErrBadConn):
		return fmt.Errorf("%s: %w", where, err)
	}
	// Neither the connection nor the server: go-mysql could not decode an
	// event (a truncated one ends in io.EOF, which must not read as a lost
	// connection). Reading it again gives the same result.
	return noRetry(fmt.Errorf("%s: cannot decode the next binlog event: %w", where, err))
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
		st.tableIDs = map[uint64]tableRef{}
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
		ref, ok := st.tableIDs[e.TableID]
		if !ok || ref.id.DB != string(e.Schema) || ref.id.Table != string(e.Table) {
			id := TableID{DB: string(e.Schema), Table: string(e.Table)}
			ref = tableRef{id: id, ids: []TableID{id}, captured: t.c.captured(id)}
			st.tableIDs[e.TableID] = ref
		}
		if ref.captured && t.c.model.table(ref.id) == nil {
			err = t.unknownTable(ref.id, o, h)
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
		st.ignoreDML = t.dmlFiltered(false, gtid)
	case *replication.MariadbGTIDEvent:
		m := mariaGtid{domain: e.GTID.DomainID, server: h.ServerID, seq: e.GTID.SequenceNumber}
		gtid := m.String()
		if st.gtids == nil {
			st.gtids, _ = parseGtidSet(true, "")
		}
		if ms, ok := st.gtids.(*mariaGtidSet); ok {
			ms.addGtid(m)
		} else if err := st.gtids.add(gtid); err != nil {
			return err
		}
		o.startGtid(gtid, st.gtids.String())
		st.ignoreDML = t.dmlFiltered(true, gtid)
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

// dmlFiltered reports whether the row events of the transaction of gtid
// are left out: gtid.source.filter.dml.events (default true) with a
// gtid.source.includes/excludes that does not select the GTID's source
// (the server UUID on MySQL, "domain-server" on MariaDB), as Debezium's
// handleGtidEvent decides.
func (t *task) dmlFiltered(mariadb bool, gtid string) bool {
	cfg := t.c.cfg
	return cfg.gtidFilterDML && cfg.gtidFilter != nil && !cfg.gtidFilter.Match(gtidSource(mariadb, gtid))
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
	if q := t.c.cfg.heartbeatQuery; q != "" {
		// heartbeat.action.query runs on the source database before each
		// heartbeat record (DatabaseHeartbeatImpl), typically to write to
		// a table so that a quiet database's binlog still moves
		qctx, cancel := t.c.cfg.bounded(ctx)
		_, err := t.db.ExecContext(qctx, q)
		cancel()
		if err != nil {
			return &dbError{fmt.Errorf("heartbeat.action.query %q: %w", q, t.c.cfg.timedOut(ctx, err))}
		}
	}
	return em.emit(ctx, debezium.HeartbeatRecord(t.c.cfg.heartbeatTopic, t.c.cfg.topicPrefix, t.c.partition, o.offset(), now))
}

// dbError is an error of a query on the database made while handling the
// binlog (heartbeat.action.query): unlike the handling's other errors it
// may be a lost connection, which classify makes retriable.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

func (t *task) unknownTable(id TableID, o *offsetState, h *replication.EventHeader) error {
	msg := fmt.Sprintf("encountered change event for table %s whose schema isn't known to this connector (at %s:%d); the %s may be incomplete: take a new snapshot, or set snapshot.mode=recovery to rebuild the history",
		id, o.file, o.pos, t.c.historyName())
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
	st.afterDDL = false
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
	st.ignoreDML = false
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
	st.afterDDL = true
	if t.c.cfg.skipped[debezium.OpTruncate] {
		return em.flush(ctx)
	}
	for _, id := range truncates {
		if t.sig != nil {
			t.sig.inc.truncated(id)
		}
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

// rowImages converts a row event's before and after images (either may be
// nil) into key and value structs.
func (t *task) rowImages(ts *tableSchema, before, after []any) (bk, bv, ak, av *connect.StructValue, err error) {
	ncols := len(ts.table.Columns)
	for _, row := range [][]any{before, after} {
		if row != nil && len(row) != ncols {
			return nil, nil, nil, nil, fmt.Errorf("the row has %d columns but the table's known structure has %d; restart the connector with snapshot.mode=recovery", len(row), ncols)
		}
	}
	if before != nil {
		if bk, bv, err = ts.rowValue(func(ci int, cv *converter) (any, error) { return cv.fromBinlog(before[ci]) }); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if after != nil {
		if ak, av, err = ts.rowValue(func(ci int, cv *converter) (any, error) { return cv.fromBinlog(after[ci]) }); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return bk, bv, ak, av, nil
}

// processingFailed applies event.processing.failure.handling.mode to a row
// that could not be turned into a change event (EventDispatcher's
// handleEventProcessingFailure): fail returns the error, warn and skip
// (or ignore) log it and let the caller go on with the next row.
func (t *task) processingFailed(err error) error {
	switch t.c.cfg.processingMode {
	case "warn":
		t.c.log.Warn("skipping a row change that could not be processed (event.processing.failure.handling.mode=warn)", "error", err)
		return nil
	case "skip", "ignore":
		t.c.log.Debug("skipping a row change that could not be processed", "mode", t.c.cfg.processingMode, "error", err)
		return nil
	}
	return fmt.Errorf("%w (event.processing.failure.handling.mode=warn or skip would skip the row)", err)
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
	if st.ignoreDML {
		// a GTID source gtid.source.includes/excludes leaves out
		return nil
	}
	defer func() { st.rowsToSkip = 0 }()
	ref, ok := st.tableIDs[e.TableID]
	id := ref.id
	sigTable := ok && t.sig != nil && t.sig.isSignalTable(id)
	if !ok || !ref.captured {
		if sigTable {
			return t.signalRows(ctx, o, st, op, e.Rows)
		}
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
		o.setRowNumber(r, numRows)
		o.tableEvent(id.DB, ref.ids, st.eventTS)
		bk, bv, ak, av, err := t.rowImages(ts, before, after)
		if err != nil {
			err = fmt.Errorf("binlog %s:%d: row %d of table %s: %w", o.file, o.pos, r, id, err)
			if err := t.processingFailed(err); err != nil {
				return err
			}
			continue
		}
		if op == debezium.OpUpdate && t.c.cfg.skipUnchanged && connect.Equal(bv, av) {
			// skip.messages.without.change: no captured column changed
			// (RelationalChangeRecordEmitter.emitUpdateRecord)
			continue
		}
		st.recs = t.c.dataRecords(st.recs[:0], ts, op, bk, bv, ak, av, o, st.tx)
		for _, rec := range st.recs {
			if err := em.emit(ctx, rec); err != nil {
				return err
			}
		}
		if t.sig != nil {
			// the signal table's own event goes out first: its offset is
			// the one a restart resumes after, so a signal that ran is
			// not run again
			if sigTable {
				if err := t.sig.signalRow(ctx, op, before, after); err != nil {
					return err
				}
			} else {
				t.sig.inc.dedup(id, bk, bv, ak, av)
			}
		}
	}
	if st.rowsToSkip < numRows {
		o.changeEventCompleted()
	}
	return nil
}

// signalRows handles the rows of a signal table that is not captured:
// its changes are signals, not events.
func (t *task) signalRows(ctx context.Context, o *offsetState, st *streamState, op debezium.Op, rows [][]any) error {
	step := 1
	if op == debezium.OpUpdate {
		step = 2
	}
	n := len(rows) / step
	for r := st.rowsToSkip; r < n; r++ {
		o.setRowNumber(r, n)
		var before, after []any
		switch op {
		case debezium.OpCreate:
			after = rows[r]
		case debezium.OpDelete:
			before = rows[r]
		default:
			continue
		}
		if err := t.sig.signalRow(ctx, op, before, after); err != nil {
			return err
		}
	}
	if st.rowsToSkip < n {
		o.changeEventCompleted()
	}
	return nil
}
