package nats

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/IBM/sarama"
	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/internal/config"
	"github.com/tributary-io/tributary/internal/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/sinkrunner"
)

func startKafka(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// event is the value the sequence-numbered writers produce.
type event struct {
	Key string `json:"key"`
	Seq int    `json:"seq"`
}

// producer writes events keyed by their key, so that a key's events share
// a partition and their order.
type producer struct {
	p sarama.SyncProducer
}

func newProducer(t *testing.T, brokers []string) *producer {
	t.Helper()
	c := sarama.NewConfig()
	c.Version = sarama.V2_8_0_0
	c.Producer.Return.Successes = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer(brokers, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return &producer{p: p}
}

func (p *producer) send(t testing.TB, topic string, evs ...event) {
	t.Helper()
	msgs := make([]*sarama.ProducerMessage, len(evs))
	for i, e := range evs {
		v, _ := json.Marshal(e)
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(e.Key), Value: sarama.ByteEncoder(v),
			Headers: []sarama.RecordHeader{{Key: []byte("origin"), Value: []byte("test")}}}
	}
	if err := p.p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
}

// sinkConfig is what a sink run needs; JSON so a crash-test child can
// receive it.
type sinkConfig struct {
	Brokers []string
	Name    string
	Props   map[string]string
}

// runSink runs the connector through the sink runner until ctx ends, with
// the converters a pass-through pipeline uses (string keys, byte values).
func runSink(ctx context.Context, sc sinkConfig) error {
	c, err := runtime.ParseConnector(connect.Plugins{Plugin()}, config.Connector{Name: sc.Name, Config: sc.Props})
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	task, err := c.Plugin.NewSinkTask(ctx, c.Values, connect.TaskContext{ConnectorName: sc.Name, Logger: log})
	if err != nil {
		return err
	}
	defer task.Close()
	return sinkrunner.Run(ctx, sinkrunner.Config{Brokers: sc.Brokers, ConnectorName: sc.Name, Props: c.Values,
		Task: task, KeyConverter: converter.StringConverter{}, ValueConverter: converter.ByteArrayConverter{},
		RetryBackoff: 100 * time.Millisecond, Logger: log})
}

func baseProps(url string, kv ...string) map[string]string {
	m := map[string]string{
		"connector.class": Class, "topics": "orders", "nats.url": url, "nats.subject": "cdc.${topic}",
		"nats.stream.create": "true", "nats.stream.name": "CDC",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// streamMsgs reads every message of a stream in order.
func streamMsgs(t testing.TB, url, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, err := gonats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream %s message %d: %v", stream, seq, err)
		}
		out = append(out, m)
	}
	return out
}

// streamCount is the number of messages in a stream (0 when it does not
// exist yet).
func streamCount(t testing.TB, url, stream string) uint64 {
	t.Helper()
	nc, err := gonats.Connect(url)
	if err != nil {
		return 0
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// checkSequences checks that the stream holds every event of want (key →
// number of events) exactly once and each key's events in order.
func checkSequences(t *testing.T, msgs []*jetstream.RawStreamMsg, want map[string]int) {
	t.Helper()
	next := map[string]int{}
	dups, outOfOrder := 0, 0
	seen := map[string]bool{}
	for _, m := range msgs {
		var e event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("message %d: %q: %v", m.Sequence, m.Data, err)
		}
		id := fmt.Sprintf("%s/%d", e.Key, e.Seq)
		if seen[id] {
			dups++
			continue
		}
		seen[id] = true
		if e.Seq != next[e.Key] {
			outOfOrder++
		}
		next[e.Key] = e.Seq + 1
	}
	missing := 0
	for k, n := range want {
		for i := 0; i < n; i++ {
			if !seen[fmt.Sprintf("%s/%d", k, i)] {
				missing++
			}
		}
	}
	t.Logf("stream: %d messages, %d duplicates, %d missing, %d out of order", len(msgs), dups, missing, outOfOrder)
	if dups > 0 || missing > 0 || outOfOrder > 0 {
		t.Fatalf("stream lost or reordered events: %d duplicates, %d missing, %d out of order", dups, missing, outOfOrder)
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
