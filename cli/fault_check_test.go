package cli

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// rowVersion identifies one change the writer made: row seq reached
// version ver (0 is the insert). Every change event carries it in its
// "after" image, so the checker can tell which change an event reports.
type rowVersion struct {
	seq, ver int64
}

func (r rowVersion) String() string { return fmt.Sprintf("seq=%d ver=%d", r.seq, r.ver) }

// committedWrite is a change the database acknowledged, and when.
type committedWrite struct {
	rowVersion
	at time.Time
}

// rowStore is the writer's view of the captured table, one implementation
// per database. Each method reconnects when the previous connection broke.
type rowStore interface {
	insert(ctx context.Context, seq int64) error
	update(ctx context.Context, seq, ver int64) error
	// version returns the row's ver, or ok false if the row does not exist.
	version(ctx context.Context, seq int64) (ver int64, ok bool, err error)
	close()
}

// pgStore writes as the superuser over a connection of its own (trust
// authentication on 127.0.0.1), so that the connector's role and password
// appear nowhere but in the connector's configuration.
type pgStore struct {
	dsn  string
	conn *pgx.Conn
}

func (s *pgStore) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	if s.conn == nil {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		c, err := pgx.Connect(cctx, s.dsn)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("connecting the writer to PostgreSQL: %w", err)
		}
		s.conn = c
	}
	tag, err := s.conn.Exec(ctx, sql, args...)
	if err != nil {
		s.conn.Close(context.WithoutCancel(ctx))
		s.conn = nil
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (s *pgStore) insert(ctx context.Context, seq int64) error {
	_, err := s.exec(ctx, "INSERT INTO fault.events (seq, ver, pad) VALUES ($1, 0, $2)", seq, padding)
	return err
}

func (s *pgStore) update(ctx context.Context, seq, ver int64) error {
	n, err := s.exec(ctx, "UPDATE fault.events SET ver = $2 WHERE seq = $1", seq, ver)
	if err == nil && n != 1 {
		err = fmt.Errorf("update of row %d changed %d rows", seq, n)
	}
	return err
}

func (s *pgStore) version(ctx context.Context, seq int64) (int64, bool, error) {
	if _, err := s.exec(ctx, "SELECT 1"); err != nil {
		return 0, false, err
	}
	var ver int64
	err := s.conn.QueryRow(ctx, "SELECT ver FROM fault.events WHERE seq = $1", seq).Scan(&ver)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		s.conn.Close(context.WithoutCancel(ctx))
		s.conn = nil
		return 0, false, err
	}
	return ver, true, nil
}

func (s *pgStore) close() {
	if s.conn != nil {
		s.conn.Close(context.Background())
	}
}

// mariaStore writes as root through database/sql, whose pool replaces
// broken connections by itself.
type mariaStore struct {
	db *sql.DB
}

func (s *mariaStore) insert(ctx context.Context, seq int64) error {
	_, err := s.db.ExecContext(ctx, "INSERT INTO fault.events (seq, ver, pad) VALUES (?, 0, ?)", seq, padding)
	return err
}

func (s *mariaStore) update(ctx context.Context, seq, ver int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE fault.events SET ver = ? WHERE seq = ?", ver, seq)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("update of row %d changed %d rows (%v)", seq, n, err)
	}
	return nil
}

func (s *mariaStore) version(ctx context.Context, seq int64) (int64, bool, error) {
	var ver int64
	err := s.db.QueryRowContext(ctx, "SELECT ver FROM fault.events WHERE seq = ?", seq).Scan(&ver)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return ver, true, nil
}

func (s *mariaStore) close() { s.db.Close() }

// padding fills each row a little, so that events have a realistic size.
var padding = strings.Repeat("p", 64)

// hotRow is updated over and over, so that one key has a long run of
// versions whose order the checker can verify.
const hotRow = 1

// writer inserts rows with increasing seq at a steady rate, and updates
// some: every tenth change updates hotRow, every tenth a recent row. A
// change whose outcome is unknown (the connection broke during the
// commit) is resolved by reading the row back, so the log holds exactly
// the changes the database committed.
type writer struct {
	store      rowStore
	rate       int   // changes per second
	next       int64 // next seq to insert
	insertOnly bool
	vers       map[int64]int64 // current version of the rows this writer touches

	mu      sync.Mutex
	log     []committedWrite
	retries int
	lastErr error

	cancel context.CancelFunc
	done   chan struct{}
}

func newWriter(store rowStore, rate int, firstSeq int64, insertOnly bool) *writer {
	return &writer{store: store, rate: rate, next: firstSeq, insertOnly: insertOnly, vers: map[int64]int64{hotRow: 0}}
}

func (w *writer) start(ctx context.Context) {
	ctx, w.cancel = context.WithCancel(ctx)
	w.done = make(chan struct{})
	go func() {
		defer close(w.done)
		w.run(ctx)
	}()
}

// stop ends the writer and returns what it committed.
func (w *writer) stop() []committedWrite {
	w.cancel()
	<-w.done
	w.store.close()
	return w.writes()
}

func (w *writer) writes() []committedWrite {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]committedWrite(nil), w.log...)
}

func (w *writer) stats() (retries int, lastErr error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.retries, w.lastErr
}

func (w *writer) record(rv rowVersion) {
	w.mu.Lock()
	w.log = append(w.log, committedWrite{rowVersion: rv, at: time.Now()})
	w.mu.Unlock()
}

func (w *writer) run(ctx context.Context) {
	tick := time.NewTicker(time.Second / time.Duration(w.rate))
	defer tick.Stop()
	first := w.next
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rv := rowVersion{seq: w.next}
		switch {
		case !w.insertOnly && i%10 == 9:
			rv = rowVersion{seq: hotRow, ver: w.vers[hotRow] + 1}
		case !w.insertOnly && i%10 == 4 && w.next-3 >= first:
			rv = rowVersion{seq: w.next - 3, ver: w.vers[w.next-3] + 1}
		}
		if !w.apply(ctx, rv) {
			return
		}
		w.vers[rv.seq] = rv.ver
		if rv.ver == 0 {
			w.next++
		}
	}
}

// apply makes change rv, retrying through outages, and reports false if
// ctx ended first (after settling whether rv was committed).
func (w *writer) apply(ctx context.Context, rv rowVersion) bool {
	for {
		opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		if rv.ver == 0 {
			err = w.store.insert(opCtx, rv.seq)
		} else {
			err = w.store.update(opCtx, rv.seq, rv.ver)
		}
		cancel()
		if err == nil {
			w.record(rv)
			return true
		}
		if ctx.Err() != nil { // stopped, not a database failure
			w.settle(rv)
			return false
		}
		w.mu.Lock()
		w.retries++
		w.lastErr = err
		w.mu.Unlock()
		// The commit may have happened with its reply lost: read the
		// row back before trying again, or a retried insert would fail
		// forever and a committed change would go unrecorded.
		for {
			select {
			case <-ctx.Done():
				w.settle(rv)
				return false
			case <-time.After(100 * time.Millisecond):
			}
			vctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			ver, ok, err := w.store.version(vctx, rv.seq)
			cancel()
			if err != nil {
				continue // still unreachable
			}
			if ok && ver >= rv.ver {
				w.record(rv)
				return true
			}
			break
		}
	}
}

// settle records rv if the database has it although the writer was
// stopped before it could tell.
func (w *writer) settle(rv rowVersion) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		ver, ok, err := w.store.version(ctx, rv.seq)
		if err == nil {
			if ok && ver >= rv.ver {
				w.record(rv)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// event is one record of the topic, as kcat printed it.
type event struct {
	offset int64
	rv     rowVersion
	op     string
	// schema is the value schema the JsonConverter embedded (compact
	// JSON), empty when schemas are off.
	schema string
}

// kcatFormat prints the offset and the value of each record on one line;
// JSON values hold no raw newlines.
const kcatFormat = `%o\t%s\n`

func parseEvent(line string) (event, error) {
	off, value, ok := strings.Cut(line, "\t")
	if !ok {
		return event{}, fmt.Errorf("kcat line without a tab: %q", line)
	}
	var ev event
	var err error
	if ev.offset, err = strconv.ParseInt(off, 10, 64); err != nil {
		return event{}, fmt.Errorf("kcat offset %q: %w", off, err)
	}
	payload := []byte(value)
	var env struct {
		Schema  json.RawMessage `json:"schema"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(payload, &env); err != nil {
		return event{}, fmt.Errorf("offset %d: value is not JSON: %w: %.200q", ev.offset, err, value)
	}
	if len(env.Schema) > 0 && len(env.Payload) > 0 { // schemas.enable=true
		payload, ev.schema = env.Payload, string(env.Schema)
	}
	var v struct {
		Op    string `json:"op"`
		After *struct {
			Seq *int64 `json:"seq"`
			Ver *int64 `json:"ver"`
		} `json:"after"`
	}
	if err := json.Unmarshal(payload, &v); err != nil {
		return event{}, fmt.Errorf("offset %d: value is not a change event: %w: %.200q", ev.offset, err, value)
	}
	if v.After == nil || v.After.Seq == nil || v.After.Ver == nil {
		return event{}, fmt.Errorf("offset %d: change event without after.seq/after.ver: %.300q", ev.offset, value)
	}
	ev.rv, ev.op = rowVersion{*v.After.Seq, *v.After.Ver}, v.Op
	return ev, nil
}

// liveTail follows the topic with kcat while the scenario runs and notes
// when each change first became readable, which is what the recovery time
// is measured from. kcat is restarted from the beginning whenever it exits
// (topic not created yet, broker gone); changes already seen keep the time
// they were first seen.
type liveTail struct {
	broker, topic string

	mu       sync.Mutex
	seen     map[rowVersion]time.Time
	ops      map[string]int
	bad      []string
	restarts int

	cancel context.CancelFunc
	done   chan struct{}
}

func startTail(ctx context.Context, broker, topic string) *liveTail {
	lt := &liveTail{broker: broker, topic: topic, seen: map[rowVersion]time.Time{}, ops: map[string]int{}, done: make(chan struct{})}
	ctx, lt.cancel = context.WithCancel(ctx)
	go func() {
		defer close(lt.done)
		for ctx.Err() == nil {
			lt.follow(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
				lt.mu.Lock()
				lt.restarts++
				lt.mu.Unlock()
			}
		}
	}()
	return lt
}

func (lt *liveTail) follow(ctx context.Context) {
	// -u: unbuffered, or arrival times would be those of a full buffer.
	cmd := exec.CommandContext(ctx, "kcat", "-C", "-u", "-q", "-b", lt.broker, "-t", lt.topic, "-o", "beginning", "-f", kcatFormat)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return
	}
	if err := cmd.Start(); err != nil {
		return
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		now := time.Now()
		ev, err := parseEvent(sc.Text())
		lt.mu.Lock()
		if err != nil {
			if len(lt.bad) < 10 {
				lt.bad = append(lt.bad, err.Error())
			}
		} else if _, ok := lt.seen[ev.rv]; !ok {
			lt.seen[ev.rv] = now
			lt.ops[ev.op]++
		}
		lt.mu.Unlock()
	}
	_ = cmd.Wait()
}

func (lt *liveTail) stop() {
	lt.cancel()
	<-lt.done
}

// firstSeen returns when rv was first read from the topic.
func (lt *liveTail) firstSeen(rv rowVersion) (time.Time, bool) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	at, ok := lt.seen[rv]
	return at, ok
}

// count returns how many distinct changes have been read, and how many
// of them were snapshot reads (op r).
func (lt *liveTail) count() (distinct, reads int) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return len(lt.seen), lt.ops["r"]
}

// missing returns how many of writes have not been read yet.
func (lt *liveTail) missing(writes []committedWrite) int {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	n := 0
	for _, w := range writes {
		if _, ok := lt.seen[w.rowVersion]; !ok {
			n++
		}
	}
	return n
}

// events returns the distinct changes the tail saw, in the order it first
// saw them.
func (lt *liveTail) events() []event {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	evs := make([]event, 0, len(lt.seen))
	for rv := range lt.seen {
		evs = append(evs, event{rv: rv})
	}
	sort.Slice(evs, func(i, j int) bool { return lt.seen[evs[i].rv].Before(lt.seen[evs[j].rv]) })
	for i := range evs {
		evs[i].offset = int64(i)
	}
	return evs
}

// readTopic reads the whole topic once with kcat (-e: exit at its end).
// The timeout is generous for the biggest topic of the suite (a few
// hundred thousand events take seconds) and bounds a read that never
// reaches the end, as on a broker whose partition fetches keep failing.
func readTopic(ctx context.Context, broker, topic string) ([]event, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "kcat", "-C", "-e", "-q", "-b", broker, "-t", topic, "-o", "beginning", "-f", kcatFormat)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no end of topic after 90 s, %d bytes read (%w)", stdout.Len(), err)
		}
		return nil, fmt.Errorf("reading %s from %s with kcat: %w: %s", topic, broker, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var evs []event
	for line := range strings.SplitSeq(strings.TrimRight(stdout.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		ev, err := parseEvent(line)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", topic, err)
		}
		evs = append(evs, ev)
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].offset < evs[j].offset })
	return evs, nil
}

// tally is what the checker found for one scenario.
type tally struct {
	written, delivered, missing, duplicates, orderViolations, unexpected int
	missingSample                                                        []committedWrite
	violationSample, unexpectedSample                                    []string
	// schemaChanges lists where the value schema differed from the one
	// before it; no scenario changes the table, so there must be none.
	schemaChanges []string
}

// count compares the topic with what was written. A duplicate is a change
// delivered again (at-least-once replay after a restart). An order
// violation is a change delivered for the first time after a later
// version of the same row was: a consumer would apply them in the wrong
// order. Replays of an already delivered prefix are duplicates, not
// violations.
func count(writes []committedWrite, evs []event) tally {
	var tl tally
	written := make(map[rowVersion]bool, len(writes))
	for _, w := range writes {
		written[w.rowVersion] = true
	}
	tl.written = len(written)
	seen := make(map[rowVersion]bool, len(evs))
	latest := map[int64]int64{}
	prevSchema := ""
	for _, ev := range evs {
		if ev.schema != "" {
			if prevSchema != "" && ev.schema != prevSchema {
				tl.schemaChanges = append(tl.schemaChanges, fmt.Sprintf("offset %d (%v op=%s): %s", ev.offset, ev.rv, ev.op, jsonDiff(prevSchema, ev.schema)))
			}
			prevSchema = ev.schema
		}
		if seen[ev.rv] {
			tl.duplicates++
			continue
		}
		seen[ev.rv] = true
		if !written[ev.rv] {
			tl.unexpected++
			if len(tl.unexpectedSample) < 5 {
				tl.unexpectedSample = append(tl.unexpectedSample, fmt.Sprintf("offset %d: %v op=%s", ev.offset, ev.rv, ev.op))
			}
		}
		if v, ok := latest[ev.rv.seq]; ok && ev.rv.ver < v {
			tl.orderViolations++
			if len(tl.violationSample) < 5 {
				tl.violationSample = append(tl.violationSample, fmt.Sprintf("offset %d: %v op=%s after ver=%d", ev.offset, ev.rv, ev.op, v))
			}
			continue
		}
		latest[ev.rv.seq] = ev.rv.ver
	}
	for _, w := range writes {
		if seen[w.rowVersion] {
			tl.delivered++
			continue
		}
		tl.missing++
		if len(tl.missingSample) < 10 {
			tl.missingSample = append(tl.missingSample, w)
		}
	}
	return tl
}

// jsonDiff describes the first difference between two JSON documents, as
// a path (array elements that are Connect fields are named by "field")
// and the two values.
func jsonDiff(a, b string) string {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return "(not JSON)"
	}
	if d := diffValues("$", x, y); d != "" {
		return d
	}
	return "(equal after parsing)"
}

func diffValues(path string, x, y any) string {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: %.80v -> %.80v", path, x, y)
		}
		keys := map[string]bool{}
		for k := range xv {
			keys[k] = true
		}
		for k := range yv {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			if d := diffValues(path+"."+k, xv[k], yv[k]); d != "" {
				return d
			}
		}
	case []any:
		yv, ok := y.([]any)
		if !ok || len(yv) != len(xv) {
			return fmt.Sprintf("%s: %.80v -> %.80v", path, x, y)
		}
		for i := range xv {
			elem := fmt.Sprintf("%s[%d]", path, i)
			if m, ok := xv[i].(map[string]any); ok {
				if f, ok := m["field"].(string); ok {
					elem = fmt.Sprintf("%s[%s]", path, f)
				}
			}
			if d := diffValues(elem, xv[i], yv[i]); d != "" {
				return d
			}
		}
	default:
		if fmt.Sprint(x) != fmt.Sprint(y) {
			return fmt.Sprintf("%s: %v -> %v", path, x, y)
		}
	}
	return ""
}

// scanForSecret returns the lines of the files that contain secret, with
// the secret itself masked so that the failure message does not spread it.
func scanForSecret(paths []string, secret string) ([]string, error) {
	var hits []string
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("reading connector output %s: %w", p, err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, secret) {
				hits = append(hits, fmt.Sprintf("%s:%d: %s", p, i+1, strings.ReplaceAll(line, secret, "<PASSWORD>")))
			}
		}
	}
	return hits, nil
}
