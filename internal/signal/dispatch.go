package signal

import (
	"context"
	"log/slog"
	"strings"
)

// Snapshots is a connector's incremental snapshot as signals act on it
// (internal/incremental's Engine, with the connector's WindowClosed).
type Snapshots interface {
	// WindowOpened and WindowClosed handle the watermarks of a chunk
	// coming back through the stream.
	WindowOpened(id string)
	WindowClosed(ctx context.Context, id string) error
	Execute(ctx context.Context, rec Record, req *SnapshotRequest) error
	Stop(ctx context.Context, rec Record, dataCollections []string) error
	Pause(rec Record)
	Resume(ctx context.Context, rec Record) error
}

// Stream is a connector's stream as signals act on it.
type Stream interface {
	// QueueBlocking asks for a blocking snapshot, which starts after the
	// current transaction.
	QueueBlocking(rec Record, req *SnapshotRequest)
	// Offset is the stream's current offset, for the log action.
	Offset() map[string]any
}

// Dispatch runs one signal's action (SignalProcessor.processSignal). A
// signal that cannot be carried out is logged with its id and dropped;
// only the errors of the actions (the database or the bus failing) are
// returned.
func Dispatch(ctx context.Context, log *slog.Logger, rec Record, inc Snapshots, stream Stream) error {
	log = log.With("signal_id", rec.ID, "signal_type", rec.Type, "channel", rec.Channel)
	bad := func(err error) error {
		log.Warn("signal ignored: malformed data", "data", rec.Data, "error", err)
		return nil
	}
	switch rec.Type {
	case ActionLog:
		msg, err := ParseLog(rec.Data)
		if err != nil {
			return bad(err)
		}
		log.Info(FormatLog(msg, stream.Offset()))
	case ActionWindowOpen:
		inc.WindowOpened(rec.ID)
	case ActionWindowClose:
		return inc.WindowClosed(ctx, rec.ID)
	case ActionExecuteSnapshot:
		req, err := ParseExecuteSnapshot(rec.Data)
		if err != nil {
			return bad(err)
		}
		if req.Kind == KindBlocking {
			log.Info("blocking snapshot requested; it starts after the current transaction", "data_collections", req.DataCollections)
			stream.QueueBlocking(rec, req)
			return nil
		}
		return inc.Execute(ctx, rec, req)
	case ActionStopSnapshot:
		req, err := ParseStopSnapshot(rec.Data)
		if err != nil {
			return bad(err)
		}
		if req.Kind == KindBlocking {
			// StopSnapshot only acts on incremental snapshots.
			log.Warn("stop-snapshot of type blocking has no effect: a blocking snapshot runs to completion")
			return nil
		}
		return inc.Stop(ctx, rec, req.DataCollections)
	case ActionPauseSnapshot:
		inc.Pause(rec)
	case ActionResumeSnapshot:
		return inc.Resume(ctx, rec)
	default:
		log.Warn("signal ignored: unknown type")
	}
	return nil
}

// SourceRecord reads a signal from a row change of the signal table
// (SourceSignalChannel): an insert carries id, type and data in the
// table's first three columns; with insert_delete watermarking the delete
// of an open watermark closes its window. cell gives the text of a column
// of the row (the new row of an insert, the old of a delete) and whether
// it has one; cols is the row's number of columns. It reports false for a
// change that is no signal, and logs why a malformed row is one.
func SourceRecord(cfg *Config, log *slog.Logger, deleted bool, cols int, cell func(n int) (string, bool)) (Record, bool) {
	if !cfg.Enabled(ChannelSource) {
		return Record{}, false
	}
	var id string
	if cols > 0 {
		id, _ = cell(0)
	}
	if deleted {
		if cfg.Watermarking != InsertDelete {
			return Record{}, false
		}
		if open, ok := strings.CutSuffix(id, "-open"); ok && open != "" {
			return Record{ID: open + "-close", Type: ActionWindowClose, Channel: ChannelSource}, true
		}
		return Record{}, false
	}
	if cols < 3 {
		log.Warn("malformed signal row: the signal table must have the columns id, type, data", "signal_id", id, "table", cfg.DataCollection, "columns", cols)
		return Record{}, false
	}
	typ, ok := cell(1)
	if !ok || typ == "" {
		log.Warn("malformed signal row: no type", "signal_id", id, "table", cfg.DataCollection)
		return Record{}, false
	}
	data, _ := cell(2)
	return Record{ID: id, Type: typ, Data: data, Channel: ChannelSource}, true
}

// StartChannels starts polling the kafka and file signal channels of cfg
// and takes the signals sent to the connector through the REST API (the
// worker's inboxes in ctx, WithInboxes); the signals arrive on the
// returned channel. stop stops it and waits for the channels to close.
func StartChannels(ctx context.Context, cfg *Config, connector, topicPrefix string, log *slog.Logger) (signals <-chan Record, stop func()) {
	ch := make(chan Record, 16)
	unregister := InboxesFrom(ctx).Register(connector, ch)
	var readers []Reader
	if cfg.Enabled(ChannelKafka) {
		readers = append(readers, NewKafkaReader(cfg, topicPrefix, log))
	}
	if cfg.Enabled(ChannelFile) {
		log.Info("reading signals from a file", "file", cfg.File)
		readers = append(readers, &FileReader{Path: cfg.File, Log: log})
	}
	if len(readers) == 0 {
		return ch, unregister
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Poll(pctx, readers, cfg.PollInterval, ch, log)
	}()
	return ch, func() {
		unregister()
		cancel()
		<-done
	}
}
