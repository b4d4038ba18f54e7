package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/transforms"
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

// Standalone runs connectors in one process with file offsets, like
// Kafka Connect's connect-standalone.
type Standalone struct {
	Plugins    connect.Plugins
	Converters *converter.Factory
	Transforms transforms.Registry
	Logger     *slog.Logger
	// Offsets overrides the file store (tests).
	Offsets offsets.Store
	// OnStarted is called with the bootstrap servers once Kafka is
	// reachable (the demo uses it to read events back).
	OnStarted func(brokers []string)
	// OnEmbeddedBroker is called when the worker started the embedded
	// broker (no bootstrap.servers), with its addresses and data
	// directory ("" in memory); `run` prints them.
	OnEmbeddedBroker func(addrs []string, dataDir string)

	mu      sync.Mutex
	sources map[string]*Source
}

// Run validates every connector, connects to Kafka (or starts the
// embedded broker), then runs the connectors until ctx ends. It returns
// the joined errors of connectors that failed.
func (w *Standalone) Run(ctx context.Context, file *config.File) error {
	log := w.Logger
	if log == nil {
		log = slog.Default()
	}
	wv, err := WorkerDef().Parse(file.Worker)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if len(file.Connectors) == 0 {
		return errors.New("no connectors configured")
	}
	var conns []*Connector
	for _, c := range file.Connectors {
		pc, err := ParseConnector(w.Plugins, c)
		if err != nil {
			return err
		}
		conns = append(conns, pc)
	}
	if err := CheckConflicts(conns); err != nil {
		return err
	}
	eos, err := WorkerExactlyOnce(wv, w.Offsets == nil && wv.String("offset.storage.topic") != "")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	for _, c := range conns {
		if errs := eos.Check(c); len(errs) > 0 {
			return fmt.Errorf("connector %q: %w", c.Name, errs)
		}
	}
	brokers := wv.List("bootstrap.servers")
	if len(brokers) == 0 {
		offsetsFile := ""
		if w.Offsets == nil && !eos.OffsetsInKafka {
			offsetsFile = wv.String("offset.storage.file.filename")
		}
		emb, dir, err := StartWorkerBroker(wv, offsetsFile, log)
		if err != nil {
			return err
		}
		defer emb.Close()
		brokers = emb.Addrs()
		if w.OnEmbeddedBroker != nil {
			w.OnEmbeddedBroker(brokers, dir)
		}
	}
	sc, err := WorkerSaramaConfig(wv, brokers)
	if err != nil {
		return err
	}
	store := w.Offsets
	switch {
	case store != nil:
	case eos.OffsetsInKafka:
		ks, err := OpenKafkaOffsets(ctx, brokers, sc, eos.OffsetsTopic, eos.OffsetsPartitions, eos.Enabled(), log)
		if err != nil {
			return err
		}
		defer ks.Close()
		store = ks
	default:
		fs, err := offsets.OpenFile(wv.String("offset.storage.file.filename"))
		if err != nil {
			return err
		}
		store = fs
	}
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		return err
	}
	defer raw.Close()
	if w.OnStarted != nil {
		w.OnStarted(brokers)
	}
	log.Info("worker started", "bootstrap.servers", strings.Join(brokers, ","), "connectors", len(conns))

	var wg sync.WaitGroup
	errs := make([]error, len(conns))
	// running counts connectors still running. A failure is logged when
	// others keep running (it would otherwise surface only when they
	// stop); the last one's is not: Run returns it and main prints it,
	// and the same error twice read as two failures.
	var running atomic.Int32
	running.Store(int32(len(conns)))
	for i, c := range conns {
		// The connector, its converters and drivers log and fail through
		// these: hide its secrets whatever they print.
		scrub := c.Values.Scrubber()
		run, err := w.prepare(ctx, c, brokers, sc, raw, store, eos, file.Worker, wv, scrub.Logger(log))
		if err != nil {
			return scrub.Error(err)
		}
		wg.Add(1)
		go func(i int, c *Connector) {
			defer wg.Done()
			log.Info("connector starting", "connector", c.Name, "class", c.Plugin.Class, "type", c.Plugin.Type)
			errs[i] = scrub.Error(run(ctx))
			if running.Add(-1) > 0 && errs[i] != nil {
				log.Error("connector failed; the others keep running", "connector", c.Name, "error", errs[i])
				errs[i] = &loggedError{connector: c.Name, err: errs[i]}
			}
		}(i, c)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// loggedError is a connector's failure already logged in full when it
// happened: Run's caller prints the error it returns, so it says where
// to look instead of repeating it.
type loggedError struct {
	connector string
	err       error
}

func (e *loggedError) Error() string {
	return "connector " + e.connector + " failed (its error is logged above)"
}

func (e *loggedError) Unwrap() error { return e.err }

// prepare builds a connector's task and returns the function that runs it
// until ctx ends.
func (w *Standalone) prepare(ctx context.Context, c *Connector, brokers []string, sc *sarama.Config, raw *kafka.Raw,
	store offsets.Store, eos ExactlyOnce, worker map[string]string, wv *config.Values, log *slog.Logger) (func(context.Context) error, error) {
	sc, err := ConnectorSaramaConfig(sc, worker, c, brokers)
	if err != nil {
		return nil, err
	}
	if c.Plugin.Type == connect.SinkPlugin {
		return w.prepareSink(ctx, c, brokers, sc, worker, log)
	}
	deps := SourceDeps{Raw: raw, Converters: w.Converters, Transforms: w.Transforms, Offsets: store, Worker: worker, Logger: log}
	closeDeps, err := eos.PrepareSource(ctx, c, 0, brokers, sc, &deps, log)
	if err != nil {
		return nil, err
	}
	producer := deps.Producer
	src, err := NewSource(ctx, c, deps)
	if err != nil {
		producer.Close()
		closeDeps()
		return nil, err
	}
	src.ShutdownTimeout = wv.Millis("task.shutdown.graceful.timeout.ms")
	w.mu.Lock()
	if w.sources == nil {
		w.sources = map[string]*Source{}
	}
	w.sources[c.Name] = src
	w.mu.Unlock()
	return func(ctx context.Context) error {
		defer closeDeps()
		err := src.Run(ctx)
		if cerr := producer.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("connector %s: closing producer: %w", src.Name, cerr)
		}
		return err
	}, nil
}

func (w *Standalone) prepareSink(ctx context.Context, c *Connector, brokers []string, sc *sarama.Config, worker map[string]string, log *slog.Logger) (func(context.Context) error, error) {
	if c.Plugin.NewSinkTask == nil {
		return nil, fmt.Errorf("connector %q: %s is not a sink connector", c.Name, c.Plugin.Class)
	}
	kc, vc, err := Converters(w.Converters, c, worker)
	if err != nil {
		return nil, err
	}
	chain, err := w.Transforms.Build(c.Values)
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	logger := log.With("connector", c.Name, "task", 0)
	WarnDeprecated(logger, c.Values)
	task, err := c.Plugin.NewSinkTask(ctx, c.Values, connect.TaskContext{ConnectorName: c.Name, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("connector %q: %w", c.Name, err)
	}
	return func(ctx context.Context) error {
		defer task.Close()
		return sinkrunner.Run(ctx, sinkrunner.Config{
			Brokers: brokers, SaramaConfig: sc, ConnectorName: c.Name, Props: c.Values, Task: task,
			TaskClass: c.Plugin.Class, KeyConverter: kc, ValueConverter: vc,
			KeyConverterClass: converterClass(c, worker, "key.converter"), ValueConverterClass: converterClass(c, worker, "value.converter"),
			Transforms: chain, Logger: logger,
		})
	}, nil
}

func converterClass(c *Connector, worker map[string]string, side string) string {
	if v := c.Values.String(side); v != "" {
		return v
	}
	if v := worker[side]; v != "" {
		return v
	}
	return converter.JSONClass
}

// SourceStats returns the counters of a running source connector.
func (w *Standalone) SourceStats(name string) (*Stats, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.sources[name]
	if !ok {
		return nil, false
	}
	return s.Stats, true
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
