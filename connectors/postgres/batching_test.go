package postgres

import (
	"fmt"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// TestBacklogBatchedAcrossCommits streams a backlog of single-row
// transactions, which arrive with the next message already received, so
// their commits leave the records in the batch (stream.go, COMMIT). The
// records must come out complete, in order, with each transaction's own
// offsets (an event's lsn_commit is the commit before it), and a
// transaction after the backlog must still be delivered (held records
// are flushed before a read that may block).
func TestBacklogBatchedAcrossCommits(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY, v text)`)
	props := e.props("snapshot.mode", "no_data")
	cap := newCapture()
	first := startTask(t, props, nil, cap)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (0, 'start')`)
	cap.waitFor(t, 1, isData("dbserver1"))
	if err := first.stop(t); err != nil {
		t.Fatalf("first run: %v", err)
	}
	cap.mu.Lock()
	stored := cap.stored
	cap.mu.Unlock()

	const n = 400
	stmts := make([]string, n)
	for i := range stmts {
		stmts[i] = fmt.Sprintf(`INSERT INTO t VALUES (%d, repeat('x', %d))`, i+1, 100+i%50)
	}
	e.exec(t, stmts...) // one transaction each
	second := newCapture()
	startTask(t, props, stored, second)
	recs := second.waitFor(t, n, isData("dbserver1"))
	second.mu.Lock()
	writes := second.writes
	second.mu.Unlock()
	// How many transactions share a Write depends on how far the server
	// is ahead of the reader (1 to n seen): logged, not asserted.
	t.Logf("%d transactions in %d Writes", n, writes)
	var prevLSN, prevCommit int64
	for i, r := range recs {
		id := r.Value.(*connect.StructValue).Get("after").(*connect.StructValue).Get("id")
		if id != int32(i+1) {
			t.Fatalf("record %d has id %v, want %d", i, id, i+1)
		}
		lsn, _ := r.SourceOffset[keyLSN].(int64)
		commit, _ := r.SourceOffset[keyLSNCommit].(int64)
		// Each record is its own transaction's: lsn and lsn_commit (the
		// commit before it) both move on with every record.
		if r.SourceOffset[keyMessageType] != "INSERT" || lsn <= prevLSN || commit > lsn || commit <= prevCommit {
			t.Fatalf("record %d offset %v after lsn %d, lsn_commit %d: want an INSERT's, lsn and lsn_commit increasing, lsn_commit <= lsn", i, r.SourceOffset, prevLSN, prevCommit)
		}
		prevLSN, prevCommit = lsn, commit
	}
	e.exec(t, `INSERT INTO t VALUES (1000, 'after')`)
	second.waitFor(t, n+1, isData("dbserver1"))
}
