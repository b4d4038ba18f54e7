package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// ProducePartition writes to the partition asked for even on a topic with
// many, ReadPartition reads it back in order, Partitions and CreateTopic
// see and make topics without auto-creating them.
func TestRawPartition(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()) // 10 partitions by default
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ClientConfig{Brokers: c.ListenAddrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := NewRaw(c.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	if n, err := raw.Partitions(ctx, "missing"); err != nil || n != 0 {
		t.Fatalf("Partitions of a missing topic: %d %v", n, err)
	}
	if n, _ := raw.Partitions(ctx, "missing"); n != 0 {
		t.Fatalf("Partitions created the topic (%d partitions)", n)
	}
	for i := 0; i < 20; i++ {
		if err := raw.ProducePartition(ctx, "many", 0, nil, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := raw.Partitions(ctx, "many"); err != nil || n != 10 {
		t.Fatalf("auto-created topic: %d partitions, %v", n, err)
	}
	kvs, err := raw.ReadPartition(ctx, "many", 0)
	if err != nil || len(kvs) != 20 {
		t.Fatalf("ReadPartition: %d records, %v", len(kvs), err)
	}
	for i, kv := range kvs {
		if string(kv.Value) != fmt.Sprint(i) {
			t.Fatalf("record %d is %q", i, kv.Value)
		}
	}
	created, err := raw.CreateTopic(ctx, "one", 1, map[string]string{"cleanup.policy": "delete"})
	if err != nil || !created {
		t.Fatalf("CreateTopic: %v %v", created, err)
	}
	if created, err := raw.CreateTopic(ctx, "one", 1, nil); err != nil || created {
		t.Fatalf("CreateTopic of an existing topic: %v %v", created, err)
	}
	if n, err := raw.Partitions(ctx, "one"); err != nil || n != 1 {
		t.Fatalf("created topic: %d partitions, %v", n, err)
	}
	if err := raw.ProducePartition(ctx, "one", 3, nil, []byte("x")); err == nil {
		t.Fatal("wrote to partition 3 of a one-partition topic")
	}
}
