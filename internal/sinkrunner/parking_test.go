package sinkrunner

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
)

// schemaTask refuses the records whose n is in refuse with a
// connect.SchemaChangeError until fixed; it records the n of every
// applied record per partition, in order.
type schemaTask struct {
	mu      sync.Mutex
	refuse  map[int32]bool
	fixed   bool
	applied map[int32][]int32
}

func (s *schemaTask) Put(_ context.Context, recs []*connect.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		if n := r.Value.(*connect.StructValue).Get("n").(int32); s.refuse[n] && !s.fixed {
			return &connect.SchemaChangeError{Table: "orders_p1", Reason: "column n is integer in the target, field \"n\" is now text"}
		}
	}
	for _, r := range recs {
		s.applied[r.Partition] = append(s.applied[r.Partition], r.Value.(*connect.StructValue).Get("n").(int32))
	}
	return nil
}

func (s *schemaTask) Close() error { return nil }

func (s *schemaTask) count(p int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.applied[p])
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSchemaChangeParksPartition: a SchemaChangeError parks its
// partition even under errors.tolerance=all with a dead letter queue
// (nothing goes to the queue), commits that partition up to the refused
// record, logs an error naming table, topic, partition, offset and reason,
// and lets the other partitions finish. A shutdown while parked is clean
// and keeps the committed offset; after a restart the partition parks
// again, and a resume once the target is fixed delivers the rest in order.
func TestSchemaChangeParksPartition(t *testing.T) {
	c := startKafka(t, 3, "orders")
	produce(t, c, "orders", 3, 300, nil)
	// n=100 is partition 1, offset 33
	task := &schemaTask{refuse: map[int32]bool{100: true}, applied: map[int32][]int32{}}
	logs := &syncBuf{}
	p := props(t, "topics", "orders", "consumer.max.poll.records", "10", "errors.tolerance", "all",
		"errors.deadletterqueue.topic.name", "dlq", "errors.deadletterqueue.topic.replication.factor", "1")
	start := func() (*running, *Parking) {
		parking := NewParking(nil)
		cfg := baseConfig(c, task, p)
		cfg.Parking = parking
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		return runAsync(t, cfg), parking
	}
	run, parking := start()
	waitFor(t, "partition 1 parked", func() bool { return len(parking.Partitions()) == 1 })
	waitFor(t, "partitions 0 and 2 delivered, 1 committed up to the refused record", func() bool {
		off := committed(t, c, "connect-sink-test", "orders", 3)
		return off[0] == 100 && off[2] == 100 && off[1] == 33
	})
	pp := parking.Partitions()[0]
	if pp.Table != "orders_p1" || pp.Topic != "orders" || pp.Partition != 1 || pp.Offset != 33 {
		t.Errorf("parked %+v, want orders_p1 orders-1 at offset 33", pp)
	}
	if task.count(1) != 33 {
		t.Errorf("partition 1: %d records applied, want the 33 before the refused one", task.count(1))
	}
	l := logs.String()
	if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "table=orders_p1 topic=orders partition=1 offset=33") || !strings.Contains(l, "is now text") {
		t.Errorf("no error log naming table, coordinates and reason:\n%s", l)
	}
	if err := parking.Resume("orders-2"); err == nil {
		t.Error("resuming a partition that is not parked succeeded")
	}

	run.cancel()
	if err := run.wait(t); err != nil {
		t.Fatalf("Run while parked: %v", err)
	}
	if off := committed(t, c, "connect-sink-test", "orders", 3); off[1] != 33 {
		t.Errorf("partition 1 committed at %d after the shutdown, want 33", off[1])
	}

	run, parking = start()
	waitFor(t, "parked again after the restart", func() bool { return len(parking.Partitions()) == 1 })
	task.mu.Lock()
	task.fixed = true
	task.mu.Unlock()
	if err := parking.Resume("orders_p1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "partition 1 delivered", func() bool { return committed(t, c, "connect-sink-test", "orders", 3)[1] == 100 })
	task.mu.Lock()
	defer task.mu.Unlock()
	for i, n := range task.applied[1] {
		if want := int32(1 + 3*i); n != want {
			t.Fatalf("partition 1 applied %d at position %d, want %d (in order, once)", n, i, want)
		}
	}
	if len(task.applied[1]) != 100 {
		t.Errorf("partition 1: %d records applied, want 100", len(task.applied[1]))
	}
	client, err := sarama.NewClient(c.ListenAddrs(), saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if n, err := client.GetOffset("dlq", 0, sarama.OffsetNewest); err != nil || n != 0 {
		t.Errorf("%d records in the dead letter queue (%v)", n, err)
	}
	run.cancel()
	if err := run.wait(t); err != nil {
		t.Fatal(err)
	}
}
