package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/signal"
)

// startSignalChannels starts the signal channels (signal.StartChannels);
// the returned function stops them.
func (t *task) startSignalChannels(ctx context.Context) func() {
	ch, stop := signal.StartChannels(ctx, t.c.cfg.signals, t.c.tc.ConnectorName, t.c.cfg.topicPrefix, t.c.log)
	t.signals = ch
	return stop
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
	return signal.Dispatch(ctx, r.t.c.log, rec, r.inc, r)
}

// QueueBlocking is signal.Stream's: the snapshot runs between two
// transactions (runBlocking).
func (r *sigRun) QueueBlocking(rec signal.Record, req *signal.SnapshotRequest) {
	r.blocking = append(r.blocking, blockingRequest{rec: rec, req: req})
}

// Offset is signal.Stream's.
func (r *sigRun) Offset() map[string]any { return r.o.offset() }
