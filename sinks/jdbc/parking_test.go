package jdbc

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testdb"
)

// appliedLog wraps the sink task and records, per topic, the Kafka
// offsets of the records of every Put that succeeded, in order.
type appliedLog struct {
	inner connect.SinkTask
	mu    sync.Mutex
	offs  map[string][]int64
}

func (a *appliedLog) Put(ctx context.Context, recs []*connect.Record) error {
	if err := a.inner.Put(ctx, recs); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range recs {
		a.offs[r.Topic] = append(a.offs[r.Topic], r.KafkaOffset)
	}
	return nil
}

func (a *appliedLog) Close() error { return nil }

func (a *appliedLog) offsets(topic string) []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]int64(nil), a.offs[topic]...)
}

// TestSinkParking: three PostgreSQL tables stream through the PostgreSQL
// connector and Kafka into a PostgreSQL target (schema.evolution=basic).
// t3's column v changes from int to text at the source, which basic does
// not apply to the target's integer column: t3's partition is parked
// (PAUSED_SCHEMA, offset committed up to the first record with the text
// value) while t1 and t2 keep delivering, measured over a window. A resume
// before the target is fixed parks it again; after ALTER TABLE on the
// target a resume applies everything: each of t3's Kafka offsets is
// applied exactly once, in order, and the three target tables equal the
// source tables.
func TestSinkParking(t *testing.T) {
	ctx := context.Background()
	c := startKafka(t)
	src := testdb.StartPostgres(t)
	src.CreateDatabase(t, "app")
	for _, tb := range []string{"t1", "t2", "t3"} {
		src.Exec(t, "app", fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, v int)", tb))
	}
	conn, err := pgx.Connect(ctx, src.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	startSource(t, c, postgres.Plugin(), map[string]string{
		"database.hostname": src.Host, "database.port": fmt.Sprint(src.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pk", "plugin.name": "pgoutput", "slot.name": "park",
	})
	// Writes before the slot exists would be read by the snapshot,
	// several changes of a row as one.
	waitUntil(t, "the replication slot", func() bool {
		var n int
		return conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'park'").Scan(&n) == nil && n == 1
	})
	db := startPostgresTarget(t)
	props := baseProps(db.url, "pk.public.t1,pk.public.t2,pk.public.t3", "${source.table}", "batch.size", "20", "consumer.max.poll.records", "20")
	var maxParked atomic.Int64
	parking := sinkrunner.NewParking(func(partitions, held int) {
		if int64(partitions) > maxParked.Load() {
			maxParked.Store(int64(partitions))
		}
	})
	var applied *appliedLog
	s := startSinkParking(t, c, "park", sinkProps(t, props), func(task connect.SinkTask, _ context.CancelFunc) connect.SinkTask {
		applied = &appliedLog{inner: task, offs: map[string][]int64{}}
		return applied
	}, parking)

	// The writer inserts into the three tables in turn; t3 also updates
	// row 0 every time, so that a reordering would leave another value.
	var (
		next    = 1
		textual bool
	)
	write := func(rounds int) {
		t.Helper()
		for i := 0; i < rounds; i++ {
			for _, tb := range []string{"t1", "t2"} {
				if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO %s VALUES ($1, $1)", tb), next); err != nil {
					t.Fatal(err)
				}
			}
			// a statement of its own once v is text: pgx caches the
			// parameter types of the int one
			q, v := "INSERT INTO t3 VALUES ($1, $2), (0, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v", any(next)
			if textual {
				q, v = "INSERT INTO t3 VALUES ($1, $2::text), (0, $2::text) ON CONFLICT (id) DO UPDATE SET v = excluded.v", fmt.Sprintf("x%d", next)
			}
			if _, err := conn.Exec(ctx, q, next, v); err != nil {
				t.Fatal(err)
			}
			next++
			time.Sleep(5 * time.Millisecond)
		}
	}
	count := func(tb string) int {
		t.Helper()
		var n int
		if err := db.q.(pgQuerier).conn.QueryRow(ctx, "SELECT count(*) FROM "+tb).Scan(&n); err != nil {
			return -1 // not created yet
		}
		return n
	}
	write(30)
	waitUntil(t, "the three tables delivered", func() bool { return count("t1") == 30 && count("t2") == 30 && count("t3") == 31 })

	src.Exec(t, "app", "ALTER TABLE t3 ALTER COLUMN v TYPE text USING v::text")
	textual = true
	write(30)
	waitUntil(t, "t3 parked", func() bool { return len(parking.Partitions()) == 1 })
	pp := parking.Partitions()[0]
	t.Logf("parked: table=%s topic=%s partition=%d offset=%d held=%d reason=%s", pp.Table, pp.Topic, pp.Partition, pp.Offset, pp.Held, pp.Reason)
	if pp.Table != "t3" || pp.Topic != "pk.public.t3" || pp.Partition != 0 {
		t.Errorf("parked %+v, want table t3, topic pk.public.t3, partition 0", pp)
	}
	// 30 rounds of two t3 changes before the type change; the first
	// record with a text value is the next one.
	if pp.Offset != 60 {
		t.Errorf("parked at offset %d, want 60 (the first record after the type change)", pp.Offset)
	}
	waitUntil(t, "t3's offset committed up to the parked record", func() bool {
		return committedOffset(t, c, "connect-park", "pk.public.t3") == pp.Offset
	})

	// The other two tables keep flowing while t3 is parked.
	waitUntil(t, "t1 and t2 caught up", func() bool { return count("t1") == 60 && count("t2") == 60 })
	start, t3Before := time.Now(), count("t3")
	write(100)
	waitUntil(t, "t1 and t2 delivered while t3 is parked", func() bool { return count("t1") == 160 && count("t2") == 160 })
	took := time.Since(start)
	t.Logf("while t3 was parked, t1 and t2 delivered 200 rows in %v (%.0f rows/s)", took, 200/took.Seconds())
	if n := count("t3"); n != t3Before || n != 31 {
		t.Errorf("t3 has %d rows while parked, want 31", n)
	}
	if committedOffset(t, c, "connect-park", "pk.public.t3") != pp.Offset {
		t.Errorf("t3's committed offset moved while parked")
	}

	// Resumed before the target is fixed: parked again.
	if err := parking.Resume("t3"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "t3 parked again", func() bool {
		ps := parking.Partitions()
		return len(ps) == 1 && ps[0].Since.After(pp.Since)
	})
	if err := parking.Resume("nothing"); err == nil {
		t.Error("resuming a table that is not parked succeeded")
	}

	db.exec(t, "ALTER TABLE t3 ALTER COLUMN v TYPE text")
	// partition-level resume: "<topic>-<partition>"
	if err := parking.Resume("pk.public.t3-0"); err != nil {
		t.Fatal(err)
	}
	write(20)
	waitTopic(t, c, s, "pk.public.t3")
	if n := len(parking.Partitions()); n != 0 {
		t.Errorf("%d partitions still parked", n)
	}
	if maxParked.Load() != 1 {
		t.Errorf("metric hook saw at most %d parked partitions, want 1", maxParked.Load())
	}

	offs := applied.offsets("pk.public.t3")
	for i, o := range offs {
		if o != int64(i) {
			t.Fatalf("t3's records applied out of order or more than once: position %d holds offset %d (applied %d records)", i, o, len(offs))
		}
	}
	t.Logf("t3: %d records applied, offsets 0..%d each once, in order", len(offs), len(offs)-1)
	for _, tb := range []string{"t1", "t2", "t3"} {
		q := "SELECT string_agg(id || '=' || v::text, ',' ORDER BY id) FROM " + tb
		var want, got string
		if err := conn.QueryRow(ctx, q).Scan(&want); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, tb+" equal at the target", func() bool {
			err := db.q.(pgQuerier).conn.QueryRow(ctx, q).Scan(&got)
			return err == nil && got == want
		})
	}
	var last string
	if err := db.q.(pgQuerier).conn.QueryRow(ctx, "SELECT v FROM t3 WHERE id = 0").Scan(&last); err != nil || last != fmt.Sprintf("x%d", next-1) {
		t.Errorf("t3 row 0 = %q (%v), want x%d (the last update)", last, err, next-1)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSinkParkingDDLRefused: the target refuses the sink's own DDL. t2's
// v widens from int to bigint at the source, which basic applies with
// ALTER TABLE ... TYPE bigint; a view on the target's t2.v makes
// PostgreSQL refuse it. t2's partition is parked with the database's
// error while t1 flows; once the view is dropped, a resume by table
// widens the column and delivers the rest, the values above 2^31 included.
func TestSinkParkingDDLRefused(t *testing.T) {
	ctx := context.Background()
	c := startKafka(t)
	src := testdb.StartPostgres(t)
	src.CreateDatabase(t, "app")
	src.Exec(t, "app", "CREATE TABLE t1 (id int PRIMARY KEY, v int)", "CREATE TABLE t2 (id int PRIMARY KEY, v int)")
	conn, err := pgx.Connect(ctx, src.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	startSource(t, c, postgres.Plugin(), map[string]string{
		"database.hostname": src.Host, "database.port": fmt.Sprint(src.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pk", "plugin.name": "pgoutput", "slot.name": "parkddl",
	})
	waitUntil(t, "the replication slot", func() bool {
		var n int
		return conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'parkddl'").Scan(&n) == nil && n == 1
	})
	db := startPostgresTarget(t)
	parking := sinkrunner.NewParking(nil)
	startSinkParking(t, c, "parkddl", sinkProps(t, baseProps(db.url, "pk.public.t1,pk.public.t2", "${source.table}")), nil, parking)
	tconn := db.q.(pgQuerier).conn
	table := func(db *pgx.Conn, tb string) string {
		var out string
		if err := db.QueryRow(ctx, "SELECT coalesce(string_agg(id || '=' || v::text, ',' ORDER BY id), '') FROM "+tb).Scan(&out); err != nil {
			return "error: " + err.Error()
		}
		return out
	}
	next := 1
	// t2's values pass 2^32 once its column is bigint
	write := func(rounds int, big bool) {
		t.Helper()
		for i := 0; i < rounds; i++ {
			v := int64(next)
			if big {
				v += 1 << 32
			}
			if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO t1 VALUES (%d, %d)", next, next)); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, fmt.Sprintf("INSERT INTO t2 VALUES (%d, %d)", next, v)); err != nil {
				t.Fatal(err)
			}
			next++
		}
	}
	write(10, false)
	waitUntil(t, "both tables at the target", func() bool {
		return table(tconn, "t1") == table(conn, "t1") && table(tconn, "t2") == table(conn, "t2")
	})
	db.exec(t, "CREATE VIEW t2_v AS SELECT v FROM t2")
	if _, err := conn.Exec(ctx, "ALTER TABLE t2 ALTER COLUMN v TYPE bigint"); err != nil {
		t.Fatal(err)
	}
	write(10, true)
	waitUntil(t, "t2 parked", func() bool { return len(parking.Partitions()) == 1 })
	pp := parking.Partitions()[0]
	t.Logf("parked: %+v", pp)
	if pp.Table != "t2" || pp.Topic != "pk.public.t2" || pp.Offset != 10 || !strings.Contains(pp.Reason, "the database refused the DDL: ALTER TABLE") || !strings.Contains(pp.Reason, "view") {
		t.Errorf("parked %+v, want t2 at offset 10, the ALTER refused because of the view", pp)
	}
	waitUntil(t, "t1 flowing while t2 is parked", func() bool { return table(tconn, "t1") == table(conn, "t1") })
	db.exec(t, "DROP VIEW t2_v")
	if err := parking.Resume("t2"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "t2 equal at the target", func() bool { return table(tconn, "t2") == table(conn, "t2") })
	var typ string
	if err := tconn.QueryRow(ctx, "SELECT data_type FROM information_schema.columns WHERE table_name = 't2' AND column_name = 'v'").Scan(&typ); err != nil || typ != "bigint" {
		t.Errorf("target t2.v is %q (%v), want bigint", typ, err)
	}
}
