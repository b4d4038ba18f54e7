package signal

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect/config"
)

// Channel names accepted in signal.enabled.channels.
const (
	ChannelSource = "source"
	ChannelKafka  = "kafka"
	ChannelFile   = "file"
)

// Watermarking strategies (incremental.snapshot.watermarking.strategy).
const (
	InsertInsert = "insert_insert"
	InsertDelete = "insert_delete"
)

// Config is the parsed signal.* and incremental.snapshot.* properties.
type Config struct {
	// DataCollection is signal.data.collection, the signal table
	// ("schema.table" or "database.table"); "" when not set.
	DataCollection string
	Channels       map[string]bool
	PollInterval   time.Duration
	// EmitRetries is how often writing a watermark is retried (-1: for
	// ever); EmitBackoff the pause between attempts.
	EmitRetries  int
	EmitBackoff  time.Duration
	ChunkSize    int
	Watermarking string

	KafkaTopic       string
	KafkaBrokers     []string
	KafkaGroupID     string
	KafkaPollTimeout time.Duration
	// KafkaProps are the signal.consumer.* client settings Tributary
	// applies (security and client id).
	KafkaProps map[string]string

	File string
}

// Enabled reports whether channel is in signal.enabled.channels.
func (c *Config) Enabled(channel string) bool { return c.Channels[channel] }

// SourceSignals reports whether signals arrive through the signal table.
func (c *Config) SourceSignals() bool { return c.DataCollection != "" && c.Channels[ChannelSource] }

// Define adds the supported properties to d with Debezium's defaults.
func Define(d *config.Def) {
	d.Define(config.Key{Name: "signal.data.collection", Doc: "the signal table, <schema>.<table> (PostgreSQL) or <database>.<table> (MySQL); signals and incremental snapshot watermarks are written to it"})
	d.Define(config.Key{Name: "signal.enabled.channels", Type: config.TypeList, Default: ChannelSource,
		Doc: "channels signals are read from: source (the signal table), kafka (signal.kafka.topic), file (signal.file)"})
	d.Define(config.Key{Name: "signal.poll.interval.ms", Type: config.TypeLong, Default: "5000", Validate: positive,
		Doc: "how often the kafka and file channels are read"})
	d.Define(config.Key{Name: "signal.emit.failure.max.retries", Type: config.TypeInt, Default: "0", Validate: atLeast(-1),
		Doc: "retries after a failed watermark write (-1: no limit)"})
	d.Define(config.Key{Name: "signal.emit.failure.backoff.ms", Doc: "pause before writing an incremental snapshot watermark again after a failed write", Type: config.TypeLong, Default: "10000", Validate: positive})
	d.Define(config.Key{Name: "signal.kafka.topic", Doc: "topic of the kafka signal channel; default <topic.prefix>-signal"})
	d.Define(config.Key{Name: "signal.kafka.bootstrap.servers", Doc: "Kafka brokers of the kafka signal channel"})
	d.Define(config.Key{Name: "signal.kafka.groupId", Default: "kafka-signal", Doc: "consumer group whose committed offset marks the signals consumed"})
	d.Define(config.Key{Name: "signal.kafka.poll.timeout.ms", Type: config.TypeInt, Default: "0", Validate: atLeast(0),
		Doc: "how long one read of the kafka signal channel waits for a signal"})
	d.Define(config.Key{Name: "signal.file", Default: "file-signals.txt", Doc: "file of the file signal channel, one JSON signal per line; the file is emptied once read"})
	d.Define(config.Key{Name: "incremental.snapshot.chunk.size", Type: config.TypeInt, Default: "1024", Validate: positive,
		Doc: "rows read per incremental snapshot chunk"})
	d.Define(config.Key{Name: "incremental.snapshot.watermarking.strategy", Default: InsertInsert, OneOf: []string{InsertInsert, InsertDelete},
		Doc: "insert_insert writes an open and a close row per chunk to the signal table; insert_delete writes the open row and deletes it to close"})
	d.Define(config.Key{Name: "incremental.snapshot.allow.schema.changes", Type: config.TypeBoolean, Default: "false",
		Doc: "only false is supported: a chunk is read with the table's structure as the catalog has it when the chunk is read"})
	d.Define(config.Key{Name: "notification.enabled.channels", Type: config.TypeList,
		Doc: "only empty is supported: Tributary logs snapshot progress instead of sending Debezium notifications"})
}

func positive(v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("must be a positive integer")
	}
	return nil
}

func atLeast(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < min {
			return fmt.Errorf("must be an integer of at least %d", min)
		}
		return nil
	}
}

// consumerProps are the signal.consumer.* Kafka client properties the
// kafka channel applies (kafka.ClientConfig understands them).
var consumerProps = map[string]bool{
	"security.protocol": true, "sasl.mechanism": true, "sasl.username": true, "sasl.password": true,
	"ssl.truststore.location": true, "ssl.keystore.location": true, "ssl.key.location": true, "client.id": true,
}

// rejected explains the properties of the signal, incremental snapshot,
// notification and driver families that are not implemented. Anything in
// these families that Define does not define is refused at parse time,
// never accepted without effect.
func rejected(name string) string {
	switch {
	case strings.HasPrefix(name, "signal.consumer."):
		return "only these Kafka consumer settings apply to the kafka signal channel: " + strings.Join(sortedKeys(consumerProps), ", ")
	case strings.HasPrefix(name, "notification."):
		return "Debezium notifications (sink, log, jmx channels) are not implemented; incremental and blocking snapshot progress is logged"
	case strings.HasPrefix(name, "driver."):
		return "Tributary does not use a JDBC driver, so JDBC driver properties have no meaning; use the database.* connection properties"
	case name == "incremental.snapshot.option.recompile":
		return "it is a SQL Server option"
	case strings.HasPrefix(name, "signal.kafka."), strings.HasPrefix(name, "signal."):
		return "it is not a Debezium signal property Tributary implements"
	}
	return "it is not an incremental snapshot property Tributary implements"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Parse reads the properties Define added, checks them and rejects every
// other property of the signal./incremental.snapshot./notification./driver.
// families. topicPrefix is topic.prefix: the default kafka signal topic is
// <topic.prefix>-signal and Kafka signals must be keyed by it.
func Parse(v *config.Values, topicPrefix string) (*Config, error) {
	var problems []string
	raw := v.Raw()
	names := make([]string, 0, len(raw))
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	c := &Config{Channels: map[string]bool{}, KafkaProps: map[string]string{}}
	for _, k := range names {
		if !(strings.HasPrefix(k, "signal.") || strings.HasPrefix(k, "incremental.snapshot.") ||
			strings.HasPrefix(k, "notification.") || strings.HasPrefix(k, "driver.")) {
			continue
		}
		if strings.HasPrefix(k, "signal.consumer.") && consumerProps[strings.TrimPrefix(k, "signal.consumer.")] {
			c.KafkaProps[strings.TrimPrefix(k, "signal.consumer.")] = raw[k]
			continue
		}
		if !v.Defines(k) {
			problems = append(problems, fmt.Sprintf("%s: not supported because %s", k, rejected(k)))
		}
	}
	c.DataCollection = v.String("signal.data.collection")
	if c.DataCollection != "" {
		if strings.Contains(c.DataCollection, ",") {
			problems = append(problems, "signal.data.collection: not supported because a single-task connector has one signal table (Debezium accepts several only for multi-partition connectors)")
		} else if parts := strings.Split(c.DataCollection, "."); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			problems = append(problems, fmt.Sprintf("signal.data.collection: %q must be a fully qualified table name with two parts, <schema or database>.<table>", c.DataCollection))
		}
	}
	for _, ch := range v.List("signal.enabled.channels") {
		switch ch = strings.ToLower(strings.TrimSpace(ch)); ch {
		case ChannelSource, ChannelKafka, ChannelFile:
			c.Channels[ch] = true
		case "jmx":
			problems = append(problems, "signal.enabled.channels: jmx not supported because Tributary has no JMX; use the kafka or file channel or the REST API")
		case "in-process":
			problems = append(problems, "signal.enabled.channels: in-process not supported because it is Debezium Engine's Java API")
		default:
			problems = append(problems, fmt.Sprintf("signal.enabled.channels: unknown channel %q (source, kafka, file)", ch))
		}
	}
	c.PollInterval = v.Millis("signal.poll.interval.ms")
	c.EmitRetries = int(v.Int("signal.emit.failure.max.retries"))
	c.EmitBackoff = v.Millis("signal.emit.failure.backoff.ms")
	c.ChunkSize = int(v.Int("incremental.snapshot.chunk.size"))
	c.Watermarking = v.Lower("incremental.snapshot.watermarking.strategy")
	if v.Bool("incremental.snapshot.allow.schema.changes") {
		problems = append(problems, "incremental.snapshot.allow.schema.changes: true not supported because Tributary does not verify a table's structure between chunks; each chunk is read with the structure the catalog has when it is read")
	}
	if len(v.List("notification.enabled.channels")) > 0 {
		problems = append(problems, "notification.enabled.channels: not supported because "+rejected("notification."))
	}
	c.KafkaTopic = v.String("signal.kafka.topic")
	if c.KafkaTopic == "" {
		c.KafkaTopic = topicPrefix + "-signal"
	}
	for _, b := range v.List("signal.kafka.bootstrap.servers") {
		if b = strings.TrimSpace(b); b != "" {
			c.KafkaBrokers = append(c.KafkaBrokers, b)
		}
	}
	c.KafkaGroupID = v.String("signal.kafka.groupId")
	c.KafkaPollTimeout = v.Millis("signal.kafka.poll.timeout.ms")
	c.File = v.String("signal.file")
	if c.Channels[ChannelKafka] && len(c.KafkaBrokers) == 0 {
		problems = append(problems, "signal.kafka.bootstrap.servers: required when signal.enabled.channels includes kafka")
	}
	if !c.Channels[ChannelKafka] {
		for _, k := range names {
			if strings.HasPrefix(k, "signal.kafka.") || strings.HasPrefix(k, "signal.consumer.") {
				problems = append(problems, fmt.Sprintf("%s: has no effect because signal.enabled.channels does not include kafka", k))
			}
		}
	}
	if !c.Channels[ChannelFile] && v.IsSet("signal.file") {
		problems = append(problems, "signal.file: has no effect because signal.enabled.channels does not include file")
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return c, nil
}
