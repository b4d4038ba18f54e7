package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
)

// Parking holds back the records of tables whose new schema was refused
// (the schema registry answered 409 incompatible) while every other table
// keeps flowing: the table is "parked", state PAUSED_SCHEMA.
//
// A parked table's records stay in the offset tracker as submitted and not
// acknowledged, so the committed source offset never passes the first of
// them: a crash re-reads them (and, at-least-once, what followed them for
// the other tables). They are held in memory, in order. The sources read
// one log for all tables (WAL, binlog), so a table cannot be left unread
// on its own; the bound is MaxParked records across parked tables, after
// which the task waits (the whole source stops reading) until a table is
// resumed. Spilling to disk would keep the others flowing longer, at the
// price of a second copy of the log; a crash-safe bound and the operator
// alert (log, status, metric) come first, and the limit is a setting.
//
// Resume retries the held records in order: if the registry now accepts
// the schema (compatibility changed, schema fixed) they are sent and the
// table flows again; if not, it stays parked with the new reason.
type Parking struct {
	mu     sync.Mutex
	cond   *sync.Cond
	tables map[string]*parkedTable
	held   int
	limit  int
	resume chan string
}

type parkedTable struct {
	info ParkedTable
	recs []heldRecord
}

type heldRecord struct {
	rec *connect.Record
	sub *submitted
}

// ParkedTable describes a parked table for status and metrics.
type ParkedTable struct {
	// Table is the topic the connector gave the table's records (before
	// transforms), which names the table.
	Table string `json:"table"`
	// State is PAUSED_SCHEMA.
	State string `json:"state"`
	// Schema is the refused value schema, in JsonConverter's schema form
	// (sources; a sink names the record in FirstOffset instead).
	Schema string    `json:"schema,omitempty"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	// Held is the number of records held back, FirstOffset the source
	// offset of the first: the committed offset stays before it. For a
	// sink task's parked partition FirstOffset is the Kafka topic,
	// partition and offset of the record that could not be applied, and
	// Held counts the records already fetched.
	Held        int            `json:"held"`
	FirstOffset map[string]any `json:"first_offset,omitempty"`
}

// StatePausedSchema is the state of a parked table.
const StatePausedSchema = "PAUSED_SCHEMA"

// RegistryRefused reports a schema registry's refusal of a new schema as
// incompatible (HTTP 409), which schema/registry's Error says with its
// Incompatible method.
func RegistryRefused(err error) bool {
	var r interface{ Incompatible() bool }
	return errors.As(err, &r) && r.Incompatible()
}

// ErrNotParked is returned by Resume for a table that is not parked.
var ErrNotParked = errors.New("table is not parked")

// NewParking returns an empty parking holding at most limit records
// (<= 0: 10000).
func NewParking(limit int) *Parking {
	if limit <= 0 {
		limit = 10000
	}
	p := &Parking{tables: map[string]*parkedTable{}, limit: limit, resume: make(chan string, 16)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Tables lists the parked tables, by name.
func (p *Parking) Tables() []ParkedTable {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ParkedTable, 0, len(p.tables))
	for _, t := range p.tables {
		i := t.info
		i.Held = len(t.recs)
		if len(t.recs) > 0 {
			i.FirstOffset = t.recs[0].rec.SourceOffset
		}
		out = append(out, i)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Table < out[j].Table })
	return out
}

// Resume asks the running task to retry the held records of table; it
// returns at once (the outcome shows in Tables and the log).
func (p *Parking) Resume(table string) error {
	p.mu.Lock()
	_, ok := p.tables[table]
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotParked, table)
	}
	select {
	case p.resume <- table:
		return nil
	default:
		return errors.New("resume requests are queued already; try again")
	}
}

func (p *Parking) parked(table string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tables[table] != nil
}

// park starts holding table's records.
func (p *Parking) park(table string, schema *connect.Schema, reason error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := schemaText(schema)
	if t := p.tables[table]; t != nil {
		t.info.Reason, t.info.Schema = reason.Error(), s
		return
	}
	p.tables[table] = &parkedTable{info: ParkedTable{Table: table, State: StatePausedSchema, Schema: s, Reason: reason.Error(), Since: time.Now()}}
}

func (p *Parking) hold(table string, rec *connect.Record, sub *submitted) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tables[table]
	t.recs = append(t.recs, heldRecord{rec, sub})
	p.held++
}

// waitRoom blocks while a record of a parked table would exceed the bound.
func (p *Parking) waitRoom(ctx context.Context, table string) error {
	// Nearly always there is room: answer without arming the context
	// callback (an allocation and a registration per record).
	p.mu.Lock()
	full := p.tables[table] != nil && p.held >= p.limit
	p.mu.Unlock()
	if !full {
		return ctx.Err()
	}
	stop := context.AfterFunc(ctx, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.cond.Broadcast()
	})
	defer stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.tables[table] != nil && p.held >= p.limit && ctx.Err() == nil {
		p.cond.Wait()
	}
	return ctx.Err()
}

// count returns the parked tables and held records.
func (p *Parking) count() (tables, held int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tables), p.held
}

// release sends table's held records in order, stopping at one whose
// schema is refused again. The caller holds the writer's lock.
func (w *writer) release(ctx context.Context, table string) error {
	p, s := w.s.Parking, w.s
	p.mu.Lock()
	t := p.tables[table]
	p.mu.Unlock()
	if t == nil {
		return nil
	}
	sent := 0
	for {
		p.mu.Lock()
		if len(t.recs) == 0 {
			delete(p.tables, table)
			p.cond.Broadcast()
			p.mu.Unlock()
			s.Logger.Info("table resumed; held records sent", "table", table, "records", sent)
			w.updateStats()
			return nil
		}
		h := t.recs[0]
		p.mu.Unlock()
		msg, err := w.convert(h.rec)
		if err != nil {
			if s.Park != nil && s.Park(err) {
				p.park(table, h.rec.ValueSchema, err)
				s.Logger.Error("table still parked: schema refused again", "table", table, "sent", sent, "held", len(t.recs), "reason", err)
				return nil
			}
			return err
		}
		p.mu.Lock()
		t.recs = t.recs[1:]
		p.held--
		p.cond.Broadcast()
		p.mu.Unlock()
		w.tr.unhold(h.sub)
		if err := w.send(ctx, h.rec, h.sub, msg); err != nil {
			return err
		}
		sent++
	}
}

// resumeLoop serves Parking.Resume for the running task.
func (w *writer) resumeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case table := <-w.s.Parking.resume:
			w.mu.Lock()
			err := w.release(ctx, table)
			w.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				w.tr.fail(fmt.Errorf("resuming table %s: %w", table, err))
			}
		}
	}
}

func (w *writer) updateStats() {
	n, held := w.s.Parking.count()
	w.s.Stats.ParkedTables.Store(int64(n))
	w.s.Stats.HeldRecords.Store(int64(held))
}

// schemaText renders a Connect schema as JsonConverter's schema JSON: the
// whole structure, unlike Schema.String.
func schemaText(s *connect.Schema) string {
	if s == nil {
		return ""
	}
	return string((&converter.JSON{SchemasEnabled: true}).SchemaJSON(s))
}
