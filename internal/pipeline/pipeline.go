// Package pipeline runs Kafka-less pipelines, Debezium Server's model: a
// source connector's events go straight to a bus (NATS JetStream, an HTTP
// webhook, Redis Streams: any bus.Publisher) in the same process.
//
// The source runs in the ordinary source runtime (runtime.Source), with
// its transforms, converters, offset tracking and retriable restarts; only
// the Kafka producer is replaced by the bus. A record counts as
// acknowledged once the bus has accepted the batch holding it, and the
// runtime stores an offset only when every record up to it was
// acknowledged, so a crash at any point replays at most the records after
// the last stored offset (at-least-once), never skips one. Offsets live in
// a file, a JetStream key-value bucket or a Redis hash, in Kafka Connect's
// key and value format.
//
// Each record carries an event id derived from its source partition and
// offset, topic and key, which JetStream's Nats-Msg-Id uses to store a
// replayed event once within the stream's duplicate window. Records
// without a key get no id (their replays are not deduplicated): the
// offsets of snapshot rows are not unique without the key.
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

// idHeader carries the event id from the task's records to the bus
// message; it is removed before publishing.
const idHeader = "__tributary.event.id"

// Def returns the pipeline's own properties in the sink section (beside
// connector.class and the sink's properties).
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "connector.class", Required: true, Doc: "the sink: a bus sink connector class or alias"})
	d.Define(config.Key{Name: "offset.storage", Default: "file", OneOf: []string{"file", "nats", "redis"},
		Doc: "where source offsets are kept: the worker's offset.storage.file.filename, a JetStream key-value bucket " +
			"on the sink's NATS server, or a hash on the sink's Redis server"})
	d.Define(config.Key{Name: "offset.storage.nats.bucket", Default: "tributary-offsets"})
	d.Define(config.Key{Name: "offset.storage.redis.key", Default: "metadata:tributary:offsets"})
	d.Define(config.Key{Name: "errors.tolerance", Default: "none", OneOf: []string{"none", "all"},
		Doc: "all: an event the sink rejects for what it is (invalid subject, 4xx) is logged and skipped"})
	d.Define(config.Key{Name: "batch.size", Type: config.TypeInt, Default: "500", Doc: "most events per publish"})
	d.Define(config.Key{Name: "batch.linger.ms", Type: config.TypeLong, Default: "5",
		Doc: "how long a batch waits for more events before it is published"})
	d.Define(config.Key{Name: "retry.backoff.ms", Type: config.TypeLong, Default: "500",
		Doc: "first pause before a failed batch is published again; doubles up to 30 s"})
	return d
}

// Pipeline is one source connector and its bus.
type Pipeline struct {
	Connector  *runtime.Connector
	Publisher  bus.Publisher
	Offsets    offsets.Store
	Converters *converter.Factory
	Transforms transforms.Registry
	// Worker are the worker properties (converters, flush interval).
	Worker map[string]string
	// Sink are the parsed sink section properties (Def merged with the
	// sink's).
	Sink   *config.Values
	Logger *slog.Logger
}

// Run runs the pipeline until ctx ends (nil) or it fails.
func (p *Pipeline) Run(ctx context.Context) error {
	c := p.Connector
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("connector", c.Name, "task", 0)
	if c.Plugin.Type != connect.SourcePlugin || c.Plugin.NewSourceTask == nil {
		return fmt.Errorf("connector %q: %s is not a source connector; a pipeline's sink section takes the sink", c.Name, c.Plugin.Class)
	}
	kc, vc, err := runtime.Converters(p.Converters, c, p.Worker)
	if err != nil {
		return err
	}
	chain, err := p.Transforms.Build(c.Values)
	if err != nil {
		return fmt.Errorf("connector %q: %w", c.Name, err)
	}
	task, err := c.Plugin.NewSourceTask(ctx, c.Values, connect.TaskContext{
		ConnectorName: c.Name, Offsets: runtime.OffsetReader{Store: p.Offsets, Connector: c.Name}, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("connector %q: %w", c.Name, err)
	}
	flush := time.Second
	if v, ok := p.Worker["offset.flush.interval.ms"]; ok {
		var ms int64
		if _, err := fmt.Sscan(v, &ms); err != nil || ms <= 0 {
			return fmt.Errorf("offset.flush.interval.ms=%q: not a positive integer", v)
		}
		flush = time.Duration(ms) * time.Millisecond
	}
	shutdown := 30 * time.Second
	if v, ok := p.Worker["task.shutdown.graceful.timeout.ms"]; ok {
		var ms int64
		if _, err := fmt.Sscan(v, &ms); err != nil || ms <= 0 {
			return fmt.Errorf("task.shutdown.graceful.timeout.ms=%q: not a positive integer", v)
		}
		shutdown = time.Duration(ms) * time.Millisecond
	}
	idKeys, _ := converter.NewJSON(map[string]string{"schemas.enable": "false"})
	s := &sender{pub: p.Publisher, log: log, in: make(chan *sarama.ProducerMessage, 4096),
		batch: int(p.Sink.Int("batch.size")), linger: p.Sink.Millis("batch.linger.ms"),
		backoff: p.Sink.Millis("retry.backoff.ms"), tolerate: p.Sink.Lower("errors.tolerance") == "all"}
	if s.batch <= 0 {
		s.batch = 500
	}
	if s.backoff <= 0 {
		s.backoff = 500 * time.Millisecond
	}
	retries, retryWait := 0, time.Duration(0)
	if c.Values.Defines("errors.max.retries") {
		retries = int(c.Values.Int("errors.max.retries"))
		retryWait = c.Values.Millis("retriable.restart.connector.wait.ms")
	}
	src := &runtime.Source{
		Name: c.Name, Task: &idTask{inner: task, keys: idKeys}, Producer: s, Offsets: p.Offsets,
		KeyConverter: kc, ValueConverter: vc, Transforms: chain,
		ToleranceAll: c.Values.Lower("errors.tolerance") == "all", FlushInterval: flush,
		Retry: connect.RetryPolicy{Timeout: time.Duration(c.Values.Int("errors.retry.timeout")) * time.Millisecond,
			MaxDelay: c.Values.Millis("errors.retry.delay.max.ms")},
		MaxRetries: retries, RetryWait: retryWait, ShutdownTimeout: shutdown, Logger: log, Stats: &runtime.Stats{},
		Destination: "the sink " + p.Sink.String("connector.class"),
	}
	sendCtx, stopSend := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.loop(sendCtx)
	}()
	log.Info("pipeline started", "source", c.Plugin.Class, "sink", p.Sink.String("connector.class"), "offset.storage", p.Sink.String("offset.storage"))
	err = src.Run(ctx)
	// Run has waited for (or given up on) every acknowledgement; what is
	// still queued will be read again after a restart.
	stopSend()
	<-done
	return err
}

// sender is the runtime.Sender that replaces the Kafka producer: it
// batches messages, publishes them and acknowledges them in order.
type sender struct {
	pub      bus.Publisher
	log      *slog.Logger
	in       chan *sarama.ProducerMessage
	batch    int
	linger   time.Duration
	backoff  time.Duration
	tolerate bool
}

// Send implements runtime.Sender.
func (s *sender) Send(ctx context.Context, m *sarama.ProducerMessage) error {
	select {
	case s.in <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *sender) loop(ctx context.Context) {
	for {
		var pend []*sarama.ProducerMessage
		select {
		case m := <-s.in:
			pend = append(pend, m)
		case <-ctx.Done():
			return
		}
		timer := time.NewTimer(s.linger)
	fill:
		for len(pend) < s.batch {
			select {
			case m := <-s.in:
				pend = append(pend, m)
			case <-timer.C:
				break fill
			case <-ctx.Done():
				timer.Stop()
				return
			}
		}
		timer.Stop()
		if !s.publish(ctx, pend) {
			return
		}
	}
}

// publish delivers pend, retrying failures of the bus until ctx ends;
// false means it ended.
func (s *sender) publish(ctx context.Context, pend []*sarama.ProducerMessage) bool {
	msgs := make([]*bus.Message, len(pend))
	for i, pm := range pend {
		msgs[i] = toMessage(pm)
	}
	backoff := s.backoff
	for len(msgs) > 0 {
		err := s.pub.Publish(ctx, msgs)
		if err == nil {
			for _, pm := range pend {
				ack(pm, nil)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if rej, ok := bus.IsRejected(err); ok {
			// Everything before the rejected event is delivered.
			for _, pm := range pend[:rej.Index] {
				ack(pm, nil)
			}
			bad := msgs[rej.Index]
			if !s.tolerate {
				ack(pend[rej.Index], fmt.Errorf("sink rejected the event for topic %s: %w", bad.Topic, rej.Err))
				return false
			}
			s.log.Error("sink rejected an event; skipped (errors.tolerance=all)", "topic", bad.Topic, "err", rej.Err)
			ack(pend[rej.Index], nil)
			pend, msgs = pend[rej.Index+1:], msgs[rej.Index+1:]
			backoff = s.backoff
			continue
		}
		s.log.Warn("publishing to the sink failed; retrying", "events", len(msgs), "backoff", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return false
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	return true
}

func ack(pm *sarama.ProducerMessage, err error) {
	if p, ok := pm.Metadata.(*kafka.Pending); ok && p.Ack != nil {
		p.Ack(err)
	}
}

func toMessage(pm *sarama.ProducerMessage) *bus.Message {
	m := &bus.Message{Topic: pm.Topic, Partition: -1, Offset: -1, Timestamp: pm.Timestamp}
	if pm.Key != nil {
		m.Key, _ = pm.Key.Encode()
	}
	if pm.Value != nil {
		m.Value, _ = pm.Value.Encode()
	}
	for _, h := range pm.Headers {
		if string(h.Key) == idHeader {
			m.ID = string(h.Value)
			continue
		}
		m.Headers = append(m.Headers, bus.Header{Key: string(h.Key), Value: h.Value})
	}
	return m
}

// idTask gives every record of the task an event id header.
type idTask struct {
	inner connect.SourceTask
	keys  *converter.JSON
}

func (t *idTask) Run(ctx context.Context, w connect.RecordWriter) error {
	return t.inner.Run(ctx, &idWriter{inner: w, keys: t.keys})
}

// OffsetsCommitted forwards to the task: PostgreSQL confirms its LSN here.
func (t *idTask) OffsetsCommitted(ctx context.Context, partition, offset map[string]any) error {
	if l, ok := t.inner.(connect.OffsetCommitListener); ok {
		return l.OffsetsCommitted(ctx, partition, offset)
	}
	return nil
}

type idWriter struct {
	inner connect.RecordWriter
	keys  *converter.JSON
}

// AllCommitted forwards the runtime's connect.CommitReporter.
func (w *idWriter) AllCommitted() bool {
	if r, ok := w.inner.(connect.CommitReporter); ok {
		return r.AllCommitted()
	}
	return false
}

func (w *idWriter) Write(ctx context.Context, recs []*connect.Record) error {
	for _, r := range recs {
		if id := w.eventID(r); id != "" {
			r.Headers = append(r.Headers, connect.Header{Key: idHeader, Schema: connect.OptionalPrim(connect.String), Value: id})
		}
	}
	return w.inner.Write(ctx, recs)
}

func (w *idWriter) eventID(r *connect.Record) string {
	if r.Key == nil || r.SourceOffset == nil {
		return ""
	}
	key, err := w.keys.FromConnect(r.Topic, r.KeySchema, r.Key)
	if err != nil {
		return ""
	}
	part, err1 := json.Marshal(r.SourcePartition)
	off, err2 := json.Marshal(r.SourceOffset)
	if err := errors.Join(err1, err2); err != nil {
		return ""
	}
	h := sha256.New()
	for _, b := range [][]byte{part, off, []byte(r.Topic), key} {
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func jsonEncoder(w *strings.Builder) *json.Encoder { return json.NewEncoder(w) }
