// Package herdertest provides a tiny source connector for tests of the
// herder, the REST API and distributed mode: it counts. Every record
// carries the next sequence number of its source partition, so a consumer
// can check that nothing was lost across restarts, rebalances and worker
// crashes (duplicates are allowed: delivery is at least once).
package herdertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/signal"
)

// CounterClass is the connector class of the counting source.
const CounterClass = "io.tributary.test.CounterSourceConnector"

// CounterPlugin returns the counting source connector.
//
// Properties: topic (required); counter.interval.ms (default 20) between
// records; counter.batch (default 1) records per write; counter.server
// (default: the connector name) names the source partition
// {"server": ...}; counter.fail.file makes the task fail at start while
// that file exists (to test FAILED statuses and automatic restarts);
// counter.unreachable=true makes validation fail as a connector whose
// database cannot be reached does; counter.leak.password=true makes those
// failures (and a log line of the task) quote counter.password, as a
// careless driver quoting its connection string would, to test that the
// worker hides it.
//
// Signals sent through the REST API (POST /connectors/{name}/signals)
// reach the task, which writes each one's id to the topic <topic>.signals
// (key: the id, value: the record count so far), so that a test can see
// that a signal reached the worker running the task.
func CounterPlugin() *connect.Plugin {
	return &connect.Plugin{
		Class:   CounterClass,
		Aliases: []string{"counter"},
		Type:    connect.SourcePlugin,
		Version: "1.0.0",
		Config: func() *config.Def {
			d := config.NewDef()
			d.Define(config.Key{Name: "topic", Required: true, Importance: config.High, Doc: "topic to write to", Group: "Counter"})
			d.Define(config.Key{Name: "counter.interval.ms", Type: config.TypeLong, Default: "20", Group: "Counter", Doc: "pause between writes"})
			d.Define(config.Key{Name: "counter.batch", Type: config.TypeInt, Default: "1", Group: "Counter", Doc: "records per write"})
			d.Define(config.Key{Name: "counter.server", Group: "Counter", Doc: "source partition name"})
			d.Define(config.Key{Name: "counter.fail.file", Group: "Counter", Doc: "fail at start while this file exists"})
			d.Define(config.Key{Name: "counter.unreachable", Type: config.TypeBoolean, Default: "false", Group: "Counter", Doc: "fail validation"})
			d.Define(config.Key{Name: "counter.password", Type: config.TypePassword, Group: "Counter", Doc: "a secret"})
			d.Define(config.Key{Name: "counter.leak.password", Type: config.TypeBoolean, Default: "false", Group: "Counter",
				Doc: "quote counter.password in failures and logs"})
			return d
		},
		Validate: func(_ context.Context, v *config.Values) error {
			if v.Bool("counter.unreachable") {
				if v.Bool("counter.leak.password") {
					return fmt.Errorf("unable to connect with password %s: connection refused", v.String("counter.password"))
				}
				return errors.New("unable to connect: connection refused")
			}
			return nil
		},
		NewSourceTask: func(_ context.Context, v *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			server := v.String("counter.server")
			if server == "" {
				server = tc.ConnectorName
			}
			t := &counterTask{name: tc.ConnectorName, topic: v.String("topic"), interval: v.Millis("counter.interval.ms"), batch: int(v.Int("counter.batch")),
				partition: map[string]any{"server": server}, failFile: v.String("counter.fail.file"), offsets: tc.Offsets}
			if v.Bool("counter.leak.password") {
				t.leak = v.String("counter.password")
				if tc.Logger != nil {
					tc.Logger.Info("counter: logging in with password " + t.leak)
				}
			}
			return t, nil
		},
	}
}

type counterTask struct {
	name      string
	topic     string
	interval  time.Duration
	batch     int
	partition map[string]any
	failFile  string
	offsets   connect.OffsetReader
	leak      string // quoted in the start failure (counter.leak.password)
}

var valueSchema = connect.Prim(connect.Int64)
var keySchema = connect.Prim(connect.String)

func (t *counterTask) Run(ctx context.Context, w connect.RecordWriter) error {
	if t.failFile != "" {
		if _, err := os.Stat(t.failFile); err == nil {
			if t.leak != "" {
				return fmt.Errorf("counter: cannot start while %s exists (logged in with password %s)", t.failFile, t.leak)
			}
			return fmt.Errorf("counter: cannot start while %s exists", t.failFile)
		}
	}
	next := int64(0)
	off, err := t.offsets.Offset(ctx, t.partition)
	if err != nil {
		return fmt.Errorf("counter: reading offset: %w", err)
	}
	if off != nil {
		seq, ok := off["seq"].(int64)
		if !ok {
			return fmt.Errorf("counter: offset %v has no integer seq", off)
		}
		next = seq + 1
	}
	if t.batch < 1 {
		t.batch = 1
	}
	server, _ := t.partition["server"].(string)
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	signals := make(chan signal.Record, 1)
	defer signal.InboxesFrom(ctx).Register(t.name, signals)()
	for {
		recs := make([]*connect.Record, 0, t.batch)
		for i := 0; i < t.batch; i++ {
			recs = append(recs, &connect.Record{SourcePartition: t.partition, SourceOffset: map[string]any{"seq": next},
				Topic: t.topic, Partition: -1, KeySchema: keySchema, Key: server, ValueSchema: valueSchema, Value: next,
				Timestamp: time.Now()})
			next++
		}
		if err := w.Write(ctx, recs); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case sig := <-signals:
			rec := &connect.Record{SourcePartition: t.partition, SourceOffset: map[string]any{"seq": next - 1},
				Topic: t.topic + ".signals", Partition: -1, KeySchema: keySchema, Key: sig.ID, ValueSchema: valueSchema, Value: next,
				Timestamp: time.Now()}
			if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}
