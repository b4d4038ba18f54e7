package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/kafka"
)

// The crash test runs the connector through the real runtime in a child
// process (this test binary, TestCrashChild) against an embedded Kafka
// broker in the parent, with offsets in a Kafka offsets topic, and kills
// the child with SIGKILL at random points of the snapshot and of the
// stream while a workload keeps writing. Afterwards every row of the
// table must be in the Kafka topic: nothing is lost. Duplicates are
// allowed (at-least-once, as Kafka Connect) and counted.
//
// TRIBUTARY_LONG_TESTS=1 runs 20 kill iterations instead of 3.

const crashChildEnv = "TRIBUTARY_PG_CRASH_CHILD"

type crashChildConfig struct {
	Brokers []string          `json:"brokers"`
	Props   map[string]string `json:"props"`
}

// TestCrashChild is the child process of TestCrashRecovery; it skips when
// run directly.
func TestCrashChild(t *testing.T) {
	var cc crashChildConfig
	crashtest.ChildConfig(t, crashChildEnv, &cc)
	crashtest.RunSource(t, crashtest.Source{Brokers: cc.Brokers, Plugin: Plugin(), Name: "crash", Props: cc.Props})
}

func TestCrashRecovery(t *testing.T) {
	iterations := crashtest.Iterations()
	e := newEnv(t)
	const initialRows = 30000
	e.exec(t, `CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO t SELECT g, repeat('x', 50) FROM generate_series(1, %d) g`, initialRows))
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	props := e.props("connector.class", "postgres", "name", "crash",
		"key.converter", "org.apache.kafka.connect.json.JsonConverter",
		"value.converter", "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable", "false", "value.converter.schemas.enable", "false",
		"status.update.interval.ms", "200", "heartbeat.interval.ms", "500")
	ccJSON, _ := json.Marshal(crashChildConfig{Brokers: broker.Addrs(), Props: props})

	// Workload: small transactions of inserts and updates, all the time.
	var next atomic.Int64
	next.Store(1_000_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	workStart := time.Now()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			id := next.Add(3) - 3
			if err := e.pg.ExecContext(context.Background(), e.db, fmt.Sprintf(
				`BEGIN; INSERT INTO t VALUES (%d, 'a'), (%d, 'b'), (%d, 'c'); UPDATE t SET v = 'u' WHERE id = %d; COMMIT`,
				id, id+1, id+2, id%initialRows+1)); err != nil {
				t.Errorf("workload: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	runChild := func() *crashtest.Child {
		return crashtest.Start(t, "TestCrashChild", crashChildEnv, ccJSON)
	}
	snapshotKills, streamKills := 0, 0
	for i := 0; i < iterations; i++ {
		child := runChild()
		// Early kills land in the snapshot, later ones in the stream.
		var d time.Duration
		if i%3 == 0 {
			d = time.Duration(700+rng.Intn(900)) * time.Millisecond
		} else {
			d = time.Duration(500+rng.Intn(3000)) * time.Millisecond
		}
		time.Sleep(d)
		child.Kill()
		phase := crashtest.Phase(child.Output(), "snapshot: exporting table", "starting replication")
		t.Logf("iteration %d: killed after %s, %s", i+1, d, phase)
		switch phase {
		case "during the snapshot":
			snapshotKills++
		case "while streaming":
			streamKills++
		}
	}
	close(stop)
	wg.Wait()
	last := next.Load()
	rate := float64(last-1_000_000) / time.Since(workStart).Seconds()

	// A final run must deliver everything.
	final := runChild()
	sc, _ := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	raw, err := kafka.NewRaw(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
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
		kvs, err := raw.ReadAll(context.Background(), "dbserver1.public.t")
		if err != nil {
			t.Fatal(err)
		}
		seen = crashtest.CreatedRows(t, kvs)
		missing := crashtest.Missing(want, seen)
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows never reached Kafka after %d crashes", missing, len(want), iterations)
		}
		time.Sleep(500 * time.Millisecond)
	}
	final.Kill()
	dups := crashtest.Duplicates(seen)
	t.Logf("%d crashes: all %d rows delivered; %d rows delivered more than once (at-least-once)", iterations, len(want), dups)
	kvs, err := raw.ReadAll(context.Background(), "dbserver1.public.t")
	if err != nil {
		t.Fatal(err)
	}
	crashtest.LogDuplicates(t, kvs, snapshotKills, streamKills, rate)
}
