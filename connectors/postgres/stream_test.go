package postgres

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// TestSnapshotThenStream covers the initial snapshot (markers, offsets)
// and streamed inserts, updates (plain and key-changing), deletes with
// tombstones and truncates.
func TestSnapshotThenStream(t *testing.T) {
	e := newEnv(t)
	e.exec(t,
		`CREATE TABLE customers (id SERIAL PRIMARY KEY, first_name VARCHAR(255) NOT NULL, last_name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL UNIQUE)`,
		`CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, note TEXT)`,
		`CREATE TABLE empty_table (id INT PRIMARY KEY)`,
		`INSERT INTO customers (first_name, last_name, email) VALUES ('Sally','Thomas','sally@example.com'),('George','Bailey','gbailey@example.com')`,
		`INSERT INTO orders VALUES (10, 1, 'first'), (11, 2, NULL)`,
	)
	r := startTask(t, e.props("skipped.operations", "none"), nil, nil)
	snap := r.cap.waitFor(t, 4, isData("dbserver1"))
	markers := []string{}
	for _, rec := range snap {
		src := rec.Value.(*connect.StructValue).Get("source").(*connect.StructValue)
		markers = append(markers, src.Get("snapshot").(string))
	}
	// customers (2 rows), empty_table, orders (2 rows): the last record of
	// the snapshot is marked last even though a table follows it in order.
	if got := strings.Join(markers, ","); got != "first,last_in_data_collection,first_in_data_collection,last" {
		t.Fatalf("snapshot markers = %s", got)
	}
	last := snap[3].SourceOffset
	if last["snapshot"] != "INITIAL" || last["last_snapshot_record"] != true || last["snapshot_completed"] != true {
		t.Fatalf("last snapshot record offset = %v", last)
	}
	if snap[0].SourceOffset["last_snapshot_record"] != false || snap[0].SourceOffset["snapshot_completed"] != false {
		t.Fatalf("first snapshot record offset = %v", snap[0].SourceOffset)
	}

	e.exec(t,
		`INSERT INTO customers (first_name, last_name, email) VALUES ('Edward','Walker','ed@walker.com')`,
		`UPDATE customers SET first_name = 'Anne Marie' WHERE id = 1`,
		`UPDATE customers SET id = 100 WHERE id = 2`,
		`DELETE FROM customers WHERE id = 3`,
		`BEGIN; INSERT INTO orders VALUES (12, 100, 'x'); UPDATE orders SET note = NULL WHERE id = 10; COMMIT`,
		`TRUNCATE orders`,
	)
	// c, u, (d, tombstone, c) for the key change, d + tombstone, c, u, t
	all := r.cap.waitFor(t, 4+10, isData("dbserver1"))
	checkGolden(t, "snapshot-stream.txt", renderRecords(t, all))
	// streamed offsets carry Debezium's keys
	off := all[len(all)-1].SourceOffset
	for _, k := range []string{"lsn", "lsn_proc", "lsn_commit", "txId", "ts_usec", "messageType"} {
		if _, ok := off[k]; !ok && k != "lsn_commit" {
			t.Errorf("streamed offset lacks %s: %v", k, off)
		}
	}
}
