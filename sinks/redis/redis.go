// Package redis is a sink connector that appends records to Redis
// Streams with XADD. It reads Kafka topics like any Kafka Connect sink
// (consumer group, offsets committed after delivery, errors.tolerance,
// dead letter queue, transforms: all internal/sinkrunner's) and serves as
// the bus of Kafka-less pipelines (internal/pipeline).
//
// Each record becomes one stream entry, in the stream redis.stream.key
// renders (default "${topic}"), with the fields "id" (the event id:
// "<topic>-<partition>-<offset>"), "key" (when the record has one),
// "value" (when it has one) and "header.<name>" per record header. A
// batch is sent as one pipeline of XADD commands on one connection, so
// entries of a key keep their Kafka order; with redis.stream.maxlen each
// XADD trims the stream to about (or, with
// redis.stream.maxlen.approximate=false, exactly) that many entries.
//
// Redis Streams do not deduplicate: a batch replayed after a crash or a
// failed pipeline is appended again (at-least-once). Consumers that must
// not see an event twice skip entries whose "id" they have seen.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/redislog"
)

// Class is the connector class.
const Class = "io.tributary.connect.redis.RedisStreamsSinkConnector"

// Plugin is the Redis Streams sink connector.
func Plugin() *connect.Plugin {
	return bus.SinkPlugin(Class, []string{"redis-streams-sink", "RedisStreamsSinkConnector"}, Def, NewPublisher)
}

// Def returns the connector's properties.
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "redis.address", Required: true, Importance: config.High, Doc: "host:port of the Redis server"})
	d.Define(config.Key{Name: "redis.database", Type: config.TypeInt, Default: "0", Doc: "logical database number (SELECT) the streams are written in"})
	d.Define(config.Key{Name: "redis.username", Doc: "ACL user (Redis 6+); empty with redis.password is the default user"})
	d.Define(config.Key{Name: "redis.password", Type: config.TypePassword, Doc: "password for AUTH (with redis.username for an ACL user); hidden in logs and errors"})
	d.Define(config.Key{Name: "redis.stream.key", Default: "${topic}", Importance: config.High,
		Validate: func(v string) error { _, err := bus.ParseTemplate("redis.stream.key", v); return err },
		Doc:      "stream key template; ${topic}, ${partition} and ${key} are replaced by the record's"})
	d.Define(config.Key{Name: "redis.stream.maxlen", Type: config.TypeLong, Default: "0",
		Validate: func(v string) error {
			var n int64
			if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil || n < 0 {
				return errors.New("must be 0 (no trimming) or a positive integer")
			}
			return nil
		}, Doc: "XADD MAXLEN: entries kept per stream; 0 keeps all"})
	d.Define(config.Key{Name: "redis.stream.maxlen.approximate", Type: config.TypeBoolean, Default: "true",
		Doc: "trim with MAXLEN ~ (whole macro nodes, much cheaper) rather than exactly"})
	d.Define(config.Key{Name: "redis.connect.timeout.ms", Type: config.TypeLong, Default: "5000", Doc: "how long connecting to Redis may take"})
	d.Define(config.Key{Name: "redis.timeout.ms", Type: config.TypeLong, Default: "10000", Doc: "read and write timeout of a pipeline"})
	d.Merge(bus.EncoderDef())
	return d
}

// Publisher appends messages to streams.
type Publisher struct {
	c      *goredis.Client
	key    *bus.Template
	maxLen int64
	approx bool
	log    *slog.Logger
}

var _ bus.Publisher = (*Publisher)(nil)

// NewPublisher connects and checks the credentials with PING.
func NewPublisher(ctx context.Context, v *config.Values, log *slog.Logger) (*Publisher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key, err := bus.ParseTemplate("redis.stream.key", v.String("redis.stream.key"))
	if err != nil {
		return nil, err
	}
	addr := v.String("redis.address")
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("redis.address=%q: not host:port: %w", addr, err)
	}
	redislog.Init()
	c := goredis.NewClient(&goredis.Options{
		Addr: addr, Username: v.String("redis.username"), Password: v.String("redis.password"), DB: int(v.Int("redis.database")),
		DialTimeout: v.Millis("redis.connect.timeout.ms"), ReadTimeout: v.Millis("redis.timeout.ms"), WriteTimeout: v.Millis("redis.timeout.ms"),
		// The sink retries whole batches itself; the client's own retries
		// would resend commands of a pipeline that may have been applied.
		MaxRetries:      -1,
		DisableIdentity: true,
	})
	pctx, cancel := context.WithTimeout(ctx, v.Millis("redis.connect.timeout.ms")+time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		msg := err.Error()
		switch {
		case strings.Contains(msg, "WRONGPASS") || strings.Contains(msg, "invalid password") || strings.Contains(msg, "invalid username-password"):
			return nil, fmt.Errorf("redis.username/redis.password: Redis refused the credentials: %w", err)
		case strings.Contains(msg, "NOAUTH"):
			return nil, fmt.Errorf("redis.address=%s: the server requires authentication (set redis.password): %w", addr, err)
		}
		return nil, fmt.Errorf("redis.address=%s: connecting: %w", addr, err)
	}
	return &Publisher{c: c, key: key, maxLen: v.Int("redis.stream.maxlen"), approx: v.Bool("redis.stream.maxlen.approximate"), log: log}, nil
}

// Publish implements bus.Publisher.
func (p *Publisher) Publish(ctx context.Context, msgs []*bus.Message) error {
	for i, m := range msgs {
		if k := p.key.Expand(m); k == "" {
			return &bus.RejectedError{Index: i, Err: fmt.Errorf("redis.stream.key=%q gives an empty key for %s", p.key.String(), m.Coords())}
		}
	}
	cmds, err := p.c.Pipelined(ctx, func(pipe goredis.Pipeliner) error {
		for _, m := range msgs {
			vals := make([]any, 0, 6+2*len(m.Headers))
			vals = append(vals, "id", m.ID)
			if m.Key != nil {
				vals = append(vals, "key", m.Key)
			}
			if m.Value != nil {
				vals = append(vals, "value", m.Value)
			}
			for _, h := range m.Headers {
				vals = append(vals, "header."+h.Key, h.Value)
			}
			pipe.XAdd(ctx, &goredis.XAddArgs{Stream: p.key.Expand(m), MaxLen: p.maxLen, Approx: p.approx && p.maxLen > 0, Values: vals})
		}
		return nil
	})
	if err == nil {
		return nil
	}
	for i, c := range cmds {
		cerr := c.Err()
		if cerr == nil {
			continue
		}
		// A reply error is about this command (WRONGTYPE: the key holds
		// another type); anything else is the connection's.
		var re goredis.Error
		if errors.As(cerr, &re) && !strings.HasPrefix(cerr.Error(), "LOADING") && !strings.HasPrefix(cerr.Error(), "BUSY") &&
			!strings.HasPrefix(cerr.Error(), "READONLY") && !strings.HasPrefix(cerr.Error(), "MASTERDOWN") {
			return &bus.RejectedError{Index: i, Err: fmt.Errorf("XADD %s for %s: %w", p.key.Expand(msgs[i]), msgs[i].Coords(), cerr)}
		}
		return bus.Transient(fmt.Errorf("redis.address=%s: XADD for %s: %w", p.c.Options().Addr, msgs[i].Coords(), cerr))
	}
	return bus.Transient(fmt.Errorf("redis.address=%s: %w", p.c.Options().Addr, err))
}

// Close implements bus.Publisher.
func (p *Publisher) Close() error { return p.c.Close() }

// Client is the publisher's client, for a pipeline's offsets in a hash on
// the same server.
func (p *Publisher) Client() *goredis.Client { return p.c }
