// Package runtime runs connectors: it drives source tasks, passes their
// records through transforms and converters to Kafka, and commits source
// offsets only once Kafka has acknowledged every record up to them.
package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/transforms"
)

var errDrainTimeout = errors.New("in-flight records were not acknowledged before the shutdown timeout")

// Sender is the part of the Kafka producer the runtime needs.
type Sender interface {
	Send(ctx context.Context, m *sarama.ProducerMessage) error
}

// TopicEnsurer creates topics before first use (topic.creation.*).
type TopicEnsurer interface {
	Ensure(ctx context.Context, topic string) error
}

// Source runs one source task.
type Source struct {
	Name           string
	Task           connect.SourceTask
	Producer       Sender
	Topics         TopicEnsurer // optional
	Offsets        offsets.Store
	KeyConverter   converter.Converter
	ValueConverter converter.Converter
	Transforms     transforms.Chain
	// Retry retries transforms and conversions that fail for a passing
	// reason (errors.retry.timeout, errors.retry.delay.max.ms) before
	// ToleranceAll applies.
	Retry connect.RetryPolicy
	// ToleranceAll skips records whose transform or conversion fails
	// (errors.tolerance=all) instead of failing the task.
	ToleranceAll bool
	// FlushInterval is offset.flush.interval.ms.
	FlushInterval time.Duration
	// MaxInFlight bounds records handed to Kafka but not yet acknowledged.
	MaxInFlight int
	// MaxInFlightBytes bounds the memory (keys, values, headers) of those
	// records, as the Java producer's buffer.memory does; default 4 MiB.
	// Without it memory grew with the record size (65536 records of any
	// size). The producer sends one request of <= 1 MiB at a time, so 4
	// MiB holds the request in flight and a full next one: pg-stream-
	// issue14 streamed JSON with 12-15 MB less RSS than at 8 MiB, and 2 MiB
	// starved the producer (slower in 4 of 4 alternated runs).
	MaxInFlightBytes int
	// MaxRetries is errors.max.retries: how many times a task that failed
	// with a retriable error (connect.IsRetriable) is run again before the
	// failure stands; -1 is without limit, 0 never. The count starts again
	// once a restarted task has run for a while or delivered records.
	MaxRetries int
	// RetryWait is retriable.restart.connector.wait.ms, the pause before
	// such a restart.
	RetryWait time.Duration
	// ShutdownTimeout bounds the wait for acknowledgements on stop
	// (offset.flush.timeout.ms / task.shutdown.graceful.timeout.ms).
	ShutdownTimeout time.Duration
	// Destination names where the records go, in messages: Kafka when
	// empty; a Kafka-less pipeline names its sink.
	Destination string
	Logger      *slog.Logger
	Stats       *Stats
	// Transactions, when set, delivers exactly once (eos_source.go):
	// records and offsets in Kafka transactions instead of offsets
	// committed to Offsets after Kafka acknowledged the records.
	Transactions *Transactions
	// BrokerWaitWarning is how long records may wait for Kafka's
	// acknowledgement before a warning names them; default 10 s.
	BrokerWaitWarning time.Duration
	// Park reports conversion errors that park the record's table instead
	// of failing the task; nil is RegistryRefused. See Parking.
	Park func(error) bool
	// Parking holds the parked tables; Run creates one (bounded by
	// MaxParked) when nil. Status and REST read and resume through it.
	Parking *Parking
	// MaxParked bounds the records held for parked tables (default 10000).
	MaxParked int
}

// Stats are the counters behind Kafka Connect's source task metrics.
type Stats struct {
	Polled       atomic.Int64 // records received from the task
	Written      atomic.Int64 // records acknowledged by Kafka
	Filtered     atomic.Int64 // dropped by transforms
	Skipped      atomic.Int64 // dropped by errors.tolerance=all
	Commits      atomic.Int64
	CommitNanos  atomic.Int64 // duration of the last offset commit
	LastCommitMs atomic.Int64
	// LastEventMs is the source timestamp of the newest acknowledged
	// record, for lag (now - LastEventMs).
	LastEventMs atomic.Int64
	// Errors are the last records skipped under errors.tolerance=all,
	// with their source coordinates (the console shows them).
	Errors ErrorLog
	// ParkedTables and HeldRecords count tables in PAUSED_SCHEMA and the
	// records held back for them.
	ParkedTables atomic.Int64
	HeldRecords  atomic.Int64
}

// Run drives the task until ctx ends or something fails. On a clean stop it
// waits for Kafka to acknowledge every in-flight record, commits offsets
// and returns nil.
func (s *Source) Run(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Stats == nil {
		s.Stats = &Stats{}
	}
	if s.FlushInterval <= 0 {
		s.FlushInterval = time.Second
	}
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = 65536
	}
	if s.MaxInFlightBytes <= 0 {
		s.MaxInFlightBytes = 4 << 20
	}
	if s.ShutdownTimeout <= 0 {
		s.ShutdownTimeout = 30 * time.Second
	}
	if s.BrokerWaitWarning <= 0 {
		s.BrokerWaitWarning = 10 * time.Second
	}
	if s.Parking == nil {
		s.Parking = NewParking(s.MaxParked)
	}
	if s.Park == nil {
		s.Park = RegistryRefused
	}
	defer func() {
		if err := s.Transforms.Close(); err != nil {
			s.Logger.Warn("closing the task's transforms failed", "error", err)
		}
	}()
	if s.Transactions != nil {
		return s.runTransactional(ctx)
	}
	log := s.Logger
	tr := newTracker(s.MaxInFlight)
	tr.byteLimit = s.MaxInFlightBytes
	taskCtx, cancelTask := context.WithCancel(ctx)
	defer cancelTask()

	w := &writer{s: s, tr: tr, pooled: true}
	// The conversion stage runs until Run returns, after the drain: the
	// records a task submitted before it stopped must still be sent.
	// Its context outlives the task's (a stopping task's records are
	// drained, as when Write sent them itself) and ends with Run.
	stageCtx, stopStage := context.WithCancel(context.WithoutCancel(ctx))
	// Sends stop with the caller's ctx (a stop: records not yet handed to
	// Kafka are withdrawn, as when an interrupted Write returned) or when
	// Run fails; not when the task returns by itself, whose records are
	// all delivered by the drain.
	sendCtx, stopSends := context.WithCancel(ctx)
	defer stopSends()
	stageStopped := w.startStage(stageCtx, sendCtx)
	defer func() {
		// The caller closes the producer once Run returns: the stage
		// must be gone by then. Failing the tracker wakes it if it
		// waits for room (nothing is committed after this).
		stopStage()
		tr.fail(errSourceStopped)
		<-stageStopped
	}()
	var commitMu sync.Mutex
	commit := func(cctx context.Context) error {
		commitMu.Lock()
		defer commitMu.Unlock()
		return s.commit(cctx, tr, log)
	}
	taskErr := make(chan error, 1)
	settle := func(ctx context.Context) error {
		if err := tr.waitAcked(ctx); err != nil || ctx.Err() != nil {
			return err
		}
		return commit(ctx)
	}
	go func() { taskErr <- s.runTask(taskCtx, w, settle) }()
	go w.resumeLoop(taskCtx)

	wait := &brokerWait{tr: tr, log: log, threshold: s.BrokerWaitWarning}
	ticker := time.NewTicker(s.FlushInterval)
	defer ticker.Stop()
	var runErr error
loop:
	for {
		select {
		case err := <-taskErr:
			if err != nil && !errors.Is(err, context.Canceled) {
				runErr = fmt.Errorf("connector %s task failed: %w", s.Name, err)
				stopSends()
			}
			break loop
		case <-ticker.C:
			wait.check(time.Now())
			if err := tr.err(); err != nil {
				runErr = fmt.Errorf("connector %s: %w", s.Name, err)
				cancelTask()
				stopSends()
				<-taskErr
				break loop
			}
			if err := commit(ctx); err != nil {
				if ctx.Err() != nil {
					// A stop interrupted the commit: not a failure. The
					// task ends with ctx; the final commit below stores
					// what Kafka acknowledged.
					continue
				}
				runErr = err
				cancelTask()
				stopSends()
				<-taskErr
				break loop
			}
		}
	}
	cancelTask()
	// Whatever happened, store what Kafka durably has: a failed task must
	// still resume from its last acknowledged record.
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	if runErr == nil {
		// A drain that gives up stops the conversion stage too (its
		// retries and sends would otherwise outlive the deadline).
		stopOnTimeout := context.AfterFunc(stopCtx, stopStage)
		defer stopOnTimeout()
		if err := tr.drain(stopCtx.Done()); err != nil {
			if errors.Is(err, errDrainTimeout) {
				dest := cmp.Or(s.Destination, "Kafka")
				err = fmt.Errorf("timed out after %v waiting for %s to acknowledge in-flight records: %w", s.ShutdownTimeout, dest, err)
			}
			runErr = fmt.Errorf("connector %s: %w", s.Name, err)
		}
	}
	// The drain may have used up stopCtx; the final commit gets its own
	// deadline so that what Kafka did acknowledge is always recorded.
	commitCtx, cancelCommit := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancelCommit()
	if err := commit(commitCtx); err != nil && runErr == nil {
		runErr = err
	}
	if runErr == nil {
		log.Info("connector stopped cleanly", "records", s.Stats.Written.Load())
	}
	return runErr
}

// retryResetAfter is how long a restarted task must run before its
// retriable failures count from zero again (as would records delivered).
const retryResetAfter = time.Minute

// runTask runs the task, and runs it again after a retriable failure
// (Debezium's ErrorHandler restart): settle first commits what Kafka
// acknowledged, so the new run resumes right after it.
func (s *Source) runTask(ctx context.Context, w connect.RecordWriter, settle func(context.Context) error) error {
	attempts := 0
	for {
		began, polled := time.Now(), s.Stats.Polled.Load()
		err := s.Task.Run(ctx, w)
		if err == nil || ctx.Err() != nil || !connect.IsRetriable(err) {
			return err
		}
		if time.Since(began) >= retryResetAfter || s.Stats.Polled.Load() > polled {
			attempts = 0
		}
		if s.MaxRetries >= 0 && attempts >= s.MaxRetries {
			if s.MaxRetries == 0 {
				return err
			}
			return fmt.Errorf("%w (gave up after %d restarts; errors.max.retries=%d)", err, attempts, s.MaxRetries)
		}
		attempts++
		s.Logger.Warn("task failed with a retriable error; restarting it",
			"error", err, "attempt", attempts, "max_retries", s.MaxRetries, "wait", s.RetryWait)
		if err := settle(ctx); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.RetryWait):
		}
	}
}

func (s *Source) commit(ctx context.Context, tr *tracker, log *slog.Logger) error {
	entries := tr.committable()
	if len(entries) == 0 {
		tr.committed()
		return nil
	}
	start := time.Now()
	if err := s.Offsets.Put(ctx, s.Name, entries); err != nil {
		tr.commitFailed()
		return fmt.Errorf("connector %s: committing offsets: %w", s.Name, err)
	}
	tr.committed()
	s.Stats.Commits.Add(1)
	s.Stats.CommitNanos.Store(int64(time.Since(start)))
	s.Stats.LastCommitMs.Store(time.Now().UnixMilli())
	if l, ok := s.Task.(connect.OffsetCommitListener); ok {
		for _, e := range entries {
			if err := l.OffsetsCommitted(ctx, e.Partition, e.Offset); err != nil {
				// The offset is stored; failing to tell the source (e.g. to
				// confirm an LSN) only delays log release, so keep going.
				log.Warn("source could not acknowledge committed offset", "error", err)
			}
		}
	}
	return nil
}

// writer is the RecordWriter handed to the task.
//
// Write registers the task's records with the tracker, in order, and
// hands them to the conversion stage: one goroutine that applies the
// transforms and converters and sends to Kafka, in the same order. The
// task decodes and builds its next records meanwhile, on another core:
// in the pg-stream profile the task's own work and the conversion were
// each about a third of the CPU, and ran one after the other.
//
// Order is kept because both sides are single goroutines connected by a
// FIFO, and the tracker learns of every record (submit) before Write
// returns, so offsets are committed exactly as before: only over
// acknowledged prefixes. A record the stage fails on fails the tracker:
// its offset is never committed, later records are not sent, and the
// task's next Write (or the commit loop) reports the error.
type writer struct {
	s  *Source
	tr *tracker
	// mu orders the conversion stage's writes and the release of a
	// resumed table's held records.
	mu sync.Mutex

	stage     chan stageBatch
	stageDone <-chan struct{}
	// queued counts the records in the stage's queue, bounded by
	// stageRecords: unconverted records are larger than their converted
	// bytes, which reserve bounds only after conversion (a 200k-row
	// transaction in batches of 2048 queued 433 MB without this).
	queueMu   sync.Mutex
	queueCond *sync.Cond
	queued    int
	// pooled converts into the converters' pooled buffers (when they
	// have them), handed to the producer in the message's Pending: the
	// at-least-once producer releases them once the broker has the
	// bytes; any other Sender keeps them and the garbage collector
	// reclaims them. Off for the transactional writer, whose producer
	// never releases them.
	pooled bool
}

// stageBatch is one Write's records, submitted to the tracker.
type stageBatch struct {
	recs []*connect.Record
	subs []*submitted
}

// stageDepth bounds the Writes queued for the conversion stage, and
// stageRecords the records in them. Enough to keep the stage busy while
// the task builds the next records; the bytes in flight are bounded
// after conversion (reserve).
const (
	stageDepth   = 256
	stageRecords = 1024
)

// enter waits until n more records fit in the stage's queue (a batch
// larger than the whole bound enters an empty queue alone).
func (w *writer) enter(n int) bool {
	w.queueMu.Lock()
	defer w.queueMu.Unlock()
	for w.queued > 0 && w.queued+n > stageRecords {
		select {
		case <-w.stageDone:
			return false
		default:
		}
		w.queueCond.Wait()
	}
	w.queued += n
	return true
}

// leave frees n records' room in the stage's queue.
func (w *writer) leave(n int) {
	w.queueMu.Lock()
	w.queued -= n
	w.queueMu.Unlock()
	w.queueCond.Broadcast()
}

// errSourceStopped wakes a conversion stage waiting for room when Run
// returns.
var errSourceStopped = errors.New("source stopped")

// startStage starts the conversion stage; it runs until ctx ends, then
// closes the returned channel. Once sendCtx ends it withdraws the records
// it has not sent.
func (w *writer) startStage(ctx, sendCtx context.Context) <-chan struct{} {
	w.stage = make(chan stageBatch, stageDepth)
	w.stageDone = ctx.Done()
	w.queueCond = sync.NewCond(&w.queueMu)
	// enter waits on the condition: wake it when the stage ends.
	stopWake := context.AfterFunc(ctx, func() { w.leave(0) })
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		defer stopWake()
		failed := false
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-w.stage:
				for i, rec := range b.recs {
					switch {
					case failed:
						// The tracker failed: nothing after the failed
						// record is sent, and none of it is committed.
					case sendCtx.Err() != nil:
						// Stopping: never handed to Kafka, so never
						// committed; a restart reads it again.
						w.tr.withdraw(rec.SourcePartition, b.subs[i])
					default:
						w.mu.Lock()
						err := w.convertAndSend(sendCtx, rec, b.subs[i])
						w.mu.Unlock()
						switch {
						case err == nil:
						case sendCtx.Err() != nil:
							// Interrupted by the stop: withdrawn, as the
							// records behind it are.
							w.tr.withdraw(rec.SourcePartition, b.subs[i])
						default:
							failed = true
							w.tr.fail(err)
						}
					}
				}
				w.leave(len(b.recs))
			}
		}
	}()
	return stopped
}

// AllCommitted implements connect.CommitReporter.
func (w *writer) AllCommitted() bool { return w.tr.allCommitted() }

func (w *writer) Write(ctx context.Context, recs []*connect.Record) error {
	if err := w.tr.err(); err != nil {
		return err
	}
	b := stageBatch{recs: recs, subs: make([]*submitted, 0, len(recs))}
	var err error
	for _, rec := range recs {
		if err = w.s.Parking.waitRoom(ctx, rec.Topic); err != nil {
			break
		}
		w.s.Stats.Polled.Add(1)
		var sub *submitted
		if sub, err = w.tr.submit(rec.SourcePartition, rec.SourceOffset); err != nil {
			break
		}
		b.subs = append(b.subs, sub)
	}
	// Every submitted record must reach the stage whatever ctx says: the
	// drain waits for it. The stage only stops after the drain (or when
	// Run returns).
	if n := len(b.subs); n > 0 && w.enter(n) {
		b.recs = b.recs[:n]
		select {
		case w.stage <- b:
		case <-w.stageDone:
		}
	}
	if err != nil {
		return err
	}
	return w.tr.err()
}

// convertAndSend transforms, converts and sends one submitted record, or
// holds it behind its parked table.
func (w *writer) convertAndSend(ctx context.Context, rec *connect.Record, sub *submitted) error {
	s := w.s
	var err error
	if s.Parking.parked(rec.Topic) {
		// Behind the held records of its table, in order.
		w.tr.hold(sub)
		s.Parking.hold(rec.Topic, rec, sub)
		w.updateStats()
		return nil
	}
	var msg *sarama.ProducerMessage
	err = s.Retry.Do(ctx, func() (err error) {
		msg, err = w.convert(rec)
		return err
	})
	if err != nil && ctx.Err() != nil {
		// A retry cut short by a stop: the stage withdraws it (a restart
		// converts it again); never skipped or parked for a failure it
		// did not have.
		return ctx.Err()
	}
	if err != nil {
		if s.Park != nil && s.Park(err) {
			s.Parking.park(rec.Topic, rec.ValueSchema, err)
			w.tr.hold(sub)
			s.Parking.hold(rec.Topic, rec, sub)
			w.updateStats()
			s.Logger.Error("table parked (PAUSED_SCHEMA): its new schema was refused; its records are held back in order while the other tables flow; resume it with POST /connectors/{name}/tables/{table}/resume once the registry or the schema is fixed",
				"table", rec.Topic, "schema", schemaText(rec.ValueSchema), "reason", err)
			return nil
		}
		if !s.ToleranceAll {
			// Withdrawn, so its offset is never committed and a restart
			// retries this record.
			w.tr.cancel(rec.SourcePartition, sub)
			return err
		}
		s.Logger.Warn("skipping record (errors.tolerance=all)", "topic", rec.Topic, "error", err)
		s.Stats.Skipped.Add(1)
		s.Stats.Errors.Add(RecordError{At: time.Now(), Topic: rec.Topic, SourcePartition: rec.SourcePartition, SourceOffset: rec.SourceOffset, Message: err.Error()})
		w.tr.ack(sub, nil)
		return nil
	}
	return w.send(ctx, rec, sub, msg)
}

// send hands a converted record to Kafka (nil msg: filtered out).
func (w *writer) send(ctx context.Context, rec *connect.Record, sub *submitted, msg *sarama.ProducerMessage) error {
	s := w.s
	if msg == nil {
		s.Stats.Filtered.Add(1)
		w.tr.ack(sub, nil)
		return nil
	}
	if s.Topics != nil {
		if err := s.Topics.Ensure(ctx, msg.Topic); err != nil {
			w.tr.cancel(rec.SourcePartition, sub)
			return err
		}
	}
	if err := w.tr.reserve(sub, messageSize(msg)); err != nil {
		return err
	}
	ts := rec.Timestamp
	part := rec.Partition
	if part < 0 {
		part = -1
	}
	pend, _ := msg.Metadata.(*kafka.Pending) // convert's, with its buffers
	if pend == nil {
		pend = &kafka.Pending{}
		msg.Metadata = pend
	}
	pend.Partition = part
	pend.Ack = func(err error) {
		if err == nil {
			s.Stats.Written.Add(1)
			if !ts.IsZero() {
				s.Stats.LastEventMs.Store(ts.UnixMilli())
			}
		}
		w.tr.ack(sub, err)
	}
	w.tr.sending(sub, msg.Topic, part)
	if err := s.Producer.Send(ctx, msg); err != nil {
		w.tr.cancel(rec.SourcePartition, sub)
		return err
	}
	return nil
}

// convert applies transforms and converters; nil means filtered out.
func (w *writer) convert(rec *connect.Record) (*sarama.ProducerMessage, error) {
	s := w.s
	out := rec
	if len(s.Transforms) > 0 {
		var err error
		if out, err = s.Transforms.Apply(rec); err != nil {
			return nil, fmt.Errorf("record for topic %s at offset %v: %w", rec.Topic, rec.SourceOffset, err)
		}
		if out == nil {
			return nil, nil
		}
	}
	key, keyBuf, err := w.fromConnect(s.KeyConverter, out.Topic, out.KeySchema, out.Key)
	if err != nil {
		return nil, fmt.Errorf("converting key of record for topic %s at offset %v: %w", out.Topic, out.SourceOffset, err)
	}
	val, valBuf, err := w.fromConnect(s.ValueConverter, out.Topic, out.ValueSchema, out.Value)
	if err != nil {
		return nil, fmt.Errorf("converting value of record for topic %s at offset %v: %w", out.Topic, out.SourceOffset, err)
	}
	m := &sarama.ProducerMessage{Topic: out.Topic, Timestamp: out.Timestamp}
	if key != nil {
		m.Key = sarama.ByteEncoder(key)
	}
	if val != nil {
		m.Value = sarama.ByteEncoder(val)
	}
	if keyBuf != nil || valBuf != nil {
		pend := &kafka.Pending{}
		// Typed nils would be released.
		if keyBuf != nil {
			pend.KeyBuf = keyBuf
		}
		if valBuf != nil {
			pend.ValueBuf = valBuf
		}
		m.Metadata = pend
	}
	for _, h := range out.Headers {
		hv, err := headerBytes(h)
		if err != nil {
			return nil, fmt.Errorf("header %q of record for topic %s: %w", h.Key, out.Topic, err)
		}
		m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: hv})
	}
	return m, nil
}

// fromConnect converts with c, into one of its pooled buffers when the
// writer hands them to the producer.
func (w *writer) fromConnect(c converter.Converter, topic string, s *connect.Schema, v any) ([]byte, *converter.Buffer, error) {
	if p, ok := c.(converter.Pooled); ok && w.pooled {
		b, err := p.FromConnectBuffer(topic, s, v)
		if err != nil || b == nil {
			return nil, nil, err
		}
		return b.Bytes(), b, nil
	}
	data, err := c.FromConnect(topic, s, v)
	return data, nil, err
}

// messageSize is what a message holds in memory until acknowledged: the
// capacity of its byte slices, not their length. A converter's output
// buffer grows by doubling, so a 3.2 KB JSON event can sit in 4 or 8 KB;
// counting lengths let the converted bytes held reach 1.5 times the
// bound (11.7 MB under 8 MiB in a heap profile of pg-stream-issue14).
func messageSize(m *sarama.ProducerMessage) int {
	n := encoderSize(m.Key) + encoderSize(m.Value)
	for _, h := range m.Headers {
		n += cap(h.Key) + cap(h.Value)
	}
	return n
}

func encoderSize(e sarama.Encoder) int {
	switch e := e.(type) {
	case nil:
		return 0
	case sarama.ByteEncoder:
		return cap(e)
	}
	return e.Length()
}

// headerBytes renders a header as Kafka Connect's SimpleHeaderConverter
// does for primitives: the string form; structs as JSON.
func headerBytes(h connect.Header) ([]byte, error) {
	switch v := h.Value.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	case *connect.StructValue:
		return (&converter.JSON{}).FromConnect("", h.Schema, v)
	}
	return []byte(fmt.Sprint(h.Value)), nil
}

// OffsetReader adapts a Store to a task's view of its own offsets.
type OffsetReader struct {
	Store     offsets.Store
	Connector string
}

func (r OffsetReader) Offset(ctx context.Context, partition map[string]any) (map[string]any, error) {
	return r.Store.Get(ctx, r.Connector, partition)
}
