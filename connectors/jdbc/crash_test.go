package jdbc

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/testdb"
)

// The crash test runs the JDBC source through the real runtime in a child
// process (this test binary, TestJDBCCrashChild) producing to an embedded
// Kafka broker in the parent, with offsets in a file store, and kills the
// child with SIGKILL at random points of its first full poll of a
// pre-filled table (read in small pages) and of the polls after it, while
// a workload keeps inserting rows and updating existing ones (each update
// bumps the row's version and its timestamp, through clock_timestamp() or
// the transaction's now()). After the workload stops and a last child
// catches up, the topic must hold, for every row, its final version as
// the key's last event (no change lost; incrementing mode sees inserts
// only, so there every row must be present), and a key's versions must
// never go backwards in topic order. Re-delivered events are allowed
// (at-least-once, as Kafka Connect) and counted.
//
// Disabling both guards on PostgreSQL (visibility.horizon=none,
// timestamp.delay.interval.ms=0) makes this test lose rows from the slow
// writer: it does catch the races a query-based source is exposed to.
//
// TRIBUTARY_LONG_TESTS=1 runs 20 kill iterations per case instead of 3.

const jdbcCrashChildEnv = "TRIBUTARY_JDBC_CRASH_CHILD"

type jdbcCrashChildConfig struct {
	Brokers     []string          `json:"brokers"`
	OffsetsFile string            `json:"offsets_file"`
	Name        string            `json:"name"`
	Props       map[string]string `json:"props"`
}

// TestJDBCCrashChild is the child process of TestCrashRecovery; it skips
// when run directly.
func TestJDBCCrashChild(t *testing.T) {
	var cc jdbcCrashChildConfig
	crashtest.ChildConfig(t, jdbcCrashChildEnv, &cc)
	crashtest.RunSource(t, crashtest.Source{Brokers: cc.Brokers, Plugin: Plugin(), Name: cc.Name, Props: cc.Props, OffsetsFile: cc.OffsetsFile})
}

// crashCase is one database and mode under the crash test.
type crashCase struct {
	name string
	e    *env
	mode string
	// inserters is the number of concurrent inserting sessions. Incrementing
	// mode gets one: with several, a higher id can commit before a lower
	// one, which incrementing mode loses by design (Confluent's too).
	inserters int
	// slowInserts lets the slow writer insert too. Not for incrementing mode
	// on MariaDB: nothing there keeps a higher id committed first from
	// overtaking a lower one still open.
	slowInserts bool
	// delay is timestamp.delay.interval.ms. On PostgreSQL the xmin horizon
	// covers transactions, and the delay covers only the documented
	// microseconds between a statement evaluating now()/clock_timestamp()
	// and its transaction getting an ID; MariaDB has nothing but the
	// delay, which must outlast statement start to commit.
	delay string
}

const (
	crashPrefill   = 5000 // rows before the first poll
	crashBatchRows = 20   // batch.max.rows: the first poll is 250+ pages
)

func TestCrashRecovery(t *testing.T) {
	iterations := crashtest.Iterations()
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	// The databases run side by side: the test mostly waits (for kills,
	// delays and catching up), so this halves its time.
	for gi, name := range []string{"postgres", "mariadb"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := &env{name: name}
			delay := "500"
			if name == "postgres" {
				e.pg = testdb.StartPostgres(t)
			} else {
				e.my = testdb.StartMariaDB(t)
				delay = "2000"
			}
			for mi, c := range []crashCase{
				{name: "timestamp+incrementing", e: e, mode: "timestamp+incrementing", inserters: 2, slowInserts: true, delay: delay},
				{name: "incrementing", e: e, mode: "incrementing", inserters: 1, slowInserts: e.pg != nil, delay: delay},
			} {
				t.Run(c.name, func(t *testing.T) { runCrashCase(t, c, broker.Addrs(), gi*10+mi, iterations) })
			}
		})
	}
}

// crashConn is one workload session.
type crashConn interface {
	exec(ctx context.Context, sql string) error
	ints(ctx context.Context, sql string) ([]int64, error)
	close()
}

type pgCrashConn struct{ c *pgx.Conn }

func (p pgCrashConn) exec(ctx context.Context, q string) error {
	_, err := p.c.Exec(ctx, q)
	return err
}

func (p pgCrashConn) ints(ctx context.Context, q string) ([]int64, error) {
	rows, err := p.c.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (p pgCrashConn) close() { p.c.Close(context.Background()) }

type myCrashConn struct {
	db *sql.DB
	c  *sql.Conn
}

func (m myCrashConn) exec(ctx context.Context, q string) error {
	_, err := m.c.ExecContext(ctx, q)
	return err
}

func (m myCrashConn) ints(ctx context.Context, q string) ([]int64, error) {
	rows, err := m.c.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (m myCrashConn) close() { m.c.Close(); m.db.Close() }

func (e *env) crashConn(t *testing.T, db string) crashConn {
	t.Helper()
	ctx := context.Background()
	if e.pg != nil {
		c, err := pgx.Connect(ctx, e.pg.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		return pgCrashConn{c}
	}
	d, err := sql.Open("mysql", e.my.DSN(db))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return myCrashConn{d, c}
}

// lockConflict reports a deadlock or lock timeout: the workload rolls the
// transaction back and goes on, since the final state is read from the
// table.
func lockConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "55P03"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	return false
}

// crashPos is a position in the table's read order: (timestamp, id) in
// timestamp+incrementing mode, id alone in incrementing mode.
type crashPos struct {
	tsMicros int64
	id       int64
}

func (p crashPos) atOrAfter(o crashPos) bool {
	if p.tsMicros != o.tsMicros {
		return p.tsMicros > o.tsMicros
	}
	return p.id >= o.id
}

func runCrashCase(t *testing.T, c crashCase, brokers []string, seq, iterations int) {
	e := c.e
	db := e.newDB(t)
	ti := c.mode == "timestamp+incrementing"
	ctx := context.Background()
	if e.pg != nil {
		e.exec(t, db, fmt.Sprintf(`ALTER DATABASE %s SET timezone TO 'UTC'`, db))
		e.exec(t, db,
			`CREATE TABLE items (id serial PRIMARY KEY, updated_at timestamp(6) NOT NULL DEFAULT clock_timestamp(),
  version int NOT NULL DEFAULT 0, payload text NOT NULL)`,
			`CREATE INDEX items_ts ON items (updated_at, id)`,
			// Half the pre-filled rows share one timestamp, so restarts land
			// inside a run of equal timestamps; the rest are distinct. They
			// are a minute old, as in a table that existed before.
			fmt.Sprintf(`INSERT INTO items (payload, updated_at) SELECT 'p' || g, now() - interval '1 minute' FROM generate_series(1, %d) g`, crashPrefill/2),
			fmt.Sprintf(`INSERT INTO items (payload, updated_at) SELECT 'q' || g, clock_timestamp() - interval '1 minute' FROM generate_series(1, %d) g`, crashPrefill-crashPrefill/2))
	} else {
		e.exec(t, db,
			`CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, updated_at timestamp(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  version int NOT NULL DEFAULT 0, payload varchar(64) NOT NULL, KEY items_ts (updated_at, id))`,
			fmt.Sprintf(`INSERT INTO items (payload, updated_at) SELECT CONCAT('p', seq), NOW(6) - INTERVAL 1 MINUTE FROM seq_1_to_%d`, crashPrefill/2),
			fmt.Sprintf(`INSERT INTO items (payload, updated_at) SELECT CONCAT('q', seq), SYSDATE(6) - INTERVAL 1 MINUTE FROM seq_1_to_%d`, crashPrefill-crashPrefill/2))
	}
	admin := e.crashConn(t, db)
	defer admin.close()
	// The first full poll is over once the committed offset reaches the
	// last pre-filled row in read order.
	var endSnap crashPos
	{
		q := e.pick(`SELECT (extract(epoch FROM updated_at) * 1000000)::bigint, id FROM items ORDER BY updated_at DESC, id DESC LIMIT 1`,
			`SELECT CAST(UNIX_TIMESTAMP(updated_at) * 1000000 AS SIGNED), id FROM items ORDER BY updated_at DESC, id DESC LIMIT 1`)
		if !ti {
			q = `SELECT 0, max(id) FROM items`
		}
		var err error
		if pc, ok := admin.(pgCrashConn); ok {
			err = pc.c.QueryRow(ctx, q).Scan(&endSnap.tsMicros, &endSnap.id)
		} else {
			err = admin.(myCrashConn).c.QueryRowContext(ctx, q).Scan(&endSnap.tsMicros, &endSnap.id)
		}
		if err != nil {
			t.Fatalf("last pre-filled row: %v", err)
		}
	}

	name := fmt.Sprintf("jdbc-crash-%d", seq)
	prefix := fmt.Sprintf("crash%d-", seq)
	topic := prefix + "items"
	props := map[string]string{
		"connector.class":                "jdbc",
		"connection.url":                 e.url(db),
		"mode":                           c.mode,
		"incrementing.column.name":       "id",
		"table.whitelist":                "items",
		"topic.prefix":                   prefix,
		"poll.interval.ms":               "100",
		"batch.max.rows":                 fmt.Sprint(crashBatchRows),
		"key.converter":                  "org.apache.kafka.connect.json.JsonConverter",
		"value.converter":                "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable":   "false",
		"value.converter.schemas.enable": "false",
	}
	if ti {
		props["timestamp.column.name"] = "updated_at"
		props["timestamp.delay.interval.ms"] = c.delay
	}
	offsetsFile := filepath.Join(t.TempDir(), "offsets.json")
	ccJSON, _ := json.Marshal(jdbcCrashChildConfig{Brokers: brokers, OffsetsFile: offsetsFile, Name: name, Props: props})

	// committed reads the child's committed position (the file is replaced
	// atomically, so it can be read while the child runs).
	committed := func() (crashPos, bool) {
		store, err := offsets.OpenFile(offsetsFile)
		if err != nil {
			t.Fatalf("offsets file: %v", err)
		}
		entries, err := store.List(ctx, name)
		if err != nil {
			t.Fatalf("offsets file: %v", err)
		}
		switch len(entries) {
		case 0:
			return crashPos{}, false
		case 1:
		default:
			t.Fatalf("offsets file has %d source partitions, want the table's only", len(entries))
		}
		o, err := offsetFromMap(entries[0].Offset)
		if err != nil {
			t.Fatalf("stored offset %v: %v", entries[0].Offset, err)
		}
		var p crashPos
		if o.inc != nil {
			p.id = *o.inc
		}
		if o.ts != nil {
			p.tsMicros = o.ts.UnixMicro()
		}
		return p, true
	}
	snapshotDone := func() bool {
		p, ok := committed()
		return ok && p.atOrAfter(endSnap)
	}

	sc, err := kafka.ClientConfig{Brokers: brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	highWater := func() int64 {
		n, err := raw.Client().GetOffset(topic, 0, sarama.OffsetNewest)
		if err != nil {
			_ = raw.Client().RefreshMetadata(topic)
			return 0
		}
		return n
	}

	// Workload: inserters add rows (alone, or with an update of an existing
	// row stamped with the transaction's now()); the updater bumps one row
	// with clock_timestamp() or two in one transaction with now(); the slow
	// writer stamps a row (and inserts one) and then keeps its transaction
	// open for up to 300 ms while the others commit later-stamped rows:
	// the commit order that a query-based source must not lose.
	var maxID atomic.Int64
	maxID.Store(crashPrefill)
	var inserts, updates, conflicts atomic.Int64
	var paused atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	clock := e.pick("clock_timestamp()", "NOW(6)")
	txNow := e.pick("now()", "NOW(6)")
	begin := e.pick("BEGIN", "START TRANSACTION")
	work := func(id int, step func(cn crashConn, rng *rand.Rand) error) {
		defer wg.Done()
		cn := e.crashConn(t, db)
		defer cn.close()
		rng := rand.New(rand.NewSource(time.Now().UnixNano() + int64(id)))
		for {
			select {
			case <-stop:
				return
			default:
			}
			if paused.Load() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			if err := step(cn, rng); err != nil {
				if lockConflict(err) {
					conflicts.Add(1)
					_ = cn.exec(wctx, "ROLLBACK")
					continue
				}
				t.Errorf("workload: %v", err)
				return
			}
			time.Sleep(time.Duration(1+rng.Intn(4)) * time.Millisecond)
		}
	}
	existing := func(rng *rand.Rand) int64 { return 1 + rng.Int63n(maxID.Load()) }
	for i := 0; i < c.inserters; i++ {
		wg.Add(1)
		go work(i, func(cn crashConn, rng *rand.Rand) error {
			if rng.Intn(3) > 0 {
				n := 1 + rng.Intn(3)
				vals := make([]string, n)
				for j := range vals {
					vals[j] = fmt.Sprintf("('w%d')", rng.Intn(1000))
				}
				ids, err := cn.ints(wctx, `INSERT INTO items (payload) VALUES `+strings.Join(vals, ",")+` RETURNING id`)
				if err != nil {
					return err
				}
				for _, id := range ids {
					for cur := maxID.Load(); id > cur && !maxID.CompareAndSwap(cur, id); cur = maxID.Load() {
					}
				}
				inserts.Add(int64(len(ids)))
				return nil
			}
			err := cn.exec(wctx, fmt.Sprintf(`%s; INSERT INTO items (payload) VALUES ('tx'); UPDATE items SET version = version + 1, updated_at = %s WHERE id = %d; COMMIT`,
				begin, txNow, existing(rng)))
			if err == nil {
				inserts.Add(1)
				updates.Add(1)
			}
			return err
		})
	}
	wg.Add(1)
	go work(100, func(cn crashConn, rng *rand.Rand) error {
		if rng.Intn(2) == 0 {
			err := cn.exec(wctx, fmt.Sprintf(`UPDATE items SET version = version + 1, updated_at = %s WHERE id = %d`, clock, existing(rng)))
			if err == nil {
				updates.Add(1)
			}
			return err
		}
		a, b := existing(rng), existing(rng)
		if a == b {
			return nil
		}
		a, b = min(a, b), max(a, b)
		err := cn.exec(wctx, fmt.Sprintf(`%[1]s; UPDATE items SET version = version + 1, updated_at = %[2]s WHERE id = %[3]d; UPDATE items SET version = version + 1, updated_at = %[2]s WHERE id = %[4]d; COMMIT`,
			begin, txNow, a, b))
		if err == nil {
			updates.Add(2)
		}
		return err
	})
	sleep := e.pick("SELECT pg_sleep(%.3f)", "DO SLEEP(%.3f)")
	wg.Add(1)
	go work(200, func(cn crashConn, rng *rand.Rand) error {
		ts := clock
		if rng.Intn(2) == 0 {
			ts = txNow
		}
		stmts := []string{begin, fmt.Sprintf(`UPDATE items SET version = version + 1, updated_at = %s WHERE id = %d`, ts, existing(rng))}
		if c.slowInserts {
			stmts = append(stmts, `INSERT INTO items (payload) VALUES ('slow')`)
		}
		stmts = append(stmts, fmt.Sprintf(sleep, float64(20+rng.Intn(280))/1000), "COMMIT")
		err := cn.exec(wctx, strings.Join(stmts, "; "))
		if err == nil {
			updates.Add(1)
			if c.slowInserts {
				inserts.Add(1)
			}
		}
		return err
	})
	stopWorkload := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopWorkload()

	runChild := func() *crashtest.Child {
		return crashtest.Start(t, "TestJDBCCrashChild", jdbcCrashChildEnv, ccJSON)
	}
	// quiesce waits until the running child has delivered and committed
	// everything it can see: nothing new in the topic or the offsets file
	// for longer than the delay plus a few polls and offset flushes.
	settle := 400 * time.Millisecond
	if ti {
		d, _ := time.ParseDuration(c.delay + "ms")
		settle += d
	}
	quiesce := func(ch *crashtest.Child) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		hw, pos := highWater(), crashPos{}
		since := time.Now()
		for time.Since(since) < settle {
			if ch.Exited() {
				t.Fatalf("the pipeline ended on its own:\n%s", crashtest.Tail(ch.Output(), 40))
			}
			if time.Now().After(deadline) {
				t.Fatalf("the pipeline did not settle within a minute")
			}
			time.Sleep(50 * time.Millisecond)
			h := highWater()
			p, _ := committed()
			if h != hw || p != pos {
				hw, pos, since = h, p, time.Now()
			}
		}
	}

	// The first third of the kills aim at the first full poll: each lands
	// after a random number of new records, unless that poll finishes
	// first. The others wait for it to be over and kill at a random time
	// (so records are always in flight beyond the committed offset), or,
	// every third one in long runs, once the pipeline has caught up with a
	// paused workload (so a restart that resumed past its offset would lose
	// the rows written next).
	began := time.Now()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	snapshotKills := iterations/3 + 1
	phases := map[string]int{}
	for i := 0; i < iterations; i++ {
		before := highWater()
		child := runChild()
		started := time.Now()
		deadline := started.Add(60 * time.Second)
		exited := child.Exited
		switch {
		case i < snapshotKills && !snapshotDone() && i%2 == 0:
			// After a random number of records, committed or not.
			target := before + 20 + rng.Int63n(1200)
			for highWater() < target && !snapshotDone() && time.Now().Before(deadline) && !exited() {
				time.Sleep(2 * time.Millisecond)
			}
		case i < snapshotKills && !snapshotDone():
			// Once the committed offset has moved a random way into the
			// rest of the pre-filled rows (whose ids follow the read order),
			// so the next run resumes inside the first poll.
			from, _ := committed()
			target := from.id + 1 + rng.Int63n(max(1, (endSnap.id-from.id)*2/3))
			for p, _ := committed(); p.id < target && !snapshotDone() && time.Now().Before(deadline) && !exited(); p, _ = committed() {
				time.Sleep(2 * time.Millisecond)
			}
			time.Sleep(time.Duration(rng.Intn(50)) * time.Millisecond)
		case iterations > 3 && i%3 == 2:
			for !snapshotDone() && time.Now().Before(deadline) && !exited() {
				time.Sleep(20 * time.Millisecond)
			}
			paused.Store(true)
			quiesce(child)
		default:
			for !snapshotDone() && time.Now().Before(deadline) && !exited() {
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(time.Duration(100+rng.Intn(1900)) * time.Millisecond)
		}
		if child.Exited() {
			t.Fatalf("iteration %d: the pipeline ended on its own:\n%s", i+1, crashtest.Tail(child.Output(), 40))
		}
		child.Kill()
		phase := "during the first full poll"
		if paused.Swap(false) {
			phase = "while streaming, caught up with a paused workload"
		} else if snapshotDone() {
			phase = "while streaming"
		} else if _, ok := committed(); !ok {
			phase = "during the first full poll, nothing committed yet"
		}
		phases[phase]++
		pos, _ := committed()
		t.Logf("iteration %d: killed after %s, %s (%d records produced by this run; committed offset id=%d ts=%d)",
			i+1, time.Since(started).Round(time.Millisecond), phase, highWater()-before, pos.id, pos.tsMicros)
	}
	stopWorkload()
	if t.Failed() {
		return
	}

	// A final run must deliver every row's final version.
	final := runChild()
	readTable := func() map[int64]int64 {
		want := map[int64]int64{}
		q := `SELECT id, version FROM items`
		var err error
		if pc, ok := admin.(pgCrashConn); ok {
			var rows pgx.Rows
			if rows, err = pc.c.Query(ctx, q); err == nil {
				for rows.Next() {
					var id, v int64
					if err = rows.Scan(&id, &v); err != nil {
						break
					}
					want[id] = v
				}
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
		} else {
			var rows *sql.Rows
			if rows, err = admin.(myCrashConn).c.QueryContext(ctx, q); err == nil {
				for rows.Next() {
					var id, v int64
					if err = rows.Scan(&id, &v); err != nil {
						break
					}
					want[id] = v
				}
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
		}
		if err != nil {
			t.Fatalf("read final table: %v", err)
		}
		return want
	}
	want := readTable()
	// neighbours shows the rows around a lost one: which writer made it
	// (payload w*/tx: inserters, slow: slow writer), when, and on
	// PostgreSQL in which transaction, to tell a commit-order race from a
	// resume bug.
	neighbours := func(id int64) string {
		q := fmt.Sprintf(`SELECT concat_ws(' ', id, payload, version, updated_at, %s) FROM items WHERE id BETWEEN %d AND %d ORDER BY id`,
			e.pick("'xmin=' || xmin", "''"), id-4, id+4)
		var b strings.Builder
		if pc, ok := admin.(pgCrashConn); ok {
			rows, err := pc.c.Query(ctx, q)
			if err != nil {
				return err.Error()
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err.Error()
			}
			b.WriteString(strings.Join(lines, "\n"))
		} else {
			rows, err := admin.(myCrashConn).c.QueryContext(ctx, q)
			if err != nil {
				return err.Error()
			}
			defer rows.Close()
			for rows.Next() {
				var l string
				if err := rows.Scan(&l); err != nil {
					return err.Error()
				}
				b.WriteString(l + "\n")
			}
		}
		return "rows around it (id payload version updated_at xmin):\n" + b.String()
	}
	type event struct{ id, version int64 }
	var events []event
	var ops map[string]int
	read := func() {
		kvs, err := raw.ReadAll(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		events = events[:0]
		ops = map[string]int{}
		for _, kv := range kvs {
			var k struct {
				ID *int64 `json:"id"`
			}
			if err := json.Unmarshal(kv.Key, &k); err != nil || k.ID == nil {
				t.Fatalf("record key %s: %v", kv.Key, err)
			}
			var v struct {
				Op    string `json:"op"`
				After *struct {
					ID      int64 `json:"id"`
					Version int64 `json:"version"`
				} `json:"after"`
			}
			if err := json.Unmarshal(kv.Value, &v); err != nil || v.After == nil {
				t.Fatalf("record value %s: %v", kv.Value, err)
			}
			if v.After.ID != *k.ID {
				t.Fatalf("record key %s does not match its row %s", kv.Key, kv.Value)
			}
			ops[v.Op]++
			events = append(events, event{v.After.ID, v.After.Version})
		}
	}
	// missing counts rows without an event (incrementing mode) or whose
	// last event is not the final version (timestamp+incrementing).
	missing := func() (n int, example string) {
		last := map[int64]int64{}
		for _, ev := range events {
			last[ev.id] = ev.version
		}
		var lost []int64
		for id, v := range want {
			got, ok := last[id]
			if !ok || (ti && got != v) {
				n++
				lost = append(lost, id)
			}
		}
		sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
		for i, id := range lost {
			if i == 3 {
				example += fmt.Sprintf("; and %d more", len(lost)-i)
				break
			}
			got, ok := last[id]
			example += fmt.Sprintf("; id %d: table has version %d, last event has %d (present: %t)", id, want[id], got, ok)
		}
		if len(lost) > 0 {
			example += "\n" + neighbours(lost[0])
		}
		return n, strings.TrimPrefix(example, "; ")
	}
	waitDelivered := func(ch *crashtest.Child, what string) {
		t.Helper()
		caughtUp := time.Now().Add(120 * time.Second)
		for {
			read()
			n, example := missing()
			if n == 0 {
				return
			}
			if ch.Exited() {
				t.Fatalf("the final run ended on its own:\n%s", crashtest.Tail(ch.Output(), 40))
			}
			if time.Now().After(caughtUp) {
				t.Fatalf("%s, %d of %d rows never reached Kafka%s; e.g. %s", what, n, len(want), map[bool]string{true: " in their final version"}[ti], example)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitDelivered(final, fmt.Sprintf("after %d crashes", iterations))
	// Once more, killed when caught up with nothing in flight: the rows
	// changed while it is down must all come after the restart.
	quiesce(final)
	final.Kill()
	for i := 0; i < 30; i++ {
		if err := admin.exec(ctx, `INSERT INTO items (payload) VALUES ('after')`); err != nil {
			t.Fatal(err)
		}
		if err := admin.exec(ctx, fmt.Sprintf(`UPDATE items SET version = version + 1, updated_at = %s WHERE id = %d`, clock, 1+rng.Int63n(maxID.Load()))); err != nil {
			t.Fatal(err)
		}
	}
	want = readTable()
	final = runChild()
	defer final.Kill()
	waitDelivered(final, "after a crash when caught up")
	// Give the last run a moment more: nothing it writes may reorder a key.
	time.Sleep(300 * time.Millisecond)
	read()

	lastVersion := map[int64]int64{}
	seen := map[event]bool{}
	dups, backwards := 0, 0
	redelivered := map[int64]bool{}
	for i, ev := range events {
		if prev, ok := lastVersion[ev.id]; ok && ev.version < prev {
			backwards++
			if backwards <= 5 {
				t.Errorf("id %d: event %d has version %d after version %d (order per key broken)", ev.id, i, ev.version, prev)
			}
		}
		lastVersion[ev.id] = ev.version
		if seen[ev] {
			dups++
			redelivered[ev.id] = true
		}
		seen[ev] = true
	}
	for id := range lastVersion {
		if _, ok := want[id]; !ok {
			t.Errorf("id %d is in the topic but not in the table", id)
		}
	}
	if backwards > 0 {
		t.Fatalf("%d events went back to an older version of their key", backwards)
	}
	opList := make([]string, 0, len(ops))
	for o, n := range ops {
		opList = append(opList, fmt.Sprintf("%s=%d", o, n))
	}
	sort.Strings(opList)
	t.Logf("%s %s: %d crashes (%v) in %s; workload %d inserts, %d updates (%d lock conflicts rolled back); "+
		"all %d rows delivered%s; %d events (%s), %d duplicates over %d rows (at-least-once); order per key held",
		e.name, c.name, iterations, phases, time.Since(began).Round(time.Millisecond), inserts.Load(), updates.Load(), conflicts.Load(),
		len(want), map[bool]string{true: " in their final version", false: ""}[ti], len(events), strings.Join(opList, " "),
		dups, len(redelivered))
}
