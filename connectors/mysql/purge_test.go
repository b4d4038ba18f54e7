package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// TestPurgedBinlog stops the connector after it streamed, makes the server
// lose the binlog it would resume from, and starts it again: it must fail
// at start, before streaming, with a non-retriable error that names what
// is missing and the way out; with snapshot.mode=when_needed it takes a
// new snapshot instead (with the rows written while it was stopped) and
// streams on from there.
func TestPurgedBinlog(t *testing.T) {
	purge := func(t *testing.T, e *env) { purgeBinlogs(t, e) }
	reset := func(t *testing.T, e *env) { e.db.Exec(t, "", "RESET MASTER") }
	cases := []struct {
		name    string
		lose    func(t *testing.T, e *env)
		props   map[string]string
		wantErr []string // empty: a new snapshot is expected
	}{
		{"GTID offset, binlogs purged", purge, nil,
			[]string{"GTID set 0-1-", "binlog events after GTID 0-1-", "were purged", "oldest binary log binlog.", "set snapshot.mode=when_needed to take a new snapshot"}},
		{"file offset, binlogs purged", purge, map[string]string{"gtid.ignore.on.recovery": "true"},
			[]string{"binlog file binlog.000001 is no longer on the server", "set snapshot.mode=when_needed to take a new snapshot"}},
		{"GTID offset, binary log reset", reset, nil,
			[]string{"do not contain GTID 0-1-", "reset", "set snapshot.mode=when_needed to take a new snapshot"}},
		{"when_needed, binlogs purged", purge, map[string]string{"snapshot.mode": "when_needed"}, nil},
		{"when_needed, binary log reset", reset, map[string]string{"snapshot.mode": "when_needed"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.db.Exec(t, "", inventorySQL)
			const topic = "mariadb1.inventory.customers"
			c := &capture{}
			r := e.start(t, MariaDBPlugin(), e.props(tc.props), c)
			c.waitFor(t, 4, onTopic(topic))
			e.db.Exec(t, "inventory", "INSERT INTO customers VALUES (1005, 'Stream', 'Ed', 'streamed@example.com')")
			c.waitFor(t, 5, onTopic(topic))
			if err := r.stop(t); err != nil {
				t.Fatalf("first run: %v", err)
			}
			stored, _ := c.Offset(context.Background(), nil)
			t.Logf("stopped at offset %v", stored)

			// while the connector is stopped
			e.db.Exec(t, "inventory", "INSERT INTO customers VALUES (1006, 'While', 'Stopped', 'stopped@example.com')")
			tc.lose(t, e)
			c.reset()

			r = e.start(t, MariaDBPlugin(), e.props(tc.props), c)
			if len(tc.wantErr) > 0 {
				err := r.wait(t)
				if err == nil {
					t.Fatal("the task started although its binlog position is gone")
				}
				t.Logf("error: %v", err)
				if connect.IsRetriable(err) {
					t.Errorf("error is retriable: a restart cannot bring the binlog back")
				}
				for _, s := range tc.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error does not say %q", s)
					}
				}
				if n := len(c.records()); n != 0 {
					t.Errorf("%d records emitted before the error", n)
				}
				return
			}
			// when_needed: a new snapshot with every current row, then streaming
			recs := c.waitFor(t, 6, onTopic(topic))
			ids := map[int32]string{}
			for _, rec := range recs[:6] {
				v := rec.Value.(*connect.StructValue)
				id := v.Get("after").(*connect.StructValue).Get("id").(int32)
				ids[id] = v.Get("op").(string)
			}
			for id := int32(1001); id <= 1006; id++ {
				if ids[id] != "r" {
					t.Errorf("row %d: op %q in the new snapshot, want r (%v)", id, ids[id], ids)
				}
			}
			e.db.Exec(t, "inventory", "INSERT INTO customers VALUES (1007, 'After', 'Snapshot', 'after@example.com')")
			recs = c.waitFor(t, 7, onTopic(topic))
			if v := recs[6].Value.(*connect.StructValue); v.Get("op") != "c" || v.Get("after").(*connect.StructValue).Get("id") != int32(1007) {
				t.Errorf("after the new snapshot: %v", v)
			}
			if err := r.stop(t); err != nil {
				t.Fatalf("second run: %v", err)
			}
		})
	}
}

// purgeBinlogs starts a new binary log and purges all older ones. MariaDB
// keeps a binlog until InnoDB has checkpointed its transactions
// (Binlog_checkpoint), and PURGE silently leaves such a file, so it is
// repeated until the file is gone.
func purgeBinlogs(t *testing.T, e *env) {
	t.Helper()
	db, err := sql.Open("mysql", e.db.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	e.db.Exec(t, "", "FLUSH BINARY LOGS")
	var cur string
	var pos any
	rows, err := db.Query("SHOW MASTER STATUS")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	vals[0], vals[1] = &cur, &pos
	for i := 2; i < len(vals); i++ {
		vals[i] = new(any)
	}
	if !rows.Next() {
		t.Fatal("SHOW MASTER STATUS: no row")
	}
	if err := rows.Scan(vals...); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := db.Exec(fmt.Sprintf("PURGE BINARY LOGS TO '%s'", cur)); err != nil {
			t.Fatal(err)
		}
		logs, err := binaryLogs(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		if logs[0] == cur {
			t.Logf("purged the binary logs before %s", cur)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary logs %v not purged up to %s", logs, cur)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
