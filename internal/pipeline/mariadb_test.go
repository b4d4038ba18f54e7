package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/testbus"
	"github.com/tributary-io/tributary/internal/testdb"
)

// TestMariaDBCrashRecovery: MariaDB → NATS JetStream with no Kafka at
// all: offsets in a JetStream key-value bucket, the schema history in a
// file (FileSchemaHistory) or a Redis stream (RedisSchemaHistory). The
// pipeline process is killed with SIGKILL while a writer inserts rows and
// then updates each, and the table gains a column part way through: every
// row's insert and update arrive, the insert first, none twice (JetStream's
// duplicate window), and every row written after the ALTER carries the new
// column, which needs the history recovered after each restart.
func TestMariaDBCrashRecovery(t *testing.T) {
	for _, store := range []string{"file", "redis"} {
		t.Run(store, func(t *testing.T) { mariadbCrash(t, store) })
	}
}

func mariadbCrash(t *testing.T, store string) {
	db := testdb.StartMariaDB(t)
	const initialRows = 2000
	db.Exec(t, "", "CREATE DATABASE app")
	db.Exec(t, "app", "CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(20) NOT NULL)",
		"SET SESSION max_recursive_iterations = 100000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM g WHERE n < %d) SELECT n, 'init' FROM g", initialRows))
	ns := testbus.StartNATS(t, testbus.NATSOptions{})
	source := map[string]any{
		"connector.class": "mariadb", "database.hostname": db.Host, "database.port": fmt.Sprint(db.Port),
		"database.user": "root", "database.server.id": "5601", "topic.prefix": "mariadb1", "database.include.list": "app",
		"include.schema.changes": "false",
		"key.converter":          "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
		"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
	}
	historyFile := filepath.Join(t.TempDir(), "history", "schema-history.dat")
	var historyRecords func() string
	switch store {
	case "file":
		source["schema.history.internal"] = "io.debezium.storage.file.history.FileSchemaHistory"
		source["schema.history.internal.file.filename"] = historyFile
		historyRecords = func() string { b, _ := os.ReadFile(historyFile); return string(b) }
	case "redis":
		rs := testbus.StartRedis(t, "")
		source["schema.history.internal"] = "io.debezium.storage.redis.history.RedisSchemaHistory"
		source["schema.history.internal.redis.address"] = rs.Addr()
		historyRecords = func() string {
			c := redisClient(rs.Addr())
			defer c.Close()
			xs, _ := c.XRange(context.Background(), "metadata:debezium:schema_history", "-", "+").Result()
			var b strings.Builder
			for _, x := range xs {
				fmt.Fprintln(&b, x.Values["schema"])
			}
			return b.String()
		}
	}
	raw, _ := json.Marshal(map[string]any{
		"worker": map[string]any{"offset.flush.interval.ms": "100"},
		"sink": map[string]any{"connector.class": "nats-jetstream-sink", "nats.url": ns.URL(), "nats.subject": "cdc.${topic}",
			"nats.stream.create": "true", "nats.stream.name": "CDC", "offset.storage": "nats"},
		"name": "maria", "config": source,
	})
	path := filepath.Join(t.TempDir(), "pipeline.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(path)
	read := func() [][]byte {
		var out [][]byte
		for _, m := range readStream(t, ns.URL(), "CDC") {
			out = append(out, m.Data)
		}
		return out
	}

	const firstID = 1_000_000
	// Rows from ddlID on are written after the ALTER, with extra = id%1000.
	const ddlID = firstID + 150
	var next atomic.Int64
	next.Store(firstID)
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
			id := next.Load()
			stmts := []string{fmt.Sprintf("INSERT INTO t (id, v) VALUES (%d, 'a')", id), fmt.Sprintf("UPDATE t SET v = 'u' WHERE id = %d", id)}
			if id == ddlID {
				stmts = append([]string{"ALTER TABLE t ADD COLUMN extra INT NULL"}, stmts...)
			}
			if id >= ddlID {
				stmts[len(stmts)-2] = fmt.Sprintf("INSERT INTO t (id, v, extra) VALUES (%d, 'a', %d)", id, id%1000)
			}
			if err := db.ExecContext(context.Background(), "app", stmts...); err != nil {
				t.Errorf("workload: %v", err)
				return
			}
			next.Add(1)
			time.Sleep(3 * time.Millisecond)
		}
	}()
	for i := 0; i < crashtest.Iterations(); i++ {
		child := crashtest.Start(t, "TestCrashChild", crashEnv, arg)
		d := time.Duration(1500+rand.IntN(2500)) * time.Millisecond
		time.Sleep(d)
		if child.Exited() {
			t.Fatalf("pipeline exited:\n%s", crashtest.Tail(child.Output(), 30))
		}
		child.Kill()
		t.Logf("kill %d after %v (%d rows written, ALTER at %d), %s; %d events arrived", i+1, d, next.Load()-firstID, ddlID-firstID,
			crashtest.Phase(child.Output(), "snapshot step", "streaming started"), len(read()))
	}
	// at least one restart after the ALTER
	testbus.WaitFor(t, time.Minute, "the ALTER", func() bool { return next.Load() > ddlID+50 })
	child := crashtest.Start(t, "TestCrashChild", crashEnv, arg)
	time.Sleep(time.Duration(1500+rand.IntN(1000)) * time.Millisecond)
	child.Kill()
	close(stop)
	wg.Wait()
	last := next.Load()

	final := crashtest.Start(t, "TestCrashChild", crashEnv, arg)
	var c check
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c = checkStream(t, read(), initialRows, last)
		if c.missing == 0 || time.Now().After(deadline) || final.Exited() {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	final.Kill()
	if c.missing > 0 {
		t.Logf("final run:\n%s", crashtest.Tail(final.Output(), 40))
	}
	badExtra := 0
	for _, m := range read() {
		var e struct {
			After struct {
				ID    int64  `json:"id"`
				Extra *int64 `json:"extra"`
			} `json:"after"`
		}
		if err := json.Unmarshal(m, &e); err != nil {
			t.Fatal(err)
		}
		if id := e.After.ID; id >= ddlID && (e.After.Extra == nil || *e.After.Extra != id%1000) {
			badExtra++
		}
	}
	hist := historyRecords()
	t.Logf("%d kills: %d events arrived; %d missing, %d updates before their insert, %d streamed changes twice, %d snapshot rows read again, %d rows after the ALTER without their column; %d history records",
		crashtest.Iterations()+1, c.messages, c.missing, c.outOfOrder, c.streamDups, c.snapshotDups, badExtra, strings.Count(hist, "\n"))
	if !strings.Contains(hist, "ALTER TABLE t ADD COLUMN extra INT NULL") {
		t.Errorf("the schema history has no record of the ALTER:\n%s", hist)
	}
	if c.missing > 0 || c.outOfOrder > 0 || c.streamDups > 0 || badExtra > 0 {
		t.Fatal("events lost, reordered, duplicated or decoded with the wrong table structure")
	}
}

func redisClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: addr, DisableIdentity: true})
}

// TestMariaDBNeedsHistoryStore: in a pipeline there is no Kafka for the
// default KafkaSchemaHistory; the error says which stores to use.
func TestMariaDBNeedsHistoryStore(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	f := &config.File{Worker: map[string]string{"offset.storage.file.filename": filepath.Join(t.TempDir(), "o.json")},
		Sink: map[string]string{"connector.class": "webhook-sink", "http.api.url": srv.URL},
		Connectors: []config.Connector{{Name: "maria", Config: map[string]string{"connector.class": "mariadb", "database.hostname": "127.0.0.1",
			"database.user": "root", "database.server.id": "1", "topic.prefix": "m", "schema.history.internal.kafka.topic": "h"}}}}
	err := runner().Run(context.Background(), f)
	want := "there is no Kafka to keep the schema history in (a Kafka-less pipeline); set schema.history.internal=io.debezium.storage.file.history.FileSchemaHistory"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
}
