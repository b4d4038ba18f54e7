package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/transforms"
)

// ConnectorDef returns the runtime-owned connector properties of Kafka
// Connect's ConnectorConfig / SourceConnectorConfig / SinkConnectorConfig.
func ConnectorDef(t connect.PluginType) *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "connector.class", Required: true, Importance: config.High, Doc: "connector class or alias"})
	d.Define(config.Key{Name: "name", Doc: "connector name"})
	d.Define(config.Key{Name: "tasks.max", Type: config.TypeInt, Default: "1", Doc: "maximum number of tasks the connector runs (Debezium's connectors run one)"})
	d.Refuse("tasks.max.enforce", "true", "Tributary's connectors never create more tasks than tasks.max")
	d.Define(config.Key{Name: "key.converter", Type: config.TypeClass, Doc: "converter class for record keys, with its settings under key.converter.*; the worker's key.converter when not set"})
	d.Define(config.Key{Name: "value.converter", Type: config.TypeClass, Doc: "converter class for record values, with its settings under value.converter.*; the worker's value.converter when not set"})
	d.Define(config.Key{Name: "header.converter", Type: config.TypeClass, Doc: "converter class for record headers, with its settings under header.converter.*; the worker's when not set"})
	d.Define(config.Key{Name: "config.action.reload", Default: "restart", OneOf: []string{"none", "restart"}, Doc: "restart the connector when a config provider reports that a value it gave expired (restart), or not (none); as in Kafka Connect this only matters for providers that give values a time to live, and the env and file providers Tributary has give none, so both behave alike: values are read when the connector starts"})
	d.Define(config.Key{Name: "errors.tolerance", Default: "none", OneOf: []string{"none", "all"}, Doc: "none: a record that fails conversion or a transform fails the task; all: it is skipped (logged with errors.log.enable, and for sinks sent to errors.deadletterqueue.topic.name)"})
	d.Define(config.Key{Name: "errors.retry.timeout", Type: config.TypeLong, Default: "0", Doc: "how long a conversion or transformation failing for a passing reason (schema registry unreachable or answering 5xx, a lost connection) is retried before errors.tolerance applies, in ms: 0 no retries, -1 as long as the task runs (Kafka Connect's RetryWithToleranceOperator)"})
	d.Define(config.Key{Name: "errors.retry.delay.max.ms", Type: config.TypeLong, Default: "60000", Doc: "longest pause between those retries, in ms; the pause starts at 300 ms and doubles"})
	d.Define(config.Key{Name: "errors.log.enable", Type: config.TypeBoolean, Default: "false", Doc: "log each record skipped under errors.tolerance=all"})
	d.Define(config.Key{Name: "errors.log.include.messages", Type: config.TypeBoolean, Default: "false", Doc: "include the record's topic, partition, offset and content in that log line"})
	if t == connect.SourcePlugin {
		defineExactlyOnce(d)
	}
	if t == connect.SinkPlugin {
		d.Define(config.Key{Name: "topics", Type: config.TypeList, Doc: "sink connectors: topics to consume (or topics.regex)"})
		d.Define(config.Key{Name: "topics.regex", Doc: "sink connectors: regular expression of topics to consume (or topics)"})
		d.Define(config.Key{Name: "errors.deadletterqueue.topic.name", Doc: "sink connectors: topic records that failed under errors.tolerance=all are written to; empty: none"})
		d.Define(config.Key{Name: "errors.deadletterqueue.topic.replication.factor", Type: config.TypeInt, Default: "3", Doc: "replication factor of the dead letter queue topic when it is created"})
		d.Define(config.Key{Name: "errors.deadletterqueue.context.headers.enable", Type: config.TypeBoolean, Default: "false", Doc: "add Kafka Connect's __connect.errors.* headers (topic, partition, offset, exception) to dead letter queue records"})
	}
	if t == connect.SinkPlugin {
		d.Merge(sinkrunner.Def())
	}
	d.Merge(transforms.Def())
	d.AllowPrefix("key.converter.", "value.converter.", "header.converter.", "topic.creation.", "producer.override.", "consumer.override.", "admin.override.")
	return d
}

// Connector is a parsed, validated connector configuration.
type Connector struct {
	Name   string
	Plugin *connect.Plugin
	Values *config.Values
}

// ParseConnector resolves the plugin and validates every property, the
// runtime's and the connector's, reporting all problems at once.
func ParseConnector(plugins connect.Plugins, c config.Connector) (*Connector, error) {
	class := strings.TrimSpace(c.Config["connector.class"])
	if class == "" {
		return nil, fmt.Errorf("connector %q: %w", c.Name, config.Errors{{Name: "connector.class", Message: "missing required property"}})
	}
	p, ok := plugins.Lookup(class)
	if !ok {
		known := make([]string, 0, len(plugins))
		for _, pl := range plugins {
			known = append(known, pl.Class)
		}
		return nil, fmt.Errorf("connector %q: %w", c.Name, config.Errors{{Name: "connector.class", Value: class,
			Message: "unknown connector class; known: " + strings.Join(known, ", ")}})
	}
	def := ConnectorDef(p.Type).Merge(p.Config())
	vals, err := def.Parse(c.Config)
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	if errs := checkClientOverrides(vals.Raw(), p.Type); len(errs) > 0 {
		return nil, fmt.Errorf("connector %q: %w", c.Name, errs)
	}
	return &Connector{Name: c.Name, Plugin: p, Values: vals}, nil
}

// checkClientOverrides checks each producer.override.*,
// consumer.override.* and admin.override.* property on its own, so that
// validation names every one that would be refused.
func checkClientOverrides(raw map[string]string, t connect.PluginType) config.Errors {
	var errs config.Errors
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, kind := range []string{"producer", "consumer", "admin"} {
			name, ok := strings.CutPrefix(k, kind+".override.")
			if !ok {
				continue
			}
			if t == connect.SinkPlugin && k == "consumer.override.group.id" {
				// the sink runner's consumer group, not a client setting
				if strings.TrimSpace(raw[k]) == "" {
					errs = append(errs, config.FieldError{Name: k, Message: "must not be empty"})
				}
				continue
			}
			if err := kafka.CheckClientProp(kind, name, raw[k]); err != nil {
				errs = append(errs, config.FieldError{Name: k, Message: err.Error()})
			}
		}
	}
	return errs
}

// WarnDeprecated logs one warning per deprecated property name the
// configuration used, as Debezium's Field.withDeprecatedAliases does.
func WarnDeprecated(log *slog.Logger, v *config.Values) {
	for _, d := range v.Deprecations() {
		log.Warn("deprecated property: " + d)
	}
}

// Converters builds the key and value converters of a connector, falling
// back to the worker's key.converter/value.converter (Kafka Connect's
// precedence) and to JsonConverter with schemas when neither is set.
func Converters(f *converter.Factory, c *Connector, worker map[string]string) (key, value converter.Converter, err error) {
	build := func(side string, isKey bool) (converter.Converter, error) {
		class := c.Values.String(side)
		props := c.Values.WithPrefix(side + ".")
		if class == "" {
			class = worker[side]
			props = prefixed(worker, side+".")
		}
		if class == "" {
			class = converter.JSONClass
		}
		conv, err := f.New(class, props, isKey)
		if err != nil {
			return nil, fmt.Errorf("connector %q: %s: %w", c.Name, side, err)
		}
		return conv, nil
	}
	if key, err = build("key.converter", true); err != nil {
		return nil, nil, err
	}
	if value, err = build("value.converter", false); err != nil {
		return nil, nil, err
	}
	return key, value, nil
}

func prefixed(m map[string]string, p string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasPrefix(k, p) {
			out[strings.TrimPrefix(k, p)] = v
		}
	}
	return out
}

// SourceDeps are the shared services a source connector runs against.
type SourceDeps struct {
	Producer   *kafka.Producer
	Raw        *kafka.Raw
	Converters *converter.Factory
	Transforms transforms.Registry
	Offsets    offsets.Store
	Worker     map[string]string
	Logger     *slog.Logger
	// TaskID and TaskCount place the task among the connector's tasks
	// (connect.TaskContext); zero values: the one task.
	TaskID, TaskCount int
	// Transactions makes the source deliver exactly once; Producer is then
	// its transactional producer (ExactlyOnce.PrepareSource).
	Transactions *Transactions
}

// NewSource builds the runnable source for a parsed connector: converters,
// transforms, topic creation and the task itself.
func NewSource(ctx context.Context, c *Connector, deps SourceDeps) (*Source, error) {
	if c.Plugin.Type != connect.SourcePlugin || c.Plugin.NewSourceTask == nil {
		return nil, fmt.Errorf("connector %q: %s is not a source connector", c.Name, c.Plugin.Class)
	}
	kc, vc, err := Converters(deps.Converters, c, deps.Worker)
	if err != nil {
		return nil, err
	}
	chain, err := deps.Transforms.Build(c.Values)
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	groups, err := kafka.TopicCreationFromProps(c.Values.WithPrefix("topic.creation."))
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	tc, err := kafka.NewTopicCreator(deps.Producer.Client(), groups)
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("connector", c.Name, "task", deps.TaskID)
	WarnDeprecated(logger, c.Values)
	task, err := c.Plugin.NewSourceTask(ctx, c.Values, connect.TaskContext{
		ConnectorName: c.Name,
		TaskID:        deps.TaskID,
		TaskCount:     max(deps.TaskCount, 1),
		Offsets:       OffsetReader{Store: deps.Offsets, Connector: c.Name},
		Logger:        logger,
		Producer:      deps.Raw,
	})
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	flush := 1000
	if v, ok := deps.Worker["offset.flush.interval.ms"]; ok {
		if _, err := fmt.Sscan(v, &flush); err != nil || flush <= 0 {
			return nil, fmt.Errorf("offset.flush.interval.ms=%q: not a positive integer", v)
		}
	}
	// Debezium connectors restart themselves after retriable errors
	// (errors.max.retries, retriable.restart.connector.wait.ms); other
	// connectors fail and are restarted by the worker, as in Kafka Connect.
	retries, retryWait := 0, time.Duration(0)
	if c.Values.Defines("errors.max.retries") {
		retries = int(c.Values.Int("errors.max.retries"))
		retryWait = c.Values.Millis("retriable.restart.connector.wait.ms")
	}
	return &Source{
		MaxRetries: retries, RetryWait: retryWait,
		Name: c.Name, Task: task, Producer: deps.Producer, Topics: tc, Offsets: deps.Offsets,
		KeyConverter: kc, ValueConverter: vc, Transforms: chain,
		MaxInFlight:  maxQueueSize(c.Values),
		ToleranceAll: c.Values.Lower("errors.tolerance") == "all",
		Retry: connect.RetryPolicy{Timeout: time.Duration(c.Values.Int("errors.retry.timeout")) * time.Millisecond,
			MaxDelay: c.Values.Millis("errors.retry.delay.max.ms")},
		FlushInterval: time.Duration(flush) * time.Millisecond,
		Logger:        logger,
		Stats:         &Stats{},
		Transactions:  deps.Transactions,
	}, nil
}

// maxQueueSize is a Debezium connector's max.queue.size when set: the
// bound of records between the connector and Kafka (Debezium's
// ChangeEventQueue), which in Tributary bounds the records handed to Kafka
// and not yet acknowledged. 0 (unset) keeps the runtime's default.
func maxQueueSize(v *config.Values) int {
	if !v.Defines("max.queue.size") || !v.IsSet("max.queue.size") {
		return 0
	}
	return int(v.Int("max.queue.size"))
}
