package mysql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// TestFlushAtTransactionEnd checks when streamed records reach the
// RecordWriter: a transaction's records at its COMMIT/XID event, a large
// transaction's every max.batch.size records, and a DDL statement's schema
// change at the statement. The idle flush is pushed out to an hour, so
// anything still buffered after those points would never arrive and
// waitFor would fail.
func TestFlushAtTransactionEnd(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE t (id INT PRIMARY KEY, v INT)", "INSERT INTO t VALUES (0, 0)")
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), e.props(map[string]string{"max.batch.size": "10"}), c,
		func(tk *task) { tk.flushIdle = time.Hour })
	const topic = "mariadb1.inventory.t"
	// the snapshot's last record is held until the snapshot ends
	c.waitFor(t, 1, onTopic(topic))

	var big []string
	for i := 100; i < 125; i++ {
		big = append(big, fmt.Sprintf("(%d, %d)", i, i))
	}
	e.db.Exec(t, "inventory",
		"BEGIN; INSERT INTO t VALUES (1, 1); INSERT INTO t VALUES (2, 2); UPDATE t SET v = 3 WHERE id = 1; COMMIT",
		"BEGIN; INSERT INTO t VALUES "+strings.Join(big, ", ")+"; COMMIT")
	c.waitFor(t, 1+3+25, onTopic(topic))

	e.db.Exec(t, "inventory", "ALTER TABLE t ADD COLUMN w INT")
	c.waitFor(t, 1, func(r *connect.Record) bool {
		v, ok := r.Value.(*connect.StructValue)
		return r.Topic == "mariadb1" && ok && strings.HasPrefix(fmt.Sprint(v.Get("ddl")), "ALTER TABLE t")
	})
	if err := r.stop(t); err != nil {
		t.Fatalf("task: %v", err)
	}

	// sizes of the writes holding streamed changes; each must hold nothing else
	var sizes []int
	for _, batch := range c.writes() {
		n := 0
		for _, rec := range batch {
			if rec.Topic == topic && rec.Value.(*connect.StructValue).Get("op") != "r" {
				n++
			}
		}
		if n == 0 {
			continue
		}
		if n != len(batch) {
			t.Errorf("a write mixes %d changes of %s with %d other records", n, topic, len(batch)-n)
		}
		sizes = append(sizes, n)
	}
	if got, want := fmt.Sprint(sizes), "[3 10 10 5]"; got != want {
		t.Errorf("writes of streamed changes %s, want %s (one per transaction, large ones split every max.batch.size records)", got, want)
	}
}
