package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	jdbcsource "github.com/tributary-io/tributary/connectors/jdbc"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/transforms"
	"github.com/tributary-io/tributary/schema/avro"
	jdbcsink "github.com/tributary-io/tributary/sinks/jdbc"
)

// TestMain lets the test binary serve as the benchmark's helper processes
// (broker, load generator), as the tributary binary does.
func TestMain(m *testing.M) {
	if IsChild() {
		if err := RunChild(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func testConfig(t testing.TB, rows int, scenarios ...string) Config {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1")
	}
	return Config{
		Rows: rows, Rates: []float64{1000}, Duration: 2 * time.Second, Scenarios: scenarios,
		Plugins: connect.Plugins{postgres.Plugin(), mysql.Plugin(), mysql.MariaDBPlugin(), jdbcsource.Plugin(), jdbcsink.Plugin()},
		Converters: &converter.Factory{Extra: map[string]func(map[string]string, bool) (converter.Converter, error){
			converter.AvroClass: func(p map[string]string, isKey bool) (converter.Converter, error) { return avro.New(p, isKey) },
		}}, Transforms: transforms.Builtin(slog.New(slog.DiscardHandler)),
		ChildArgs: []string{"-test.run=^$"},
		Progress:  testWriter{t},
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestSmoke runs the smoke size of the PostgreSQL snapshot, streaming and
// sink scenarios and checks the results are consistent: every row and
// change arrives, each Tributary row has its limits, figures are positive.
func TestSmoke(t *testing.T) {
	const rows = 2000
	cfg := testConfig(t, rows, PGSnapshot, PGStream, SinkPG)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) > 0 {
		t.Fatalf("failures: %v", rep.Failures)
	}
	var sb strings.Builder
	rep.PrintTable(&sb, false)
	t.Log("\n" + sb.String())

	byCase := map[string][]Result{}
	for _, r := range rep.Results {
		byCase[r.Scenario+"/"+r.Case] = append(byCase[r.Scenario+"/"+r.Case], r)
		if r.Seconds <= 0 || r.EventsPerSec <= 0 {
			t.Errorf("%s %s %s: non-positive time or rate: %+v", r.Scenario, r.Case, r.Name, r)
		}
		if !r.Limit && (r.CPUSeconds == nil || *r.CPUSeconds <= 0 || r.PeakRSSMB == nil || *r.PeakRSSMB <= 0) {
			t.Errorf("%s %s: Tributary row without CPU or RSS: %+v", r.Scenario, r.Case, r)
		}
		if r.Limit && r.Ratio == nil {
			t.Errorf("%s %s %s: limit row without ratio", r.Scenario, r.Case, r.Name)
		}
	}
	want := []struct {
		scenario, caseName string
		events             int64
		limits             []string
	}{
		{PGSnapshot, "snapshot of 2000 rows x 10 columns", rows, []string{limitCopyTo, limitSync, limitAsync}},
		{PGSnapshot, "snapshot of 2000 rows x 10 columns (Avro)", rows, []string{limitCopyTo, limitSync, limitAsync}},
		{PGStream, "backlog: 1000 single-row txns", rows / 2, []string{limitPeek, limitRecv, limitSync, limitAsync}},
		{PGStream, "1 txn updating 2000 rows", rows, []string{limitPeek, limitRecv}},
		{SinkPG, "apply 2000 snapshot events (upsert)", rows, []string{limitCopyFr}},
	}
	for _, w := range want {
		rs := byCase[w.scenario+"/"+w.caseName]
		if len(rs) == 0 || rs[0].Limit || rs[0].Name != "tributary" {
			t.Errorf("%s %q: no Tributary row first (have %+v)", w.scenario, w.caseName, rs)
			continue
		}
		if rs[0].Events != w.events {
			t.Errorf("%s %q: Tributary wrote %d events, want %d", w.scenario, w.caseName, rs[0].Events, w.events)
		}
		if rs[0].Bytes < w.events*100 {
			t.Errorf("%s %q: %d bytes for %d events is implausibly small", w.scenario, w.caseName, rs[0].Bytes, w.events)
		}
		for i, l := range w.limits {
			if i+1 >= len(rs) || !strings.HasPrefix(rs[i+1].Name, l) {
				t.Errorf("%s %q: limit %d should be %q (rows %+v)", w.scenario, w.caseName, i, l, rs)
				continue
			}
			if strings.HasPrefix(l, limitPeek) && rs[i+1].Events != w.events {
				t.Errorf("%s %q: server-side decoding saw %d changes, Tributary %d", w.scenario, w.caseName, rs[i+1].Events, w.events)
			}
		}
	}
	var live *Result
	for i, r := range rep.Results {
		if r.Scenario == PGStream && strings.HasPrefix(r.Case, caseLive) {
			live = &rep.Results[i]
		}
	}
	if live == nil || live.LatencyP50Ms == nil || live.Events == 0 {
		t.Fatalf("no live latency row: %+v", live)
	}
	if *live.LatencyP50Ms <= 0 || *live.LatencyP99Ms < *live.LatencyP50Ms {
		t.Errorf("implausible latencies p50 %v p99 %v", *live.LatencyP50Ms, *live.LatencyP99Ms)
	}
	if len(rep.Goals) == 0 {
		t.Error("no goals reported")
	}
}

func TestSelectScenarios(t *testing.T) {
	tests := []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{nil, Scenarios, ""},
		{[]string{"all"}, Scenarios, ""},
		{[]string{SinkPG, PGSnapshot}, []string{PGSnapshot, SinkPG}, ""},
		{[]string{" pg-stream ", ""}, []string{PGStream}, ""},
		{[]string{"pg-snapshots"}, nil, `unknown scenario "pg-snapshots"`},
	}
	for _, tc := range tests {
		got, err := selectScenarios(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("selectScenarios(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("selectScenarios(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestLatencyPercentiles(t *testing.T) {
	l := &latencyRec{}
	for i := int64(1); i <= 1000; i++ {
		l.us = append(l.us, (1001-i)*1000) // 1..1000 ms, reversed
	}
	n, p50, p99, pmax := l.percentiles()
	if n != 1000 || p50 != 500 || p99 != 990 || pmax != 1000 {
		t.Errorf("percentiles = %d %v %v %v, want 1000 500 990 1000", n, p50, p99, pmax)
	}
}

func TestBrokerLogFor(t *testing.T) {
	for _, tt := range []struct {
		want     string
		selected []string
		got      string
		err      bool
	}{
		{"", []string{PGStreamIssue14, MyStreamIssue14}, BrokerLogFiles, false},
		{"", []string{PGStreamIssue14, SinkPGTasks}, BrokerLogMemory, false},
		{"", []string{SinkMy}, BrokerLogMemory, false},
		{BrokerLogFiles, []string{SinkPG}, BrokerLogFiles, false},
		{BrokerLogMemory, []string{PGStream}, BrokerLogMemory, false},
		{"disk", nil, "", true},
	} {
		got, err := brokerLogFor(tt.want, tt.selected)
		if got != tt.got || (err != nil) != tt.err {
			t.Errorf("brokerLogFor(%q, %v) = %q, %v; want %q (error %v)", tt.want, tt.selected, got, err, tt.got, tt.err)
		}
	}
}
