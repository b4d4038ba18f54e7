// Package kafka is Tributary's Kafka client layer on sarama: the producer
// used by source runtimes, topic creation with Kafka Connect's
// topic.creation.* semantics, a raw reader/writer for internal topics, and
// the embedded in-process broker used when no bootstrap.servers is set.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
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
// HOST must be one its clients can reach. A data directory is written
// with an fsync per batch.
func StartEmbeddedAddr(addr, dataDir string, logger *slog.Logger) (*Embedded, error) {
	return StartEmbeddedWith(EmbeddedConfig{Addr: addr, DataDir: dataDir, SyncWrites: dataDir != "", Logger: logger})
}

// EmbeddedConfig configures an embedded broker.
type EmbeddedConfig struct {
	// Addr is HOST:PORT to listen on and advertise (port 0: a free one).
	Addr string
	// DataDir, if set, holds the topics' log segments; empty keeps them
	// in memory.
	DataDir string
	// SyncWrites fsyncs every batch written to DataDir. Without it
	// segments are written to the page cache and synced on roll and
	// shutdown, as Kafka does by default.
	SyncWrites bool
	// SegmentBytes, if set, is the broker's log.segment.bytes.
	SegmentBytes int
	// Logger, if set, gets the warning that this is not a production
	// broker.
	Logger *slog.Logger
}

// StartEmbeddedWith starts a single-broker in-process cluster as cfg says.
func StartEmbeddedWith(cfg EmbeddedConfig) (*Embedded, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.ListenFn(func(network, _ string) (netListener, error) {
			return listen(network, cfg.Addr)
		})}
	if cfg.SegmentBytes > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{"log.segment.bytes": strconv.Itoa(cfg.SegmentBytes)}))
	}
	if cfg.DataDir != "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("embedded broker data dir %s: %w", cfg.DataDir, err)
		}
		opts = append(opts, kfake.DataDir(cfg.DataDir))
		if cfg.SyncWrites {
			opts = append(opts, kfake.SyncWrites())
		}
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("starting embedded broker: %w", err)
	}
	if cfg.Logger != nil {
		cfg.Logger.Warn("no bootstrap.servers configured: using the embedded in-process Kafka broker (for development and tests only)",
			"bootstrap.servers", strings.Join(c.ListenAddrs(), ","), "data.dir", cfg.DataDir)
	}
	return &Embedded{cluster: c}, nil
}

// Addrs returns the broker addresses, for bootstrap.servers.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Close stops the broker.
func (e *Embedded) Close() { e.cluster.Close() }

// Producer sends records asynchronously and reports each acknowledgement
// through the Pending callback attached to the message. An at-least-once
// producer sends with franz-go (kgo.go), a transactional one with sarama's
// AsyncProducer; both keep a sarama client for metadata and admin calls.
type Producer struct {
	ap     sarama.AsyncProducer // transactional producers
	kg     *kgo.Client          // at-least-once producers
	client sarama.Client
	wg     sync.WaitGroup
	once   sync.Once
	txnID  string // transactional.id; "" for an at-least-once producer

	lim     kgoLimits
	slots   chan struct{} // records in kgo, bounded: Send's back-pressure
	promise func(*kgo.Record, error)
	wire    wireStats
}

// NewProducer connects an idempotent (unless enable.idempotence=false)
// at-least-once producer with the settings of sc.
func NewProducer(brokers []string, sc *sarama.Config) (*Producer, error) {
	p := &Producer{slots: make(chan struct{}, sc.ChannelBufferSize)}
	opts, lim, err := kgoProducerOptions(brokers, sc, &p.wire)
	if err != nil {
		return nil, fmt.Errorf("kafka producer: %w", err)
	}
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to kafka %s: %w", strings.Join(brokers, ","), err)
	}
	kg, err := kgo.NewClient(opts...)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("creating kafka producer: %w", err)
	}
	p.kg, p.client, p.lim = kg, client, lim
	p.promise = p.kgoPromise
	return p, nil
}

// newSaramaProducer connects sarama's AsyncProducer (transactional
// producers).
func newSaramaProducer(brokers []string, sc *sarama.Config) (*Producer, error) {
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
	if p.kg != nil {
		return p.kgoSend(ctx, m)
	}
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
		if p.kg != nil {
			// Flush returns once every buffered record is acknowledged
			// or failed (each promise called).
			err = p.kg.Flush(context.Background())
			p.kg.Close()
		} else {
			p.ap.AsyncClose()
			p.wg.Wait()
		}
		err = errors.Join(err, p.client.Close())
	})
	return err
}

// Pending is attached to every produced message as its Metadata; the
// producer calls Ack once Kafka acknowledged (err nil) or rejected it.
type Pending struct {
	Partition int32 // explicit partition, or -1 for the key-hash default
	Ack       func(err error)
	// KeyBuf and ValueBuf, when set, hold the message's key and value
	// bytes. The at-least-once producer releases them after Ack(nil):
	// the broker has the bytes and kgo reads them no more (it re-encodes
	// a retried batch from the records until then). The transactional
	// producer never releases them (sarama may still hold a message it
	// has reported), nor does anything after a failure: the garbage
	// collector reclaims those as any bytes.
	KeyBuf, ValueBuf Releaser
}

// Releaser is a pooled buffer that its holder gives back once nothing
// reads its bytes any more.
type Releaser interface{ Release() }
