package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/internal/connect"
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
