package rest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/kafka"
)

// TestSinkTasksMax runs a sink with tasks.max=2 on a topic of four
// partitions: two tasks are reported, and both receive records (the
// connector's consumer group splits the partitions between them).
func TestSinkTasksMax(t *testing.T) {
	w := startWorker(t, workerOpts{})
	// one key in partitions 0-1, one in 2-3: the range assignor gives each
	// task one half
	var low, high string
	for i := 0; low == "" || high == ""; i++ {
		k := fmt.Sprintf("k%d", i)
		if p := kafka.PartitionForKey([]byte(k), 4); p < 2 && low == "" {
			low = k
		} else if p >= 2 && high == "" {
			high = k
		}
	}
	for i, key := range []string{low, high} {
		expect(t, w.call(t, "POST", "/connectors", counterConfig(fmt.Sprintf("src%d", i), "spread", "counter.server", key,
			"topic.creation.default.partitions", "4", "topic.creation.default.replication.factor", "-1")), 201, "")
		w.waitStatus(t, fmt.Sprintf("src%d", i), "RUNNING", "RUNNING")
	}
	expect(t, w.call(t, "POST", "/connectors", `{"name":"sink","config":{"connector.class":"collector","topics":"spread","tasks.max":"2",`+
		`"key.converter":"org.apache.kafka.connect.storage.StringConverter","value.converter":"org.apache.kafka.connect.json.JsonConverter",`+
		`"value.converter.schemas.enable":"false"}}`), 201, "")
	w.waitStatus(t, "sink", "RUNNING", "RUNNING", "RUNNING")
	eventually(t, 30*time.Second, "both tasks receive records", func() (bool, string) {
		n := w.collector.TaskRecords("sink")
		return len(n) == 2 && n[0] > 0 && n[1] > 0, fmt.Sprint(n)
	})
	r := w.call(t, "GET", "/connectors/sink/tasks", "")
	expect(t, r, 200, "")
	var tasks []struct {
		ID struct {
			Task int `json:"task"`
		} `json:"id"`
	}
	r.json(t, &tasks)
	if len(tasks) != 2 || tasks[1].ID.Task != 1 {
		t.Fatalf("tasks %s", r.body)
	}
	// Debezium-style connectors keep one task whatever tasks.max says.
	expect(t, w.call(t, "POST", "/connectors", counterConfig("one", "single", "tasks.max", "3")), 201, "")
	w.waitStatus(t, "one", "RUNNING", "RUNNING")
}
