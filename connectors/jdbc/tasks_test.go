package jdbc

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// TestTablesSplitAcrossTasks runs three tasks of one connector over ten
// tables: every table is copied by exactly one task, all of its rows, and
// a custom query runs in one task whatever tasks.max says.
func TestTablesSplitAcrossTasks(t *testing.T) {
	for _, e := range startEnvs(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.newDB(t)
			for i := 0; i < 10; i++ {
				e.exec(t, db, fmt.Sprintf("CREATE TABLE tbl%d (id INT PRIMARY KEY, v INT)", i),
					fmt.Sprintf("INSERT INTO tbl%d VALUES (1, %d), (2, %d)", i, i, i))
			}
			props := baseProps(e, db, "mode", "incrementing", "incrementing.column.name", "id")
			const tasks = 3
			copiedBy := map[string]int{} // topic: task
			rows := 0
			offs := newOffsets()
			for id := 0; id < tasks; id++ {
				s, err := parseProps(props)
				if err != nil {
					t.Fatal(err)
				}
				s.log = slog.New(slog.NewTextHandler(tWriter{t}, nil))
				tk := newTask(s, connect.TaskContext{ConnectorName: "split", TaskID: id, TaskCount: tasks, Offsets: offs})
				t.Cleanup(func() {
					if tk.d != nil {
						tk.d.close()
					}
				})
				for _, r := range mustPoll(t, tk, &capture{offsets: offs}) {
					if prev, ok := copiedBy[r.Topic]; ok && prev != id {
						t.Fatalf("%s copied by tasks %d and %d", r.Topic, prev, id)
					}
					copiedBy[r.Topic] = id
					rows++
				}
			}
			if len(copiedBy) != 10 || rows != 20 {
				t.Fatalf("%d tables, %d rows copied: %v", len(copiedBy), rows, copiedBy)
			}
			perTask := map[int]int{}
			for _, id := range copiedBy {
				perTask[id]++
			}
			t.Logf("tables per task: %v", perTask)
			if len(perTask) < 2 {
				t.Fatalf("all tables went to one task: %v", perTask)
			}
		})
	}
	// the runtime adds tasks.max to every connector's properties
	def := Def()
	def.Define(config.Key{Name: "tasks.max", Type: config.TypeInt, Default: "1"})
	for _, tc := range []struct {
		props map[string]string
		want  int
	}{
		{map[string]string{"connection.url": "jdbc:postgresql://h/db", "mode": "bulk", "query": "SELECT 1", "topic.prefix": "q", "tasks.max": "4"}, 1},
		{map[string]string{"connection.url": "jdbc:postgresql://h/db", "mode": "bulk", "topic.prefix": "q", "tasks.max": "4"}, 4},
	} {
		v, err := def.Parse(tc.props)
		if err != nil {
			t.Fatal(err)
		}
		if n := Plugin().MaxTasks(v); n != tc.want {
			t.Errorf("%v: %d tasks, want %d", tc.props, n, tc.want)
		}
	}
}
