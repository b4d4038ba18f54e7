package connect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// A record as a source task writes it: a struct key and value, each with
// its schema, and the source partition and offset it was read at.
func Example_record() {
	keySchema := connect.StructBuilder().Name("shop.orders.Key").
		Field("id", connect.Prim(connect.Int64)).MustBuild()
	valueSchema := connect.StructBuilder().Name("shop.orders.Value").
		Field("id", connect.Prim(connect.Int64)).
		Field("customer", connect.OptionalPrim(connect.String)).
		Field("total", connect.DecimalSchema(2).MustBuild()).MustBuild()

	rec := &connect.Record{
		SourcePartition: map[string]any{"table": "orders"},
		SourceOffset:    map[string]any{"position": int64(42)},
		Topic:           "shop.orders",
		Partition:       -1, // the runtime partitions by key hash
		KeySchema:       keySchema,
		Key:             connect.NewStruct(keySchema).Set("id", int64(7)),
		ValueSchema:     valueSchema,
		Value: connect.NewStruct(valueSchema).Set("id", int64(7)).Set("customer", "ada").
			Set("total", connect.Decimal{Unscaled: big.NewInt(1999), Scale: 2}),
	}

	v := rec.Value.(*connect.StructValue)
	for _, f := range v.Schema.Fields {
		fmt.Printf("%s %s = %v\n", f.Name, f.Schema, v.Get(f.Name))
	}
	// A struct that lacks a field is refused with its name.
	fmt.Println(v.Put("discount", 5))
	// Output:
	// id int64 = 7
	// customer string? = ada
	// total org.apache.kafka.connect.data.Decimal:bytes = 19.99
	// struct "shop.orders.Value" has no field "discount"
}

// A source task driven by hand, as the runtime drives one: it resumes
// after the offset the runtime stored for its partition.
func Example_sourceTask() {
	store := offsetStore{}
	run := func(lines []string) {
		task := &linesTask{lines: lines, offsets: store}
		w := &printWriter{}
		if err := task.Run(context.Background(), w); err != nil {
			fmt.Println("task failed:", err)
		}
		// The runtime stores the offset of the last record Kafka
		// acknowledged; here every record is.
		last := w.recs[len(w.recs)-1]
		store[key(last.SourcePartition)] = last.SourceOffset
	}
	run([]string{"a", "b"})
	fmt.Println("-- restart, with a line appended")
	run([]string{"a", "b", "c"})
	// Output:
	// line 0: a
	// line 1: b
	// -- restart, with a line appended
	// line 2: c
}

// linesTask emits one record per line of an in-memory "file", its source
// offset being the next line to read.
type linesTask struct {
	lines   []string
	offsets connect.OffsetReader
}

var partition = map[string]any{"file": "in-memory"}

func (t *linesTask) Run(ctx context.Context, w connect.RecordWriter) error {
	next := int64(0)
	off, err := t.offsets.Offset(ctx, partition)
	if err != nil {
		return fmt.Errorf("reading the offset of %v: %w", partition, err)
	}
	if off != nil {
		n, err := off["line"].(json.Number).Int64()
		if err != nil {
			return fmt.Errorf("stored offset %v: %w", off, err)
		}
		next = n
	}
	for ; next < int64(len(t.lines)); next++ {
		rec := &connect.Record{
			SourcePartition: partition,
			SourceOffset:    map[string]any{"line": next + 1},
			Topic:           "lines",
			Partition:       -1,
			ValueSchema:     connect.Prim(connect.String),
			Value:           t.lines[next],
			Timestamp:       time.Now(),
		}
		if err := w.Write(ctx, []*connect.Record{rec}); err != nil {
			return fmt.Errorf("writing line %d: %w", next, err)
		}
	}
	// A streaming source would now wait for more; this one is done.
	return nil
}

// printWriter is the runtime's side of the RecordWriter: it prints what
// it is given.
type printWriter struct{ recs []*connect.Record }

func (w *printWriter) Write(_ context.Context, recs []*connect.Record) error {
	for _, r := range recs {
		fmt.Printf("line %d: %v\n", r.SourceOffset["line"].(int64)-1, r.Value)
	}
	w.recs = append(w.recs, recs...)
	return nil
}

// offsetStore keeps offsets as the runtime's stores do: as JSON, so that
// numbers come back as json.Number.
type offsetStore map[string]map[string]any

func (s offsetStore) Offset(_ context.Context, p map[string]any) (map[string]any, error) {
	off, ok := s[key(p)]
	if !ok {
		return nil, nil
	}
	b, err := json.Marshal(off)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var out map[string]any
	return out, dec.Decode(&out)
}

func key(p map[string]any) string {
	b, _ := json.Marshal(p)
	return string(b)
}

// A transform, as a custom binary registers it in cli.Extensions: it
// renames the topic, keeping the record otherwise.
func ExampleTransform() {
	var newPrefix connect.TransformFactory = func(props map[string]string) (connect.Transform, error) {
		p, ok := props["prefix"]
		if !ok {
			return nil, fmt.Errorf("prefix: missing required property")
		}
		return prefixTopic(p), nil
	}
	t, err := newPrefix(map[string]string{"type": "com.example.PrefixTopic", "prefix": "cdc."})
	if err != nil {
		panic(err)
	}
	out, _ := t.Apply(&connect.Record{Topic: "orders", Value: "v"})
	fmt.Println(out.Topic)
	_, err = newPrefix(map[string]string{"type": "com.example.PrefixTopic"})
	fmt.Println(err)
	// Output:
	// cdc.orders
	// prefix: missing required property
}

type prefixTopic string

func (p prefixTopic) Apply(rec *connect.Record) (*connect.Record, error) {
	out := *rec // the task may still hold rec
	out.Topic = string(p) + rec.Topic
	return &out, nil
}

// A connector class: the binary lists it (cli.Extensions.Plugins), the
// runtime finds it by connector.class and parses the connector's
// properties with its Config before creating its task.
func Example_plugin() {
	plugin := &connect.Plugin{
		Class:   "com.example.LinesSourceConnector",
		Aliases: []string{"lines"},
		Type:    connect.SourcePlugin,
		Config: func() *config.Def {
			return config.NewDef().Define(config.Key{Name: "topic", Type: config.TypeString, Required: true, Doc: "the topic to write to"})
		},
		NewSourceTask: func(_ context.Context, cfg *config.Values, tc connect.TaskContext) (connect.SourceTask, error) {
			return &linesTask{lines: []string{cfg.String("topic")}, offsets: tc.Offsets}, nil
		},
	}
	p, ok := connect.Plugins{plugin}.Lookup("lines")
	fmt.Println(ok, p.Class, p.Type)
	_, err := p.Config().Parse(map[string]string{"topics": "x"})
	fmt.Println(err)
	// Output:
	// true com.example.LinesSourceConnector source
	// invalid configuration: topics: unknown property (did you mean "topic"?); topic: missing required property (the topic to write to)
}
