package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
)

// startSignalChannels starts polling the kafka and file signal channels
// and takes the signals sent through the REST API; the returned function
// stops it and waits for the channels to close.
func (t *task) startSignalChannels(ctx context.Context) func() {
	cfg := t.c.cfg.signals
	ch := make(chan signal.Record, 16)
	t.signals = ch
	unregister := signal.Register(t.c.tc.ConnectorName, ch)
	var readers []signal.Reader
	if cfg.Enabled(signal.ChannelKafka) {
		readers = append(readers, signal.NewKafkaReader(cfg, t.c.cfg.topicPrefix, t.c.log))
	}
	if cfg.Enabled(signal.ChannelFile) {
		t.c.log.Info("reading signals from a file", "file", cfg.File)
		readers = append(readers, &signal.FileReader{Path: cfg.File, Log: t.c.log})
	}
	if len(readers) == 0 {
		return unregister
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		signal.Poll(pctx, readers, cfg.PollInterval, ch, t.c.log)
	}()
	return func() {
		unregister()
		cancel()
		<-done
	}
}

// sigRun is what signals act on during one streaming run: the run's
// emitter and offset, the incremental snapshot and the blocking snapshots
// waiting for the end of the current transaction.
type sigRun struct {
	t        *task
	em       *emitter
	o        *offsetState
	st       *streamState
	inc      *incremental
	blocking []blockingRequest
	table    TableID // signal.data.collection; DB "" when not set
}

type blockingRequest struct {
	rec signal.Record
	req *signal.SnapshotRequest
}

func (t *task) newSigRun(em *emitter, o *offsetState, st *streamState) *sigRun {
	r := &sigRun{t: t, em: em, o: o, st: st}
	if dc := t.c.cfg.signals.DataCollection; dc != "" {
		db, tbl, _ := strings.Cut(dc, ".")
		r.table = TableID{DB: db, Table: tbl}
	}
	if o.inc == nil {
		o.inc = signal.NewIncremental()
	}
	o.readOnly = t.c.cfg.readOnly
	r.inc = newIncremental(r, o.inc)
	return r
}

// between reports whether the reader is between transactions, where
// signals act: after a commit, or after a DDL statement (which commits
// implicitly; MariaDB gives it a GTID event like a transaction's).
func (r *sigRun) between() bool { return !r.o.inTx || r.st.afterDDL }

// isSignalTable reports whether id is signal.data.collection (compared
// as MySQL compares table names on a case-insensitive file system: exactly
// for the database, case-insensitively for lower_case_table_names servers
// is not assumed).
func (r *sigRun) isSignalTable(id TableID) bool {
	return r.table.DB != "" && id == r.table
}

// cellText reads a signal table cell as the binlog decodes it.
func cellText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return fmt.Sprint(v), true
}

// signalRow handles one row change of the signal table: inserts carry
// signals, deletes may close a watermark window.
func (r *sigRun) signalRow(ctx context.Context, op debezium.Op, before, after []any) error {
	row := after
	switch op {
	case debezium.OpDelete:
		row = before
	case debezium.OpCreate:
	default:
		return nil
	}
	rec, ok := signal.SourceRecord(r.t.c.cfg.signals, r.t.c.log, op == debezium.OpDelete, len(row), func(n int) (string, bool) { return cellText(row[n]) })
	if !ok {
		return nil
	}
	return r.handle(ctx, rec)
}

// poll handles the signals the kafka and file channels and the REST API
// delivered, then the blocking snapshots requested. It runs between
// transactions only, so an action never lands inside a transaction's
// events.
func (r *sigRun) poll(ctx context.Context) error {
	for {
		select {
		case rec := <-r.t.signals:
			if err := r.handle(ctx, rec); err != nil {
				return err
			}
		default:
			if err := r.inc.idle(ctx); err != nil {
				return err
			}
			return r.runBlocking(ctx)
		}
	}
}

// handle runs one signal's action.
func (r *sigRun) handle(ctx context.Context, rec signal.Record) error {
	return signal.Dispatch(ctx, r.t.c.log, rec, r)
}

// The signal.Actions of a streaming run.

func (r *sigRun) WindowOpened(id string) { r.inc.WindowOpened(id) }

func (r *sigRun) WindowClosed(ctx context.Context, id string) error {
	return r.inc.windowClosed(ctx, id)
}

func (r *sigRun) ExecuteIncremental(ctx context.Context, rec signal.Record, req *signal.SnapshotRequest) error {
	return r.inc.Execute(ctx, rec, req)
}

func (r *sigRun) StopIncremental(ctx context.Context, rec signal.Record, dataCollections []string) error {
	return r.inc.Stop(ctx, rec, dataCollections)
}

func (r *sigRun) PauseIncremental(rec signal.Record) { r.inc.Pause(rec) }

func (r *sigRun) ResumeIncremental(ctx context.Context, rec signal.Record) error {
	return r.inc.Resume(ctx, rec)
}

func (r *sigRun) QueueBlocking(rec signal.Record, req *signal.SnapshotRequest) {
	r.blocking = append(r.blocking, blockingRequest{rec: rec, req: req})
}

func (r *sigRun) Offset() map[string]any { return r.o.offset() }
