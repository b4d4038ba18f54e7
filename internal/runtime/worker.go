package runtime

import (
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
)

// WorkerDef returns the worker properties Tributary understands: Kafka
// Connect's worker settings plus a few of its own for the embedded broker.
func WorkerDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "bootstrap.servers", Type: config.TypeList, Doc: "Kafka brokers; empty starts the embedded development broker"})
	d.Define(config.Key{Name: "offset.storage.file.filename", Default: "tributary-offsets.json", Doc: "file the source offsets are kept in (Kafka Connect's standalone format); run and standalone only"})
	d.Define(config.Key{Name: "offset.flush.interval.ms", Type: config.TypeLong, Default: "1000", Doc: "how often the offsets of records Kafka has acknowledged are committed"})
	d.Define(config.Key{Name: "offset.flush.timeout.ms", Type: config.TypeLong, Default: "5000", Doc: "how long an offset commit waits for outstanding records to be acknowledged before it is retried at the next interval"})
	d.Define(config.Key{Name: "task.shutdown.graceful.timeout.ms", Type: config.TypeLong, Default: "30000", Doc: "how long a stopping task may take to flush records and commit offsets before it is abandoned"})
	d.Define(config.Key{Name: "key.converter", Type: config.TypeClass, Default: converter.JSONClass, Doc: "converter class for record keys of connectors that set none"})
	d.Define(config.Key{Name: "value.converter", Type: config.TypeClass, Default: converter.JSONClass, Doc: "converter class for record values of connectors that set none"})
	d.Define(config.Key{Name: "header.converter", Type: config.TypeClass, Doc: "converter class for record headers of connectors that set none (SimpleHeaderConverter when empty)"})
	d.Define(config.Key{Name: "client.id", Doc: "client.id of the worker's Kafka clients"})
	// Kafka Connect passes these to each of the worker's clients, and so
	// does Tributary (workerClientProps, docs/kafka-clients.md).
	for _, n := range []string{"client.dns.lookup", "request.timeout.ms", "retry.backoff.ms", "retry.backoff.max.ms",
		"metadata.max.age.ms", "socket.connection.setup.timeout.ms"} {
		d.Define(config.Key{Name: n, Doc: "passed to each of the worker's Kafka clients (docs/kafka-clients.md)"})
	}
	// WorkerConfig/DistributedConfig properties Tributary does not
	// implement: their Kafka default is what it does, any other value is
	// refused with the reason.
	for _, r := range []struct{ name, def, reason string }{
		{"reconnect.backoff.ms", "50", "the worker's clients reconnect on their next request, with retry.backoff.ms between retries"},
		{"reconnect.backoff.max.ms", "1000", "the worker's clients reconnect on their next request, with retry.backoff.ms between retries"},
		{"receive.buffer.bytes", "32768", "the operating system's socket buffer sizes are used"},
		{"send.buffer.bytes", "131072", "the operating system's socket buffer sizes are used"},
		{"socket.connection.setup.timeout.max.ms", "30000", "connection attempts time out after socket.connection.setup.timeout.ms, without exponential growth"},
		{"connections.max.idle.ms", "540000", "the worker's clients do not close idle connections"},
		{"metadata.recovery.strategy", "none", "the clients retry the bootstrap servers they know; there is no rebootstrap"},
		{"metric.reporters", "", "metrics are served in the Prometheus format on metrics.port; Java metrics reporters cannot be loaded"},
		{"metrics.num.samples", "2", "Tributary's metrics are Prometheus counters and gauges, not sampled windows"},
		{"metrics.sample.window.ms", "30000", "Tributary's metrics are Prometheus counters and gauges, not sampled windows"},
		{"metrics.recording.level", "INFO", "Tributary records every metric it has at every level"},
		{"plugin.discovery", "hybrid_warn", "connectors are built into the binary; no plugin path is scanned"},
	} {
		d.Refuse(r.name, r.def, r.reason)
	}
	// Typed as Kafka's client configs type them, so that they are hidden
	// in validation errors and logs; the producer.*, consumer.* and
	// admin.* forms are hidden by name.
	for _, n := range []string{"ssl.key.password", "ssl.keystore.password", "ssl.truststore.password", "ssl.keystore.key",
		"sasl.jaas.config", "sasl.password"} {
		d.Define(config.Key{Name: n, Type: config.TypePassword, Doc: "the Kafka client setting of that name, given to each of the worker's clients; hidden in logs and errors"})
	}
	d.Define(config.Key{Name: "plugin.path", Doc: "accepted for compatibility; connectors are built in"})
	d.Define(config.Key{Name: "listeners", Doc: "REST API listeners, e.g. http://0.0.0.0:8083 or https://:8443; serves the Kafka Connect REST API, /metrics and the /ui console"})
	d.Define(config.Key{Name: "rest.port", Type: config.TypeInt, Doc: "REST API port when listeners is not set (deprecated in Kafka Connect in favour of listeners)"})
	d.Define(config.Key{Name: "rest.advertised.host.name", Doc: "host name other workers use to reach this worker's REST API (request forwarding)"})
	d.Define(config.Key{Name: "group.id", Doc: "distributed mode: the cluster's group; workers with the same group.id share connectors and tasks"})
	d.Define(config.Key{Name: "config.storage.topic", Doc: "distributed mode: compacted topic holding connector configurations (one partition)"})
	d.Define(config.Key{Name: "offset.storage.topic", Doc: "offsets in this Kafka topic (Kafka Connect's format) instead of offset.storage.file.filename; required by exactly.once.source.support=enabled"})
	d.Define(config.Key{Name: "exactly.once.source.support", Default: EOSDisabled, OneOf: []string{EOSDisabled, EOSPreparing, EOSEnabled},
		Doc: "enabled: source tasks write records and offsets in Kafka transactions (KIP-618); needs offsets in Kafka"})
	d.Define(config.Key{Name: "status.storage.topic", Doc: "distributed mode: compacted topic holding connector and task statuses"})
	d.Define(config.Key{Name: "config.storage.replication.factor", Type: config.TypeInt, Doc: "replication factor of config.storage.topic when the worker creates it"})
	d.Define(config.Key{Name: "offset.storage.replication.factor", Type: config.TypeInt, Doc: "replication factor of offset.storage.topic when the worker creates it"})
	d.Define(config.Key{Name: "status.storage.replication.factor", Type: config.TypeInt, Doc: "replication factor of status.storage.topic when the worker creates it"})
	d.Define(config.Key{Name: "offset.storage.partitions", Type: config.TypeInt, Doc: "partitions of offset.storage.topic when the worker creates it (Kafka Connect's default 25)"})
	d.Define(config.Key{Name: "status.storage.partitions", Type: config.TypeInt, Doc: "partitions of status.storage.topic when the worker creates it (Kafka Connect's default 5)"})
	d.Define(config.Key{Name: "scheduled.rebalance.max.delay.ms", Type: config.TypeInt, Default: "300000", Doc: "distributed mode: how long the tasks of a departed worker wait for it to return before they are reassigned (incremental cooperative rebalancing)"})
	d.Define(config.Key{Name: "embedded.broker.port", Type: config.TypeInt, Default: "0", Doc: "the embedded broker's port on 127.0.0.1; 0 picks a free one (tributary run --broker-port)"})
	d.Define(config.Key{Name: "embedded.broker.data.dir", Doc: "where the embedded broker (started without bootstrap.servers) keeps its topics; default tributary-broker/ beside offset.storage.file.filename, so that events persist with the offsets; empty keeps them in memory"})
	d.Define(config.Key{Name: "embedded.registry.port", Type: config.TypeInt, Doc: "serve a Confluent-compatible schema registry inside the worker on this port of 127.0.0.1"})
	d.Define(config.Key{Name: "metrics.port", Type: config.TypeInt, Doc: "serve /metrics, /healthz and /readyz on this port (also on the REST listeners)"})
	d.Define(config.Key{Name: "topic.creation.enable", Type: config.TypeBoolean, Default: "true", Doc: "let source connectors create their topics with their topic.creation.* settings (KIP-158)"})
	d.AllowPrefix("key.converter.", "value.converter.", "header.converter.", "producer.", "consumer.", "admin.",
		"security.", "ssl.", "sasl.", "config.providers")
	return d
}

// WorkerSaramaConfig builds the Kafka client configuration of a worker:
// its producer.*, consumer.* and admin.* settings, each with the worker's
// top-level client settings (security.protocol, sasl.*, ssl.*,
// client.id...) as defaults, as Kafka Connect gives those to every client.
func WorkerSaramaConfig(wv *config.Values, brokers []string) (*sarama.Config, error) {
	return ClientSaramaConfig(wv.Raw(), nil, brokers)
}

// ClientSaramaConfig is WorkerSaramaConfig with a connector's
// producer.override.*, consumer.override.* and admin.override.* settings
// on top (Kafka Connect's connector.client.config.override.policy=All, its
// default since Kafka 3.0).
func ClientSaramaConfig(worker, connector map[string]string, brokers []string) (*sarama.Config, error) {
	cc := kafka.ClientConfig{Brokers: brokers, ClientID: worker["client.id"]}
	for _, side := range []struct {
		prefix string
		dst    *map[string]string
	}{{"producer.", &cc.Props}, {"consumer.", &cc.Consumer}, {"admin.", &cc.Admin}} {
		props := prefixed(worker, side.prefix)
		for k, v := range worker {
			if workerClientProps[k] || strings.HasPrefix(k, "ssl.") || strings.HasPrefix(k, "sasl.") || strings.HasPrefix(k, "security.") {
				if _, set := props[k]; !set {
					props[k] = v
				}
			}
		}
		for k, v := range prefixed(connector, strings.TrimSuffix(side.prefix, ".")+".override.") {
			props[k] = v
		}
		*side.dst = props
	}
	// Read by the sink runner, not client settings (a worker's own
	// consumer.group.id stays refused: Kafka Connect overwrites it).
	delete(cc.Consumer, "max.poll.records")
	if _, ok := connector["consumer.override.group.id"]; ok {
		delete(cc.Consumer, "group.id")
	}
	sc, err := cc.SaramaConfig()
	if err != nil {
		if connector != nil {
			return nil, fmt.Errorf("client overrides: %w", err)
		}
		return nil, fmt.Errorf("worker: %w", err)
	}
	return sc, nil
}

// ConnectorSaramaConfig returns the client configuration of connector c:
// the worker's (sc) unless c has client overrides.
func ConnectorSaramaConfig(sc *sarama.Config, worker map[string]string, c *Connector, brokers []string) (*sarama.Config, error) {
	for k := range c.Values.Raw() {
		if strings.HasPrefix(k, "producer.override.") || strings.HasPrefix(k, "consumer.override.") || strings.HasPrefix(k, "admin.override.") {
			csc, err := ClientSaramaConfig(worker, c.Values.Raw(), brokers)
			if err != nil {
				return nil, fmt.Errorf("connector %q: %w", c.Name, err)
			}
			return csc, nil
		}
	}
	return sc, nil
}

// workerClientProps are the worker's top-level settings Kafka Connect
// passes to each of its clients, besides every security.*, ssl.* and
// sasl.* one.
var workerClientProps = map[string]bool{
	"client.dns.lookup": true, "request.timeout.ms": true,
	"retry.backoff.ms": true, "retry.backoff.max.ms": true, "metadata.max.age.ms": true,
	"socket.connection.setup.timeout.ms": true, "client.id": true,
}
