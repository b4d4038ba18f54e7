package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

// avroConverter builds io.confluent.connect.avro.AvroConverter.
func avroConverter(props map[string]string, isKey bool) (converter.Converter, error) {
	return avro.New(props, isKey)
}

// registryOptions says where a schema registry listens and keeps its data.
type registryOptions struct {
	Listen        string
	Storage       string // memory or kafka
	Brokers       []string
	Topic         string
	KafkaProps    map[string]string
	BrokerDataDir string // for the embedded broker started when Brokers is empty
	// LegacyIncompatibleCode answers incompatible schemas with error_code
	// 409 (Confluent 8.1 and earlier) instead of 40901.
	LegacyIncompatibleCode bool
}

// runningRegistry is a started registry; Close stops it.
type runningRegistry struct {
	URL    string
	srv    *http.Server
	closer []func()
}

func (r *runningRegistry) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	for i := len(r.closer) - 1; i >= 0; i-- {
		r.closer[i]()
	}
}

// openStore opens the registry's storage: memory, or the _schemas topic of
// the given brokers, or of an embedded broker when none are given.
func openStore(ctx context.Context, o registryOptions, log *slog.Logger) (server.Store, []func(), error) {
	switch o.Storage {
	case "memory":
		return server.NewMemoryStore(), nil, nil
	case "kafka":
	default:
		return nil, nil, fmt.Errorf("--storage %q: must be memory or kafka", o.Storage)
	}
	var closers []func()
	brokers := o.Brokers
	if len(brokers) == 0 {
		emb, err := kafka.StartEmbedded(0, o.BrokerDataDir, log)
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, emb.Close)
		brokers = emb.Addrs()
	}
	sc, err := kafka.ClientConfig{Brokers: brokers, ClientID: "tributary-schema-registry", Props: o.KafkaProps}.SaramaConfig()
	if err != nil {
		runClosers(closers)
		return nil, nil, fmt.Errorf("schema registry kafka client: %w", err)
	}
	st, err := server.NewKafkaStore(ctx, server.KafkaStoreConfig{Brokers: brokers, Topic: o.Topic, Sarama: sc, Logger: log})
	if err != nil {
		runClosers(closers)
		return nil, nil, err
	}
	closers = append(closers, func() { _ = st.Close() })
	return st, closers, nil
}

func runClosers(cs []func()) {
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// startRegistry opens the storage, binds the listener and serves the
// Confluent Schema Registry API until Close.
func startRegistry(ctx context.Context, o registryOptions, log *slog.Logger) (*runningRegistry, error) {
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("schema registry: listen on %s: %w", o.Listen, err)
	}
	store, closers, err := openStore(ctx, o, log)
	if err != nil {
		ln.Close()
		return nil, err
	}
	r := &runningRegistry{URL: "http://" + ln.Addr().String(), closer: closers,
		srv: &http.Server{Handler: server.NewServer(store, log, o.serverOptions()...), ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("schema registry stopped", "error", err)
		}
	}()
	return r, nil
}

func (o registryOptions) serverOptions() []server.Option {
	if o.LegacyIncompatibleCode {
		return []server.Option{server.WithLegacyIncompatibleErrorCode()}
	}
	return nil
}

func newRegistryCmd(g *globalFlags) *cobra.Command {
	root := &cobra.Command{
		Use:   "registry",
		Short: "Confluent-compatible schema registry",
	}
	var o registryOptions
	var props []string
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Confluent Schema Registry REST API",
		Long: `Serve a Confluent-compatible schema registry (the REST API Confluent's
serializers, converters and clients use) until interrupted.

With --storage kafka (the default) schemas live in a compacted topic (--topic,
default _schemas) in Confluent's record format, so Confluent Schema Registry
and Tributary can take over each other's topic. Without --bootstrap-servers an
embedded in-process broker is started (development only; its data is lost on
exit unless --broker-data-dir is set). --storage memory keeps everything in
memory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := g.logger()
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			o.KafkaProps = map[string]string{}
			for _, p := range props {
				k, v, ok := strings.Cut(p, "=")
				if !ok || k == "" {
					return &exitError{code: 2, err: fmt.Errorf("--kafka-property %q: want key=value", p)}
				}
				o.KafkaProps[k] = v
			}
			r, err := startRegistry(cmd.Context(), o, log)
			if err != nil {
				return err
			}
			defer r.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "schema registry listening on %s (storage %s)\n", r.URL, o.Storage)
			<-cmd.Context().Done()
			return nil
		},
	}
	serve.Flags().StringVar(&o.Listen, "listen", "127.0.0.1:8081", "address to listen on")
	serve.Flags().StringVar(&o.Storage, "storage", "kafka", "memory or kafka")
	serve.Flags().StringSliceVar(&o.Brokers, "bootstrap-servers", nil, "Kafka brokers for --storage kafka; none starts an embedded broker")
	serve.Flags().StringVar(&o.Topic, "topic", server.DefaultTopic, "schemas topic for --storage kafka")
	serve.Flags().StringArrayVar(&props, "kafka-property", nil, "Kafka client property key=value (security.protocol, sasl.*, ssl.*); repeatable")
	serve.Flags().StringVar(&o.BrokerDataDir, "broker-data-dir", "", "persist the embedded broker's data in this directory")
	serve.Flags().BoolVar(&o.LegacyIncompatibleCode, "legacy-incompatible-error-code", false,
		"answer incompatible schemas with error_code 409 (Confluent 8.1 and earlier) instead of 40901 (8.2 and later); the HTTP status is 409 either way")
	root.AddCommand(serve)
	return root
}

// startEmbeddedRegistry implements the worker property
// embedded.registry.port: a schema registry in the worker process, storing
// schemas in the _schemas topic of the worker's Kafka (the embedded broker
// when bootstrap.servers is empty). The port is bound at once, so a busy
// port fails the start; the Kafka store is attached when the worker
// reports its brokers through OnStarted, and requests arriving before
// that wait for it. Without the property it does nothing.
//
// Call it before the worker runs, hand attach the worker's brokers once
// Kafka is reachable, and call stop after the worker returns.
func startEmbeddedRegistry(ctx context.Context, worker map[string]string, log *slog.Logger) (url string, attach func(brokers []string), stop func(), err error) {
	raw, ok := worker["embedded.registry.port"]
	if !ok || strings.TrimSpace(raw) == "" {
		return "", func([]string) {}, func() {}, nil
	}
	port, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || port < 0 || port > 65535 {
		return "", nil, nil, fmt.Errorf("worker: embedded.registry.port=%q: not a port", raw)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return "", nil, nil, fmt.Errorf("worker: embedded.registry.port: %w", err)
	}
	h := &pendingHandler{ready: make(chan struct{}), log: log}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("embedded schema registry stopped", "error", err)
		}
	}()
	url = "http://" + ln.Addr().String()
	log.Info("embedded schema registry listening", "url", url)

	kafkaProps := map[string]string{}
	for k, v := range worker {
		for _, p := range []string{"security.", "ssl.", "sasl."} {
			if strings.HasPrefix(k, p) {
				kafkaProps[k] = v
			}
		}
	}
	var mu sync.Mutex
	var closeStore func()
	attach = func(brokers []string) {
		st, closers, err := openStore(ctx, registryOptions{Storage: "kafka", Brokers: brokers, Topic: server.DefaultTopic, KafkaProps: kafkaProps}, log)
		if err != nil {
			log.Error("embedded schema registry: opening the _schemas store failed", "error", err)
			h.fail(err)
		} else {
			mu.Lock()
			closeStore = func() { runClosers(closers) }
			mu.Unlock()
			h.attach(server.NewServer(st, log))
		}
	}
	stop = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		mu.Lock()
		defer mu.Unlock()
		if closeStore != nil {
			closeStore()
		}
	}
	return url, attach, stop, nil
}

// pendingHandler holds requests until the registry's store is open.
type pendingHandler struct {
	ready chan struct{}
	once  sync.Once
	srv   http.Handler
	err   error
	log   *slog.Logger
}

func (p *pendingHandler) attach(h http.Handler) {
	p.once.Do(func() { p.srv = h; close(p.ready) })
}

func (p *pendingHandler) fail(err error) {
	p.once.Do(func() { p.err = err; close(p.ready) })
}

func (p *pendingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.ready:
	case <-r.Context().Done():
		return
	case <-time.After(30 * time.Second):
		writeRegistryError(w, registry.CodeStoreTimeout, "schema store is not open yet")
		return
	}
	if p.err != nil {
		writeRegistryError(w, registry.CodeStoreError, "schema store: "+p.err.Error())
		return
	}
	p.srv.ServeHTTP(w, r)
}

func writeRegistryError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", registry.ContentType)
	w.WriteHeader(registry.HTTPStatus(code))
	fmt.Fprintf(w, `{"error_code":%d,"message":%q}`, code, msg)
}
