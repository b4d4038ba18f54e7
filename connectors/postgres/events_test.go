package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

func TestSchemaChangeMidStream(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)`)
	r := startTask(t, e.props(), nil, nil)
	waitSlotActive(t, e)
	// Column optionality and defaults are read from the catalog when a
	// relation message arrives (as Debezium does), so each step waits for
	// its event before the next DDL to keep the result deterministic.
	steps := [][]string{
		{`INSERT INTO items VALUES (1, 'one')`},
		{`ALTER TABLE items ADD COLUMN price numeric(8,2) DEFAULT 9.99`, `INSERT INTO items VALUES (2, 'two', 1.25)`},
		{`ALTER TABLE items DROP COLUMN name`, `INSERT INTO items VALUES (3, 3.5)`},
		{`ALTER TABLE items ALTER COLUMN price TYPE numeric(10,3)`, `UPDATE items SET price = 4.125 WHERE id = 3`},
	}
	var recs []*connect.Record
	for i, st := range steps {
		e.exec(t, st...)
		recs = r.cap.waitFor(t, i+1, isData("dbserver1"))
	}
	checkGolden(t, "schema-change.txt", renderRecords(t, recs))
	fields := func(rec *connect.Record) string {
		var names []string
		for _, f := range rec.ValueSchema.Field("after").Schema.Fields {
			names = append(names, f.Name)
		}
		return strings.Join(names, ",")
	}
	for i, want := range []string{"id,name", "id,name,price", "id,price", "id,price"} {
		if got := fields(recs[i]); got != want {
			t.Errorf("event %d has columns %s, want %s", i, got, want)
		}
	}
}

// TestRestartResume stops the task after some events of a transaction
// were acknowledged and restarts it from the stored offset: every change
// arrives, none that was acknowledged arrives twice.
func TestRestartResume(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY, v text)`)
	cap1 := newCapture()
	r := startTask(t, e.props(), nil, cap1)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (1, 'a')`, `INSERT INTO t VALUES (2, 'b')`,
		`BEGIN; INSERT INTO t VALUES (3, 'c'); INSERT INTO t VALUES (4, 'd'); INSERT INTO t VALUES (5, 'e'); COMMIT`)
	first := cap1.waitFor(t, 5, isData("dbserver1"))
	_ = r.stop(t)

	// Pretend Kafka acknowledged only up to the 4th event (in the middle
	// of the 3-row transaction), as after a crash.
	stored := first[3].SourceOffset
	if stored["lsn_proc"] == nil || stored["txId"] == nil {
		t.Fatalf("offset lacks lsn_proc/txId: %v", stored)
	}
	e.exec(t, `INSERT INTO t VALUES (6, 'f')`)
	cap2 := newCapture()
	r2 := startTask(t, e.props(), stored, cap2)
	cap2.waitFor(t, 2, isData("dbserver1"))
	time.Sleep(2 * time.Second) // a duplicate would arrive now
	got := cap2.waitFor(t, 0, isData("dbserver1"))
	var ids []string
	for _, rec := range got {
		ids = append(ids, fmt.Sprint(rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue).Get("id")))
	}
	if strings.Join(ids, ",") != "5,6" {
		t.Fatalf("after restart got ids %v, want 5,6 (4 was acknowledged, 5 was not)", ids)
	}

	// Restart again from a commit offset: nothing is repeated.
	_ = r2.stop(t)
	cap3 := newCapture()
	startTask(t, e.props(), got[len(got)-1].SourceOffset, cap3)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (7, 'g')`)
	cap3.waitFor(t, 1, isData("dbserver1"))
	time.Sleep(time.Second) // a duplicate would arrive now
	got3 := cap3.waitFor(t, 0, isData("dbserver1"))
	if len(got3) != 1 || got3[0].Value.(*connect.StructValue).Get("after").(*connect.StructValue).Get("id") != int32(7) {
		t.Fatalf("after second restart got %d events: %s", len(got3), renderRecords(t, got3))
	}
}

// TestSlotConfirmedOnlyAfterCommit checks that the slot's confirmed
// position follows OffsetsCommitted and nothing else.
func TestSlotConfirmedOnlyAfterCommit(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY)`)
	cap := newCapture()
	cap.commit = false
	r := startTask(t, e.props("status.update.interval.ms", "200"), nil, cap)
	waitSlotActive(t, e)
	before := slotConfirmed(t, e)
	e.exec(t, `INSERT INTO t VALUES (1)`, `INSERT INTO t VALUES (2)`)
	recs := cap.waitFor(t, 2, isData("dbserver1"))
	time.Sleep(time.Second)
	if got := slotConfirmed(t, e); got != before {
		t.Fatalf("slot confirmed %s before any offset was committed (was %s)", got, before)
	}
	// The second event's offset carries the first transaction's commit.
	if err := r.task.OffsetsCommitted(context.Background(), r.task.partition, recs[1].SourceOffset); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(recs[1].SourceOffset["lsn_commit"])
	if want == "<nil>" {
		t.Fatalf("second event's offset lacks lsn_commit: %v", recs[1].SourceOffset)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := slotConfirmed(t, e)
		if lsnNum(t, got) >= lsnNum(t, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot confirmed %s, want %s after commit", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func slotConfirmed(t *testing.T, e *env) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var s string
	if err := conn.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name='debezium'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func lsnNum(t *testing.T, s string) uint64 {
	t.Helper()
	var hi, lo uint64
	if strings.Contains(s, "/") {
		if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
			t.Fatal(err)
		}
		return hi<<32 | lo
	}
	var n uint64
	fmt.Sscan(s, &n)
	return n
}

func TestHeartbeats(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE captured (id int PRIMARY KEY)`, `CREATE TABLE ignored (id int PRIMARY KEY)`,
		`CREATE TABLE hb (id int PRIMARY KEY, ts timestamptz)`, `INSERT INTO hb VALUES (1, now())`)
	cap := newCapture()
	startTask(t, e.props("table.include.list", "public.captured", "heartbeat.interval.ms", "300",
		"heartbeat.action.query", "UPDATE hb SET ts = now() WHERE id = 1", "status.update.interval.ms", "300"), nil, cap)
	waitSlotActive(t, e)
	start := slotConfirmed(t, e)
	e.exec(t, `INSERT INTO ignored VALUES (1)`)
	hbs := cap.waitFor(t, 3, onTopicPrefix("__debezium-heartbeat.dbserver1"))
	rendered := renderRecords(t, hbs[:1])
	if !strings.Contains(rendered, `"name":"io.debezium.connector.common.Heartbeat"`) || !strings.Contains(rendered, `"serverName":"dbserver1"`) {
		t.Fatalf("heartbeat record: %s", rendered)
	}
	if hbs[0].Partition != 0 {
		t.Fatalf("heartbeats go to partition 0, got %d", hbs[0].Partition)
	}
	// Only filtered changes (and the action query's own updates) happened:
	// the heartbeats' offsets still move the slot forward.
	deadline := time.Now().Add(20 * time.Second)
	for lsnNum(t, slotConfirmed(t, e)) <= lsnNum(t, start) {
		if time.Now().After(deadline) {
			t.Fatalf("slot did not advance from %s with heartbeats only", start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var ts time.Time
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), "SELECT ts FROM hb WHERE id = 1").Scan(&ts); err != nil {
		t.Fatal(err)
	}
	if time.Since(ts) > 5*time.Second {
		t.Fatalf("heartbeat.action.query did not run (ts=%v)", ts)
	}
}

func TestTransactionMetadata(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE a (id int PRIMARY KEY)`, `CREATE TABLE b (id int PRIMARY KEY)`)
	cap := newCapture()
	startTask(t, e.props("provide.transaction.metadata", "true"), nil, cap)
	waitSlotActive(t, e)
	e.exec(t, `BEGIN; INSERT INTO a VALUES (1); INSERT INTO b VALUES (1); INSERT INTO a VALUES (2); SELECT pg_logical_emit_message(true, 'audit', 'hello'); COMMIT`,
		`SELECT pg_logical_emit_message(false, 'nontx', 'x')`)
	recs := cap.waitFor(t, 7, func(r *connect.Record) bool { return !strings.HasPrefix(r.Topic, "__debezium") })
	checkGolden(t, "transaction-metadata.txt", renderRecords(t, recs))
	var topics []string
	for _, r := range recs {
		topics = append(topics, r.Topic)
	}
	want := "dbserver1.transaction,dbserver1.public.a,dbserver1.public.b,dbserver1.public.a,dbserver1.message,dbserver1.transaction,dbserver1.message"
	if got := strings.Join(topics, ","); got != want {
		t.Fatalf("topics %s, want %s", got, want)
	}
	end := recs[5].Value.(*connect.StructValue)
	if end.Get("status") != "END" || end.Get("event_count") != int64(4) {
		t.Fatalf("END event: %v", end.Values)
	}
}

func TestToastPlaceholder(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE docs (id int PRIMARY KEY, counter int, body text, data bytea, tags text[], ints int[], full_body text)`,
		`ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL`,
		`ALTER TABLE docs ALTER COLUMN data SET STORAGE EXTERNAL`,
		`ALTER TABLE docs ALTER COLUMN tags SET STORAGE EXTERNAL`,
		`ALTER TABLE docs ALTER COLUMN ints SET STORAGE EXTERNAL`,
		`INSERT INTO docs SELECT 1, 0, repeat('x', 10000), decode(repeat('ab', 10000), 'hex'), array_fill('t'::text, ARRAY[3000]), array_fill(7, ARRAY[3000]), 'small'`)
	cap := newCapture()
	startTask(t, e.props("snapshot.mode", "no_data"), nil, cap)
	waitSlotActive(t, e)
	e.exec(t, `UPDATE docs SET counter = 1 WHERE id = 1`)
	rec := cap.waitFor(t, 1, isData("dbserver1"))[0]
	after := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
	if after.Get("body") != "__debezium_unavailable_value" {
		t.Errorf("body = %v", after.Get("body"))
	}
	if string(after.Get("data").([]byte)) != "__debezium_unavailable_value" {
		t.Errorf("data = %v", after.Get("data"))
	}
	if tags := after.Get("tags").([]any); len(tags) != 1 || tags[0] != "__debezium_unavailable_value" {
		t.Errorf("tags = %v", after.Get("tags"))
	}
	if ints := after.Get("ints").([]any); len(ints) != len("__debezium_unavailable_value") || ints[0] != int32('_') {
		t.Errorf("ints = %v", after.Get("ints"))
	}
	if after.Get("full_body") != "small" {
		t.Errorf("full_body = %v", after.Get("full_body"))
	}
	// With REPLICA IDENTITY FULL the old tuple carries the value.
	e.exec(t, `ALTER TABLE docs REPLICA IDENTITY FULL`, `UPDATE docs SET counter = 2 WHERE id = 1`)
	rec = cap.waitFor(t, 2, isData("dbserver1"))[1]
	after = rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
	if len(after.Get("body").(string)) != 10000 {
		t.Errorf("with REPLICA IDENTITY FULL body should come from the old tuple, got %d chars", len(after.Get("body").(string)))
	}
}

func TestLogicalDecodingMessage(t *testing.T) {
	e := newEnv(t)
	cap := newCapture()
	startTask(t, e.props("snapshot.mode", "no_data", "message.prefix.exclude.list", "skip.*"), nil, cap)
	waitSlotActive(t, e)
	e.exec(t, `SELECT pg_logical_emit_message(false, 'skipme', 'x')`, `SELECT pg_logical_emit_message(false, 'foo', 'bar')`)
	cap.waitFor(t, 1, onTopicPrefix("dbserver1.message"))
	time.Sleep(500 * time.Millisecond) // an excluded message would arrive now
	recs := cap.waitFor(t, 1, onTopicPrefix("dbserver1.message"))
	if len(recs) != 1 {
		t.Fatalf("message.prefix.exclude.list not applied: %d messages", len(recs))
	}
	checkGolden(t, "message.txt", renderRecords(t, recs))
}

func TestBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"unknown property", map[string]string{"slot.stream.params": "x"}, "slot.stream.params"},
		{"decoderbufs", map[string]string{"plugin.name": "decoderbufs"}, "only the pgoutput"},
		{"bad snapshot mode", map[string]string{"snapshot.mode": "schema_only_recovery"}, "snapshot.mode"},
		{"bad slot name", map[string]string{"slot.name": "Bad-Name"}, "slot.name"},
		{"bad autocreate", map[string]string{"publication.autocreate.mode": "some"}, "publication.autocreate.mode"},
		{"missing dbname", map[string]string{"database.dbname": ""}, "database.dbname"},
		{"both lists", map[string]string{"table.include.list": "a", "table.exclude.list": "b"}, "cannot both be set"},
		{"both schema lists", map[string]string{"schema.include.list": "a", "schema.exclude.list": "b"}, "schema.include.list and schema.exclude.list cannot both be set"},
		{"bad schema regex", map[string]string{"schema.include.list": "a("}, "schema.include.list"},
		{"masking", map[string]string{"column.mask.with.5.chars": "public.t.ssn"}, "masking"},
		{"bad key columns", map[string]string{"message.key.columns": "public.t"}, "message.key.columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := map[string]string{"database.hostname": "127.0.0.1", "database.user": "u", "database.dbname": "d", "topic.prefix": "x"}
			for k, v := range tc.props {
				if v == "" {
					delete(p, k)
				} else {
					p[k] = v
				}
			}
			vals, err := Def().Parse(p)
			if err == nil {
				_, err = newTask(vals, connect.TaskContext{})
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	// never is accepted as no_data
	vals, err := Def().Parse(map[string]string{"database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "x", "snapshot.mode": "never"})
	if err != nil {
		t.Fatal(err)
	}
	task, err := newTask(vals, connect.TaskContext{})
	if err != nil || task.cfg.snapshotMode != "no_data" {
		t.Fatalf("snapshot.mode=never: %v %v", err, task)
	}
}

func TestValidateAndBrokenConnection(t *testing.T) {
	e := newEnv(t)
	p := Plugin()
	vals, err := p.Config().Parse(e.props())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(context.Background(), vals); err != nil {
		t.Fatalf("validate against a logical server: %v", err)
	}
	e.exec(t, `CREATE ROLE plain LOGIN`)
	vals, _ = p.Config().Parse(e.props("database.user", "plain"))
	if err := p.Validate(context.Background(), vals); err == nil || !strings.Contains(err.Error(), "REPLICATION") {
		t.Fatalf("validate without replication privilege: %v", err)
	}
	vals, _ = p.Config().Parse(e.props("database.port", "1"))
	if err := p.Validate(context.Background(), vals); err == nil || !strings.Contains(err.Error(), "cannot connect") {
		t.Fatalf("validate against a closed port: %v", err)
	}

	// A server going away mid-stream ends the task with an error naming the slot.
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY)`)
	r := startTask(t, e.props(), nil, nil)
	waitSlotActive(t, e)
	e.pg.Stop(t)
	select {
	case err := <-r.done:
		r.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "slot") {
			t.Fatalf("task ended with %v, want an error about the replication stream", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("task did not notice the server stopped")
	}
	e.pg.Start(t)
}

func TestUnsupportedValueFailsClearly(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE n (id int PRIMARY KEY, v numeric)`, `INSERT INTO n VALUES (1, 'NaN')`)
	r := startTask(t, e.props(), nil, nil)
	select {
	case err := <-r.done:
		r.cancel = nil
		if err == nil || !strings.Contains(err.Error(), "column v") || !strings.Contains(err.Error(), "decimal.handling.mode") {
			t.Fatalf("error %v, want one naming the column and decimal.handling.mode", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("task did not fail")
	}
	var fe config.Errors
	_ = errors.As(nil, &fe)
}

func slotExists(t *testing.T, e *env) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_replication_slots WHERE slot_name='debezium'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestSnapshotModes(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id int PRIMARY KEY)`, `INSERT INTO t VALUES (1), (2)`)

	// initial_only: snapshot, then the task ends without creating a slot.
	r := startTask(t, e.props("snapshot.mode", "initial_only"), nil, nil)
	select {
	case err := <-r.done:
		r.cancel = nil
		if err != nil {
			t.Fatalf("initial_only: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("initial_only did not finish")
	}
	if n := len(r.cap.waitFor(t, 2, isData("dbserver1"))); n != 2 || slotExists(t, e) {
		t.Fatalf("initial_only: %d records, slot exists %v", n, slotExists(t, e))
	}

	// no_data: nothing read, changes streamed; slot.drop.on.stop removes the slot.
	r = startTask(t, e.props("snapshot.mode", "no_data", "slot.drop.on.stop", "true"), nil, nil)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (3)`)
	recs := r.cap.waitFor(t, 1, isData("dbserver1"))
	if len(recs) != 1 || recs[0].Value.(*connect.StructValue).Get("op") != "c" {
		t.Fatalf("no_data: %s", renderRecords(t, recs))
	}
	stored := recs[0].SourceOffset
	_ = r.stop(t)
	if slotExists(t, e) {
		t.Fatal("slot.drop.on.stop=true left the slot")
	}

	// when_needed: the slot is gone, so a stored offset is not enough: snapshot again.
	r = startTask(t, e.props("snapshot.mode", "when_needed"), stored, nil)
	if n := len(r.cap.waitFor(t, 3, isData("dbserver1"))); n != 3 {
		t.Fatalf("when_needed re-snapshot: %d records", n)
	}
	waitSlotActive(t, e)
	stored = r.cap.records()[len(r.cap.records())-1].SourceOffset
	_ = r.stop(t)

	// initial with a completed snapshot: no snapshot, streaming resumes.
	r = startTask(t, e.props(), stored, nil)
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (4)`)
	recs = r.cap.waitFor(t, 1, isData("dbserver1"))
	if len(recs) != 1 || recs[0].Value.(*connect.StructValue).Get("op") != "c" {
		t.Fatalf("initial after completed snapshot: %s", renderRecords(t, recs))
	}
	_ = r.stop(t)

	// always: snapshot on every start, even with an offset.
	r = startTask(t, e.props("snapshot.mode", "always"), stored, nil)
	if n := len(r.cap.waitFor(t, 4, isData("dbserver1"))); n != 4 {
		t.Fatalf("always: %d records", n)
	}
}

// slowWriter blocks its first Write for a while, as the runtime does under
// back-pressure.
type slowWriter struct {
	*capture
	delay time.Duration
	once  bool
}

func (s *slowWriter) Write(ctx context.Context, recs []*connect.Record) error {
	if !s.once {
		s.once = true
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.capture.Write(ctx, recs)
}

// TestBackPressureKeepsConnection blocks the writer for longer than the
// server's wal_sender_timeout: keep-alive status updates must keep the
// replication connection open.
func TestBackPressureKeepsConnection(t *testing.T) {
	e := newEnv(t)
	e.db = "postgres"
	e.exec(t, `ALTER SYSTEM SET wal_sender_timeout = '1s'`, `SELECT pg_reload_conf()`, `CREATE TABLE t (id int PRIMARY KEY)`)
	vals, err := Def().Parse(e.props("snapshot.mode", "no_data", "status.update.interval.ms", "500"))
	if err != nil {
		t.Fatal(err)
	}
	task, err := newTask(vals, connect.TaskContext{Offsets: memOffsets{}})
	if err != nil {
		t.Fatal(err)
	}
	cap := newCapture()
	cap.task = task
	w := &slowWriter{capture: cap, delay: 3 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- task.Run(ctx, w) }()
	waitSlotActive(t, e)
	e.exec(t, `INSERT INTO t VALUES (1)`)
	time.Sleep(4 * time.Second)
	e.exec(t, `INSERT INTO t VALUES (2)`)
	cap.waitFor(t, 2, isData("dbserver1"))
	select {
	case err := <-done:
		t.Fatalf("task ended during back-pressure: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestResumeAfterPartialKeyChange: a key-changing update is a delete and a
// create; if only the delete was acknowledged, the restart must still
// deliver the create.
func TestResumeAfterPartialKeyChange(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE k (id int PRIMARY KEY, v text)`, `INSERT INTO k VALUES (1, 'a')`)
	cap1 := newCapture()
	r := startTask(t, e.props("snapshot.mode", "no_data"), nil, cap1)
	waitSlotActive(t, e)
	e.exec(t, `UPDATE k SET id = 2 WHERE id = 1`)
	recs := cap1.waitFor(t, 3, isData("dbserver1")) // delete, tombstone, create
	_ = r.stop(t)
	cap2 := newCapture()
	startTask(t, e.props("snapshot.mode", "no_data"), recs[1].SourceOffset, cap2) // tombstone acknowledged, create not
	got := cap2.waitFor(t, 3, isData("dbserver1"))
	last := got[len(got)-1].Value.(*connect.StructValue)
	if last.Get("op") != "c" || last.Get("after").(*connect.StructValue).Get("id") != int32(2) {
		t.Fatalf("create of the new key not redelivered: %s", renderRecords(t, got))
	}
}
