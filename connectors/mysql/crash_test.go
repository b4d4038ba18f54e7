package mysql

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/config"
	"github.com/tributary-io/tributary/internal/connect"
	connconv "github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

// The crash test runs the MariaDB connector through the real runtime in a
// child process (this test binary, TestMySQLCrashChild) against an
// embedded Kafka broker in the parent, with offsets in a Kafka offsets
// topic and the schema history in its Kafka topic, and kills the child
// with SIGKILL at random points of the snapshot and of the stream while a
// workload keeps writing (and once alters the table). Afterwards every row
// must be in Kafka: nothing is lost. Duplicates are allowed
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
	raw := os.Getenv(mysqlCrashChildEnv)
	if raw == "" {
		t.Skip("helper process of TestCrashRecovery")
	}
	var cc mysqlCrashChildConfig
	if err := json.Unmarshal([]byte(raw), &cc); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sc, err := kafka.ClientConfig{Brokers: cc.Brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	store, err := offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: cc.Brokers, Config: sc, Topic: "connect-offsets", Partitions: 1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	producer, err := kafka.NewProducer(cc.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	rawKafka, err := kafka.NewRaw(cc.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := runtime.ParseConnector(connect.Plugins{MariaDBPlugin()}, config.Connector{Name: "crash", Config: cc.Props})
	if err != nil {
		t.Fatal(err)
	}
	src, err := runtime.NewSource(ctx, c, runtime.SourceDeps{Producer: producer, Raw: rawKafka, Converters: &connconv.Factory{},
		Transforms: transforms.Builtin(log), Offsets: store, Worker: map[string]string{"offset.flush.interval.ms": "100"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCrashRecovery(t *testing.T) {
	iterations := 3
	if os.Getenv("TRIBUTARY_LONG_TESTS") == "1" {
		iterations = 20
	}
	e := newEnv(t)
	const initialRows = 20000
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(60) NOT NULL)",
		"SET SESSION max_recursive_iterations = 1000000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < %d) SELECT n, REPEAT('x', 50) FROM g", initialRows))
	props := e.props(map[string]string{"connector.class": "mariadb", "name": "crash",
		"key.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter": "org.apache.kafka.connect.json.JsonConverter",
		"key.converter.schemas.enable": "false", "value.converter.schemas.enable": "false", "heartbeat.interval.ms": "500"})
	ccJSON, _ := json.Marshal(mysqlCrashChildConfig{Brokers: e.broker.Addrs(), Props: props})

	// Workload: small multi-row transactions, all the time.
	var next atomic.Int64
	next.Store(1_000_000)
	stop := make(chan struct{})
	altered := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-altered:
				altered = nil
				if err := e.db.ExecContext(context.Background(), "inventory", "ALTER TABLE t ADD COLUMN extra INT NOT NULL DEFAULT 7"); err != nil {
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
	runChild := func() (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMySQLCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), mysqlCrashChildEnv+"="+string(ccJSON))
		out := &syncBuffer{}
		cmd.Stderr, cmd.Stdout = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			}
			if t.Failed() {
				t.Logf("child output:\n%s", tail(out.String(), 40))
			}
		})
		return cmd, out
	}
	for i := 0; i < iterations; i++ {
		child, out := runChild()
		// Early kills land in the snapshot, later ones in the stream.
		var d time.Duration
		if i%3 == 0 {
			d = time.Duration(600+rng.Intn(900)) * time.Millisecond
		} else {
			d = time.Duration(500+rng.Intn(3000)) * time.Millisecond
		}
		time.Sleep(d)
		_ = child.Process.Kill()
		_ = child.Wait()
		phase := "while streaming"
		switch {
		case !strings.Contains(out.String(), "streaming started") && strings.Contains(out.String(), "exporting data from table"):
			phase = "during the snapshot"
		case !strings.Contains(out.String(), "streaming started"):
			phase = "before reading data"
		}
		t.Logf("iteration %d: killed after %s, %s", i+1, d, phase)
		if i == 0 {
			close(altered)
		}
	}
	close(stop)
	wg.Wait()
	last := next.Load()

	// A final run must deliver everything.
	final, out := runChild()
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
		seen = map[int64]int{}
		for _, kv := range kvs {
			if kv.Value == nil {
				continue
			}
			var v struct {
				After *struct {
					ID int64 `json:"id"`
				} `json:"after"`
				Op string `json:"op"`
			}
			if err := json.Unmarshal(kv.Value, &v); err != nil {
				t.Fatalf("record value %s: %v", kv.Value, err)
			}
			if v.After != nil && (v.Op == "r" || v.Op == "c") {
				seen[v.After.ID]++
			}
		}
		missing := 0
		for id := range want {
			if seen[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d rows never reached Kafka after %d crashes\n%s", missing, len(want), iterations, tail(out.String(), 30))
		}
		time.Sleep(500 * time.Millisecond)
	}
	_ = final.Process.Kill()
	_ = final.Wait()
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	t.Logf("%d crashes: all %d rows delivered; %d rows delivered more than once (at-least-once)", iterations, len(want), dups)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer collects a child's output; the exec package writes to it
// from its own goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
