package nats

import (
	"context"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/tributary-io/tributary/internal/testbus"
)

type (
	event      = testbus.Event
	sinkConfig = testbus.SinkConfig
)

var (
	startKafka  = testbus.StartKafka
	newProducer = testbus.NewProducer
	waitFor     = testbus.WaitFor
)

func runSink(ctx context.Context, sc sinkConfig) error { return testbus.RunSink(ctx, Plugin(), sc) }

func baseProps(url string, kv ...string) map[string]string {
	m := map[string]string{
		"connector.class": Class, "topics": "orders", "nats.url": url, "nats.subject": "cdc.${topic}",
		"nats.stream.create": "true", "nats.stream.name": "CDC",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// streamMsgs reads every message of a stream in order.
func streamMsgs(t testing.TB, url, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, err := gonats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("stream %s message %d: %v", stream, seq, err)
		}
		out = append(out, m)
	}
	return out
}

// streamCount is the number of messages in a stream (0 when it does not
// exist yet).
func streamCount(t testing.TB, url, stream string) uint64 {
	t.Helper()
	nc, err := gonats.Connect(url)
	if err != nil {
		return 0
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// checkSequences checks that the stream holds every event of want (key →
// number of events) exactly once and each key's events in order.
func checkSequences(t *testing.T, msgs []*jetstream.RawStreamMsg, want map[string]int) {
	t.Helper()
	values := make([][]byte, len(msgs))
	for i, m := range msgs {
		values[i] = m.Data
	}
	d := testbus.CheckSequences(t, values, want)
	if d.Duplicates > 0 || d.Missing > 0 || d.OutOfOrder > 0 {
		t.Fatalf("stream lost, repeated or reordered events: %+v", d)
	}
}
