package herdertest

import (
	"context"
	"fmt"
	"sync"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// CollectorClass is the connector class of the collecting sink.
const CollectorClass = "io.tributary.test.CollectorSinkConnector"

// Collector is a sink whose tasks keep every record they are given, per
// connector, for tests to inspect.
type Collector struct {
	mu     sync.Mutex
	recs   map[string][]*connect.Record
	byTask map[string]map[int]int
}

// NewCollector returns an empty collector.
func NewCollector() *Collector {
	return &Collector{recs: map[string][]*connect.Record{}, byTask: map[string]map[int]int{}}
}

// TaskRecords returns how many records each task of the connector
// received so far.
func (c *Collector) TaskRecords(connector string) map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for id, n := range c.byTask[connector] {
		out[id] = n
	}
	return out
}

// Records returns what the connector's tasks received so far.
func (c *Collector) Records(connector string) []*connect.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*connect.Record(nil), c.recs[connector]...)
}

// Plugin returns the sink connector plugin.
func (c *Collector) Plugin() *connect.Plugin {
	return &connect.Plugin{
		Class:   CollectorClass,
		Aliases: []string{"collector"},
		Type:    connect.SinkPlugin,
		Version: "1.0.0",
		// tasks.max tasks share the topics' partitions, as Kafka
		// Connect's sinks do
		MaxTasks: func(v *config.Values) int { return int(v.Int("tasks.max")) },
		Config: func() *config.Def {
			d := config.NewDef()
			d.Define(config.Key{Name: "collector.fail", Type: config.TypeBoolean, Default: "false", Doc: "fail every put"})
			return d
		},
		NewSinkTask: func(_ context.Context, v *config.Values, tc connect.TaskContext) (connect.SinkTask, error) {
			return &collectorTask{c: c, name: tc.ConnectorName, id: tc.TaskID, fail: v.Bool("collector.fail")}, nil
		},
	}
}

type collectorTask struct {
	c    *Collector
	name string
	id   int
	fail bool
}

func (t *collectorTask) Put(_ context.Context, recs []*connect.Record) error {
	if t.fail {
		return fmt.Errorf("collector: refusing %d records", len(recs))
	}
	t.c.mu.Lock()
	t.c.recs[t.name] = append(t.c.recs[t.name], recs...)
	if t.c.byTask[t.name] == nil {
		t.c.byTask[t.name] = map[int]int{}
	}
	t.c.byTask[t.name][t.id] += len(recs)
	t.c.mu.Unlock()
	return nil
}

func (t *collectorTask) Close() error { return nil }
