package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/avro"
)

// TestRunProcess is not a test: TestRunAvroEndToEnd runs the test binary
// again with TRIBUTARY_TEST_RUN_ARGS set, making it `tributary <args>`, so
// the real signal handling and exit codes are exercised.
func TestRunProcess(t *testing.T) {
	args := os.Getenv("TRIBUTARY_TEST_RUN_ARGS")
	if args == "" {
		t.Skip("helper process for TestRunAvroEndToEnd")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(Extensions{})
	root.SetArgs(strings.Fields(args))
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

type runProc struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

func startRun(t *testing.T, dir, cfg string, n int) *runProc {
	t.Helper()
	logPath := filepath.Join(dir, fmt.Sprintf("run%d.log", n))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunProcess$")
	cmd.Env = append(os.Environ(), "TRIBUTARY_TEST_RUN_ARGS=run -c "+cfg)
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

// stop sends SIGTERM and requires a clean exit 0, as Kafka Connect users
// expect from a graceful shutdown.
func (p *runProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			data, _ := os.ReadFile(p.log)
			t.Fatalf("tributary run exited with %v after SIGTERM, want 0\n%s", err, data)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("tributary run did not exit within 60s of SIGTERM")
	}
}

// readAvroTopic waits until topic holds want records and decodes them with
// the Avro converter against the registry the worker embeds.
func readAvroTopic(t *testing.T, brokers []string, registryURL, topic string, want int) []*connect.StructValue {
	t.Helper()
	conv, err := avro.New(map[string]string{"schema.registry.url": registryURL}, false)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var out []*connect.StructValue
		func() {
			client, err := sarama.NewClient(brokers, sarama.NewConfig())
			if err != nil {
				return
			}
			defer client.Close()
			hw, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
			if err != nil || hw < int64(want) {
				return
			}
			consumer, err := sarama.NewConsumerFromClient(client)
			if err != nil {
				return
			}
			defer consumer.Close()
			pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
			if err != nil {
				return
			}
			defer pc.Close()
			for i := int64(0); i < hw; i++ {
				m := <-pc.Messages()
				if m.Value == nil {
					continue // tombstone
				}
				_, v, err := conv.ToConnect(topic, m.Value)
				if err != nil {
					t.Fatalf("decoding %s offset %d: %v", topic, m.Offset, err)
				}
				out = append(out, v.(*connect.StructValue))
			}
		}()
		if len(out) >= want {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: %d records after 90s, want %d", topic, len(out), want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRunAvroEndToEnd(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	pg.Exec(t, "inventory", demoPostgresSQL)
	dir := t.TempDir()
	brokerPort, registryPort := freePort(t), freePort(t)
	registryURL := fmt.Sprintf("http://127.0.0.1:%d", registryPort)
	offsetsFile := filepath.Join(dir, "offsets.json")
	cfg := filepath.Join(dir, "connector.yaml")
	yaml := fmt.Sprintf(`worker:
  embedded.broker.port: %d
  embedded.broker.data.dir: %s
  embedded.registry.port: %d
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
  key.converter: io.confluent.connect.avro.AvroConverter
  key.converter.schema.registry.url: %s
  value.converter: io.confluent.connect.avro.AvroConverter
  value.converter.schema.registry.url: %s
`, brokerPort, filepath.Join(dir, "kafka"), registryPort, offsetsFile, pg.Port, registryURL, registryURL)
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	brokers := []string{fmt.Sprintf("127.0.0.1:%d", brokerPort)}
	const topic = "dbserver1.inventory.customers"

	p1 := startRun(t, dir, cfg, 1)
	snap := readAvroTopic(t, brokers, registryURL, topic, 4)
	for i, v := range snap {
		if op := v.Get("op"); op != "r" {
			t.Fatalf("snapshot event %d has op %v", i, op)
		}
	}
	if email := snap[0].Get("after").(*connect.StructValue).Get("email"); email != "sally.thomas@acme.com" {
		t.Fatalf("first snapshot row email = %v", email)
	}
	pg.Exec(t, "inventory", "INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Sarah', 'Connor', 'sarah@sky.net')")
	got := readAvroTopic(t, brokers, registryURL, topic, 5)
	if got[4].Get("op") != "c" {
		t.Fatalf("event after snapshot has op %v, want c", got[4].Get("op"))
	}
	p1.stop(t)

	store, err := offsets.OpenFile(offsetsFile)
	if err != nil {
		t.Fatal(err)
	}
	off, err := store.Get(context.Background(), "inventory-connector", map[string]any{"server": "dbserver1"})
	if err != nil || off == nil || off["lsn"] == nil {
		t.Fatalf("no committed LSN after a graceful stop: %v %v", off, err)
	}

	// Changes made while stopped are captured on restart, once each. The
	// restart also asks for the REST API, which makes `run` a worker that
	// restarts failed tasks instead of ending with them: offsets, broker
	// data and the embedded registry must carry over between the two.
	pg.Exec(t, "inventory", "UPDATE inventory.customers SET email = 'sally@acme.com' WHERE id = 1001")
	restPort := freePort(t)
	cfg2 := filepath.Join(dir, "connector-rest.yaml")
	yaml2 := strings.Replace(yaml, "worker:\n", fmt.Sprintf("worker:\n  listeners: http://127.0.0.1:%d\n", restPort), 1)
	if err := os.WriteFile(cfg2, []byte(yaml2), 0o644); err != nil {
		t.Fatal(err)
	}
	p2 := startRun(t, dir, cfg2, 2)
	readAvroTopic(t, brokers, registryURL, topic, 6)
	time.Sleep(time.Second) // a duplicate would arrive now
	got = readAvroTopic(t, brokers, registryURL, topic, 6)
	if len(got) != 6 {
		t.Fatalf("%d events after restart, want 6 (4 snapshot, 1 insert, 1 update)", len(got))
	}
	if got[5].Get("op") != "u" || got[5].Get("after").(*connect.StructValue).Get("email") != "sally@acme.com" {
		t.Fatalf("event after restart: op=%v after=%v", got[5].Get("op"), got[5].Get("after"))
	}
	status := call(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/connectors/inventory-connector/status", restPort), "")
	if status.status != 200 || !strings.Contains(string(status.body), `"state":"RUNNING"`) {
		t.Fatalf("GET status = %d %s", status.status, status.body)
	}
	p2.stop(t)
}
