package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// TestIncrementalSnapshotCrash runs an incremental snapshot through the
// real runtime (child process, embedded Kafka, offsets in Kafka) while a
// writer changes the table, and kills the connector with SIGKILL during
// the snapshot (3 times; 20 with TRIBUTARY_LONG_TESTS=1, on 1M rows).
// Every restart continues from the committed offset; at the end, the last
// record of every key in Kafka equals the table.
func TestIncrementalSnapshotCrash(t *testing.T) {
	rows, chunk := int64(60000), "100"
	if longTests() {
		rows, chunk = 1_000_000, "1024"
	}
	iterations := crashtest.Iterations()
	e := newEnv(t)
	e.exec(t, signalTableDDL, `CREATE TABLE marker (id int PRIMARY KEY)`,
		`CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO t SELECT g, 0, md5(g::text) FROM generate_series(1, %d) g`, rows))
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	props := e.props("connector.class", "postgres", "name", "inc-crash",
		"key.converter", "org.apache.kafka.connect.json.JsonConverter",
		"value.converter", "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable", "false", "value.converter.schemas.enable", "false",
		"snapshot.mode", "no_data", "signal.data.collection", "public.debezium_signal",
		"incremental.snapshot.chunk.size", chunk, "status.update.interval.ms", "200")
	ccJSON, _ := json.Marshal(crashChildConfig{Brokers: broker.Addrs(), Props: props})
	run := func() *crashtest.Child { return crashtest.Start(t, "TestCrashChild", crashChildEnv, ccJSON) }

	child := run()
	waitSlotActive(t, e)
	w := startChurn(t, e, "t", rows, 300)
	e.exec(t, `INSERT INTO debezium_signal VALUES ('crash-snap', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	completed, resumed := false, 0
	for i := 0; i < iterations; i++ {
		// Killed a little after this run started or resumed reading the
		// table, not after a fixed time: on a fast machine a fixed delay
		// outlasts the whole snapshot.
		start := time.Now()
		for out := child.Output(); !strings.Contains(out, "incremental snapshot: reading table") &&
			!strings.Contains(out, "incremental snapshot in progress; continuing") &&
			!strings.Contains(out, "incremental snapshot completed"); out = child.Output() {
			if time.Since(start) > time.Minute {
				t.Fatalf("iteration %d: the run neither started nor resumed the incremental snapshot:\n%s", i+1, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Duration(100+rng.Intn(500)) * time.Millisecond)
		d := time.Since(start)
		child.Kill()
		out := child.Output()
		completed = completed || strings.Contains(out, "incremental snapshot completed")
		if strings.Contains(out, "incremental snapshot in progress; continuing") && !strings.Contains(out, "after_key=<start>") {
			resumed++
		}
		t.Logf("iteration %d: killed after %s; snapshot completed: %v", i+1, d, completed)
		child = run()
	}
	deadline := time.Now().Add(30 * time.Minute)
	for !completed {
		if time.Now().After(deadline) {
			t.Fatal("the incremental snapshot did not complete")
		}
		time.Sleep(500 * time.Millisecond)
		completed = strings.Contains(child.Output(), "incremental snapshot completed")
	}
	if strings.Contains(child.Output(), "incremental snapshot in progress; continuing") {
		resumed++
	}
	if resumed == 0 {
		t.Fatal("no run continued an incremental snapshot from a stored position")
	}
	changes := w.finish(t)
	e.exec(t, "INSERT INTO marker VALUES (1)")

	sc, _ := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	raw, err := kafka.NewRaw(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	signaltest.WaitTopic(t, raw, "dbserver1.public.marker")
	child.Kill()
	kvs, err := raw.ReadAll(context.Background(), "dbserver1.public.t")
	if err != nil {
		t.Fatal(err)
	}
	last, reads := signaltest.LastPerKey(t, kvs)
	conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	res, err := conn.Query(context.Background(), "SELECT id, v, pad FROM t")
	if err != nil {
		t.Fatal(err)
	}
	table := signaltest.ReadTable(t, res)
	if bad := signaltest.Diverged(t, table, last); bad > 0 {
		t.Fatalf("%d keys differ after %d kills", bad, iterations)
	}
	t.Logf("%d kills: converged; %d rows in the table, %d keys in Kafka, %d incremental read records (%d rows at the start), %d writer changes, %d runs continued from a stored position",
		iterations, len(table), len(last), reads, rows, changes, resumed)
}
