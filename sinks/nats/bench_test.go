package nats

import (
	"context"
	"fmt"
	"testing"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/testbus"
)

// BenchmarkPublish measures the publisher (batches of 500 with Msg-Id,
// headers and acks awaited) against BenchmarkRawPublish, nats.go's async
// publish with no ids or headers to the same kind of server: the limit.
func BenchmarkPublish(b *testing.B) {
	ns := testbus.StartNATS(b, testbus.NATSOptions{})
	v, err := Def().Parse(map[string]string{"nats.url": ns.URL(), "nats.subject": "cdc.${topic}", "nats.stream.create": "true",
		"nats.stream.name": "CDC", "nats.stream.storage": "memory"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPublisher(context.Background(), v, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	value := make([]byte, 200)
	batch := make([]*bus.Message, 500)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		for j := range batch {
			batch[j] = &bus.Message{Topic: "orders", Offset: int64(i + j), ID: fmt.Sprintf("orders-0-%d", i+j), Key: []byte("k"), Value: value,
				Headers: []bus.Header{{Key: "origin", Value: []byte("bench")}}}
		}
		if err := p.Publish(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkRawPublish(b *testing.B) {
	ns := testbus.StartNATS(b, testbus.NATSOptions{})
	nc, err := gonats.Connect(ns.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CDC", Subjects: []string{"cdc.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 200)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := js.PublishAsync("cdc.orders", value); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
