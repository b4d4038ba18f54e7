package runtime

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// brokerFaultTask writes n records, one every interval, then streams on
// idly. With offsets set it resumes after the committed position.
type brokerFaultTask struct {
	n        int
	interval time.Duration
	offsets  connect.OffsetReader
}

func (p *brokerFaultTask) Run(ctx context.Context, w connect.RecordWriter) error {
	start := 0
	if p.offsets != nil {
		off, err := p.offsets.Offset(ctx, part)
		if err != nil {
			return err
		}
		if off != nil {
			start = int(off["pos"].(int64)) + 1
		}
	}
	for i := start; i < p.n; i++ {
		rec := &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": int64(i)},
			Topic: "paced", Partition: -1, ValueSchema: connect.Prim(connect.Int64), Value: int64(i)}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(p.interval):
		}
	}
	<-ctx.Done()
	return nil
}

// A broker that goes away for a few seconds and comes back with its data
// (a restart) must cost neither a record nor the task: the producer keeps
// retrying, as Kafka Connect's does (delivery.timeout.ms=MAX_INT).
func TestSourceSurvivesBrokerRestart(t *testing.T) {
	port := freeTCPPort(t)
	dir := t.TempDir()
	broker, err := kafka.StartEmbedded(port, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := offsets.NewMemory()
	task := &brokerFaultTask{n: 300, interval: 10 * time.Millisecond}
	src, p := newTestSource(t, broker, store, task)
	defer p.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()

	for src.Stats.Written.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	broker.Close()
	time.Sleep(3 * time.Second)
	select {
	case err := <-done:
		t.Fatalf("source stopped while the broker was down: %v", err)
	default:
	}
	if broker, err = kafka.StartEmbedded(port, dir, nil); err != nil {
		t.Fatalf("restart broker: %v", err)
	}
	defer broker.Close()
	deadline := time.Now().Add(60 * time.Second)
	for src.Stats.Written.Load() < 300 && time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("source stopped after the broker came back: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen, total := pacedPositions(t, broker)
	var missing, dups int
	for i := int64(0); i < 300; i++ {
		switch n := seen[i]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("written %d, in Kafka %d, missing %d, duplicates %d", src.Stats.Written.Load(), total, missing, dups)
	if missing > 0 {
		t.Fatalf("%d records lost across the broker restart", missing)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// A record Kafka can never take fails the task at once with the reason,
// instead of being retried for ever.
func TestSourceFailsOnNonRetriableProduceError(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	big := make([]byte, 2<<20)
	task := taskFunc(func(ctx context.Context, w connect.RecordWriter) error {
		if err := w.Write(ctx, []*connect.Record{{SourcePartition: part, SourceOffset: map[string]any{"pos": int64(1)},
			Topic: "big.topic", Partition: -1, ValueSchema: connect.Prim(connect.Bytes), Value: big}}); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	src, p := newTestSource(t, broker, store, task)
	defer p.Close()
	done := make(chan error, 1)
	go func() { done <- src.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !contains(err.Error(), "big.topic") || !contains(err.Error(), "too large") {
			t.Fatalf("Run = %v, want an error naming the topic and the size", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a record larger than max.request.size was retried instead of failing the task")
	}
	if off, _ := store.Get(context.Background(), "c", part); off != nil {
		t.Fatalf("offset %v committed for a record Kafka refused", off)
	}
}

// A topic deleted while the source writes to it: the idempotent producer's
// sequence numbers no longer match the re-created partition, which no
// retry can fix (Kafka Connect's task fails the same way). The task must
// fail with an error that says so, and a restart of the source (what the
// worker does with a failed task) must deliver every record written after
// the deletion.
func TestSourceAfterTopicDeletion(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	task := &brokerFaultTask{n: 200, interval: 10 * time.Millisecond, offsets: OffsetReader{Store: store, Connector: "c"}}
	src, p := newTestSource(t, broker, store, task)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	for src.Stats.Written.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	admin, err := sarama.NewClusterAdmin(broker.Addrs(), mustConfig(t, broker))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.DeleteTopic("paced"); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	deletedAt := src.Stats.Written.Load()
	select {
	case err := <-done:
		if err == nil || !contains(err.Error(), "paced") || !contains(err.Error(), "re-created") {
			t.Fatalf("Run = %v, want an error naming the topic and the likely cause", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("source neither failed nor finished after its topic was deleted")
	}
	p.Close()

	src2, p2 := newTestSource(t, broker, store, task)
	defer p2.Close()
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	go func() { done <- src2.Run(ctx2) }()
	deadline := time.Now().Add(60 * time.Second)
	for !committedAt(store, 199) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ := pacedPositions(t, broker)
	// Records acknowledged before the deletion went with the topic.
	for i := deletedAt; i < 200; i++ {
		if got[i] == 0 {
			t.Fatalf("record %d, written after the topic was deleted (at %d), is missing", i, deletedAt)
		}
	}
}

func committedAt(store offsets.Store, pos int64) bool {
	off, _ := store.Get(context.Background(), "c", part)
	return off != nil && off["pos"] == pos
}

// pacedPositions counts the records of each position in topic "paced",
// and all records.
func pacedPositions(t *testing.T, broker *kafka.Embedded) (map[int64]int, int) {
	t.Helper()
	raw, err := kafka.NewRaw(broker.Addrs(), mustConfig(t, broker))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	kvs, err := raw.ReadAll(context.Background(), "paced")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, kv := range kvs {
		var pos int64
		if _, err := fmt.Sscanf(string(kv.Value), `{"schema":{"type":"int64","optional":false},"payload":%d}`, &pos); err != nil {
			t.Fatalf("record %s: %v", kv.Value, err)
		}
		seen[pos]++
	}
	return seen, len(kvs)
}
