package jdbc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	_ "github.com/go-sql-driver/mysql"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/internal/transforms"
)

// --- harness: in-process Kafka, the sink runtime, real databases ---

func startKafka(t testing.TB) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func saramaCfg() *sarama.Config {
	c := sarama.NewConfig()
	c.Version = sarama.V2_8_0_0
	c.Producer.Return.Successes = true
	c.Producer.Partitioner = sarama.NewManualPartitioner
	// Kafka Connect's sink consumers start at the earliest offset; Run
	// honours the configuration's choice (consumer.auto.offset.reset), as
	// internal/kafka builds it.
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	return c
}

func produceMsgs(t testing.TB, c *kfake.Cluster, topic string, msgs []kafkaMsg) {
	t.Helper()
	p, err := sarama.NewSyncProducer(c.ListenAddrs(), saramaCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	batch := make([]*sarama.ProducerMessage, 0, len(msgs))
	for _, m := range msgs {
		pm := &sarama.ProducerMessage{Topic: topic, Partition: 0}
		if m.key != nil {
			pm.Key = sarama.ByteEncoder(m.key)
		}
		if m.value != nil {
			pm.Value = sarama.ByteEncoder(m.value)
		}
		batch = append(batch, pm)
	}
	if err := p.SendMessages(batch); err != nil {
		t.Fatal(err)
	}
}

// sinkDef is what the CLI will parse a sink connector's properties with.
func sinkDef() *config.Def {
	d := debeziumDef().Merge(sinkrunner.Def()).Merge(transforms.Def())
	d.Define(config.Key{Name: "name"}).Define(config.Key{Name: "connector.class"})
	return d
}

func sinkProps(t testing.TB, kv map[string]string) *config.Values {
	t.Helper()
	v, err := sinkDef().Parse(kv)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sink is one run of the connector: a task and the runtime around it.
type sink struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (s *sink) stop(t testing.TB) error {
	t.Helper()
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		t.Fatal("sink did not stop")
	}
	return s.err
}

func startSink(t testing.TB, c *kfake.Cluster, name string, props *config.Values) *sink {
	return startSinkWith(t, c, name, props, nil)
}

// startSinkWith starts a sink whose task is wrapped by wrap (nil: none);
// wrap gets the function that kills the sink.
func startSinkWith(t testing.TB, c *kfake.Cluster, name string, props *config.Values, wrap func(connect.SinkTask, context.CancelFunc) connect.SinkTask) *sink {
	t.Helper()
	return startSinkParking(t, c, name, props, wrap, nil)
}

// startSinkParking is startSinkWith with the parking the runtime reports
// parked partitions to (nil: its own).
func startSinkParking(t testing.TB, c *kfake.Cluster, name string, props *config.Values, wrap func(connect.SinkTask, context.CancelFunc) connect.SinkTask, parking *sinkrunner.Parking) *sink {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sink{name: name, cancel: cancel, done: make(chan struct{})}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	task, err := NewTask(ctx, DebeziumClass, props, logger)
	if err != nil {
		cancel()
		t.Fatalf("NewTask: %v", err)
	}
	chain, err := transforms.Builtin(logger).Build(props)
	if err != nil {
		cancel()
		t.Fatalf("transforms: %v", err)
	}
	var st connect.SinkTask = task
	if wrap != nil {
		st = wrap(task, cancel)
	}
	go func() {
		defer close(s.done)
		defer task.Close()
		s.err = sinkrunner.Run(ctx, sinkrunner.Config{
			Brokers: c.ListenAddrs(), SaramaConfig: saramaCfg(), ConnectorName: name, Props: props, Task: st,
			KeyConverter: &converter.JSON{SchemasEnabled: true}, ValueConverter: &converter.JSON{SchemasEnabled: true},
			Transforms: chain, Logger: logger, RetryBackoff: 20 * time.Millisecond, Parking: parking,
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// waitKilledOrDrained waits for the sink to be killed; if it consumes the
// whole stream first, it stops it normally and reports false.
func waitKilledOrDrained(t testing.TB, c *kfake.Cluster, s *sink, end int64) bool {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return true
		case <-time.After(100 * time.Millisecond):
		}
		if committedOffset(t, c, "connect-"+s.name, everythingTopic) >= end {
			s.stop(t)
			return false
		}
	}
	t.Fatal("sink neither killed nor done")
	return false
}

// crashingTask kills the sink while a Put is in flight: after a random
// number of Puts it cancels the run a random few milliseconds into the
// next one, so the database transaction is cut off mid-batch (or, if it
// was fast, committed without its Kafka offsets).
type crashingTask struct {
	connect.SinkTask
	kill  context.CancelFunc
	after int
	delay time.Duration
	n     int
}

func (c *crashingTask) Put(ctx context.Context, recs []*connect.Record) error {
	c.n++
	if c.n == c.after {
		time.AfterFunc(c.delay, c.kill)
	}
	return c.SinkTask.Put(ctx, recs)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func committedOffset(t testing.TB, c *kfake.Cluster, group, topic string) int64 {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), saramaCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0}})
	if errors.Is(err, sarama.ErrGroupIDNotFound) {
		return -1 // the group has not committed anything yet
	}
	if err != nil {
		t.Fatal(err)
	}
	if b := resp.Blocks[topic][0]; b != nil {
		return b.Offset
	}
	return -1
}

func waitCommitted(t testing.TB, c *kfake.Cluster, s *sink, group, topic string, want int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if got := committedOffset(t, c, group, topic); got >= want {
			return
		}
		select {
		case <-s.done:
			t.Fatalf("sink stopped before committing offset %d: %v", want, s.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s to commit offset %d of %s (at %d)", group, want, topic, committedOffset(t, c, group, topic))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type targetDB struct {
	name    string
	url     string
	q       querier
	exprOf  func(string, kind, *connect.Schema) string
	table   func(base string) string // how to name the table in SQL
	exec    func(t testing.TB, sql string)
	execErr func(sql string) error
}

func startPostgresTarget(t testing.TB) *targetDB {
	pg := testdb.StartPostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return &targetDB{
		name:   "postgresql",
		url:    fmt.Sprintf("jdbc:postgresql://%s:%d/postgres?user=postgres&sslmode=disable", pg.Host, pg.Port),
		q:      pgQuerier{conn},
		exprOf: func(c string, k kind, _ *connect.Schema) string { return pgCanonExpr(c, k) },
		table:  pgQuote,
		exec:   func(t testing.TB, sql string) { pg.Exec(t, "postgres", sql) },
		execErr: func(sql string) error {
			_, err := conn.Exec(ctx, sql)
			return err
		},
	}
}

func startMariaDBTarget(t testing.TB) *targetDB {
	my := testdb.StartMariaDB(t)
	my.Exec(t, "", "CREATE DATABASE sink")
	db, err := sql.Open("mysql", my.DSN("sink"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &targetDB{
		name:   "mariadb",
		url:    fmt.Sprintf("jdbc:mariadb://%s:%d/sink?user=root", my.Host, my.Port),
		q:      sqlQuerier{db},
		exprOf: myCanonExpr,
		table:  myQuote,
		exec:   func(t testing.TB, sql string) { my.Exec(t, "sink", sql) },
		execErr: func(q string) error {
			_, err := db.Exec(q)
			return err
		},
	}
}

func baseProps(url, topic, table string, extra ...string) map[string]string {
	m := map[string]string{
		"name": "jdbc-sink", "connector.class": DebeziumClass,
		"connection.url": url, "topics": topic,
		"insert.mode": "upsert", "primary.key.mode": "record_key", "delete.enabled": "true",
		"truncate.enabled": "true", "schema.evolution": "basic", "collection.name.format": table,
		"batch.size": "40", "consumer.max.poll.records": "64",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// TestRecordedStream feeds the recorded change stream through Kafka and
// the sink into PostgreSQL and MariaDB, as Debezium envelopes and
// flattened by ExtractNewRecordState, and compares the target tables with
// the state the stream describes.
func TestRecordedStream(t *testing.T) {
	msgs := readRecording(t, everythingPath)
	row := everythingRow(true)
	for _, start := range []func(testing.TB) *targetDB{startPostgresTarget, startMariaDBTarget} {
		db := start(t)
		t.Run(db.name, func(t *testing.T) {
			c := startKafka(t)
			produceMsgs(t, c, everythingTopic, msgs)
			variants := []struct {
				name     string
				extra    []string
				truncate bool
			}{
				{"envelope", nil, true},
				{"flattened", []string{"transforms", "unwrap", "transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState"}, false},
			}
			for _, v := range variants {
				t.Run(v.name, func(t *testing.T) {
					table := "everything_" + v.name
					name := "sink-" + v.name
					s := startSink(t, c, name, sinkProps(t, baseProps(db.url, everythingTopic, table, v.extra...)))
					waitCommitted(t, c, s, "connect-"+name, everythingTopic, int64(len(msgs)))
					if err := s.stop(t); err != nil {
						t.Fatalf("sink: %v", err)
					}
					want := expectedState(t, msgs, row, v.truncate)
					got := readCanon(t, context.Background(), db.q, db.table(table), row, db.exprOf)
					compareTables(t, db.name+"/"+v.name, want, got)
				})
			}
		})
	}
}

// TestCrashConvergence stops the sink abruptly at random points, over and
// over, and checks that the target converges to the exact state of the
// stream: no lost and no phantom rows. TRIBUTARY_LONG_TESTS=1 runs 20
// iterations instead of 3.
func TestCrashConvergence(t *testing.T) {
	iterations, copies := 3, 3
	if os.Getenv("TRIBUTARY_LONG_TESTS") == "1" {
		iterations, copies = 20, 20
	}
	db := startPostgresTarget(t)
	c := startKafka(t)
	// A longer stream: the recording several times over, so crashes land
	// in every phase (snapshot, truncate, updates, schema change).
	base := readRecording(t, everythingPath)
	var msgs []kafkaMsg
	for i := 0; i < copies; i++ {
		msgs = append(msgs, base...)
	}
	produceMsgs(t, c, everythingTopic, msgs)
	rng := rand.New(rand.NewPCG(42, uint64(time.Now().UnixNano())))
	props := sinkProps(t, baseProps(db.url, everythingTopic, "crash", "batch.size", "7", "consumer.max.poll.records", "11"))
	for i := 0; i < iterations; i++ {
		ct := &crashingTask{after: 1 + rng.IntN(12), delay: time.Duration(rng.IntN(4000)) * time.Microsecond}
		s := startSinkWith(t, c, "crash", props, func(task connect.SinkTask, kill context.CancelFunc) connect.SinkTask {
			ct.SinkTask, ct.kill = task, kill
			return ct
		})
		killed := waitKilledOrDrained(t, c, s, int64(len(msgs)))
		if s.err != nil {
			t.Fatalf("iteration %d: sink failed: %v", i, s.err)
		}
		off := committedOffset(t, c, "connect-crash", everythingTopic)
		if killed {
			t.Logf("iteration %d: killed %v into Put #%d, committed offset %d of %d", i, ct.delay, ct.after, off, len(msgs))
		} else {
			t.Logf("iteration %d: stream drained before Put #%d, stopped normally at offset %d", i, ct.after, off)
		}
	}
	s := startSink(t, c, "crash", props)
	waitCommitted(t, c, s, "connect-crash", everythingTopic, int64(len(msgs)))
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	want := expectedState(t, msgs, everythingRow(true), true)
	got := readCanon(t, context.Background(), db.q, db.table("crash"), everythingRow(true), db.exprOf)
	compareTables(t, "crash", want, got)
}

// poisonStream is three good rows around one that violates the target's
// NOT NULL constraint on name.
func poisonStream(t testing.TB) []kafkaMsg {
	key := connect.StructBuilder().Name("srv.public.people.Key").Field("id", connect.Prim(connect.Int32)).MustBuild()
	val := connect.StructBuilder().Name("srv.public.people.Value").
		Field("id", connect.Prim(connect.Int32)).Field("name", connect.OptionalPrim(connect.String)).MustBuild()
	j := &converter.JSON{SchemasEnabled: true}
	var out []kafkaMsg
	for i, name := range []any{"ann", "bob", nil, "dan"} {
		k, _ := j.FromConnect("people", key, connect.NewStruct(key).Set("id", int32(i+1)))
		v, _ := j.FromConnect("people", val, connect.NewStruct(val).Set("id", int32(i+1)).Set("name", name))
		out = append(out, kafkaMsg{topic: "people", key: k, value: v})
	}
	out = append(out, kafkaMsg{topic: "people", key: []byte(`{"schema":null,"payload":5}`), value: []byte("{not json")})
	return out
}

func TestPoisonRecordDeadLetterQueue(t *testing.T) {
	db := startPostgresTarget(t)
	db.exec(t, `CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL)`)
	c := startKafka(t)
	msgs := poisonStream(t)
	produceMsgs(t, c, "people", msgs)
	props := sinkProps(t, baseProps(db.url, "people", "people", "schema.evolution", "none",
		"errors.tolerance", "all", "errors.deadletterqueue.topic.name", "dlq", "errors.deadletterqueue.topic.replication.factor", "1",
		"errors.deadletterqueue.context.headers.enable", "true", "errors.log.enable", "true"))
	s := startSink(t, c, "poison", props)
	waitCommitted(t, c, s, "connect-poison", "people", int64(len(msgs)))
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	rows, err := db.q.query(context.Background(), "SELECT id::text, name FROM people ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, *r[0]+"="+*r[1])
	}
	if strings.Join(got, ",") != "1=ann,2=bob,4=dan" {
		t.Errorf("target rows = %v, want the three good ones", got)
	}
	dlq := readTopic(t, c, "dlq", 2)
	byOffset := map[string]map[string]string{}
	for _, m := range dlq {
		h := headers(m)
		byOffset[h[sinkrunner.HeaderOffset]] = h
	}
	h := byOffset["2"]
	for k, v := range map[string]string{
		sinkrunner.HeaderTopic: "people", sinkrunner.HeaderPartition: "0", sinkrunner.HeaderOffset: "2",
		sinkrunner.HeaderStage: "TASK_PUT", sinkrunner.HeaderConnectorName: "poison", sinkrunner.HeaderTaskID: "0",
		sinkrunner.HeaderClassName: DebeziumClass, sinkrunner.HeaderExceptionClassName: "org.apache.kafka.connect.errors.ConnectException",
	} {
		if h[k] != v {
			t.Errorf("dlq record for offset 2: header %s = %q, want %q", k, h[k], v)
		}
	}
	if msg := h[sinkrunner.HeaderExceptionMessage]; !strings.Contains(msg, "column name") || !strings.Contains(msg, "offset=2") {
		t.Errorf("dlq exception message %q should name the column and the record", msg)
	}
	if h[sinkrunner.HeaderExceptionTrace] == "" {
		t.Errorf("dlq record for offset 2 has no stack trace header")
	}
	if h := byOffset["4"]; h[sinkrunner.HeaderStage] != "VALUE_CONVERTER" || h[sinkrunner.HeaderClassName] != converter.JSONClass {
		t.Errorf("dlq headers for offset 4 = %v, want the undecodable record from the value converter", h)
	}
}

func TestPoisonRecordFailsTask(t *testing.T) {
	db := startPostgresTarget(t)
	db.exec(t, `CREATE TABLE people (id integer PRIMARY KEY, name text NOT NULL)`)
	c := startKafka(t)
	produceMsgs(t, c, "people", poisonStream(t))
	s := startSink(t, c, "strict", sinkProps(t, baseProps(db.url, "people", "people", "schema.evolution", "none")))
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatal("sink did not fail")
	}
	var re *sinkrunner.RecordError
	if !errors.As(s.err, &re) || re.Topic != "people" || re.Partition != 0 || re.Offset != 2 {
		t.Fatalf("want a RecordError for people/0/2, got %v", s.err)
	}
	for _, want := range []string{"topic=people", "partition=0", "offset=2", "column name"} {
		if !strings.Contains(s.err.Error(), want) {
			t.Errorf("error %q does not mention %q", s.err, want)
		}
	}
	if off := committedOffset(t, c, "connect-strict", "people"); off != 2 {
		t.Errorf("committed offset %d, want 2 (the good records before the poison one)", off)
	}
}

func readTopic(t testing.TB, c *kfake.Cluster, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	consumer, err := sarama.NewConsumer(c.ListenAddrs(), saramaCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case <-time.After(30 * time.Second):
			t.Fatalf("read %d of %d messages from %s", len(out), n, topic)
		}
	}
	return out
}

func headers(m *sarama.ConsumerMessage) map[string]string {
	h := map[string]string{}
	for _, rh := range m.Headers {
		h[string(rh.Key)] = string(rh.Value)
	}
	return h
}
