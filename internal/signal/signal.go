// Package signal is Debezium's signalling for Tributary's source
// connectors: the signal record and its actions (execute-snapshot,
// stop-snapshot, pause-snapshot, resume-snapshot, log and the incremental
// snapshot window markers), the channels that deliver signals from outside
// the database (a Kafka topic, a file), the signal.* and
// incremental.snapshot.* properties, and the incremental snapshot context
// with the offset keys Debezium stores it under. What a signal does to a
// particular database (reading chunks, writing watermarks) stays in the
// connector; this package holds what every connector shares.
package signal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Action names, Debezium's signal types.
const (
	ActionLog             = "log"
	ActionExecuteSnapshot = "execute-snapshot"
	ActionStopSnapshot    = "stop-snapshot"
	ActionPauseSnapshot   = "pause-snapshot"
	ActionResumeSnapshot  = "resume-snapshot"
	ActionWindowOpen      = "snapshot-window-open"
	ActionWindowClose     = "snapshot-window-close"
)

// Record is one signal (Debezium's SignalRecord): an id chosen by the
// sender, an action type and the action's JSON data ("" when absent).
type Record struct {
	ID      string
	Type    string
	Data    string
	Channel string // source, kafka, file, rest
	// KafkaOffset is the signal's offset in the kafka channel's topic
	// (Debezium's KafkaSignalChannel.CHANNEL_OFFSET), nil elsewhere.
	KafkaOffset *int64
}

// ParseJSON reads the JSON form of a signal that the kafka and file
// channels and the REST API carry: {"id": ..., "type": ..., "data": {...}}.
// The id may be missing for Kafka signals (Debezium leaves it null).
func ParseJSON(b []byte, channel string) (Record, error) {
	var raw struct {
		ID   *string         `json:"id"`
		Type *string         `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return Record{Channel: channel}, fmt.Errorf("signal is not a JSON object: %w", err)
	}
	r := Record{Channel: channel}
	if raw.ID != nil {
		r.ID = *raw.ID
	}
	if raw.Type == nil || *raw.Type == "" {
		return r, fmt.Errorf("signal has no type")
	}
	r.Type = *raw.Type
	if d := bytes.TrimSpace(raw.Data); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		if d[0] != '{' {
			return r, fmt.Errorf("signal data must be a JSON object, not %s", d)
		}
		r.Data = string(d)
	}
	return r, nil
}

// data parses a signal's data field; an absent field is an empty object.
func data(s string) (map[string]json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("data is not a JSON object: %w", err)
	}
	return m, nil
}

func str(m map[string]json.RawMessage, key string) (string, bool, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false, fmt.Errorf("field %q must be a string", key)
	}
	return s, true, nil
}

func strList(m map[string]json.RawMessage, key string) ([]string, error) {
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("field %q must be an array of strings", key)
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("field %q holds a non-string element %v", key, v)
		}
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// SnapshotKind is the type of an execute-snapshot or stop-snapshot signal.
type SnapshotKind string

const (
	KindIncremental SnapshotKind = "incremental"
	KindBlocking    SnapshotKind = "blocking"
)

func snapshotKind(m map[string]json.RawMessage) (SnapshotKind, error) {
	s, ok, err := str(m, "type")
	if err != nil {
		return "", err
	}
	if !ok {
		return KindIncremental, nil
	}
	switch k := SnapshotKind(strings.ToLower(strings.TrimSpace(s))); k {
	case KindIncremental, KindBlocking:
		return k, nil
	}
	return "", fmt.Errorf("snapshot type %q is neither incremental nor blocking", s)
}

// Condition is one entry of additional-conditions: the filter applies to
// the tables whose name the data-collection pattern matches entirely
// (case-insensitively, as Debezium compiles it).
type Condition struct {
	DataCollection string
	Pattern        *regexp.Regexp
	Filter         string
}

// SnapshotRequest is an execute-snapshot signal's data.
type SnapshotRequest struct {
	Kind            SnapshotKind
	DataCollections []string // regular expressions over "schema.table"
	Conditions      []Condition
	SurrogateKey    string
}

// FilterFor returns the filter of the first condition matching table, or "".
func (r *SnapshotRequest) FilterFor(table string) string {
	for _, c := range r.Conditions {
		if c.Pattern.MatchString(table) {
			return c.Filter
		}
	}
	return ""
}

// ParseExecuteSnapshot reads an execute-snapshot signal's data.
func ParseExecuteSnapshot(d string) (*SnapshotRequest, error) {
	m, err := data(d)
	if err != nil {
		return nil, err
	}
	req := &SnapshotRequest{}
	if req.Kind, err = snapshotKind(m); err != nil {
		return nil, err
	}
	if req.DataCollections, err = strList(m, "data-collections"); err != nil {
		return nil, err
	}
	if len(req.DataCollections) == 0 {
		return nil, fmt.Errorf("field \"data-collections\" is missing or empty")
	}
	for _, p := range req.DataCollections {
		if _, err := regexp.Compile("^(?:" + p + ")$"); err != nil {
			return nil, fmt.Errorf("data-collections: invalid regular expression %q: %w", p, err)
		}
	}
	if _, ok := m["additional-condition"]; ok {
		// Debezium dropped the single-string form in 2.x and ignores it;
		// ignoring a filter would snapshot rows the sender meant to leave out.
		return nil, fmt.Errorf("field \"additional-condition\" is no longer supported; use \"additional-conditions\": [{\"data-collection\": ..., \"filter\": ...}]")
	}
	if raw, ok := m["additional-conditions"]; ok && string(raw) != "null" {
		var conds []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &conds); err != nil {
			return nil, fmt.Errorf("field \"additional-conditions\" must be an array of objects")
		}
		for i, c := range conds {
			dc, ok, err := str(c, "data-collection")
			if err != nil || !ok || dc == "" {
				return nil, fmt.Errorf("additional-conditions[%d]: \"data-collection\" must be a non-empty string", i)
			}
			f, ok, err := str(c, "filter")
			if err != nil || !ok {
				return nil, fmt.Errorf("additional-conditions[%d]: \"filter\" must be a string", i)
			}
			re, err := regexp.Compile("(?i)^(?:" + dc + ")$")
			if err != nil {
				return nil, fmt.Errorf("additional-conditions[%d]: invalid regular expression %q: %w", i, dc, err)
			}
			req.Conditions = append(req.Conditions, Condition{DataCollection: dc, Pattern: re, Filter: f})
		}
	}
	if req.SurrogateKey, _, err = str(m, "surrogate-key"); err != nil {
		return nil, err
	}
	req.SurrogateKey = strings.TrimSpace(req.SurrogateKey)
	if req.Kind == KindBlocking && req.SurrogateKey != "" {
		return nil, fmt.Errorf("surrogate-key applies to incremental snapshots only")
	}
	return req, nil
}

// StopRequest is a stop-snapshot signal's data. No data collections means
// the whole snapshot.
type StopRequest struct {
	Kind            SnapshotKind
	DataCollections []string
}

// ParseStopSnapshot reads a stop-snapshot signal's data.
func ParseStopSnapshot(d string) (*StopRequest, error) {
	m, err := data(d)
	if err != nil {
		return nil, err
	}
	req := &StopRequest{}
	if req.Kind, err = snapshotKind(m); err != nil {
		return nil, err
	}
	if req.DataCollections, err = strList(m, "data-collections"); err != nil {
		return nil, err
	}
	for _, p := range req.DataCollections {
		if _, err := regexp.Compile("^(?:" + p + ")$"); err != nil {
			return nil, fmt.Errorf("data-collections: invalid regular expression %q: %w", p, err)
		}
	}
	return req, nil
}

// ParseLog returns a log signal's message.
func ParseLog(d string) (string, error) {
	m, err := data(d)
	if err != nil {
		return "", err
	}
	msg, _, err := str(m, "message")
	if err != nil {
		return "", err
	}
	if msg == "" {
		return "", fmt.Errorf("field \"message\" is missing or empty")
	}
	return msg, nil
}

// FormatLog fills the first {} placeholder of a log signal's message with
// the connector's offset, as Debezium's SLF4J call does: written like
// Java's Map.toString, {key=value, ...} (keys sorted).
func FormatLog(msg string, offset map[string]any) string {
	if !strings.Contains(msg, "{}") {
		return msg
	}
	keys := make([]string, 0, len(offset))
	for k := range offset {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		v := offset[k]
		if v == nil {
			v = "null"
		}
		fmt.Fprintf(&b, "%s=%v", k, v)
	}
	b.WriteByte('}')
	return strings.Replace(msg, "{}", b.String(), 1)
}

// MatchCollections expands data-collection patterns against the names of
// the captured tables, as Debezium's expandAndDedupeDataCollectionIds:
// each pattern must match a whole name (case-sensitively); a pattern that
// matches nothing is kept as a literal name, so that the caller can say
// which table it did not find.
func MatchCollections(patterns, tables []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, p := range patterns {
		re, err := regexp.Compile("^(?:" + p + ")$")
		n := 0
		if err == nil {
			for _, t := range tables {
				if re.MatchString(t) {
					add(t)
					n++
				}
			}
		}
		if n == 0 {
			add(p)
		}
	}
	return out
}
