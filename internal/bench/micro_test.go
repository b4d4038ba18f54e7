package bench

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testdb"
)

// The micro-benchmarks take real snapshot records of the bench table from
// the PostgreSQL connector once, then time the per-record work of the
// runtime (transforms, converters, offset tracking, hand-off to the
// producer) without a database or broker in the loop.

var (
	pgRecordsOnce sync.Once
	pgRecords     []*connect.Record
	pgRecordsErr  error
)

type capture struct {
	mu   sync.Mutex
	recs []*connect.Record
	want int
	done chan struct{}
}

func (c *capture) Write(_ context.Context, recs []*connect.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, recs...)
	if len(c.recs) >= c.want {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	return nil
}

func capturedPGRecords(b *testing.B) []*connect.Record {
	b.Helper()
	if testing.Short() {
		b.Skip("needs PostgreSQL")
	}
	pgRecordsOnce.Do(func() {
		pgRecords, pgRecordsErr = capturePG(b)
	})
	if pgRecordsErr != nil {
		b.Fatal(pgRecordsErr)
	}
	return pgRecords
}

func capturePG(b *testing.B) ([]*connect.Record, error) {
	const rows = 1000
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pg, err := testdb.NewPostgres(ctx, "", nil)
	if err != nil {
		return nil, err
	}
	defer pg.Close()
	e := &env{cfg: Config{Rows: rows}, pg: pg, tables: map[string]bool{}, report: &Report{}, log: discardLogger()}
	if err := pg.CreateDatabaseContext(ctx, pgDB); err != nil {
		return nil, err
	}
	if err := e.ensurePGTable(ctx); err != nil {
		return nil, err
	}
	props := e.pgSourceProps("pgsnap", "unused")
	props["snapshot.mode"] = "initial_only"
	c, err := runtime.ParseConnector(connect.Plugins{postgres.Plugin()}, config.Connector{Name: "capture", Config: props})
	if err != nil {
		return nil, err
	}
	task, err := c.Plugin.NewSourceTask(ctx, c.Values, connect.TaskContext{ConnectorName: "capture", Logger: slog.New(slog.DiscardHandler),
		Offsets: runtime.OffsetReader{Store: offsets.NewMemory(), Connector: "capture"}})
	if err != nil {
		return nil, err
	}
	w := &capture{want: rows, done: make(chan struct{})}
	if err := task.Run(ctx, w); err != nil {
		return nil, err
	}
	if len(w.recs) != rows {
		return nil, fmt.Errorf("captured %d records, want %d", len(w.recs), rows)
	}
	return w.recs, nil
}

// BenchmarkJSONConvertPGEvent converts the key and value of one snapshot
// event of the 10-column table with JsonConverter (schemas enabled), as
// the runtime builds it (NewJSON: schema cache) and as a bare JSON{}.
func BenchmarkJSONConvertPGEvent(b *testing.B) {
	recs := capturedPGRecords(b)
	for _, bc := range []struct {
		name string
		mk   func() converter.Converter
	}{
		{"runtime", func() converter.Converter { c, _ := converter.NewJSON(nil); return c }},
		{"uncached", func() converter.Converter { return &converter.JSON{SchemasEnabled: true} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			kc, vc := bc.mk(), bc.mk()
			var size int
			for _, r := range recs[:10] {
				k, _ := kc.FromConnect(r.Topic, r.KeySchema, r.Key)
				v, _ := vc.FromConnect(r.Topic, r.ValueSchema, r.Value)
				size += len(k) + len(v)
			}
			b.SetBytes(int64(size / 10))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := recs[i%len(recs)]
				if _, err := kc.FromConnect(r.Topic, r.KeySchema, r.Key); err != nil {
					b.Fatal(err)
				}
				if _, err := vc.FromConnect(r.Topic, r.ValueSchema, r.Value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// replayTask writes the captured records n times in batches of 1000.
type replayTask struct {
	recs []*connect.Record
	n    int
}

func (t *replayTask) Run(ctx context.Context, w connect.RecordWriter) error {
	for sent := 0; sent < t.n; {
		k := min(len(t.recs), t.n-sent)
		if err := w.Write(ctx, t.recs[:k]); err != nil {
			return err
		}
		sent += k
	}
	return nil
}

// ackSender acknowledges every message as soon as it is sent.
type ackSender struct{}

func (ackSender) Send(_ context.Context, m *sarama.ProducerMessage) error {
	if p, ok := m.Metadata.(*kafka.Pending); ok && p.Ack != nil {
		p.Ack(nil)
	}
	return nil
}

// BenchmarkRuntimeWritePGEvents is the runtime's whole per-record path
// for snapshot events: offset tracking, conversion, producer hand-off and
// acknowledgement, with a producer that acknowledges immediately.
func BenchmarkRuntimeWritePGEvents(b *testing.B) {
	recs := capturedPGRecords(b)
	b.ReportAllocs()
	b.ResetTimer()
	src := &runtime.Source{Name: "bench", Task: &replayTask{recs: recs, n: b.N}, Producer: ackSender{}, Offsets: offsets.NewMemory(),
		KeyConverter: jsonConverter(b), ValueConverter: jsonConverter(b), Logger: slog.New(slog.DiscardHandler)}
	if err := src.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := src.Stats.Written.Load(); got != int64(b.N) {
		b.Fatalf("written %d, want %d", got, b.N)
	}
}

func jsonConverter(b *testing.B) converter.Converter {
	c, err := converter.NewJSON(nil)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkJSONToConnectPGEvent decodes the key and value of one snapshot
// event as a sink does (sinkrunner -> JsonConverter.ToConnect).
func BenchmarkJSONToConnectPGEvent(b *testing.B) {
	recs := capturedPGRecords(b)
	enc := &converter.JSON{SchemasEnabled: true}
	type kv struct{ k, v []byte }
	msgs := make([]kv, len(recs))
	size := 0
	for i, r := range recs {
		k, _ := enc.FromConnect(r.Topic, r.KeySchema, r.Key)
		v, _ := enc.FromConnect(r.Topic, r.ValueSchema, r.Value)
		msgs[i] = kv{k, v}
		size += len(k) + len(v)
	}
	for _, bc := range []struct {
		name string
		mk   func() converter.Converter
	}{
		{"runtime", func() converter.Converter { c, _ := converter.NewJSON(nil); return c }},
		{"uncached", func() converter.Converter { return &converter.JSON{SchemasEnabled: true} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			kc, vc := bc.mk(), bc.mk()
			b.SetBytes(int64(size / len(msgs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := msgs[i%len(msgs)]
				if _, _, err := kc.ToConnect("t", m.k); err != nil {
					b.Fatal(err)
				}
				if _, _, err := vc.ToConnect("t", m.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
