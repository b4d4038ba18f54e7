package mysql

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/kafka"
)

func TestHistoryClientProperties(t *testing.T) {
	base := map[string]string{"topic.prefix": "p", "database.hostname": "h", "database.user": "u", "database.server.id": "1",
		"schema.history.internal.kafka.topic": "h"}
	parse := func(extra map[string]string) (*settings, error) {
		props := map[string]string{}
		for k, v := range base {
			props[k] = v
		}
		for k, v := range extra {
			props[k] = v
		}
		v, err := MariaDBPlugin().Config().Parse(props)
		if err != nil {
			return nil, err
		}
		return parseSettings(mariadbFlavor, v)
	}
	t.Run("applied", func(t *testing.T) {
		s, err := parse(map[string]string{
			"schema.history.internal.kafka.bootstrap.servers":         "k1:9092, k2:9092",
			"schema.history.internal.kafka.query.timeout.ms":          "10",
			"schema.history.internal.kafka.create.timeout.ms":         "60",
			"schema.history.internal.kafka.recovery.poll.interval.ms": "200",
			"schema.history.internal.kafka.recovery.attempts":         "50",
			"schema.history.internal.producer.linger.ms":              "5",
			"schema.history.internal.consumer.security.protocol":      "SSL",
		})
		if err != nil {
			t.Fatal(err)
		}
		h := s.historyClient
		if strings.Join(h.brokers, ",") != "k1:9092,k2:9092" || h.queryTimeout != 10*time.Millisecond || h.createTimeout != 60*time.Millisecond ||
			h.recoveryPoll != 200*time.Millisecond || h.recoveryAttempts != 50 || h.producer["linger.ms"] != "5" || h.consumer["security.protocol"] != "SSL" {
			t.Fatalf("%+v", h)
		}
	})
	for _, tc := range []struct {
		prop, value, want string
	}{
		{"schema.history.internal.producer.acks", "1", "schema.history.internal.producer.acks"},
		{"schema.history.internal.consumer.linger.ms", "5", "a producer property, given for the consumer"},
		{"schema.history.internal.producer.ssl.keystore.password", "hunter2", "[hidden]"},
		{"schema.history.internal.kafka.recovery.attempts", "0", "must be a positive integer"},
		{"schema.history.internal.kafka.query.timeout.ms", "x", "schema.history.internal.kafka.query.timeout.ms"},
		{"schema.history.internal.kafka.buffer.batch.size", "10", "not supported"},
	} {
		t.Run(tc.prop, func(t *testing.T) {
			_, err := parse(map[string]string{tc.prop: tc.value})
			var errs config.Errors
			if err == nil || !errors.As(err, &errs) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a config error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("secret in error: %v", err)
			}
		})
	}
}

func TestHistoryClientBrokers(t *testing.T) {
	worker := []string{"127.0.0.1:9092"}
	for _, tc := range []struct {
		name string
		h    historyClient
		want string // "" when the worker's client is used
	}{
		{"not set", historyClient{}, ""},
		{"the worker's cluster", historyClient{brokers: []string{"127.0.0.1:9092"}}, ""},
		{"another cluster", historyClient{brokers: []string{"kafka-history:9092"}}, "kafka-history:9092"},
		{"own settings on the worker's cluster", historyClient{producer: map[string]string{"linger.ms": "1"}}, "127.0.0.1:9092"},
		{"own settings elsewhere", historyClient{brokers: []string{"h:1"}, consumer: map[string]string{"client.id": "x"}}, "h:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, own := tc.h.clientBrokers(worker)
			if got := strings.Join(b, ","); own != (tc.want != "") || got != tc.want {
				t.Fatalf("clientBrokers = %q, %v; want %q", got, own, tc.want)
			}
		})
	}
}

// blockingStore is a history store whose calls hang, as against a broker
// that accepts connections but does not answer.
type blockingStore struct{ historyStore }

func (blockingStore) Partitions(ctx context.Context, _ string) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func (blockingStore) CreateTopic(ctx context.Context, _ string, _ int32, _ map[string]string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

func TestHistoryTimeouts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := timedHistory{historyStore: blockingStore{}, cfg: historyClient{queryTimeout: 50 * time.Millisecond, createTimeout: 80 * time.Millisecond}}
	start := time.Now()
	if _, err := h.Partitions(ctx, "t"); err == nil || !strings.Contains(err.Error(), "schema.history.internal.kafka.query.timeout.ms=50") {
		t.Fatalf("Partitions: %v", err)
	}
	if _, err := h.CreateTopic(ctx, "t", 1, nil); err == nil || !strings.Contains(err.Error(), "schema.history.internal.kafka.create.timeout.ms=80") {
		t.Fatalf("CreateTopic: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("timeouts took %v", d)
	}
}

// TestHistoryOnItsOwnCluster keeps the schema history in another Kafka
// cluster than the worker's, one that requires SCRAM authentication given
// only through schema.history.internal.producer.* and .consumer.*, as a
// Debezium configuration does: the history is written there (partition 0)
// and not to the worker's cluster, and a restarted connector recovers the
// table structures from it.
func TestHistoryOnItsOwnCluster(t *testing.T) {
	e := newEnv(t)
	hist, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(4),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "history", "h1st0ry"))
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	auth := map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
		"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="history" password="h1st0ry";`}
	extra := map[string]string{"schema.history.internal.kafka.bootstrap.servers": strings.Join(hist.ListenAddrs(), ",")}
	for k, v := range auth {
		extra["schema.history.internal.producer."+k] = v
		extra["schema.history.internal.consumer."+k] = v
	}
	props := e.props(extra)

	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10))", "INSERT INTO t VALUES (1, 'one')")
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), props, c)
	c.waitFor(t, 1, onTopic("mariadb1.inventory.t"))
	e.db.Exec(t, "inventory", "ALTER TABLE t ADD COLUMN b INT", "INSERT INTO t VALUES (2, 'two', 2)")
	c.waitFor(t, 2, onTopic("mariadb1.inventory.t"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := e.raw.Partitions(ctx, "schemahistory.mariadb1"); err != nil || n != 0 {
		t.Fatalf("the worker's cluster has the history topic with %d partitions (%v)", n, err)
	}
	sc, err := kafka.ClientConfig{Brokers: hist.ListenAddrs(), Props: auth}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	hraw, err := kafka.NewRaw(hist.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer hraw.Close()
	if n, err := hraw.Partitions(ctx, "schemahistory.mariadb1"); err != nil || n != 1 {
		t.Fatalf("history topic on its own cluster: %d partitions (%v), want 1", n, err)
	}
	recs, err := hraw.ReadPartition(ctx, "schemahistory.mariadb1", 0)
	if err != nil {
		t.Fatal(err)
	}
	var sawAlter bool
	for _, kv := range recs {
		sawAlter = sawAlter || strings.Contains(string(kv.Value), "ADD COLUMN b")
	}
	if !sawAlter {
		t.Fatalf("the ALTER is not in the history's %d records", len(recs))
	}

	// Restarted, the connector rebuilds t (with b) from that cluster: the
	// row streamed next carries b.
	c.reset()
	r = e.start(t, MariaDBPlugin(), props, c)
	e.db.Exec(t, "inventory", "INSERT INTO t VALUES (3, 'three', 3)")
	got := c.waitFor(t, 1, onTopic("mariadb1.inventory.t"))
	after := got[len(got)-1].Value.(*connect.StructValue).Get("after").(*connect.StructValue)
	if after.Get("b") != int32(3) {
		t.Fatalf("row after restart: %v", after)
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}
