package cli

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/testdb"
)

const migrateTestdata = "testdata/migrate"

// fillTemplate reads a testdata file and replaces its ${NAME} placeholders.
func fillTemplate(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(migrateTestdata, name))
	if err != nil {
		t.Fatal(err)
	}
	s := os.Expand(string(b), func(k string) string {
		v, ok := vars[k]
		if !ok {
			t.Fatalf("%s: no value for ${%s}", name, k)
		}
		return v
	})
	return s
}

// runInProcess runs `tributary args...` until the returned stop is called.
func runInProcess(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := newRootCmd(Extensions{})
		root.SetArgs(append([]string{"--log-level", "warn"}, args...))
		done <- root.ExecuteContext(ctx)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("tributary %s: %v", strings.Join(args, " "), err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("tributary %s did not stop within 60s", strings.Join(args, " "))
		}
	}
	t.Cleanup(stop)
	return stop
}

// changeEvent is the part of a schemaless JSON change event the migration
// tests look at.
type changeEvent struct {
	Op    string         `json:"op"`
	After map[string]any `json:"after"`
}

// waitEvents reads topic until it holds at least want events or 90 s pass.
func waitEvents(t *testing.T, brokers []string, topic string, want int) []changeEvent {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		evs := readEvents(t, brokers, topic)
		if len(evs) >= want || time.Now().After(deadline) {
			return evs
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func readEvents(t *testing.T, brokers []string, topic string) []changeEvent {
	client, err := sarama.NewClient(brokers, sarama.NewConfig())
	if err != nil {
		return nil
	}
	defer client.Close()
	parts, err := client.Partitions(topic)
	if err != nil {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil
	}
	defer consumer.Close()
	var out []changeEvent
	for _, p := range parts {
		hw, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil || hw == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			continue
		}
		for i := int64(0); i < hw; i++ {
			m := <-pc.Messages()
			if m.Value == nil {
				continue
			}
			var ev changeEvent
			if err := json.Unmarshal(m.Value, &ev); err != nil {
				t.Fatalf("%s offset %d: %v: %s", topic, m.Offset, err, m.Value)
			}
			out = append(out, ev)
		}
		pc.Close()
	}
	return out
}

// checkResumed requires exactly the events of rows wantIDs, each a
// streamed create: no snapshot read (op r), nothing Debezium had already
// delivered, nothing missing.
func checkResumed(t *testing.T, evs []changeEvent, wantIDs ...int) {
	t.Helper()
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%s:%v", e.Op, e.After["id"]))
	}
	sort.Strings(got)
	var want []string
	for _, id := range wantIDs {
		want = append(want, fmt.Sprintf("c:%d", id))
	}
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("events after migration: %v, want %v (streamed creates only: no snapshot, no gap, nothing Debezium already delivered)", got, want)
	}
}

func TestMigratePostgresFromREST(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "shop")
	// What Debezium left behind: its publication and slot, and three rows
	// it delivered before Kafka Connect was stopped.
	pg.Exec(t, "shop",
		"CREATE TABLE customers (id int PRIMARY KEY, name text)",
		"CREATE PUBLICATION dbz_publication FOR ALL TABLES",
		"SELECT pg_create_logical_replication_slot('debezium', 'pgoutput')",
		"SELECT pg_create_logical_replication_slot('probe', 'pgoutput')",
		"INSERT INTO customers VALUES (1, 'one')",
		"INSERT INTO customers VALUES (2, 'two')",
		"INSERT INTO customers VALUES (3, 'three')")
	// Debezium's offset after the last row it delivered (row 3's INSERT):
	// lsn and lsn_proc are the change's LSN, lsn_commit its transaction's
	// commit LSN (pgoutput's BEGIN final_lsn), txId the xid.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN("shop"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes('probe', NULL, NULL, 'proto_version', '1', 'publication_names', 'dbz_publication')")
	if err != nil {
		t.Fatal(err)
	}
	var lsn, commit pglogrepl.LSN
	var xid uint32
	for rows.Next() {
		var l string
		var data []byte
		if err := rows.Scan(&l, &data); err != nil {
			t.Fatal(err)
		}
		msg, err := pglogrepl.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pglogrepl.BeginMessage:
			commit, xid = m.FinalLSN, m.Xid
		case *pglogrepl.InsertMessage:
			if lsn, err = pglogrepl.ParseLSN(l); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rows.Err() != nil || lsn == 0 {
		t.Fatalf("peek: %v, insert lsn %s", rows.Err(), lsn)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_drop_replication_slot('probe')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	// Written while neither Kafka Connect nor Tributary was running.
	pg.Exec(t, "shop", "INSERT INTO customers VALUES (4, 'four')", "INSERT INTO customers VALUES (5, 'five')")

	vars := map[string]string{"PG_PORT": fmt.Sprint(pg.Port), "LSN": fmt.Sprint(uint64(lsn)), "LSN_COMMIT": fmt.Sprint(uint64(commit)), "TXID": fmt.Sprint(xid)}
	connectors := fillTemplate(t, "rest-connectors.json", vars)
	pgOffsets := fillTemplate(t, "rest-offsets-pg-inventory.json", vars)
	var requests []string
	connect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.Method+" "+r.URL.RequestURI())
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/connectors":
			if r.URL.Query()["expand"] == nil {
				http.Error(w, "expected expand", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, connectors)
		case "/connectors/pg-inventory/offsets":
			fmt.Fprint(w, pgOffsets)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error_code":404,"message":"Unknown path %s"}`, r.URL.Path)
		}
	}))
	defer connect.Close()

	out := t.TempDir()
	report, code := runCmd(t, "migrate", "--from", connect.URL, "--out", out)
	t.Logf("migrate:\n%s\nrequests: %v", report, requests)
	if code != 0 {
		t.Fatalf("migrate exit %d", code)
	}
	// The stored offset is Debezium's, unchanged.
	store, err := offsets.OpenFile(filepath.Join(out, "offsets.json"))
	if err != nil {
		t.Fatal(err)
	}
	stored, err := store.Get(ctx, "pg-inventory", map[string]any{"server": "pgshop"})
	if err != nil {
		t.Fatal(err)
	}
	if stored["lsn"] != int64(lsn) || stored["lsn_commit"] != int64(commit) || stored["txId"] != int64(xid) || stored["messageType"] != "INSERT" {
		t.Fatalf("stored offset %v, want Debezium's lsn=%d lsn_commit=%d txId=%d", stored, lsn, commit, xid)
	}
	// The paused sink keeps its state; the stopped source (stopped for the
	// migration) is written as stopped too.
	for name, state := range map[string]string{"jdbc-orders-sink": config.StatePaused, "pg-inventory": config.StateStopped} {
		f, err := config.LoadFile(filepath.Join(out, "connectors", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Connectors) != 1 || f.Connectors[0].Name != name || f.Connectors[0].State != state {
			t.Fatalf("%s: %+v, want state %s", name, f.Connectors, state)
		}
	}

	// Resume in Tributary, started as operators would after the
	// migration: --start writes the connector running.
	out2 := t.TempDir()
	if report, code := runCmd(t, "migrate", "--from", connect.URL, "--out", out2, "--start"); code != 0 {
		t.Fatalf("migrate --start exit %d:\n%s", code, report)
	}
	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	extra := filepath.Join(t.TempDir(), "kafka.yaml")
	if err := os.WriteFile(extra, []byte("worker:\n  bootstrap.servers: "+strings.Join(emb.Addrs(), ",")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := runInProcess(t, "run", "-c", filepath.Join(out2, "worker.yaml"), "-c", extra, "-c", filepath.Join(out2, "connectors", "pg-inventory.yaml"))
	waitEvents(t, emb.Addrs(), "pgshop.public.customers", 2)
	pg.Exec(t, "shop", "INSERT INTO customers VALUES (6, 'six')")
	evs := waitEvents(t, emb.Addrs(), "pgshop.public.customers", 3)
	stop()
	checkResumed(t, evs, 4, 5, 6)
}

func TestMigrateMariaDBFromTopics(t *testing.T) {
	m := testdb.StartMariaDB(t)
	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(%s:%d)/test", m.Host, m.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	status := func() (file string, pos int64, gtids string) {
		t.Helper()
		var skip any
		if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &skip, &skip); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtids); err != nil {
			t.Fatal(err)
		}
		return
	}
	m.Exec(t, "test", "CREATE TABLE customers (id int PRIMARY KEY, name varchar(255))")
	file, snapPos, snapGtids := status() // where Debezium's snapshot ran
	m.Exec(t, "test", "INSERT INTO customers VALUES (1, 'one')", "INSERT INTO customers VALUES (2, 'two')")
	_, txStart, before := status()
	m.Exec(t, "test", "INSERT INTO customers VALUES (3, 'three')")
	// Debezium's offset after row 3: the restart position is its
	// transaction's start with the GTID set before it, and the events and
	// rows of the transaction already handled are to be skipped: every
	// event before the Write_rows event that the server sends Debezium,
	// and its one row. Annotate_rows events are sent only to replicas that
	// ask for them, which Debezium does only with include.query=true.
	rows, err := db.Query(fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d", file, txStart))
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	events := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		typ := fmt.Sprintf("%s", vals[2])
		if strings.HasPrefix(typ, "Write_rows") {
			break
		}
		if typ != "Annotate_rows" {
			events++
		}
	}
	rows.Close()
	m.Exec(t, "test", "INSERT INTO customers VALUES (4, 'four')", "INSERT INTO customers VALUES (5, 'five')")

	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	brokers := strings.Join(emb.Addrs(), ",")
	vars := map[string]string{"MDB_PORT": fmt.Sprint(m.Port), "BROKERS": brokers, "FILE": file, "POS": fmt.Sprint(txStart),
		"GTIDS": before, "EVENT": fmt.Sprint(events), "SNAP_POS": fmt.Sprint(snapPos), "SNAP_GTIDS": snapGtids}
	psc := sarama.NewConfig()
	psc.Producer.Return.Successes = true
	raw, err := kafka.NewRaw(emb.Addrs(), psc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	produce := func(topic string, partitions int32, configs map[string]string, file string, keyed bool) {
		t.Helper()
		if _, err := raw.CreateTopic(ctx, topic, partitions, configs); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(fillTemplate(t, file, vars)))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			var key, value []byte
			if keyed {
				var rec struct{ Key, Value json.RawMessage }
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatalf("%s: %v", file, err)
				}
				key, value = rec.Key, rec.Value
				var s string
				if json.Unmarshal(rec.Key, &s) == nil {
					key = []byte(s) // config topic keys are plain strings
				}
			} else {
				value = append([]byte(nil), line...)
			}
			if err := raw.ProducePartition(ctx, topic, 0, key, value); err != nil {
				t.Fatal(err)
			}
		}
	}
	compact := map[string]string{"cleanup.policy": "compact"}
	produce("connect-configs", 1, compact, "connect-configs.jsonl", true)
	produce("connect-offsets", 1, compact, "connect-offsets.jsonl", true)
	produce("schema-changes.mdbshop", 1, map[string]string{"cleanup.policy": "delete", "retention.ms": "-1"}, "schema-history.jsonl", false)

	out := t.TempDir()
	report, code := runCmd(t, "migrate", "--bootstrap-servers", brokers, "--out", out)
	t.Logf("migrate:\n%s", report)
	if code != 0 {
		t.Fatalf("migrate exit %d", code)
	}
	if f, err := config.LoadFile(filepath.Join(out, "connectors", "mdb-paused.yaml")); err != nil || f.Connectors[0].State != config.StatePaused {
		t.Fatalf("mdb-paused: %v %+v, want a paused connector", err, f)
	}
	extra := filepath.Join(t.TempDir(), "kafka.yaml")
	if err := os.WriteFile(extra, []byte("worker:\n  bootstrap.servers: "+brokers+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := runInProcess(t, "run", "-c", filepath.Join(out, "worker.yaml"), "-c", extra, "-c", filepath.Join(out, "connectors", "mdb-inventory.yaml"))
	waitEvents(t, emb.Addrs(), "mdbshop.test.customers", 2)
	m.Exec(t, "test", "INSERT INTO customers VALUES (6, 'six')")
	evs := waitEvents(t, emb.Addrs(), "mdbshop.test.customers", 3)
	stop()
	checkResumed(t, evs, 4, 5, 6)
}
