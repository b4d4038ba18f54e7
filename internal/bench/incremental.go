package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	run, err := e.startSource(ctx, name, props)
	if err != nil {
		return err
	}
	defer e.deleteTopics("myinc.bench.bench", "schemahistory.myinc")
	// The signal goes through the REST API's inbox, which the task opens
	// when it starts streaming.
	rec := signal.Record{ID: "bench-incremental", Type: signal.ActionExecuteSnapshot, Data: `{"data-collections": ["bench.bench"]}`}
	for deadline := time.Now().Add(time.Minute); ; {
		_, err := signal.Deliver(ctx, name, rec)
		if err == nil {
			break
		}
		if !errors.Is(err, signal.ErrNoTask) || time.Now().After(deadline) {
			run.stop()
			return fmt.Errorf("%s: deliver the execute-snapshot signal: %w", name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m := startMeter()
	_, werr := run.waitWritten(ctx, int64(e.cfg.Rows), timeoutFor(e.cfg.Rows))
	elapsed, cpu, rss := m.end()
	serr := run.stop()
	if werr != nil {
		return werr
	}
	if serr != nil {
		return serr
	}
	if got := run.written(); got != int64(e.cfg.Rows) {
		return fmt.Errorf("%s wrote %d records for a %d-row table", name, got, e.cfg.Rows)
	}
	inc := Result{Scenario: MyIncremental, Case: fmt.Sprintf("incremental snapshot of %d rows x 10 columns (chunks of 1024, signal-table watermarks)", e.cfg.Rows),
		Name: "tributary", Events: int64(e.cfg.Rows), Bytes: run.sender.bytes.Load(), Seconds: elapsed.Seconds(),
		CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss), Note: "JSON with schemas; from the signal to the last record written"}
	e.add(inc)
	e.addLimit(inc, Result{Name: "tributary initial snapshot of the same table, same run", Events: initial.Events, Bytes: initial.Bytes,
		Seconds: initial.Seconds, CPUSeconds: initial.CPUSeconds, PeakRSSMB: initial.PeakRSSMB})
	return nil
}
