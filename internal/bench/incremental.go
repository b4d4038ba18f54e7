package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/signal"
)

// MyIncremental measures an incremental snapshot of the MariaDB table
// (signal-table watermarks, incremental.snapshot.chunk.size 1024) against
// the initial snapshot of the same table in the same run.
const MyIncremental = "mariadb-incremental"

func (e *env) myIncremental(ctx context.Context) error {
	if err := e.ensureMyTable(ctx); err != nil {
		return err
	}
	if err := e.my.ExecContext(ctx, "bench", "CREATE TABLE IF NOT EXISTS debezium_signal (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data text)"); err != nil {
		return err
	}
	props := e.mySourceProps("myincinit", 5402)
	props["snapshot.mode"] = "initial"
	initial, err := e.runSnapshot(ctx, MyIncremental, "bench-mariadb-inc-initial", props, e.cfg.Rows)
	e.deleteTopics("myincinit.bench.bench", "schemahistory.myincinit")
	if err != nil {
		return err
	}

	const name = "bench-mariadb-incremental"
	props = e.mySourceProps("myinc", 5403)
	props["snapshot.mode"] = "no_data"
	props["signal.data.collection"] = "bench.debezium_signal"
	props["incremental.snapshot.chunk.size"] = "1024"
	// the task reports its snapshot progress here, as in a worker
	tm := metrics.NewTask(name, 0)
	inboxes := signal.NewInboxes()
	run, err := e.startSource(signal.WithInboxes(metrics.WithTask(ctx, tm), inboxes), name, props)
	if err != nil {
		return err
	}
	defer e.deleteTopics("myinc.bench.bench", "schemahistory.myinc")
	// The signal goes through the REST API's inbox, which the task opens
	// when it starts streaming.
	rec := signal.Record{ID: "bench-incremental", Type: signal.ActionExecuteSnapshot, Data: `{"data-collections": ["bench.bench"]}`}
	for deadline := time.Now().Add(time.Minute); ; {
		_, err := inboxes.Deliver(ctx, name, rec)
		if err == nil {
			break
		}
		if !errors.Is(err, signal.ErrNoTask) || time.Now().After(deadline) {
			run.stop()
			return fmt.Errorf("%s: deliver the execute-snapshot signal: %w", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The stream's latency during the snapshot: stamped single-row
	// updates at the lowest live rate for Duration from the signal on;
	// only the changes streamed while the snapshot runs are sampled.
	rate := e.cfg.Rates[0]
	lat := &latencyRec{since: time.Now().UnixMicro(), streamOnly: true}
	run.sender.lat.Store(lat)
	defer run.sender.lat.Store(nil)
	m := startMeter()
	type loaded struct {
		res loadResult
		err error
	}
	loadc := make(chan loaded, 1)
	lctx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go func() {
		res, err := e.load(lctx, "mysql", e.my.DSN("bench")+"&interpolateParams=true", myStampSQL,
			childSpec{Rate: rate, Seconds: e.cfg.Duration.Seconds(), Conns: 8})
		loadc <- loaded{res, err}
	}()
	var reads int64
	for deadline := time.Now().Add(timeoutFor(e.cfg.Rows)); ; time.Sleep(10 * time.Millisecond) {
		if p := tm.Progress(); len(p) == 1 && p[0].Done {
			reads = p[0].Rows
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			run.stop()
			return fmt.Errorf("%s: the incremental snapshot did not complete within %s", name, timeoutFor(e.cfg.Rows))
		}
	}
	elapsed, cpu, rss := m.end()
	run.sender.lat.Store(nil)
	l := <-loadc
	if l.err != nil {
		run.stop()
		return l.err
	}
	_, werr := run.waitWritten(ctx, reads+l.res.Done, timeoutFor(int(l.res.Done)))
	serr := run.stop()
	if werr != nil {
		return werr
	}
	if serr != nil {
		return serr
	}
	if reads < int64(e.cfg.Rows)*9/10 {
		return fmt.Errorf("%s: the incremental snapshot emitted %d rows of %d", name, reads, e.cfg.Rows)
	}
	n, p50, p99, pmax := lat.percentiles()
	if n == 0 {
		return fmt.Errorf("%s: no latency samples during the snapshot", name)
	}
	inc := Result{Scenario: MyIncremental, Case: fmt.Sprintf("incremental snapshot of %d rows x 10 columns (chunks of 1024, signal-table watermarks) with %.0f updates/s", e.cfg.Rows, rate),
		Name: "tributary", Events: reads, Bytes: run.sender.bytes.Load(), Seconds: elapsed.Seconds(),
		LatencyP50Ms: ptr(p50), LatencyP99Ms: ptr(p99), LatencyMaxMs: ptr(pmax), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss),
		Note: fmt.Sprintf("JSON with schemas; rows read from the signal to the end (the rest were replaced by streamed changes); stream latency: row stamp to Kafka ack, %d samples", n)}
	e.add(inc)
	e.addLimit(inc, Result{Name: "tributary initial snapshot of the same table, same run", Events: initial.Events, Bytes: initial.Bytes,
		Seconds: initial.Seconds, CPUSeconds: initial.CPUSeconds, PeakRSSMB: initial.PeakRSSMB})
	return nil
}
