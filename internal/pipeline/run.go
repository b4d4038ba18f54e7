package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

// SinkFactory makes a sink's publisher from its properties.
type SinkFactory struct {
	Def func() *config.Def
	New func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error)
	// Offsets names the offset.storage this sink's server can hold
	// ("nats", "redis"), if any.
	Offsets string
}

// Runner runs the pipelines of a configuration file with a sink: section.
type Runner struct {
	Plugins    connect.Plugins
	Sinks      map[string]SinkFactory // by connector class
	Converters *converter.Factory
	Transforms transforms.Registry
	Logger     *slog.Logger
}

// ParseSink checks the sink: section.
func (r *Runner) ParseSink(props map[string]string) (*config.Values, SinkFactory, error) {
	class := props["connector.class"]
	var sf SinkFactory
	p, ok := r.Plugins.Lookup(class)
	if ok {
		sf, ok = r.Sinks[p.Class]
	}
	if !ok {
		names := make([]string, 0, len(r.Sinks))
		for n := range r.Sinks {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, sf, fmt.Errorf("sink: connector.class=%q: not a pipeline sink; use one of %s", class, strings.Join(names, ", "))
	}
	if _, set := props["json.schemas.enable"]; set {
		return nil, sf, errors.New("sink: json.schemas.enable: not used by a pipeline, where the source connector's key.converter/value.converter make the bytes")
	}
	v, err := Def().Merge(sf.Def()).Parse(props)
	if err != nil {
		return nil, sf, fmt.Errorf("sink: %w", err)
	}
	if st := v.Lower("offset.storage"); st != "file" && st != sf.Offsets {
		return nil, sf, fmt.Errorf("sink: offset.storage=%s: the %s sink's server cannot keep offsets; use file or the sink that can", st, p.Class)
	}
	return v, sf, nil
}

// Run runs every connector of file as a pipeline into file.Sink, each with
// its own connection to the sink, until ctx ends or they fail.
func (r *Runner) Run(ctx context.Context, file *config.File) error {
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	wv, err := runtime.WorkerDef().Parse(file.Worker)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	sv, sf, err := r.ParseSink(file.Sink)
	if err != nil {
		return err
	}
	if len(file.Connectors) == 0 {
		return errors.New("no connectors configured")
	}
	var fileStore offsets.Store
	var pipes []*Pipeline
	defer func() {
		for _, p := range pipes {
			p.Publisher.Close()
		}
	}()
	scrub := sv.Scrubber()
	for _, c := range file.Connectors {
		pc, err := runtime.ParseConnector(r.Plugins, c)
		if err != nil {
			return err
		}
		pub, err := sf.New(ctx, sv, scrub.Logger(log).With("connector", c.Name))
		if err != nil {
			return scrub.Error(fmt.Errorf("sink: %w", err))
		}
		p := &Pipeline{Connector: pc, Publisher: pub, Converters: r.Converters, Transforms: r.Transforms, Worker: file.Worker,
			Sink: sv, Logger: pc.Values.Scrubber().Logger(log)}
		pipes = append(pipes, p)
		switch sv.Lower("offset.storage") {
		case "nats":
			js, ok := pub.(interface{ JetStream() jetstream.JetStream })
			if !ok {
				return errors.New("sink: offset.storage=nats: the sink has no JetStream connection")
			}
			kv, err := OpenKV(ctx, js.JetStream(), sv.String("offset.storage.nats.bucket"))
			if err != nil {
				return fmt.Errorf("sink: %w", err)
			}
			p.Offsets = retrying{Store: kv, log: log.With("connector", c.Name)}
		case "redis":
			rc, ok := pub.(interface{ Client() *goredis.Client })
			if !ok {
				return errors.New("sink: offset.storage=redis: the sink has no Redis connection")
			}
			p.Offsets = retrying{Store: &RedisStore{C: rc.Client(), Key: sv.String("offset.storage.redis.key")}, log: log.With("connector", c.Name)}
		default:
			if fileStore == nil {
				if fileStore, err = offsets.OpenFile(wv.String("offset.storage.file.filename")); err != nil {
					return err
				}
			}
			p.Offsets = fileStore
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(pipes))
	for i, p := range pipes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Connector.Values.Scrubber().Error(p.Run(ctx))
			if errs[i] != nil {
				log.Error("pipeline failed", "connector", p.Connector.Name, "error", errs[i])
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
