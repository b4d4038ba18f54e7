package crashtest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

// ExactlyOnceIterations is the number of kills of an exactly-once crash
// test: 3, or 20 with TRIBUTARY_FAULT_TESTS=1 or TRIBUTARY_LONG_TESTS=1.
func ExactlyOnceIterations() int {
	if os.Getenv("TRIBUTARY_FAULT_TESTS") == "1" || os.Getenv("TRIBUTARY_LONG_TESTS") == "1" {
		return 20
	}
	return 3
}

// RunSourceExactlyOnce runs the source connector as `tributary run` does
// with exactly.once.source.support=enabled: offsets in the Kafka topic
// "connect-offsets" read at read_committed, records and offsets written
// in Kafka transactions (transaction.boundary from the connector's
// properties), until the process is killed.
func RunSourceExactlyOnce(t *testing.T, s Source) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	worker := map[string]string{"offset.flush.interval.ms": "100", "offset.storage.topic": "connect-offsets",
		"offset.storage.partitions": "1", "exactly.once.source.support": "enabled"}
	wv, err := runtime.WorkerDef().Parse(worker)
	if err != nil {
		t.Fatal(err)
	}
	eos, err := runtime.WorkerExactlyOnce(wv, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := runtime.ParseConnector(connect.Plugins{s.Plugin}, config.Connector{Name: s.Name, Config: s.Props})
	if err != nil {
		t.Fatal(err)
	}
	if errs := eos.Check(c); len(errs) > 0 {
		t.Fatal(errs)
	}
	sc, err := runtime.ConnectorSaramaConfig(mustSarama(t, s.Brokers), worker, c, s.Brokers)
	if err != nil {
		t.Fatal(err)
	}
	store, err := runtime.OpenKafkaOffsets(ctx, s.Brokers, sc, "connect-offsets", 1, true, log)
	if err != nil {
		t.Fatal(err)
	}
	rawKafka, err := kafka.NewRaw(s.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	deps := runtime.SourceDeps{Raw: rawKafka, Converters: &converter.Factory{}, Transforms: transforms.Builtin(log),
		Offsets: store, Worker: worker, Logger: log}
	if _, err := eos.PrepareSource(ctx, c, 0, s.Brokers, sc, &deps, log); err != nil {
		t.Fatal(err)
	}
	src, err := runtime.NewSource(ctx, c, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustSarama(t *testing.T, brokers []string) *sarama.Config {
	t.Helper()
	sc, err := kafka.ClientConfig{Brokers: brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Event is one Debezium change event read back from Kafka.
type Event struct {
	Partition int32
	Offset    int64
	ID        int64 // the row's id (after, or before for deletes)
	Op        string
	Source    map[string]any
}

// ReadCommitted reads every record of topic with kcat (librdkafka, an
// independent client) at isolation.level=read_committed and decodes the
// Debezium change events (JsonConverter without schemas) of rows with an
// "id" column; tombstones and other records are skipped.
func ReadCommitted(t *testing.T, brokers []string, topic string) []Event {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	out, err := exec.Command("kcat", "-C", "-b", strings.Join(brokers, ","), "-t", topic, "-o", "beginning", "-e", "-q", "-J",
		"-X", "isolation.level=read_committed").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	var evs []Event
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m struct {
			Partition int32   `json:"partition"`
			Offset    int64   `json:"offset"`
			Payload   *string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("kcat output %q: %v", line, err)
		}
		if m.Payload == nil {
			continue
		}
		var v struct {
			Before, After *struct {
				ID *int64 `json:"id"`
			}
			Op     string         `json:"op"`
			Source map[string]any `json:"source"`
		}
		dec := json.NewDecoder(strings.NewReader(*m.Payload))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("record value %s: %v", *m.Payload, err)
		}
		row := v.After
		if row == nil {
			row = v.Before
		}
		if row == nil || row.ID == nil || v.Op == "" {
			continue
		}
		evs = append(evs, Event{Partition: m.Partition, Offset: m.Offset, ID: *row.ID, Op: v.Op, Source: v.Source})
	}
	return evs
}

// Report is what an exactly-once check found.
type Report struct {
	Rows       int // rows expected
	Events     int // change events read
	Missing    int // rows without a read or create event
	Duplicates int // events delivered more than once (the same change at the same source position)
	Recreated  int // rows read or created more than once (a snapshot taken again)
	Reordered  int // keys whose events are out of source order
}

func (r Report) String() string {
	return fmt.Sprintf("%d rows, %d events: %d missing, %d duplicated events, %d rows read or created more than once, %d keys out of order",
		r.Rows, r.Events, r.Missing, r.Duplicates, r.Recreated, r.Reordered)
}

// Check counts what a consumer of evs would see wrong: rows of want
// never created or read, changes delivered twice (identified by op, row
// and the source position pos gives), and keys whose events are not in
// source position order or do not start with their read or create event.
func Check(evs []Event, want map[int64]bool, pos func(source map[string]any) []int64) Report {
	r := Report{Rows: len(want), Events: len(evs)}
	created := map[int64]int{}
	seen := map[string]bool{}
	byKey := map[int64][]Event{}
	for _, e := range evs {
		p := pos(e.Source)
		id := fmt.Sprint(e.Op, e.ID, p)
		if seen[id] {
			r.Duplicates++
		}
		seen[id] = true
		if e.Op == "r" || e.Op == "c" {
			created[e.ID]++
		}
		byKey[e.ID] = append(byKey[e.ID], e)
	}
	for id := range want {
		if created[id] == 0 {
			r.Missing++
		}
	}
	for _, n := range created {
		if n > 1 {
			r.Recreated++
		}
	}
	for _, es := range byKey {
		// One key is in one partition: its offsets order its events.
		slices.SortFunc(es, func(a, b Event) int { return int(a.Offset - b.Offset) })
		bad := es[0].Op != "r" && es[0].Op != "c"
		for i := 1; i < len(es) && !bad; i++ {
			bad = slices.Compare(pos(es[i-1].Source), pos(es[i].Source)) > 0
		}
		if bad {
			r.Reordered++
		}
	}
	return r
}

// Int64 reads a number of a source block (0 when absent).
func Int64(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	case int64:
		return n
	}
	return 0
}

// KillPlan says when kill i of n lands: the first fifth (at least one)
// during the initial snapshot, the others while streaming. Each waits for
// the child's log to show the phase (snapshotMarker or streamMarker), then
// a random delay (up to snapshotDelay or streamDelay), so every phase is really exercised
// whatever the machine's speed. It returns the phase the kill landed in.
func KillPlan(t *testing.T, c *Child, i, n int, snapshotMarker, streamMarker string, rng interface{ Int63n(int64) int64 }, snapshotDelay, streamDelay time.Duration) string {
	t.Helper()
	marker, delay := streamMarker, streamDelay
	if i < max(1, n/5) {
		marker, delay = snapshotMarker, snapshotDelay
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(c.Output(), marker) && !c.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("kill %d: the child never logged %q:\n%s", i+1, marker, Tail(c.Output(), 30))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Duration(rng.Int63n(int64(delay))))
	c.Kill()
	return Phase(c.Output(), snapshotMarker, streamMarker)
}
