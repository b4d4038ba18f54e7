package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/console"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/metrics"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/rest"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/transforms"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
)

// workerDef is the worker properties of the standalone and distributed
// workers: the runtime's plus Kafka Connect's group, REST and status
// settings.
func workerDef() *config.Def {
	d := runtime.WorkerDef()
	def := func(name string, t config.Type, dflt, doc string) {
		d.Define(config.Key{Name: name, Type: t, Default: dflt, Doc: doc})
	}
	def("session.timeout.ms", config.TypeInt, "10000", "group session timeout")
	def("heartbeat.interval.ms", config.TypeInt, "3000", "group heartbeat interval")
	def("rebalance.timeout.ms", config.TypeInt, "60000", "how long the group waits for every worker to rejoin")
	def("rest.host.name", config.TypeString, "", "deprecated: host of the REST listener (use listeners)")
	def("rest.advertised.port", config.TypeInt, "", "port other workers reach this one at")
	def("rest.advertised.listener", config.TypeString, "", "http or https: which listener to advertise")
	def("rest.auth.basic.file", config.TypeString, "", "require HTTP Basic auth; file of \"user: password\" lines")
	def("topic.tracking.enable", config.TypeBoolean, "true", "record the topics connectors use (GET /connectors/{name}/topics)")
	def("topic.tracking.allow.reset", config.TypeBoolean, "true", "allow PUT /connectors/{name}/topics/reset")
	def("task.restart.backoff.ms", config.TypeLong, "1000", "first pause before restarting a failed task")
	def("task.restart.backoff.max.ms", config.TypeLong, "60000", "longest pause between restarts of a failed task")
	d.Define(config.Key{Name: "connect.protocol", Default: "sessioned",
		Doc: "the worker group's rebalance protocol: compatible and sessioned (Kafka's default) both rebalance incrementally, as Tributary's workers do (without signing requests between workers, see inter.worker.*); eager is refused",
		Validate: func(v string) error {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "compatible", "sessioned":
				return nil
			case "eager":
				return errors.New("not supported: Tributary's workers rebalance incrementally (compatible/sessioned); the eager stop-the-world protocol is not offered")
			}
			return errors.New("must be eager, compatible or sessioned")
		}})
	if _, ok := d.Lookup("config.providers"); !ok {
		def("config.providers", config.TypeString, "", "config providers by alias; ${env:...} and ${file:...} are resolved built in")
	}
	// Kafka Connect's worker properties Tributary does not implement are
	// refused at any value but Kafka's default, with the reason; they
	// used to be accepted and ignored.
	unsigned := "requests between workers are not signed (no session keys); secure the REST listeners with TLS and rest.auth.basic.file"
	for _, r := range []struct{ name, def, reason string }{
		{"connector.client.config.override.policy", "All", "connectors' *.override.* client settings are applied as the All policy does; None and Principal are not implemented"},
		{"rest.extension.classes", "", "Java REST extensions cannot be loaded"},
		{"admin.listeners", "", "the admin endpoints (/admin/loggers) are served on the listeners"},
		{"response.http.headers.config", "", "custom HTTP response headers are not implemented"},
		{"access.control.allow.origin", "", "CORS is not implemented"},
		{"access.control.allow.methods", "", "CORS is not implemented"},
		{"worker.sync.timeout.ms", "3000", "the herder reads the config topic to its end before joining, without this timeout"},
		{"worker.unsync.backoff.ms", "300000", "the herder reads the config topic to its end before joining, without this timeout"},
		{"internal.key.converter", "", "removed in Kafka 3.0 (KIP-738): internal topics use the JsonConverter without schemas"},
		{"internal.value.converter", "", "removed in Kafka 3.0 (KIP-738): internal topics use the JsonConverter without schemas"},
		{"internal.key.converter.schemas.enable", "false", "removed in Kafka 3.0 (KIP-738): internal topics use the JsonConverter without schemas"},
		{"internal.value.converter.schemas.enable", "false", "removed in Kafka 3.0 (KIP-738): internal topics use the JsonConverter without schemas"},
		{"inter.worker.key.generation.algorithm", "HmacSHA256", unsigned},
		{"inter.worker.key.size", "", unsigned},
		{"inter.worker.key.ttl.ms", "3600000", unsigned},
		{"inter.worker.signature.algorithm", "HmacSHA256", unsigned},
		{"inter.worker.verification.algorithms", "HmacSHA256", unsigned},
	} {
		d.Refuse(r.name, r.def, r.reason)
	}
	d.AllowPrefix("listeners.https.", "listeners.http.", "config.storage.", "offset.storage.", "status.storage.", "config.providers.")
	return d
}

// loadWorkerFiles reads worker and connector files: YAML/JSON as `run -c`
// takes, or a Kafka Connect .properties worker file
// (connect-distributed.properties) as is.
func loadWorkerFiles(paths []string) (*config.File, error) {
	// Kafka Connect's .properties files (worker and connector ones) are
	// read by config.LoadFile like YAML and JSON files.
	return loadFiles(paths)
}

// workerEnv is what the worker is built from.
type workerEnv struct {
	plugins    connect.Plugins
	converters *converter.Factory
	transforms transforms.Registry
	log        *slog.Logger
	loggers    *rest.Loggers
	// onReady, when set, receives the worker's REST URL once it serves.
	onReady func(url string)
	// onBrokers, when set, receives the bootstrap servers once Kafka is
	// reachable (the embedded schema registry attaches its store then).
	onBrokers func(brokers []string)
	// onEmbeddedBroker, when set, receives the embedded broker's
	// addresses and data directory when the worker started it.
	onEmbeddedBroker func(addrs []string, dataDir string)
	// connectorDirs are directories of connector files applied while the
	// worker runs (connectorsdir.go).
	connectorDirs []string
	// exitWhenTasksEnd is herder.Options.ExitWhenTasksEnd (runConnectors).
	exitWhenTasksEnd bool
}

func newWorkerEnv(g *globalFlags) (*workerEnv, error) {
	log, loggers, err := g.workerLogger()
	if err != nil {
		return nil, err
	}
	return &workerEnv{plugins: g.plugins(), converters: g.converters(), transforms: g.transformRegistry(), log: log, loggers: loggers}, nil
}

// workerLogger is the configured logger behind /admin/loggers' levels.
func (g *globalFlags) workerLogger() (*slog.Logger, *rest.Loggers, error) {
	lvl, ok := rest.ParseLevel(g.logLevel)
	if !ok {
		var sl slog.Level
		if err := sl.UnmarshalText([]byte(g.logLevel)); err != nil {
			return nil, nil, fmt.Errorf("--log-level %q: %w", g.logLevel, err)
		}
		lvl = sl
	}
	root := new(slog.LevelVar)
	root.Set(lvl)
	loggers := rest.NewLoggers(root)
	opts := &slog.HandlerOptions{Level: slog.Level(math.MinInt32)}
	var inner slog.Handler
	switch g.logFormat {
	case "json":
		inner = slog.NewJSONHandler(os.Stderr, opts)
	case "text":
		inner = slog.NewTextHandler(os.Stderr, opts)
	default:
		return nil, nil, fmt.Errorf("--log-format %q: must be text or json", g.logFormat)
	}
	return slog.New(loggers.Handler(inner)), loggers, nil
}

// runWorker runs a standalone (distributed false) or distributed worker
// until ctx ends.
func runWorker(ctx context.Context, env *workerEnv, file *config.File, distributed, restEnabled bool) error {
	log := env.log
	wv, err := workerDef().Parse(file.Worker)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if distributed {
		var missing []string
		for _, k := range []string{"bootstrap.servers", "group.id", "config.storage.topic", "offset.storage.topic", "status.storage.topic"} {
			if wv.String(k) == "" {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("worker: distributed mode needs %s", strings.Join(missing, ", "))
		}
		if len(file.Connectors) > 0 {
			return errors.New("distributed workers take connectors through the REST API (POST /connectors) or from --connectors-dir DIR, not from configuration files")
		}
	}
	for _, c := range file.Connectors {
		// Fail fast on a broken file, as `run` does.
		if _, err := runtime.ParseConnector(env.plugins, c); err != nil {
			return err
		}
	}
	if len(env.connectorDirs) > 0 {
		// The same for the directories at start; later mistakes are
		// logged and leave the connectors as they are.
		cs, err := readConnectorDirs(env.connectorDirs)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if _, err := runtime.ParseConnector(env.plugins, c); err != nil {
				return err
			}
		}
	}

	releasePages(log, "configuration")

	// Offsets are in Kafka in distributed mode, and in standalone mode with
	// offset.storage.topic; only then can exactly-once be enabled.
	eos, err := runtime.WorkerExactlyOnce(wv, distributed || wv.String("offset.storage.topic") != "")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	brokers := wv.List("bootstrap.servers")
	if len(brokers) == 0 {
		// The embedded broker keeps its topics beside the offsets file,
		// so that the events persist with the offsets pointing after
		// them; with offsets in a topic there is no such file.
		offsetsFile := ""
		if !eos.OffsetsInKafka {
			offsetsFile = wv.String("offset.storage.file.filename")
		}
		emb, dir, err := runtime.StartWorkerBroker(wv, offsetsFile, log)
		if err != nil {
			return err
		}
		defer emb.Close()
		brokers = emb.Addrs()
		if env.onEmbeddedBroker != nil {
			env.onEmbeddedBroker(brokers, dir)
		}
	}
	sc, err := runtime.WorkerSaramaConfig(wv, brokers)
	if err != nil {
		return err
	}
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		return err
	}
	defer raw.Close()
	// Only GET / reports the cluster id: a worker without REST does not
	// spend a metadata round trip on it at start.
	clusterID := ""
	if distributed || restEnabled {
		clusterID = kafkaClusterID(raw.Client())
	}
	if env.onBrokers != nil {
		env.onBrokers(brokers)
	}

	// REST first: the advertised URL is the worker's identity.
	var srv *rest.Server
	workerURL := ""
	tlsFiles := rest.TLSFiles{
		CertFile:   firstSet(wv, "listeners.https.ssl.keystore.location", "ssl.keystore.location"),
		KeyFile:    firstSet(wv, "listeners.https.ssl.key.location", "ssl.key.location"),
		CAFile:     firstSet(wv, "listeners.https.ssl.truststore.location", "ssl.truststore.location"),
		ClientAuth: firstSet(wv, "listeners.https.ssl.client.auth", "ssl.client.auth"),
	}
	if distributed || restEnabled {
		listeners := wv.String("listeners")
		if listeners == "" {
			host := wv.String("rest.host.name")
			port := 8083
			if wv.IsSet("rest.port") {
				port = int(wv.Int("rest.port"))
			}
			listeners = "http://" + net.JoinHostPort(host, strconv.Itoa(port))
		}
		srv, err = rest.Listen(rest.ServerConfig{Listeners: listeners, TLS: tlsFiles, Logger: log}, nil)
		if err != nil {
			return err
		}
		defer srv.Close()
		adv := 0
		if wv.IsSet("rest.advertised.port") {
			adv = int(wv.Int("rest.advertised.port"))
		}
		workerURL = srv.AdvertisedURL(wv.String("rest.advertised.listener"), wv.String("rest.advertised.host.name"), adv)
	}
	workerID := "standalone"
	if workerURL != "" {
		workerID = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(workerURL, "http://"), "https://"), "/")
	}

	var (
		configs herder.ConfigStore
		status  herder.StatusStore
		store   offsets.Store
		group   *herder.GroupOptions
	)
	if distributed {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		kc, err := herder.OpenKafkaConfigStore(sctx, brokers, sc, wv.String("config.storage.topic"), log)
		if err != nil {
			return err
		}
		defer kc.Close()
		ks, err := herder.OpenKafkaStatusStore(sctx, brokers, sc, wv.String("status.storage.topic"), int32(intOr(wv, "status.storage.partitions", 5)), log)
		if err != nil {
			return err
		}
		defer ks.Close()
		ko, err := offsets.OpenKafka(sctx, offsets.KafkaOptions{Brokers: brokers, Config: sc, Topic: wv.String("offset.storage.topic"),
			Partitions: int32(intOr(wv, "offset.storage.partitions", 25)), ReadCommitted: eos.Enabled(), Logger: log})
		if err != nil {
			return err
		}
		defer ko.Close()
		configs, status, store = kc, ks, ko
		group = &herder.GroupOptions{Brokers: brokers, Config: sc, GroupID: wv.String("group.id"),
			SessionTimeout:    wv.Millis("session.timeout.ms"),
			HeartbeatInterval: wv.Millis("heartbeat.interval.ms"),
			RebalanceTimeout:  wv.Millis("rebalance.timeout.ms"), Logger: log}
	} else {
		configs = herder.NewMemoryConfigStore(log)
		status = herder.NewMemoryStatusStore(log)
		if eos.OffsetsInKafka {
			ko, err := runtime.OpenKafkaOffsets(ctx, brokers, sc, eos.OffsetsTopic, eos.OffsetsPartitions, eos.Enabled(), log)
			if err != nil {
				return err
			}
			defer ko.Close()
			store = ko
		} else {
			fs, err := offsets.OpenFile(wv.String("offset.storage.file.filename"))
			if err != nil {
				return err
			}
			store = fs
		}
	}

	// The metrics registry (client_golang's registry, collectors and
	// handler) serves only GET /metrics of the REST API and metrics.port:
	// a worker with neither, `run` by default, does not build it. The
	// runner and the REST status take a nil registry.
	var reg *metrics.Registry
	if srv != nil || wv.IsSet("metrics.port") {
		reg = metrics.NewRegistry()
	}
	runner := &herder.KafkaRunner{Brokers: brokers, Sarama: sc, Raw: raw, Converters: env.converters, Transforms: env.transforms,
		Offsets: store, Worker: file.Worker, ShutdownTimeout: wv.Millis("task.shutdown.graceful.timeout.ms"), Metrics: reg, Logger: log,
		ExactlyOnce: eos}
	var extra []herder.PluginInfo
	tnames := make([]string, 0, len(env.transforms))
	for n := range env.transforms {
		if strings.Contains(n, ".") {
			tnames = append(tnames, n)
		}
	}
	sort.Strings(tnames)
	for _, n := range tnames {
		extra = append(extra, herder.PluginInfo{Class: n, Type: "transformation", Version: version})
	}
	for _, c := range []string{converter.ByteArrayClass, converter.JSONClass, converter.StringClass, converter.AvroClass, jsonschema.ConverterClass, protobuf.ConverterClass} {
		extra = append(extra, herder.PluginInfo{Class: c, Type: "converter", Version: version})
	}
	var levels herder.LoggerLevels
	if env.loggers != nil {
		levels = env.loggers
	}
	// The REST API's signals reach the tasks through these; a worker
	// without REST has none.
	var signals *signal.Inboxes
	if srv != nil {
		signals = signal.NewInboxes()
	}
	h, err := herder.New(herder.Options{Signals: signals, WorkerID: workerID, URL: workerURL, Plugins: env.plugins, Converters: env.converters,
		Transforms: env.transforms, Worker: file.Worker, ExactlyOnce: &eos, ExtraPlugins: extra, Runner: runner, Configs: configs, Status: status,
		Offsets: store, SinkOffsets: &herder.KafkaSinkOffsets{Client: raw.Client()}, Group: group, ScheduledRebalanceMaxDelay: wv.Millis("scheduled.rebalance.max.delay.ms"),
		RestartBackoff: wv.Millis("task.restart.backoff.ms"), RestartBackoffMax: wv.Millis("task.restart.backoff.max.ms"),
		TaskShutdownTimeout: wv.Millis("task.shutdown.graceful.timeout.ms"), ExitWhenTasksEnd: env.exitWhenTasksEnd, OfflineValidation: env.exitWhenTasksEnd,
		TopicTracking: wv.Bool("topic.tracking.enable"), TopicTrackingReset: wv.Bool("topic.tracking.allow.reset"),
		Loggers: levels, ClusterID: clusterID, Logger: log})
	if err != nil {
		return err
	}
	if reg != nil {
		reg.SetStatus(h.StatusSummary)
	}
	probes := metrics.Probes{Ready: h.Ready}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	if srv != nil {
		var auth *rest.BasicAuth
		if f := wv.String("rest.auth.basic.file"); f != "" {
			if auth, err = rest.LoadBasicAuth(f); err != nil {
				return err
			}
		}
		client, err := rest.ForwardingClient(tlsFiles, 90*time.Second)
		if err != nil {
			return err
		}
		handler := rest.NewHandler(rest.Options{Herder: h, Signals: signals, Version: version, Commit: commit(), Loggers: env.loggers,
			Metrics: reg.Handler(), Probes: probes, Auth: auth, Client: client, Logger: log,
			Console: console.New(console.Options{Herder: h, Live: reg.Live, Logger: log})})
		srv.SetHandler(handler)
		wg.Add(1)
		go func() { defer wg.Done(); errs <- srv.Serve(runCtx) }()
	}
	if wv.IsSet("metrics.port") {
		mux := http.NewServeMux()
		mux.Handle("/metrics", reg.Handler())
		mux.HandleFunc("/healthz", probes.Healthz)
		mux.HandleFunc("/readyz", probes.Readyz)
		ms, err := rest.Listen(rest.ServerConfig{Listeners: fmt.Sprintf("http://:%d", wv.Int("metrics.port")), Logger: log}, mux)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs <- ms.Serve(runCtx) }()
	}
	herderDone := make(chan error, 1)
	go func() { herderDone <- h.Run(runCtx) }()

	if !distributed && len(file.Connectors) > 0 {
		jctx, jcancel := context.WithTimeout(runCtx, time.Minute)
		err := h.WaitJoined(jctx, true)
		jcancel()
		if err == nil {
			for _, c := range file.Connectors {
				// The raw properties, as Kafka Connect's standalone worker
				// submits its connector files: config provider references
				// stay references in GET /connectors/{name}/config and are
				// resolved only when the connector runs.
				props := c.Raw
				if props == nil {
					props = c.Config
				}
				cfg := make(map[string]string, len(props)+1)
				for k, v := range props {
					cfg[k] = v
				}
				cfg["name"] = c.Name
				if _, _, err = h.PutConnectorConfig(runCtx, c.Name, cfg, true, initialTarget(c.State)); err != nil {
					err = fmt.Errorf("connector %q: %w", c.Name, err)
					break
				}
			}
		}
		if err != nil {
			cancel()
			herr := <-herderDone
			wg.Wait()
			if ctx.Err() != nil {
				// A SIGTERM while the connectors were being submitted
				// is a stop, not a failure: Kafka Connect exits 0 then.
				return herr
			}
			return err
		}
	}
	if env.exitWhenTasksEnd {
		h.SubmittedAll()
	}
	if len(env.connectorDirs) > 0 {
		w := newConnectorWatcher(env.connectorDirs, log)
		wg.Add(1)
		go func() { defer wg.Done(); w.run(runCtx, h) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); releaseWhenSettled(runCtx, h.Ready, log) }()
	if env.onReady != nil {
		env.onReady(workerURL)
	}
	var runErr error
	select {
	case runErr = <-herderDone:
		cancel()
	case runErr = <-errs:
		cancel()
		if herr := <-herderDone; runErr == nil {
			runErr = herr
		}
	case <-ctx.Done():
		runErr = <-herderDone
	}
	cancel()
	wg.Wait()
	return runErr
}

func firstSet(v *config.Values, names ...string) string {
	for _, n := range names {
		if s := v.String(n); s != "" {
			return s
		}
	}
	return ""
}

func intOr(v *config.Values, name string, d int64) int64 {
	if v.IsSet(name) {
		return v.Int(name)
	}
	return d
}

// kafkaClusterID asks a broker for the cluster id (GET / reports it).
func kafkaClusterID(c sarama.Client) string {
	for _, b := range c.Brokers() {
		if ok, _ := b.Connected(); !ok {
			if err := b.Open(c.Config()); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
				continue
			}
		}
		resp, err := b.GetMetadata(&sarama.MetadataRequest{Version: 4})
		if err == nil && resp.ClusterID != nil {
			return *resp.ClusterID
		}
	}
	return ""
}

// commit is the VCS revision the binary was built from, when known.
func commit() string {
	if c := buildCommit; c != "" {
		return c
	}
	return "unknown"
}

// buildCommit is set with -ldflags "-X github.com/tributary-io/tributary/cli.buildCommit=...".
var buildCommit string
