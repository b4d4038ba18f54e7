// Package postgres is a Debezium-compatible PostgreSQL source connector
// (io.debezium.connector.postgresql.PostgresConnector). It captures
// changes through logical replication with the pgoutput plugin and emits
// the same events as Debezium 3.6.1: an initial snapshot read through a
// snapshot exported by the replication slot, then the slot's stream.
//
// Delivery guarantees: the slot's confirmed position only advances to LSNs
// the runtime reported as committed (OffsetsCommitted), so the server
// keeps every WAL segment whose changes Kafka has not acknowledged. On
// restart the task resumes from the stored offset: transactions whose
// commit is at or before the stored lsn_commit are skipped, and inside the
// transaction that was in progress (stored txId) changes at or before the
// stored lsn_proc are skipped, so nothing is lost and nothing that was
// committed is repeated.
//
// Snapshots: a snapshot that did not complete (stored offset with
// snapshot=INITIAL and snapshot_completed=false) is redone from the start.
// Whenever a snapshot is taken and the task will stream afterwards, the
// replication slot is (re)created with EXPORT_SNAPSHOT so that the data
// read and the stream start at exactly the same point; an existing slot
// is dropped first, because an existing slot cannot export a snapshot and
// Debezium's fallback (reading without a consistent point and streaming
// from the slot's confirmed position) can lose or duplicate changes made
// while the snapshot runs. Every change after the new consistent point is
// streamed, so dropping the old slot loses nothing the snapshot does not
// contain.
//
// Unchanged TOASTed values: as Debezium, an UPDATE under REPLICA IDENTITY
// DEFAULT carries unavailable.value.placeholder for them. Tributary adds
// toast.lookup.mode=select, which reads them back by primary key (the
// row's current value, as Debezium's ReselectColumnsPostProcessor) and
// marks the event with the header tributary.toast.lookup; see
// docs/toast.md.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
)

// Plugin describes the connector to the runtime.
func Plugin() *connect.Plugin {
	return &connect.Plugin{
		Class:   Class,
		Aliases: []string{"postgres", "postgresql", "PostgresConnector"},
		Type:    connect.SourcePlugin,
		Version: debezium.Version,
		Config:  Def,
		// A restarted task resumes right after its committed offset (an
		// unfinished initial snapshot is redone, and the runtime keeps
		// one in a single transaction), as Debezium's declares.
		ExactlyOnce: connect.ExactlyOnceSupported,
		// transaction.boundary=connector: the stream commits the Kafka
		// transaction at each database COMMIT (and between transactions
		// when idle); the initial snapshot, one database transaction, is
		// one Kafka transaction anyway.
		TransactionBoundaries: true,
		Validate: func(ctx context.Context, cfg *config.Values) error {
			c, err := parseConfig(cfg, slog.Default())
			if err != nil {
				return err
			}
			return validate(ctx, c)
		},
		DescribeSchemas: DescribeSchemas,
		NewSourceTask: func(ctx context.Context, cfg *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			return newTask(cfg, tc)
		},
	}
}

// validate checks what Debezium's PostgresConnector.validate checks:
// the server is reachable, wal_level is logical and the user may
// replicate.
func validate(ctx context.Context, c *pgConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn(false))
	if err != nil {
		return fmt.Errorf("database.hostname: cannot connect to %s:%d/%s as %s: %w", c.host, c.port, c.dbname, c.user, explainConnect(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var walLevel string
	if err := conn.QueryRow(ctx, "SHOW wal_level").Scan(&walLevel); err != nil {
		return fmt.Errorf("read wal_level: %w", err)
	}
	if walLevel != "logical" {
		return fmt.Errorf("database.hostname: PostgreSQL at %s:%d has wal_level=%s; logical decoding needs wal_level=logical (ALTER SYSTEM SET wal_level = logical and restart the server)", c.host, c.port, walLevel)
	}
	var super, repl bool
	if err := conn.QueryRow(ctx, "SELECT rolsuper, rolreplication FROM pg_catalog.pg_roles WHERE rolname = current_user").Scan(&super, &repl); err != nil {
		return fmt.Errorf("read privileges of %s: %w", c.user, err)
	}
	if !super && !repl {
		return fmt.Errorf("database.user: role %q has neither the REPLICATION attribute nor superuser; grant it with ALTER ROLE %s REPLICATION", c.user, pgx.Identifier{c.user}.Sanitize())
	}
	return nil
}

// pgTask is one running connector task.
type pgTask struct {
	cfg       *pgConfig
	tc        connect.TaskContext
	log       *slog.Logger
	partition map[string]any

	conn  *pgx.Conn // metadata and heartbeat connection
	types *typeRegistry
	cat   *catalog

	// flushable is the newest LSN the runtime has committed offsets for;
	// only this LSN is ever confirmed to the server.
	flushable atomic.Uint64

	mu      sync.Mutex
	running bool

	// signals carries the signals of the kafka and file channels and the
	// REST API to the stream loop.
	signals <-chan signal.Record

	// afterChunkRead, set by tests, runs after an incremental snapshot
	// chunk is read and before its close watermark is written.
	afterChunkRead func(table tableID, lastKey []any)
}

func newTask(cfg *config.Values, tc connect.TaskContext) (*pgTask, error) {
	log := tc.Logger
	if log == nil {
		log = slog.Default()
	}
	// The runtime's logger already names the connector and task.
	c, err := parseConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	for _, n := range c.snapshotNoticed {
		log.Warn(n)
	}
	return &pgTask{cfg: c, tc: tc, log: log, partition: map[string]any{"server": c.topicPrefix}}, nil
}

// OffsetsCommitted records the LSN Kafka has acknowledged; the stream
// confirms it to PostgreSQL with its next status update.
func (t *pgTask) OffsetsCommitted(_ context.Context, partition, offset map[string]any) error {
	if s, _ := partition["server"].(string); s != t.cfg.topicPrefix {
		return nil
	}
	commit, okc, err := offsetInt(offset, keyLSNCommit)
	if err != nil {
		return err
	}
	proc, okp, err := offsetInt(offset, keyLSNProc)
	if err != nil {
		return err
	}
	var lsn int64
	switch {
	case okc:
		lsn = commit
	case okp:
		lsn = proc
	default:
		return nil
	}
	for {
		cur := t.flushable.Load()
		if uint64(lsn) <= cur || t.flushable.CompareAndSwap(cur, uint64(lsn)) {
			return nil
		}
	}
}

func (t *pgTask) open(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, t.cfg.dsn(false))
	if err != nil {
		return fmt.Errorf("connect to %s:%d/%s as %s: %w", t.cfg.host, t.cfg.port, t.cfg.dbname, t.cfg.user, explainConnect(err))
	}
	t.conn = conn
	for _, s := range t.cfg.initialStatements {
		if _, err := conn.Exec(ctx, s); err != nil {
			return fmt.Errorf("database.initial.statements: %q: %w", s, err)
		}
	}
	if t.types, err = loadTypes(ctx, conn); err != nil {
		return err
	}
	t.cat = &catalog{conn: conn, types: t.types}
	return nil
}

func (t *pgTask) close(ctx context.Context) {
	if t.conn != nil {
		_ = t.conn.Close(context.WithoutCancel(ctx))
		t.conn = nil
	}
}

// Run snapshots and streams until ctx ends. A failure that reconnecting
// can cure (the server shut down or restarted, the connection broke) is
// returned as connect.Retriable: the runtime then runs the task again
// from its committed offset.
func (t *pgTask) Run(ctx context.Context, w connect.RecordWriter) error {
	err := t.run(ctx, w)
	if err != nil && ctx.Err() == nil && retriable(err) {
		return connect.Retriable(err)
	}
	return err
}

func (t *pgTask) run(ctx context.Context, w connect.RecordWriter) error {
	t.mu.Lock()
	if t.running {
		t.mu.Unlock()
		return fmt.Errorf("postgres task %s-%d is already running", t.tc.ConnectorName, t.tc.TaskID)
	}
	t.running = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.running = false
		t.mu.Unlock()
	}()
	defer t.close(ctx)
	if err := t.open(ctx); err != nil {
		return err
	}
	var prev *offsetState
	if t.tc.Offsets != nil {
		stored, err := t.tc.Offsets.Offset(ctx, t.partition)
		if err != nil {
			return fmt.Errorf("read stored offset of %v: %w", t.partition, err)
		}
		if len(stored) > 0 {
			if prev, err = loadOffset(stored); err != nil {
				return err
			}
			t.log.Info("found previous offset", "offset", stored)
		}
	}
	mode := t.cfg.snapshotMode
	streaming := mode != "initial_only"
	if streaming {
		// Signals sent while the initial snapshot runs wait for the stream.
		stopSignals := t.startSignalChannels(ctx)
		defer stopSignals()
	}
	var slot slotInfo
	var err error
	if streaming {
		if slot, err = readSlot(ctx, t.conn, t.cfg.slotName); err != nil {
			return err
		}
		if slot.exists && slot.plugin != "pgoutput" {
			return fmt.Errorf("slot.name: replication slot %q uses plugin %q, not pgoutput", t.cfg.slotName, slot.plugin)
		}
		if slot.exists && slot.database != t.cfg.dbname {
			return fmt.Errorf("slot.name: replication slot %q belongs to database %q, not %q", t.cfg.slotName, slot.database, t.cfg.dbname)
		}
	}
	snapshotRunning := prev != nil && prev.snapshotRunning
	var snapshot bool
	switch mode {
	case "always":
		snapshot = true
	case "initial", "initial_only":
		snapshot = prev == nil || snapshotRunning
	case "when_needed":
		snapshot = prev == nil || snapshotRunning || !slot.exists
	case "no_data":
		snapshot = false
	}
	if snapshotRunning {
		t.log.Info("previous snapshot was cancelled before completion; a new snapshot will be taken")
	}
	if !streaming && !snapshot {
		t.log.Info("snapshot.mode=initial_only and the snapshot is complete; nothing to do")
		return nil
	}

	var exported *pglogrepl.CreateReplicationSlotResult
	var cleanup func()
	if streaming {
		if err := t.initPublication(ctx); err != nil {
			return err
		}
		if snapshot || !slot.exists {
			if slot.exists {
				t.log.Warn("dropping the existing replication slot to re-create it with an exported snapshot consistent with the new snapshot",
					"slot", t.cfg.slotName)
				if err := dropSlot(ctx, t.conn, t.cfg.slotName, 30*time.Second); err != nil {
					return err
				}
			}
			repl, err := t.cfg.replConn(ctx)
			if err != nil {
				return err
			}
			cleanup = func() { _ = repl.Close(context.WithoutCancel(ctx)) }
			res, err := createSlot(ctx, repl, t.cfg.slotName, snapshot)
			if err != nil {
				cleanup()
				return err
			}
			t.log.Info("created replication slot", "slot", t.cfg.slotName, "consistent_point", res.ConsistentPoint, "snapshot", res.SnapshotName)
			if snapshot {
				exported = &res
			} else {
				cleanup()
				cleanup = nil
				if prev != nil {
					t.log.Warn("the replication slot did not exist although an offset was stored; changes made while it was missing are lost (use snapshot.mode=when_needed to re-snapshot in that case)",
						"slot", t.cfg.slotName)
				}
			}
		}
	}

	var off *offsetState
	if snapshot {
		off, err = t.snapshot(ctx, w, exported, cleanup)
		if cleanup != nil {
			cleanup()
		}
		if err != nil {
			return err
		}
		if !streaming {
			t.log.Info("snapshot.mode=initial_only: snapshot completed, not streaming")
			return nil
		}
		prev = nil
	} else {
		off = prev
		if off == nil {
			off = &offsetState{}
		}
	}
	return t.stream(ctx, w, off, prev)
}

// startSignalChannels starts the signal channels (signal.StartChannels);
// the returned function stops them.
func (t *pgTask) startSignalChannels(ctx context.Context) func() {
	ch, stop := signal.StartChannels(ctx, t.cfg.signals, t.tc.ConnectorName, t.cfg.topicPrefix, t.log)
	t.signals = ch
	return stop
}
