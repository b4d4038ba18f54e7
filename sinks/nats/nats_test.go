package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testbus"
)

// TestDeliver: subjects from the template, headers and key carried over,
// Nats-Msg-Id from the Kafka coordinates; a second consumer group that
// reads everything again adds nothing to the stream (duplicate window).
func TestDeliver(t *testing.T) {
	ns := testbus.StartNATS(t, testbus.NATSOptions{})
	k := startKafka(t, 3, "orders")
	p := newProducer(t, k.ListenAddrs())
	want := map[string]int{}
	for i := 0; i < 300; i++ {
		key := fmt.Sprintf("k%d", i%7)
		p.Send(t, "orders", event{Key: key, Seq: want[key]})
		want[key]++
	}
	for _, name := range []string{"first", "second"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- runSink(ctx, sinkConfig{Brokers: k.ListenAddrs(), Name: name, Props: baseProps(ns.URL())})
		}()
		waitFor(t, 30*time.Second, "300 messages", func() bool { return streamCount(t, ns.URL(), "CDC") >= 300 })
		time.Sleep(300 * time.Millisecond) // a second run would add its copies now
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("%s run: %v", name, err)
		}
	}
	msgs := streamMsgs(t, ns.URL(), "CDC")
	checkSequences(t, msgs, want)
	m := msgs[0]
	if m.Subject != "cdc.orders" {
		t.Errorf("subject %q, want cdc.orders", m.Subject)
	}
	if got := m.Header.Get("origin"); got != "test" {
		t.Errorf("header origin=%q, want test", got)
	}
	var e event
	_ = json.Unmarshal(m.Data, &e)
	if got := m.Header.Get("Kafka-Key"); got != e.Key {
		t.Errorf("Kafka-Key=%q, want %q", got, e.Key)
	}
	if id := m.Header.Get("Nats-Msg-Id"); !strings.HasPrefix(id, "orders-") || strings.Count(id, "-") != 2 {
		t.Errorf("Nats-Msg-Id=%q, want orders-<partition>-<offset>", id)
	}
}

// TestBadInput: each mistake fails with the property named, and a record
// whose subject is invalid is not dropped: the task fails on it, or with
// errors.tolerance=all it lands in the dead letter queue.
func TestBadInput(t *testing.T) {
	ns := testbus.StartNATS(t, testbus.NATSOptions{User: "cdc", Password: "s3cret"})
	ctx := context.Background()
	closed := fmt.Sprintf("nats://127.0.0.1:%d", freeClosedPort(t))
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"unreachable", baseProps(closed, "nats.connect.timeout.ms", "1000"), "nats.url=" + closed},
		{"wrong password", baseProps(ns.URL(), "nats.user", "cdc", "nats.password", "wrong"), "nats.user/nats.password: NATS refused the credentials"},
		{"no credentials", baseProps(ns.URL()), "requires authentication"},
		{"wildcard subject", baseProps(ns.URL(), "nats.subject", "cdc.*", "nats.user", "cdc", "nats.password", "s3cret"), `nats.subject="cdc.*": wildcard token`},
		{"unknown variable", baseProps(ns.URL(), "nats.subject", "cdc.${table}"), "unknown variable ${table}"},
		{"stream without name", baseProps(ns.URL(), "nats.stream.name", "", "nats.user", "cdc", "nats.password", "s3cret"), "nats.stream.name: required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := runSink(ctx, sinkConfig{Brokers: []string{"127.0.0.1:1"}, Name: "bad", Props: c.props})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error reveals the password: %v", err)
			}
		})
	}

	// ${key} with a key holding a space gives an invalid subject.
	k := startKafka(t, 1, "orders")
	p := newProducer(t, k.ListenAddrs())
	p.Send(t, "orders", event{Key: "a", Seq: 0}, event{Key: "b c", Seq: 0}, event{Key: "a", Seq: 1})
	props := baseProps(ns.URL(), "nats.subject", "cdc.${key}", "nats.user", "cdc", "nats.password", "s3cret")
	err := runSink(ctx, sinkConfig{Brokers: k.ListenAddrs(), Name: "strict", Props: props})
	var re *sinkrunner.RecordError
	if !errors.As(err, &re) || re.Offset != 1 || !strings.Contains(err.Error(), `gives the invalid subject "cdc.b c"`) {
		t.Fatalf("error %v, want a RecordError at offset 1 naming the subject", err)
	}
	for k, v := range map[string]string{"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq",
		"errors.deadletterqueue.context.headers.enable": "true", "errors.deadletterqueue.topic.replication.factor": "1"} {
		props[k] = v
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runSink(rctx, sinkConfig{Brokers: k.ListenAddrs(), Name: "tolerant", Props: props}) }()
	waitFor(t, 20*time.Second, "two messages in the stream", func() bool { return streamCount(t, strings.Replace(ns.URL(), "//", "//cdc:s3cret@", 1), "CDC") >= 2 })
	dlq := readTopic(t, k.ListenAddrs(), "dlq", 1)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if string(dlq[0].Key) != "b c" || !hasHeader(dlq[0], sinkrunner.HeaderExceptionMessage, "invalid subject") {
		t.Fatalf("dead letter queue record key %q headers %v", dlq[0].Key, dlq[0].Headers)
	}
}

func hasHeader(m *sarama.ConsumerMessage, k, sub string) bool {
	for _, h := range m.Headers {
		if string(h.Key) == k && strings.Contains(string(h.Value), sub) {
			return true
		}
	}
	return false
}

func readTopic(t *testing.T, brokers []string, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(brokers, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var pc sarama.PartitionConsumer
	waitFor(t, 20*time.Second, "topic "+topic, func() bool {
		pc, err = c.ConsumePartition(topic, 0, sarama.OffsetOldest)
		return err == nil
	})
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	timeout := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case <-timeout:
			t.Fatalf("%s: %d of %d records", topic, len(out), n)
		}
	}
	return out
}

func freeClosedPort(t *testing.T) int {
	s := testbus.StartNATS(t, testbus.NATSOptions{})
	s.Stop()
	return s.Port
}

// TestOutage: NATS is stopped while records keep arriving; the sink rides
// it out and, once NATS is back, the stream has every record once and in
// order. 3 s here, 30 s with TRIBUTARY_FAULT_TESTS=1.
func TestOutage(t *testing.T) {
	outage := 3 * time.Second
	if os.Getenv("TRIBUTARY_FAULT_TESTS") == "1" {
		outage = 30 * time.Second
	}
	ns := testbus.StartNATS(t, testbus.NATSOptions{})
	k := startKafka(t, 3, "orders")
	p := newProducer(t, k.ListenAddrs())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runSink(ctx, sinkConfig{Brokers: k.ListenAddrs(), Name: "outage",
			Props: baseProps(ns.URL(), "nats.publish.ack.timeout.ms", "1000")})
	}()
	want := map[string]int{}
	write := func(n int) {
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("k%d", rand.IntN(10))
			p.Send(t, "orders", event{Key: key, Seq: want[key]})
			want[key]++
		}
	}
	write(200)
	waitFor(t, 30*time.Second, "the first records", func() bool { return streamCount(t, ns.URL(), "CDC") > 0 })
	ns.Stop()
	end := time.Now().Add(outage)
	for time.Now().Before(end) {
		write(20)
		time.Sleep(100 * time.Millisecond)
	}
	ns.Start()
	write(200)
	total := 0
	for _, n := range want {
		total += n
	}
	waitFor(t, 60*time.Second, fmt.Sprintf("%d records", total), func() bool { return streamCount(t, ns.URL(), "CDC") >= uint64(total) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkSequences(t, streamMsgs(t, ns.URL(), "CDC"), want)
}

const crashEnv = "TRIBUTARY_NATS_CRASH_CHILD"

// TestCrashChild is the sink process of TestCrashRecovery.
func TestCrashChild(t *testing.T) {
	var sc sinkConfig
	crashtest.ChildConfig(t, crashEnv, &sc)
	if err := runSink(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
}

// TestCrashRecovery kills the sink process with SIGKILL while a
// sequence-numbered writer keeps producing: in the end every record is in
// the stream exactly once (JetStream's duplicate window absorbs the
// replayed batches) and each key's records are in order.
func TestCrashRecovery(t *testing.T) {
	ns := testbus.StartNATS(t, testbus.NATSOptions{})
	k := startKafka(t, 4, "orders")
	p := newProducer(t, k.ListenAddrs())
	cfg, _ := json.Marshal(sinkConfig{Brokers: k.ListenAddrs(), Name: "crash",
		Props: baseProps(ns.URL(), "consumer.max.poll.records", "50", "nats.publish.max.pending", "16")})

	want := map[string]int{}
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			var evs []event
			for i := 0; i < 20; i++ {
				key := fmt.Sprintf("k%d", rand.IntN(16))
				evs = append(evs, event{Key: key, Seq: want[key]})
				want[key]++
			}
			p.Send(t, "orders", evs...)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for i := 0; i < crashtest.Iterations(); i++ {
		child := crashtest.Start(t, "TestCrashChild", crashEnv, cfg)
		before := streamCount(t, ns.URL(), "CDC")
		waitFor(t, 60*time.Second, "the child to publish", func() bool {
			return streamCount(t, ns.URL(), "CDC") > before+uint64(50+rand.IntN(400)) || child.Exited()
		})
		if child.Exited() {
			t.Fatalf("child exited:\n%s", crashtest.Tail(child.Output(), 30))
		}
		child.Kill()
		t.Logf("kill %d: stream had %d messages", i+1, streamCount(t, ns.URL(), "CDC"))
	}
	close(stop)
	<-writerDone
	total := 0
	for _, n := range want {
		total += n
	}
	child := crashtest.Start(t, "TestCrashChild", crashEnv, cfg)
	waitFor(t, 120*time.Second, fmt.Sprintf("%d records", total), func() bool {
		return streamCount(t, ns.URL(), "CDC") >= uint64(total) || child.Exited()
	})
	time.Sleep(500 * time.Millisecond)
	child.Kill()
	checkSequences(t, streamMsgs(t, ns.URL(), "CDC"), want)
}
