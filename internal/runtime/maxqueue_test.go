package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// A Debezium connector's max.queue.size bounds the records between it and
// Kafka, as Debezium's queue does: the records handed to Kafka and not
// yet acknowledged. Unset, the runtime's default stands.
func TestMaxQueueSizeBoundsRecordsInFlight(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	sc, err := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	plugin := &connect.Plugin{Class: "test.Debezium", Type: connect.SourcePlugin, Config: debezium.CommonDef,
		NewSourceTask: func(_ context.Context, _ *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			return &countingTask{n: 1, offsets: tc.Offsets}, nil
		}}
	for _, tc := range []struct {
		set  string
		want int
	}{{"", 0}, {"7", 7}} {
		props := map[string]string{"connector.class": "test.Debezium", "topic.prefix": "p", "database.hostname": "h", "database.user": "u"}
		if tc.set != "" {
			props["max.queue.size"] = tc.set
		}
		c, err := ParseConnector(connect.Plugins{plugin}, config.Connector{Name: "q", Config: props})
		if err != nil {
			t.Fatal(err)
		}
		src, err := NewSource(t.Context(), c, SourceDeps{Producer: p, Converters: &converter.Factory{}, Offsets: offsets.NewMemory()})
		if err != nil {
			t.Fatal(err)
		}
		if src.MaxInFlight != tc.want {
			t.Errorf("max.queue.size=%q: MaxInFlight %d, want %d", tc.set, src.MaxInFlight, tc.want)
		}
	}
	// and the bound holds: with 7, the task blocks on the 8th unacknowledged record
	tr := newTracker(7)
	for i := range 7 {
		if _, err := tr.submit(part, map[string]any{"pos": int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan struct{})
	go func() {
		tr.submit(part, map[string]any{"pos": int64(7)}) //nolint:errcheck // the test reads the block only
		close(blocked)
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-blocked:
		t.Fatal("an 8th record went in flight with max.queue.size=7")
	default:
	}
	tr.fail(context.Canceled)
	<-blocked
}
