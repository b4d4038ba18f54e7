package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// Exactly-once source delivery (KIP-618): the properties, their
// validation with Kafka Connect's messages, and the worker's decision.
// The transactional source loop is in eos_source.go.

// Values of the worker property exactly.once.source.support
// (DistributedConfig).
const (
	EOSDisabled  = "disabled"
	EOSPreparing = "preparing"
	EOSEnabled   = "enabled"
)

// Values of transaction.boundary (SourceTask.TransactionBoundary).
const (
	BoundaryPoll      = "poll"
	BoundaryInterval  = "interval"
	BoundaryConnector = "connector"
)

// defineExactlyOnce adds SourceConnectorConfig's exactly-once properties.
func defineExactlyOnce(d *config.Def) {
	d.Define(config.Key{Name: "exactly.once.support", Default: "requested", OneOf: []string{"requested", "required"},
		Doc: "required: refuse the connector unless the worker runs it exactly once and the connector supports that"})
	d.Define(config.Key{Name: "transaction.boundary", Default: BoundaryPoll, OneOf: []string{BoundaryPoll, BoundaryInterval, BoundaryConnector},
		Doc: "what one Kafka transaction holds under exactly-once delivery: each batch the task hands over (poll), the records of transaction.boundary.interval.ms (interval), or a transaction of the source (connector)"})
	d.Define(config.Key{Name: "transaction.boundary.interval.ms", Type: config.TypeLong,
		Doc: "with transaction.boundary=interval, how often transactions are committed; default offset.flush.interval.ms",
		Validate: func(v string) error {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n < 0 {
				//lint:ignore ST1005 Kafka's ConfigDef.Range message, verbatim
				return errors.New("Value must be at least 0")
			}
			return nil
		}})
	d.Define(config.Key{Name: "offsets.storage.topic",
		Doc: "the connector's own offsets topic, instead of the worker's offset.storage.topic (offsets in Kafka only)",
		Validate: func(v string) error {
			if strings.TrimSpace(v) == "" {
				return errors.New("String must be non-empty")
			}
			return nil
		}})
}

// ExactlyOnce is how a worker delivers source records: Kafka Connect's
// exactly.once.source.support, and where the worker keeps offsets.
type ExactlyOnce struct {
	// Support is exactly.once.source.support: disabled, preparing or
	// enabled. Only enabled runs source tasks in transactions; preparing
	// is the step of a rolling upgrade where workers already accept it.
	Support string
	// GroupID prefixes every task's transactional.id.
	GroupID string
	// OffsetsInKafka is false when offsets are in a file
	// (offset.storage.file.filename), which no Kafka transaction can
	// include.
	OffsetsInKafka bool
	// OffsetsTopic is the worker's offset.storage.topic.
	OffsetsTopic string
	// OffsetsPartitions is offset.storage.partitions, for offsets topics
	// created here (the worker's and connectors' own).
	OffsetsPartitions int32
	// FlushInterval is offset.flush.interval.ms, the default of
	// transaction.boundary.interval.ms.
	FlushInterval time.Duration
}

// DefaultRunGroupID is the group.id in transactional.id of connectors that
// `tributary run` runs without one: Kafka Connect's standalone worker has
// no group, and a fixed default makes two runs of the same connector
// fence each other as they must.
const DefaultRunGroupID = "tributary-run"

// WorkerExactlyOnce reads exactly.once.source.support from worker
// properties; offsetsInKafka says whether the worker keeps offsets in
// Kafka (distributed mode, or run/standalone with offset.storage.topic).
func WorkerExactlyOnce(wv *config.Values, offsetsInKafka bool) (ExactlyOnce, error) {
	e := ExactlyOnce{Support: strings.ToLower(wv.String("exactly.once.source.support")), GroupID: wv.String("group.id"),
		OffsetsInKafka: offsetsInKafka, OffsetsTopic: wv.String("offset.storage.topic"), FlushInterval: time.Second}
	if e.Support == "" {
		e.Support = EOSDisabled
	}
	if e.GroupID == "" {
		e.GroupID = DefaultRunGroupID
	}
	e.OffsetsPartitions = 25
	if wv.IsSet("offset.storage.partitions") {
		e.OffsetsPartitions = int32(wv.Int("offset.storage.partitions"))
	}
	if wv.IsSet("offset.flush.interval.ms") {
		e.FlushInterval = wv.Millis("offset.flush.interval.ms")
	}
	if e.Support == EOSEnabled && !offsetsInKafka {
		return e, config.Errors{{Name: "exactly.once.source.support", Value: e.Support,
			Message: "exactly-once delivery writes source offsets in the same Kafka transaction as the records, but this worker keeps them in a file (offset.storage.file.filename); " +
				"keep them in Kafka instead: set the worker property offset.storage.topic"}}
	}
	return e, nil
}

// Enabled reports whether source tasks run in transactions.
func (e ExactlyOnce) Enabled() bool { return e.Support == EOSEnabled }

// Check validates a connector's exactly-once properties against the
// worker, as Kafka Connect's validateSourceConnectorConfig does, with its
// messages. Sinks have none of these properties.
func (e ExactlyOnce) Check(c *Connector) config.Errors {
	if c.Plugin.Type != connect.SourcePlugin {
		return nil
	}
	v := c.Values
	var errs config.Errors
	add := func(name, msg string) {
		errs = append(errs, config.FieldError{Name: name, Value: v.String(name), Message: msg})
	}
	if v.Lower("exactly.once.support") == "required" {
		switch {
		case !e.Enabled() && !e.OffsetsInKafka:
			add("exactly.once.support", "This worker does not have exactly-once source support enabled. "+
				"Its source offsets are in a file (offset.storage.file.filename), which cannot be written in a Kafka transaction: "+
				"keep them in Kafka (worker properties offset.storage.topic and exactly.once.source.support=enabled), or run the connector on a distributed worker with exactly.once.source.support=enabled")
		case !e.Enabled():
			add("exactly.once.support", "This worker does not have exactly-once source support enabled.")
		}
		switch c.Plugin.ExactlyOnce {
		case connect.ExactlyOnceUnknown:
			add("exactly.once.support", "The connector does not implement the API required for preflight validation of exactly-once source support. "+
				"Please consult the documentation for the connector to determine whether it supports exactly-once semantics, "+
				"and then consider reconfiguring the connector to use the value \"requested\" for this property "+
				"(which will disable this preflight check and allow the connector to be created).")
		case connect.ExactlyOnceUnsupported:
			add("exactly.once.support", "The connector does not support exactly-once semantics with the provided configuration.")
		}
	}
	boundary := v.Lower("transaction.boundary")
	if boundary == BoundaryConnector && !c.Plugin.TransactionBoundaries {
		add("transaction.boundary", "The connector does not support connector-defined transaction boundaries with the given configuration. "+
			"Please reconfigure it to use a different transaction boundary definition.")
	}
	// Kafka Connect accepts these without effect; Tributary says so.
	if v.IsSet("transaction.boundary.interval.ms") && boundary != BoundaryInterval {
		add("transaction.boundary.interval.ms", "applies only with transaction.boundary=interval (it is "+boundary+")")
	}
	if e.Support == EOSDisabled {
		for _, name := range []string{"transaction.boundary", "transaction.boundary.interval.ms"} {
			if v.IsSet(name) {
				add(name, "takes effect only with exactly-once delivery, and this worker has exactly.once.source.support=disabled")
			}
		}
	}
	if v.IsSet("offsets.storage.topic") && !e.OffsetsInKafka {
		add("offsets.storage.topic", "this worker keeps source offsets in a file (offset.storage.file.filename); "+
			"a connector's own offsets topic needs offsets in Kafka (the worker property offset.storage.topic, or a distributed worker)")
	}
	return errs
}

// Transactions returns the transactional settings of task of connector c,
// or nil when it runs at least once.
func (e ExactlyOnce) Transactions(c *Connector, task int) *Transactions {
	if !e.Enabled() || c.Plugin.Type != connect.SourcePlugin {
		return nil
	}
	t := &Transactions{
		ID:           kafka.TransactionalID(e.GroupID, c.Name, task),
		Boundary:     c.Values.Lower("transaction.boundary"),
		Interval:     e.FlushInterval,
		OffsetsTopic: e.OffsetsTopic,
	}
	if c.Values.IsSet("transaction.boundary.interval.ms") {
		t.Interval = c.Values.Millis("transaction.boundary.interval.ms")
	}
	if c.Values.IsSet("offsets.storage.topic") {
		t.OwnOffsetsTopic = true
		t.OffsetsTopic = c.Values.String("offsets.storage.topic")
	}
	return t
}

// OpenKafkaOffsets opens an offsets topic in Kafka Connect's format;
// readCommitted skips what aborted transactions wrote (exactly-once).
func OpenKafkaOffsets(ctx context.Context, brokers []string, sc *sarama.Config, topic string, partitions int32, readCommitted bool, log *slog.Logger) (*offsets.Kafka, error) {
	ks, err := offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: brokers, Config: sc, Topic: topic, Partitions: partitions,
		ReadCommitted: readCommitted, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("offsets topic %s: %w", topic, err)
	}
	return ks, nil
}

// PrepareSource fills deps for task of source connector c: its offset
// store (the connector's own offsets.storage.topic in front of the
// worker's) and its producer, transactional under exactly-once delivery.
// The transactional producer is created before the task reads an offset:
// registering its transactional.id fences the task's earlier instances
// and aborts what they left open, so the offsets read are final. The
// returned function closes what PrepareSource opened besides the
// producer, which the caller closes.
func (e ExactlyOnce) PrepareSource(ctx context.Context, c *Connector, task int, brokers []string, sc *sarama.Config, deps *SourceDeps, log *slog.Logger) (func(), error) {
	if log == nil {
		log = slog.Default()
	}
	closeAll := func() {}
	if topic := c.Values.String("offsets.storage.topic"); topic != "" && e.OffsetsInKafka {
		own, err := OpenKafkaOffsets(ctx, brokers, sc, topic, e.OffsetsPartitions, e.Enabled(), log)
		if err != nil {
			return nil, fmt.Errorf("connector %q: %w", c.Name, err)
		}
		closeAll = func() { own.Close() }
		deps.Offsets = offsets.WithFallback(own, deps.Offsets)
	}
	tx := e.Transactions(c, task)
	if tx == nil {
		p, err := kafka.NewProducer(brokers, sc)
		if err != nil {
			closeAll()
			return nil, err
		}
		deps.Producer = p
		return closeAll, nil
	}
	p, err := kafka.NewTransactionalProducer(brokers, sc, tx.ID)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	tx.Producer, tx.Timeout = p, sc.Producer.Transaction.Timeout
	deps.Producer, deps.Transactions = p, tx
	log.Info("exactly-once delivery: records and offsets in Kafka transactions", "connector", c.Name, "task", task,
		"transactional.id", tx.ID, "transaction.boundary", tx.Boundary, "offsets.topic", tx.OffsetsTopic)
	return closeAll, nil
}
