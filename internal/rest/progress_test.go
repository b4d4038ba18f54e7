package rest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/metrics"
)

// progressPlugin is a source whose task reports snapshot progress as the
// MySQL and PostgreSQL connectors do (through the task's metrics) and then
// waits.
func progressPlugin() *connect.Plugin {
	return &connect.Plugin{
		Class: "test.Progress", Type: connect.SourcePlugin, Version: "1.0.0",
		Config: func() *config.Def { return config.NewDef() },
		NewSourceTask: func(context.Context, *config.Values, connect.TaskContext) (connect.SourceTask, error) {
			return progressTask{}, nil
		},
	}
}

type progressTask struct{}

func (progressTask) Run(ctx context.Context, _ connect.RecordWriter) error {
	m := metrics.ForTask(ctx)
	m.SnapshotStarted(2)
	done := m.StartProgress("inventory.a", 100, "initial")
	done.Rows(100)
	done.Done()
	p := m.StartProgress("inventory.b", 1000, "initial")
	p.Rows(250)
	<-ctx.Done()
	return nil
}

// TestStatusSnapshotProgress: a task's snapshot progress is in its REST
// status as the extra field "snapshot", next to Kafka Connect's fields.
func TestStatusSnapshotProgress(t *testing.T) {
	w := startWorker(t, workerOpts{plugins: connect.Plugins{progressPlugin()}})
	expect(t, w.call(t, "PUT", "/connectors/prog/config", `{"connector.class": "test.Progress"}`), http.StatusCreated, "")
	var st herder.ConnectorStateInfo
	eventually(t, 30*time.Second, "snapshot progress in the status", func() (bool, string) {
		r := w.call(t, "GET", "/connectors/prog/status", "")
		r.json(t, &st)
		ok := len(st.Tasks) == 1 && len(st.Tasks[0].Snapshot) == 2
		return ok, string(r.body)
	})
	a, b := st.Tasks[0].Snapshot[0], st.Tasks[0].Snapshot[1]
	if a.Table != "inventory.a" || !a.Done || a.Rows != 100 || a.ETASeconds != 0 {
		t.Errorf("finished table: %+v", a)
	}
	if b.Table != "inventory.b" || b.Done || b.Rows != 250 || b.EstimatedRows != 1000 || b.Kind != "initial" {
		t.Errorf("table in progress: %+v", b)
	}
	var ts herder.TaskState
	r := w.call(t, "GET", "/connectors/prog/tasks/0/status", "")
	r.json(t, &ts)
	if len(ts.Snapshot) != 2 {
		t.Errorf("task status without the snapshot progress: %s", r.body)
	}
}
