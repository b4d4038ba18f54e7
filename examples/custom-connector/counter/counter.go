// Package counter is a small source connector written against Tributary's
// public SDK: it emits a numbered record every interval.ms, with a
// schema'd key and value, and resumes after a restart from the offset the
// runtime stored for it.
package counter

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// Class is the connector.class; "counter" is its alias.
const Class = "com.example.CounterSourceConnector"

var (
	keySchema = connect.StructBuilder().Name("com.example.counter.Key").
			Field("id", connect.Prim(connect.Int64)).MustBuild()
	valueSchema = connect.StructBuilder().Name("com.example.counter.Value").
			Field("id", connect.Prim(connect.Int64)).
			Field("message", connect.Prim(connect.String)).
		// Connect's Timestamp logical type: epoch milliseconds.
		Field("emitted_at", connect.TimestampSchema().MustBuild()).MustBuild()
)

// Plugin describes the connector class to the runtime; the binary lists it
// in cli.Extensions.Plugins.
func Plugin() *connect.Plugin {
	return &connect.Plugin{
		Class:       Class,
		Aliases:     []string{"counter", "CounterSourceConnector"},
		Type:        connect.SourcePlugin,
		Version:     "1.0.0",
		Config:      Def,
		ExactlyOnce: connect.ExactlyOnceSupported,
		NewSourceTask: func(_ context.Context, cfg *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			return &task{
				topic:    cfg.String("topic"),
				count:    cfg.Int("count"),
				interval: cfg.Millis("interval.ms"),
				offsets:  tc.Offsets,
				// The source partition names what is counted, so that two
				// counters writing different topics keep separate offsets.
				partition: map[string]any{"counter": cfg.String("topic")},
			}, nil
		},
	}
}

// Def is the connector's own properties; the runtime adds its own
// (converters, transforms, errors.*, topic.creation.*).
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "topic", Type: config.TypeString, Required: true, Importance: config.High,
		Doc: "the topic the records are written to"})
	d.Define(config.Key{Name: "count", Type: config.TypeLong, Default: "0", HasDefault: true, Importance: config.Medium,
		Doc: "the id after which the counter stops emitting and waits, as a database source with no new changes does (0: never stops)",
		Validate: func(v string) error {
			if n, _ := strconv.ParseInt(v, 10, 64); n < 0 {
				return fmt.Errorf("must be 0 or more")
			}
			return nil
		}})
	d.Define(config.Key{Name: "interval.ms", Type: config.TypeLong, Default: "1000", HasDefault: true, Importance: config.Medium,
		Doc: "the time between two records",
		Validate: func(v string) error {
			if n, _ := strconv.ParseInt(v, 10, 64); n <= 0 {
				return fmt.Errorf("must be positive")
			}
			return nil
		}})
	return d
}

type task struct {
	topic     string
	count     int64
	interval  time.Duration
	offsets   connect.OffsetReader
	partition map[string]any
}

// Run emits records from the id after the last committed one. The
// runtime stores a record's offset only once Kafka has acknowledged it
// (and every record before it), so after a crash or a restart the counter
// goes on from the first id Kafka does not have.
func (t *task) Run(ctx context.Context, w connect.RecordWriter) error {
	next, err := t.resumeFrom(ctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for t.count == 0 || next < t.count {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			if err := w.Write(ctx, []*connect.Record{t.record(next, now)}); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("writing record %d: %w", next, err)
			}
			next++
		}
	}
	// Done counting: keep the task (and its committed offsets) until the
	// worker stops it.
	<-ctx.Done()
	return nil
}

func (t *task) record(id int64, now time.Time) *connect.Record {
	return &connect.Record{
		SourcePartition: t.partition,
		// The offset is the next id to emit, so resuming needs no +1.
		SourceOffset: map[string]any{"next": id + 1},
		Topic:        t.topic,
		Partition:    -1,
		KeySchema:    keySchema,
		Key:          connect.NewStruct(keySchema).Set("id", id),
		ValueSchema:  valueSchema,
		Value: connect.NewStruct(valueSchema).Set("id", id).
			Set("message", fmt.Sprintf("tick %d", id)).Set("emitted_at", now.UnixMilli()),
		Timestamp: now,
	}
}

// resumeFrom reads the stored offset. Offsets come back from the offset
// store decoded from JSON, so a number may be a json.Number or a float64
// rather than the int64 that was written.
func (t *task) resumeFrom(ctx context.Context) (int64, error) {
	off, err := t.offsets.Offset(ctx, t.partition)
	if err != nil {
		return 0, fmt.Errorf("reading the offset of %v: %w", t.partition, err)
	}
	if off == nil {
		return 0, nil
	}
	switch n := off["next"].(type) {
	case int64:
		return n, nil
	case float64:
		return int64(n), nil
	case json.Number:
		v, err := n.Int64()
		if err != nil {
			return 0, fmt.Errorf("stored offset %v: next: %w", off, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("stored offset %v of %v: next is %T, not a number", off, t.partition, off["next"])
}
