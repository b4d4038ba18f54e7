package kafka

import (
	"context"
	"crypto/tls"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Every producer property the table applies reaches the kgo client.
func TestKgoProducerOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		opt   any // a kgo option function, read back with OptValue
		want  any
	}{
		{"client.id default", nil, kgo.ClientID, "tributary"},
		{"enable.metrics.push is false", nil, kgo.DisableClientMetrics, true},
		{"client.id", map[string]string{"client.id": "src-1"}, kgo.ClientID, "src-1"},
		{"acks all", map[string]string{"acks": "all"}, kgo.RequiredAcks, kgo.AllISRAcks()},
		{"idempotent by default", nil, kgo.DisableIdempotentWrite, false},
		{"idempotence off", map[string]string{"enable.idempotence": "false"}, kgo.DisableIdempotentWrite, true},
		{"in flight 1 with idempotence", nil, kgo.MaxProduceRequestsInflightPerBroker, 1},
		{"max.in.flight", map[string]string{"enable.idempotence": "false", "max.in.flight.requests.per.connection": "5"}, kgo.MaxProduceRequestsInflightPerBroker, 5},
		{"linger default 5 ms", nil, kgo.ProducerLinger, 5 * time.Millisecond},
		{"linger.ms", map[string]string{"linger.ms": "20"}, kgo.ProducerLinger, 20 * time.Millisecond},
		{"linger.ms=0", map[string]string{"linger.ms": "0", "batch.size": "65536"}, kgo.ProducerLinger, time.Duration(0)},
		{"batch default = max.request.size", nil, kgo.ProducerBatchMaxBytes, int32(1 << 20)},
		{"batch.size", map[string]string{"batch.size": "65536"}, kgo.ProducerBatchMaxBytes, int32(65536)},
		{"max.request.size bounds the batch", map[string]string{"max.request.size": "200000"}, kgo.ProducerBatchMaxBytes, int32(200000)},
		{"request.timeout.ms", map[string]string{"request.timeout.ms": "7000"}, kgo.ProduceRequestTimeout, 7 * time.Second},
		{"request.timeout.ms read", map[string]string{"request.timeout.ms": "7000"}, kgo.RequestTimeoutOverhead, 7 * time.Second},
		{"socket.connection.setup.timeout.ms", map[string]string{"socket.connection.setup.timeout.ms": "3000"}, kgo.DialTimeout, 3 * time.Second},
		{"metadata.max.age.ms", map[string]string{"metadata.max.age.ms": "60000"}, kgo.MetadataMaxAge, time.Minute},
		{"retries", map[string]string{"retries": "7"}, kgo.RecordRetries, int64(7)},
		{"delivery.timeout.ms", map[string]string{"delivery.timeout.ms": "30000"}, kgo.RecordRetries, int64(30)},
		{"retries default", nil, kgo.RecordRetries, int64(maxRetries)},
		{"compression none", nil, kgo.ProducerBatchCompression, []kgo.CompressionCodec{kgo.NoCompression()}},
		{"compression snappy", map[string]string{"compression.type": "snappy"}, kgo.ProducerBatchCompression, []kgo.CompressionCodec{kgo.SnappyCompression()}},
		{"compression gzip", map[string]string{"compression.type": "gzip", "compression.gzip.level": "4"}, kgo.ProducerBatchCompression, []kgo.CompressionCodec{kgo.GzipCompression().WithLevel(4)}},
		{"compression lz4 default", map[string]string{"compression.type": "lz4"}, kgo.ProducerBatchCompression, []kgo.CompressionCodec{kgo.Lz4Compression()}},
		{"compression lz4 level", map[string]string{"compression.type": "lz4", "compression.lz4.level": "3"}, kgo.ProducerBatchCompression, []kgo.CompressionCodec{kgo.Lz4Compression().WithLevel(int(lz4.Level3))}},
		{"compression zstd", map[string]string{"compression.type": "zstd", "compression.zstd.level": "9"}, kgo.ProducerBatchCompression, []kgo.CompressionCodec{kgo.ZstdCompression().WithLevel(int(zstd.EncoderLevelFromZstd(9)))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := kgoClientFor(t, tc.props)
			if got := cl.OptValue(tc.opt); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("%v, want %v", got, tc.want)
			}
		})
	}
}

func TestKgoProducerSecurity(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		tls   bool
		mech  string
	}{
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": "u", "sasl.password": "p"}, false, "PLAIN"},
		{map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "u", "sasl.password": "p"}, false, "SCRAM-SHA-256"},
		{map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
			"sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="u" password="p";`}, true, "SCRAM-SHA-512"},
		{map[string]string{"security.protocol": "SSL"}, true, ""},
		{nil, false, ""},
	} {
		cl := kgoClientFor(t, tc.props)
		tc2, _ := cl.OptValue(kgo.DialTLSConfig).(*tls.Config)
		if (tc2 != nil) != tc.tls {
			t.Errorf("%v: TLS config %v, want TLS %v", tc.props, tc2, tc.tls)
		}
		mechs, _ := cl.OptValue(kgo.SASL).([]sasl.Mechanism)
		var names []string
		for _, m := range mechs {
			names = append(names, m.Name())
		}
		if strings.Join(names, ",") != tc.mech {
			t.Errorf("%v: SASL %v, want %q", tc.props, names, tc.mech)
		}
	}
}

// What kgo cannot do as asked is refused with the property's name.
func TestKgoProducerOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"batch.size": "100"}, "batch.size=100"},
		{map[string]string{"compression.type": "lz4", "compression.lz4.level": "12"}, "compression.lz4.level=12"},
	} {
		sc, err := ClientConfig{Brokers: []string{"127.0.0.1:1"}, Props: tc.props}.SaramaConfig()
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := kgoProducerOptions([]string{"127.0.0.1:1"}, sc, &wireStats{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.props, err, tc.want)
		}
	}
}

func kgoClientFor(t *testing.T, props map[string]string) *kgo.Client {
	t.Helper()
	sc, err := ClientConfig{Brokers: []string{"127.0.0.1:1"}, Props: props}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	opts, _, err := kgoProducerOptions([]string{"127.0.0.1:1"}, sc, &wireStats{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// Keyed records land where Kafka's Java producer (and the sarama
// partitioner before) put them; explicit partitions are kept; every
// record is acknowledged once; records too large fail with the
// property's name; Close waits for the acknowledgements.
func TestKgoProducerPartitionsAndAcks(t *testing.T) {
	e, err := StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := ClientConfig{Brokers: e.Addrs(), Props: map[string]string{"linger.ms": "0", "batch.size": "65536"}}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic("parts", &sarama.TopicDetail{NumPartitions: 4, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	var mu sync.Mutex
	acks := map[int]int{}
	errs := map[int]error{}
	ctx := context.Background()
	send := func(i int, key []byte, value []byte, part int32) {
		m := &sarama.ProducerMessage{Topic: "parts", Value: sarama.ByteEncoder(value),
			Headers:  []sarama.RecordHeader{{Key: []byte("h"), Value: []byte(fmt.Sprint(i))}},
			Metadata: &Pending{Partition: part, Ack: func(err error) { mu.Lock(); acks[i]++; errs[i] = err; mu.Unlock() }}}
		if key != nil {
			m.Key = sarama.ByteEncoder(key)
		}
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		send(i, []byte(fmt.Sprintf("key-%d", i)), []byte(fmt.Sprint(i)), -1)
	}
	send(n, nil, []byte("explicit"), 2)
	send(n+1, nil, []byte("null key"), -1)
	send(n+2, []byte("big"), make([]byte, 2<<20), -1)
	send(n+3, []byte("batch"), make([]byte, 100000), -1)
	// Close must flush: no wait for acknowledgements before it.
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if b, reqs := p.WireStats(); b < n || reqs == 0 {
		t.Errorf("wire stats: %d bytes in %d requests", b, reqs)
	}
	time.Sleep(50 * time.Millisecond) // the refused records are acknowledged on their own goroutine
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i <= n+3; i++ {
		if acks[i] != 1 {
			t.Fatalf("record %d acknowledged %d times", i, acks[i])
		}
		if i < n+2 && errs[i] != nil {
			t.Fatalf("record %d: %v", i, errs[i])
		}
	}
	if err := errs[n+2]; err == nil || !strings.Contains(err.Error(), "record too large for max.request.size") || !strings.Contains(err.Error(), "parts") {
		t.Fatalf("2 MiB record: %v", err)
	}
	if err := errs[n+3]; err == nil || !strings.Contains(err.Error(), "record too large for batch.size") {
		t.Fatalf("100 KB record with batch.size=65536: %v", err)
	}

	raw, err := NewRaw(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	consumer, err := sarama.NewConsumerFromClient(raw.Client())
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	seen := 0
	for part := int32(0); part < 4; part++ {
		pc, err := consumer.ConsumePartition("parts", part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		hw := pc.HighWaterMarkOffset()
		for off := int64(0); off < hw; off++ {
			m := <-pc.Messages()
			seen++
			switch {
			case m.Key == nil && string(m.Value) == "explicit":
				if part != 2 {
					t.Errorf("explicit partition 2 record on %d", part)
				}
			case m.Key == nil:
			default:
				if want := PartitionForKey(m.Key, 4); want != part {
					t.Errorf("key %s on partition %d, Java's producer puts it on %d", m.Key, part, want)
				}
			}
		}
		pc.Close()
	}
	if seen != n+2 {
		t.Fatalf("%d records in Kafka, want %d", seen, n+2)
	}
}

// linger.ms=0 sends at once: a backlog's tail is not held back waiting for
// batch.size bytes (the sarama producer's bug fixed in f14f1e7).
func TestKgoProducerLingerZeroSendsTail(t *testing.T) {
	e, err := StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := ClientConfig{Brokers: e.Addrs(), Props: map[string]string{"linger.ms": "0", "batch.size": "65536"}}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	acks := make(chan error, 3)
	for i := 0; i < 3; i++ {
		if err := p.Send(context.Background(), &sarama.ProducerMessage{Topic: "tail", Value: sarama.StringEncoder("v"),
			Metadata: &Pending{Partition: -1, Ack: func(err error) { acks <- err }}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		select {
		case err := <-acks:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%d of 3 records acknowledged with linger.ms=0", i)
		}
	}
}

// Send blocks while the producer holds its limit of unacknowledged
// records, and gives up with the context.
func TestKgoProducerBackPressure(t *testing.T) {
	sc, err := ClientConfig{Brokers: []string{"127.0.0.1:1"}}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	opts, lim, err := kgoProducerOptions([]string{"127.0.0.1:1"}, sc, &wireStats{})
	if err != nil {
		t.Fatal(err)
	}
	kg, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer kg.Close()
	// No broker listens: nothing is acknowledged.
	p := &Producer{kg: kg, lim: lim, slots: make(chan struct{}, 2)}
	p.promise = p.kgoPromise
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var sendErr error
	sent := 0
	for ; sent < 3 && sendErr == nil; sent++ {
		sendErr = p.Send(ctx, &sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("v"), Metadata: &Pending{Partition: -1, Ack: func(error) {}}})
	}
	if sent != 3 || sendErr != context.DeadlineExceeded {
		t.Fatalf("Send %d with 2 unacknowledged = %v, want the context's deadline", sent, sendErr)
	}
}
