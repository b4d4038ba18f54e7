package offsets

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/kafka"
)

func TestKafkaStoreUsesKafkaConnectRecordsAndSurvivesReopen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := kafka.ClientConfig{Brokers: e.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	const topic = "connect-offsets"
	opts := KafkaOptions{Brokers: e.Addrs(), Config: sc, Topic: topic, Partitions: 5}

	// An offset written by Debezium on Kafka Connect before Tributary
	// existed, byte for byte as Jackson writes it, plus a record whose key
	// is not an offset key (it must be skipped, not fatal).
	if err := kafka.CreateCompacted(raw.Client(), topic, 5, true); err != nil {
		t.Fatal(err)
	}
	if err := raw.ProduceSync(ctx, topic, []byte(`["inventory",{"server":"dbserver1"}]`),
		[]byte(`{"transaction_id":null,"lsn_proc":37094192,"lsn_commit":37094192,"lsn":37094192,"txId":555,"ts_usec":1700000000000000}`)); err != nil {
		t.Fatal(err)
	}
	if err := raw.ProduceSync(ctx, topic, []byte(`not-a-key`), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}

	s1, err := OpenKafka(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s1.Get(ctx, "inventory", map[string]any{"server": "dbserver1"})
	if err != nil {
		t.Fatal(err)
	}
	if got["lsn"] != int64(37094192) || got["txId"] != int64(555) || got["transaction_id"] != nil {
		t.Fatalf("seeded offset read as %#v", got)
	}
	big := int64(1) << 62
	if err := s1.Put(ctx, "orders", []Entry{
		{Partition: map[string]any{"server": "mysql1"}, Offset: map[string]any{"file": "binlog.000003", "pos": big}},
		{Partition: map[string]any{"server": "mysql2"}, Offset: map[string]any{"file": "binlog.000001", "pos": int64(4)}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := s1.Put(ctx, "orders", []Entry{{Partition: map[string]any{"server": "mysql2"}}}); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	// A second store (another worker) sees the same state.
	s2, err := OpenKafka(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	list, err := s2.List(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Partition["server"] != "mysql1" || list[0].Offset["pos"] != big {
		t.Fatalf("orders offsets after reopen: %#v", list)
	}

	// The records on the topic are exactly what Kafka Connect would write.
	kvs, err := raw.ReadAll(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, kv := range kvs {
		v := "<tombstone>"
		if kv.Value != nil {
			v = string(kv.Value)
		}
		lines = append(lines, string(kv.Key)+" => "+v)
	}
	sort.Strings(lines)
	want := []string{
		`["inventory",{"server":"dbserver1"}] => {"transaction_id":null,"lsn_proc":37094192,"lsn_commit":37094192,"lsn":37094192,"txId":555,"ts_usec":1700000000000000}`,
		`["orders",{"server":"mysql1"}] => {"file":"binlog.000003","pos":4611686018427387904}`,
		`["orders",{"server":"mysql2"}] => <tombstone>`,
		`["orders",{"server":"mysql2"}] => {"file":"binlog.000001","pos":4}`,
		`not-a-key => {}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("topic holds %d records:\n%v", len(lines), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, lines[i], want[i])
		}
	}
}
