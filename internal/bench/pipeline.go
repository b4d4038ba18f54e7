package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/pipeline"
	"github.com/tributary-io/tributary/internal/runtime"
)

// Kafka-less pipelines (`tributary run` with a sink: section): the
// PostgreSQL stream published to NATS JetStream or POSTed to a webhook,
// against the raw publish rate of the same messages to the same server in
// the same run.
const (
	PGNATS    = "pg-nats"
	PGWebhook = "pg-webhook"
)

// Limit names of the pipeline scenarios.
const (
	limitJetStream = "nats.go JetStream PublishAsync (max 1024 pending)"
	limitHTTP      = "net/http POST, one event per request"
)

// busRun is a pipeline running in this process through internal/pipeline,
// as `tributary run` runs it, with its publisher metered.
type busRun struct {
	pub    *meteredPublisher
	cancel context.CancelFunc
	errc   chan error
	err    error
	done   bool
}

// meteredPublisher counts what the bus acknowledged and, while a latency
// recorder is attached, notes for each acknowledged event how long ago its
// row was stamped. It keeps the last value, which the raw limit publishes.
type meteredPublisher struct {
	inner bus.Publisher
	acked atomic.Int64
	bytes atomic.Int64
	lat   atomic.Pointer[latencyRec]
	mu    sync.Mutex
	last  []byte
}

func (p *meteredPublisher) Publish(ctx context.Context, msgs []*bus.Message) error {
	if err := p.inner.Publish(ctx, msgs); err != nil {
		return err
	}
	now := time.Now().UnixMicro()
	rec := p.lat.Load()
	var n int64
	for _, m := range msgs {
		n += int64(len(m.Key) + len(m.Value))
		if rec != nil {
			rec.sample(m.Value, now)
		}
	}
	if len(msgs) > 0 {
		p.mu.Lock()
		p.last = msgs[len(msgs)-1].Value
		p.mu.Unlock()
	}
	p.bytes.Add(n)
	p.acked.Add(int64(len(msgs)))
	return nil
}

func (p *meteredPublisher) Close() error { return p.inner.Close() }

func (p *meteredPublisher) lastValue() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// sample records the latency of one event acknowledged at ackUs.
func (l *latencyRec) sample(value []byte, ackUs int64) {
	stamp, ok := stampOf(value)
	if !ok {
		l.bad.Add(1)
		return
	}
	if stamp < l.since {
		return
	}
	l.mu.Lock()
	l.us = append(l.us, ackUs-stamp)
	l.mu.Unlock()
}

// startPipeline runs the source props into the sink sinkProps.
func (e *env) startPipeline(ctx context.Context, name string, props, sinkProps map[string]string) (*busRun, error) {
	r := pipeline.Runner{Plugins: e.cfg.Plugins, Sinks: e.cfg.Sinks}
	sv, sf, err := r.ParseSink(sinkProps)
	if err != nil {
		return nil, err
	}
	c, err := runtime.ParseConnector(e.cfg.Plugins, config.Connector{Name: name, Config: props})
	if err != nil {
		return nil, err
	}
	store, err := offsets.OpenFile(filepath.Join(e.dir, name+".offsets"))
	if err != nil {
		return nil, err
	}
	pub, err := sf.New(ctx, sv, e.log)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	mp := &meteredPublisher{inner: pub}
	p := &pipeline.Pipeline{Connector: c, Publisher: mp, Offsets: store, Converters: e.cfg.Converters, Transforms: e.cfg.Transforms,
		Worker: e.worker, Sink: sv, Logger: e.log}
	rctx, cancel := context.WithCancel(ctx)
	b := &busRun{pub: mp, cancel: cancel, errc: make(chan error, 1)}
	go func() {
		err := p.Run(rctx)
		if cerr := mp.Close(); cerr != nil && err == nil {
			err = cerr
		}
		b.errc <- err
	}()
	return b, nil
}

// waitAcked waits until the bus acknowledged n events in all.
func (b *busRun) waitAcked(ctx context.Context, n int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for b.pub.acked.Load() < n {
		if b.done {
			return fmt.Errorf("pipeline stopped after %d of %d events: %v", b.pub.acked.Load(), n, b.err)
		}
		select {
		case err := <-b.errc:
			b.done, b.err = true, err
			if err == nil {
				err = errors.New("returned without error")
			}
			return fmt.Errorf("pipeline stopped after %d of %d events: %w", b.pub.acked.Load(), n, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipeline: only %d of %d events acknowledged by the sink after %s", b.pub.acked.Load(), n, timeout)
		}
	}
	return nil
}

func (b *busRun) stop() error {
	b.cancel()
	if !b.done {
		b.err = <-b.errc
		b.done = true
	}
	if errors.Is(b.err, context.Canceled) {
		return nil
	}
	return b.err
}

// pgBus runs one pipeline scenario: a backlog of single-row transactions
// caught up by a fresh pipeline, the raw publish limit with messages of
// the same size, then the live latency phases.
func (e *env) pgBus(ctx context.Context, scenario string) error {
	if len(e.cfg.Sinks) == 0 {
		e.report.Skipped = append(e.report.Skipped, scenario+": no pipeline sinks in this binary")
		return nil
	}
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	var sinkProps map[string]string
	var raw func(ctx context.Context, value []byte, n int) (float64, error)
	limitName, ackName := "", ""
	switch scenario {
	case PGNATS:
		url, stop, err := e.startNATSServer(ctx)
		if err != nil {
			return err
		}
		defer stop()
		sinkProps = map[string]string{"connector.class": "io.tributary.connect.nats.JetStreamSinkConnector", "nats.url": url,
			"nats.subject": "cdc.${topic}", "nats.stream.create": "true", "nats.stream.name": "CDC"}
		raw = func(ctx context.Context, value []byte, n int) (float64, error) {
			return rawJetStream(ctx, url, value, n)
		}
		limitName, ackName = limitJetStream+", same server and stream (file storage)", "JetStream PubAck"
	case PGWebhook:
		c, err := startChild(e.cfg.ChildExe, e.cfg.ChildArgs, childSpec{Role: "webhook"})
		if err != nil {
			return err
		}
		defer c.stop()
		var hello webhookHello
		if err := c.readJSON(ctx, &hello); err != nil {
			return err
		}
		// The sink's defaults: one event per request, 4 requests in flight.
		sinkProps = map[string]string{"connector.class": "io.tributary.connect.http.WebhookSinkConnector", "http.api.url": hello.URL}
		raw = func(ctx context.Context, value []byte, n int) (float64, error) {
			return rawPOST(ctx, hello.URL, value, n, 4)
		}
		limitName, ackName = limitHTTP+", 4 in flight, keep-alive, same receiver", "HTTP 2xx"
	default:
		return fmt.Errorf("unknown pipeline scenario %q", scenario)
	}
	slot := "trib_" + map[string]string{PGNATS: "nats", PGWebhook: "webhook"}[scenario]
	defer e.pgDropSlots(ctx, slot)
	if err := e.pgCreateSlots(ctx, slot); err != nil {
		return err
	}
	e.progress("   %d single-row transactions (4 connections, as fast as possible)", e.cfg.SmallTxns)
	load, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Count: e.cfg.SmallTxns, Conns: 4})
	if err != nil {
		return err
	}
	props := e.pgSourceProps("pgbus", slot)
	props["snapshot.mode"] = "no_data"
	m := startMeter()
	run, err := e.startPipeline(ctx, "bench-"+scenario, props, sinkProps)
	if err != nil {
		m.end()
		return err
	}
	defer run.stop()
	err = run.waitAcked(ctx, load.Done, timeoutFor(int(load.Done)))
	elapsed, cpu, rss := m.end()
	if err != nil {
		return err
	}
	trib := Result{Scenario: scenario, Case: fmt.Sprintf("backlog: %d single-row txns", load.Done), Name: "tributary",
		Events: run.pub.acked.Load(), Bytes: run.pub.bytes.Load(), Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: "pipeline start to the sink's last ack; JSON with schemas"}
	e.add(trib)
	value := run.pub.lastValue()
	if len(value) == 0 {
		return fmt.Errorf("%s: no event value to publish raw", scenario)
	}
	count := int(min(trib.Events, 100000))
	rm := startMeter()
	secs, err := raw(ctx, value, count)
	_, rcpu, rrss := rm.end()
	if err != nil {
		return fmt.Errorf("%s raw limit: %w", scenario, err)
	}
	e.addLimit(trib, Result{Name: limitName, Events: int64(count), Bytes: int64(count * len(value)), Seconds: secs,
		CPUSeconds: ptr(rcpu), PeakRSSMB: ptr(rrss), Note: fmt.Sprintf("%d-byte values (an event of the run)", len(value))})

	for _, rate := range e.cfg.Rates {
		rec := &latencyRec{since: time.Now().UnixMicro()}
		run.pub.lat.Store(rec)
		base, bytes0 := run.pub.acked.Load(), run.pub.bytes.Load()
		m := startMeter()
		load, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Rate: rate, Seconds: e.cfg.Duration.Seconds(), Conns: 8})
		if err != nil {
			m.end()
			return err
		}
		err = run.waitAcked(ctx, base+load.Done, timeoutFor(int(load.Done)))
		_, cpu, rss := m.end()
		run.pub.lat.Store(nil)
		if err != nil {
			return err
		}
		n, p50, p99, pmax := rec.percentiles()
		if n == 0 {
			return fmt.Errorf("%s: no latency samples (%d events without a readable stamp)", scenario, rec.bad.Load())
		}
		e.add(Result{Scenario: scenario, Case: fmt.Sprintf("%s %.0f single-row txns/s for %s", caseLive, rate, e.cfg.Duration),
			Name: "tributary", Events: load.Done, Bytes: run.pub.bytes.Load() - bytes0, Seconds: load.Seconds,
			LatencyP50Ms: ptr(p50), LatencyP99Ms: ptr(p99), LatencyMaxMs: ptr(pmax), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
			Note: fmt.Sprintf("latency: row stamp to the sink's ack (%s), %d samples", ackName, n)})
	}
	return run.stop()
}

// startNATSServer starts nats-server with JetStream (file storage under
// the run's directory) on a free port and waits until it accepts
// connections.
func (e *env) startNATSServer(ctx context.Context) (url string, stop func(), err error) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		return "", nil, errors.New("nats-server not installed (apt-get install nats-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir, err := os.MkdirTemp(e.dir, "nats-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port), "-js", "-sd", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start nats-server: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, fmt.Errorf("nats-server on %s did not accept connections within 10s", addr)
		}
	}
	var v string
	if out, err := exec.Command(bin, "--version").Output(); err == nil {
		v = string(bytes.TrimSpace(out))
	}
	e.progress("   started %s on %s", v, addr)
	return "nats://" + addr, stop, nil
}

// rawJetStream publishes n copies of value to the pipeline's stream
// (subject cdc.raw) with nats.go's async publish and returns the seconds
// until the last acknowledgement.
func rawJetStream(ctx context.Context, url string, value []byte, n int) (float64, error) {
	nc, err := gonats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := js.PublishAsync("cdc.raw", value); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(timeoutFor(n)):
		return 0, fmt.Errorf("%d async publishes not acknowledged within %s", js.PublishAsyncPending(), timeoutFor(n))
	}
	return time.Since(start).Seconds(), nil
}

// rawPOST POSTs n copies of value to url from conns concurrent
// keep-alive connections and returns the seconds until the last 2xx.
func rawPOST(ctx context.Context, url string, value []byte, n, conns int) (float64, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(value))
				if err == nil {
					req.Header.Set("Content-Type", "application/json")
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode/100 != 2 {
							err = fmt.Errorf("POST %s: %s", url, resp.Status)
						}
					}
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start).Seconds(), firstErr
}

// webhookHello is what the webhook receiver child prints once it listens.
type webhookHello struct {
	URL string `json:"url"`
}

// runWebhookReceiver is the "webhook" child: an HTTP server that reads
// every request's body and answers 204, until the parent goes away.
func runWebhookReceiver(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	if err := json.NewEncoder(os.Stdout).Encode(webhookHello{URL: "http://" + ln.Addr().String() + "/events"}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
