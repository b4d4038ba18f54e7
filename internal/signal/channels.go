package signal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/internal/kafka"
)

// Reader is a signal channel read by polling (Debezium's
// SignalChannelReader). The source channel is not one: its signals arrive
// in the change stream.
type Reader interface {
	Name() string
	Read(ctx context.Context) ([]Record, error)
	Close() error
}

// FileReader is the file channel: one JSON signal per line. The lines read
// are removed by emptying the file, as Debezium's FileSignalChannel does.
type FileReader struct {
	Path string
	Log  *slog.Logger
}

func (f *FileReader) Name() string { return ChannelFile }
func (f *FileReader) Close() error { return nil }

// Read returns the signals in the file and empties it. Lines appended
// while it reads are not lost: the file is emptied only if it did not grow
// since it was read, otherwise it is read again.
func (f *FileReader) Read(ctx context.Context) ([]Record, error) {
	for attempt := 0; ; attempt++ {
		fh, err := os.OpenFile(f.Path, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("signal.file %s: %w", f.Path, err)
		}
		b, err := io.ReadAll(fh)
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("signal.file %s: %w", f.Path, err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			fh.Close()
			return nil, nil
		}
		st, err := fh.Stat()
		if err == nil && st.Size() != int64(len(b)) && attempt < 5 {
			fh.Close()
			continue
		}
		if err := fh.Truncate(0); err != nil {
			fh.Close()
			return nil, fmt.Errorf("signal.file %s: empty the file after reading its signals: %w", f.Path, err)
		}
		fh.Close()
		return f.parse(b), nil
	}
}

func (f *FileReader) parse(b []byte) []Record {
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		r, err := ParseJSON(line, ChannelFile)
		if err != nil {
			f.Log.Warn("skipped a malformed signal", "channel", ChannelFile, "file", f.Path, "line", n, "signal_id", r.ID, "error", err)
			continue
		}
		out = append(out, r)
	}
	return out
}

// KafkaReader is the kafka channel: partition 0 of the signal topic,
// records keyed by topic.prefix with a JSON signal as value. The offset of
// the next signal is committed under signal.kafka.groupId after each read,
// so a restart does not repeat the signals already read (Debezium's
// consumer commits the same way, through the group but without joining it).
type KafkaReader struct {
	cfg    *Config
	key    string
	log    *slog.Logger
	sc     *sarama.Config
	client sarama.Client
	cons   sarama.Consumer
	pc     sarama.PartitionConsumer
	next   int64 // offset of the next signal to read
	done   int64 // offset committed last
	warned time.Time
}

// NewKafkaReader prepares the kafka channel; it connects on first Read so
// that a broker that is not up yet does not fail the connector.
func NewKafkaReader(cfg *Config, topicPrefix string, log *slog.Logger) *KafkaReader {
	return &KafkaReader{cfg: cfg, key: topicPrefix, log: log, done: -1}
}

func (k *KafkaReader) Name() string { return ChannelKafka }

func (k *KafkaReader) connect() error {
	cc := kafka.ClientConfig{Brokers: k.cfg.KafkaBrokers, ClientID: "tributary-signal-" + k.key, Consumer: k.cfg.KafkaProps}
	sc, err := cc.SaramaConfig()
	if err != nil {
		return fmt.Errorf("signal.consumer: %w", err)
	}
	client, err := sarama.NewClient(k.cfg.KafkaBrokers, sc)
	if err != nil {
		return fmt.Errorf("signal.kafka.bootstrap.servers %v: %w", k.cfg.KafkaBrokers, err)
	}
	k.sc, k.client = sc, client
	next, err := k.committed()
	if err != nil {
		client.Close()
		return err
	}
	cons, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		client.Close()
		return fmt.Errorf("signal.kafka.topic %s: %w", k.cfg.KafkaTopic, err)
	}
	start := next
	if start < 0 {
		start = sarama.OffsetOldest // auto.offset.reset=earliest
	}
	pc, err := cons.ConsumePartition(k.cfg.KafkaTopic, 0, start)
	if errors.Is(err, sarama.ErrOffsetOutOfRange) {
		pc, err = cons.ConsumePartition(k.cfg.KafkaTopic, 0, sarama.OffsetOldest)
	}
	if err != nil {
		cons.Close()
		client.Close()
		return fmt.Errorf("signal.kafka.topic %s: %w", k.cfg.KafkaTopic, err)
	}
	k.cons, k.pc, k.next, k.done = cons, pc, next, next
	k.log.Info("reading signals from Kafka", "topic", k.cfg.KafkaTopic, "group_id", k.cfg.KafkaGroupID, "committed_offset", next)
	return nil
}

// committed returns the group's committed offset of partition 0, or -1.
func (k *KafkaReader) committed() (int64, error) {
	coord, err := k.client.Coordinator(k.cfg.KafkaGroupID)
	if err != nil {
		return -1, fmt.Errorf("signal.kafka.groupId %s: find the group coordinator: %w", k.cfg.KafkaGroupID, err)
	}
	req := sarama.NewOffsetFetchRequest(k.sc.Version, k.cfg.KafkaGroupID, map[string][]int32{k.cfg.KafkaTopic: {0}})
	resp, err := coord.FetchOffset(req)
	if err != nil {
		return -1, fmt.Errorf("signal.kafka.groupId %s: read the committed offset: %w", k.cfg.KafkaGroupID, err)
	}
	gerr := resp.Err
	if len(resp.Groups) > 0 && gerr == sarama.ErrNoError {
		gerr = resp.Groups[0].Err
	}
	switch gerr {
	case sarama.ErrNoError:
	case sarama.ErrGroupIDNotFound:
		return -1, nil // a group that never committed
	default:
		return -1, fmt.Errorf("signal.kafka.groupId %s: read the committed offset: %w", k.cfg.KafkaGroupID, gerr)
	}
	b := resp.GetBlock(k.cfg.KafkaTopic, 0)
	if b == nil || b.Offset < 0 {
		return -1, nil
	}
	if b.Err != sarama.ErrNoError {
		return -1, fmt.Errorf("signal.kafka.groupId %s: read the committed offset: %w", k.cfg.KafkaGroupID, b.Err)
	}
	return b.Offset, nil
}

// commit stores the offset of the next signal for the group (a simple
// commit, without group membership).
func (k *KafkaReader) commit() error {
	if k.next < 0 || k.next == k.done {
		return nil
	}
	coord, err := k.client.Coordinator(k.cfg.KafkaGroupID)
	if err != nil {
		return fmt.Errorf("signal.kafka.groupId %s: find the group coordinator: %w", k.cfg.KafkaGroupID, err)
	}
	req := sarama.NewOffsetCommitRequest(k.sc, k.cfg.KafkaGroupID)
	req.AddBlock(k.cfg.KafkaTopic, 0, k.next, 0, "")
	resp, err := coord.CommitOffset(req)
	if err != nil {
		return fmt.Errorf("signal.kafka.groupId %s: commit offset %d: %w", k.cfg.KafkaGroupID, k.next, err)
	}
	for _, parts := range resp.Errors {
		for _, e := range parts {
			if e != sarama.ErrNoError {
				return fmt.Errorf("signal.kafka.groupId %s: commit offset %d: %w", k.cfg.KafkaGroupID, k.next, e)
			}
		}
	}
	k.done = k.next
	return nil
}

// Read returns the signals that arrived, waiting at most
// signal.kafka.poll.timeout.ms for the first, and commits their offsets.
func (k *KafkaReader) Read(ctx context.Context) ([]Record, error) {
	if k.pc == nil {
		if err := k.connect(); err != nil {
			// Not fatal: the brokers may be starting; the next poll tries
			// again.
			if time.Since(k.warned) > time.Minute {
				k.warned = time.Now()
				k.log.Warn("kafka signal channel not available yet", "topic", k.cfg.KafkaTopic, "error", err)
			}
			return nil, nil
		}
	}
	var out []Record
	take := func(m *sarama.ConsumerMessage) {
		k.next = m.Offset + 1
		if r, ok := k.record(m); ok {
			out = append(out, r)
		}
	}
	var timer <-chan time.Time
	if k.cfg.KafkaPollTimeout > 0 {
		t := time.NewTimer(k.cfg.KafkaPollTimeout)
		defer t.Stop()
		timer = t.C
	}
drain:
	for {
		select {
		case m := <-k.pc.Messages():
			take(m)
			continue
		case err := <-k.pc.Errors():
			k.log.Warn("kafka signal channel: read failed", "topic", k.cfg.KafkaTopic, "error", err)
			continue
		case <-ctx.Done():
			break drain
		default:
		}
		if len(out) > 0 || timer == nil {
			break
		}
		select {
		case m := <-k.pc.Messages():
			take(m)
		case <-timer:
			break drain
		case <-ctx.Done():
			break drain
		}
	}
	if err := k.commit(); err != nil {
		return out, err
	}
	return out, nil
}

func (k *KafkaReader) record(m *sarama.ConsumerMessage) (Record, bool) {
	if string(m.Key) != k.key {
		k.log.Info("signal key does not match topic.prefix; signal ignored", "channel", ChannelKafka, "key", string(m.Key), "topic_prefix", k.key, "offset", m.Offset)
		return Record{}, false
	}
	if len(bytes.TrimSpace(m.Value)) == 0 {
		return Record{}, false
	}
	r, err := ParseJSON(m.Value, ChannelKafka)
	if err != nil {
		k.log.Warn("skipped a malformed signal", "channel", ChannelKafka, "offset", m.Offset, "signal_id", r.ID, "error", err)
		return Record{}, false
	}
	off := m.Offset
	r.KafkaOffset = &off
	return r, true
}

// Close disconnects; offsets were committed by Read.
func (k *KafkaReader) Close() error {
	if k.pc == nil {
		return nil
	}
	k.pc.Close()
	k.cons.Close()
	err := k.client.Close()
	k.pc = nil
	return err
}

// Poll reads the readers every interval and sends their signals to out
// until ctx ends; then it closes the readers. Failed reads are logged and
// retried at the next interval.
func Poll(ctx context.Context, readers []Reader, interval time.Duration, out chan<- Record, log *slog.Logger) {
	defer func() {
		for _, r := range readers {
			if err := r.Close(); err != nil {
				log.Warn("closing signal channel failed", "channel", r.Name(), "error", err)
			}
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for _, r := range readers {
			recs, err := r.Read(ctx)
			if err != nil {
				log.Warn("reading signals failed", "channel", r.Name(), "error", err)
			}
			for _, rec := range recs {
				select {
				case out <- rec:
				case <-ctx.Done():
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
