package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry/server"
	"github.com/tributary-io/tributary/sinks/jdbc"
)

// TestParkAndResumeTableREST parks a real source table through the whole
// worker: a PostgreSQL connector created with POST /connectors writes
// three tables through the AvroConverter to an embedded registry
// (BACKWARD, its default); t3's column changes from int to text, which the
// registry refuses. GET /connectors/{name}/status shows t3 PAUSED_SCHEMA
// with its reason and held records, /metrics counts it, t1 and t2 keep
// flowing; a resume while the registry still refuses leaves it parked;
// after PUT /config/<subject> NONE, POST /connectors/pg/tables/pk.public.t3/resume
// answers 202, the status lists no parked table and every t3 event is in
// its topic.
func TestParkAndResumeTableREST(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	for _, tb := range []string{"t1", "t2", "t3"} {
		pg.Exec(t, "app", fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, v int)", tb))
	}
	reg := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	t.Cleanup(reg.Close)
	w := startWorker(t, workerOpts{plugins: connect.Plugins{postgres.Plugin()},
		converters: map[string]func(map[string]string, bool) (converter.Converter, error){
			converter.AvroClass: func(props map[string]string, isKey bool) (converter.Converter, error) { return avro.New(props, isKey) },
		}})
	cfg, _ := json.Marshal(map[string]any{"name": "pg", "config": map[string]string{
		"connector.class": postgres.Class, "tasks.max": "1",
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pk", "plugin.name": "pgoutput", "slot.name": "restpark",
		"key.converter": converter.AvroClass, "key.converter.schema.registry.url": reg.URL,
		"value.converter": converter.AvroClass, "value.converter.schema.registry.url": reg.URL,
	}})
	if r := w.call(t, "POST", "/connectors", string(cfg)); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	w.waitStatus(t, "pg", "RUNNING", "RUNNING")

	sc, err := kafka.ClientConfig{Brokers: w.brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(w.brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	count := func(table string) int64 {
		topic := "pk.public." + table
		_ = client.RefreshMetadata(topic)
		n, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
		if err != nil {
			return 0
		}
		return n
	}
	written, textual := 0, false
	write := func(rounds int) {
		for i := 0; i < rounds; i++ {
			written++
			for _, tb := range []string{"t1", "t2", "t3"} {
				v := fmt.Sprint(written)
				if tb == "t3" && textual {
					v = "'" + v + "'"
				}
				pg.Exec(t, "app", fmt.Sprintf("INSERT INTO %s VALUES (%d, %s)", tb, written, v))
			}
		}
	}
	status := func() runtime.ParkedTable {
		t.Helper()
		r := w.call(t, "GET", "/connectors/pg/status", "")
		var st struct {
			Tasks []struct {
				State  string                `json:"state"`
				Tables []runtime.ParkedTable `json:"tables"`
			} `json:"tasks"`
		}
		r.json(t, &st)
		if r.status != 200 || len(st.Tasks) != 1 || len(st.Tasks[0].Tables) > 1 {
			t.Fatalf("status: %d %s", r.status, r.body)
		}
		if len(st.Tasks[0].Tables) == 0 {
			return runtime.ParkedTable{}
		}
		return st.Tasks[0].Tables[0]
	}
	metric := func() string {
		t.Helper()
		r := w.call(t, "GET", "/metrics", "")
		for _, l := range strings.Split(string(r.body), "\n") {
			if strings.HasPrefix(l, "tributary_source_tables_paused_schema{") && strings.Contains(l, `connector="pg"`) {
				return l[strings.LastIndexByte(l, ' ')+1:]
			}
		}
		return ""
	}

	// The slot is created before the first write is read by streaming:
	// wait for the snapshot's topics instead of racing it.
	write(10)
	eventually(t, 60*time.Second, "the first rows of every table", func() (bool, string) {
		return count("t1") >= 10 && count("t2") >= 10 && count("t3") >= 10, fmt.Sprint(count("t1"), count("t2"), count("t3"))
	})
	if p := status(); p.Table != "" {
		t.Fatalf("parked before any change: %+v", p)
	}

	pg.Exec(t, "app", "ALTER TABLE t3 ALTER COLUMN v TYPE text")
	textual = true
	base3 := count("t3")
	write(20)
	eventually(t, 60*time.Second, "t3 parked with 20 records held", func() (bool, string) {
		p := status()
		return p.Table == "pk.public.t3" && p.Held == 20, fmt.Sprintf("%+v", p)
	})
	p := status()
	if p.State != runtime.StatePausedSchema || !strings.Contains(p.Reason, "incompatible") || !strings.Contains(p.Schema, "pk.public.t3.Envelope") || p.FirstOffset == nil {
		t.Errorf("parked table in the status: %+v", p)
	}
	t.Logf("status while parked: table=%s state=%s held=%d first_offset=%v reason=%.120s", p.Table, p.State, p.Held, p.FirstOffset, p.Reason)
	eventually(t, 10*time.Second, "the metric counting the parked table", func() (bool, string) { m := metric(); return m == "1", m })
	eventually(t, 60*time.Second, "t1 and t2 delivering while t3 is parked", func() (bool, string) {
		return count("t1") >= int64(written) && count("t2") >= int64(written), fmt.Sprint(count("t1"), count("t2"))
	})
	if n := count("t3"); n != base3 {
		t.Errorf("t3's topic grew from %d to %d while parked", base3, n)
	}

	// Resumed while the registry still refuses: parked again, same records.
	if r := w.call(t, "POST", "/connectors/pg/tables/pk.public.t3/resume", ""); r.status != 202 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	time.Sleep(500 * time.Millisecond)
	if p := status(); p.Table != "pk.public.t3" || p.Held != 20 || count("t3") != base3 {
		t.Fatalf("after a resume the registry still refuses: %+v, t3 has %d events (want %d)", p, count("t3"), base3)
	}
	if r := w.call(t, "POST", "/connectors/pg/tables/pk.public.t1/resume", ""); r.status != 404 {
		t.Errorf("resume of a table that is not parked: %d %s", r.status, r.body)
	}

	req, _ := http.NewRequest(http.MethodPut, reg.URL+"/config/pk.public.t3-value", strings.NewReader(`{"compatibility":"NONE"}`))
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT /config: %s", resp.Status)
	}
	if r := w.call(t, "POST", "/connectors/pg/tables/pk.public.t3/resume", ""); r.status != 202 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	write(5)
	eventually(t, 60*time.Second, "t3 delivering everything", func() (bool, string) {
		return count("t3") >= int64(written), fmt.Sprint(count("t3"), " of ", written)
	})
	if p := status(); p.Table != "" {
		t.Errorf("still parked after the resume: %+v", p)
	}
	eventually(t, 10*time.Second, "the metric back to 0", func() (bool, string) { m := metric(); return m == "0", m })
	if n := count("t3"); n != int64(written) {
		t.Errorf("t3 has %d events, %d rows written", n, written)
	}
	w.waitStatus(t, "pg", "RUNNING", "RUNNING")
}

// TestSinkParkingREST parks a sink partition through the whole worker: a
// PostgreSQL connector streams t1 and t3 (JsonConverter) into a JDBC sink
// writing to another database (schema.evolution=basic). t3's column
// changes from int to text, which basic does not apply to the target's
// integer column: GET /connectors/sink/status shows t3 PAUSED_SCHEMA with
// the record's topic, partition and offset, /metrics counts the parked
// partition, t1 keeps flowing. After ALTER TABLE on the target, the
// partition-level resume (POST /connectors/sink/tables/pk.public.t3-0/resume)
// delivers the rest and the target equals the source.
func TestSinkParkingREST(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	pg.CreateDatabase(t, "target")
	for _, tb := range []string{"t1", "t3"} {
		pg.Exec(t, "app", fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, v int)", tb))
	}
	w := startWorker(t, workerOpts{plugins: connect.Plugins{postgres.Plugin(), jdbc.Plugin()}})
	jsonConv := map[string]string{"key.converter": converter.JSONClass, "key.converter.schemas.enable": "true",
		"value.converter": converter.JSONClass, "value.converter.schemas.enable": "true"}
	create := func(name string, props map[string]string) {
		t.Helper()
		for k, v := range jsonConv {
			props[k] = v
		}
		props["tasks.max"] = "1"
		b, _ := json.Marshal(map[string]any{"name": name, "config": props})
		if r := w.call(t, "POST", "/connectors", string(b)); r.status != 201 {
			t.Fatalf("create %s: %d %s", name, r.status, r.body)
		}
	}
	create("pg", map[string]string{"connector.class": postgres.Class,
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pk", "plugin.name": "pgoutput", "slot.name": "sinkpark"})
	w.waitStatus(t, "pg", "RUNNING", "RUNNING")
	create("sink", map[string]string{
		"connector.class":        jdbc.DebeziumClass,
		"connection.url":         fmt.Sprintf("jdbc:postgresql://%s:%d/target?user=postgres&sslmode=disable", pg.Host, pg.Port),
		"topics":                 "pk.public.t1,pk.public.t3",
		"insert.mode":            "upsert",
		"primary.key.mode":       "record_key",
		"schema.evolution":       "basic",
		"collection.name.format": "${source.table}",
	})
	w.waitStatus(t, "sink", "RUNNING", "RUNNING")

	conns := map[string]*pgx.Conn{}
	for _, db := range []string{"app", "target"} {
		c, err := pgx.Connect(context.Background(), pg.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		conns[db] = c
	}
	rows := func(db, table string) string {
		var out string
		if err := conns[db].QueryRow(context.Background(), "SELECT coalesce(string_agg(id || '=' || v::text, ',' ORDER BY id), '') FROM "+table).Scan(&out); err != nil {
			return "error: " + err.Error()
		}
		return out
	}
	written, textual := 0, false
	write := func(rounds int) {
		for i := 0; i < rounds; i++ {
			written++
			pg.Exec(t, "app", fmt.Sprintf("INSERT INTO t1 VALUES (%d, %d)", written, written))
			v := fmt.Sprint(written)
			if textual {
				v = "'x" + v + "'"
			}
			pg.Exec(t, "app", fmt.Sprintf("INSERT INTO t3 VALUES (%d, %s)", written, v))
		}
	}
	type parked struct {
		Table       string         `json:"table"`
		State       string         `json:"state"`
		Reason      string         `json:"reason"`
		FirstOffset map[string]any `json:"first_offset"`
	}
	status := func() []parked {
		t.Helper()
		r := w.call(t, "GET", "/connectors/sink/status", "")
		var st struct {
			Tasks []struct {
				Tables []parked `json:"tables"`
			} `json:"tasks"`
		}
		r.json(t, &st)
		if r.status != 200 || len(st.Tasks) != 1 {
			t.Fatalf("status: %d %s", r.status, r.body)
		}
		return st.Tasks[0].Tables
	}
	metric := func() string {
		t.Helper()
		r := w.call(t, "GET", "/metrics", "")
		for _, l := range strings.Split(string(r.body), "\n") {
			if strings.HasPrefix(l, "tributary_sink_partitions_paused_schema{") && strings.Contains(l, `connector="sink"`) {
				return l[strings.LastIndexByte(l, ' ')+1:]
			}
		}
		return ""
	}

	write(10)
	eventually(t, 60*time.Second, "t1 and t3 at the target", func() (bool, string) {
		return rows("target", "t1") == rows("app", "t1") && rows("target", "t3") == rows("app", "t3"), rows("target", "t3")
	})
	pg.Exec(t, "app", "ALTER TABLE t3 ALTER COLUMN v TYPE text")
	textual = true
	write(10)
	var p []parked
	eventually(t, 60*time.Second, "t3's partition parked", func() (bool, string) {
		p = status()
		return len(p) == 1, fmt.Sprintf("%+v", p)
	})
	if p[0].Table != "t3" || p[0].State != runtime.StatePausedSchema || p[0].FirstOffset["topic"] != "pk.public.t3" ||
		p[0].FirstOffset["partition"] != float64(0) || p[0].FirstOffset["offset"] != float64(10) || !strings.Contains(p[0].Reason, "is now text") {
		t.Errorf("parked partition in the status: %+v", p[0])
	}
	t.Logf("sink status while parked: %+v", p[0])
	eventually(t, 10*time.Second, "the metric counting the parked partition", func() (bool, string) { m := metric(); return m == "1", m })
	eventually(t, 60*time.Second, "t1 delivering while t3 is parked", func() (bool, string) {
		return rows("target", "t1") == rows("app", "t1"), rows("target", "t1")
	})
	if r := w.call(t, "POST", "/connectors/sink/tables/t1/resume", ""); r.status != 404 {
		t.Errorf("resume of a table that is not parked: %d %s", r.status, r.body)
	}

	pg.Exec(t, "target", "ALTER TABLE t3 ALTER COLUMN v TYPE text")
	if r := w.call(t, "POST", "/connectors/sink/tables/pk.public.t3-0/resume", ""); r.status != 202 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	write(5)
	eventually(t, 60*time.Second, "t3 equal at the target", func() (bool, string) {
		return rows("target", "t3") == rows("app", "t3"), rows("target", "t3")
	})
	if p := status(); len(p) != 0 {
		t.Errorf("still parked after the resume: %+v", p)
	}
	eventually(t, 10*time.Second, "the metric back to 0", func() (bool, string) { m := metric(); return m == "0", m })
	w.waitStatus(t, "sink", "RUNNING", "RUNNING")
}
