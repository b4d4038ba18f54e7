// Package sinkrunner runs a sink task the way Kafka Connect's
// WorkerSinkTask does: it consumes the connector's topics in the consumer
// group "connect-<connector name>", decodes records with the key and value
// converters, applies the transforms chain, hands batches to
// connect.SinkTask.Put and commits the consumed Kafka offsets only after
// Put has returned, i.e. after the target has made the batch durable.
//
// Delivery is at-least-once: a crash or rebalance between Put and the
// offset commit replays the batch, so tasks must write idempotently.
//
// Errors follow Kafka Connect's errors.* properties. With
// errors.tolerance=none the first bad record fails the task with an error
// naming its topic, partition and offset. With errors.tolerance=all, bad
// records (undecodable, rejected by a transform, or rejected by the target)
// are skipped, logged when errors.log.enable is set, and written to the
// dead letter queue errors.deadletterqueue.topic.name with Kafka Connect's
// __connect.errors.* headers when errors.deadletterqueue.context.headers.enable
// is set. A batch that Put rejects is retried record by record to isolate
// the bad record, so the good records of the batch are still applied.
//
// A record the task refuses with connect.SchemaChangeError (its table's
// new schema cannot be applied to the target) is neither a task failure
// nor a bad record: its topic-partition is parked (see Parking) whatever
// errors.tolerance says, and the other partitions keep flowing.
package sinkrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/transforms"
)

// Config is what Run needs.
type Config struct {
	// Brokers are the Kafka bootstrap servers.
	Brokers []string
	// SaramaConfig is the base client configuration (security, client
	// id, Consumer.Offsets.Initial from consumer.auto.offset.reset...). nil
	// means sarama defaults with Kafka 2.8 protocol, starting at the
	// earliest offset as Kafka Connect's sink consumers do; a non-nil
	// configuration's Consumer.Offsets.Initial is honoured (sarama's own
	// default is the newest offset). Run copies it and forces manual
	// offset commits.
	SaramaConfig *sarama.Config
	// ConnectorName names the consumer group (connect-<name>) and appears
	// in dead letter queue headers.
	ConnectorName string
	// TaskID appears in dead letter queue headers and logs.
	TaskID int
	// Props are the connector's properties; Run reads topics,
	// topics.regex, errors.* and consumer.max.poll.records (see Def).
	Props *config.Values
	// Task receives the records. Run does not close it.
	Task connect.SinkTask
	// TaskClass names the task in dead letter queue headers; defaults to
	// the connector.class property.
	TaskClass string
	// KeyConverter and ValueConverter decode Kafka bytes.
	KeyConverter, ValueConverter converter.Converter
	// KeyConverterClass and ValueConverterClass name the converters in
	// dead letter queue headers; default to JsonConverter.
	KeyConverterClass, ValueConverterClass string
	// Transforms are applied to every record before Put.
	Transforms transforms.Chain
	// Logger receives progress and error logs; nil discards them. The
	// worker's task logger already carries connector and task: the runner
	// adds neither, or every line would repeat them.
	Logger *slog.Logger

	// TopicRefresh is how often topics.regex is re-evaluated against the
	// cluster's topics; default 5s (Kafka's metadata.max.age is 5 min,
	// which makes new topics wait needlessly long).
	TopicRefresh time.Duration
	// Parking receives the partitions parked because a record could not
	// be applied for a schema change (connect.SchemaChangeError); nil: Run
	// keeps its own, which nobody can resume.
	Parking *Parking

	// RetryBackoff is the first pause before retrying a Put that failed
	// with a retriable error; it doubles up to 30s. Default 500ms.
	RetryBackoff time.Duration
}

// Def returns the runtime-owned sink connector properties Run reads, for
// the CLI to merge into the connector's definition.
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "topics", Type: config.TypeList, Doc: "topics to consume (or topics.regex)"})
	d.Define(config.Key{Name: "topics.regex", Validate: func(v string) error {
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("invalid regular expression: %w", err)
		}
		return nil
	}, Doc: "regular expression of topics to consume"})
	d.Define(config.Key{Name: "errors.tolerance", Default: "none", OneOf: []string{"none", "all"}, Doc: "none: a record that fails conversion or a transform fails the task; all: it is skipped (logged with errors.log.enable, and for sinks sent to errors.deadletterqueue.topic.name)"})
	d.Define(config.Key{Name: "errors.log.enable", Type: config.TypeBoolean, Default: "false", Doc: "log each record skipped under errors.tolerance=all"})
	d.Define(config.Key{Name: "errors.log.include.messages", Type: config.TypeBoolean, Default: "false", Doc: "include the record's topic, partition, offset and content in that log line"})
	d.Define(config.Key{Name: "errors.deadletterqueue.topic.name", Default: "", Doc: "sink connectors: topic records that failed under errors.tolerance=all are written to; empty: none"})
	d.Define(config.Key{Name: "errors.deadletterqueue.topic.replication.factor", Type: config.TypeInt, Default: "3", Doc: "replication factor of the dead letter queue topic when it is created"})
	d.Define(config.Key{Name: "errors.deadletterqueue.context.headers.enable", Type: config.TypeBoolean, Default: "false", Doc: "add Kafka Connect's __connect.errors.* headers (topic, partition, offset, exception) to dead letter queue records"})
	d.Define(config.Key{Name: "errors.retry.timeout", Type: config.TypeLong, Default: "0", Doc: "how long a conversion or transformation failing for a passing reason (schema registry unreachable or answering 5xx, a lost connection) is retried before errors.tolerance applies, in ms: 0 no retries, -1 as long as the task runs (Kafka Connect's RetryWithToleranceOperator)"})
	d.Define(config.Key{Name: "errors.retry.delay.max.ms", Type: config.TypeLong, Default: "60000", Doc: "longest pause between those retries, in ms; the pause starts at 300 ms and doubles"})
	d.Define(config.Key{Name: "consumer.max.poll.records", Type: config.TypeInt, Default: "500",
		Doc:     "largest batch handed to Put (Kafka Connect: consumer.override.max.poll.records)",
		Aliases: []string{"consumer.override.max.poll.records"}})
	d.Define(config.Key{Name: "consumer.override.group.id",
		Doc: "consumer group of the connector's tasks, whose committed offsets are its progress; default connect-<connector name>, as Kafka Connect (which takes this override under connector.client.config.override.policy=All)"})
	d.AllowPrefix("consumer.override.")
	return d
}

// maxFetchWait caps sarama's Consumer.MaxWaitTime (see Run).
const maxFetchWait = 50 * time.Millisecond

// Dead letter queue header names, as Kafka Connect's DeadLetterQueueReporter.
const (
	HeaderPrefix             = "__connect.errors."
	HeaderTopic              = HeaderPrefix + "topic"
	HeaderPartition          = HeaderPrefix + "partition"
	HeaderOffset             = HeaderPrefix + "offset"
	HeaderConnectorName      = HeaderPrefix + "connector.name"
	HeaderTaskID             = HeaderPrefix + "task.id"
	HeaderStage              = HeaderPrefix + "stage"
	HeaderClassName          = HeaderPrefix + "class.name"
	HeaderExceptionClassName = HeaderPrefix + "exception.class.name"
	HeaderExceptionMessage   = HeaderPrefix + "exception.message"
	HeaderExceptionTrace     = HeaderPrefix + "exception.stacktrace"
)

// Stage is where processing failed, named as Kafka Connect's Stage enum.
type Stage string

const (
	StageKeyConverter   Stage = "KEY_CONVERTER"
	StageValueConverter Stage = "VALUE_CONVERTER"
	StageTransformation Stage = "TRANSFORMATION"
	StageTaskPut        Stage = "TASK_PUT"
)

// retriable is implemented by task errors that are not the records' fault
// (lost connection, deadlock, server shutting down): the batch is retried
// as a whole instead of being split or sent to the dead letter queue.
type retriable interface{ Retriable() bool }

func isRetriable(err error) bool {
	var r retriable
	return errors.As(err, &r) && r.Retriable()
}

// RecordError is the error Run returns when a record cannot be processed
// and errors.tolerance is none.
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	Stage     Stage
	Err       error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("tolerance exceeded in error handler: stage %s failed for record topic=%s partition=%d offset=%d: %v",
		e.Stage, e.Topic, e.Partition, e.Offset, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

type settings struct {
	group         string // consumer group: connect-<name> or consumer.override.group.id
	topics        []string
	topicsRegex   *regexp.Regexp
	tolerateAll   bool
	logErrors     bool
	logMessages   bool
	dlqTopic      string
	dlqRF         int16
	dlqHeaders    bool
	maxBatch      int
	topicRefresh  time.Duration
	retryBackoff  time.Duration
	retry         connect.RetryPolicy // errors.retry.timeout, errors.retry.delay.max.ms
	taskClass     string
	keyConvClass  string
	valConvClass  string
	transformType func(alias string) string
}

func readSettings(cfg *Config) (*settings, error) {
	p := cfg.Props
	if p == nil {
		return nil, errors.New("sinkrunner: Props is nil")
	}
	s := &settings{
		group:        "connect-" + cfg.ConnectorName,
		topics:       p.List("topics"),
		tolerateAll:  p.Lower("errors.tolerance") == "all",
		retry:        connect.RetryPolicy{Timeout: time.Duration(p.Int("errors.retry.timeout")) * time.Millisecond, MaxDelay: p.Millis("errors.retry.delay.max.ms")},
		logErrors:    p.Bool("errors.log.enable"),
		logMessages:  p.Bool("errors.log.include.messages"),
		dlqTopic:     p.String("errors.deadletterqueue.topic.name"),
		dlqHeaders:   p.Bool("errors.deadletterqueue.context.headers.enable"),
		topicRefresh: cfg.TopicRefresh,
		retryBackoff: cfg.RetryBackoff,
		taskClass:    cfg.TaskClass,
		keyConvClass: cfg.KeyConverterClass,
		valConvClass: cfg.ValueConverterClass,
	}
	if g := p.String("consumer.override.group.id"); g != "" {
		s.group = g
	}
	if t := p.Lower("errors.tolerance"); t != "" && t != "none" && t != "all" {
		return nil, fmt.Errorf("errors.tolerance=%q: must be none or all", t)
	}
	rf := int64(3)
	if p.IsSet("errors.deadletterqueue.topic.replication.factor") {
		rf = p.Int("errors.deadletterqueue.topic.replication.factor")
	}
	s.dlqRF = int16(rf)
	s.maxBatch = 500
	for _, k := range []string{"consumer.max.poll.records", "consumer.override.max.poll.records"} {
		if p.IsSet(k) {
			n, err := strconv.Atoi(p.String(k))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("%s=%q: must be a positive integer", k, p.String(k))
			}
			s.maxBatch = n
		}
	}
	if re := p.String("topics.regex"); re != "" {
		if len(s.topics) > 0 {
			return nil, errors.New("topics and topics.regex are mutually exclusive")
		}
		var err error
		if s.topicsRegex, err = regexp.Compile("^(?:" + re + ")$"); err != nil {
			return nil, fmt.Errorf("topics.regex=%q: %w", re, err)
		}
	} else if len(s.topics) == 0 {
		return nil, errors.New("one of topics or topics.regex is required")
	}
	if s.dlqTopic != "" {
		for _, t := range s.topics {
			if t == s.dlqTopic {
				return nil, fmt.Errorf("errors.deadletterqueue.topic.name=%q is also one of the consumed topics", t)
			}
		}
	}
	if s.topicRefresh <= 0 {
		s.topicRefresh = 5 * time.Second
	}
	if s.retryBackoff <= 0 {
		s.retryBackoff = 500 * time.Millisecond
	}
	if s.taskClass == "" {
		s.taskClass = p.String("connector.class")
	}
	if s.keyConvClass == "" {
		s.keyConvClass = converter.JSONClass
	}
	if s.valConvClass == "" {
		s.valConvClass = converter.JSONClass
	}
	s.transformType = func(alias string) string { return p.String("transforms." + alias + ".type") }
	return s, nil
}

// Run consumes and delivers records until ctx is cancelled (it then
// returns nil) or a record or the task fails fatally. Offsets are committed
// synchronously after every successful Put; a batch in flight when ctx is
// cancelled or the partition is revoked is not committed and will be
// delivered again.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Task == nil || cfg.KeyConverter == nil || cfg.ValueConverter == nil {
		return errors.New("sinkrunner: Task, KeyConverter and ValueConverter are required")
	}
	if cfg.ConnectorName == "" {
		return errors.New("sinkrunner: ConnectorName is required")
	}
	s, err := readSettings(&cfg)
	if err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	defer func() {
		if err := cfg.Transforms.Close(); err != nil {
			log.Warn("closing the task's transforms failed", "error", err)
		}
	}()

	sc := sarama.NewConfig()
	if cfg.SaramaConfig != nil {
		cp := *cfg.SaramaConfig
		sc = &cp
	} else {
		sc.Version = sarama.V2_8_0_0
		sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	if sc.ClientID == "" || sc.ClientID == "sarama" {
		sc.ClientID = fmt.Sprintf("connector-consumer-%s-%d", cfg.ConnectorName, cfg.TaskID)
	}
	sc.Consumer.Offsets.AutoCommit.Enable = false
	sc.Consumer.Return.Errors = true
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	// sarama sends the offset commit over the same broker connection as
	// the fetch long-poll and waits for the fetch to return first; with the
	// default 500ms every synchronous commit (and so every batch) would
	// wait up to that long.
	if sc.Consumer.MaxWaitTime > maxFetchWait {
		sc.Consumer.MaxWaitTime = maxFetchWait
	}

	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return fmt.Errorf("sinkrunner: connecting to Kafka %v: %w", cfg.Brokers, err)
	}
	defer client.Close()
	group, err := sarama.NewConsumerGroupFromClient(s.group, client)
	if err != nil {
		return fmt.Errorf("sinkrunner: consumer group %s: %w", s.group, err)
	}
	defer group.Close()

	r := &runner{cfg: &cfg, s: s, log: log, parking: cfg.Parking, group: group}
	if r.parking == nil {
		r.parking = NewParking(nil)
	}
	if s.dlqTopic != "" {
		if err := ensureTopic(client, s.dlqTopic, s.dlqRF); err != nil {
			return fmt.Errorf("sinkrunner: dead letter queue topic %s: %w", s.dlqTopic, err)
		}
		if r.dlq, err = sarama.NewSyncProducerFromClient(client); err != nil {
			return fmt.Errorf("sinkrunner: dead letter queue producer: %w", err)
		}
		defer r.dlq.Close()
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.fail = func(err error) { cancel(err) }

	go func() {
		for {
			select {
			case err, ok := <-group.Errors():
				if !ok {
					return
				}
				// Commit failures land here; the batch is replayed after
				// the next rebalance, which idempotent writes absorb.
				log.Warn("consumer group error", "err", err)
			case <-runCtx.Done():
				return
			}
		}
	}()

	for runCtx.Err() == nil {
		topics, err := r.resolveTopics(client)
		if err != nil {
			return err
		}
		if len(topics) == 0 {
			log.Info("no topic matches topics.regex yet", "regex", s.topicsRegex.String())
			select {
			case <-time.After(s.topicRefresh):
				continue
			case <-runCtx.Done():
				continue
			}
		}
		consumeCtx, stop := context.WithCancel(runCtx)
		if s.topicsRegex != nil {
			go r.watchTopics(consumeCtx, stop, client, topics)
		}
		err = group.Consume(consumeCtx, topics, r)
		stop()
		if err != nil && runCtx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				break
			}
			log.Warn("consumer group session ended with an error; rejoining", "err", err)
			select {
			case <-time.After(s.retryBackoff):
			case <-runCtx.Done():
			}
		}
	}
	if cause := context.Cause(runCtx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return nil
}

func ensureTopic(client sarama.Client, topic string, rf int16) error {
	topics, err := client.Topics()
	if err != nil {
		return err
	}
	for _, t := range topics {
		if t == topic {
			return nil
		}
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return err
	}
	// Not admin.Close: that would close the shared client.
	if n := int16(len(client.Brokers())); n > 0 && rf > n {
		rf = n
	}
	err = admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: rf}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		var te *sarama.TopicError
		if !errors.As(err, &te) || te.Err != sarama.ErrTopicAlreadyExists {
			return err
		}
	}
	return client.RefreshMetadata(topic)
}

type runner struct {
	cfg  *Config
	s    *settings
	log  *slog.Logger
	dlq  sarama.SyncProducer
	fail func(error)
	// parking holds the partitions parked for a schema change; group
	// pauses their fetching.
	parking *Parking
	group   pauser
	// mu serialises Put: sarama runs one ConsumeClaim goroutine per
	// partition, and tasks are not required to be safe for concurrent use.
	mu sync.Mutex
	// convMu serialises conversion (converters and transforms are not
	// required to be safe for concurrent use either). It is not mu, so
	// that one partition's batch is decoded while another's Put waits on
	// the database.
	convMu sync.Mutex
	// commitNow asks the session's committer (see Setup) to commit the
	// marked offsets; commitDone ends it.
	commitNow  chan struct{}
	commitDone chan struct{}
	committer  sync.WaitGroup
}

func (r *runner) resolveTopics(client sarama.Client) ([]string, error) {
	if r.s.topicsRegex == nil {
		return r.s.topics, nil
	}
	if err := client.RefreshMetadata(); err != nil {
		return nil, fmt.Errorf("sinkrunner: listing topics: %w", err)
	}
	all, err := client.Topics()
	if err != nil {
		return nil, fmt.Errorf("sinkrunner: listing topics: %w", err)
	}
	var out []string
	for _, t := range all {
		if r.s.topicsRegex.MatchString(t) && t != r.s.dlqTopic && !strings.HasPrefix(t, "__") {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// watchTopics ends the consumer session when the set of topics matching
// topics.regex changes, so the group rejoins with the new subscription.
func (r *runner) watchTopics(ctx context.Context, stop func(), client sarama.Client, current []string) {
	t := time.NewTicker(r.s.topicRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now, err := r.resolveTopics(client)
			if err != nil {
				r.log.Warn("refreshing topics.regex subscription", "err", err)
				continue
			}
			if strings.Join(now, ",") != strings.Join(current, ",") {
				r.log.Info("topics.regex subscription changed", "topics", now)
				stop()
				return
			}
		}
	}
}

// Setup implements sarama.ConsumerGroupHandler.
func (r *runner) Setup(sess sarama.ConsumerGroupSession) error {
	r.log.Info("partitions assigned", "claims", sess.Claims(), "generation", sess.GenerationID())
	// Offsets are marked after Put and committed by this goroutine, so the
	// next batch is decoded and written during the commit's round trip
	// (waiting for it after every batch was 17% of the sink's wall time).
	// Requests arriving during a commit coalesce into the next one.
	r.commitNow, r.commitDone = make(chan struct{}, 1), make(chan struct{})
	now, done := r.commitNow, r.commitDone
	r.committer.Add(1)
	go func() {
		defer r.committer.Done()
		for {
			select {
			case <-now:
				sess.Commit()
			case <-done:
				return
			}
		}
	}()
	return nil
}

// Cleanup implements sarama.ConsumerGroupHandler. It commits what was
// marked before the partitions go, as Kafka Connect commits on revocation.
func (r *runner) Cleanup(sess sarama.ConsumerGroupSession) error {
	close(r.commitDone)
	r.committer.Wait()
	sess.Commit()
	r.log.Info("partitions revoked", "claims", sess.Claims())
	return nil
}

// commitSoon has the session's committer commit the marked offsets.
func (r *runner) commitSoon() {
	select {
	case r.commitNow <- struct{}{}:
	default: // a commit is already pending and will include these marks
	}
}

// ConsumeClaim implements sarama.ConsumerGroupHandler: it gathers what is
// already fetched for the partition (up to the batch size) and processes it
// as one batch.
func (r *runner) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	msgs := claim.Messages()
	for {
		var batch []*sarama.ConsumerMessage
		select {
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			batch = append(batch, m)
		case <-sess.Context().Done():
			return nil
		}
	fill:
		for len(batch) < r.s.maxBatch {
			select {
			case m, ok := <-msgs:
				if !ok {
					break fill
				}
				batch = append(batch, m)
			default:
				break fill
			}
		}
		if err := r.processBatch(sess, batch); err != nil {
			r.fail(err)
			return err
		}
	}
}

// pending is a consumed message and what it became.
type pending struct {
	msg *sarama.ConsumerMessage
	rec *connect.Record // nil when dropped by a transform or tolerated error
}

func (r *runner) processBatch(sess sarama.ConsumerGroupSession, batch []*sarama.ConsumerMessage) error {
	ctx := sess.Context()
	if ctx.Err() != nil {
		return nil // revoked before we started: leave the batch uncommitted
	}
	items, convErr := r.convertBatch(ctx, batch)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() != nil {
		return nil // revoked while converting: leave the batch uncommitted
	}
	committed, err := r.deliver(ctx, sess, items)
	if err != nil {
		return err
	}
	if !committed || len(items) == 0 {
		return convErr
	}
	batch = batch[:len(items)]
	if ctx.Err() != nil {
		// The session ended (rebalance or shutdown) while Put ran. The
		// records are durable but the partition may belong to another
		// member now; leave the offsets to be replayed.
		return convErr
	}
	last := batch[len(batch)-1]
	sess.MarkOffset(last.Topic, last.Partition, last.Offset+1, "")
	r.commitSoon()
	return convErr
}

// convertBatch converts the batch's messages up to the first one that
// fails intolerably, returned as the error: what precedes it is delivered
// first, so that the task fails on the first bad record in offset order
// with everything before it applied and committed.
func (r *runner) convertBatch(ctx context.Context, batch []*sarama.ConsumerMessage) ([]pending, error) {
	r.convMu.Lock()
	defer r.convMu.Unlock()
	items := make([]pending, 0, len(batch))
	for _, m := range batch {
		rec, err := r.convert(ctx, m)
		if err != nil {
			return items, err
		}
		items = append(items, pending{msg: m, rec: rec})
	}
	return items, nil
}

// convert decodes and transforms one message. A tolerated failure returns
// (nil, nil) after reporting; an intolerable one returns the error.
func (r *runner) convert(ctx context.Context, m *sarama.ConsumerMessage) (*connect.Record, error) {
	var ks, vs *connect.Schema
	var k, v any
	err := r.s.retry.Do(ctx, func() (err error) {
		ks, k, err = r.cfg.KeyConverter.ToConnect(m.Topic, m.Key)
		return err
	})
	if err != nil {
		return nil, r.recordFailed(ctx, m, StageKeyConverter, r.s.keyConvClass, dataException, err)
	}
	err = r.s.retry.Do(ctx, func() (err error) {
		vs, v, err = r.cfg.ValueConverter.ToConnect(m.Topic, m.Value)
		return err
	})
	if err != nil {
		return nil, r.recordFailed(ctx, m, StageValueConverter, r.s.valConvClass, dataException, err)
	}
	rec := &connect.Record{
		Topic: m.Topic, Partition: m.Partition, KafkaOffset: m.Offset,
		KeySchema: ks, Key: k, ValueSchema: vs, Value: v, Timestamp: m.Timestamp,
	}
	for _, h := range m.Headers {
		if h == nil {
			continue
		}
		var hv any
		if h.Value != nil {
			hv = h.Value
		}
		rec.Headers = append(rec.Headers, connect.Header{Key: string(h.Key), Schema: connect.OptionalPrim(connect.Bytes), Value: hv})
	}
	var out *connect.Record
	var alias string
	err = r.s.retry.Do(ctx, func() (err error) {
		out, alias, err = r.cfg.Transforms.ApplyTraced(rec)
		return err
	})
	if err != nil {
		return nil, r.recordFailed(ctx, m, StageTransformation, r.s.transformType(alias), connectException, err)
	}
	return out, nil
}

const (
	dataException    = "org.apache.kafka.connect.errors.DataException"
	connectException = "org.apache.kafka.connect.errors.ConnectException"
)

// deliver puts the batch's records. It returns committed=false when the
// context ended before the batch was durable.
func (r *runner) deliver(ctx context.Context, sess sarama.ConsumerGroupSession, items []pending) (bool, error) {
	recs := make([]*connect.Record, 0, len(items))
	for _, it := range items {
		if it.rec != nil {
			recs = append(recs, it.rec)
		}
	}
	if len(recs) == 0 {
		return true, nil
	}
	err := r.put(ctx, recs)
	if err == nil {
		return true, nil
	}
	if ctx.Err() != nil {
		return false, nil
	}
	if len(recs) > 1 {
		r.log.Warn("batch rejected; retrying record by record to isolate the failing record", "records", len(recs), "err", err)
	}
	// Retry one record at a time: the good ones are applied, the bad one
	// is reported with its own coordinates.
	for i, it := range items {
		if it.rec == nil {
			continue
		}
		err := r.put(ctx, []*connect.Record{it.rec})
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return false, nil
		}
		if sce := connect.AsSchemaChange(err); sce != nil {
			// Not the record's fault, and the records after it in the
			// partition depend on it: park the partition with its offset
			// committed up to this record, whatever errors.tolerance says.
			if i > 0 {
				prev := items[i-1].msg
				sess.MarkOffset(prev.Topic, prev.Partition, prev.Offset+1, "")
				sess.Commit()
			}
			if !r.park(ctx, it.msg, sce, len(items)-i) {
				return false, nil
			}
			return r.deliver(ctx, sess, items[i:])
		}
		if ferr := r.recordFailed(ctx, it.msg, StageTaskPut, r.s.taskClass, connectException, err); ferr != nil {
			// Keep the progress made so far: everything before the failing
			// record is durable.
			if i > 0 {
				prev := items[i-1].msg
				sess.MarkOffset(prev.Topic, prev.Partition, prev.Offset+1, "")
				sess.Commit()
			}
			return false, ferr
		}
	}
	return true, nil
}

// put calls Task.Put, retrying retriable failures with backoff until ctx
// ends, as Kafka Connect does for RetriableException.
func (r *runner) put(ctx context.Context, recs []*connect.Record) error {
	backoff := r.s.retryBackoff
	for {
		err := r.cfg.Task.Put(ctx, recs)
		if err == nil || !isRetriable(err) || ctx.Err() != nil {
			return err
		}
		r.log.Warn("retriable failure writing batch; retrying", "records", len(recs), "backoff", backoff, "err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// recordFailed applies errors.tolerance to a failed record: nil means the
// record was reported and skipped.
func (r *runner) recordFailed(ctx context.Context, m *sarama.ConsumerMessage, stage Stage, class, excClass string, err error) error {
	if !r.s.tolerateAll {
		return &RecordError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Stage: stage, Err: err}
	}
	if r.s.logErrors {
		attrs := []any{"stage", stage, "class", class, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset,
			"timestamp", m.Timestamp.UnixMilli(), "err", err}
		if r.s.logMessages {
			attrs = append(attrs, "key", string(m.Key), "value", string(m.Value))
		}
		r.log.Error("error encountered in task; record skipped (errors.tolerance=all)", attrs...)
	}
	if r.dlq == nil {
		return nil
	}
	pm := &sarama.ProducerMessage{Topic: r.s.dlqTopic, Timestamp: m.Timestamp}
	if m.Key != nil {
		pm.Key = sarama.ByteEncoder(m.Key)
	}
	if m.Value != nil {
		pm.Value = sarama.ByteEncoder(m.Value)
	}
	for _, h := range m.Headers {
		if h != nil {
			pm.Headers = append(pm.Headers, *h)
		}
	}
	if r.s.dlqHeaders {
		add := func(k, v string) {
			pm.Headers = append(pm.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
		}
		add(HeaderTopic, m.Topic)
		add(HeaderPartition, strconv.Itoa(int(m.Partition)))
		add(HeaderOffset, strconv.FormatInt(m.Offset, 10))
		add(HeaderConnectorName, r.cfg.ConnectorName)
		add(HeaderTaskID, strconv.Itoa(r.cfg.TaskID))
		add(HeaderStage, string(stage))
		add(HeaderClassName, class)
		add(HeaderExceptionClassName, excClass)
		add(HeaderExceptionMessage, err.Error())
		add(HeaderExceptionTrace, errorTrace(err))
	}
	if _, _, perr := r.dlq.SendMessage(pm); perr != nil {
		// Losing the record silently is not an option: fail the task.
		return fmt.Errorf("writing record topic=%s partition=%d offset=%d to dead letter queue %s: %w (original error: %v)",
			m.Topic, m.Partition, m.Offset, r.s.dlqTopic, perr, err)
	}
	return nil
}

// errorTrace renders the wrapped error chain, the closest Go has to a
// Java stack trace.
func errorTrace(err error) string {
	var b strings.Builder
	for e := err; e != nil; e = errors.Unwrap(e) {
		if b.Len() > 0 {
			b.WriteString("\nCaused by: ")
		}
		fmt.Fprintf(&b, "%T: %s", e, e.Error())
	}
	return b.String()
}
