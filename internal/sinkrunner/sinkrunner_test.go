package sinkrunner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/transforms"
)

func startKafka(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1)}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func saramaConfig() *sarama.Config {
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

// produce writes JSON-converter messages {"schema":..,"payload":{"n":i}}
// round-robin over partitions; raw, when set for i, replaces the value.
func produce(t *testing.T, c *kfake.Cluster, topic string, partitions int32, n int, raw map[int]string) {
	t.Helper()
	p, err := sarama.NewSyncProducer(c.ListenAddrs(), saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	j := &converter.JSON{SchemasEnabled: true}
	s := connect.StructBuilder().Name("test.Value").Field("n", connect.Prim(connect.Int32)).MustBuild()
	for i := 0; i < n; i++ {
		v, err := j.FromConnect(topic, s, connect.NewStruct(s).Set("n", int32(i)))
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := raw[i]; ok {
			v = []byte(r)
		}
		m := &sarama.ProducerMessage{Topic: topic, Partition: int32(i) % partitions, Value: sarama.ByteEncoder(v),
			Headers: []sarama.RecordHeader{{Key: []byte("origin"), Value: []byte("test")}}}
		if _, _, err := p.SendMessage(m); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeTask records what Put received. reject makes Put fail (non
// retriably) for batches containing that n; flaky makes the first calls
// fail retriably.
type fakeTask struct {
	mu     sync.Mutex
	seen   map[int32]int // n -> times delivered
	puts   int
	reject map[int32]bool
	flaky  int
}

type retriableErr struct{ error }

func (retriableErr) Retriable() bool { return true }

func (f *fakeTask) Put(ctx context.Context, recs []*connect.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	if f.flaky > 0 {
		f.flaky--
		return retriableErr{errors.New("connection reset")}
	}
	for _, r := range recs {
		n := r.Value.(*connect.StructValue).Get("n").(int32)
		if f.reject[n] {
			return fmt.Errorf("column \"n\": value %d violates check constraint", n)
		}
	}
	if f.seen == nil {
		f.seen = map[int32]int{}
	}
	for _, r := range recs {
		f.seen[r.Value.(*connect.StructValue).Get("n").(int32)]++
	}
	return nil
}

func (f *fakeTask) Close() error { return nil }

func (f *fakeTask) distinct() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func props(t *testing.T, kv ...string) *config.Values {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	v, err := Def().Merge(transforms.Def()).Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// running is a Run in the background; wait returns its result once.
type running struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	return r.err
}

func runAsync(t *testing.T, cfg Config) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() { r.err = Run(ctx, cfg); close(r.done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// committed returns the group's committed offsets for topic.
func committed(t *testing.T, c *kfake.Cluster, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, b := range resp.Blocks[topic] {
		out[p] = b.Offset
	}
	return out
}

func baseConfig(c *kfake.Cluster, task connect.SinkTask, p *config.Values) Config {
	return Config{
		Brokers: c.ListenAddrs(), SaramaConfig: saramaConfig(), ConnectorName: "sink-test", Props: p, Task: task,
		TaskClass:    "test.FakeTask",
		KeyConverter: &converter.JSON{SchemasEnabled: true}, ValueConverter: &converter.JSON{SchemasEnabled: true},
		TopicRefresh: 200 * time.Millisecond, RetryBackoff: 10 * time.Millisecond,
	}
}

func TestDeliversAndCommitsAfterPut(t *testing.T) {
	c := startKafka(t, 3, "orders")
	produce(t, c, "orders", 3, 300, nil)
	task := &fakeTask{flaky: 2}
	run := runAsync(t, baseConfig(c, task, props(t, "topics", "orders", "consumer.max.poll.records", "50")))
	waitFor(t, "all records", func() bool { return task.distinct() == 300 })
	waitFor(t, "offsets committed", func() bool {
		off := committed(t, c, "connect-sink-test", "orders", 3)
		return off[0] == 100 && off[1] == 100 && off[2] == 100
	})
	run.cancel()
	if err := run.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	for n, k := range task.seen {
		if k != 1 {
			t.Errorf("record %d delivered %d times", n, k)
		}
	}
}

func TestTopicsRegexPicksUpNewTopics(t *testing.T) {
	c := startKafka(t, 1, "db.a")
	produce(t, c, "db.a", 1, 5, nil)
	task := &fakeTask{}
	runAsync(t, baseConfig(c, task, props(t, "topics.regex", `db\..*`)))
	waitFor(t, "first topic", func() bool { return task.distinct() == 5 })
	if err := c.CreateTopic("db.b", 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, c, "db.b", 1, 10, nil) // n = 0..9 again; 5..9 are new
	waitFor(t, "second topic", func() bool { return task.distinct() == 10 })
}

func TestToleranceNoneNamesRecord(t *testing.T) {
	c := startKafka(t, 1, "orders")
	produce(t, c, "orders", 1, 20, nil)
	task := &fakeTask{reject: map[int32]bool{7: true}}
	err := runAsync(t, baseConfig(c, task, props(t, "topics", "orders"))).wait(t)
	var re *RecordError
	if !errors.As(err, &re) || re.Topic != "orders" || re.Partition != 0 || re.Offset != 7 || re.Stage != StageTaskPut {
		t.Fatalf("want RecordError for orders/0/7, got %v", err)
	}
	for _, want := range []string{"topic=orders", "partition=0", "offset=7", `column "n"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	// Records before the poison one were applied and committed; nothing
	// from it onwards was committed.
	if off := committed(t, c, "connect-sink-test", "orders", 1); off[0] != 7 {
		t.Errorf("committed offset = %d, want 7", off[0])
	}
	if task.distinct() != 7 {
		t.Errorf("delivered %d records, want 7", task.distinct())
	}
}

func TestToleranceNoneConverterError(t *testing.T) {
	c := startKafka(t, 1, "orders")
	produce(t, c, "orders", 1, 5, map[int]string{3: `{"schema": nope`})
	task := &fakeTask{}
	err := runAsync(t, baseConfig(c, task, props(t, "topics", "orders"))).wait(t)
	var re *RecordError
	if !errors.As(err, &re) || re.Offset != 3 || re.Stage != StageValueConverter {
		t.Fatalf("want VALUE_CONVERTER failure at offset 3, got %v", err)
	}
	// The records before the bad one are delivered and committed, the bad
	// one is not.
	if off := committed(t, c, "connect-sink-test", "orders", 1); off[0] != 3 {
		t.Errorf("committed offset = %d, want 3", off[0])
	}
	if task.distinct() != 3 {
		t.Errorf("delivered %d records, want 3", task.distinct())
	}
}

func TestDeadLetterQueue(t *testing.T) {
	c := startKafka(t, 1, "orders")
	produce(t, c, "orders", 1, 30, map[int]string{4: `not json`})
	task := &fakeTask{reject: map[int32]bool{11: true, 12: true}}
	p := props(t, "topics", "orders", "errors.tolerance", "all", "errors.log.enable", "true",
		"errors.deadletterqueue.topic.name", "dlq-orders", "errors.deadletterqueue.topic.replication.factor", "1",
		"errors.deadletterqueue.context.headers.enable", "true")
	runAsync(t, baseConfig(c, task, p))
	waitFor(t, "good records", func() bool { return task.distinct() == 27 })
	waitFor(t, "offsets committed", func() bool { return committed(t, c, "connect-sink-test", "orders", 1)[0] == 30 })

	dlq := readAll(t, c, "dlq-orders", 3)
	type want struct {
		offset string
		stage  Stage
		class  string
		msg    string
	}
	wants := []want{
		{"4", StageValueConverter, converter.JSONClass, "invalid JSON"},
		{"11", StageTaskPut, "test.FakeTask", "value 11 violates"},
		{"12", StageTaskPut, "test.FakeTask", "value 12 violates"},
	}
	for i, m := range dlq {
		h := map[string]string{}
		for _, rh := range m.Headers {
			h[string(rh.Key)] = string(rh.Value)
		}
		w := wants[i]
		checks := map[string]string{
			HeaderTopic: "orders", HeaderPartition: "0", HeaderOffset: w.offset, HeaderConnectorName: "sink-test",
			HeaderTaskID: "0", HeaderStage: string(w.stage), HeaderClassName: w.class, "origin": "test",
		}
		for k, v := range checks {
			if h[k] != v {
				t.Errorf("dlq record %d: header %s = %q, want %q", i, k, h[k], v)
			}
		}
		for _, k := range []string{HeaderExceptionClassName, HeaderExceptionMessage, HeaderExceptionTrace} {
			if h[k] == "" {
				t.Errorf("dlq record %d: header %s missing", i, k)
			}
		}
		if !strings.Contains(h[HeaderExceptionMessage], w.msg) {
			t.Errorf("dlq record %d: message %q does not contain %q", i, h[HeaderExceptionMessage], w.msg)
		}
	}
	if string(dlq[0].Value) != "not json" {
		t.Errorf("dlq record 0 value = %q, want the original bytes", dlq[0].Value)
	}
}

func readAll(t *testing.T, c *kfake.Cluster, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	consumer, err := sarama.NewConsumer(c.ListenAddrs(), saramaConfig())
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
			t.Fatalf("read %d of %d records from %s", len(out), n, topic)
		}
	}
	return out
}

func TestConfigErrors(t *testing.T) {
	c := startKafka(t, 1, "x")
	for _, kv := range [][]string{
		{},
		{"topics", "x", "topics.regex", "x.*"},
		{"topics", "x", "errors.deadletterqueue.topic.name", "x"},
	} {
		err := Run(context.Background(), baseConfig(c, &fakeTask{}, props(t, kv...)))
		if err == nil {
			t.Errorf("%v: expected a configuration error", kv)
		}
	}
}

// A record a transform rejects (here: ValueToKey naming a field its value
// lacks) is a TRANSFORMATION failure: with errors.tolerance=none the task
// fails naming the record, with errors.tolerance=all it goes to the dead
// letter queue with the __connect.errors.* headers naming the transform's
// class, and the records around it are delivered.
func TestTransformFailure(t *testing.T) {
	const other = `{"schema":{"type":"struct","fields":[{"field":"m","type":"int32","optional":false}],"optional":false,"name":"test.Other"},"payload":{"m":3}}`
	const class = "org.apache.kafka.connect.transforms.ValueToKey"
	chainProps := []string{"transforms", "key", "transforms.key.type", class, "transforms.key.fields", "n"}
	build := func(t *testing.T, p *config.Values) transforms.Chain {
		chain, err := transforms.Builtin(nil).Build(p)
		if err != nil {
			t.Fatal(err)
		}
		return chain
	}
	t.Run("errors.tolerance=none", func(t *testing.T) {
		c := startKafka(t, 1, "orders")
		produce(t, c, "orders", 1, 6, map[int]string{3: other})
		task := &fakeTask{}
		p := props(t, append([]string{"topics", "orders"}, chainProps...)...)
		cfg := baseConfig(c, task, p)
		cfg.Transforms = build(t, p)
		err := runAsync(t, cfg).wait(t)
		var re *RecordError
		if !errors.As(err, &re) || re.Topic != "orders" || re.Partition != 0 || re.Offset != 3 || re.Stage != StageTransformation {
			t.Fatalf("want a TRANSFORMATION RecordError for orders/0/3, got %v", err)
		}
		for _, want := range []string{"topic=orders", "partition=0", "offset=3", `transform "key"`, "Field does not exist: n"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %s", err, want)
			}
		}
		if task.distinct() != 3 {
			t.Errorf("delivered %d records, want the 3 before the bad one", task.distinct())
		}
	})
	t.Run("errors.tolerance=all", func(t *testing.T) {
		c := startKafka(t, 1, "orders")
		produce(t, c, "orders", 1, 6, map[int]string{3: other})
		task := &fakeTask{}
		p := props(t, append([]string{"topics", "orders", "errors.tolerance", "all", "errors.log.enable", "true",
			"errors.deadletterqueue.topic.name", "dlq-orders", "errors.deadletterqueue.topic.replication.factor", "1",
			"errors.deadletterqueue.context.headers.enable", "true"}, chainProps...)...)
		cfg := baseConfig(c, task, p)
		cfg.Transforms = build(t, p)
		runAsync(t, cfg)
		waitFor(t, "good records", func() bool { return task.distinct() == 5 })
		waitFor(t, "offsets committed", func() bool { return committed(t, c, "connect-sink-test", "orders", 1)[0] == 6 })
		m := readAll(t, c, "dlq-orders", 1)[0]
		h := map[string]string{}
		for _, rh := range m.Headers {
			h[string(rh.Key)] = string(rh.Value)
		}
		for k, v := range map[string]string{HeaderTopic: "orders", HeaderPartition: "0", HeaderOffset: "3", HeaderStage: string(StageTransformation),
			HeaderClassName: class, HeaderConnectorName: "sink-test", "origin": "test"} {
			if h[k] != v {
				t.Errorf("dlq header %s = %q, want %q", k, h[k], v)
			}
		}
		if msg := h[HeaderExceptionMessage]; !strings.Contains(msg, `transform "key": Field does not exist: n`) {
			t.Errorf("dlq exception message %q does not name the transform and the field", msg)
		}
		if string(m.Value) != other {
			t.Errorf("dlq value = %q, want the original bytes", m.Value)
		}
	})
}
