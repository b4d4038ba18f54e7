// Package nats is a sink connector that publishes records to NATS
// JetStream. It reads Kafka topics like any Kafka Connect sink (consumer
// group, offsets committed after delivery, errors.tolerance, dead letter
// queue, transforms: all internal/sinkrunner's) and serves as the bus of
// Kafka-less pipelines (internal/pipeline).
//
// Each record becomes one JetStream message on the subject nats.subject
// renders (default "${topic}"), with the record's headers as NATS headers,
// its key in the nats.header.key header, and Nats-Msg-Id set to
// "<topic>-<partition>-<offset>": a batch published again after a crash
// or an outage is stored once as long as the stream's duplicate window
// (nats.stream.duplicate.window.ms when the sink creates the stream)
// covers the replay. Messages are published asynchronously and their
// acknowledgements awaited every nats.publish.max.pending messages and at
// the end of every batch; Put returns, and the runner commits Kafka
// offsets, only once JetStream has stored every message of the batch.
//
// Per-key order: one connection publishes in order and a failed batch is
// published again from its start, so a key's messages are first stored in
// Kafka order. The exception is a server that refuses one message and
// stores a later one of the same batch (e.g. a stream limit hit for one
// subject only); the refused one is then stored after it.
package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
)

// Class is the connector class.
const Class = "io.tributary.connect.nats.JetStreamSinkConnector"

// Plugin is the JetStream sink connector.
func Plugin() *connect.Plugin {
	return bus.SinkPlugin(Class, []string{"nats-jetstream-sink", "JetStreamSinkConnector"}, Def, NewPublisher)
}

// Def returns the connector's properties.
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "nats.url", Required: true, Importance: config.High,
		Doc: "NATS server URLs, comma-separated (nats://host:4222)"})
	d.Define(config.Key{Name: "nats.subject", Default: "${topic}", Importance: config.High,
		Validate: func(v string) error { _, err := bus.ParseTemplate("nats.subject", v); return err },
		Doc:      "subject template; ${topic}, ${partition} and ${key} are replaced by the record's"})
	d.Define(config.Key{Name: "nats.user", Doc: "user name"})
	d.Define(config.Key{Name: "nats.password", Type: config.TypePassword, Doc: "password of nats.user"})
	d.Define(config.Key{Name: "nats.token", Type: config.TypePassword, Doc: "authentication token"})
	d.Define(config.Key{Name: "nats.creds.file", Doc: "credentials file (JWT and NKey seed)"})
	d.Define(config.Key{Name: "nats.connect.timeout.ms", Type: config.TypeLong, Default: "5000", Validate: positive, Doc: "how long connecting to the NATS servers may take"})
	d.Define(config.Key{Name: "nats.publish.ack.timeout.ms", Type: config.TypeLong, Default: "10000", Validate: positive,
		Doc: "how long a publish acknowledgement is awaited before the batch is published again"})
	d.Define(config.Key{Name: "nats.publish.max.pending", Type: config.TypeInt, Default: "512", Validate: positive,
		Doc: "messages published before their acknowledgements are awaited"})
	d.Define(config.Key{Name: "nats.header.key", Default: "Kafka-Key",
		Doc: "header carrying the record key; empty leaves the key out"})
	d.Define(config.Key{Name: "nats.stream.create", Type: config.TypeBoolean, Default: "false",
		Doc: "create the stream nats.stream.name when it does not exist"})
	d.Define(config.Key{Name: "nats.stream.name", Doc: "stream created when nats.stream.create=true"})
	d.Define(config.Key{Name: "nats.stream.subjects", Type: config.TypeList,
		Doc: "subjects of the created stream; default: the literal prefix of nats.subject followed by >"})
	d.Define(config.Key{Name: "nats.stream.storage", Default: "file", OneOf: []string{"file", "memory"}, Doc: "storage of the stream the sink creates when it does not exist: file or memory"})
	d.Define(config.Key{Name: "nats.stream.replicas", Type: config.TypeInt, Default: "1", Validate: positive, Doc: "replicas of the stream the sink creates when it does not exist"})
	d.Define(config.Key{Name: "nats.stream.duplicate.window.ms", Type: config.TypeLong, Default: "120000", Validate: positive,
		Doc: "the created stream's duplicate window: redeliveries within it are stored once"})
	d.Merge(bus.EncoderDef())
	return d
}

func positive(v string) error {
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil || n <= 0 {
		return errors.New("must be a positive integer")
	}
	return nil
}

// Publisher publishes messages to JetStream.
type Publisher struct {
	nc         *nats.Conn
	js         jetstream.JetStream
	subject    *bus.Template
	keyHeader  string
	maxPending int
	ackTimeout time.Duration
	log        *slog.Logger
}

var _ bus.Publisher = (*Publisher)(nil)

// NewPublisher connects to NATS, checks that JetStream answers and,
// with nats.stream.create, creates the stream.
func NewPublisher(ctx context.Context, v *config.Values, log *slog.Logger) (*Publisher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	subject, err := bus.ParseTemplate("nats.subject", v.String("nats.subject"))
	if err != nil {
		return nil, err
	}
	if subject.Static() {
		if err := validSubject(subject.String()); err != nil {
			return nil, fmt.Errorf("nats.subject=%q: %w", subject.String(), err)
		}
	}
	p := &Publisher{subject: subject, keyHeader: v.String("nats.header.key"), maxPending: int(v.Int("nats.publish.max.pending")),
		ackTimeout: v.Millis("nats.publish.ack.timeout.ms"), log: log}
	url := v.String("nats.url")
	opts := []nats.Option{
		nats.Name("tributary"),
		nats.Timeout(v.Millis("nats.connect.timeout.ms")),
		// Outages are ridden out by reconnecting for ever; the sink runner
		// retries the batches that failed meanwhile.
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("disconnected from NATS; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("reconnected to NATS", "server", c.ConnectedUrlRedacted()) }),
	}
	authProp := ""
	switch {
	case v.String("nats.creds.file") != "":
		opts = append(opts, nats.UserCredentials(v.String("nats.creds.file")))
		authProp = "nats.creds.file"
	case v.String("nats.token") != "":
		opts = append(opts, nats.Token(v.String("nats.token")))
		authProp = "nats.token"
	case v.String("nats.user") != "":
		opts = append(opts, nats.UserInfo(v.String("nats.user"), v.String("nats.password")))
		authProp = "nats.user/nats.password"
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		if authProp != "" && (errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization")) {
			return nil, fmt.Errorf("%s: NATS refused the credentials: %w", authProp, err)
		}
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("nats.url=%s: the server requires authentication (set nats.user/nats.password, nats.token or nats.creds.file): %w", redactURL(url), err)
		}
		return nil, fmt.Errorf("nats.url=%s: connecting: %w", redactURL(url), err)
	}
	p.nc = nc
	p.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(p.maxPending*2), jetstream.WithPublishAsyncTimeout(p.ackTimeout))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats.url=%s: %w", redactURL(url), err)
	}
	actx, cancel := context.WithTimeout(ctx, v.Millis("nats.connect.timeout.ms"))
	defer cancel()
	if _, err := p.js.AccountInfo(actx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats.url=%s: JetStream is not available (is the server started with -js?): %w", redactURL(url), err)
	}
	if v.Bool("nats.stream.create") {
		if err := p.createStream(actx, v); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return p, nil
}

func (p *Publisher) createStream(ctx context.Context, v *config.Values) error {
	name := v.String("nats.stream.name")
	if name == "" {
		return errors.New("nats.stream.name: required when nats.stream.create=true")
	}
	if strings.ContainsAny(name, ".*> \t\r\n/\\") {
		return fmt.Errorf("nats.stream.name=%q: a stream name may not contain '.', '*', '>', '/', '\\' or whitespace", name)
	}
	subjects := v.List("nats.stream.subjects")
	if len(subjects) == 0 {
		prefix := p.subject.Prefix()
		switch {
		case p.subject.Static():
			subjects = []string{p.subject.String()}
		case strings.HasSuffix(prefix, ".") && validSubject(strings.TrimSuffix(prefix, ".")) == nil:
			subjects = []string{prefix + ">"}
		default:
			return fmt.Errorf("nats.stream.subjects: required when nats.stream.create=true and nats.subject=%q has no literal prefix ending in '.'", p.subject.String())
		}
	}
	storage := jetstream.FileStorage
	if v.Lower("nats.stream.storage") == "memory" {
		storage = jetstream.MemoryStorage
	}
	cfg := jetstream.StreamConfig{Name: name, Subjects: subjects, Storage: storage, Replicas: int(v.Int("nats.stream.replicas")),
		Duplicates: v.Millis("nats.stream.duplicate.window.ms")}
	_, err := p.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// The stream exists (created by an earlier run or by its owner);
		// its configuration is left as it is.
		s, err := p.js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("nats.stream.name=%s: %w", name, err)
		}
		p.log.Info("JetStream stream exists; keeping its configuration", "stream", name, "subjects", s.CachedInfo().Config.Subjects,
			"duplicate_window", s.CachedInfo().Config.Duplicates)
		return nil
	}
	if err != nil {
		return fmt.Errorf("nats.stream.name=%s: creating the stream (subjects %v): %w", name, subjects, err)
	}
	p.log.Info("JetStream stream created", "stream", name, "subjects", subjects, "duplicate_window", cfg.Duplicates)
	return nil
}

// redactURL drops credentials written into a URL.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, s := range parts {
		if at := strings.LastIndex(s, "@"); at >= 0 {
			if sch := strings.Index(s, "://"); sch >= 0 && sch < at {
				parts[i] = s[:sch+3] + "[redacted]" + s[at:]
			} else {
				parts[i] = "[redacted]" + s[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// validSubject checks a subject to publish to: dot-separated non-empty
// tokens, no whitespace, no wildcards.
func validSubject(s string) error {
	if s == "" {
		return errors.New("empty subject")
	}
	for _, tok := range strings.Split(s, ".") {
		switch {
		case tok == "":
			return errors.New("empty token (leading, trailing or double '.')")
		case tok == "*" || tok == ">":
			return fmt.Errorf("wildcard token %q", tok)
		case strings.ContainsAny(tok, " \t\r\n\x00"):
			return errors.New("whitespace in subject")
		}
	}
	return nil
}

func (p *Publisher) natsMsg(m *bus.Message) (*nats.Msg, error) {
	subj := p.subject.Expand(m)
	if err := validSubject(subj); err != nil {
		return nil, fmt.Errorf("nats.subject=%q gives the invalid subject %q: %w", p.subject.String(), subj, err)
	}
	nm := nats.NewMsg(subj)
	nm.Data = m.Value
	for _, h := range m.Headers {
		if err := validHeader(h.Key, h.Value); err != nil {
			return nil, fmt.Errorf("header %q: %w", h.Key, err)
		}
		nm.Header.Add(h.Key, string(h.Value))
	}
	if p.keyHeader != "" && m.Key != nil {
		if err := validHeader(p.keyHeader, m.Key); err != nil {
			return nil, fmt.Errorf("nats.header.key: the key cannot be a NATS header value: %w", err)
		}
		nm.Header.Set(p.keyHeader, string(m.Key))
	}
	return nm, nil
}

// validHeader refuses what would break NATS's text header block.
func validHeader(k string, v []byte) error {
	if k == "" || strings.ContainsAny(k, ": \t\r\n") {
		return errors.New("not a valid NATS header name")
	}
	for _, c := range v {
		if c == '\r' || c == '\n' {
			return errors.New("line break in a NATS header value")
		}
	}
	return nil
}

// Publish implements bus.Publisher.
func (p *Publisher) Publish(ctx context.Context, msgs []*bus.Message) error {
	futs := make([]jetstream.PubAckFuture, 0, min(len(msgs), p.maxPending))
	first := 0 // index in msgs of futs[0]
	for i, m := range msgs {
		nm, err := p.natsMsg(m)
		if err != nil {
			if werr := p.await(ctx, msgs, first, futs); werr != nil {
				return werr
			}
			return &bus.RejectedError{Index: i, Err: err}
		}
		f, err := p.js.PublishMsgAsync(nm, jetstream.WithMsgID(m.ID))
		if err != nil {
			if errors.Is(err, nats.ErrMaxPayload) {
				if werr := p.await(ctx, msgs, first, futs); werr != nil {
					return werr
				}
				return &bus.RejectedError{Index: i, Err: fmt.Errorf("%d bytes: %w", len(m.Value), err)}
			}
			return bus.Transient(fmt.Errorf("publishing %s to %s: %w", m.Coords(), nm.Subject, err))
		}
		futs = append(futs, f)
		if len(futs) >= p.maxPending {
			if err := p.await(ctx, msgs, first, futs); err != nil {
				return err
			}
			futs, first = futs[:0], i+1
		}
	}
	return p.await(ctx, msgs, first, futs)
}

// await waits for the acknowledgements of futs, published in order from
// msgs[first:].
func (p *Publisher) await(ctx context.Context, msgs []*bus.Message, first int, futs []jetstream.PubAckFuture) error {
	// The client times out each future itself; this deadline is the
	// backstop that keeps a lost acknowledgement from stalling the sink.
	deadline := time.NewTimer(p.ackTimeout + time.Second)
	defer deadline.Stop()
	for i, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return p.ackError(ctx, first+i, msgs[first+i], f.Msg().Subject, err)
		case <-deadline.C:
			return bus.Transient(fmt.Errorf("publishing %s: no acknowledgement within nats.publish.ack.timeout.ms=%d",
				msgs[first+i].Coords(), p.ackTimeout.Milliseconds()))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *Publisher) ackError(ctx context.Context, index int, m *bus.Message, subject string, err error) error {
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse):
		err = fmt.Errorf("publishing %s: no JetStream stream stores subject %s (create one, or set nats.stream.create=true): %w", m.Coords(), subject, err)
		// No responder is also what a restarting server answers before
		// it has loaded its streams: only when JetStream itself answers
		// that no stream stores the subject is the destination missing.
		lctx, cancel := context.WithTimeout(ctx, p.ackTimeout)
		defer cancel()
		if _, lerr := p.js.StreamNameBySubject(lctx, subject); errors.Is(lerr, jetstream.ErrStreamNotFound) {
			return &bus.DestinationError{Index: index, Destination: subject, Err: err}
		}
		return bus.Transient(err)
	case errors.As(err, &apiErr) && apiErr.Code == 400:
		return &bus.RejectedError{Index: index, Err: fmt.Errorf("publishing %s to %s: %w", m.Coords(), subject, err)}
	}
	return bus.Transient(fmt.Errorf("publishing %s to %s: %w", m.Coords(), subject, err))
}

// Close implements bus.Publisher.
func (p *Publisher) Close() error {
	if p.nc != nil {
		p.nc.Close()
	}
	return nil
}

// JetStream is the publisher's JetStream context, for a pipeline's
// offsets in a key-value bucket on the same server.
func (p *Publisher) JetStream() jetstream.JetStream { return p.js }
