package metrics

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/tributary-io/tributary/internal/runtime"
)

var updateGolden = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") != "", "rewrite testdata/exposition.golden")

// fixture is a worker with what /metrics reports: source tasks (one in a
// snapshot with per-table progress, one streaming from a PostgreSQL slot),
// a sink task and connector statuses, with names that need escaping.
func fixture() *Registry {
	r := NewRegistry()
	now := time.Unix(1700000000, 0)
	r.now = func() time.Time { return now }
	r.start = time.Unix(1699999000, 500000000)

	snap := NewTask(`inv"ent\ory`, 0)
	snapStats := &runtime.Stats{}
	r.AddSourceTask(snap, snapStats)
	snap.SnapshotStarted(3)
	snap.SnapshotRows("public.customers", 1200)
	snap.SnapshotTableCompleted("public.customers")
	p := snap.StartProgress("public.orders", 5000, "initial")
	p.Rows(2500)
	snap.Connected(true)
	snapStats.Polled.Store(3700)
	snapStats.Written.Store(3600)
	snapStats.Filtered.Store(20)

	stream := NewTask("orders\nline", 1)
	streamStats := &runtime.Stats{}
	r.AddSourceTask(stream, streamStats)
	stream.StreamingLag(1500 * time.Millisecond)
	stream.Connected(false)
	stream.ReplicationSlotLag("tributary_slot", 1<<20, 4096)
	streamStats.Polled.Store(100)
	streamStats.Written.Store(90)
	streamStats.Skipped.Store(2)
	streamStats.Commits.Store(4)
	streamStats.CommitNanos.Store(int64(3 * time.Millisecond))
	streamStats.LastCommitMs.Store(now.Add(-2500 * time.Millisecond).UnixMilli())
	streamStats.ParkedTables.Store(1)
	streamStats.HeldRecords.Store(7)

	sink := NewTask("jdbc-sink", 2)
	r.AddSinkTask(sink)
	sink.SinkRecordsRead(50)
	sink.SinkRecordsPut(40, 12*time.Millisecond, now.Add(-time.Second))
	sink.SinkParked(1, 3)

	r.SetStatus(func() []ConnectorSummary {
		return []ConnectorSummary{
			{Name: "orders\nline", Type: "source", State: "RUNNING", Tasks: map[string]int{"RUNNING": 1}},
			{Name: `inv"ent\ory`, Type: "source", State: "FAILED", Tasks: map[string]int{"RUNNING": 1, "FAILED": 2}},
			{Name: "jdbc-sink", Type: "sink", State: "PAUSED", Tasks: map[string]int{"PAUSED": 1}},
		}
	})
	return r
}

// volatile are the families whose values depend on the wall clock or the
// Go runtime; the golden comparison checks that they are there, with
// their HELP, TYPE and labels, not their values.
var volatile = map[string]bool{
	"go_goroutines":                                 true,
	"go_memstats_heap_alloc_bytes":                  true,
	"debezium_metrics_snapshot_duration_in_seconds": true,
	"tributary_snapshot_rows_per_second":            true,
	"tributary_snapshot_eta_seconds":                true,
	"tributary_sink_task_record_lag_ms":             true,
}

// TestExpositionGolden compares a scrape with testdata/exposition.golden,
// written by the hand-written exposition this package used before
// client_golang: the same families, HELP, TYPE, label sets and values.
func TestExpositionGolden(t *testing.T) {
	r := fixture()
	scrape(t, r) // the first scrape starts the rate windows
	got := scrape(t, r)
	path := filepath.Join("testdata", "exposition.golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	compareExposition(t, string(want), got)
}

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the exposition rather than a growing buffer.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkScrape is one /metrics scrape of a worker running 40 source
// tasks (each with a snapshot of 3 tables and a replication slot) and 10
// sink tasks.
func BenchmarkScrape(b *testing.B) {
	r := NewRegistry()
	// Scrapes 15 s apart, as Prometheus's, so the rate windows keep their
	// usual four samples instead of every scrape of the loop.
	now := time.Now()
	r.now = func() time.Time { now = now.Add(15 * time.Second); return now }
	for i := range 40 {
		tk := NewTask(fmt.Sprintf("source-%d", i), 0)
		st := &runtime.Stats{}
		r.AddSourceTask(tk, st)
		tk.SnapshotStarted(3)
		for _, tbl := range []string{"public.a", "public.b", "public.c"} {
			tk.StartProgress(tbl, 1000, "initial").Rows(500)
		}
		tk.ReplicationSlotLag(fmt.Sprintf("slot_%d", i), 1<<20, 1<<10)
		st.Polled.Store(int64(1000 * i))
	}
	for i := range 10 {
		tk := NewTask(fmt.Sprintf("sink-%d", i), 0)
		r.AddSinkTask(tk)
		tk.SinkRecordsPut(10, time.Millisecond, time.Now())
	}
	h := r.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// compareExposition parses both expositions with Prometheus's own parser
// and compares them family by family: HELP, TYPE, and each sample's label
// set and value (volatile families: presence only). The order of labels
// within a sample and of samples within a family carries no meaning in
// the format and is not compared.
func compareExposition(t *testing.T, want, got string) {
	t.Helper()
	w, g := canonical(t, "golden", want), canonical(t, "scrape", got)
	for name, wl := range w {
		gl, ok := g[name]
		if !ok {
			t.Errorf("family %s missing from the scrape", name)
			continue
		}
		if !slices.Equal(wl, gl) {
			t.Errorf("family %s differs:\n golden: %q\n scrape: %q", name, wl, gl)
		}
	}
	for name := range g {
		if _, ok := w[name]; !ok {
			t.Errorf("family %s is new in the scrape: %q", name, g[name])
		}
	}
}

// canonical renders each family as sorted lines: HELP, TYPE, then one
// line per sample with its labels sorted by name.
func canonical(t *testing.T, what, text string) map[string][]string {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parsing the %s: %v\n%s", what, err, text)
	}
	out := map[string][]string{}
	for name, f := range fams {
		lines := []string{"HELP " + f.GetHelp(), "TYPE " + f.GetType().String()}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			val := strconv.FormatFloat(v, 'g', -1, 64)
			if volatile[name] {
				val = "<volatile>"
			}
			lines = append(lines, "sample {"+strings.Join(labels, ",")+"} "+val)
		}
		sort.Strings(lines[2:])
		out[name] = lines
	}
	return out
}
