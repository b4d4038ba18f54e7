// Package crashtest holds the mechanics the source connectors' crash
// recovery tests share. Such a test runs a connector through the real
// runtime in a child process (the test binary itself, re-executed to run
// one helper test) that produces to a Kafka broker in the parent, kills
// the child with SIGKILL at chosen moments, and finally reads the topic
// back to check that nothing was lost.
//
// The package knows nothing of any connector: the tests supply the
// plugin, its properties, the workload, the kill points and the checks.
// It is imported only by tests.
package crashtest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
)

// Iterations is the number of kill iterations: 3, or 20 when
// TRIBUTARY_LONG_TESTS=1.
func Iterations() int {
	if os.Getenv("TRIBUTARY_LONG_TESTS") == "1" {
		return 20
	}
	return 3
}

// ChildConfig decodes the JSON configuration the parent passed to the
// child in the environment variable env into v. When the variable is
// unset the test is being run directly, not as a child, and ChildConfig
// skips it.
func ChildConfig(t *testing.T, env string, v any) {
	t.Helper()
	raw := os.Getenv(env)
	if raw == "" {
		t.Skip("helper process of TestCrashRecovery")
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		t.Fatal(err)
	}
}

// Source describes the pipeline a child runs.
type Source struct {
	Brokers []string
	Plugin  *connect.Plugin
	Name    string            // the connector's name
	Props   map[string]string // the connector's configuration
	// OffsetsFile selects a file offsets store; empty means the Kafka
	// offsets topic "connect-offsets" (one partition) on Brokers.
	OffsetsFile string
}

// RunSource runs the source connector through the real runtime, with
// offsets flushed every 100 ms, until the process is killed. Its log goes
// to stderr at level info, where the parent can read it.
func RunSource(t *testing.T, s Source) {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	sc, err := kafka.ClientConfig{Brokers: s.Brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	var store offsets.Store
	if s.OffsetsFile != "" {
		store, err = offsets.OpenFile(s.OffsetsFile)
	} else {
		store, err = offsets.OpenKafka(ctx, offsets.KafkaOptions{Brokers: s.Brokers, Config: sc, Topic: "connect-offsets", Partitions: 1, Logger: log})
	}
	if err != nil {
		t.Fatal(err)
	}
	producer, err := kafka.NewProducer(s.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	rawKafka, err := kafka.NewRaw(s.Brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := runtime.ParseConnector(connect.Plugins{s.Plugin}, config.Connector{Name: s.Name, Config: s.Props})
	if err != nil {
		t.Fatal(err)
	}
	src, err := runtime.NewSource(ctx, c, runtime.SourceDeps{Producer: producer, Raw: rawKafka, Converters: &converter.Factory{},
		Transforms: transforms.Builtin(log), Offsets: store, Worker: map[string]string{"offset.flush.interval.ms": "100"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

// Child is one run of the pipeline in a child process.
type Child struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
}

// Start re-executes the test binary to run only the test named test, with
// config (JSON) in the environment variable env. The child is killed when
// t ends, and if t failed its last 40 lines of output are logged.
func Start(t *testing.T, test, env string, config []byte) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+string(config))
	ch := &Child{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr, cmd.Stdout = ch.out, ch.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		close(ch.done)
	}()
	t.Cleanup(func() {
		ch.Kill()
		if t.Failed() {
			t.Logf("child output:\n%s", Tail(ch.out.String(), 40))
		}
	})
	return ch
}

// Exited reports whether the process has exited.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (c *Child) Kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

// Output is everything the child wrote so far.
func (c *Child) Output() string { return c.out.String() }

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Phase names the point a child was killed at from its output: before
// it logged snapshotMarker, after it but before streamingMarker, or after
// streamingMarker.
func Phase(out, snapshotMarker, streamingMarker string) string {
	switch {
	case !strings.Contains(out, streamingMarker) && strings.Contains(out, snapshotMarker):
		return "during the snapshot"
	case !strings.Contains(out, streamingMarker):
		return "before reading data"
	}
	return "while streaming"
}

// CreatedRows counts, per row id, the read ("r") and create ("c") events
// in a topic of Debezium change events encoded by the JsonConverter
// without schemas. Tombstones are skipped; an undecodable value fails t.
func CreatedRows(t *testing.T, kvs []connect.KV) map[int64]int {
	t.Helper()
	seen := map[int64]int{}
	for _, kv := range kvs {
		if kv.Value == nil {
			continue
		}
		var v struct {
			After *struct {
				ID int64 `json:"id"`
			} `json:"after"`
			Op string `json:"op"`
		}
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			t.Fatalf("record value %s: %v", kv.Value, err)
		}
		if v.After != nil && (v.Op == "r" || v.Op == "c") {
			seen[v.After.ID]++
		}
	}
	return seen
}

// Missing counts the ids of want that were not seen.
func Missing(want map[int64]bool, seen map[int64]int) int {
	missing := 0
	for id := range want {
		if seen[id] == 0 {
			missing++
		}
	}
	return missing
}

// Duplicates counts the ids seen more than once.
func Duplicates(seen map[int64]int) int {
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	return dups
}

// DuplicatesByPhase counts the extra deliveries of rows in a topic of
// Debezium change events (JsonConverter without schemas): read events
// beyond one per row (a snapshot taken again after a kill during the
// snapshot) and create events beyond one per row (streamed events
// replayed after a kill while streaming).
func DuplicatesByPhase(t *testing.T, kvs []connect.KV) (snapshot, stream int) {
	t.Helper()
	reads, creates := map[int64]int{}, map[int64]int{}
	for _, kv := range kvs {
		if kv.Value == nil {
			continue
		}
		var v struct {
			After *struct {
				ID int64 `json:"id"`
			} `json:"after"`
			Op string `json:"op"`
		}
		if err := json.Unmarshal(kv.Value, &v); err != nil {
			t.Fatalf("record value %s: %v", kv.Value, err)
		}
		switch {
		case v.After == nil:
		case v.Op == "r":
			reads[v.After.ID]++
		case v.Op == "c":
			creates[v.After.ID]++
		}
	}
	for _, n := range reads {
		snapshot += n - 1
	}
	for _, n := range creates {
		stream += n - 1
	}
	return snapshot, stream
}

// LogDuplicates logs DuplicatesByPhase per kill. Streamed duplicates scale
// with the workload's rate (rows/s): what a kill replays is what Kafka
// acknowledged since the last offset commit, so the figure to compare
// across connectors and workloads is the time of workload replayed per
// kill.
func LogDuplicates(t *testing.T, kvs []connect.KV, snapshotKills, streamKills int, rate float64) {
	t.Helper()
	snap, stream := DuplicatesByPhase(t, kvs)
	perKill := float64(stream) / float64(max(streamKills, 1))
	t.Logf("duplicates: %d from snapshots taken again after %d kill(s) during a snapshot; %d streamed events after %d kill(s) while streaming: %.1f per kill, %.0f ms of the workload (%.0f rows/s) per kill",
		snap, snapshotKills, stream, streamKills, perKill, 1000*perKill/rate, rate)
}

// syncBuffer collects a child's output; the exec package writes to it
// from its own goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
