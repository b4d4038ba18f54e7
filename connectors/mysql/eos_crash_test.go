package mysql

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/crashtest"
)

// The exactly-once crash test is TestCrashRecovery with
// exactly.once.source.support=enabled, against MariaDB: the child is
// killed with SIGKILL during the snapshot and while streaming, and a
// read_committed consumer built on an independent client (kcat) must then
// see every row exactly once, each key's events in binlog order. The same
// run at least once is the control: it must show duplicates.
//
// 3 kills per run (the first during the snapshot, the others while streaming); 20 (4 during the snapshot) with TRIBUTARY_FAULT_TESTS=1 (or TRIBUTARY_LONG_TESTS=1).

const eosCrashChildEnv = "TRIBUTARY_MARIADB_EOS_CRASH_CHILD"

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
	src := crashtest.Source{Brokers: cc.Brokers, Plugin: MariaDBPlugin(), Name: "crash", Props: cc.Props}
	if cc.ExactlyOnce {
		crashtest.RunSourceExactlyOnce(t, src)
	} else {
		crashtest.RunSource(t, src)
	}
}

func TestExactlyOnceCrashRecovery(t *testing.T) {
	t.Run("exactly-once", func(t *testing.T) {
		r := eosCrashRun(t, true)
		if r.Missing != 0 || r.Duplicates != 0 || r.Recreated != 0 || r.Reordered != 0 {
			t.Fatalf("exactly-once: %s", r)
		}
	})
	t.Run("at-least-once control", func(t *testing.T) {
		r := eosCrashRun(t, false)
		if r.Missing != 0 || r.Reordered != 0 {
			t.Fatalf("at-least-once: %s", r)
		}
		if r.Duplicates+r.Recreated == 0 {
			t.Fatalf("the control delivered no duplicates (%s): the kills did not exercise replay", r)
		}
	})
}

// binlogPosition orders MariaDB events: binlog file number, position of
// the transaction's events, row within the event.
func binlogPosition(src map[string]any) []int64 {
	file, _ := src["file"].(string)
	n, _ := strconv.ParseInt(file[strings.LastIndexByte(file, '.')+1:], 10, 64)
	return []int64{n, crashtest.Int64(src["pos"]), crashtest.Int64(src["row"])}
}

func eosCrashRun(t *testing.T, exactlyOnce bool) crashtest.Report {
	iterations := crashtest.ExactlyOnceIterations()
	e := newEnv(t)
	const initialRows = 20000
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(60) NOT NULL)",
		"SET SESSION max_recursive_iterations = 1000000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < %d) SELECT n, REPEAT('x', 50) FROM g", initialRows))
	extra := map[string]string{"connector.class": "mariadb", "name": "crash",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false", "heartbeat.interval.ms": "500"}
	if exactlyOnce {
		extra["exactly.once.support"] = "required"
	}
	ccJSON, _ := json.Marshal(eosCrashChildConfig{Brokers: e.broker.Addrs(), Props: e.props(extra), ExactlyOnce: exactlyOnce})

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
		return crashtest.Start(t, "TestExactlyOnceCrashChild", eosCrashChildEnv, ccJSON)
	}
	phases := map[string]int{}
	for i := 0; i < iterations; i++ {
		phases[crashtest.KillPlan(t, runChild(), i, iterations, "exporting data from table", "streaming started", rng, 300*time.Millisecond, 2500*time.Millisecond)]++
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
	deadline := time.Now().Add(180 * time.Second)
	for {
		r := crashtest.Check(crashtest.ReadCommitted(t, e.broker.Addrs(), "mariadb1.inventory.t"), want, binlogPosition)
		if r.Missing == 0 || time.Now().After(deadline) {
			t.Logf("exactly-once=%v, %d kills (%v): %s", exactlyOnce, iterations, phases, r)
			return r
		}
		time.Sleep(500 * time.Millisecond)
	}
}
