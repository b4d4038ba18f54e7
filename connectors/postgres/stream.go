package postgres

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/signal"
)

// relation is what a pgoutput Relation message told us about a table.
type relation struct {
	id       tableID
	captured bool
	ts       *tableSchema
}

// streamer consumes the replication stream of one task run.
type streamer struct {
	t      *pgTask
	w      connect.RecordWriter
	off    *offsetState
	resume *offsetState // stored offset to resume after; nil once passed
	repl   *pgconn.PgConn
	// rbuf is the read buffer in front of repl's (replStreamConn); nil
	// when the connection has none.
	rbuf *bufio.Reader
	// catchUp is told whether the stream is far behind its commits (nil:
	// no such reader).
	catchUp *catchUpReader

	relations map[uint32]*relation
	byTable   map[tableID]*table
	batch     []*connect.Record

	// heldSince is when a commit first left its records in the batch
	// because the next message was received already; zero when none
	// wait. See maxHold.
	heldSince time.Time

	inTx       bool
	xid        uint32
	commitTime time.Time
	skipTx     bool
	resumeMid  bool

	received pglogrepl.LSN // last WAL position received
	// walEnd is the server's sent position from the last keepalive that
	// arrived between transactions with no record pending in the batch:
	// every transaction committed before it was sent to us. It is read by
	// the keep-alive goroutine, hence atomic.
	walEnd        atomic.Uint64
	lastStatus    atomic.Int64 // unix nanos of the last status update
	sendMu        sync.Mutex   // serialises writes to the replication connection
	writing       atomic.Bool  // the task is blocked handing records to the runtime
	lastHeartbeat time.Time
	lastXmin      time.Time
	lastLagCheck  time.Time
	lagWarned     time.Time // last slot lag warning; zero while below the threshold
	metrics       *metrics.Task

	msgKey, msgValue, msgBlock *connect.Schema

	// recentXids are the xids of the last transactions whose commits
	// were streamed (a ring); a blocking snapshot must see them all.
	recentXids [recentXidCount]uint32
	recentN    int

	// inc runs incremental snapshots; signals delivers the signals of
	// the kafka and file channels; blocking holds the blocking snapshots
	// requested, run at the next transaction boundary.
	inc      *incremental
	signals  <-chan signal.Record
	blocking []blockingRequest
}

func (t *pgTask) stream(ctx context.Context, w connect.RecordWriter, off *offsetState, resume *offsetState) error {
	s := &streamer{t: t, w: w, off: off, relations: map[uint32]*relation{}, byTable: map[tableID]*table{},
		lastHeartbeat: time.Now(), metrics: metrics.ForTask(ctx), signals: t.signals}
	if off.inc == nil {
		off.inc = signal.NewIncremental()
	}
	s.inc = newIncremental(t, s, off.inc)
	if resume != nil {
		// off starts as the same stored offset and moves on; resume must not.
		r := *resume
		s.resume = &r
	}
	s.msgKey, s.msgBlock, s.msgValue = messageSchemas(t.cfg)
	start := off.lsnCommit
	if start == 0 {
		start = off.lsnProc
	}
	if start == 0 {
		start = off.lsn
	}
	repl, rbuf, cr, err := t.cfg.replStreamConn(ctx)
	if err != nil {
		return err
	}
	s.repl, s.rbuf, s.catchUp = repl, rbuf, cr
	defer func() {
		_ = s.repl.Close(context.WithoutCancel(ctx))
		if t.cfg.dropSlotOnStop && t.conn != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := dropSlot(cctx, t.conn, t.cfg.slotName, 10*time.Second); err != nil {
				t.log.Warn("slot.drop.on.stop: could not drop the replication slot", "slot", t.cfg.slotName, "error", err)
			}
		}
	}()
	args := []string{"proto_version '1'", "publication_names '" + escapeLiteral(t.cfg.publication) + "'"}
	// Logical decoding messages need PostgreSQL 14+ (DBZ-4374).
	if serverMajor(s.repl.ParameterStatus("server_version")) >= 14 {
		args = append(args, "messages 'true'")
	}
	t.log.Info("starting replication", "slot", t.cfg.slotName, "start_lsn", start.String(), "publication", t.cfg.publication)
	for attempt := 0; ; attempt++ {
		err := pglogrepl.StartReplication(ctx, s.repl, t.cfg.slotName, start,
			pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args})
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		msg := fmt.Sprintf("start replication from slot %q at %s", t.cfg.slotName, start)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55006" {
			// The walsender of a previous run may not have exited yet
			// (slot.max.retries, slot.retry.delay.ms); retry soon first.
			if attempt < t.cfg.retries+20 {
				delay := 250 * time.Millisecond
				if attempt >= 20 {
					delay = t.cfg.retryDelay
				}
				t.log.Warn("replication slot is in use, retrying", "slot", t.cfg.slotName, "attempt", attempt+1, "delay", delay)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(delay):
				}
				_ = s.repl.Close(context.WithoutCancel(ctx))
				if s.repl, s.rbuf, s.catchUp, err = t.cfg.replStreamConn(ctx); err != nil {
					return err
				}
				continue
			}
			msg += "; the slot is in use by another connection (when several connectors share a server, each needs its own slot.name)"
		}
		return fmt.Errorf("%s: %w", msg, err)
	}
	// While the runtime applies back-pressure the loop cannot answer the
	// server; keep confirming so wal_sender_timeout does not end the
	// connection (Debezium's keep-alive thread does the same).
	kctx, stopKeepalive := context.WithCancel(ctx)
	defer stopKeepalive()
	go s.keepalive(kctx)
	s.metrics.Connected(true)
	defer s.metrics.Connected(false)
	if s.resume != nil && s.resume.blockingInterrupted {
		t.log.Warn("a blocking snapshot was interrupted by the restart and is not resumed (as in Debezium); streaming continues where it paused, send the signal again to redo it")
	}
	if err := s.inc.start(ctx); err != nil {
		return err
	}
	return s.loop(ctx)
}

func (s *streamer) keepalive(ctx context.Context) {
	interval := s.t.cfg.statusInterval
	tick := time.NewTicker(max(interval/2, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if s.writing.Load() && time.Since(s.lastStatusTime()) >= interval {
				if err := s.sendStatus(); err != nil {
					s.t.log.Warn("keep-alive status update failed", "error", err)
				}
			}
		}
	}
}

func escapeLiteral(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func (s *streamer) loop(ctx context.Context) error {
	cfg := s.t.cfg
	rd := watchReads(ctx, s.repl.Conn())
	defer rd.stop()
	for {
		if ctx.Err() != nil {
			return nil
		}
		if !s.inTx {
			if err := s.pollSignals(ctx); err != nil {
				return err
			}
		}
		now := time.Now()
		// Transactions whose records wait in the batch (their commits
		// found the next message received already) go out before a read
		// that may block, and after maxHold whatever follows (a long
		// transaction of tables not captured sends nothing to the batch).
		if !s.heldSince.IsZero() && ((!s.inTx && s.buffered() == 0) || now.Sub(s.heldSince) >= maxHold) {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
		if now.Sub(s.lastStatusTime()) >= cfg.statusInterval {
			if err := s.sendStatus(); err != nil {
				return err
			}
		}
		deadline := s.lastStatusTime().Add(cfg.statusInterval)
		if d := now.Add(idleWait); d.Before(deadline) {
			deadline = d
		}
		if cfg.heartbeatInterval > 0 {
			if hb := s.lastHeartbeat.Add(cfg.heartbeatInterval); hb.Before(deadline) {
				deadline = hb
			}
		}
		if !s.heldSince.IsZero() {
			if h := s.heldSince.Add(maxHold); h.Before(deadline) {
				deadline = h // a timeout runs idle, which flushes
			}
		}
		raw, err := s.receive(ctx, rd, now, deadline)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if pgconn.Timeout(err) {
				if err := s.idle(ctx); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("replication stream from slot %q: %w", cfg.slotName, err)
		}
		switch m := raw.(type) {
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return fmt.Errorf("replication stream: %w", err)
				}
				s.catchUp.sawKeepalive(ka.ReplyRequested)
				if !s.inTx && len(s.batch) > 0 {
					// The batch holds completed transactions only (see
					// COMMIT): hand them over first, as before batching,
					// so the WAL end is recorded as it was.
					if err := s.flush(ctx); err != nil {
						return err
					}
				}
				if !s.inTx && len(s.batch) == 0 && uint64(ka.ServerWALEnd) > s.walEnd.Load() {
					s.walEnd.Store(uint64(ka.ServerWALEnd))
				}
				if ka.ReplyRequested {
					if err := s.sendStatus(); err != nil {
						return err
					}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return fmt.Errorf("replication stream: %w", err)
				}
				if xld.WALStart > s.received {
					s.received = xld.WALStart
				}
				if err := s.handle(ctx, xld); err != nil {
					return err
				}
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("replication stream from slot %q: %w", cfg.slotName, pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone:
			return fmt.Errorf("replication stream from slot %q: %w", cfg.slotName, errStreamEnded)
		}
		if len(s.batch) >= cfg.maxBatch {
			if err := s.flush(ctx); err != nil {
				return err
			}
		}
		if time.Since(s.lastLagCheck) >= cfg.slotLagInterval {
			if err := s.checkSlotLag(ctx); err != nil {
				return err
			}
		}
	}
}

// lagWarnRepeat is how often the warning repeats while the lag stays high.
const lagWarnRepeat = 10 * time.Minute

// checkSlotLag measures how much WAL the slot makes the server keep, for
// the metric and the slot.lag.warning.bytes warning: a slot that does not
// move fills the server's disk, the most common way CDC hurts a database.
//
// A failure is only logged, unless it cost the metadata connection (a
// query cut by its timeout closes it): that is a lost connection.
func (s *streamer) checkSlotLag(ctx context.Context) error {
	s.lastLagCheck = time.Now()
	cfg := s.t.cfg
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var retained, unconfirmed int64
	err := s.t.conn.QueryRow(qctx, `SELECT COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn), 0)::bigint,
		COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn), 0)::bigint
		FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`, cfg.slotName).Scan(&retained, &unconfirmed)
	if err != nil {
		if lost := s.t.metadataLost(err); lost != nil {
			return lost
		}
		s.t.log.Debug("could not measure the replication slot's lag", "slot", cfg.slotName, "error", err)
		return nil
	}
	s.metrics.ReplicationSlotLag(cfg.slotName, retained, unconfirmed)
	switch {
	case cfg.slotLagWarn <= 0:
	case retained > cfg.slotLagWarn:
		if s.lagWarned.IsZero() || time.Since(s.lagWarned) >= lagWarnRepeat {
			s.lagWarned = time.Now()
			s.t.log.Warn("the replication slot makes the server keep more WAL than slot.lag.warning.bytes; check that records reach Kafka and offsets are committed",
				"slot", cfg.slotName, "retained_bytes", retained, "unconfirmed_bytes", unconfirmed, "threshold_bytes", cfg.slotLagWarn)
		}
	case !s.lagWarned.IsZero():
		s.lagWarned = time.Time{}
		s.t.log.Info("replication slot lag is below slot.lag.warning.bytes again", "slot", cfg.slotName, "retained_bytes", retained)
	}
	return nil
}

// maxHold bounds how long completed transactions wait in the batch for
// the transactions received behind them, and maxHeld how many records
// they may be. A Write of 128 records costs next to nothing per record;
// letting the batch grow to max.batch.size (2048) while the conversion
// stage's queue was full raised the Go heap peak of pg-stream-issue14
// from 34 to 46-54 MB.
const (
	maxHold = 10 * time.Millisecond
	maxHeld = 128
)

// idleWait is how long the loop waits for a message before it treats
// the stream as quiet (idle: pending records go out, heartbeats are due).
const idleWait = time.Second

// receive returns the next replication message, or a timeout error once
// deadline passes without one (or ctx ends). It reads without a context:
// a context with a deadline plus pgconn's context watcher for every
// message cost about a tenth of the streaming loop's CPU. A read deadline
// on the connection is set instead, and only when the one already armed
// could make the read wait past deadline. One armed by an earlier
// iteration is usually earlier than this one (the status, heartbeat and
// idle deadlines only move forward), so while messages flow the loop wakes
// early about once per idleWait, re-arms and reads on. A read cut by a
// deadline loses nothing: pgproto3 keeps the partial message and the next
// read completes it.
func (s *streamer) receive(ctx context.Context, rd *readDeadlines, now, deadline time.Time) (pgproto3.BackendMessage, error) {
	for {
		if err := rd.arm(now, deadline); err != nil {
			return nil, fmt.Errorf("set read deadline: %w", err)
		}
		raw, err := s.repl.ReceiveMessage(context.Background())
		if err == nil || !pgconn.Timeout(err) {
			return raw, err
		}
		rd.expired()
		now = time.Now()
		if ctx.Err() != nil || !now.Before(deadline) {
			return nil, err
		}
	}
}

// readDeadlines sets the read deadline of the replication connection and
// makes reads fail at once when the stream's context ends (the job pgconn's
// context watcher does when it is given a context).
type readDeadlines struct {
	conn      net.Conn
	stopWatch func() bool
	armed     time.Time // the read deadline set on conn; zero if none or it passed

	mu   sync.Mutex // orders arm against the cancellation callback
	done bool       // the context ended: the deadline stays in the past
}

func watchReads(ctx context.Context, conn net.Conn) *readDeadlines {
	rd := &readDeadlines{conn: conn}
	rd.stopWatch = context.AfterFunc(ctx, func() {
		rd.mu.Lock()
		defer rd.mu.Unlock()
		rd.done = true
		// A deadline in the past fails the current and every later read.
		_ = rd.conn.SetReadDeadline(time.Unix(1, 0))
	})
	return rd
}

// arm makes sure a read will not block past deadline. A deadline already
// armed that is still ahead of now and no later than deadline is kept.
func (rd *readDeadlines) arm(now, deadline time.Time) error {
	if !rd.armed.IsZero() && rd.armed.After(now) && !rd.armed.After(deadline) {
		return nil
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.done {
		return nil
	}
	if err := rd.conn.SetReadDeadline(deadline); err != nil {
		return err
	}
	rd.armed = deadline
	return nil
}

// expired records that a read ran into the armed deadline.
func (rd *readDeadlines) expired() { rd.armed = time.Time{} }

// stop ends the cancellation watch and clears the read deadline.
func (rd *readDeadlines) stop() {
	rd.stopWatch()
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.done {
		_ = rd.conn.SetReadDeadline(time.Time{})
	}
	rd.done = true
}

// buffered is how many bytes of the replication stream are received and
// not yet read as messages.
func (s *streamer) buffered() int {
	n := s.repl.Frontend().ReadBufferLen()
	if s.rbuf != nil {
		n += s.rbuf.Buffered()
	}
	return n
}

func (s *streamer) lastStatusTime() time.Time { return time.Unix(0, s.lastStatus.Load()) }

// positions returns the write and flush positions to report. The flush
// position is the only way the server learns it may release WAL, and the
// one a walsender waits for at shutdown: it does not exit until its client
// has confirmed everything it sent, the shutdown checkpoint included. So,
// as pg_recvlogical does, the server's WAL end from an idle keepalive is
// confirmed once every record handed to the runtime is committed: a
// transaction that commits later has its commit record after that point
// and is still sent after a restart (DBZ-1839, pgjdbc 1490). Until then
// only committed offsets are confirmed.
//
// Under lsn.flush.mode=manual no flush position is ever reported (zero:
// the slot does not move); the write position alone lets a shutdown
// complete, since the walsender compares it when no flush is given. It is
// the keepalive's WAL end, not s.received: this runs on the keep-alive
// goroutine too, and only walEnd is shared safely.
func (s *streamer) positions() (write, flush pglogrepl.LSN) {
	committed := pglogrepl.LSN(s.t.flushable.Load())
	walEnd := pglogrepl.LSN(s.walEnd.Load())
	if s.t.cfg.flushMode == "manual" {
		return max(walEnd, committed), 0
	}
	if walEnd > committed && s.allCommitted() {
		committed = walEnd
	}
	return committed, committed
}

// allCommitted reports whether the runtime has stored the offset of every
// record handed to it.
func (s *streamer) allCommitted() bool {
	cr, ok := s.w.(connect.CommitReporter)
	return ok && cr.AllCommitted()
}

func (s *streamer) sendStatus() error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	write, flush := s.positions()
	s.lastStatus.Store(time.Now().UnixNano())
	if err := sendStandbyStatus(s.repl, write, flush); err != nil {
		return fmt.Errorf("send status update to slot %q: %w", s.t.cfg.slotName, err)
	}
	return nil
}

// sendStandbyStatus writes a Standby Status Update. pglogrepl's version
// replaces a zero flush position with the write position, which would
// move the slot under lsn.flush.mode=manual.
func sendStandbyStatus(conn *pgconn.PgConn, write, flush pglogrepl.LSN) error {
	data := make([]byte, 0, 34)
	data = append(data, pglogrepl.StandbyStatusUpdateByteID)
	data = binary.BigEndian.AppendUint64(data, uint64(write))
	data = binary.BigEndian.AppendUint64(data, uint64(flush))
	data = binary.BigEndian.AppendUint64(data, uint64(flush)) // applied
	data = binary.BigEndian.AppendUint64(data, uint64(pgTime(time.Now())))
	data = append(data, 0) // no reply requested
	buf, err := (&pgproto3.CopyData{Data: data}).Encode(nil)
	if err != nil {
		return err
	}
	return conn.Frontend().SendUnbufferedEncodedCopyData(buf)
}

// pgTime is microseconds since 2000-01-01 UTC, the protocol's clock.
func pgTime(t time.Time) int64 {
	return t.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds()
}

func (s *streamer) flush(ctx context.Context) error {
	s.heldSince = time.Time{}
	if len(s.batch) == 0 {
		return nil
	}
	s.writing.Store(true)
	err := s.w.Write(ctx, s.batch)
	s.writing.Store(false)
	s.batch = nil
	if err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// idle runs when no message arrived for a while: pending records go out
// and a heartbeat is due check runs. Between transactions the heartbeat
// offset is advanced to the server's sent position, so the slot of an
// idle or fully filtered database keeps moving (the server has sent every
// transaction that committed before it).
func (s *streamer) idle(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	walEnd := pglogrepl.LSN(s.walEnd.Load())
	if !s.inTx && walEnd > s.off.lsnCommit && walEnd > s.off.lsnProc && s.t.cfg.heartbeatInterval > 0 &&
		time.Since(s.lastHeartbeat) >= s.t.cfg.heartbeatInterval {
		s.off.lsn, s.off.lsnProc, s.off.lsnCommit = walEnd, walEnd, walEnd
		if s.resume != nil && s.resume.lsnCommit < walEnd {
			s.resume = nil
		}
	}
	if err := s.maybeHeartbeat(ctx); err != nil {
		return err
	}
	if time.Since(s.lastLagCheck) >= s.t.cfg.slotLagInterval {
		if err := s.checkSlotLag(ctx); err != nil {
			return err
		}
	}
	if err := s.flush(ctx); err != nil || ctx.Err() != nil || s.inTx {
		return err
	}
	// Between database transactions (heartbeats of an idle database, the
	// end of the snapshot): commit, so that no Kafka transaction stays open
	// past transaction.timeout.ms while the database is quiet.
	return connect.CommitTransaction(ctx, s.w)
}

// maybeHeartbeat emits a heartbeat carrying the current offset when
// heartbeat.interval.ms has elapsed, and runs heartbeat.action.query.
func (s *streamer) maybeHeartbeat(ctx context.Context) error {
	cfg := s.t.cfg
	if cfg.heartbeatInterval <= 0 || time.Since(s.lastHeartbeat) < cfg.heartbeatInterval {
		return nil
	}
	s.lastHeartbeat = time.Now()
	if cfg.heartbeatQuery != "" {
		if _, err := s.t.conn.Exec(ctx, cfg.heartbeatQuery); err != nil {
			if lost := s.t.metadataLost(err); lost != nil {
				return lost
			}
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "57P01") {
				return fmt.Errorf("heartbeat.action.query %q: %w", cfg.heartbeatQuery, err)
			}
			s.t.log.Error("could not execute heartbeat action query", "query", cfg.heartbeatQuery, "error", err)
		}
	}
	if s.off.lsn == 0 && s.off.lsnProc == 0 && s.off.ts.IsZero() {
		return nil // Debezium sends no heartbeat before it has an offset
	}
	s.batch = append(s.batch, s.t.heartbeatRecord(s.off))
	return nil
}

func (t *pgTask) heartbeatRecord(off *offsetState) *connect.Record {
	r := debezium.HeartbeatRecord(t.cfg.heartbeatTopic, t.cfg.topicPrefix, t.partition, off.offsetMap(), time.Now())
	// HeartbeatImpl sends to partition 0 explicitly.
	r.Partition = 0
	return r
}

func (s *streamer) xmin(ctx context.Context) *int64 {
	cfg := s.t.cfg
	if cfg.xminInterval <= 0 {
		return nil
	}
	if s.off.xmin == nil || time.Since(s.lastXmin) >= cfg.xminInterval {
		if x, err := slotXmin(ctx, s.t.conn, cfg.slotName); err == nil {
			s.off.xmin = x
			s.lastXmin = time.Now()
		} else {
			s.t.log.Warn("could not read slot xmin", "error", err)
		}
	}
	return s.off.xmin
}

func parseMessage(data []byte) (msg pglogrepl.Message, err error) {
	// checkMessage keeps pglogrepl from reading past the data or
	// allocating from corrupt lengths; the recover stays as a last resort.
	if err := checkMessage(data); err != nil {
		return nil, err
	}
	if m, ok := zeroColumnInsert(data); ok {
		return m, nil
	}
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("malformed pgoutput message type %q: %v", data[0], r)
		}
	}()
	return pglogrepl.Parse(data)
}

// update is PostgresOffsetContext.updateWalPosition.
func (s *streamer) update(ctx context.Context, lsn pglogrepl.LSN, proc bool, ts time.Time, xid *int64, msgType string) {
	if proc {
		s.off.lsnProc = lsn
	}
	s.off.lsn = lsn
	if !ts.IsZero() {
		s.off.ts = ts
	}
	s.off.txID = xid
	s.off.xmin = s.xmin(ctx)
	if msgType != "" {
		s.off.msgType = msgType
	}
}

// xidPtr is the transaction's xid for the offset. The pointer is shared
// by the events of one transaction (nothing writes through it); a new
// one per event was an allocation each.
func (s *streamer) xidPtr() *int64 {
	if p := s.off.txID; p != nil && *p == int64(s.xid) {
		return p
	}
	v := int64(s.xid)
	return &v
}

func (s *streamer) handle(ctx context.Context, xld pglogrepl.XLogData) error {
	lsn := xld.WALStart
	if isRowChange(xld.WALData) {
		if err := checkMessage(xld.WALData); err != nil {
			return fmt.Errorf("at LSN %s: %w", lsn, err)
		}
		return s.rowChange(ctx, lsn, xld.WALData[0], decodeRowChange(xld.WALData))
	}
	msg, err := parseMessage(xld.WALData)
	if err != nil {
		return fmt.Errorf("at LSN %s: %w", lsn, err)
	}
	cfg := s.t.cfg
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		return s.relation(ctx, m)
	case *pglogrepl.TypeMessage:
		return nil
	case *pglogrepl.OriginMessage:
		s.off.originName, s.off.originLSN = m.Name, m.CommitLSN
		return nil
	case *pglogrepl.BeginMessage:
		s.inTx, s.xid, s.commitTime = true, m.Xid, m.CommitTime.UTC()
		s.catchUp.sawBegin(xld.ServerTime, m.CommitTime)
		s.skipTx = s.resume != nil && s.resume.lsnCommit != 0 && m.FinalLSN < s.resume.lsnCommit
		// The stored offset is inside this transaction when it names its
		// xid and a change: changes up to that change's LSN were handed to
		// Kafka already (changes of a transaction arrive in LSN order).
		s.resumeMid = !s.skipTx && s.resume != nil && s.resume.txID != nil && *s.resume.txID == int64(m.Xid) &&
			isChangeType(s.resume.msgType) && s.resume.lsn != 0
		if s.skipTx {
			return nil
		}
		s.off.originName, s.off.originLSN = "", 0
		s.update(ctx, lsn, false, s.commitTime, s.xidPtr(), "BEGIN")
		if cfg.provideTx {
			id := strconv.FormatUint(uint64(m.Xid), 10)
			if s.off.txInProgress == id && s.resume != nil {
				// Restored from offsets: the BEGIN event was already sent.
				return nil
			}
			s.beginTx(id)
			s.batch = append(s.batch, s.txRecord(true))
		}
		return nil
	case *pglogrepl.CommitMessage:
		s.inTx = false
		s.recentXids[s.recentN%recentXidCount] = s.xid
		s.recentN++
		if s.skipTx {
			s.skipTx = false
			return nil
		}
		s.resumeMid = false
		s.resume = nil
		s.update(ctx, lsn, true, m.CommitTime.UTC(), s.xidPtr(), "COMMIT")
		s.off.lsnCommit = lsn
		s.metrics.StreamingLag(time.Since(m.CommitTime))
		if err := s.maybeHeartbeat(ctx); err != nil {
			return err
		}
		if cfg.provideTx && s.off.txInProgress != "" {
			s.batch = append(s.batch, s.txRecord(false))
			s.endTx()
		}
		if _, txnl := s.w.(connect.TransactionCommitter); !txnl && len(s.batch) > 0 && len(s.batch) < maxHeld && s.buffered() > 0 {
			// The next message is received already: the records stay
			// in the batch and go out with the next transactions' (at
			// max.batch.size, or before a read that may block, or a
			// keepalive). A Write per single-row transaction cost a
			// queue hand-off and a wake-up of the conversion stage per
			// event; the order and the offsets are the same.
			if s.heldSince.IsZero() {
				s.heldSince = time.Now()
			}
			return nil
		}
		if err := s.flush(ctx); err != nil || ctx.Err() != nil {
			return err
		}
		// transaction.boundary=connector: one database transaction, one
		// Kafka transaction.
		return connect.CommitTransaction(ctx, s.w)
	case *pglogrepl.TruncateMessage:
		if s.skipChange(lsn) || cfg.skipped[debezium.OpTruncate] {
			// Debezium's decoder drops truncate messages when 't' is skipped.
			return nil
		}
		return s.truncate(ctx, lsn, m)
	case *pglogrepl.LogicalDecodingMessage:
		return s.message(ctx, lsn, m)
	}
	return nil
}

// rowChange handles an Insert ('I'), Update ('U') or Delete ('D').
func (s *streamer) rowChange(ctx context.Context, lsn pglogrepl.LSN, kind byte, c rowChange) error {
	if s.skipChange(lsn) {
		return nil
	}
	switch kind {
	case 'I':
		if err := s.change(ctx, lsn, c.relID, debezium.OpCreate, nil, c.new); err != nil {
			return err
		}
		// The signal table's own event goes out first: its offset is the
		// one a restart resumes after, so a signal that already ran is
		// not run again. (change does not modify an insert's cells.)
		if s.isSignalTable(c.relID) {
			return s.sourceSignal(ctx, true, c.new)
		}
	case 'U':
		return s.change(ctx, lsn, c.relID, debezium.OpUpdate, c.old, c.new)
	case 'D':
		if err := s.change(ctx, lsn, c.relID, debezium.OpDelete, c.old, nil); err != nil {
			return err
		}
		if s.isSignalTable(c.relID) {
			return s.sourceSignal(ctx, false, c.old)
		}
	}
	return nil
}

// isSignalTable reports whether a relation is signal.data.collection.
func (s *streamer) isSignalTable(relID uint32) bool {
	st := s.t.cfg.signalTable
	rel := s.relations[relID]
	return st != nil && rel != nil && rel.id == *st
}

// skipChange reports a change inside a transaction already processed
// before the restart.
func (s *streamer) skipChange(lsn pglogrepl.LSN) bool {
	if s.skipTx {
		return true
	}
	if !s.resumeMid {
		return false
	}
	if s.resume.msgType == "TRUNCATE" {
		// A truncate of several tables shares one LSN and only some of its
		// events may have been acknowledged: send it again.
		return lsn < s.resume.lsn
	}
	return lsn <= s.resume.lsn
}

func isChangeType(t string) bool {
	switch t {
	case "INSERT", "UPDATE", "DELETE", "TRUNCATE", "MESSAGE":
		return true
	}
	return false
}

// relation (re)builds a table's schema from a Relation message: pgoutput
// sends one before the first change of a table in a session and after
// every change of its structure, so later events use the new schema.
func (s *streamer) relation(ctx context.Context, m *pglogrepl.RelationMessage) error {
	id := tableID{Schema: m.Namespace, Table: m.RelationName}
	rel := &relation{id: id, captured: s.t.captured(id)}
	s.relations[m.RelationID] = rel
	if !rel.captured {
		return nil
	}
	current, err := s.t.cat.readTable(ctx, id, false)
	if lost := s.t.metadataLost(err); lost != nil {
		// Defaulting the columns now would publish a changed schema
		// for a mere network fault; the restart reads them again.
		return lost
	}
	if err != nil {
		// The table may have been dropped or renamed since; the relation
		// message alone still describes the rows that follow.
		s.t.log.Warn("could not read table metadata for relation message; columns default to optional", "table", id.String(), "error", err)
		current = &table{ID: id}
	}
	tbl := &table{ID: id, OID: m.RelationID, ReplicaIdentity: m.ReplicaIdentity}
	names := map[string]bool{}
	seenLower := map[string]bool{}
	for _, rc := range m.Columns {
		lower := toLower(rc.Name)
		if seenLower[lower] {
			return fmt.Errorf("table %s has columns that differ only by case (%q); Debezium rejects such tables because it cannot tell them apart", id, rc.Name)
		}
		seenLower[lower] = true
		typ, err := s.t.types.get(ctx, s.t.conn, rc.DataType)
		if err != nil {
			return fmt.Errorf("table %s column %s: %w", id, rc.Name, err)
		}
		c := &column{Name: rc.Name, Type: typ, TypMod: rc.TypeModifier, Optional: true}
		c.Length, c.Scale = lengthScale(typ, rc.TypeModifier)
		if _, cc := current.column(rc.Name); cc != nil {
			c.Optional = cc.Optional
			c.HasDefault, c.DefaultExpr = cc.HasDefault, cc.DefaultExpr
		}
		names[rc.Name] = true
		tbl.Columns = append(tbl.Columns, c)
	}
	// Key columns read out of band may come "from the future" (a later
	// ALTER TABLE); keep only those this relation has.
	for _, k := range current.PK {
		if names[k] {
			tbl.PK = append(tbl.PK, k)
		}
	}
	if len(current.PK) == 0 {
		if old := s.byTable[id]; old != nil {
			for _, k := range old.PK {
				if names[k] {
					tbl.PK = append(tbl.PK, k)
				}
			}
		}
	}
	s.byTable[id] = tbl
	s.inc.relationChanged(id)
	rel.ts, err = s.t.cfg.schemas.build(tbl)
	return err
}

func toLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func tupleCells(td *pglogrepl.TupleData) []*cell {
	if td == nil {
		return nil
	}
	return packCells(len(td.Columns), func(i int) ([]byte, bool, bool) {
		c := td.Columns[i]
		return c.Data, c.DataType == pglogrepl.TupleDataTypeNull, c.DataType == pglogrepl.TupleDataTypeToast
	})
}

func opMessageType(op debezium.Op) string {
	switch op {
	case debezium.OpCreate:
		return "INSERT"
	case debezium.OpUpdate:
		return "UPDATE"
	case debezium.OpDelete:
		return "DELETE"
	case debezium.OpTruncate:
		return "TRUNCATE"
	}
	return ""
}

// change builds the events of one row change; oldCells and newCells are
// nil when the message had no such tuple.
func (s *streamer) change(ctx context.Context, lsn pglogrepl.LSN, relID uint32, op debezium.Op, oldCells, newCells []*cell) error {
	rel := s.relations[relID]
	if rel == nil {
		return fmt.Errorf("change at LSN %s for relation %d that no Relation message described", lsn, relID)
	}
	// A key-changing update becomes two events; the first carries the
	// offset from before this change, so that if only it reaches Kafka
	// the restart emits both again instead of losing the second. Only an
	// update with an old tuple can change the key: the offset is built
	// for those alone (a map per change was a tenth of the task's
	// allocations).
	var prevOffset map[string]any
	if op == debezium.OpUpdate && oldCells != nil {
		prevOffset = s.off.offsetMap()
	}
	s.update(ctx, lsn, true, s.commitTime, s.xidPtr(), opMessageType(op))
	if !rel.captured {
		return s.maybeHeartbeat(ctx)
	}
	ts := rel.ts
	// An unchanged TOASTed column takes its value from the old tuple when
	// REPLICA IDENTITY FULL sent one (Debezium's cachedOldToastedValues).
	for i, c := range newCells {
		if c != nil && c.unchanged && i < len(oldCells) && oldCells[i] != nil && !oldCells[i].unchanged && !oldCells[i].null {
			newCells[i] = oldCells[i]
		}
	}
	var lookup []connect.Header
	if op == debezium.OpUpdate {
		var err error
		if lookup, err = s.lookupToast(ctx, ts, newCells); err != nil {
			return err
		}
	}
	switch op {
	case debezium.OpCreate:
		if len(newCells) == 0 {
			return nil
		}
		key, err := ts.keyStruct(newCells)
		if err != nil {
			return err
		}
		after, err := ts.valueStruct(newCells)
		if err != nil {
			return err
		}
		return s.emit(ts, op, newCells, key, nil, after, nil)
	case debezium.OpUpdate:
		if len(newCells) == 0 {
			return nil
		}
		newKey, err := ts.keyStruct(newCells)
		if err != nil {
			return err
		}
		after, err := ts.valueStruct(newCells)
		if err != nil {
			return err
		}
		var oldKey, before *connect.StructValue
		if oldCells != nil {
			if oldKey, err = ts.keyStruct(oldCells); err != nil {
				return err
			}
			if before, err = ts.valueStruct(oldCells); err != nil {
				return err
			}
		}
		if oldKey == nil || connect.Equal(oldKey, newKey) {
			return s.emit(ts, op, newCells, newKey, before, after, lookup)
		}
		// A key change is a delete of the old key and a create of the new.
		n := len(s.batch)
		if err := s.emit(ts, debezium.OpDelete, oldCells, oldKey, before, nil,
			[]connect.Header{{Key: "__debezium.newkey", Schema: ts.key, Value: newKey}}); err != nil {
			return err
		}
		for _, r := range s.batch[n:] {
			if r.Topic == ts.topic {
				r.SourceOffset = prevOffset
			}
		}
		return s.emit(ts, debezium.OpCreate, newCells, newKey, nil, after,
			append([]connect.Header{{Key: "__debezium.oldkey", Schema: ts.key, Value: oldKey}}, lookup...))
	case debezium.OpDelete:
		if len(oldCells) == 0 {
			return nil
		}
		key, err := ts.keyStruct(oldCells)
		if err != nil {
			return err
		}
		before, err := ts.valueStruct(oldCells)
		if err != nil {
			return err
		}
		return s.emit(ts, op, oldCells, key, before, nil, nil)
	}
	return nil
}

// emit builds the change record(s) for one event, applying
// skipped.operations, transaction metadata and tombstones. cells are the
// row the key comes from: an incremental snapshot drops its buffered row
// of that key (as Debezium, only for events not skipped).
func (s *streamer) emit(ts *tableSchema, op debezium.Op, cells []*cell, key, before, after *connect.StructValue, headers []connect.Header) error {
	cfg := s.t.cfg
	if cfg.skipped[op] {
		return nil
	}
	s.inc.dedup(ts, cells)
	src := s.off.sourceStruct(cfg.schemas.source, cfg.topicPrefix, cfg.dbname, ts.table.ID, "")
	var tx *debezium.Transaction
	if cfg.provideTx {
		tx = s.txEvent(ts.table.ID.String())
	}
	env := debezium.NewEnvelope(ts.envelope, op, before, after, src, tx, time.Now())
	r := s.t.dataRecord(ts, key, env, s.off.offsetMap())
	r.Headers = headers
	s.batch = append(s.batch, r)
	if op == debezium.OpDelete && cfg.tombstones {
		tomb := &connect.Record{SourcePartition: r.SourcePartition, SourceOffset: r.SourceOffset, Topic: r.Topic, Partition: -1,
			KeySchema: r.KeySchema, Key: r.Key, Headers: headers}
		s.batch = append(s.batch, tomb)
	}
	return nil
}

func (s *streamer) truncate(ctx context.Context, lsn pglogrepl.LSN, m *pglogrepl.TruncateMessage) error {
	var tables []*relation
	for _, id := range m.RelationIDs {
		if rel := s.relations[id]; rel != nil && rel.captured {
			tables = append(tables, rel)
		}
	}
	cfg := s.t.cfg
	for i, rel := range tables {
		s.inc.truncated(rel.id)
		// Only the last table of a truncate completes its LSN.
		s.update(ctx, lsn, i == len(tables)-1, s.commitTime, s.xidPtr(), "TRUNCATE")
		ts := rel.ts
		if cfg.skipped[debezium.OpTruncate] {
			continue
		}
		src := s.off.sourceStruct(cfg.schemas.source, cfg.topicPrefix, cfg.dbname, rel.id, "")
		var tx *debezium.Transaction
		if cfg.provideTx {
			tx = s.txEvent(rel.id.String())
		}
		env := debezium.NewEnvelope(ts.envelope, debezium.OpTruncate, nil, nil, src, tx, time.Now())
		r := s.t.dataRecord(ts, nil, env, s.off.offsetMap())
		r.KeySchema = nil
		s.batch = append(s.batch, r)
	}
	return nil
}

// serverMajor parses the major version from server_version ("15.4 (Debian ...)").
func serverMajor(v string) int {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(v[:end])
	return n
}
