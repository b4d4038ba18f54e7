package nats

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testbus"
)

// TestParkMissingStream: a topic whose subject no JetStream stream stores
// parks its partition (it is not the record's fault: no dead letter
// queue, and not a passing failure: no endless retry of the task's whole
// batch) while the other topic keeps flowing; the parked partition is
// listed with its subject, resuming before the stream exists parks it
// again, and after the stream is created a resume delivers every record
// in order.
func TestParkMissingStream(t *testing.T) {
	ns := testbus.StartNATS(t, testbus.NATSOptions{})
	nc, err := gonats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ORDERS", Subjects: []string{"cdc.orders"}}); err != nil {
		t.Fatal(err)
	}
	k := startKafka(t, 1, "orders", "payments")
	p := newProducer(t, k.ListenAddrs())
	send := func(topic string, n int, want map[string]int) {
		for i := 0; i < n; i++ {
			key := fmt.Sprintf("k%d", i%5)
			p.Send(t, topic, event{Key: key, Seq: want[key]})
			want[key]++
		}
	}
	orders, payments := map[string]int{}, map[string]int{}
	send("orders", 50, orders)
	send("payments", 50, payments)

	props := baseProps(ns.URL(), "topics", "orders,payments", "nats.stream.create", "false", "nats.stream.name", "", "nats.publish.ack.timeout.ms", "1000")
	delete(props, "nats.stream.name")
	c, err := runtime.ParseConnector(connect.Plugins{Plugin()}, config.Connector{Name: "park", Config: props})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	task, err := c.Plugin.NewSinkTask(ctx, c.Values, connect.TaskContext{ConnectorName: "park", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer task.Close()
	var parks atomic.Int64 // times a partition was parked
	parking := sinkrunner.NewParking(func(partitions, _ int) {
		if partitions == 1 {
			parks.Add(1)
		}
	})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- sinkrunner.Run(rctx, sinkrunner.Config{Brokers: k.ListenAddrs(), ConnectorName: "park", Props: c.Values,
			Task: task, KeyConverter: converter.StringConverter{}, ValueConverter: converter.ByteArrayConverter{},
			RetryBackoff: 100 * time.Millisecond, Logger: log, Parking: parking})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sink: %v", err)
		}
	}()

	parked := func() bool { return len(parking.Partitions()) == 1 }
	waitFor(t, 60*time.Second, "payments parked", parked)
	pp := parking.Partitions()[0]
	t.Logf("parked: table=%s topic=%s partition=%d offset=%d reason=%s", pp.Table, pp.Topic, pp.Partition, pp.Offset, pp.Reason)
	if pp.Table != "cdc.payments" || pp.Topic != "payments" || pp.Offset != 0 {
		t.Errorf("parked %+v, want cdc.payments, topic payments at offset 0", pp)
	}
	waitFor(t, 30*time.Second, "orders delivered", func() bool { return streamCount(t, ns.URL(), "ORDERS") == 50 })
	send("orders", 50, orders)
	waitFor(t, 30*time.Second, "orders delivered while payments is parked", func() bool { return streamCount(t, ns.URL(), "ORDERS") == 100 })

	// resumed before the stream exists: parked again
	if err := parking.Resume("cdc.payments"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "payments parked again", func() bool { return parks.Load() >= 2 && parked() })

	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PAYMENTS", Subjects: []string{"cdc.payments"}}); err != nil {
		t.Fatal(err)
	}
	if err := parking.Resume("payments-0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "payments delivered", func() bool { return streamCount(t, ns.URL(), "PAYMENTS") == 50 })
	if n := len(parking.Partitions()); n != 0 {
		t.Errorf("%d partitions still parked", n)
	}
	checkSequences(t, streamMsgs(t, ns.URL(), "ORDERS"), orders)
	checkSequences(t, streamMsgs(t, ns.URL(), "PAYMENTS"), payments)
}
