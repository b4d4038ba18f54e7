package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestEmbeddedProduceAndReadBack(t *testing.T) {
	e, err := StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := ClientConfig{Brokers: e.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	acks := make(chan error, n)
	ctx := context.Background()
	for i := 0; i < n; i++ {
		m := &sarama.ProducerMessage{Topic: "t1", Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.StringEncoder(fmt.Sprint(i)),
			Metadata: &Pending{Partition: -1, Ack: func(err error) { acks <- err }}}
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-acks:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d acknowledged", i, n)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := NewRaw(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	kvs, err := raw.ReadAll(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != n {
		t.Fatalf("read %d records, want %d", len(kvs), n)
	}
	for i, kv := range kvs {
		if string(kv.Value) != fmt.Sprint(i) {
			t.Fatalf("record %d has value %q: order not kept", i, kv.Value)
		}
	}
	if err := raw.ProduceSync(ctx, "hist", []byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	kvs, err = raw.ReadAll(ctx, "hist")
	if err != nil || len(kvs) != 1 || string(kvs[0].Value) != "v" {
		t.Fatalf("history read back %v %v", kvs, err)
	}
	none, err := raw.ReadAll(ctx, "does-not-exist")
	if err != nil || len(none) != 0 {
		t.Fatalf("missing topic: %v %v", none, err)
	}
}

func TestTopicCreationProps(t *testing.T) {
	for _, tc := range []struct {
		name    string
		props   map[string]string
		groups  int
		wantErr bool
	}{
		{"unset", map[string]string{}, 0, false},
		{"default", map[string]string{"default.partitions": "3", "default.replication.factor": "1"}, 1, false},
		{"group", map[string]string{"default.partitions": "3", "default.replication.factor": "1", "groups": "c", "c.include": "db\\..*", "c.cleanup.policy": "compact"}, 2, false},
		{"missing rf", map[string]string{"default.partitions": "3"}, 0, true},
		{"group without include", map[string]string{"default.partitions": "3", "default.replication.factor": "1", "groups": "c"}, 0, true},
		{"bad partitions", map[string]string{"default.partitions": "x", "default.replication.factor": "1"}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs, err := TopicCreationFromProps(tc.props)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if len(gs) != tc.groups {
				t.Fatalf("%d groups, want %d", len(gs), tc.groups)
			}
		})
	}
}

func TestTopicCreatorCreatesWithPartitions(t *testing.T) {
	e, err := StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, _ := ClientConfig{Brokers: e.Addrs()}.SaramaConfig()
	client, err := sarama.NewClient(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	groups, err := TopicCreationFromProps(map[string]string{"default.partitions": "1", "default.replication.factor": "1", "groups": "wide", "wide.include": "wide\\..*", "wide.partitions": "4"})
	if err != nil {
		t.Fatal(err)
	}
	tcr, err := NewTopicCreator(client, groups)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"wide.a", "narrow.b"} {
		if err := tcr.Ensure(context.Background(), topic); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.RefreshMetadata(); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"wide.a": 4, "narrow.b": 1} {
		ps, err := client.Partitions(topic)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != want {
			t.Errorf("%s has %d partitions, want %d", topic, len(ps), want)
		}
	}
}

// TestEmbeddedDataDir: a broker with a data directory keeps its topics
// across a restart whether or not it fsyncs each batch (without, segments
// are synced when the broker closes, as Kafka does).
func TestEmbeddedDataDir(t *testing.T) {
	for _, sync := range []bool{false, true} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			cfg := EmbeddedConfig{Addr: "127.0.0.1:0", DataDir: t.TempDir(), SyncWrites: sync}
			ctx := context.Background()
			const n = 200
			for round := 0; round < 2; round++ {
				e, err := StartEmbeddedWith(cfg)
				if err != nil {
					t.Fatal(err)
				}
				sc, err := ClientConfig{Brokers: e.Addrs()}.SaramaConfig()
				if err != nil {
					t.Fatal(err)
				}
				raw, err := NewRaw(e.Addrs(), sc)
				if err != nil {
					t.Fatal(err)
				}
				if round == 0 {
					for i := 0; i < n; i++ {
						if err := raw.ProduceSync(ctx, "kept", []byte("k"), []byte(fmt.Sprint(i))); err != nil {
							t.Fatal(err)
						}
					}
				}
				kvs, err := raw.ReadAll(ctx, "kept")
				raw.Close()
				e.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(kvs) != n {
					t.Fatalf("round %d: read %d records, want %d", round, len(kvs), n)
				}
				for i, kv := range kvs {
					if string(kv.Value) != fmt.Sprint(i) {
						t.Fatalf("round %d: record %d has value %q", round, i, kv.Value)
					}
				}
			}
		})
	}
}
