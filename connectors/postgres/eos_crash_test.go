package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/kafka"
)

// The exactly-once crash test is TestCrashRecovery with
// exactly.once.source.support=enabled: the child is killed with SIGKILL
// during the snapshot and while streaming, and a read_committed consumer
// built on an independent client (kcat) must then see every row exactly
// once, each key's events in source order. The same run at least once is
// the control: it must show duplicates, or the test proves nothing.
//
// 3 kills per run (the first during the snapshot, the others while streaming); 20 (4 during the snapshot) with TRIBUTARY_FAULT_TESTS=1 (or TRIBUTARY_LONG_TESTS=1).

const eosCrashChildEnv = "TRIBUTARY_PG_EOS_CRASH_CHILD"

type eosCrashChildConfig struct {
	Brokers     []string          `json:"brokers"`
	Props       map[string]string `json:"props"`
	ExactlyOnce bool              `json:"exactlyOnce"`
}

// TestExactlyOnceCrashChild is the child process of
// TestExactlyOnceCrashRecovery; it skips when run directly.
func TestExactlyOnceCrashChild(t *testing.T) {
	var cc eosCrashChildConfig
	crashtest.ChildConfig(t, eosCrashChildEnv, &cc)
	src := crashtest.Source{Brokers: cc.Brokers, Plugin: Plugin(), Name: "crash", Props: cc.Props}
	if cc.ExactlyOnce {
		crashtest.RunSourceExactlyOnce(t, src)
	} else {
		crashtest.RunSource(t, src)
	}
}

func TestExactlyOnceCrashRecovery(t *testing.T) {
	for _, boundary := range []string{"poll", "connector"} {
		t.Run("exactly-once, transaction.boundary="+boundary, func(t *testing.T) {
			r := eosCrashRun(t, true, boundary)
			if r.Missing != 0 || r.Duplicates != 0 || r.Recreated != 0 || r.Reordered != 0 {
				t.Fatalf("exactly-once: %s", r)
			}
		})
	}
	t.Run("at-least-once control", func(t *testing.T) {
		r := eosCrashRun(t, false, "")
		if r.Missing != 0 || r.Reordered != 0 {
			t.Fatalf("at-least-once: %s", r)
		}
		if r.Duplicates+r.Recreated == 0 {
			t.Fatalf("the control delivered no duplicates (%s): the kills did not exercise replay", r)
		}
	})
}

func eosCrashRun(t *testing.T, exactlyOnce bool, boundary string) crashtest.Report {
	iterations := crashtest.ExactlyOnceIterations()
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
	if exactlyOnce {
		props["exactly.once.support"] = "required"
		props["transaction.boundary"] = boundary
	}
	ccJSON, _ := json.Marshal(eosCrashChildConfig{Brokers: broker.Addrs(), Props: props, ExactlyOnce: exactlyOnce})

	// Workload: small transactions of inserts and an update, all the time.
	var next atomic.Int64
	next.Store(1_000_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
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
		return crashtest.Start(t, "TestExactlyOnceCrashChild", eosCrashChildEnv, ccJSON)
	}
	phases := map[string]int{}
	for i := 0; i < iterations; i++ {
		phases[crashtest.KillPlan(t, runChild(), i, iterations, "snapshot: exporting table", "starting replication", rng, 800*time.Millisecond, 2500*time.Millisecond)]++
	}
	close(stop)
	wg.Wait()
	last := next.Load()

	final := runChild()
	defer final.Kill()
	want := map[int64]bool{}
	for i := int64(1); i <= initialRows; i++ {
		want[i] = true
	}
	for i := int64(1_000_000); i < last; i++ {
		want[i] = true
	}
	lsn := func(src map[string]any) []int64 { return []int64{crashtest.Int64(src["lsn"])} }
	deadline := time.Now().Add(180 * time.Second)
	for {
		r := crashtest.Check(crashtest.ReadCommitted(t, broker.Addrs(), "dbserver1.public.t"), want, lsn)
		if r.Missing == 0 || time.Now().After(deadline) {
			t.Logf("exactly-once=%v %s, %d kills (%v): %s", exactlyOnce, boundary, iterations, phases, r)
			return r
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Two processes run the same connector: the second one's transactional
// producer fences the first, which fails on its next write or commit and
// exits; nothing it wrote after the second took over is visible, and a
// read_committed consumer sees every row once.
func TestExactlyOnceZombieProcess(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)`,
		`INSERT INTO t SELECT g, 'x' FROM generate_series(1, 5000) g`)
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	props := e.props("connector.class", "postgres", "name", "crash",
		"key.converter", "org.apache.kafka.connect.json.JsonConverter",
		"value.converter", "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable", "false", "value.converter.schemas.enable", "false",
		"exactly.once.support", "required",
		// The fenced process gives up within the transaction timeout; the
		// new one retries until the old one released the replication slot.
		"producer.override.transaction.timeout.ms", "5000",
		"errors.max.retries", "-1", "retriable.restart.connector.wait.ms", "500")
	ccJSON, _ := json.Marshal(eosCrashChildConfig{Brokers: broker.Addrs(), Props: props, ExactlyOnce: true})

	var next atomic.Int64
	next.Store(1_000_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			id := next.Add(2) - 2
			if err := e.pg.ExecContext(context.Background(), e.db, fmt.Sprintf(
				`BEGIN; INSERT INTO t VALUES (%d, 'a'), (%d, 'b'); UPDATE t SET v = 'u' WHERE id = %d; COMMIT`, id, id+1, id%5000+1)); err != nil {
				t.Errorf("workload: %v", err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	older := crashtest.Start(t, "TestExactlyOnceCrashChild", eosCrashChildEnv, ccJSON)
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(older.Output(), "starting replication") {
		if time.Now().After(deadline) || older.Exited() {
			t.Fatalf("the first process did not start streaming:\n%s", crashtest.Tail(older.Output(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	newer := crashtest.Start(t, "TestExactlyOnceCrashChild", eosCrashChildEnv, ccJSON)
	defer newer.Kill()
	deadline = time.Now().Add(time.Minute)
	for !older.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("the older process was not fenced:\n%s", crashtest.Tail(older.Output(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(older.Output(), "fenced") {
		t.Fatalf("the older process exited, but not fenced:\n%s", crashtest.Tail(older.Output(), 30))
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	want := map[int64]bool{}
	for i := int64(1); i <= 5000; i++ {
		want[i] = true
	}
	for i := int64(1_000_000); i < next.Load(); i++ {
		want[i] = true
	}
	lsn := func(src map[string]any) []int64 { return []int64{crashtest.Int64(src["lsn"])} }
	deadline = time.Now().Add(2 * time.Minute)
	for {
		r := crashtest.Check(crashtest.ReadCommitted(t, broker.Addrs(), "dbserver1.public.t"), want, lsn)
		if r.Missing == 0 || time.Now().After(deadline) {
			t.Logf("older process fenced; newer delivered: %s", r)
			if r.Missing != 0 || r.Duplicates != 0 || r.Recreated != 0 || r.Reordered != 0 {
				t.Fatalf("zombie run: %s\n%s", r, crashtest.Tail(newer.Output(), 30))
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
