package runtime

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// stalledBroker is the producer's view of a frozen broker: it accepts
// records and acknowledges none until released.
type stalledBroker struct {
	mu      sync.Mutex
	pending []*sarama.ProducerMessage
	open    bool
}

func (b *stalledBroker) Send(_ context.Context, m *sarama.ProducerMessage) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open {
		m.Metadata.(*kafka.Pending).Ack(nil)
		return nil
	}
	b.pending = append(b.pending, m)
	return nil
}

func (b *stalledBroker) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.open = true
	for _, m := range b.pending {
		m.Metadata.(*kafka.Pending).Ack(nil)
	}
	b.pending = nil
}

type fixedTask struct{ recs []*connect.Record }

func (f *fixedTask) Run(ctx context.Context, w connect.RecordWriter) error {
	if err := w.Write(ctx, f.recs); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// Records that wait on the broker longer than the threshold are named in
// a warning (topic, partition, how many, for how long), repeated at most
// once per threshold, and their delivery is reported once.
func TestSourceWarnsWhenRecordsWaitOnTheBroker(t *testing.T) {
	var recs []*connect.Record
	for i := range 7 {
		topic, p := "orders", int32(-1)
		if i >= 4 {
			topic, p = "audit", 2
		}
		recs = append(recs, &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": int64(i)},
			Topic: topic, Partition: p, ValueSchema: connect.Prim(connect.Int64), Value: int64(i)})
	}
	var out syncWriter
	broker := &stalledBroker{}
	store := offsets.NewMemory()
	j := &converter.JSON{}
	s := &Source{Name: "c", Task: &fixedTask{recs: recs}, Producer: broker, Offsets: store, KeyConverter: j, ValueConverter: j,
		FlushInterval: 20 * time.Millisecond, BrokerWaitWarning: 300 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&out, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	time.Sleep(100 * time.Millisecond)
	if strings.Contains(out.String(), "waiting for the Kafka broker") {
		t.Fatalf("warned before the threshold:\n%s", out.String())
	}
	time.Sleep(800 * time.Millisecond) // > 2 thresholds
	logs := out.String()
	warnings := strings.Count(logs, "waiting for the Kafka broker")
	if warnings < 1 || warnings > 3 {
		t.Fatalf("want a warning at most once per threshold over ~0.9 s, got %d:\n%s", warnings, logs)
	}
	for _, want := range []string{"records=7", `audit (partition 2): 3 records`, `orders (partition by key): 4 records`, "topic_partitions=2"} {
		if !strings.Contains(logs, want) {
			t.Errorf("the warning lacks %q:\n%s", want, logs)
		}
	}
	broker.release()
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	logs = out.String()
	if n := strings.Count(logs, "Kafka acknowledged the records that were waiting"); n != 1 {
		t.Errorf("want the delivery reported once, got %d:\n%s", n, logs)
	}
	if got := strings.Count(logs, "waiting for the Kafka broker"); got != warnings {
		t.Errorf("warned again after the records went through:\n%s", logs)
	}
	off, err := store.Get(t.Context(), "c", part)
	if err != nil || off["pos"] != int64(6) {
		t.Errorf("committed offset after release: %v %v", off, err)
	}
}

// syncWriter lets the worker's goroutines log into one buffer.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
