package runtime_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestParkingIncompatibleSchema is the proof of per-table isolation: three
// PostgreSQL tables stream through the AvroConverter into Kafka under the
// registry's default BACKWARD compatibility; one table's column changes
// type (int → text), which the registry refuses (409). That table is
// parked while the other two keep delivering (measured); the committed
// source offset stays before its first held record; after the subject's
// compatibility is set to NONE and the table resumed, every one of its
// events arrives, in order.
func TestParkingIncompatibleSchema(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	pg.Exec(t, "app", `CREATE TABLE t1 (id int PRIMARY KEY, v int)`, `CREATE TABLE t2 (id int PRIMARY KEY, v int)`,
		`CREATE TABLE t3 (id int PRIMARY KEY, v int)`)
	reg := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	defer reg.Close()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := kafka.ClientConfig{Brokers: c.ListenAddrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := kafka.NewProducer(c.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	raw, err := kafka.NewRaw(c.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conv := func(isKey bool) *avro.Converter {
		cv, err := avro.New(map[string]string{"schema.registry.url": reg.URL}, isKey)
		if err != nil {
			t.Fatal(err)
		}
		return cv
	}
	logs := &logBuf{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	plugin := postgres.Plugin()
	vals, err := plugin.Config().Parse(map[string]string{
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pk", "plugin.name": "pgoutput", "slot.name": "park",
	})
	if err != nil {
		t.Fatal(err)
	}
	store := offsets.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	task, err := plugin.NewSourceTask(ctx, vals, connect.TaskContext{ConnectorName: "park", Logger: logger, Producer: raw,
		Offsets: runtime.OffsetReader{Store: store, Connector: "park"}})
	if err != nil {
		t.Fatal(err)
	}
	src := &runtime.Source{Name: "park", Task: task, Producer: prod, Offsets: store,
		KeyConverter: conv(true), ValueConverter: conv(false), FlushInterval: 100 * time.Millisecond, Logger: logger,
		Park: registry.IsIncompatible, Parking: runtime.NewParking(100000)}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()

	client, err := sarama.NewClient(c.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	count := func(table string) int64 {
		topic := "pk.public." + table
		_ = client.RefreshMetadata(topic)
		n, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
		if err != nil {
			return 0
		}
		return n
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s\n%s", what, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// A writer inserts one row per table per round, in id order.
	var mu sync.Mutex
	written := map[string]int{}
	parkedDDL := false
	write := func(rounds int) {
		for i := 0; i < rounds; i++ {
			mu.Lock()
			for _, tb := range []string{"t1", "t2", "t3"} {
				written[tb]++
				v := fmt.Sprint(written[tb])
				if tb == "t3" && parkedDDL {
					v = "'" + v + "'"
				}
				pg.Exec(t, "app", fmt.Sprintf("INSERT INTO %s VALUES (%d, %s)", tb, written[tb], v))
			}
			mu.Unlock()
		}
	}
	before := time.Now()
	write(20)
	waitFor("the first rows of every table", func() bool { return count("t1") >= 20 && count("t2") >= 20 && count("t3") >= 20 })
	rateBefore := float64(3*20) / time.Since(before).Seconds()

	// t3 changes v from int to text: BACKWARD refuses int → string.
	pg.Exec(t, "app", `ALTER TABLE t3 ALTER COLUMN v TYPE text`)
	parkedDDL = true
	base1, base2, base3 := count("t1"), count("t2"), count("t3")
	start := time.Now()
	write(60)
	waitFor("t1 and t2 to deliver while t3 is parked", func() bool { return count("t1") >= base1+60 && count("t2") >= base2+60 })
	elapsed := time.Since(start)
	waitFor("60 t3 records held", func() bool { return src.Stats.HeldRecords.Load() == 60 })
	parked := src.Parking.Tables()
	if len(parked) != 1 || parked[0].Table != "pk.public.t3" || parked[0].State != runtime.StatePausedSchema || parked[0].Held != 60 {
		t.Fatalf("parked tables %+v, want pk.public.t3 PAUSED_SCHEMA with 60 held records", parked)
	}
	if n := count("t3"); n != base3 {
		t.Errorf("t3 topic grew from %d to %d while parked", base3, n)
	}
	rate := float64(2*60) / elapsed.Seconds()
	t.Logf("before the change all three tables delivered %.1f events/s; while t3 was parked t1 and t2 delivered 120 events in %v (%.1f events/s; the writer, one INSERT per connection, is the bound); %d t3 events held",
		rateBefore, elapsed.Round(time.Millisecond), rate, parked[0].Held)
	t.Logf("parked reason: %.200s...", parked[0].Reason)
	if !strings.Contains(parked[0].Reason, "409") && !strings.Contains(parked[0].Reason, "incompatible") {
		t.Errorf("reason %q does not say the registry refused the schema", parked[0].Reason)
	}
	l := logs.String()
	if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "table=pk.public.t3") || !strings.Contains(l, `\"name\":\"pk.public.t3.Envelope\"`) {
		t.Errorf("no error log naming the table and the refused schema:\n%s", l)
	}
	if src.Stats.ParkedTables.Load() != 1 || src.Stats.HeldRecords.Load() != 60 {
		t.Errorf("stats: %d parked tables, %d held records", src.Stats.ParkedTables.Load(), src.Stats.HeldRecords.Load())
	}
	// The committed offset stays before the first held record.
	time.Sleep(300 * time.Millisecond) // a few flush intervals
	stored, err := store.Get(ctx, "park", map[string]any{"server": "pk"})
	if err != nil {
		t.Fatal(err)
	}
	first := parked[0].FirstOffset
	if lsn(stored["lsn"]) >= lsn(first["lsn"]) {
		t.Errorf("committed offset %v is at or past the first held record %v", stored, first)
	}
	if err := src.Parking.Resume("pk.public.t1"); err == nil {
		t.Error("resuming a table that is not parked succeeded")
	}

	// Still refused: it stays parked.
	if err := src.Parking.Resume("pk.public.t3"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if p := src.Parking.Tables(); len(p) != 1 || count("t3") != base3 {
		t.Fatalf("after a resume the registry still refuses: parked %+v, t3 has %d events (want %d)", p, count("t3"), base3)
	}
	// The operator relaxes the subject's compatibility and resumes.
	req, _ := http.NewRequest(http.MethodPut, reg.URL+"/config/pk.public.t3-value", strings.NewReader(`{"compatibility":"NONE"}`))
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT /config: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := src.Parking.Resume("pk.public.t3"); err != nil {
		t.Fatal(err)
	}
	write(10)
	waitFor("t3 to deliver everything", func() bool { return count("t3") >= int64(written["t3"]) })
	if p := src.Parking.Tables(); len(p) != 0 {
		t.Errorf("still parked after resume: %+v", p)
	}
	// Every t3 event, in order: ids 1..n.
	ids := readIDs(t, client, "pk.public.t3", conv(true))
	for i, id := range ids {
		if id != i+1 {
			t.Fatalf("t3 events out of order or missing at %d: got id %d (ids %v)", i, id, ids)
		}
	}
	if len(ids) != written["t3"] {
		t.Errorf("t3: %d events, %d rows written", len(ids), written["t3"])
	}
	t.Logf("t3 resumed: %d events in order, none lost", len(ids))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("source: %v", err)
	}
}

func lsn(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case int:
		return int64(x)
	}
	return -1
}

func readIDs(t *testing.T, client sarama.Client, topic string, keyConv *avro.Converter) []int {
	t.Helper()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var ids []int
	for off := int64(0); off < end; {
		m := <-pc.Messages()
		off = m.Offset + 1
		_, k, err := keyConv.ToConnect(topic, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, int(k.(*connect.StructValue).Get("id").(int32)))
	}
	return ids
}
