package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// countingTask emits n records, resuming after the stored offset, then
// waits for cancellation like a streaming source.
type countingTask struct {
	n        int
	offsets  connect.OffsetReader
	mu       sync.Mutex
	lastSeen int64
	failAt   int
}

var part = map[string]any{"server": "t"}

func (c *countingTask) Run(ctx context.Context, w connect.RecordWriter) error {
	start := int64(0)
	off, err := c.offsets.Offset(ctx, part)
	if err != nil {
		return err
	}
	if off != nil {
		start = off["pos"].(int64) + 1
	}
	ks := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int64)).MustBuild()
	for i := start; i < int64(c.n); i++ {
		if c.failAt > 0 && int(i) == c.failAt {
			return errors.New("boom")
		}
		rec := &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": i},
			Topic: fmt.Sprintf("topic%d", i%3), Partition: -1, KeySchema: ks, Key: connect.NewStruct(ks).Set("id", i%10),
			ValueSchema: connect.Prim(connect.Int64), Value: i, Timestamp: time.Now()}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

func (c *countingTask) OffsetsCommitted(_ context.Context, _, offset map[string]any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastSeen = offset["pos"].(int64)
	return nil
}

func newTestSource(t *testing.T, broker *kafka.Embedded, store offsets.Store, task connect.SourceTask) (*Source, *kafka.Producer) {
	sc, err := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	j := &converter.JSON{SchemasEnabled: true}
	return &Source{Name: "c", Task: task, Producer: p, Offsets: store, KeyConverter: j, ValueConverter: j, FlushInterval: 20 * time.Millisecond, Stats: &Stats{}}, p
}

func TestSourceCommitsAfterAckAndResumes(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	task := &countingTask{n: 1000}
	task.offsets = OffsetReader{Store: store, Connector: "c"}
	src, p := newTestSource(t, broker, store, task)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for src.Stats.Written.Load() < 1000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p.Close()
	off, _ := store.Get(context.Background(), "c", part)
	if off["pos"] != int64(999) {
		t.Fatalf("committed offset %v, want pos 999", off)
	}
	if task.lastSeen != 999 {
		t.Fatalf("task told of offset %d, want 999", task.lastSeen)
	}

	// Resume: a new task continues after the committed offset.
	task2 := &countingTask{n: 1500}
	task2.offsets = OffsetReader{Store: store, Connector: "c"}
	src2, p2 := newTestSource(t, broker, store, task2)
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { done <- src2.Run(ctx2) }()
	for src2.Stats.Written.Load() < 500 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel2()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	p2.Close()
	if got := src2.Stats.Written.Load(); got != 500 {
		t.Fatalf("resumed task wrote %d records, want 500", got)
	}
	raw, _ := kafka.NewRaw(broker.Addrs(), mustConfig(t, broker))
	defer raw.Close()
	total := 0
	for i := 0; i < 3; i++ {
		kvs, err := raw.ReadAll(context.Background(), fmt.Sprintf("topic%d", i))
		if err != nil {
			t.Fatal(err)
		}
		total += len(kvs)
	}
	if total != 1500 {
		t.Fatalf("%d records in Kafka, want 1500 (no loss, no duplicates on clean restart)", total)
	}
}

func TestSourceTaskFailureKeepsAckedOffsets(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	task := &countingTask{n: 100, failAt: 50}
	task.offsets = OffsetReader{Store: store, Connector: "c"}
	src, p := newTestSource(t, broker, store, task)
	defer p.Close()
	err = src.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Run = %v, want the task's error", err)
	}
	off, _ := store.Get(context.Background(), "c", part)
	if pos, _ := off["pos"].(int64); pos > 49 {
		t.Fatalf("committed pos %d beyond the last written record", pos)
	}
}

func TestConvertErrorNamesTopicAndIsNotCommitted(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	store := offsets.NewMemory()
	bad := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int64)).MustBuild()
	task := taskFunc(func(ctx context.Context, w connect.RecordWriter) error {
		return w.Write(ctx, []*connect.Record{{SourcePartition: part, SourceOffset: map[string]any{"pos": int64(1)}, Topic: "bad.topic",
			KeySchema: bad, Key: connect.NewStruct(bad)}}) // required id is null
	})
	src, p := newTestSource(t, broker, store, task)
	defer p.Close()
	err = src.Run(context.Background())
	if err == nil || !contains(err.Error(), "bad.topic") {
		t.Fatalf("Run = %v, want an error naming the topic", err)
	}
	if off, _ := store.Get(context.Background(), "c", part); off != nil {
		t.Fatalf("offset %v committed for a record that never reached Kafka", off)
	}
}

type taskFunc func(ctx context.Context, w connect.RecordWriter) error

func (f taskFunc) Run(ctx context.Context, w connect.RecordWriter) error { return f(ctx, w) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func mustConfig(t *testing.T, b *kafka.Embedded) *sarama.Config {
	sc, err := kafka.ClientConfig{Brokers: b.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// blockingSender acknowledges the first n messages at once and then blocks
// every send until its context ends, like a producer whose buffer is full.
type blockingSender struct {
	n    int
	sent int
}

func (b *blockingSender) Send(ctx context.Context, m *sarama.ProducerMessage) error {
	if b.sent < b.n {
		b.sent++
		m.Metadata.(*kafka.Pending).Ack(nil)
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// A stop that interrupts a send must not wait for a record that never
// reached Kafka, and must still commit everything that did.
func TestStopDuringBlockedSendCommitsAckedPrefix(t *testing.T) {
	store := offsets.NewMemory()
	task := &countingTask{n: 1000}
	task.offsets = OffsetReader{Store: store, Connector: "c"}
	j := &converter.JSON{SchemasEnabled: true}
	src := &Source{Name: "c", Task: task, Producer: &blockingSender{n: 10}, Offsets: store, KeyConverter: j, ValueConverter: j,
		FlushInterval: time.Hour, ShutdownTimeout: 30 * time.Second, Stats: &Stats{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want a clean stop", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run waited for a record that was never sent")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %v", d)
	}
	off, _ := store.Get(context.Background(), "c", part)
	if off["pos"] != int64(9) {
		t.Fatalf("committed %v, want pos 9 (the last acknowledged record)", off)
	}
}

// stallingStore's first Put with offsets waits for its context to end,
// as a remote offset store does when the stop arrives mid-commit.
type stallingStore struct {
	offsets.Store
	once    sync.Once
	stalled chan struct{}
}

func (s *stallingStore) Put(ctx context.Context, connector string, entries []offsets.Entry) error {
	first := false
	s.once.Do(func() { first = true })
	if first {
		close(s.stalled)
		<-ctx.Done()
		return fmt.Errorf("offset store: %w", ctx.Err())
	}
	return s.Store.Put(ctx, connector, entries)
}

// A stop that arrives while a periodic commit is in flight is a clean
// stop, and the final commit still stores the acknowledged offsets (a
// NATS KV store once failed TestOutage's stop with "committing offsets:
// context canceled").
func TestStopDuringPeriodicCommitIsClean(t *testing.T) {
	store := &stallingStore{Store: offsets.NewMemory(), stalled: make(chan struct{})}
	task := &countingTask{n: 10}
	task.offsets = OffsetReader{Store: store, Connector: "c"}
	j := &converter.JSON{SchemasEnabled: true}
	src := &Source{Name: "c", Task: task, Producer: &blockingSender{n: 10}, Offsets: store, KeyConverter: j, ValueConverter: j,
		FlushInterval: 20 * time.Millisecond, ShutdownTimeout: 30 * time.Second, Stats: &Stats{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	select {
	case <-store.stalled:
	case <-time.After(30 * time.Second):
		t.Fatal("no periodic commit")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want a clean stop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the stop")
	}
	off, _ := store.Get(context.Background(), "c", part)
	if off["pos"] != int64(9) {
		t.Fatalf("committed %v, want pos 9 (the last acknowledged record)", off)
	}
}

// flakyConverter fails its first failures calls with a refused
// connection, as a converter whose schema registry is down does.
type flakyConverter struct {
	converter.Converter
	mu       sync.Mutex
	failures int
	calls    int
}

func (f *flakyConverter) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.failures
	f.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("registering schema: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	}
	return f.Converter.FromConnect(topic, s, v)
}

// TestConversionRetried: errors.retry.timeout retries a conversion that
// failed for a passing reason; without it the task fails at once.
func TestConversionRetried(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	for _, tc := range []struct {
		name   string
		policy connect.RetryPolicy
		fails  bool
	}{
		{"errors.retry.timeout=0", connect.RetryPolicy{}, true},
		{"errors.retry.timeout=10000", connect.RetryPolicy{Timeout: 10 * time.Second, MaxDelay: 50 * time.Millisecond}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := offsets.NewMemory()
			task := &countingTask{n: 3, offsets: connect.OffsetReader(OffsetReader{Store: store, Connector: "c"})}
			src, p := newTestSource(t, broker, store, task)
			defer p.Close()
			flaky := &flakyConverter{Converter: src.ValueConverter, failures: 2}
			src.ValueConverter, src.Retry = flaky, tc.policy
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- src.Run(ctx) }()
			if tc.fails {
				if err := <-done; err == nil || !strings.Contains(err.Error(), "connection refused") {
					t.Fatalf("Run = %v, want the conversion failure", err)
				}
				return
			}
			for src.Stats.Written.Load() < 3 {
				select {
				case err := <-done:
					t.Fatalf("Run ended: %v", err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			cancel()
			<-done
			if flaky.calls != 5 {
				t.Fatalf("%d conversions, want 2 failed + 3", flaky.calls)
			}
		})
	}
}

// failingAtConverter fails the value of record pos == at, and records the
// positions it converted.
type failingAtConverter struct {
	converter.Converter
	at int64
}

func (f *failingAtConverter) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	if n, ok := v.(int64); ok && n == f.at {
		return nil, fmt.Errorf("value %d refused", n)
	}
	return f.Converter.FromConnect(topic, s, v)
}

// orderSender acknowledges at once and keeps the values in send order.
type orderSender struct {
	mu   sync.Mutex
	vals []string
}

func (o *orderSender) Send(_ context.Context, m *sarama.ProducerMessage) error {
	b, _ := m.Value.Encode()
	o.mu.Lock()
	o.vals = append(o.vals, string(b))
	o.mu.Unlock()
	m.Metadata.(*kafka.Pending).Ack(nil)
	return nil
}

// batchTask writes records 0..n-1 in Writes of batch records, then waits.
type batchTask struct{ n, batch int }

func (b *batchTask) Run(ctx context.Context, w connect.RecordWriter) error {
	var recs []*connect.Record
	for i := int64(0); i < int64(b.n); i++ {
		recs = append(recs, &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": i},
			Topic: "t", Partition: -1, ValueSchema: connect.Prim(connect.Int64), Value: i})
		if len(recs) == b.batch {
			if err := w.Write(ctx, recs); err != nil {
				return err
			}
			recs = nil
		}
	}
	<-ctx.Done()
	return ctx.Err()
}

// The conversion stage runs behind the task's Writes: a record it cannot
// convert must stop everything after it, even records the task already
// wrote, and no offset may be committed from it on.
func TestStageStopsAtFailedConversion(t *testing.T) {
	store := offsets.NewMemory()
	j := &converter.JSON{SchemasEnabled: false}
	snd := &orderSender{}
	src := &Source{Name: "c", Task: &batchTask{n: 5000, batch: 100}, Producer: snd, Offsets: store, KeyConverter: j,
		ValueConverter: &failingAtConverter{Converter: j, at: 3000},
		FlushInterval:  10 * time.Millisecond, Stats: &Stats{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := src.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "value 3000 refused") {
		t.Fatalf("Run = %v, want the conversion failure of record 3000", err)
	}
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if len(snd.vals) != 3000 {
		t.Fatalf("sent %d records, want exactly the 3000 before the failed one", len(snd.vals))
	}
	for i, v := range snd.vals {
		if v != strconv.Itoa(i) {
			t.Fatalf("record %d sent as %q: order lost", i, v)
		}
	}
	off, _ := store.Get(context.Background(), "c", part)
	if off == nil || off["pos"].(int64) > 2999 {
		t.Fatalf("committed %v, want at most pos 2999", off)
	}
}
