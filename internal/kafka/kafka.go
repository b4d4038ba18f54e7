// Package kafka is Tributary's Kafka client layer on sarama: the producer
// used by source runtimes, topic creation with Kafka Connect's
// topic.creation.* semantics, a raw reader/writer for internal topics, and
// the embedded in-process broker used when no bootstrap.servers is set.
package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Embedded is an in-process Kafka-protocol broker (kfake). It is the
// development default; it is not a production broker.
type Embedded struct {
	cluster *kfake.Cluster
}

// StartEmbedded starts a single-broker in-process cluster on 127.0.0.1.
// port 0 picks a free port. dataDir, if set, persists topics across runs.
func StartEmbedded(port int, dataDir string, logger *slog.Logger) (*Embedded, error) {
	return StartEmbeddedAddr(fmt.Sprintf("127.0.0.1:%d", port), dataDir, logger)
}

// StartEmbeddedAddr is StartEmbedded listening on addr (HOST:PORT, port 0
// for a free one). The broker advertises the address it listens on, so
// HOST must be one its clients can reach.
func StartEmbeddedAddr(addr, dataDir string, logger *slog.Logger) (*Embedded, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.ListenFn(func(network, _ string) (netListener, error) {
			return listen(network, addr)
		})}
	if dataDir != "" {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded broker data dir %s: %w", dataDir, err)
		}
		opts = append(opts, kfake.DataDir(dataDir), kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded broker: %w", err)
	}
	if logger != nil {
		logger.Warn("no bootstrap.servers configured: using the embedded in-process Kafka broker (for development and tests only)",
			"bootstrap.servers", strings.Join(c.ListenAddrs(), ","), "data.dir", dataDir)
	}
	return &Embedded{cluster: c}, nil
}

// Addrs returns the broker addresses, for bootstrap.servers.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker.
func (e *Embedded) Close() { e.cluster.Close() }

// ClientConfig builds a sarama config from Kafka client properties
// (worker-level producer./consumer. settings are passed in already
// stripped). Unknown keys are ignored by the caller's validation.
type ClientConfig struct {
	Brokers  []string
	ClientID string
	// Props are Kafka client properties: compression.type, linger.ms,
	// batch.size, acks, security.protocol, ssl.*, sasl.*...
	Props map[string]string
}

// SaramaConfig returns a producer/consumer-ready sarama config: idempotent,
// acks=all, ordered (one in-flight request per broker, as idempotence
// with sarama requires).
func (c ClientConfig) SaramaConfig() (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.Version = sarama.V3_6_0_0
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = "tributary"
	}
	sc.Metadata.AllowAutoTopicCreation = true
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Net.MaxOpenRequests = 1
	// Kafka Connect gives source producers delivery.timeout.ms=MAX_INT:
	// a broker that is down, hung or restarting is waited for, not a
	// reason to fail the task; errors that no retry can fix (record too
	// large, authorization) still come back at once. Memory stays bounded
	// by the runtime's in-flight limits while records wait. sarama fails a
	// message when a leader lookup exhausts the metadata retries, so both
	// are raised: with the 1 s backoff cap about a quarter of an hour of
	// outage is ridden out. (Not unlimited: sarama keeps per-partition
	// state for every retry level.)
	sc.Producer.Retry.Max = maxRetries
	sc.Producer.Retry.BackoffFunc = retryBackoff
	sc.Metadata.Retry.Max = maxRetries
	sc.Metadata.Retry.BackoffFunc = retryBackoff
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = newJavaPartitioner
	sc.Producer.MaxMessageBytes = 1 << 20
	sc.Producer.Flush.Bytes = 1 << 20
	sc.Producer.Flush.Frequency = 5 * time.Millisecond
	sc.Producer.Flush.MaxMessages = 0
	sc.ChannelBufferSize = 4096
	sc.Producer.Compression = sarama.CompressionNone
	for k, v := range c.Props {
		v = strings.TrimSpace(v)
		switch k {
		case "compression.type":
			switch strings.ToLower(v) {
			case "none", "":
				sc.Producer.Compression = sarama.CompressionNone
			case "gzip":
				sc.Producer.Compression = sarama.CompressionGZIP
			case "snappy":
				sc.Producer.Compression = sarama.CompressionSnappy
			case "lz4":
				sc.Producer.Compression = sarama.CompressionLZ4
			case "zstd":
				sc.Producer.Compression = sarama.CompressionZSTD
			default:
				return nil, fmt.Errorf("compression.type=%q: must be none, gzip, snappy, lz4 or zstd", v)
			}
		case "linger.ms":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("linger.ms=%q: not a non-negative integer", v)
			}
			sc.Producer.Flush.Frequency = time.Duration(n) * time.Millisecond
		case "batch.size":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("batch.size=%q: not a positive integer", v)
			}
			sc.Producer.Flush.Bytes = n
		case "max.request.size":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("max.request.size=%q: not a positive integer", v)
			}
			sc.Producer.MaxMessageBytes = n
		case "acks":
			if v != "all" && v != "-1" {
				return nil, fmt.Errorf("acks=%q: Tributary always produces with acks=all so that offsets are committed only for durable records", v)
			}
		case "enable.idempotence":
			if v == "false" {
				sc.Producer.Idempotent = false
				sc.Net.MaxOpenRequests = 5
			}
		case "client.id":
			sc.ClientID = v
		case "security.protocol":
			switch strings.ToUpper(v) {
			case "PLAINTEXT":
			case "SSL":
				sc.Net.TLS.Enable = true
			case "SASL_PLAINTEXT":
				sc.Net.SASL.Enable = true
			case "SASL_SSL":
				sc.Net.SASL.Enable = true
				sc.Net.TLS.Enable = true
			default:
				return nil, fmt.Errorf("security.protocol=%q: unsupported", v)
			}
		case "sasl.mechanism":
			switch strings.ToUpper(v) {
			case "PLAIN":
				sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
			case "SCRAM-SHA-256":
				sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
			case "SCRAM-SHA-512":
				sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
			default:
				return nil, fmt.Errorf("sasl.mechanism=%q: unsupported", v)
			}
		case "sasl.username":
			sc.Net.SASL.User = v
		case "sasl.password":
			sc.Net.SASL.Password = v
		}
	}
	if sc.Net.TLS.Enable {
		tc, err := tlsConfig(c.Props)
		if err != nil {
			return nil, err
		}
		sc.Net.TLS.Config = tc
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client configuration: %w", err)
	}
	return sc, nil
}

// maxRetries bounds produce and metadata retries; see SaramaConfig.
const maxRetries = 1000

// retryBackoff is Kafka's retry.backoff.ms (100 ms) growing to
// retry.backoff.max.ms (1 s), with Kafka's ±20% jitter so that many
// clients do not retry in step.
func retryBackoff(retries, _ int) time.Duration {
	d := 100 * time.Millisecond << min(retries, 4)
	d = min(d, time.Second)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func tlsConfig(p map[string]string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca := p["ssl.truststore.location"]; ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ssl.truststore.location %s: no PEM certificates found (Tributary reads PEM, not JKS)", ca)
		}
		tc.RootCAs = pool
	}
	if cert, key := p["ssl.keystore.location"], p["ssl.key.location"]; cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// Producer sends records asynchronously and reports each acknowledgement
// through the Pending callback attached to the message.
type Producer struct {
	ap     sarama.AsyncProducer
	client sarama.Client
	wg     sync.WaitGroup
	once   sync.Once
}

// NewProducer connects an idempotent async producer.
func NewProducer(brokers []string, sc *sarama.Config) (*Producer, error) {
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to kafka %s: %w", strings.Join(brokers, ","), err)
	}
	ap, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("creating kafka producer: %w", err)
	}
	p := &Producer{ap: ap, client: client}
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		for m := range ap.Successes() {
			if md, ok := m.Metadata.(*Pending); ok && md.Ack != nil {
				md.Ack(nil)
			}
		}
	}()
	go func() {
		defer p.wg.Done()
		for e := range ap.Errors() {
			if md, ok := e.Msg.Metadata.(*Pending); ok && md.Ack != nil {
				md.Ack(produceError(e.Msg.Topic, e.Err))
			}
		}
	}()
	return p, nil
}

// produceError names the topic and, for the size limit sarama reports in
// its own terms, Kafka's property.
func produceError(topic string, err error) error {
	var ce sarama.ConfigurationError
	if errors.As(err, &ce) && strings.Contains(string(ce), "MaxMessageBytes") {
		return fmt.Errorf("producing to %s: record too large for max.request.size: %w", topic, err)
	}
	if errors.Is(err, sarama.ErrOutOfOrderSequenceNumber) || errors.Is(err, sarama.ErrUnknownProducerID) {
		return fmt.Errorf("producing to %s: the partition lost the idempotent producer's state (was the topic deleted and re-created?); restart the task: %w", topic, err)
	}
	if errors.Is(err, sarama.ErrMessageSizeTooLarge) {
		return fmt.Errorf("producing to %s: record too large for the topic's max.message.bytes: %w", topic, err)
	}
	return fmt.Errorf("producing to %s: %w", topic, err)
}

// Send queues a message; it blocks while the producer's buffer is full,
// which is the back-pressure a source feels.
func (p *Producer) Send(ctx context.Context, m *sarama.ProducerMessage) error {
	select {
	case p.ap.Input() <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Client exposes the underlying client for metadata and admin calls.
func (p *Producer) Client() sarama.Client { return p.client }

// Close flushes queued messages, waits for their acknowledgements and
// closes the connection.
func (p *Producer) Close() error {
	var err error
	p.once.Do(func() {
		p.ap.AsyncClose()
		p.wg.Wait()
		err = p.client.Close()
	})
	return err
}

// Pending is attached to every produced message as its Metadata; the
// producer calls Ack once Kafka acknowledged (err nil) or rejected it.
type Pending struct {
	Partition int32 // explicit partition, or -1 for the key-hash default
	Ack       func(err error)
}
