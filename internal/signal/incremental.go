package signal

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/tributary-io/tributary/internal/jackson"
)

// Offset keys of Debezium's AbstractIncrementalSnapshotContext.
const (
	KeyCollections   = "incremental_snapshot_collections"
	KeyPrimaryKey    = "incremental_snapshot_primary_key"
	KeyMaximumKey    = "incremental_snapshot_maximum_key"
	KeyCorrelationID = "incremental_snapshot_correlation_id"
	// KeySignalOffset is the read-only MySQL/MariaDB variant's
	// (BinlogReadOnlyIncrementalSnapshotContext): the Kafka offset of the
	// signal that started or stopped the snapshot, null for other channels.
	KeySignalOffset = "incremental_snapshot_signal_offset"

	collID        = KeyCollections + "_id"
	collCondition = KeyCollections + "_additional_condition"
	collSurrogate = KeyCollections + "_surrogate_key"
	collCorrID    = KeyCollections + "_correlation_id"
)

// Collection is one table queued for an incremental snapshot.
type Collection struct {
	ID            string // schema.table (PostgreSQL), database.table (MySQL)
	Condition     string // additional condition, "" for none
	SurrogateKey  string
	CorrelationID string // id of the signal that asked for it
}

// Incremental is the state of an incremental snapshot: the tables still to
// read, where the current table's scan is, and the chunk in progress. It
// survives restarts through the offset keys Debezium uses (Store, Load):
// the last key sent and the table's maximum key, so a restarted connector
// continues after the last row it emitted.
//
// It is used by one goroutine, the connector's stream loop.
type Incremental struct {
	collections []Collection
	collJSON    string // cached: offsets are stored with every record

	// chunkEnd is the last key of the chunk read last: the next chunk
	// starts after it. nil: the table's scan starts at its beginning.
	chunkEnd []any
	lastSent []any
	lastHex  string
	maxKey   []any
	maxHex   string

	chunkID       string
	correlationID string
	signalOffset  *int64
	paused        bool
	stops         []string
}

// NewIncremental returns an empty context (no snapshot running).
func NewIncremental() *Incremental { return &Incremental{} }

// Running reports whether tables are queued.
func (c *Incremental) Running() bool { return len(c.collections) > 0 }

// Paused reports whether pause-snapshot stopped reading chunks.
func (c *Incremental) Paused() bool { return c.paused }

// Pause stops reading further chunks; it reports whether anything changed.
func (c *Incremental) Pause() bool {
	if !c.Running() || c.paused {
		return false
	}
	c.paused = true
	return true
}

// Resume undoes Pause; it reports whether anything changed.
func (c *Incremental) Resume() bool {
	if !c.Running() || !c.paused {
		return false
	}
	c.paused = false
	return true
}

// Current is the table being read, or nil.
func (c *Incremental) Current() *Collection {
	if len(c.collections) == 0 {
		return nil
	}
	return &c.collections[0]
}

// Collections returns the queued tables, the current one first.
func (c *Incremental) Collections() []Collection { return append([]Collection(nil), c.collections...) }

// CorrelationID is the id of the signal that queued tables last.
func (c *Incremental) CorrelationID() string { return c.correlationID }

// Add queues tables that are not queued yet and returns those added.
func (c *Incremental) Add(correlationID string, ids []string, req *SnapshotRequest) []Collection {
	var added []Collection
	for _, id := range ids {
		if c.queued(id) {
			continue
		}
		col := Collection{ID: id, SurrogateKey: req.SurrogateKey, CorrelationID: correlationID, Condition: req.FilterFor(id)}
		c.collections = append(c.collections, col)
		added = append(added, col)
	}
	c.correlationID = correlationID
	c.collJSON = ""
	return added
}

func (c *Incremental) queued(id string) bool {
	for _, q := range c.collections {
		if q.ID == id {
			return true
		}
	}
	return false
}

// Next finishes the current table and moves to the next one.
func (c *Incremental) Next() {
	c.resetTable()
	if len(c.collections) > 0 {
		c.collections = c.collections[1:]
		c.collJSON = ""
	}
	if len(c.collections) == 0 {
		c.paused = false
	}
}

// Remove drops a queued table other than the current one.
func (c *Incremental) Remove(id string) bool {
	for i := 1; i < len(c.collections); i++ {
		if c.collections[i].ID == id {
			c.collections = append(c.collections[:i], c.collections[i+1:]...)
			c.collJSON = ""
			return true
		}
	}
	return false
}

func (c *Incremental) resetTable() {
	c.chunkEnd, c.lastSent, c.lastHex, c.maxKey, c.maxHex = nil, nil, "", nil, ""
}

// RequestStop queues a stop-snapshot for the tables matching patterns (all
// when empty); it takes effect before the next chunk is read.
func (c *Incremental) RequestStop(patterns []string) bool {
	if !c.Running() {
		return false
	}
	if len(patterns) == 0 {
		patterns = []string{".*"}
	}
	c.stops = append(c.stops, patterns...)
	return true
}

// TakeStops returns and clears the queued stop patterns.
func (c *Incremental) TakeStops() []string {
	s := c.stops
	c.stops = nil
	return s
}

// MatchingQueued returns the queued table names the patterns match.
func (c *Incremental) MatchingQueued(patterns []string) []string {
	var out []string
	for _, q := range c.collections {
		for _, p := range patterns {
			if re, err := regexp.Compile("^(?:" + p + ")$"); err == nil && re.MatchString(q.ID) || p == q.ID {
				out = append(out, q.ID)
				break
			}
		}
	}
	return out
}

// SetSignalOffset records the Kafka offset of the signal that changed the
// snapshot last (nil: it did not come through the kafka channel).
func (c *Incremental) SetSignalOffset(off *int64) { c.signalOffset = off }

// SignalOffset is the value of KeySignalOffset: an int64 or nil.
func (c *Incremental) SignalOffset() any {
	if c.signalOffset == nil {
		return nil
	}
	return *c.signalOffset
}

// StartChunk begins a new chunk and returns its id; watermarks of other
// chunks (replayed after a restart) are ignored.
func (c *Incremental) StartChunk() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	c.chunkID = UUID(b).String()
	return c.chunkID
}

// ChunkID is the current chunk's id, "" before the first.
func (c *Incremental) ChunkID() string { return c.chunkID }

// IsCurrentWindow reports whether a watermark id (<chunk id>-open or
// -close) belongs to the current chunk.
func (c *Incremental) IsCurrentWindow(id string) bool {
	return c.chunkID != "" && strings.HasPrefix(id, c.chunkID)
}

// ChunkEnd is the key the next chunk starts after (nil: the table's start).
func (c *Incremental) ChunkEnd() []any { return c.chunkEnd }

// SetChunkEnd records the last key of the chunk just read.
func (c *Incremental) SetChunkEnd(k []any) { c.chunkEnd = k }

// RevertChunk goes back to the last key sent, so the chunk is read again.
func (c *Incremental) RevertChunk() { c.chunkEnd = c.lastSent }

// Sent records the key of a row emitted from the window.
func (c *Incremental) Sent(k []any) { c.lastSent, c.lastHex = k, "" }

// MaximumKey is the largest key of the current table when its scan began.
func (c *Incremental) MaximumKey() []any { return c.maxKey }

// SetMaximumKey records the current table's largest key.
func (c *Incremental) SetMaximumKey(k []any) { c.maxKey, c.maxHex = k, "" }

// Store adds the context to an offset while a snapshot runs
// (AbstractIncrementalSnapshotContext.store).
func (c *Incremental) Store(m map[string]any) {
	if !c.Running() {
		return
	}
	if c.lastHex == "" {
		c.lastHex = EncodeKey(c.lastSent)
	}
	if c.maxHex == "" {
		c.maxHex = EncodeKey(c.maxKey)
	}
	m[KeyPrimaryKey] = c.lastHex
	m[KeyMaximumKey] = c.maxHex
	m[KeyCollections] = c.collectionsJSON()
	if c.correlationID != "" {
		m[KeyCorrelationID] = c.correlationID
	} else {
		m[KeyCorrelationID] = nil
	}
}

func (c *Incremental) collectionsJSON() string {
	if c.collJSON != "" {
		return c.collJSON
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, q := range c.collections {
		if i > 0 {
			b.WriteByte(',')
		}
		// Debezium writes the condition wrapped in parentheses
		// (DataCollection.getAdditionalCondition).
		cond := q.Condition
		if cond != "" && !wrapped(cond) {
			cond = "(" + cond + ")"
		}
		b.WriteByte('{')
		writeField(&b, collID, q.ID)
		b.WriteByte(',')
		writeField(&b, collCondition, cond)
		b.WriteByte(',')
		writeField(&b, collSurrogate, q.SurrogateKey)
		b.WriteByte(',')
		writeField(&b, collCorrID, q.CorrelationID)
		b.WriteByte('}')
	}
	b.WriteByte(']')
	c.collJSON = b.String()
	return c.collJSON
}

// writeField writes "key":"value" escaped as Jackson escapes it (the
// offset is compared and stored as text), or "key":null for "".
func writeField(b *strings.Builder, k, v string) {
	b.Write(jackson.AppendString(nil, k))
	b.WriteByte(':')
	if v == "" {
		b.WriteString("null")
		return
	}
	b.Write(jackson.AppendString(nil, v))
}

// wrapped reports whether s is one parenthesised expression, so that a
// condition read back from an offset is not wrapped again on every store.
func wrapped(s string) bool {
	if len(s) < 2 || s[0] != '(' || s[len(s)-1] != ')' {
		return false
	}
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if quote != 0 {
			if ch == quote {
				quote = 0
			}
			continue
		}
		switch ch {
		case '\'', '"':
			quote = ch
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return false
			}
		}
	}
	return depth == 0
}

// ErrKeyUnreadable wraps a stored key that cannot be decoded; the
// returned context is still usable and restarts the current table's scan.
var ErrKeyUnreadable = errors.New("stored incremental snapshot key is unreadable")

// LoadIncremental restores the context from an offset
// (AbstractIncrementalSnapshotContext.init). A stored key it cannot read
// (a Java class other than Integer, Long, Short, String or UUID, written by
// Debezium) leaves the current table to be read again from its start and
// is reported with ErrKeyUnreadable next to the usable context.
func LoadIncremental(m map[string]any) (*Incremental, error) {
	c := &Incremental{}
	if s, ok := m[KeyCorrelationID].(string); ok {
		c.correlationID = s
	}
	switch v := m[KeySignalOffset].(type) {
	case int64:
		c.signalOffset = &v
	case float64:
		n := int64(v)
		c.signalOffset = &n
	case json.Number:
		if n, err := v.Int64(); err == nil {
			c.signalOffset = &n
		}
	}
	raw, ok := m[KeyCollections].(string)
	if !ok || raw == "" {
		return c, nil
	}
	var list []map[string]*string
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, fmt.Errorf("offset key %s: %w", KeyCollections, err)
	}
	get := func(e map[string]*string, k string) string {
		if p := e[k]; p != nil {
			return *p
		}
		return ""
	}
	for _, e := range list {
		id := get(e, collID)
		if id == "" {
			return nil, fmt.Errorf("offset key %s: an entry has no %s", KeyCollections, collID)
		}
		c.collections = append(c.collections, Collection{ID: id, Condition: get(e, collCondition),
			SurrogateKey: get(e, collSurrogate), CorrelationID: get(e, collCorrID)})
	}
	var bad error
	if s, ok := m[KeyPrimaryKey].(string); ok && s != "" {
		k, err := DecodeKey(s)
		if err != nil {
			bad = fmt.Errorf("%w: %s: %v", ErrKeyUnreadable, KeyPrimaryKey, err)
		} else {
			// Debezium forgets the last key sent here; keeping it means a
			// chunk wholly replaced by streamed changes right after the
			// restart does not send a second restart back to the start.
			c.chunkEnd, c.lastSent = k, k
		}
	}
	if s, ok := m[KeyMaximumKey].(string); ok && s != "" && bad == nil {
		k, err := DecodeKey(s)
		if err != nil {
			bad = fmt.Errorf("%w: %s: %v", ErrKeyUnreadable, KeyMaximumKey, err)
		} else {
			c.maxKey = k
		}
	}
	if bad != nil {
		c.chunkEnd, c.lastSent, c.maxKey = nil, nil, nil
	}
	return c, bad
}

// String is for logs.
func (c *Incremental) String() string {
	ids := make([]string, len(c.collections))
	for i, q := range c.collections {
		ids[i] = q.ID
	}
	return fmt.Sprintf("tables=%v chunk=%s after=%v max=%v paused=%v", ids, c.chunkID, c.chunkEnd, c.maxKey, c.paused)
}

// KeyText renders a key value as text for SQL literals and logs.
func KeyText(v any) string {
	if u, ok := v.(UUID); ok {
		return u.String()
	}
	return fmt.Sprint(v)
}

// WindowMetadata is the data of a watermark row
// (SignalMetadata.metadataString): a JSON object with ": " and ", "
// separators and the timestamps as Java's Instant.toString.
func WindowMetadata(open, close time.Time, correlationID, collection string) string {
	var parts []string
	add := func(k, v string) {
		parts = append(parts, `"`+k+`": `+string(jackson.AppendString(nil, v)))
	}
	if !open.IsZero() {
		add("openWindowTimestamp", JavaInstant(open))
	}
	if !close.IsZero() {
		add("closeWindowTimestamp", JavaInstant(close))
	}
	if correlationID != "" {
		add("correlationId", correlationID)
	}
	if collection != "" {
		add("dataCollectionId", collection)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// JavaInstant formats t as java.time.Instant.toString: UTC, seconds
// always, the fraction in groups of three digits only as long as needed.
func JavaInstant(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	ns := t.Nanosecond()
	switch {
	case ns == 0:
	case ns%1_000_000 == 0:
		s += fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		s += fmt.Sprintf(".%06d", ns/1_000)
	default:
		s += fmt.Sprintf(".%09d", ns)
	}
	return s + "Z"
}
