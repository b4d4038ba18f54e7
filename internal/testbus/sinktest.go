package testbus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/sinkrunner"
)

// StartKafka starts an in-process kfake broker with the topics seeded.
func StartKafka(t testing.TB, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Event is the value the sequence-numbered writers produce: the Seq-th
// event of Key.
type Event struct {
	Key string `json:"key"`
	Seq int    `json:"seq"`
}

// Producer writes events keyed by their key, so that a key's events share
// a partition and their order.
type Producer struct {
	p sarama.SyncProducer
}

// NewProducer connects a synchronous producer.
func NewProducer(t testing.TB, brokers []string) *Producer {
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
	return &Producer{p: p}
}

// Send writes events with the header origin=test.
func (p *Producer) Send(t testing.TB, topic string, evs ...Event) {
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

// SinkConfig is what a sink run needs; JSON so that a crash-test child
// can receive it.
type SinkConfig struct {
	Brokers []string
	Name    string
	Props   map[string]string
}

// RunSink runs a sink connector through the sink runner until ctx ends,
// with string keys and byte values (the pass-through converters). It logs
// to stderr.
func RunSink(ctx context.Context, plugin *connect.Plugin, sc SinkConfig) error {
	c, err := runtime.ParseConnector(connect.Plugins{plugin}, config.Connector{Name: sc.Name, Config: sc.Props})
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

// Delivered is what a check found.
type Delivered struct {
	Total, Duplicates, Missing, OutOfOrder int
}

// CheckSequences checks delivered event values against want (key → number
// of events written): every event present, and each key's events first
// seen in order. Duplicates are counted; whether they are allowed is the
// caller's business.
func CheckSequences(t testing.TB, values [][]byte, want map[string]int) Delivered {
	t.Helper()
	next := map[string]int{}
	seen := map[string]bool{}
	var d Delivered
	for _, v := range values {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatalf("delivered value %q: %v", v, err)
		}
		d.Total++
		id := fmt.Sprintf("%s/%d", e.Key, e.Seq)
		if seen[id] {
			d.Duplicates++
			continue
		}
		seen[id] = true
		if e.Seq != next[e.Key] {
			d.OutOfOrder++
		}
		next[e.Key] = e.Seq + 1
	}
	for k, n := range want {
		for i := 0; i < n; i++ {
			if !seen[fmt.Sprintf("%s/%d", k, i)] {
				d.Missing++
			}
		}
	}
	t.Logf("delivered: %d events, %d duplicates, %d missing, %d out of order", d.Total, d.Duplicates, d.Missing, d.OutOfOrder)
	return d
}

// Total sums want.
func Total(want map[string]int) int {
	n := 0
	for _, c := range want {
		n += c
	}
	return n
}

// WaitFor polls cond until it holds or d passes.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			// what every goroutine was doing tells a stall from slowness
			buf := make([]byte, 1<<20)
			buf = buf[:goruntime.Stack(buf, true)]
			t.Fatalf("timed out after %v waiting for %s; goroutines:\n%s", d, what, buf)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ReadTopic reads n records of partition 0 of topic.
func ReadTopic(t testing.TB, brokers []string, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(brokers, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var pc sarama.PartitionConsumer
	WaitFor(t, 20*time.Second, "topic "+topic, func() bool {
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
