package bench

import (
	"strings"
	"testing"
)

func TestIssue14Goals(t *testing.T) {
	const n = 400000
	pgCase := func(conv string, cpu, secs, recvCPU, recvSecs float64) []Result {
		c := "backlog, " + conv
		return []Result{
			{Scenario: PGStreamIssue14, Case: c, Name: "tributary", Events: n, Seconds: secs, CPUSeconds: ptr(cpu * n / 1e6)},
			{Scenario: PGStreamIssue14, Case: c, Name: limitPeek, Limit: true, Events: n, Seconds: 1, Ratio: ptr(0.2)},
			{Scenario: PGStreamIssue14, Case: c, Name: limitRecvNull, Limit: true, Events: n, Seconds: recvSecs, CPUSeconds: ptr(recvCPU * n / 1e6), Ratio: ptr(0.7)},
		}
	}
	myCase := func(secs, toolSecs float64) []Result {
		c := "backlog (MariaDB), JsonConverter"
		return []Result{
			{Scenario: MyStreamIssue14, Case: c, Name: "tributary", Events: n, Seconds: secs, CPUSeconds: ptr(3.0)},
			{Scenario: MyStreamIssue14, Case: c, Name: limitBinlog + " > /dev/null", Limit: true, Events: n, Seconds: toolSecs, CPUSeconds: ptr(5.0), Ratio: ptr(toolSecs / secs)},
		}
	}
	for _, tt := range []struct {
		name string
		rs   []Result
		want map[string]bool // goal text fragment -> met
	}{
		{"json met in µs and as a ratio", pgCase("JsonConverter", 14, 10, 8.5, 6),
			map[string]bool{"JSON CPU/event <= 15 µs": true, "JSON CPU/event <= 1.76 x": true}},
		{"json over 15 µs on a slow machine, within the ratio", pgCase("JsonConverter", 20, 10, 18, 6),
			map[string]bool{"JSON CPU/event <= 15 µs": false, "JSON CPU/event <= 1.76 x": true}},
		{"avro over both", pgCase("AvroConverter", 11, 7, 8.5, 6),
			map[string]bool{"Avro CPU/event <= 10 µs": false, "Avro CPU/event <= 1.18 x": false, "wall time <= pg_recvlogical's": false}},
		{"avro met", pgCase("AvroConverter", 9, 5, 8.5, 6),
			map[string]bool{"Avro CPU/event <= 10 µs": true, "Avro CPU/event <= 1.18 x": true, "wall time <= pg_recvlogical's": true}},
		{"mariadb faster than the tool", myCase(3.5, 5.6), map[string]bool{">= 1.0 x mysqlbinlog": true}},
		{"mariadb slower than the tool", myCase(6.5, 5.6), map[string]bool{">= 1.0 x mysqlbinlog": false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gs := goals(&Report{Results: tt.rs})
			if len(gs) != len(tt.want) {
				t.Fatalf("%d goals, want %d (the generic streaming ratio must not apply): %+v", len(gs), len(tt.want), gs)
			}
			for frag, met := range tt.want {
				found := false
				for _, g := range gs {
					if strings.Contains(g.Goal, frag) {
						found = true
						if g.Met != met {
							t.Errorf("%q: met=%v, want %v (%s)", g.Goal, g.Met, met, g.Measured)
						}
					}
				}
				if !found {
					t.Errorf("no goal containing %q in %+v", frag, gs)
				}
			}
		})
	}
}
