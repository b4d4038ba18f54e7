package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

func newCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("start in-process kafka: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func newKafkaStore(t *testing.T, c *kfake.Cluster) *KafkaStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := NewKafkaStore(ctx, KafkaStoreConfig{Brokers: c.ListenAddrs(), ReplicationFactor: 1})
	if err != nil {
		t.Fatalf("NewKafkaStore: %v", err)
	}
	return s
}

func get(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return strings.TrimSpace(rec.Body.String())
}

// TestKafkaStoreRebuildsAfterRestart writes through one server, closes its
// store, and checks that a new store on the same topic serves the same state.
func TestKafkaStoreRebuildsAfterRestart(t *testing.T) {
	c := newCluster(t)
	s1 := newKafkaStore(t, c)
	h1 := NewServer(s1, nil)
	run(t, h1, []step{
		{"register a1", "POST", "/subjects/a/versions", body(userV1), 200, `{"id":1}`},
		{"register a2", "POST", "/subjects/a/versions", body(userV2), 200, `{"id":2}`},
		{"register b1 same as a1", "POST", "/subjects/b/versions", body(userV1), 200, `{"id":1}`},
		{"register c1", "POST", "/subjects/c/versions", body(`"string"`), 200, `{"id":3}`},
		{"global level", "PUT", "/config", `{"compatibility":"FULL_TRANSITIVE"}`, 200, `{"compatibility":"FULL_TRANSITIVE"}`},
		{"subject level", "PUT", "/config/c", `{"compatibility":"NONE"}`, 200, `{"compatibility":"NONE"}`},
		{"mode", "PUT", "/mode/b", `{"mode":"READONLY"}`, 200, `{"mode":"READONLY"}`},
		{"soft delete a1", "DELETE", "/subjects/a/versions/1", "", 200, `1`},
		{"soft delete c", "DELETE", "/subjects/c", "", 200, `[1]`},
		{"hard delete c", "DELETE", "/subjects/c?permanent=true", "", 200, `[1]`},
	})
	paths := []string{
		"/subjects", "/subjects?deleted=true", "/subjects/a/versions", "/subjects/a/versions?deleted=true",
		"/subjects/a/versions/latest", "/subjects/a/versions/1?deleted=true", "/subjects/b/versions/1",
		"/schemas/ids/1", "/schemas/ids/2", "/schemas/ids/3", "/schemas/ids/1/versions", "/config", "/config/c",
		"/mode/b", "/schemas/ids/2?fetchMaxId=true",
	}
	before := map[string]string{}
	for _, p := range paths {
		before[p] = get(t, h1, p)
	}
	if err := s1.Close(); err != nil {
		t.Fatalf("close first store: %v", err)
	}

	s2 := newKafkaStore(t, c)
	defer s2.Close()
	h2 := NewServer(s2, nil)
	for _, p := range paths {
		if got := get(t, h2, p); got != before[p] {
			t.Errorf("after restart GET %s = %s, want %s", p, got, before[p])
		}
	}
	// Ids and versions continue where the log left off.
	run(t, h2, []step{
		{"new schema after restart", "POST", "/subjects/d/versions", body(`"bytes"`), 200, `{"id":4}`},
		{"level survived restart", "POST", "/subjects/d/versions", body(userV2), 409, `~{compatibility: 'FULL_TRANSITIVE'}`},
		{"read-only survived restart", "POST", "/subjects/b/versions", body(userV2), 422, `~read-only`},
	})
}

// TestKafkaStoreSharesTopic writes Confluent-format records with a plain
// producer, standing in for Confluent Schema Registry on the same topic,
// and checks that a running store picks them up and skips what it cannot read.
func TestKafkaStoreSharesTopic(t *testing.T) {
	c := newCluster(t)
	s := newKafkaStore(t, c)
	defer s.Close()
	h := NewServer(s, nil)

	conf := sarama.NewConfig()
	conf.Producer.Return.Successes = true
	conf.Producer.Partitioner = sarama.NewManualPartitioner
	p, err := sarama.NewSyncProducer(c.ListenAddrs(), conf)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	send := func(k, v string) {
		t.Helper()
		m := &sarama.ProducerMessage{Topic: DefaultTopic, Partition: 0, Key: sarama.StringEncoder(k)}
		if v != "" {
			m.Value = sarama.StringEncoder(v)
		}
		if _, _, err := p.SendMessage(m); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"keytype":"NOOP","magic":0}`, "")
	send(`not json`, `{}`)
	send(`{"keytype":"SOMETHING_NEW","magic":0}`, `{}`)
	send(`{"keytype":"SCHEMA","subject":"ext","version":1,"magic":1}`,
		`{"subject":"ext","version":1,"id":7,"schemaType":"AVRO","schema":"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}","deleted":false}`)
	send(`{"keytype":"CONFIG","subject":"ext","magic":0}`, `{"compatibilityLevel":"FORWARD"}`)

	// A registration goes through the log, so once it returns, everything
	// written before it has been applied too.
	run(t, h, []step{
		{"register after foreign records", "POST", "/subjects/mine/versions", body(`"int"`), 200, `{"id":8}`},
		{"foreign schema", "GET", "/subjects/ext/versions/1", "", 200,
			`{"subject":"ext","version":1,"id":7,"schema":"{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}","deleted":false}`},
		{"foreign config", "GET", "/config/ext", "", 200, `{"compatibilityLevel":"FORWARD"}`},
		{"foreign schema found by content", "POST", "/subjects/ext", body(`{"type":"enum","symbols":["A"],"name":"E"}`), 200, `~"id":7`},
		{"foreign level enforced", "POST", "/subjects/ext/versions", body(`{"type":"enum","name":"E","symbols":["A","B"]}`), 409, `~FORWARD`},
	})

	// The topic this store created must be compacted: Confluent relies on it.
	admin, err := sarama.NewClusterAdmin(c.ListenAddrs(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: DefaultTopic}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].ErrorCode != sarama.ErrNoError {
		t.Fatalf("describing the configuration of %s: %+v", DefaultTopic, results)
	}
	policy := ""
	for _, e := range results[0].Configs {
		if e.Name == "cleanup.policy" {
			policy = e.Value
		}
	}
	if policy != "compact" {
		t.Errorf("cleanup.policy of %s = %q, want compact", DefaultTopic, policy)
	}
}

func TestKafkaStoreRejectsMultiPartitionTopic(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, DefaultTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := NewKafkaStore(ctx, KafkaStoreConfig{Brokers: c.ListenAddrs()})
	if err == nil {
		s.Close()
		t.Fatal("a 3-partition _schemas topic was accepted")
	}
	if !strings.Contains(err.Error(), "3 partitions") {
		t.Errorf("error %v does not name the partition count", err)
	}
}

// TestKafkaStoreClusterID: /v1/metadata/id names the Kafka cluster the
// _schemas topic lives in, as Confluent's ServerMetadataResource does.
func TestKafkaStoreClusterID(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ClusterID("tributary-test-cluster"))
	if err != nil {
		t.Fatalf("start in-process kafka: %v", err)
	}
	t.Cleanup(c.Close)
	s := newKafkaStore(t, c)
	defer s.Close()
	got := get(t, NewServer(s, nil), "/v1/metadata/id")
	want := `{"id":"","scope":{"clusters":{"kafka-cluster":"tributary-test-cluster","schema-registry-cluster":"schema-registry"},"path":[]}}`
	if !jsonEqual(got, want) {
		t.Errorf("/v1/metadata/id = %s, want %s", got, want)
	}
}
