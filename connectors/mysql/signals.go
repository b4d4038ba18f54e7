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

// signalRow handles one row change of the signal table
// (SourceSignalChannel): an insert carries id, type and data in its first
// three columns; with insert_delete watermarking the delete of an open
// watermark closes its window.
func (r *sigRun) signalRow(ctx context.Context, op debezium.Op, before, after []any) error {
	cfg := r.t.c.cfg.signals
	if !cfg.Enabled(signal.ChannelSource) {
		return nil
	}
	switch op {
	case debezium.OpDelete:
		if cfg.Watermarking != signal.InsertDelete || len(before) == 0 {
			return nil
		}
		id, _ := cellText(before[0])
		if open, ok := strings.CutSuffix(id, "-open"); ok {
			return r.handle(ctx, signal.Record{ID: open + "-close", Type: signal.ActionWindowClose, Channel: signal.ChannelSource})
		}
		return nil
	case debezium.OpCreate:
	default:
		return nil
	}
	var id string
	if len(after) > 0 {
		id, _ = cellText(after[0])
	}
	log := r.t.c.log
	if len(after) < 3 {
		log.Warn("malformed signal row: the signal table must have the columns id, type, data", "signal_id", id, "table", cfg.DataCollection, "columns", len(after))
		return nil
	}
	typ, ok := cellText(after[1])
	if !ok || typ == "" {
		log.Warn("malformed signal row: no type", "signal_id", id, "table", cfg.DataCollection)
		return nil
	}
	data, _ := cellText(after[2])
	return r.handle(ctx, signal.Record{ID: id, Type: typ, Data: data, Channel: signal.ChannelSource})
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

// handle runs one signal's action (SignalProcessor.processSignal). A
// signal that cannot be carried out is logged with its id and dropped;
// only failures of the database or Kafka end the stream.
func (r *sigRun) handle(ctx context.Context, rec signal.Record) error {
	log := r.t.c.log.With("signal_id", rec.ID, "signal_type", rec.Type, "channel", rec.Channel)
	bad := func(err error) error {
		log.Warn("signal ignored: malformed data", "data", rec.Data, "error", err)
		return nil
	}
	switch rec.Type {
	case signal.ActionLog:
		msg, err := signal.ParseLog(rec.Data)
		if err != nil {
			return bad(err)
		}
		log.Info(signal.FormatLog(msg, r.o.offset()))
	case signal.ActionWindowOpen:
		r.inc.windowOpened(rec.ID)
	case signal.ActionWindowClose:
		return r.inc.windowClosed(ctx, rec.ID)
	case signal.ActionExecuteSnapshot:
		req, err := signal.ParseExecuteSnapshot(rec.Data)
		if err != nil {
			return bad(err)
		}
		if req.Kind == signal.KindBlocking {
			log.Info("blocking snapshot requested; it starts after the current transaction", "data_collections", req.DataCollections)
			r.blocking = append(r.blocking, blockingRequest{rec: rec, req: req})
			return nil
		}
		return r.inc.execute(ctx, rec, req)
	case signal.ActionStopSnapshot:
		req, err := signal.ParseStopSnapshot(rec.Data)
		if err != nil {
			return bad(err)
		}
		if req.Kind == signal.KindBlocking {
			log.Warn("stop-snapshot of type blocking has no effect: a blocking snapshot runs to completion")
			return nil
		}
		return r.inc.stop(ctx, rec, req.DataCollections)
	case signal.ActionPauseSnapshot:
		r.inc.pause(rec)
	case signal.ActionResumeSnapshot:
		return r.inc.resume(ctx, rec)
	default:
		log.Warn("signal ignored: unknown type")
	}
	return nil
}
