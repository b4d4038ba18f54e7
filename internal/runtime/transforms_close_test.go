package runtime

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/transforms"
)

type closeCounter struct{ closed *atomic.Int32 }

func (c closeCounter) Apply(rec *connect.Record) (*connect.Record, error) { return rec, nil }
func (c closeCounter) Close() error                                       { c.closed.Add(1); return nil }

// TestSourceClosesTransforms: the task's transforms are closed once when
// it stops (Kafka's TransformationChain.close()), here after a failure.
func TestSourceClosesTransforms(t *testing.T) {
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	var closed atomic.Int32
	r := transforms.Builtin(nil)
	r["com.example.Res"] = transforms.Class{Transform: func(map[string]string) (connect.Transform, error) {
		return closeCounter{closed: &closed}, nil
	}}
	vals, err := transforms.Def().Parse(map[string]string{"transforms": "r", "transforms.r.type": "com.example.Res"})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := r.Build(vals)
	if err != nil {
		t.Fatal(err)
	}
	store := offsets.NewMemory()
	task := &countingTask{n: 20, failAt: 10}
	task.offsets = OffsetReader{Store: store, Connector: "c"}
	src, p := newTestSource(t, broker, store, task)
	defer p.Close()
	src.Transforms = chain
	if err := src.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded; the task fails at record 10")
	}
	if n := closed.Load(); n != 1 {
		t.Fatalf("transform closed %d times, want once", n)
	}
}
