package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// Transactions configures exactly-once delivery of one source task: its
// records and their source offsets are written in Kafka transactions, so a
// read_committed consumer sees each record once whatever happens to the
// task (Kafka Connect's ExactlyOnceWorkerSourceTask).
type Transactions struct {
	// ID is the producer's transactional.id (kafka.TransactionalID).
	ID string
	// Producer is the transactional producer, created with ID before the
	// task reads its offsets: creating it fences earlier instances.
	Producer TxnProducer
	// Boundary is transaction.boundary: poll, interval or connector.
	Boundary string
	// Interval is transaction.boundary.interval.ms.
	Interval time.Duration
	// OffsetsTopic receives the offsets inside each transaction; it is the
	// topic the task's offset store reads (with read_committed).
	OffsetsTopic string
	// OwnOffsetsTopic: OffsetsTopic is the connector's
	// offsets.storage.topic rather than the worker's.
	OwnOffsetsTopic bool
	// Timeout is transaction.timeout.ms, for the error when the broker
	// aborted a transaction that stayed open longer.
	Timeout time.Duration
}

// TxnProducer is the transactional producer a task writes through.
type TxnProducer interface {
	Sender
	BeginTxn() error
	CommitTxn() error
	AbortTxn() error
}

// runTransactional is Run under exactly-once delivery.
func (s *Source) runTransactional(ctx context.Context) error {
	t := s.Transactions
	log := s.Logger.With("transactional.id", t.ID, "transaction.boundary", t.Boundary)
	w := &txnWriter{s: s, t: t, conv: &writer{s: s}, pending: map[string]int{}}
	taskCtx, cancelTask := context.WithCancel(ctx)
	defer cancelTask()
	taskErr := make(chan error, 1)
	go func() { taskErr <- s.runTask(taskCtx, w, w.settle) }()

	every := s.FlushInterval
	if t.Boundary == BoundaryInterval && t.Interval > 0 && t.Interval < every {
		every = t.Interval
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var runErr error
loop:
	for {
		select {
		case err := <-taskErr:
			if err != nil && !errors.Is(err, context.Canceled) {
				runErr = fmt.Errorf("connector %s task failed: %w", s.Name, err)
			}
			break loop
		case <-ticker.C:
			if err := w.tick(ctx); err != nil {
				runErr = fmt.Errorf("connector %s: %w", s.Name, err)
				cancelTask()
				<-taskErr
				break loop
			}
		}
	}
	cancelTask()
	if runErr != nil {
		// Nothing of the open transaction becomes visible: a restart
		// re-reads from the offsets committed with the last transaction.
		if err := w.abort(); err != nil {
			log.Warn("could not abort the open transaction; the broker aborts it after transaction.timeout.ms", "error", err)
		}
		return runErr
	}
	commitCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	if err := w.settle(commitCtx); err != nil {
		return fmt.Errorf("connector %s: %w", s.Name, err)
	}
	log.Info("connector stopped cleanly", "records", s.Stats.Written.Load())
	return nil
}

// txnWriter is the RecordWriter of a task under exactly-once delivery.
// Write sends records into the open transaction and notes the newest
// offset of each source partition; a commit adds those offsets to the
// offsets topic in the same transaction and commits it.
type txnWriter struct {
	s    *Source
	t    *Transactions
	conv *writer

	mu      sync.Mutex
	open    bool
	began   time.Time
	entries []offsets.Entry // newest offset per source partition, in first-seen order
	pending map[string]int  // partKey: index in entries
	records int             // records in the open transaction
	failed  error

	ackMu  sync.Mutex
	ackErr error

	committed atomic.Bool // nothing written since the last commit
}

// AllCommitted implements connect.CommitReporter.
func (w *txnWriter) AllCommitted() bool { return w.committed.Load() }

// CommitTransaction implements connect.TransactionCommitter: under
// transaction.boundary=connector it ends the transaction here.
func (w *txnWriter) CommitTransaction(ctx context.Context) error {
	if w.t.Boundary != BoundaryConnector {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commitLocked(ctx)
}

func (w *txnWriter) Write(ctx context.Context, recs []*connect.Record) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return w.failed
	}
	s := w.s
	for _, rec := range recs {
		s.Stats.Polled.Add(1)
		if err := w.beginLocked(); err != nil {
			return err
		}
		msg, err := w.conv.convert(rec)
		if err != nil {
			if !s.ToleranceAll {
				return err
			}
			s.Logger.Warn("skipping record (errors.tolerance=all)", "topic", rec.Topic, "error", err)
			s.Stats.Skipped.Add(1)
			s.Stats.Errors.Add(RecordError{At: time.Now(), Topic: rec.Topic, SourcePartition: rec.SourcePartition, SourceOffset: rec.SourceOffset, Message: err.Error()})
			w.note(rec)
			continue
		}
		if msg == nil {
			s.Stats.Filtered.Add(1)
			w.note(rec)
			continue
		}
		if s.Topics != nil {
			if err := s.Topics.Ensure(ctx, msg.Topic); err != nil {
				return err
			}
		}
		part := rec.Partition
		if part < 0 {
			part = -1
		}
		ts := rec.Timestamp
		msg.Metadata = &kafka.Pending{Partition: part, Ack: func(err error) {
			if err != nil {
				w.setAckErr(err)
				return
			}
			s.Stats.Written.Add(1)
			if !ts.IsZero() {
				s.Stats.LastEventMs.Store(ts.UnixMilli())
			}
		}}
		if err := s.Producer.Send(ctx, msg); err != nil {
			return err
		}
		w.note(rec)
	}
	if err := w.getAckErr(); err != nil {
		return err
	}
	switch w.t.Boundary {
	case BoundaryPoll:
		return w.commitLocked(ctx)
	case BoundaryInterval:
		if time.Since(w.began) >= w.t.Interval {
			return w.commitLocked(ctx)
		}
	}
	return nil
}

func (w *txnWriter) beginLocked() error {
	if w.open {
		return nil
	}
	if err := w.t.Producer.BeginTxn(); err != nil {
		w.failed = err
		return err
	}
	w.open, w.began, w.records = true, time.Now(), 0
	w.committed.Store(false)
	return nil
}

// note records rec's offset as the newest of its source partition.
func (w *txnWriter) note(rec *connect.Record) {
	w.records++
	if rec.SourcePartition == nil && rec.SourceOffset == nil {
		return
	}
	k := partKey(rec.SourcePartition)
	if i, ok := w.pending[k]; ok {
		w.entries[i].Offset = rec.SourceOffset
		return
	}
	w.pending[k] = len(w.entries)
	w.entries = append(w.entries, offsets.Entry{Partition: rec.SourcePartition, Offset: rec.SourceOffset})
}

func (w *txnWriter) setAckErr(err error) {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	if w.ackErr == nil {
		w.ackErr = err
	}
}

func (w *txnWriter) getAckErr() error {
	w.ackMu.Lock()
	defer w.ackMu.Unlock()
	return w.ackErr
}

// inInitialSnapshot reports whether an offset is one a Debezium connector
// does not resume from: a record of an initial snapshot before its last
// (snapshot "INITIAL", or true in Debezium 1.x, without
// last_snapshot_record or snapshot_completed). A restarted task redoes the
// whole snapshot from such an offset, so committing the snapshot's
// records in several transactions would deliver the committed ones twice;
// the snapshot stays in one transaction until its last record.
func inInitialSnapshot(off map[string]any) bool {
	switch v := off["snapshot"].(type) {
	case string:
		if v != "INITIAL" && v != "true" {
			return false
		}
	case bool:
		if !v {
			return false
		}
	default:
		return false
	}
	for _, k := range []string{"last_snapshot_record", "snapshot_completed"} {
		if b, ok := off[k].(bool); ok && b {
			return false
		}
		if s, ok := off[k].(string); ok && s == "true" {
			return false
		}
	}
	return true
}

// commitLocked writes the noted offsets to the offsets topic and commits
// the open transaction, unless the transaction must stay open (an initial
// snapshot in progress).
func (w *txnWriter) commitLocked(ctx context.Context) error {
	if w.failed != nil {
		return w.failed
	}
	if !w.open {
		return nil
	}
	for _, e := range w.entries {
		if inInitialSnapshot(e.Offset) {
			return nil
		}
	}
	s := w.s
	for _, e := range w.entries {
		key, val, err := offsets.Encode(s.Name, e)
		if err != nil {
			w.failed = err
			return err
		}
		m := &sarama.ProducerMessage{Topic: w.t.OffsetsTopic, Key: sarama.ByteEncoder(key)}
		if val != nil {
			m.Value = sarama.ByteEncoder(val)
		}
		m.Metadata = &kafka.Pending{Partition: -1, Ack: func(err error) {
			if err != nil {
				w.setAckErr(fmt.Errorf("writing offsets to %s: %w", w.t.OffsetsTopic, err))
			}
		}}
		if err := s.Producer.Send(ctx, m); err != nil {
			w.failed = err
			return err
		}
	}
	start := time.Now()
	err := w.t.Producer.CommitTxn()
	w.open = false
	if err != nil {
		if age := time.Since(w.began); w.t.Timeout > 0 && age >= w.t.Timeout {
			err = fmt.Errorf("%w (the transaction was open for %s, longer than transaction.timeout.ms=%d, so the broker aborted it; "+
				"an initial snapshot is one transaction: raise producer.override.transaction.timeout.ms, within the broker's transaction.max.timeout.ms)",
				err, age.Round(time.Second), w.t.Timeout.Milliseconds())
		}
		w.failed = err
		return err
	}
	if err := w.getAckErr(); err != nil {
		// Cannot happen after a successful commit (a failed record puts
		// the transaction in error); kept as a guard.
		w.failed = err
		return err
	}
	entries := w.entries
	w.entries, w.pending = nil, map[string]int{}
	w.committed.Store(true)
	s.Stats.Commits.Add(1)
	s.Stats.CommitNanos.Store(int64(time.Since(start)))
	s.Stats.LastCommitMs.Store(time.Now().UnixMilli())
	if l, ok := s.Task.(connect.OffsetCommitListener); ok {
		for _, e := range entries {
			if err := l.OffsetsCommitted(ctx, e.Partition, e.Offset); err != nil {
				s.Logger.Warn("source could not acknowledge committed offset", "error", err)
			}
		}
	}
	return nil
}

// tick runs on the flush timer: under transaction.boundary=interval it
// commits a transaction that has been open for the interval, and it
// surfaces a record Kafka refused without waiting for the next write.
func (w *txnWriter) tick(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed != nil {
		return w.failed
	}
	if err := w.getAckErr(); err != nil {
		return err
	}
	if w.t.Boundary == BoundaryInterval && w.open && time.Since(w.began) >= w.t.Interval {
		return w.commitLocked(ctx)
	}
	return nil
}

// settle ends the open transaction before a stop or a restart of the
// task: it commits what was written, except an unfinished initial
// snapshot, which is aborted because the task redoes it anyway.
func (w *txnWriter) settle(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.open {
		return w.failed
	}
	for _, e := range w.entries {
		if inInitialSnapshot(e.Offset) {
			return w.abortLocked()
		}
	}
	return w.commitLocked(ctx)
}

func (w *txnWriter) abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.abortLocked()
}

func (w *txnWriter) abortLocked() error {
	if !w.open {
		return nil
	}
	w.open = false
	w.entries, w.pending = nil, map[string]int{}
	err := w.t.Producer.AbortTxn()
	if err != nil {
		w.failed = err
	}
	return err
}
