package bench

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tributary-io/tributary/internal/kafka"
)

// PGStreamProducer replays pg-stream's backlog once per producer setting
// (the producer.* properties Kafka Connect users set) and compares events/s,
// CPU and the bytes the producer sent to the broker.
const PGStreamProducer = "pg-stream-producer"

// producerCase is one setting of the sweep: producer.* properties as a
// worker or connector (producer.override.*) would give them.
type producerCase struct {
	name  string
	props map[string]string
}

// producerCases are the settings measured. The first is the default (no
// property set); the others change one property from it, except the last,
// which shows what giving up idempotence would buy.
var producerCases = []producerCase{
	{"defaults", nil},
	{"linger.ms=0", map[string]string{"linger.ms": "0"}},
	{"linger.ms=20", map[string]string{"linger.ms": "20"}},
	{"batch.size=16384 (Kafka's default)", map[string]string{"batch.size": "16384"}},
	{"batch.size=65536", map[string]string{"batch.size": "65536"}},
	{"batch.size=262144", map[string]string{"batch.size": "262144"}},
	{"compression.type=lz4", map[string]string{"compression.type": "lz4"}},
	{"compression.type=zstd", map[string]string{"compression.type": "zstd"}},
	{"compression.type=snappy", map[string]string{"compression.type": "snappy"}},
	{"compression.type=gzip", map[string]string{"compression.type": "gzip"}},
	{"enable.idempotence=false, max.in.flight=5", map[string]string{"enable.idempotence": "false", "max.in.flight.requests.per.connection": "5"}},
}

// pgStreamProducer loads one backlog of single-row transactions, retained
// by one slot per case, and streams it through the PostgreSQL connector
// (JsonConverter) with each producer setting.
func (e *env) pgStreamProducer(ctx context.Context) error {
	if err := e.ensurePGTable(ctx); err != nil {
		return err
	}
	slots := make([]string, len(producerCases))
	for i := range producerCases {
		slots[i] = fmt.Sprintf("trib_prod_%d", i)
	}
	defer e.pgDropSlots(ctx, slots...)
	if err := e.pgCreateSlots(ctx, slots...); err != nil {
		return err
	}
	e.progress("   %d single-row transactions (4 connections, as fast as possible)", e.cfg.SmallTxns)
	load, err := e.load(ctx, "pgx", e.pg.DSN(pgDB), pgStampSQL, childSpec{Count: e.cfg.SmallTxns, Conns: 4})
	if err != nil {
		return err
	}
	var base Result
	for i, pc := range producerCases {
		r, err := e.producerCase(ctx, i, pc, slots[i], load.Done)
		if err != nil {
			return fmt.Errorf("%s %s: %w", PGStreamProducer, pc.name, err)
		}
		e.pgDropSlots(ctx, slots[i])
		if i == 0 {
			base = r
			continue
		}
		e.addLimit(r, Result{Name: "tributary, defaults (same run)", Events: base.Events, Bytes: base.Bytes, Seconds: base.Seconds,
			CPUSeconds: base.CPUSeconds, Note: "ratio: this setting's rate / the defaults'"})
	}
	return nil
}

func (e *env) producerCase(ctx context.Context, i int, pc producerCase, slot string, want int64) (Result, error) {
	keys := slices.Sorted(maps.Keys(pc.props))
	desc := make([]string, len(keys))
	for j, k := range keys {
		desc[j] = "producer." + k + "=" + pc.props[k]
	}
	sc, err := kafka.ClientConfig{Brokers: e.brokers, ClientID: "tributary-bench", Props: pc.props}.SaramaConfig()
	if err != nil {
		return Result{}, fmt.Errorf("producer properties %s: %w", strings.Join(desc, " "), err)
	}
	prefix := fmt.Sprintf("pgprod%d", i)
	props := e.pgSourceProps(prefix, slot)
	props["snapshot.mode"] = "no_data"
	e.progress("   %s", pc.name)
	m := startMeter()
	run, err := e.startSourceWith(ctx, "bench-pg-producer-"+prefix, props, sc)
	if err != nil {
		m.end()
		return Result{}, err
	}
	_, err = run.waitWritten(ctx, want, timeoutFor(int(want)))
	elapsed, cpu, rss := m.end()
	wire, requests := run.prod.WireStats()
	serr := run.stop()
	e.deleteTopics(prefix + ".public.bench")
	if err != nil {
		return Result{}, err
	}
	if serr != nil {
		return Result{}, serr
	}
	note := fmt.Sprintf("bytes = sent to the broker (all requests, %d of them); %.1f MB of events before compression", requests, float64(run.sender.bytes.Load())/1e6)
	if len(desc) > 0 {
		note = strings.Join(desc, " ") + "; " + note
	}
	r := Result{Scenario: PGStreamProducer, Case: fmt.Sprintf("backlog: %d single-row txns, %s", want, pc.name), Name: "tributary",
		Events: run.written(), Bytes: wire, Seconds: elapsed.Seconds(), CPUSeconds: ptr(cpu), PeakRSSMB: ptr(rss), Note: note}
	e.add(r)
	return r, nil
}
