package runtime

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// reuseCounter is a JsonConverter that notes how often it hands out each
// pooled buffer, to show that the test below ran with buffers reused.
type reuseCounter struct {
	*converter.JSON
	mu   sync.Mutex
	seen map[*converter.Buffer]int
}

func (r *reuseCounter) FromConnectBuffer(topic string, s *connect.Schema, v any) (*converter.Buffer, error) {
	b, err := r.JSON.FromConnectBuffer(topic, s, v)
	if b != nil {
		r.mu.Lock()
		r.seen[b]++
		r.mu.Unlock()
	}
	return b, err
}

func (r *reuseCounter) reused() (handed, distinct int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.seen {
		handed += n
	}
	return handed, len(r.seen)
}

// The runtime converts into pooled buffers that the Kafka producer
// releases once the broker has them; the broker must hold exactly what
// the unpooled converter writes for every record, while the buffers are
// reused for later records (run with -race: a buffer released while kgo
// still reads it is written by the next conversion).
func TestPooledBuffersReachKafkaIntact(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	const n = 3000
	ks := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int64)).MustBuild()
	vs := connect.StructBuilder().Name("v").Field("id", connect.Prim(connect.Int64)).
		Field("note", connect.Prim(connect.String)).Field("tags", connect.ArrayOf(connect.Prim(connect.String)).Optional().MustBuild()).MustBuild()
	recs := make([]*connect.Record, n)
	for i := range recs {
		// Sizes jump between records of a topic, so a buffer sized for
		// the last record is sometimes too small and grows.
		note := strings.Repeat(fmt.Sprintf("%d\"é", i), (i*7919)%(1+i%400))
		v := connect.NewStruct(vs).Set("id", int64(i)).Set("note", note)
		if i%5 == 0 {
			v.Set("tags", []any{"a", note})
		}
		recs[i] = &connect.Record{SourcePartition: part, SourceOffset: map[string]any{"pos": int64(i)},
			Topic: fmt.Sprintf("pooled%d", i%2), Partition: -1, KeySchema: ks, Key: connect.NewStruct(ks).Set("id", int64(i)),
			ValueSchema: vs, Value: v, Timestamp: time.Now()}
		if i%97 == 0 {
			recs[i].ValueSchema, recs[i].Value = nil, nil // a tombstone: no value buffer
		}
	}
	task := taskFunc(func(ctx context.Context, w connect.RecordWriter) error {
		for i := 0; i < n; {
			k := min(1+i%23, n-i)
			if err := w.Write(ctx, recs[i:i+k]); err != nil {
				return err
			}
			i += k
		}
		<-ctx.Done()
		return ctx.Err()
	})
	sc := mustConfig(t, broker)
	p, err := kafka.NewProducer(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	kc, _ := converter.NewJSON(nil)
	vj, _ := converter.NewJSON(nil)
	vc := &reuseCounter{JSON: vj, seen: map[*converter.Buffer]int{}}
	src := &Source{Name: "c", Task: task, Producer: p, Offsets: offsets.NewMemory(), KeyConverter: kc, ValueConverter: vc,
		MaxInFlight: 100, FlushInterval: 20 * time.Millisecond, Stats: &Stats{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for src.Stats.Written.Load() < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	// With at most 100 records unacknowledged, most conversions must get
	// a buffer released before (the garbage collector empties the pool
	// now and then).
	handed, distinct := vc.reused()
	t.Logf("%d value buffers handed out, %d distinct", handed, distinct)
	if handed < n*9/10 || handed-distinct < n/2 {
		t.Fatalf("%d value buffers handed out, %d distinct: the test needs buffers reused", handed, distinct)
	}
	plain := &converter.JSON{SchemasEnabled: true}
	raw, err := kafka.NewRaw(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for topic := range 2 {
		kvs, err := raw.ReadAll(context.Background(), fmt.Sprintf("pooled%d", topic))
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) != n/2 {
			t.Fatalf("pooled%d holds %d records, want %d", topic, len(kvs), n/2)
		}
		for j, kv := range kvs {
			r := recs[2*j+topic]
			wantKey, _ := plain.FromConnect(r.Topic, r.KeySchema, r.Key)
			wantVal, _ := plain.FromConnect(r.Topic, r.ValueSchema, r.Value)
			if !bytes.Equal(kv.Key, wantKey) || !bytes.Equal(kv.Value, wantVal) {
				t.Fatalf("record %d in Kafka:\nkey %s\nvalue %.200s\nwant\nkey %s\nvalue %.200s", 2*j+topic, kv.Key, kv.Value, wantKey, wantVal)
			}
		}
	}
}
