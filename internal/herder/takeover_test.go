package herder_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/transforms"
)

func logger() *slog.Logger {
	if os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// TestTakeOverKafkaConnectTopics seeds config, offset and status topics
// with records exactly as a Kafka Connect cluster running a source
// connector writes them (JsonConverter without schemas; target states in
// the KIP-875 format; a deleted connector; a stopped one; a session key),
// then starts a Tributary distributed worker on them: it runs the
// configured connector from the stored offset, leaves the stopped one
// stopped, ignores the deleted one, keeps the task configurations as they
// are (they already match what Tributary would generate) and reports
// statuses in the same format.
func TestTakeOverKafkaConnectTopics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	brokers := kc.ListenAddrs()
	sc, err := kafka.ClientConfig{Brokers: brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	const cls = herdertest.CounterClass
	seed := map[string][][2]string{
		"connect-configs": {
			{"connector-old", `{"properties":{"connector.class":"` + cls + `","topic":"old","name":"old"}}`},
			{"target-state-old", `{"state":"STARTED","state.v2":"STARTED"}`},
			{"connector-inventory", `{"properties":{"connector.class":"` + cls + `","tasks.max":"1","topic":"inventory","name":"inventory","counter.server":"dbserver1","counter.interval.ms":"20"}}`},
			{"task-inventory-0", `{"properties":{"connector.class":"` + cls + `","tasks.max":"1","topic":"inventory","name":"inventory","counter.server":"dbserver1","counter.interval.ms":"20","task.class":"` + cls + `Task"}}`},
			{"commit-inventory", `{"tasks":1}`},
			{"connector-parked", `{"properties":{"connector.class":"` + cls + `","topic":"parked","name":"parked"}}`},
			{"target-state-parked", `{"state":"PAUSED","state.v2":"STOPPED"}`},
			{"commit-parked", `{"tasks":0}`},
			{"session-key", `{"key":"kEi2rDr1hyGBJjr1mTuKTw==","algorithm":"HmacSHA256","creation-timestamp":1700000000000}`},
			{"connector-old", ""},
			{"target-state-old", ""},
		},
		"connect-offsets": {
			{`["inventory",{"server":"dbserver1"}]`, `{"seq":41}`},
			{`["old",{"server":"old"}]`, `{"seq":5}`},
		},
		"connect-status": {
			{"status-connector-inventory", `{"state":"RUNNING","trace":null,"worker_id":"10.0.0.5:8083","generation":12}`},
			{"status-task-inventory-0", `{"state":"RUNNING","trace":null,"worker_id":"10.0.0.5:8083","generation":12}`},
			{"status-connector-parked", `{"state":"STOPPED","trace":null,"worker_id":"10.0.0.6:8083","generation":12}`},
		},
	}
	parts := map[string]int32{"connect-configs": 1, "connect-offsets": 25, "connect-status": 5}
	for topic, recs := range seed {
		if err := kafka.CreateCompacted(raw.Client(), topic, parts[topic], true); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			var v []byte
			if r[1] != "" {
				v = []byte(r[1])
			}
			if err := raw.ProduceSync(ctx, topic, []byte(r[0]), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	seededConfigRecords := len(seed["connect-configs"])

	log := logger()
	configs, err := herder.OpenKafkaConfigStore(ctx, brokers, sc, "connect-configs", log)
	if err != nil {
		t.Fatal(err)
	}
	defer configs.Close()
	status, err := herder.OpenKafkaStatusStore(ctx, brokers, sc, "connect-status", 5, log)
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	store, err := offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: brokers, Config: sc, Topic: "connect-offsets", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	worker := map[string]string{"key.converter": converter.StringClass, "value.converter": converter.JSONClass,
		"value.converter.schemas.enable": "false", "offset.flush.interval.ms": "100"}
	tr := transforms.Builtin(log)
	h, err := herder.New(herder.Options{WorkerID: "127.0.0.1:18083", URL: "http://127.0.0.1:18083/",
		Plugins: connect.Plugins{herdertest.CounterPlugin()}, Converters: &converter.Factory{}, Transforms: tr, Worker: worker,
		Runner: &herder.KafkaRunner{Brokers: brokers, Sarama: sc, Raw: raw, Converters: &converter.Factory{}, Transforms: tr,
			Offsets: store, Worker: worker, ShutdownTimeout: 5 * time.Second, Logger: log},
		Configs: configs, Status: status, Offsets: store,
		Group: &herder.GroupOptions{Brokers: brokers, Config: sc, GroupID: "connect-cluster", SessionTimeout: 3 * time.Second,
			HeartbeatInterval: 300 * time.Millisecond, RebalanceTimeout: 10 * time.Second},
		ScheduledRebalanceMaxDelay: time.Second, TopicTracking: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hctx, hcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- h.Run(hctx) }()
	defer func() {
		hcancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	names, _ := h.Connectors(ctx)
	if strings.Join(names, ",") != "inventory,parked" {
		t.Fatalf("connectors %v", names)
	}
	waitUntil(t, 30*time.Second, "inventory running here", func() (bool, string) {
		st, err := h.ConnectorStatus(ctx, "inventory")
		if err != nil {
			return false, err.Error()
		}
		b, _ := json.Marshal(st)
		return st.Connector.WorkerID == "127.0.0.1:18083" && len(st.Tasks) == 1 && st.Tasks[0].State == herder.StateRunning &&
			st.Tasks[0].WorkerID == "127.0.0.1:18083", string(b)
	})
	st, err := h.ConnectorStatus(ctx, "parked")
	if err != nil || st.Connector.State != herder.StateStopped || len(st.Tasks) != 0 {
		t.Fatalf("parked: %+v %v", st, err)
	}
	// The task resumed after the stored offset.
	var first int64 = -1
	waitUntil(t, 20*time.Second, "records after the stored offset", func() (bool, string) {
		kvs, err := raw.ReadAll(ctx, "inventory")
		if err != nil || len(kvs) < 3 {
			return false, "no records yet"
		}
		first, _ = strconv.ParseInt(string(kvs[0].Value), 10, 64)
		return true, ""
	})
	if first != 42 {
		t.Fatalf("first record %d, want 42 (the Kafka Connect offset was 41)", first)
	}
	waitUntil(t, 10*time.Second, "offset committed in Kafka Connect's format", func() (bool, string) {
		o, err := store.Get(ctx, "inventory", map[string]any{"server": "dbserver1"})
		return err == nil && o["seq"].(int64) > 42, "not yet"
	})

	// Nothing in the config topic was rewritten: the task configuration
	// Kafka Connect generated is the one Tributary would generate.
	kvs, err := raw.ReadAll(ctx, "connect-configs")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != seededConfigRecords {
		var extra []string
		for _, kv := range kvs[seededConfigRecords:] {
			extra = append(extra, string(kv.Key)+"="+string(kv.Value))
		}
		t.Fatalf("Tributary rewrote the config topic: %v", extra)
	}
	// Statuses are written back in Kafka Connect's format.
	kvs, err = raw.ReadAll(ctx, "connect-status")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, kv := range kvs {
		if string(kv.Key) == "status-task-inventory-0" && strings.HasPrefix(string(kv.Value), `{"state":"RUNNING","trace":null,"worker_id":"127.0.0.1:18083","generation":`) {
			found = true
		}
	}
	if !found {
		t.Fatal("no RUNNING task status from this worker in the status topic")
	}
}

func waitUntil(t *testing.T, d time.Duration, what string, f func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, msg := f()
		if ok {
			return
		}
		last = msg
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s: %s", what, last)
}
