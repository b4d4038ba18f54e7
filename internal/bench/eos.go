package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/runtime"
)

// PGStreamEOS runs pg-stream's backlog and live load once at least once
// and once exactly once per transaction.boundary, in one run, so their
// throughput and latency compare on the same machine state.
const PGStreamEOS = "pg-stream-eos"

// commitClock records when each transaction commit returned: under
// exactly-once a change is visible to read_committed consumers only then,
// so latency is measured to the first commit after its acknowledgement.
type commitClock struct {
	runtime.TxnProducer
	mu sync.Mutex
	us []int64
}

func (c *commitClock) CommitTxn() error {
	err := c.TxnProducer.CommitTxn()
	if err == nil {
		c.mu.Lock()
		c.us = append(c.us, time.Now().UnixMicro())
		c.mu.Unlock()
	}
	return err
}

// visibleAt is the first commit at or after t (µs), or -1.
func (c *commitClock) visibleAt(t int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := sort.Search(len(c.us), func(i int) bool { return c.us[i] >= t })
	if i == len(c.us) {
		return -1
	}
	return c.us[i]
}

// waitAfter waits for a commit at or after t (µs).
func (c *commitClock) waitAfter(ctx context.Context, t int64) error {
	deadline := time.Now().Add(time.Minute)
	for c.visibleAt(t) < 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no transaction committed the last records within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// startSourceEOS is startSource with the worker's exactly-once settings:
// offsets in the topic bench-offsets (at read_committed) and transactional
// producers when eos is set; at least once it is startSource.
func (e *env) startSourceEOS(ctx context.Context, name string, props map[string]string, eos bool) (*sourceRun, *commitClock, error) {
	if !eos {
		r, err := e.startSource(ctx, name, props)
		return r, nil, err
	}
	worker := map[string]string{"offset.storage.topic": "bench-offsets", "exactly.once.source.support": "enabled"}
	for k, v := range e.worker {
		worker[k] = v
	}
	wv, err := runtime.WorkerDef().Parse(worker)
	if err != nil {
		return nil, nil, err
	}
	ex, err := runtime.WorkerExactlyOnce(wv, true)
	if err != nil {
		return nil, nil, err
	}
	c, err := runtime.ParseConnector(e.cfg.Plugins, config.Connector{Name: name, Config: props})
	if err != nil {
		return nil, nil, err
	}
	if errs := ex.Check(c); len(errs) > 0 {
		return nil, nil, fmt.Errorf("connector %s: %w", name, errs)
	}
	sc, err := e.saramaConfig()
	if err != nil {
		return nil, nil, err
	}
	store, err := runtime.OpenKafkaOffsets(ctx, e.brokers, sc, "bench-offsets", 1, true, e.log)
	if err != nil {
		return nil, nil, err
	}
	deps := runtime.SourceDeps{Raw: e.raw, Converters: e.cfg.Converters, Transforms: e.cfg.Transforms, Offsets: store, Worker: worker, Logger: e.log}
	closeDeps, err := ex.PrepareSource(ctx, c, 0, e.brokers, sc, &deps, e.log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	src, err := runtime.NewSource(ctx, c, deps)
	if err != nil {
		deps.Producer.Close()
		closeDeps()
		store.Close()
		return nil, nil, err
	}
	clock := &commitClock{TxnProducer: src.Transactions.Producer}
	src.Transactions.Producer = clock
	ms := &meteredSender{inner: deps.Producer}
	src.Producer = ms
	rctx, cancel := context.WithCancel(ctx)
	r := &sourceRun{name: name, src: src, prod: deps.Producer, sender: ms, cancel: cancel, errc: make(chan error, 1)}
	go func() {
		err := src.Run(rctx)
		if cerr := deps.Producer.Close(); cerr != nil && err == nil {
			err = cerr
		}
		closeDeps()
		store.Close()
		r.errc <- err
	}()
	return r, clock, nil
}

func (e *env) pgStreamEOS(ctx context.Context) error {
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	modes := []struct {
		name, boundary string
		eos            bool
	}{
		{"at-least-once", "", false},
		{"exactly-once, transaction.boundary=poll", "poll", true},
		{"exactly-once, transaction.boundary=interval (1000 ms)", "interval", true},
		{"exactly-once, transaction.boundary=connector", "connector", true},
	}
	rate := e.cfg.Rates[0]
	for i, mode := range modes {
		slot, prefix := fmt.Sprintf("trib_eos%d", i), fmt.Sprintf("pgeos%d", i)
		if err := e.pgCreateSlots(ctx, slot); err != nil {
			return err
		}
		err := e.pgStreamEOSMode(ctx, slot, prefix, mode.name, mode.boundary, mode.eos, rate)
		e.pgDropSlots(ctx, slot)
		e.deleteTopics(prefix + ".public.bench")
		if err != nil {
			return fmt.Errorf("%s: %w", mode.name, err)
		}
	}
	return nil
}

func (e *env) pgStreamEOSMode(ctx context.Context, slot, prefix, mode, boundary string, eos bool, rate float64) error {
	e.progress("   %s: %d single-row transactions (4 connections, as fast as possible)", mode, e.cfg.SmallTxns)
	load, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Count: e.cfg.SmallTxns, Conns: 4})
	if err != nil {
		return err
	}
	props := e.pgSourceProps(prefix, slot)
	props["snapshot.mode"] = "no_data"
	if eos {
		props["transaction.boundary"] = boundary
	}
	m := startMeter()
	run, clock, err := e.startSourceEOS(ctx, "bench-"+prefix, props, eos)
	if err != nil {
		m.end()
		return err
	}
	defer run.stop()
	_, err = run.waitWritten(ctx, load.Done, timeoutFor(int(load.Done)))
	if err == nil && clock != nil {
		// Visible to read_committed consumers only once committed.
		err = clock.waitAfter(ctx, run.sender.lastSend.Load())
	}
	elapsed, cpu, rss := m.end()
	if err != nil {
		return err
	}
	e.add(Result{Scenario: PGStreamEOS, Case: fmt.Sprintf("%s: backlog of %d single-row txns", mode, load.Done), Name: "tributary",
		Events: run.written(), Bytes: run.sender.bytes.Load(), Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: "to the last acknowledgement (exactly-once: and the commit after it)"})

	rec := &latencyRec{since: time.Now().UnixMicro(), keepSent: clock != nil}
	run.sender.lat.Store(rec)
	defer run.sender.lat.Store(nil)
	base := run.written()
	bytes0 := run.sender.bytes.Load()
	m = startMeter()
	live, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Rate: rate, Seconds: e.cfg.Duration.Seconds(), Conns: 8})
	if err != nil {
		m.end()
		return err
	}
	_, err = run.waitWritten(ctx, base+live.Done, timeoutFor(int(live.Done)))
	if err == nil && clock != nil {
		err = clock.waitAfter(ctx, run.sender.lastSend.Load())
	}
	_, cpu, rss = m.end()
	if err != nil {
		return err
	}
	note := "latency: row stamp to Kafka ack"
	if clock != nil {
		// Each sample runs to the first commit after its message was
		// handed to the producer: the commit that made it visible. The
		// samples are frozen and their own last send waited for, not
		// only the send seen when the count was reached: an event
		// acknowledged after that (a row the load generator committed
		// but did not count, its deadline having cut the reply) may
		// still be in an open transaction.
		rec.mu.Lock()
		rec.frozen = true
		var last int64
		for _, s := range rec.sentUs {
			last = max(last, s)
		}
		rec.mu.Unlock()
		if err := clock.waitAfter(ctx, last); err != nil {
			return err
		}
		rec.mu.Lock()
		for i := range rec.us {
			v := clock.visibleAt(rec.sentUs[i])
			if v < 0 {
				rec.mu.Unlock()
				return fmt.Errorf("a change sent at %d µs was never committed", rec.sentUs[i])
			}
			rec.us[i] = v - rec.stamps[i]
		}
		rec.mu.Unlock()
		note = "latency: row stamp to the commit of its Kafka transaction (visible to read_committed)"
	}
	n, p50, p99, pmax := rec.percentiles()
	if n == 0 {
		return fmt.Errorf("no latency samples (%d messages without a readable stamp)", rec.bad.Load())
	}
	e.add(Result{Scenario: PGStreamEOS, Case: fmt.Sprintf("%s: %s %.0f single-row txns/s for %s", mode, caseLive, rate, e.cfg.Duration),
		Name: "tributary", Events: live.Done, Bytes: run.sender.bytes.Load() - bytes0, Seconds: live.Seconds,
		LatencyP50Ms: ptr(p50), LatencyP99Ms: ptr(p99), LatencyMaxMs: ptr(pmax), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: fmt.Sprintf("%s, %d samples", note, n)})
	return nil
}
