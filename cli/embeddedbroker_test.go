package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/testdb"
)

// startRunArgs is startRun with the arguments after "run".
func startRunArgs(t *testing.T, dir string, n int, args ...string) *runProc {
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("run%d.log", n))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunProcess$")
	cmd.Env = append(os.Environ(), "TRIBUTARY_TEST_RUN_ARGS=run "+strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &runProc{cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("--- run%d log ---\n%s", n, data)
		}
	})
	return p
}

// waitLog waits until the run's output matches re and returns the match.
func (p *runProc) waitLog(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, _ := os.ReadFile(p.log)
		if m := re.FindStringSubmatch(string(data)); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the run's output after 60 s:\n%s", re, data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countEvents reads the topic and counts its change events by op.
func countEvents(t *testing.T, brokers []string, topic string, want int) map[string]int {
	t.Helper()
	sc, err := kafka.ClientConfig{Brokers: brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		kvs, err := raw.ReadAll(context.Background(), topic)
		ops := map[string]int{}
		total := 0
		for _, kv := range kvs {
			if kv.Value == nil {
				continue
			}
			total++
			m := regexp.MustCompile(`"op":"(\w)"`).FindSubmatch(kv.Value)
			if m != nil {
				ops[string(m[1])]++
			}
		}
		if err == nil && total >= want {
			return ops
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: %d events after 60 s, want %d (%v)", topic, total, want, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Two consecutive `tributary run` with the same offsets file and the
// embedded broker: the broker keeps its topics beside the offsets file by
// default, so the second run finds the first run's snapshot and events
// and adds only the new change. `run` prints the broker's address on
// standard output, on the port --broker-port asks for.
func TestRunEmbeddedBrokerPersistsWithOffsets(t *testing.T) {
	if os.Getenv(testdb.EnvSkip) == "1" {
		t.Skip("needs PostgreSQL")
	}
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	pg.Exec(t, "inventory", demoPostgresSQL)
	dir := t.TempDir()
	offsetsFile := filepath.Join(dir, "offsets.json")
	cfg := filepath.Join(dir, "connector.yaml")
	yaml := fmt.Sprintf(`worker:
  offset.storage.file.filename: %s
  offset.flush.interval.ms: 200
name: inventory-connector
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: postgres
  database.dbname: inventory
  topic.prefix: dbserver1
  table.include.list: inventory.customers
  value.converter.schemas.enable: "false"
`, offsetsFile, pg.Port)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	const topic = "dbserver1.inventory.customers"
	port := freePort(t)
	brokerLine := regexp.MustCompile(`(?m)^embedded Kafka broker: (127\.0\.0\.1:\d+) \(data in (.+)\)$`)

	p1 := startRunArgs(t, dir, 1, "-c", cfg, "--broker-port", fmt.Sprint(port))
	m := p1.waitLog(t, brokerLine)
	if want := fmt.Sprintf("127.0.0.1:%d", port); m[1] != want {
		t.Fatalf("broker address %s, want %s (--broker-port)", m[1], want)
	}
	if want := filepath.Join(dir, "tributary-broker"); m[2] != want {
		t.Fatalf("broker data in %s, want %s (beside the offsets file)", m[2], want)
	}
	brokers := []string{m[1]}
	if ops := countEvents(t, brokers, topic, 4); ops["r"] != 4 {
		t.Fatalf("first run: %v, want 4 snapshot reads", ops)
	}
	p1.stop(t)

	pg.Exec(t, "inventory", "INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Sarah', 'Connor', 'sarah@sky.net')")
	p2 := startRunArgs(t, dir, 2, "-c", cfg, "--broker-port", fmt.Sprint(port))
	p2.waitLog(t, brokerLine)
	countEvents(t, brokers, topic, 5)
	time.Sleep(time.Second) // a duplicate or a second snapshot would arrive now
	ops := countEvents(t, brokers, topic, 5)
	if ops["r"] != 4 || ops["c"] != 1 {
		t.Fatalf("second run: %v, want the first run's 4 snapshot reads and 1 insert", ops)
	}
	p2.stop(t)
	if data, _ := os.ReadFile(p2.log); strings.Contains(string(data), "offsets of an earlier run") {
		t.Errorf("the second run warned of missing events although the broker kept them:\n%s", data)
	}

	// A broker kept in memory on purpose cannot have them: say so.
	mem := filepath.Join(dir, "memory.yaml")
	if err := os.WriteFile(mem, []byte(strings.Replace(yaml, "worker:\n", "worker:\n  embedded.broker.data.dir: \"\"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p3 := startRunArgs(t, dir, 3, "-c", mem)
	p3.waitLog(t, regexp.MustCompile(`embedded Kafka broker: 127\.0\.0\.1:\d+ \(in memory`))
	p3.waitLog(t, regexp.MustCompile(`offsets of an earlier run`))
	p3.stop(t)
}

// The flag and the worker property must not disagree silently.
func TestRunBrokerPortFlagConflict(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("worker:\n  embedded.broker.port: 1234\nname: x\nconfig:\n  connector.class: io.debezium.connector.postgresql.PostgresConnector\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd(Extensions{})
	root.SetArgs([]string{"run", "-c", cfg, "--broker-port", "4321"})
	err := root.ExecuteContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "--broker-port=4321 and the worker property embedded.broker.port=1234 disagree") {
		t.Fatalf("want the conflict named, got %v", err)
	}
}
