package postgres

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/runtime"
)

// TestFastShutdownWithConnectorAttached is the DBA's restart of an idle
// primary: with everything delivered, pg_ctl stop -m fast must complete at
// once (the walsender waits until its client confirms every position it
// was sent, the shutdown checkpoint included), and the task must end with
// a retriable error so the runtime restarts it once the server is back.
func TestFastShutdownWithConnectorAttached(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props []string
		// slotMoves: the slot's confirmed_flush_lsn follows the server's
		// WAL end while idle (not under lsn.flush.mode=manual).
		slotMoves bool
	}{
		{name: "default", slotMoves: true},
		{name: "connector_and_driver", props: []string{"lsn.flush.mode", "connector_and_driver"}, slotMoves: true},
		{name: "manual", props: []string{"lsn.flush.mode", "manual"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.exec(t, `CREATE TABLE t (id INT PRIMARY KEY, v TEXT)`, `INSERT INTO t VALUES (1, 'a')`)
			props := e.props(append([]string{"status.update.interval.ms", "500"}, tc.props...)...)
			r := startTask(t, props, nil, nil)
			r.cap.waitFor(t, 1, isData("dbserver1"))
			e.exec(t, `INSERT INTO t VALUES (2, 'b')`)
			r.cap.waitFor(t, 2, isData("dbserver1"))
			// Let the confirmation of what was delivered settle, then write
			// WAL the connector is not sent: the slot of an idle database
			// must still move past it.
			time.Sleep(2 * time.Second)
			before := slotFlush(t, e)
			e.exec(t, `CREATE TABLE other (id INT)`, `INSERT INTO other SELECT generate_series(1, 1000)`)
			time.Sleep(2 * time.Second)

			if tc.slotMoves {
				deadline := time.Now().Add(10 * time.Second)
				for slotFlush(t, e) <= before && time.Now().Before(deadline) {
					time.Sleep(200 * time.Millisecond)
				}
				if after := slotFlush(t, e); after <= before {
					t.Errorf("confirmed_flush_lsn stayed at %s while idle", after)
				}
			} else if after := slotFlush(t, e); after != before {
				t.Errorf("lsn.flush.mode=manual: confirmed_flush_lsn moved from %s to %s", before, after)
			}

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			took, err := e.pg.StopFast(ctx, 10*time.Second)
			if err != nil {
				t.Fatalf("pg_ctl stop -m fast with the connector attached: %v", err)
			}
			t.Logf("fast shutdown took %s", took.Round(time.Millisecond))
			select {
			case err := <-r.done:
				r.cancel = nil
				if !connect.IsRetriable(err) {
					t.Fatalf("task ended with %v; want a retriable error", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("task did not notice the server shut down")
			}
			e.pg.Start(t)
		})
	}
}

func slotFlush(t *testing.T, e *env) pglogrepl.LSN {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.pg.DSN(e.db))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var text string
	if err := conn.QueryRow(ctx, `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = 'debezium'`).Scan(&text); err != nil {
		t.Fatalf("read slot: %v", err)
	}
	lsn, err := pglogrepl.ParseLSN(text)
	if err != nil {
		t.Fatalf("slot LSN %q: %v", text, err)
	}
	return lsn
}

// syncBuf is a goroutine-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A slot that does not move (here lsn.flush.mode=manual) is reported by
// the retained-WAL metric and a warning once it holds back more than
// slot.lag.warning.bytes.
func TestSlotLagMetricAndWarning(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id INT PRIMARY KEY, v TEXT)`)
	vals, err := Def().Parse(e.props("lsn.flush.mode", "manual", "slot.lag.warning.bytes", "1000000"))
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuf
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	task, err := newTask(vals, connect.TaskContext{ConnectorName: "test", Offsets: memOffsets{}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	task.cfg.slotLagInterval = 200 * time.Millisecond
	cap := newCapture()
	cap.task = task
	tm := metrics.NewTask("test", 0)
	ctx, cancel := context.WithCancel(metrics.WithTask(context.Background(), tm))
	done := make(chan error, 1)
	go func() { done <- task.Run(ctx, cap) }()
	defer func() { cancel(); <-done }()
	e.exec(t, `INSERT INTO t VALUES (1, 'a')`)
	cap.waitFor(t, 1, isData("dbserver1"))
	// About 4 MB of WAL.
	e.exec(t, `INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(2, 4000) g`)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "slot.lag.warning.bytes") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "more WAL than slot.lag.warning.bytes") {
		t.Fatalf("no slot lag warning; log:\n%s", logs.String())
	}
	reg := metrics.NewRegistry()
	defer reg.AddSourceTask(tm, &runtime.Stats{})()
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	var retained float64
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "tributary_postgres_replication_slot_retained_wal_bytes{") {
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &retained); err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
		}
	}
	if retained < 1000000 {
		t.Fatalf("retained WAL metric = %v, want > 1000000; metrics:\n%s", retained, rec.Body.String())
	}
}

// A task whose metadata connection died (here terminated by the server;
// in the fault suite, cut by a network partition) must restart instead of
// publishing a relation's columns as all optional, a schema change caused
// by nothing but the fault.
func TestMetadataConnectionLossIsRetriable(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id INT PRIMARY KEY, v TEXT NOT NULL)`, `INSERT INTO t VALUES (1, 'a')`)
	r := startTask(t, e.props(), nil, nil)
	r.cap.waitFor(t, 1, isData("dbserver1"))
	// Every ordinary backend of the database but this one: the task's
	// metadata connection. The walsender is left alone.
	e.exec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
	e.exec(t, `ALTER TABLE t ADD COLUMN w INT`, `INSERT INTO t VALUES (2, 'b', 2)`)
	select {
	case err := <-r.done:
		r.cancel = nil
		if !connect.IsRetriable(err) {
			t.Fatalf("task ended with %v; want a retriable error", err)
		}
	case <-time.After(30 * time.Second):
		for _, rec := range r.cap.records() {
			t.Logf("record on %s", rec.Topic)
		}
		t.Fatal("task went on without its metadata connection")
	}
}
