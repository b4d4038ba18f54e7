package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/runtime"
)

// sourceRun is one source connector running in this process through the
// same runtime the worker uses (converters, transforms, the idempotent
// async producer, ack-tracked offset commits).
type sourceRun struct {
	name   string
	src    *runtime.Source
	prod   *kafka.Producer
	sender *meteredSender
	cancel context.CancelFunc
	errc   chan error
	err    error
	done   bool
}

// startSource parses props like the worker does and runs the connector
// until stop.
func (e *env) startSource(ctx context.Context, name string, props map[string]string) (*sourceRun, error) {
	sc, err := e.saramaConfig()
	if err != nil {
		return nil, err
	}
	return e.startSourceWith(ctx, name, props, sc)
}

// startSourceWith is startSource with the producer's client configuration.
func (e *env) startSourceWith(ctx context.Context, name string, props map[string]string, sc *sarama.Config) (*sourceRun, error) {
	c, err := runtime.ParseConnector(e.cfg.Plugins, config.Connector{Name: name, Config: props})
	if err != nil {
		return nil, err
	}
	prod, err := kafka.NewProducer(e.brokers, sc)
	if err != nil {
		return nil, err
	}
	src, err := runtime.NewSource(ctx, c, runtime.SourceDeps{
		Producer: prod, Raw: e.raw, Converters: e.cfg.Converters, Transforms: e.cfg.Transforms,
		Offsets: e.offsets, Worker: e.worker, Logger: e.log,
	})
	if err != nil {
		prod.Close()
		return nil, err
	}
	ms := &meteredSender{inner: prod}
	src.Producer = ms
	rctx, cancel := context.WithCancel(ctx)
	r := &sourceRun{name: name, src: src, prod: prod, sender: ms, cancel: cancel, errc: make(chan error, 1)}
	go func() {
		err := src.Run(rctx)
		if cerr := prod.Close(); cerr != nil && err == nil {
			err = cerr
		}
		r.errc <- err
	}()
	return r, nil
}

// written is the number of records Kafka has acknowledged.
func (r *sourceRun) written() int64 { return r.src.Stats.Written.Load() }

// waitWritten polls until at least n records are acknowledged, the
// connector fails, or timeout passes. It returns when the count was seen,
// with a resolution of one millisecond.
func (r *sourceRun) waitWritten(ctx context.Context, n int64, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if r.written() >= n {
			return time.Now(), nil
		}
		if r.done {
			return time.Time{}, fmt.Errorf("connector %s stopped after %d of %d records: %v", r.name, r.written(), n, r.err)
		}
		select {
		case err := <-r.errc:
			r.done, r.err = true, err
			if err == nil {
				err = errors.New("returned without error")
			}
			return time.Time{}, fmt.Errorf("connector %s stopped after %d of %d records: %w", r.name, r.written(), n, err)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("connector %s: only %d of %d records acknowledged after %s", r.name, r.written(), n, timeout)
		}
	}
}

// waitCommit waits until an offset commit happens after the call.
func (r *sourceRun) waitCommit(ctx context.Context, timeout time.Duration) error {
	base := r.src.Stats.Commits.Load()
	deadline := time.Now().Add(timeout)
	for r.src.Stats.Commits.Load() == base {
		if time.Now().After(deadline) {
			return fmt.Errorf("connector %s: no offset commit within %s", r.name, timeout)
		}
		select {
		case err := <-r.errc:
			r.done, r.err = true, err
			return fmt.Errorf("connector %s stopped: %v", r.name, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// stop ends the connector cleanly (drain, final offset commit).
func (r *sourceRun) stop() error {
	r.cancel()
	if !r.done {
		r.err = <-r.errc
		r.done = true
	}
	if errors.Is(r.err, context.Canceled) {
		return nil
	}
	return r.err
}

// meteredSender sits between the runtime and the producer: it counts the
// bytes handed to Kafka and, while a latency recorder is attached, notes
// for each acknowledged message how long ago its row was stamped.
type meteredSender struct {
	inner    runtime.Sender
	bytes    atomic.Int64
	messages atomic.Int64
	lastSend atomic.Int64 // µs
	lat      atomic.Pointer[latencyRec]
}

func (s *meteredSender) Send(ctx context.Context, m *sarama.ProducerMessage) error {
	n := 0
	if m.Key != nil {
		n += m.Key.Length()
	}
	if m.Value != nil {
		n += m.Value.Length()
	}
	s.bytes.Add(int64(n))
	s.messages.Add(1)
	s.lastSend.Store(time.Now().UnixMicro())
	if rec := s.lat.Load(); rec != nil {
		rec.attach(m)
	}
	return s.inner.Send(ctx, m)
}

// latencyRec collects stamp-to-acknowledgement latencies.
//
// Method: the load generator sets the row's stamp column to the database
// server's clock (microseconds since the epoch) inside the very statement
// whose commit produces the event; the producer's acknowledgement callback
// then subtracts that stamp from this process's clock. Database and
// benchmark share the host and its clock, so no skew enters. For
// single-row autocommit transactions the stamp precedes the commit by the
// statement's execution and commit time (well under a millisecond with
// fsync off), so the figure is a slight over-estimate of commit-to-ack
// latency, never an under-estimate. Only rows stamped after since count.
type latencyRec struct {
	since int64 // µs
	// streamOnly leaves out snapshot read events (op r), whose stamp is
	// that of the row the snapshot read, not of a change.
	streamOnly bool
	// keepSent keeps each sample's stamp and the time its message was
	// handed to the producer (exactly-once latency is measured to the
	// first transaction commit after that).
	keepSent bool
	mu       sync.Mutex
	// frozen ends the sampling: acknowledgements after it add nothing.
	frozen bool
	us     []int64
	stamps []int64
	sentUs []int64
	bad    atomic.Int64 // messages whose stamp could not be read
}

var (
	stampKey = []byte(`"stamp":`)
	opRead   = []byte(`"op":"r"`)
)

func (l *latencyRec) attach(m *sarama.ProducerMessage) {
	enc, ok := m.Value.(sarama.ByteEncoder)
	if !ok {
		l.bad.Add(1)
		return
	}
	if l.streamOnly && bytes.Contains(enc, opRead) {
		return
	}
	stamp, ok := stampOf(enc)
	if !ok {
		l.bad.Add(1)
		return
	}
	if stamp < l.since {
		return
	}
	p, ok := m.Metadata.(*kafka.Pending)
	if !ok || p.Ack == nil {
		l.bad.Add(1)
		return
	}
	ack := p.Ack
	sent := time.Now().UnixMicro()
	p.Ack = func(err error) {
		if err == nil {
			now := time.Now().UnixMicro()
			l.mu.Lock()
			if !l.frozen {
				l.us = append(l.us, now-stamp)
				if l.keepSent {
					l.stamps = append(l.stamps, stamp)
					l.sentUs = append(l.sentUs, sent)
				}
			}
			l.mu.Unlock()
		}
		ack(err)
	}
}

// stampOf reads the row stamp of a JSON change event. In the envelope
// "after" follows "before", so the last stamp is the new row's.
func stampOf(value []byte) (int64, bool) {
	i := bytes.LastIndex(value, stampKey)
	if i < 0 {
		return 0, false
	}
	rest := value[i+len(stampKey):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	stamp, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return stamp, err == nil
}

// percentiles returns p50, p99 and max in milliseconds.
func (l *latencyRec) percentiles() (n int, p50, p99, pmax float64) {
	l.mu.Lock()
	us := slices.Clone(l.us)
	l.mu.Unlock()
	if len(us) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(us)
	at := func(q float64) float64 {
		i := int(q*float64(len(us))+0.5) - 1
		i = min(max(i, 0), len(us)-1)
		return float64(us[i]) / 1000
	}
	return len(us), at(0.50), at(0.99), float64(us[len(us)-1]) / 1000
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
