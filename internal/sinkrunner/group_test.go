package sinkrunner

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// commitAsKafkaConnect commits offsets for group the way a Kafka Connect
// sink task does: as a member of the group (a generation of it), the next
// offset to read per partition, after which the member leaves (the
// connector was stopped for the migration).
func commitAsKafkaConnect(t *testing.T, c *kfake.Cluster, group, topic string, offsets map[int32]int64) {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), saramaConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	g, err := sarama.NewConsumerGroupFromClient(group, client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &committer{topic: topic, offsets: offsets, done: cancel}
	if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	got := committed(t, c, group, topic, int32(len(offsets)))
	for p, off := range offsets {
		if got[p] != off {
			t.Fatalf("group %s partition %d: committed %d, want %d", group, p, got[p], off)
		}
	}
}

// committer marks and commits its offsets as soon as it joins the group.
type committer struct {
	topic   string
	offsets map[int32]int64
	done    func()
}

func (h *committer) Setup(sess sarama.ConsumerGroupSession) error {
	for p, off := range h.offsets {
		sess.MarkOffset(h.topic, p, off, "")
	}
	sess.Commit()
	h.done()
	return nil
}

func (h *committer) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *committer) ConsumeClaim(sess sarama.ConsumerGroupSession, _ sarama.ConsumerGroupClaim) error {
	<-sess.Context().Done()
	return nil
}

// TestResumesFromKafkaConnectOffsets is the sink half of migrating from
// Kafka Connect: a sink connector's progress is its consumer group's
// committed offsets (connect-<name>, or consumer.override.group.id), and
// Tributary's sink, joining the same group, starts exactly there: no
// record before the committed offsets is written again, every one after
// is written once.
func TestResumesFromKafkaConnectOffsets(t *testing.T) {
	cases := []struct {
		name  string
		props []string
		group string // the group Kafka Connect used and Tributary must use
		other string // a group that must stay untouched
	}{
		{"default group", nil, "connect-sink-test", "sink-test"},
		{"consumer.override.group.id", []string{"consumer.override.group.id", "legacy-orders-sink"}, "legacy-orders-sink", "connect-sink-test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := startKafka(t, 3, "orders")
			produce(t, c, "orders", 3, 300, nil) // record n at partition n%3, offset n/3
			start := map[int32]int64{0: 40, 1: 55, 2: 100}
			commitAsKafkaConnect(t, c, tc.group, "orders", start)

			task := &fakeTask{}
			p := props(t, append([]string{"topics", "orders", "consumer.max.poll.records", "20"}, tc.props...)...)
			run := runAsync(t, baseConfig(c, task, p))
			want := 0
			for _, off := range start {
				want += int(100 - off)
			}
			waitFor(t, "the records after the committed offsets", func() bool { return task.distinct() == want })
			waitFor(t, "offsets committed to the end", func() bool {
				off := committed(t, c, tc.group, "orders", 3)
				return off[0] == 100 && off[1] == 100 && off[2] == 100
			})
			run.cancel()
			if err := run.wait(t); err != nil {
				t.Fatalf("Run: %v", err)
			}
			for n := int32(0); n < 300; n++ {
				after := int64(n/3) >= start[n%3]
				switch k := task.seen[n]; {
				case after && k != 1:
					t.Errorf("record %d (partition %d offset %d) delivered %d times, want once", n, n%3, n/3, k)
				case !after && k != 0:
					t.Errorf("record %d (partition %d offset %d) before the committed offset %d delivered again", n, n%3, n/3, start[n%3])
				}
			}
			client, err := sarama.NewClient(c.ListenAddrs(), saramaConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			admin, err := sarama.NewClusterAdminFromClient(client)
			if err != nil {
				t.Fatal(err)
			}
			groups, err := admin.ListConsumerGroups()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := groups[tc.other]; ok {
				t.Errorf("consumer group %s exists; the sink must use %s only (groups: %v)", tc.other, tc.group, groups)
			}
		})
	}
}
