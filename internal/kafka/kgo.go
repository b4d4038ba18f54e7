package kafka

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The at-least-once source producer runs on franz-go's kgo: sarama's
// AsyncProducer cost 17 µs of CPU per 4 KB record (a pipeline of
// goroutines and channels per message, the message bytes allocated twice)
// where kgo costs 4 µs (tributary bench --scenarios kafka-clients).
// Exactly-once producers stay on sarama (txn.go).
//
// The kgo options are derived from the sarama.Config that the property
// table (clientprops.go) built, so that one table stays the only place a
// Kafka property is interpreted.

// kgoProducerOptions converts the producer settings of sc into kgo
// options, refusing what kgo cannot do as the property asked.
func kgoProducerOptions(brokers []string, sc *sarama.Config, wire *wireStats) ([]kgo.Opt, kgoLimits, error) {
	var lim kgoLimits
	if sc.Producer.RequiredAcks != sarama.WaitForAll {
		return nil, lim, errors.New("acks: only acks=all is supported")
	}
	lim.maxRequest = sc.Producer.MaxMessageBytes
	lim.batch = lim.maxRequest
	if b := sc.Producer.Flush.Bytes; b > 0 && b < lim.batch {
		// kgo fills one batch per partition up to this many bytes or
		// until linger.ms expires, as Kafka does with batch.size; unlike
		// Kafka it cannot put a larger record in a batch of its own.
		if b < 512 {
			return nil, lim, fmt.Errorf("batch.size=%d: the producer's smallest batch is 512 bytes", b)
		}
		lim.batch = b
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers...),
		kgo.ClientID(sc.ClientID),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(sc.Producer.Flush.Frequency),
		kgo.ProducerBatchMaxBytes(int32(lim.batch)),
		kgo.MaxProduceRequestsInflightPerBroker(sc.Net.MaxOpenRequests),
		kgo.ProduceRequestTimeout(sc.Producer.Timeout),
		kgo.DialTimeout(sc.Net.DialTimeout),
		kgo.RequestTimeoutOverhead(sc.Net.ReadTimeout),
		kgo.MetadataMaxAge(sc.Metadata.RefreshFrequency),
		kgo.RecordRetries(sc.Producer.Retry.Max),
		// A topic the broker does not know yet is waited for as long as
		// sarama's metadata retries did.
		kgo.UnknownTopicRetries(sc.Metadata.Retry.Max),
		// The runtime's own in-flight bound (Send's semaphore) is the
		// back-pressure; kgo's buffer limit is above it so Produce never
		// blocks.
		kgo.MaxBufferedRecords(sc.ChannelBufferSize + 1),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(javaPartition)),
		kgo.WithHooks(wire),
		// enable.metrics.push is only false (clientprops.go): without
		// this kgo pushes KIP-714 client metrics to a broker that asks,
		// lz4-compressed through 8 MB of pooled buffers it then keeps
		// (half an idle worker's heap).
		kgo.DisableClientMetrics(),
	}
	if sc.Metadata.AllowAutoTopicCreation {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	if sc.Producer.Idempotent {
		// A partition that lost the producer's sequence (topic deleted
		// and re-created) fails its records, as Kafka Connect's producer
		// does, instead of kgo's default of carrying on with a new id.
		opts = append(opts, kgo.StopProducerOnDataLossDetected())
	} else {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if f := sc.Producer.Retry.BackoffFunc; f != nil {
		most := sc.Producer.Retry.Max
		opts = append(opts, kgo.RetryBackoffFn(func(tries int) time.Duration { return f(tries, most) }))
	} else {
		d := sc.Producer.Retry.Backoff
		opts = append(opts, kgo.RetryBackoffFn(func(int) time.Duration { return d }))
	}
	codec, err := kgoCompression(sc.Producer.Compression, sc.Producer.CompressionLevel)
	if err != nil {
		return nil, lim, err
	}
	opts = append(opts, kgo.ProducerBatchCompression(codec))
	if sc.Net.TLS.Enable {
		opts = append(opts, kgo.DialTLSConfig(sc.Net.TLS.Config))
	}
	if sc.Net.SASL.Enable {
		user, pass := sc.Net.SASL.User, sc.Net.SASL.Password
		switch sc.Net.SASL.Mechanism {
		case sarama.SASLTypePlaintext:
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case sarama.SASLTypeSCRAMSHA256:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case sarama.SASLTypeSCRAMSHA512:
			opts = append(opts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		default:
			return nil, lim, fmt.Errorf("sasl.mechanism=%s: not supported by the producer", sc.Net.SASL.Mechanism)
		}
	}
	return opts, lim, nil
}

// kgoCompression is compression.type with its compression.*.level.
func kgoCompression(c sarama.CompressionCodec, level int) (kgo.CompressionCodec, error) {
	set := level != sarama.CompressionLevelDefault
	switch c {
	case sarama.CompressionNone:
		return kgo.NoCompression(), nil
	case sarama.CompressionSnappy:
		return kgo.SnappyCompression(), nil
	case sarama.CompressionGZIP:
		if !set {
			return kgo.GzipCompression(), nil
		}
		if level < 1 || level > 9 {
			return kgo.CompressionCodec{}, fmt.Errorf("compression.gzip.level=%d: must be 1 to 9", level)
		}
		return kgo.GzipCompression().WithLevel(level), nil
	case sarama.CompressionLZ4:
		// Kafka compresses its default level 9 with lz4's fast
		// compressor and other levels with the high-compression one.
		if !set || level == 9 {
			return kgo.Lz4Compression(), nil
		}
		if level < 1 || level > 9 {
			return kgo.CompressionCodec{}, fmt.Errorf("compression.lz4.level=%d: the Go lz4 compressor has levels 1 to 9 (Kafka's 10 to 17 are not available)", level)
		}
		return kgo.Lz4Compression().WithLevel(int(lz4.Level1) << (level - 1)), nil
	case sarama.CompressionZSTD:
		if !set {
			return kgo.ZstdCompression(), nil
		}
		return kgo.ZstdCompression().WithLevel(int(zstd.EncoderLevelFromZstd(level))), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression.type: codec %v not supported by the producer", c)
}

// javaPartition routes like Java's producer and partitioner.go: an
// explicit partition (Pending.Partition, carried in Record.Partition),
// murmur2 of the key, a random partition for a null key.
func javaPartition(string) func(*kgo.Record, int) int {
	return func(r *kgo.Record, n int) int {
		switch {
		case r.Partition >= 0:
			return int(r.Partition) // kgo fails a record whose partition does not exist
		case r.Key == nil:
			return rand.IntN(n)
		}
		return int(PartitionForKey(r.Key, int32(n)))
	}
}

// kgoLimits are the record sizes the producer refuses before kgo sees
// them, so that the error names the property.
type kgoLimits struct {
	maxRequest int // max.request.size
	batch      int // the batch size, batch.size when it is smaller
}

// kgoRecord is one allocation per record: the record, and as its context
// the acknowledgement it carries back to the promise.
type kgoRecord struct {
	rec kgo.Record
	ctx pendingContext
}

// pendingContext is never cancelled: a record handed to kgo is retried
// until acknowledged or failed, as with sarama.
type pendingContext struct {
	context.Context
	pending *Pending
}

// recordOverhead bounds a record's encoding beyond its key, value and
// headers within a batch of its own (61 bytes of batch header, varints),
// so that what Send lets through kgo never refuses for its size.
const recordOverhead = 100

func (p *Producer) kgoSend(ctx context.Context, m *sarama.ProducerMessage) error {
	pend, _ := m.Metadata.(*Pending)
	kr := &kgoRecord{ctx: pendingContext{Context: context.Background(), pending: pend}}
	r := &kr.rec
	r.Topic, r.Timestamp, r.Context, r.Partition = m.Topic, m.Timestamp, &kr.ctx, -1
	if pend != nil {
		r.Partition = pend.Partition
	}
	size := recordOverhead
	var err error
	if m.Key != nil {
		if r.Key, err = m.Key.Encode(); err != nil {
			return fmt.Errorf("producing to %s: key: %w", m.Topic, err)
		}
		size += len(r.Key)
	}
	if m.Value != nil {
		if r.Value, err = m.Value.Encode(); err != nil {
			return fmt.Errorf("producing to %s: value: %w", m.Topic, err)
		}
		size += len(r.Value)
	}
	if len(m.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(m.Headers))
		for i, h := range m.Headers {
			r.Headers[i] = kgo.RecordHeader{Key: string(h.Key), Value: h.Value}
			size += 10 + len(h.Key) + len(h.Value)
		}
	}
	if tooBig := p.lim.refuse(m.Topic, size); tooBig != nil {
		if pend != nil && pend.Ack != nil {
			// Acknowledged as sarama did, through the producer's
			// goroutines rather than inside Send.
			go pend.Ack(tooBig)
		}
		return nil
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.kg.Produce(context.Background(), r, p.promise)
	return nil
}

func (l kgoLimits) refuse(topic string, size int) error {
	switch {
	case size > l.maxRequest:
		return fmt.Errorf("producing to %s: record too large for max.request.size: %w", topic,
			fmt.Errorf("a record of about %d bytes, max.request.size=%d", size, l.maxRequest))
	case size > l.batch:
		return fmt.Errorf("producing to %s: record too large for batch.size: %w", topic,
			fmt.Errorf("a record of about %d bytes, batch.size=%d (the producer cannot put a larger record in a batch of its own, as Kafka does: raise batch.size)", size, l.batch))
	}
	return nil
}

// kgoPromise acknowledges one record; kgo calls it once per record.
func (p *Producer) kgoPromise(r *kgo.Record, err error) {
	<-p.slots
	pc, _ := r.Context.(*pendingContext)
	if pc == nil || pc.pending == nil || pc.pending.Ack == nil {
		return
	}
	if err != nil {
		pc.pending.Ack(kgoProduceError(r.Topic, err))
		return
	}
	pc.pending.Ack(nil)
	// kgo calls the promise once the record's batch is finished and keeps
	// no reference to the record after it.
	if b := pc.pending.KeyBuf; b != nil {
		b.Release()
	}
	if b := pc.pending.ValueBuf; b != nil {
		b.Release()
	}
}

// kgoProduceError is produceError for kgo's errors: the same messages.
func kgoProduceError(topic string, err error) error {
	switch {
	case errors.Is(err, kerr.OutOfOrderSequenceNumber), errors.Is(err, kerr.UnknownProducerID):
		return fmt.Errorf("producing to %s: the partition lost the idempotent producer's state (was the topic deleted and re-created?); restart the task: %w", topic, err)
	case errors.Is(err, kerr.UnknownTopicID):
		// kgo's word for a topic whose id changed under it: deleted and
		// re-created, which costs the idempotent state as well.
		return fmt.Errorf("producing to %s: the topic was deleted and re-created while the producer wrote to it; restart the task: %w", topic, err)
	case errors.Is(err, kerr.MessageTooLarge):
		// Send refuses what exceeds the producer's own limits, so this
		// is the broker's.
		return fmt.Errorf("producing to %s: record too large for the topic's max.message.bytes: %w", topic, err)
	}
	return fmt.Errorf("producing to %s: %w", topic, err)
}

// wireStats counts what the producer wrote to the brokers (every request,
// metadata included), as sarama's outgoing-byte-rate and request-rate
// meters did.
type wireStats struct {
	bytes, requests atomic.Int64
}

var _ kgo.HookBrokerWrite = (*wireStats)(nil)

func (w *wireStats) OnBrokerWrite(_ kgo.BrokerMetadata, _ int16, n int, _, _ time.Duration, _ error) {
	w.bytes.Add(int64(n))
	w.requests.Add(1)
}

// WireStats returns the bytes and requests the producer has written to
// the brokers (zero for a transactional producer).
func (p *Producer) WireStats() (bytes, requests int64) {
	return p.wire.bytes.Load(), p.wire.requests.Load()
}
