package herder

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigRecordsAreKafkaConnects(t *testing.T) {
	ctx := context.Background()
	var lines []string
	rec := func(recs ...kv) {
		for _, r := range recs {
			v := "<tombstone>"
			if r.value != nil {
				v = string(r.value)
			}
			lines = append(lines, r.key+" => "+v)
		}
	}
	props := map[string]string{"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "name": "inventory", "topic.prefix": "dbserver1"}
	rec(kv{connectorPrefix + "inventory", encodeProperties(props)})
	rec(taskRecords("inventory", []map[string]string{{"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "task.class": "io.debezium.connector.postgresql.PostgresConnectorTask"}})...)
	rec(kv{commitPrefix + "inventory", commitValue(1)})
	for _, s := range []TargetState{TargetStarted, TargetPaused, TargetStopped} {
		rec(kv{targetStatePrefix + "inventory", encodeTargetState(s)})
	}
	rec(kv{restartPrefix + "inventory", restartValue(RestartRequest{Connector: "inventory", IncludeTasks: true})})
	rec(kv{loggerPrefix + "io.debezium", loggerValue("DEBUG")})
	rec(kv{connectorStatusPrefix + "inventory", encodeStatus(Status{State: StateRunning, WorkerID: "10.0.0.5:8083", Generation: 3})})
	rec(kv{taskStatusKey(TaskID{"inventory", 0}), encodeStatus(Status{State: StateFailed, Trace: "org.apache.kafka.connect.errors.ConnectException: boom\n\tat x", WorkerID: "10.0.0.5:8083", Generation: 4})})
	rec(kv{topicStatusKey("inventory", "dbserver1.public.customers"), encodeTopicStatus(TopicStatus{Topic: "dbserver1.public.customers", Connector: "inventory", Task: 0, DiscoverTimestamp: 1700000000123})})
	got := strings.Join(lines, "\n") + "\n"
	path := filepath.Join("testdata", "internal_topic_records.txt")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.MkdirAll("testdata", 0o755)
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("records differ from %s:\n%s", path, got)
	}
	_ = ctx
}

func TestConfigStateReadsKafkaConnectRecords(t *testing.T) {
	s := newConfigState(testLog())
	off := int64(0)
	apply := func(key, value string) []configEvent {
		var v []byte
		if value != "" {
			v = []byte(value)
		}
		evs := s.apply(key, v, off)
		off++
		return evs
	}
	kinds := func(evs []configEvent) string {
		var out []string
		for _, e := range evs {
			out = append(out, fmt.Sprintf("%d:%s", e.kind, e.connector))
		}
		return strings.Join(out, ",")
	}
	if got := kinds(apply("connector-pg-1", `{"properties":{"connector.class":"PostgresConnector","tasks.max":"1","null.prop":null}}`)); got != "0:pg-1" {
		t.Fatalf("connector events %q", got)
	}
	if s.cc.Target("pg-1") != TargetStarted || s.cc.Connectors["pg-1"]["tasks.max"] != "1" || len(s.cc.Connectors["pg-1"]) != 2 {
		t.Fatalf("connector state %+v", s.cc)
	}
	// Task configs wait for their commit.
	apply("task-pg-1-0", `{"properties":{"a":"1"}}`)
	apply("task-pg-1-1", `{"properties":{"a":"2"}}`)
	if len(s.cc.Tasks("pg-1")) != 0 {
		t.Fatal("tasks applied before their commit")
	}
	if got := kinds(apply("commit-pg-1", `{"tasks":2}`)); got != "2:pg-1" {
		t.Fatalf("commit events %q", got)
	}
	if ts := s.cc.Tasks("pg-1"); !reflect.DeepEqual(ts, []TaskID{{"pg-1", 0}, {"pg-1", 1}}) || s.cc.TaskConfigs[TaskID{"pg-1", 1}]["a"] != "2" {
		t.Fatalf("tasks %v", ts)
	}
	// Compaction removed one task config of a later generation: the
	// connector is inconsistent until a complete set is committed.
	apply("task-pg-1-1", `{"properties":{"a":"3"}}`)
	apply("commit-pg-1", `{"tasks":2}`)
	if !s.cc.Inconsistent["pg-1"] || len(s.cc.Tasks("pg-1")) != 0 {
		t.Fatalf("incomplete commit accepted: %+v", s.cc)
	}
	apply("task-pg-1-0", `{"properties":{"a":"4"}}`)
	apply("commit-pg-1", `{"tasks":1}`)
	if s.cc.Inconsistent["pg-1"] || len(s.cc.Tasks("pg-1")) != 1 || s.cc.TaskConfigs[TaskID{"pg-1", 0}]["a"] != "4" {
		t.Fatalf("complete commit not applied: %+v", s.cc)
	}
	if _, ok := s.cc.TaskConfigs[TaskID{"pg-1", 1}]; ok {
		t.Fatal("task beyond the committed count kept")
	}
	// Target states from workers before and after KIP-875.
	apply("target-state-pg-1", `{"state":"PAUSED"}`)
	if s.cc.Target("pg-1") != TargetPaused {
		t.Fatal("old-style target state")
	}
	if got := kinds(apply("target-state-pg-1", `{"state":"PAUSED","state.v2":"STOPPED"}`)); got != "3:pg-1" || s.cc.Target("pg-1") != TargetStopped {
		t.Fatalf("v2 target state: %q %v", got, s.cc.Target("pg-1"))
	}
	if got := kinds(apply("restart-connector-pg-1", `{"include-tasks":true,"only-failed":true}`)); got != "4:pg-1" {
		t.Fatalf("restart events %q", got)
	}
	// Records Tributary does not use are skipped, as are unreadable ones.
	for _, k := range []string{"session-key", "tasks-fencing-pg-1", "bogus", "connector-bad"} {
		if evs := apply(k, `{"key":"abc","algorithm":"HmacSHA256","creation-timestamp":1}`); len(evs) != 0 {
			t.Fatalf("%s produced %v", k, evs)
		}
	}
	if s.cc.Contains("bad") {
		t.Fatal("config without properties accepted")
	}
	// Deletion: tombstones for the config and the target state.
	if got := kinds(apply("connector-pg-1", "")); got != "1:pg-1" {
		t.Fatalf("delete events %q", got)
	}
	apply("target-state-pg-1", "")
	if s.cc.Contains("pg-1") || len(s.cc.TaskConfigs) != 0 || len(s.cc.Targets) != 0 {
		t.Fatalf("deleted connector kept: %+v", s.cc)
	}
	if s.cc.Offset != off {
		t.Fatalf("offset %d, want %d", s.cc.Offset, off)
	}
}

func TestStatusStateReadsKafkaConnectRecords(t *testing.T) {
	st := newStatusState()
	log := testLog()
	st.apply("status-connector-my-conn", []byte(`{"state":"FAILED","trace":"java.lang.RuntimeException: x","worker_id":"w:8083","generation":7}`), log)
	st.apply("status-task-my-conn-2", []byte(`{"state":"RUNNING","trace":null,"worker_id":"w:8083","generation":7}`), log)
	st.apply("status-topic-my.topic:connector-my-conn", []byte(`{"topic":{"name":"my.topic","connector":"my-conn","task":2,"discoverTimestamp":1}}`), log)
	if c := st.connectors["my-conn"]; c.State != StateFailed || c.Trace != "java.lang.RuntimeException: x" || c.Generation != 7 {
		t.Fatalf("connector %+v", c)
	}
	if ts := st.tasksOf("my-conn"); ts[2].State != StateRunning || ts[2].WorkerID != "w:8083" {
		t.Fatalf("tasks %+v", ts)
	}
	if tp := st.topicsOf("my-conn"); len(tp) != 1 || tp[0].Topic != "my.topic" || tp[0].Task != 2 {
		t.Fatalf("topics %+v", tp)
	}
	st.apply("status-task-my-conn-2", nil, log)
	st.apply("status-topic-my.topic:connector-my-conn", nil, log)
	if len(st.tasksOf("my-conn")) != 0 || len(st.topicsOf("my-conn")) != 0 {
		t.Fatal("tombstones ignored")
	}
}

func testLog() *slog.Logger {
	if os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
