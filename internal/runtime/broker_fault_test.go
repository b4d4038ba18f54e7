package runtime

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// brokerFaultTask writes n records, one every interval, then streams on idly.
type brokerFaultTask struct {
	n        int
	interval time.Duration
}

func (p *brokerFaultTask) Run(ctx context.Context, w connect.RecordWriter) error {
	for i := 0; i < p.n; i++ {
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
	raw, err := kafka.NewRaw(broker.Addrs(), mustConfig(t, broker))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	kvs, err := raw.ReadAll(context.Background(), "paced")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, kv := range kvs {
		seen[string(kv.Value)]++
	}
	var missing, dups int
	for i := 0; i < 300; i++ {
		switch n := seen[fmt.Sprintf(`{"schema":{"type":"int64","optional":false},"payload":%d}`, i)]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("written %d, in Kafka %d, missing %d, duplicates %d", src.Stats.Written.Load(), len(kvs), missing, dups)
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
