package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/rest"
	"github.com/tributary-io/tributary/internal/testdb"
)

// configMapDir lays a directory out as the kubelet does a mounted
// ConfigMap: the files in a hidden ..TIMESTAMP directory, a ..data symlink
// to it, and a symlink per key to ..data/KEY. An update writes a new
// timestamped directory and swaps ..data with one rename.
type configMapDir struct {
	dir  string
	n    int
	keys map[string]bool
}

func (c *configMapDir) publish(t *testing.T, files map[string]string) {
	t.Helper()
	c.n++
	ts := fmt.Sprintf("..2026_12_04_06_00_%02d.%d", c.n, c.n)
	if err := os.Mkdir(filepath.Join(c.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range files {
		if err := os.WriteFile(filepath.Join(c.dir, ts, k), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := os.Readlink(filepath.Join(c.dir, "..data"))
	if err := os.Symlink(ts, filepath.Join(c.dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(c.dir, "..data_tmp"), filepath.Join(c.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	for k := range files {
		if !c.keys[k] {
			if err := os.Symlink(filepath.Join("..data", k), filepath.Join(c.dir, k)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k := range c.keys {
		if _, ok := files[k]; !ok {
			os.Remove(filepath.Join(c.dir, k))
		}
	}
	if old != "" {
		os.RemoveAll(filepath.Join(c.dir, old))
	}
	c.keys = map[string]bool{}
	for k := range files {
		c.keys[k] = true
	}
}

type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// topicKeys reads a topic's record keys.
func topicKeys(brokers []string, topic string) map[string]bool {
	keys := map[string]bool{}
	client, err := sarama.NewClient(brokers, sarama.NewConfig())
	if err != nil {
		return keys
	}
	defer client.Close()
	hw, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil || hw == 0 {
		return keys
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return keys
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		return keys
	}
	defer pc.Close()
	for i := int64(0); i < hw; i++ {
		select {
		case m := <-pc.Messages():
			keys[string(m.Key)] = true
		case <-time.After(10 * time.Second):
			return keys
		}
	}
	return keys
}

// TestConnectorsDir runs a worker on a directory laid out as a mounted
// ConfigMap and, while rows are written to both tables, adds a connector
// file, adds a Strimzi KafkaConnector (Debezium's documentation example,
// pointed at the test database), edits it (only that connector restarts),
// publishes a broken version (nothing changes), pauses and resumes it
// through spec.state, and deletes the first file. Every row written while
// its connector was configured is in Kafka.
func TestConnectorsDir(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.Exec(t, "postgres", "CREATE TABLE public.a (id serial PRIMARY KEY, v int)", "CREATE TABLE public.b (id serial PRIMARY KEY, v int)")

	defer func(d time.Duration) { connectorsDirInterval = d }(connectorsDirInterval)
	connectorsDirInterval = 100 * time.Millisecond

	dir := t.TempDir()
	cm := &configMapDir{dir: filepath.Join(dir, "connectors")}
	if err := os.Mkdir(cm.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	restPort, brokerPort := freePort(t), freePort(t)
	workerYAML := filepath.Join(dir, "worker.yaml")
	if err := os.WriteFile(workerYAML, fmt.Appendf(nil, `worker:
  listeners: http://127.0.0.1:%d
  embedded.broker.port: %d
  offset.storage.file.filename: %s
  offset.flush.interval.ms: 200
`, restPort, brokerPort, filepath.Join(dir, "offsets.json")), 0o644); err != nil {
		t.Fatal(err)
	}
	connA := fmt.Sprintf(`name: a
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: postgres
  database.dbname: postgres
  topic.prefix: ta
  table.include.list: public.a
  slot.name: slot_a
`, pg.Port)
	// Debezium's "Deploying Debezium on Kubernetes" KafkaConnector, for
	// PostgreSQL: its labels, tasksMax next to tasks.max, numbers as YAML
	// numbers; the database coordinates are the test's.
	connB := func(extra string) string {
		return fmt.Sprintf(`apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaConnector
metadata:
  name: debezium-connector-postgres
  labels:
    strimzi.io/cluster: debezium-connect-cluster
spec:
  class: io.debezium.connector.postgresql.PostgresConnector
  tasksMax: 1
%s  config:
    tasks.max: 1
    database.hostname: 127.0.0.1
    database.port: %d
    database.user: postgres
    database.password: postgres
    database.dbname: postgres
    topic.prefix: tb
    table.include.list: public.b
    slot.name: slot_b
    publication.autocreate.mode: filtered
    publication.name: pub_b
`, extra, pg.Port)
	}
	const nameB = "debezium-connector-postgres"
	cm.publish(t, map[string]string{"a.yaml": connA})

	var logs logBuffer
	handler := slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})
	root := new(slog.LevelVar)
	loggers := rest.NewLoggers(root)
	env := &workerEnv{plugins: builtin().plugins(), converters: builtin().converters(), transforms: builtin().transformRegistry(),
		log: slog.New(loggers.Handler(handler)), loggers: loggers, connectorDirs: []string{cm.dir}}
	file, err := loadFiles([]string{workerYAML})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	workerDone := make(chan error, 1)
	go func() { workerDone <- runWorker(ctx, env, file, false, true) }()
	defer func() {
		cancel()
		select {
		case err := <-workerDone:
			if err != nil {
				t.Errorf("worker: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("worker did not stop")
		}
		if t.Failed() {
			logs.mu.Lock()
			t.Logf("worker log:\n%s", logs.b.String())
			logs.mu.Unlock()
		}
	}()
	url := fmt.Sprintf("http://127.0.0.1:%d", restPort)
	brokers := []string{fmt.Sprintf("127.0.0.1:%d", brokerPort)}
	state := func(name string) (string, string) {
		r := call(t, "GET", url+"/connectors/"+name+"/status", "")
		var st herder.ConnectorStateInfo
		if r.status != 200 || json.Unmarshal(r.body, &st) != nil {
			return fmt.Sprint(r.status), string(r.body)
		}
		ts := ""
		if len(st.Tasks) > 0 {
			ts = string(st.Tasks[0].State)
		}
		return string(st.Connector.State) + "/" + ts, string(r.body)
	}
	waitState := func(name, want string) {
		t.Helper()
		waitFor(t, 60*time.Second, name+" "+want, func() (bool, string) {
			s, body := state(name)
			return s == want, body
		})
	}
	waitState("a", "RUNNING/RUNNING")

	// Rows into both tables until stopped.
	conn, err := pgx.Connect(context.Background(), pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var writeA, writeB atomic.Bool
	writeA.Store(true)
	writeB.Store(true)
	var rowsA, rowsB atomic.Int64
	wctx, wstop := context.WithCancel(ctx)
	writerDone := make(chan error, 1)
	go func() {
		for wctx.Err() == nil {
			if writeA.Load() {
				if _, err := conn.Exec(wctx, "INSERT INTO public.a (v) VALUES (1)"); err != nil {
					writerDone <- err
					return
				}
				rowsA.Add(1)
			}
			if writeB.Load() {
				if _, err := conn.Exec(wctx, "INSERT INTO public.b (v) VALUES (1)"); err != nil {
					writerDone <- err
					return
				}
				rowsB.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
		writerDone <- nil
	}()
	startedB := func() int { return logs.count(`"msg":"task running","connector":"` + nameB + `"`) }
	startedA := func() int { return logs.count(`"msg":"task running","connector":"a"`) }

	// Add the KafkaConnector.
	cm.publish(t, map[string]string{"a.yaml": connA, "b.yaml": connB("")})
	waitState(nameB, "RUNNING/RUNNING")
	waitFor(t, 30*time.Second, "events of b", func() (bool, string) {
		n := len(topicKeys(brokers, "tb.public.b"))
		return n > 0, fmt.Sprint(n)
	})
	if r := call(t, "GET", url+"/connectors/"+nameB+"/config", ""); !strings.Contains(string(r.body), `"tasks.max":"1"`) ||
		!strings.Contains(string(r.body), `"connector.class":"io.debezium.connector.postgresql.PostgresConnector"`) {
		t.Fatalf("config of the KafkaConnector: %s", r.body)
	}

	// Edit it: only it restarts.
	a0, b0 := startedA(), startedB()
	cm.publish(t, map[string]string{"a.yaml": connA, "b.yaml": strings.Replace(connB(""), "    tasks.max: 1\n", "    tasks.max: 1\n    heartbeat.interval.ms: 60000\n", 1)})
	waitFor(t, 30*time.Second, "b restarted with the new configuration", func() (bool, string) {
		r := call(t, "GET", url+"/connectors/"+nameB+"/config", "")
		s, _ := state(nameB)
		return startedB() > b0 && s == "RUNNING/RUNNING" && strings.Contains(string(r.body), `"heartbeat.interval.ms":"60000"`), string(r.body)
	})
	time.Sleep(500 * time.Millisecond)
	if startedA() != a0 {
		t.Errorf("editing b's file restarted a's task (%d task starts, was %d)", startedA(), a0)
	}

	// A broken file changes nothing, and is reported.
	cm.publish(t, map[string]string{"a.yaml": connA, "b.yaml": "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaConnector\nmetadata: {name: " + nameB + "}\nspec:\n  clas: typo\n"})
	waitFor(t, 10*time.Second, "the broken file reported", func() (bool, string) {
		return logs.count("connector files not applied") > 0, ""
	})
	time.Sleep(300 * time.Millisecond)
	if s, body := state(nameB); s != "RUNNING/RUNNING" {
		t.Fatalf("after a broken file, %s is %s", nameB, body)
	}

	// Pause and resume through spec.state.
	edited := strings.Replace(connB(""), "    tasks.max: 1\n", "    tasks.max: 1\n    heartbeat.interval.ms: 60000\n", 1)
	cm.publish(t, map[string]string{"a.yaml": connA, "b.yaml": strings.Replace(edited, "  tasksMax: 1\n", "  tasksMax: 1\n  state: paused\n", 1)})
	waitState(nameB, "PAUSED/PAUSED")
	time.Sleep(300 * time.Millisecond)
	cm.publish(t, map[string]string{"a.yaml": connA, "b.yaml": strings.Replace(edited, "  tasksMax: 1\n", "  tasksMax: 1\n  state: running\n", 1)})
	waitState(nameB, "RUNNING/RUNNING")

	// Delete a's file once a has delivered everything written to its table.
	writeA.Store(false)
	time.Sleep(100 * time.Millisecond)
	wantA := int(rowsA.Load())
	waitFor(t, 60*time.Second, "every row of a in Kafka", func() (bool, string) {
		n := len(topicKeys(brokers, "ta.public.a"))
		return n == wantA, fmt.Sprintf("%d of %d", n, wantA)
	})
	cm.publish(t, map[string]string{"b.yaml": edited})
	waitFor(t, 30*time.Second, "a deleted", func() (bool, string) {
		r := call(t, "GET", url+"/connectors/a", "")
		return r.status == 404, fmt.Sprint(r.status)
	})
	if s, body := state(nameB); s != "RUNNING/RUNNING" {
		t.Fatalf("deleting a's file affected b: %s", body)
	}

	// Every row of b, across its restart, the broken file, pause and resume.
	time.Sleep(300 * time.Millisecond)
	wstop()
	if err := <-writerDone; err != nil && ctx.Err() == nil && !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("writer: %v", err)
	}
	wantB := int(rowsB.Load())
	waitFor(t, 60*time.Second, "every row of b in Kafka", func() (bool, string) {
		n := len(topicKeys(brokers, "tb.public.b"))
		return n == wantB, fmt.Sprintf("%d of %d", n, wantB)
	})
	t.Logf("rows delivered: a %d, b %d", wantA, wantB)
}
