package mysql

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/kafka"
)

// historyClient is KafkaSchemaHistory's own Kafka client configuration:
// the cluster the history lives in (schema.history.internal.kafka.
// bootstrap.servers), its producer and consumer settings
// (schema.history.internal.producer.*, .consumer.*) and the time limits
// of its admin calls and of recovery.
type historyClient struct {
	brokers  []string
	producer map[string]string
	consumer map[string]string

	queryTimeout  time.Duration // kafka.query.timeout.ms: describing the topic
	createTimeout time.Duration // kafka.create.timeout.ms: creating it
	// Recovery fails when recoveryAttempts polls of recoveryPoll in a row
	// bring nothing before the end of the topic is reached, as in
	// KafkaSchemaHistory.recoverRecords.
	recoveryPoll     time.Duration
	recoveryAttempts int
}

// Debezium's defaults (KafkaSchemaHistory).
const (
	defaultHistoryQueryTimeout  = 3 * time.Second
	defaultHistoryCreateTimeout = 30 * time.Second
	defaultRecoveryPoll         = 100 * time.Millisecond
	defaultRecoveryAttempts     = 100
)

func parseHistoryClient(v *config.Values) (historyClient, error) {
	const p = "schema.history.internal."
	h := historyClient{producer: map[string]string{}, consumer: map[string]string{},
		queryTimeout: defaultHistoryQueryTimeout, createTimeout: defaultHistoryCreateTimeout,
		recoveryPoll: defaultRecoveryPoll, recoveryAttempts: defaultRecoveryAttempts}
	raw := v.Raw()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		if strings.HasPrefix(k, p) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var errs config.Errors
	millis := func(k, val string, min int, dst *time.Duration) {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(val), &n); err != nil || n < min {
			errs = append(errs, config.FieldError{Name: k, Value: val, Message: fmt.Sprintf("must be an integer of at least %d", min)})
			return
		}
		*dst = time.Duration(n) * time.Millisecond
	}
	for _, k := range keys {
		val := raw[k]
		name := strings.TrimPrefix(k, p)
		switch {
		case name == "kafka.bootstrap.servers":
			for _, b := range strings.Split(val, ",") {
				if b = strings.TrimSpace(b); b != "" {
					h.brokers = append(h.brokers, b)
				}
			}
		case name == "kafka.query.timeout.ms":
			millis(k, val, 1, &h.queryTimeout)
		case name == "kafka.create.timeout.ms":
			millis(k, val, 1, &h.createTimeout)
		case name == "kafka.recovery.poll.interval.ms":
			millis(k, val, 1, &h.recoveryPoll)
		case name == "kafka.recovery.attempts":
			var n int
			if _, err := fmt.Sscan(strings.TrimSpace(val), &n); err != nil || n < 1 {
				errs = append(errs, config.FieldError{Name: k, Value: val, Message: "must be a positive integer"})
			}
			h.recoveryAttempts = n
		case name == "kafka.buffer.batch.size":
			errs = append(errs, config.FieldError{Name: k, Message: "not supported: every schema history record is written and acknowledged on its own before the stream goes on"})
		case strings.HasPrefix(name, "producer."), strings.HasPrefix(name, "consumer."):
			kind, prop, _ := strings.Cut(name, ".")
			if err := kafka.CheckClientProp(kind, prop, val); err != nil {
				errs = append(errs, config.FieldError{Name: k, Message: err.Error()})
				continue
			}
			if kind == "producer" {
				h.producer[prop] = val
			} else {
				h.consumer[prop] = val
			}
		}
	}
	if len(errs) > 0 {
		return h, errs
	}
	return h, nil
}

// clientBrokers returns the brokers of the history's own client, and
// whether it needs one: its bootstrap servers name another cluster than
// the worker's, or it has client settings of its own (on the worker's
// cluster when no bootstrap servers are given). Otherwise the history is
// kept through the worker's client (the same cluster, with the worker's
// security settings).
func (h historyClient) clientBrokers(worker []string) ([]string, bool) {
	if len(h.producer) > 0 || len(h.consumer) > 0 {
		if len(h.brokers) == 0 {
			return worker, len(worker) > 0
		}
		return h.brokers, true
	}
	if len(h.brokers) == 0 || len(worker) == 0 {
		return nil, false
	}
	set := map[string]bool{}
	for _, b := range worker {
		set[strings.ToLower(b)] = true
	}
	for _, b := range h.brokers {
		if !set[strings.ToLower(b)] {
			return h.brokers, true
		}
	}
	return nil, false
}

// open connects the history's own client to brokers.
func (h historyClient) open(brokers []string, clientID string) (*kafka.Raw, error) {
	sc, err := kafka.ClientConfig{Brokers: brokers, ClientID: clientID, Props: h.producer, Consumer: h.consumer}.SaramaConfig()
	if err != nil {
		return nil, fmt.Errorf("schema.history.internal.producer/consumer: %w", err)
	}
	// A cluster that cannot be reached fails the task (and is retried by
	// the runtime) instead of being waited for inside one call.
	sc.Metadata.Retry.Max = 10
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("schema.history.internal.kafka.bootstrap.servers %s: %w", strings.Join(brokers, ","), err)
	}
	return raw, nil
}

// bootstrapLister is implemented by a producer that can say which cluster
// it writes to (kafka.Raw).
type bootstrapLister interface {
	BootstrapServers() []string
}

// stallReader reads a partition to its end, failing when no record
// arrives for stall although the end is not reached (kafka.Raw).
type stallReader interface {
	ReadPartitionStall(ctx context.Context, topic string, partition int32, stall time.Duration) ([]connect.KV, error)
}

// timedHistory applies KafkaSchemaHistory's time limits to a history
// store: kafka.query.timeout.ms to describing the topic,
// kafka.create.timeout.ms to creating it, and the recovery attempts to
// reading it back. sarama's calls take no context, so a call that runs
// out of time is left to finish on its own.
type timedHistory struct {
	historyStore
	cfg historyClient
}

func (t timedHistory) Partitions(ctx context.Context, topic string) (int, error) {
	n, err := within(ctx, t.cfg.queryTimeout, func() (int, error) { return t.historyStore.Partitions(ctx, topic) })
	if errors.Is(err, errTimedOut) {
		return 0, fmt.Errorf("describing the topic took longer than schema.history.internal.kafka.query.timeout.ms=%d", t.cfg.queryTimeout.Milliseconds())
	}
	return n, err
}

func (t timedHistory) CreateTopic(ctx context.Context, topic string, partitions int32, configs map[string]string) (bool, error) {
	ok, err := within(ctx, t.cfg.createTimeout, func() (bool, error) { return t.historyStore.CreateTopic(ctx, topic, partitions, configs) })
	if errors.Is(err, errTimedOut) {
		return false, fmt.Errorf("creating the topic took longer than schema.history.internal.kafka.create.timeout.ms=%d", t.cfg.createTimeout.Milliseconds())
	}
	return ok, err
}

func (t timedHistory) ReadPartition(ctx context.Context, topic string, partition int32) ([]connect.KV, error) {
	sr, ok := t.historyStore.(stallReader)
	if !ok {
		return t.historyStore.ReadPartition(ctx, topic, partition)
	}
	stall := t.cfg.recoveryPoll * time.Duration(t.cfg.recoveryAttempts)
	recs, err := sr.ReadPartitionStall(ctx, topic, partition, stall)
	if errors.Is(err, kafka.ErrStalled) {
		return nil, fmt.Errorf("the database schema history couldn't be recovered: no record arrived for %d polls of %d ms before the end of the topic; consider increasing schema.history.internal.kafka.recovery.poll.interval.ms or schema.history.internal.kafka.recovery.attempts: %w",
			t.cfg.recoveryAttempts, t.cfg.recoveryPoll.Milliseconds(), err)
	}
	return recs, err
}

var errTimedOut = errors.New("timed out")

// within runs f and waits for it at most d.
func within[T any](ctx context.Context, d time.Duration, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	var zero T
	select {
	case r := <-done:
		return r.v, r.err
	case <-timer.C:
		return zero, errTimedOut
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// openHistory opens the schema history of a run: the file or the Redis
// connection of schema.history.internal, or the history's own Kafka client
// when its settings ask for one (see historyClient.clientBrokers); the
// history uses the runtime's producer otherwise. It returns what closes it.
func (t *task) openHistory() (func(), error) {
	c := t.c
	switch c.cfg.historyClass {
	case fileHistoryClass:
		c.store = &fileHistory{path: c.cfg.historyFile, log: c.log}
		return func() {}, nil
	case redisHistoryClass:
		rh := openRedisHistory(c.cfg.historyRedis, c.log)
		c.store = rh
		return func() {
			c.store = nil
			if err := rh.close(); err != nil {
				c.log.Warn("closing the schema history's Redis connection", "err", err)
			}
		}, nil
	}
	var worker []string
	if bl, ok := c.tc.Producer.(bootstrapLister); ok {
		worker = bl.BootstrapServers()
	}
	brokers, own := c.cfg.historyClient.clientBrokers(worker)
	if !own {
		return func() {}, nil
	}
	raw, err := c.cfg.historyClient.open(brokers, fmt.Sprintf("%s-schemahistory", c.cfg.topicPrefix))
	if err != nil {
		return nil, err
	}
	shared := c.history
	c.history = timedHistory{historyStore: raw, cfg: c.cfg.historyClient}
	return func() {
		c.history = shared
		raw.Close()
	}, nil
}
