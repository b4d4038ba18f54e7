package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// The crash test runs the MariaDB connector through the real runtime in a
// child process (this test binary, TestMySQLCrashChild) against an
// embedded Kafka broker in the parent, with offsets in a Kafka offsets
// topic and the schema history in its Kafka topic, and kills the child
// with SIGKILL at random points of the snapshot and of the stream while a
// workload keeps writing (and alters the table after each of the first
// three kills). The broker auto-creates topics with 10 partitions.
// Afterwards every row must be in Kafka: nothing is lost; and the table
// structure rebuilt from the schema history at the last committed offset
// must equal the server's SHOW CREATE TABLE. Duplicates are allowed
// (at-least-once, as Kafka Connect) and counted.
//
// TRIBUTARY_LONG_TESTS=1 runs 20 kill iterations instead of 3.

const mysqlCrashChildEnv = "TRIBUTARY_MYSQL_CRASH_CHILD"

type mysqlCrashChildConfig struct {
	Brokers []string          `json:"brokers"`
	Props   map[string]string `json:"props"`
}

// TestMySQLCrashChild is the child process of TestCrashRecovery; it skips
// when run directly.
func TestMySQLCrashChild(t *testing.T) {
	var cc mysqlCrashChildConfig
	crashtest.ChildConfig(t, mysqlCrashChildEnv, &cc)
	crashtest.RunSource(t, crashtest.Source{Brokers: cc.Brokers, Plugin: MariaDBPlugin(), Name: "crash", Props: cc.Props})
}

func TestCrashRecovery(t *testing.T) {
	iterations := crashtest.Iterations()
	// A broker that auto-creates 10 partitions: the schema history must
	// still be kept in one partition and read back in order.
	e, cluster := newEnvPartitioned(t)
	const initialRows = 20000
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(60) NOT NULL)",
		"SET SESSION max_recursive_iterations = 1000000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < %d) SELECT n, REPEAT('x', 50) FROM g", initialRows))
	props := e.props(map[string]string{"connector.class": "mariadb", "name": "crash",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false", "heartbeat.interval.ms": "500"})
	ccJSON, _ := json.Marshal(mysqlCrashChildConfig{Brokers: cluster.ListenAddrs(), Props: props})

	// Workload: small multi-row transactions, all the time.
	var next atomic.Int64
	next.Store(1_000_000)
	stop := make(chan struct{})
	// the table changes after each of the first kills
	alter := make(chan string, 3)
	var wg sync.WaitGroup
	wg.Add(1)
	workStart := time.Now()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case ddl := <-alter:
				if err := e.db.ExecContext(context.Background(), "inventory", ddl); err != nil {
					t.Errorf("workload: %v", err)
					return
				}
			default:
			}
			id := next.Add(3) - 3
			if err := e.db.ExecContext(context.Background(), "inventory", fmt.Sprintf(
				"BEGIN; INSERT INTO t (id, v) VALUES (%d, 'a'), (%d, 'b'), (%d, 'c'); UPDATE t SET v = 'u' WHERE id = %d; COMMIT",
				id, id+1, id+2, id%initialRows+1)); err != nil {
				t.Errorf("workload: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	runChild := func() *crashtest.Child {
		return crashtest.Start(t, "TestMySQLCrashChild", mysqlCrashChildEnv, ccJSON)
	}
	snapshotKills, streamKills := 0, 0
	for i := 0; i < iterations; i++ {
		child := runChild()
		// Early kills land in the snapshot, later ones in the stream.
		var d time.Duration
		if i%3 == 0 {
			d = time.Duration(600+rng.Intn(900)) * time.Millisecond
		} else {
			d = time.Duration(500+rng.Intn(3000)) * time.Millisecond
		}
		time.Sleep(d)
		child.Kill()
		phase := crashtest.Phase(child.Output(), "exporting data from table", "streaming started")
		t.Logf("iteration %d: killed after %s, %s", i+1, d, phase)
		switch phase {
		case "during the snapshot":
			snapshotKills++
		case "while streaming":
			streamKills++
		}
		switch i {
		case 0:
			alter <- "ALTER TABLE t ADD COLUMN extra INT NOT NULL DEFAULT 7"
		case 1:
			alter <- "ALTER TABLE t MODIFY v VARCHAR(80) NOT NULL, ADD COLUMN note VARCHAR(5) NULL AFTER id"
		case 2:
			alter <- "ALTER TABLE t DROP COLUMN extra, ADD COLUMN extra2 BIGINT NOT NULL DEFAULT 9"
		}
	}
	close(stop)
	wg.Wait()
	last := next.Load()
	rate := float64(last-1_000_000) / time.Since(workStart).Seconds()

	// A final run must deliver everything.
	final := runChild()
	want := map[int64]bool{}
	for i := int64(1); i <= initialRows; i++ {
		want[i] = true
	}
	for i := int64(1_000_000); i < last; i++ {
		want[i] = true
	}
	deadline := time.Now().Add(180 * time.Second)
	var seen map[int64]int
	for {
		kvs, err := e.raw.ReadAll(context.Background(), "mariadb1.inventory.t")
		if err != nil {
			t.Fatal(err)
		}
		seen = crashtest.CreatedRows(t, kvs)
		missing := crashtest.Missing(want, seen)
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows never reached Kafka after %d crashes\n%s", missing, len(want), iterations, crashtest.Tail(final.Output(), 30))
		}
		time.Sleep(500 * time.Millisecond)
	}
	final.Kill()
	checkHistoryTopic(t, e.raw, "schemahistory.mariadb1")
	checkCrashRecovered(t, e, props, cluster.ListenAddrs())
	dups := crashtest.Duplicates(seen)
	t.Logf("%d crashes: all %d rows delivered; %d rows delivered more than once (at-least-once)", iterations, len(want), dups)
	kvs, err := e.raw.ReadAll(context.Background(), "mariadb1.inventory.t")
	if err != nil {
		t.Fatal(err)
	}
	crashtest.LogDuplicates(t, kvs, snapshotKills, streamKills, rate)
}

// checkCrashRecovered rebuilds the table model from the history at the
// offset the last child committed, as the next run would, and compares it
// with the server's tables.
func checkCrashRecovered(t *testing.T, e *env, props map[string]string, brokers []string) {
	t.Helper()
	ctx := context.Background()
	sc, err := kafka.ClientConfig{Brokers: brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	store, err := offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: brokers, Config: sc, Topic: "connect-offsets", Partitions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	off, err := store.Get(ctx, "crash", map[string]any{"server": "mariadb1"})
	if err != nil || off == nil {
		t.Fatalf("committed offset: %v %v", off, err)
	}
	delete(props, "connector.class")
	delete(props, "name")
	for k := range props {
		if strings.HasPrefix(k, "key.converter") || strings.HasPrefix(k, "value.converter") {
			delete(props, k)
		}
	}
	v, err := MariaDBPlugin().Config().Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	st, err := newConnectorState(mariadbFlavor, v, connect.TaskContext{})
	if err != nil {
		t.Fatal(err)
	}
	st.history = e.raw
	model, n, err := st.recoverHistory(ctx, off)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", e.db.DSN("inventory"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !sameTables(t, st, model, db, true) {
		t.Errorf("the table structures recovered from %d history records differ from the server's", n)
	}
}
