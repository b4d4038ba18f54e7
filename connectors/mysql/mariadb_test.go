package mysql

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/connect"
)

// TestSnapshotAndStreaming covers the initial snapshot of the tutorial's
// customers table and streaming of every DML kind, against golden files.
func TestSnapshotAndStreaming(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", inventorySQL)
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), e.props(nil), c)
	const topic = "mariadb1.inventory.customers"
	c.waitFor(t, 4, onTopic(topic))

	e.db.Exec(t, "inventory",
		`INSERT INTO customers VALUES (1005, 'Sarah', 'Thompson', 'kitt@acme.com')`,
		`UPDATE customers SET first_name='Anne Marie' WHERE id=1004`,
		`UPDATE customers SET id=2001 WHERE id=1001`,
		`DELETE FROM customers WHERE id=1005`,
		`BEGIN; INSERT INTO customers VALUES (1006, 'a', 'b', 'c@d'); INSERT INTO customers VALUES (1007, 'e', 'f', 'g@h'); COMMIT`,
	)
	// 4 snapshot + c + u + (d, tombstone, c) + (d, tombstone) + 2 c
	recs := c.waitFor(t, 13, onTopic(topic))
	if err := r.stop(t); err != nil {
		t.Fatalf("task: %v", err)
	}
	var b strings.Builder
	for _, rec := range c.records() {
		b.WriteString(eventJSON(t, rec))
		b.WriteString("---\n")
	}
	golden(t, "snapshot_and_streaming.txt", b.String())
	_ = recs
	_ = connect.Record{}
}
