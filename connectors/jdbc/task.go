package jdbc

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// queryError is a failure talking to the database while polling; the task
// reconnects and retries it (query.retry.attempts). Every other error —
// configuration, unsupported data, the record writer — ends the task.
type queryError struct {
	source string
	sql    string
	err    error
}

func (e *queryError) Error() string {
	return fmt.Sprintf("query of %s failed: %v (SQL: %s)", e.source, e.err, e.sql)
}

func (e *queryError) Unwrap() error { return e.err }

// task is one source task: it polls its tables (or the custom query) in
// turn, each at most every poll.interval.ms. With several tasks each
// copies the tables that fall to it (owns).
type task struct {
	s            *settings
	name         string
	taskID       int
	taskCount    int
	log          *slog.Logger
	offsets      connect.OffsetReader
	mapper       typeMapper
	sourceSchema *connect.Schema

	d          db
	initialNow time.Time
	queriers   map[string]*querier
	started    bool
	pollOK     bool // a poll succeeded since the last failure
	nextTables time.Time
	sleep      func(ctx context.Context, d time.Duration) error
	// clock stamps envelopes and non-timestamp source blocks; tests fix it
	// for golden files.
	clock func() time.Time
}

// SourceSchema is the source block of Tributary's JDBC source:
// Debezium's common fields, then where the row came from and the offset
// values it was read at.
func SourceSchema() *connect.Schema {
	return debezium.SourceSchemaBuilder().Name("io.tributary.connector.jdbc.Source").
		Field("schema", connect.OptionalPrim(connect.String)).
		Field("table", connect.OptionalPrim(connect.String)).
		Field("query", connect.OptionalPrim(connect.String)).
		Field("incrementing", connect.OptionalPrim(connect.Int64)).
		Field("timestamp", connect.OptionalPrim(connect.Int64)).
		MustBuild()
}

func newTask(s *settings, tc connect.TaskContext) *task {
	name := tc.ConnectorName
	if name == "" {
		name = s.topicPrefix
	}
	return &task{
		s: s, name: name, log: s.logger(), offsets: tc.Offsets, taskID: tc.TaskID, taskCount: max(tc.TaskCount, 1),
		mapper: typeMapper{numeric: s.numericMapping, granularity: s.granularity, zone: s.zone,
			legacyDates: s.legacyDates},
		sourceSchema: SourceSchema(),
		queriers:     map[string]*querier{},
		sleep:        sleepCtx,
		clock:        time.Now,
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (t *task) dbName(q *querier) string {
	if q.table != nil && q.table.id.catalog != "" {
		return q.table.id.catalog
	}
	return t.d.database()
}

// Run polls until ctx ends. Database failures reconnect and retry up to
// query.retry.attempts times in a row (-1: forever); anything else is
// returned.
func (t *task) Run(ctx context.Context, w connect.RecordWriter) error {
	defer func() {
		if t.d != nil {
			t.d.close()
			t.d = nil
		}
	}()
	failures := 0
	for {
		err := t.run(ctx, w)
		if ctx.Err() != nil {
			return nil
		}
		var qe *queryError
		if !errors.As(err, &qe) {
			return err
		}
		if t.pollOK {
			failures, t.pollOK = 0, false
		}
		failures++
		if t.s.queryRetries >= 0 && failures > t.s.queryRetries {
			return fmt.Errorf("giving up after %d failed attempts (query.retry.attempts=%d): %w", failures, t.s.queryRetries, err)
		}
		t.log.Warn("database query failed; reconnecting", "error", err, "attempt", failures)
		if t.d != nil {
			t.d.close()
			t.d = nil
		}
		if err := t.sleep(ctx, t.s.backoff); err != nil {
			return nil
		}
	}
}

// connect opens the connection, trying connection.attempts times.
func (t *task) connect(ctx context.Context) error {
	var err error
	for i := 1; i <= t.s.attempts; i++ {
		var d db
		if d, err = connectDB(ctx, t.s); err == nil {
			t.d = d
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		t.log.Warn("connection attempt failed", "attempt", i, "of", t.s.attempts, "error", err)
		if i < t.s.attempts {
			if err := t.sleep(ctx, t.s.backoff); err != nil {
				return err
			}
		}
	}
	if !t.started {
		// As Confluent: a task that never connected fails after
		// connection.attempts; a running one keeps retrying.
		return fmt.Errorf("connect after %d attempts (connection.attempts): %w", t.s.attempts, err)
	}
	return &queryError{source: t.s.url.redacted(), sql: "(connect)", err: err}
}

// start connects and, the first time, resolves the tables or query.
func (t *task) start(ctx context.Context) error {
	if t.d == nil {
		if err := t.connect(ctx); err != nil {
			return err
		}
	}
	if !t.started {
		if t.s.tsInitial != nil && *t.s.tsInitial == -1 {
			now, err := t.d.now(ctx)
			if err != nil {
				return &queryError{source: "database clock", sql: "current time", err: err}
			}
			t.initialNow = now
		}
		if t.s.query != "" {
			q, err := t.newQueryQuerier(ctx)
			if err != nil {
				return err
			}
			t.queriers[partQuery] = q
		} else if err := t.refreshTables(ctx, true); err != nil {
			return err
		}
		t.started = true
	}
	return nil
}

// pollAll polls every querier once, refreshing the table list first when
// table.poll.interval.ms has passed.
func (t *task) pollAll(ctx context.Context, w connect.RecordWriter) error {
	if err := t.start(ctx); err != nil {
		return err
	}
	if t.s.query == "" && !time.Now().Before(t.nextTables) {
		if err := t.refreshTables(ctx, false); err != nil {
			return err
		}
	}
	keys := make([]string, 0, len(t.queriers))
	for k := range t.queriers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := t.queriers[k].poll(ctx, t.d, w); err != nil {
			return err
		}
	}
	return nil
}

func (t *task) run(ctx context.Context, w connect.RecordWriter) error {
	if err := t.start(ctx); err != nil {
		return err
	}
	for {
		if t.s.query == "" && !time.Now().Before(t.nextTables) {
			if err := t.refreshTables(ctx, false); err != nil {
				return err
			}
		}
		q := t.next()
		if q == nil {
			if err := t.sleep(ctx, time.Until(t.nextTables)); err != nil {
				return nil
			}
			continue
		}
		wait := time.Until(q.nextPoll)
		if t.s.query == "" {
			wait = min(wait, time.Until(t.nextTables))
		}
		if wait > 0 {
			if err := t.sleep(ctx, wait); err != nil {
				return nil
			}
			continue
		}
		q.nextPoll = time.Now().Add(t.s.pollInterval)
		if err := q.poll(ctx, t.d, w); err != nil {
			return err
		}
		t.pollOK = true
	}
}

// next is the querier due first, in table order among equals.
func (t *task) next() *querier {
	var best *querier
	keys := make([]string, 0, len(t.queriers))
	for k := range t.queriers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q := t.queriers[k]
		if best == nil || q.nextPoll.Before(best.nextPoll) {
			best = q
		}
	}
	return best
}

// refreshTables lists the tables to copy, adding queriers for new ones and
// dropping those that disappeared, as Confluent's TableMonitorThread does
// every table.poll.interval.ms.
func (t *task) refreshTables(ctx context.Context, first bool) error {
	t.nextTables = time.Now().Add(t.s.tablePoll)
	all, err := t.d.tables(ctx, t.s.catalogPattern, t.s.schemaPattern, t.s.tableTypes)
	if err != nil {
		return &queryError{source: "table list", sql: "(metadata)", err: err}
	}
	selected, err := t.selectTables(all, first)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range selected {
		fqn := id.fqn()
		if !t.owns(fqn) {
			continue
		}
		seen[fqn] = true
		if _, ok := t.queriers[fqn]; ok {
			continue
		}
		q, err := t.newTableQuerier(ctx, t.d, id)
		if err != nil {
			if first {
				return err
			}
			// A table created while running that does not fit the mode
			// must not stop the others; it is retried next refresh.
			t.log.Error("cannot copy new table", "table", fqn, "error", err)
			continue
		}
		t.queriers[fqn] = q
		if !first {
			t.log.Info("new table found; copying it", "table", fqn, "topic", q.topic)
		}
	}
	for fqn := range t.queriers {
		if !seen[fqn] {
			t.log.Info("table no longer present or selected; stopped copying it", "table", fqn)
			delete(t.queriers, fqn)
		}
	}
	if first && len(selected) == 0 {
		return fmt.Errorf("no tables to copy: none of the tables in %s match the table filters and table.types=%s",
			t.s.url.redacted(), strings.Join(t.s.tableTypes, ","))
	}
	if first && len(t.queriers) == 0 {
		t.log.Info("no table falls to this task; it waits for new tables", "tables", len(selected), "tasks", t.taskCount)
	}
	return nil
}

// owns reports whether table fqn falls to this task. Each task lists the
// tables itself, so the split must not depend on which tables a task saw
// (a table created between two tasks' starts): a hash of the name keeps
// every table with one task for as long as tasks.max stays the same, and
// its offsets (one source partition per table) go with it when it
// changes.
func (t *task) owns(fqn string) bool {
	if t.taskCount <= 1 {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(fqn))
	return int(h.Sum32()%uint32(t.taskCount)) == t.taskID
}

// selectTables applies table.whitelist/blacklist (exact names, qualified
// or not) or table.include.list/exclude.list (regular expressions on the
// fully-qualified name).
func (t *task) selectTables(all []tableID, first bool) ([]tableID, error) {
	s := t.s
	matches := func(list []string, id tableID) bool {
		for _, n := range list {
			if n == id.fqn() || n == id.name || n == t.quotedFQN(id) {
				return true
			}
		}
		return false
	}
	var out []tableID
	for _, id := range all {
		ok := true
		switch {
		case len(s.whitelist) > 0:
			ok = matches(s.whitelist, id)
		case len(s.blacklist) > 0:
			ok = !matches(s.blacklist, id)
		case len(s.include) > 0:
			ok = false
			for _, re := range s.include {
				if re.MatchString(id.fqn()) {
					ok = true
				}
			}
			for _, re := range s.exclude {
				if re.MatchString(id.fqn()) {
					ok = false
				}
			}
		}
		if ok {
			out = append(out, id)
		}
	}
	if first {
		for _, n := range s.whitelist {
			found := false
			for _, id := range out {
				if n == id.fqn() || n == id.name || n == t.quotedFQN(id) {
					found = true
				}
			}
			if !found {
				return nil, fmt.Errorf("table.whitelist: table %q does not exist in %s (or is not of table.types %s)",
					n, t.s.url.redacted(), strings.Join(t.s.tableTypes, ","))
			}
		}
	}
	// Topics are named after the unqualified table name, so two selected
	// tables with one name would share a topic; Confluent refuses that.
	byName := map[string][]string{}
	for _, id := range out {
		byName[id.name] = append(byName[id.name], id.fqn())
	}
	for name, fqns := range byName {
		if len(fqns) > 1 {
			return nil, fmt.Errorf("tables %s share the unqualified name %q, which is their topic name; restrict the table filters to one of them",
				strings.Join(fqns, ", "), name)
		}
	}
	return out, nil
}

func (t *task) quotedFQN(id tableID) string {
	var parts []string
	for _, p := range []string{id.catalog, id.schema, id.name} {
		if p != "" {
			parts = append(parts, t.d.quote(p))
		}
	}
	return strings.Join(parts, ".")
}
