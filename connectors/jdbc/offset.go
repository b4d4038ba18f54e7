package jdbc

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Offset keys. The first three are Confluent's TimestampIncrementingOffset
// fields, so an offset written by Confluent's connector is read unchanged
// and one written by Tributary can be handed back to it (it ignores keys it
// does not know). The tributary_* keys carry what Confluent's format cannot
// express.
const (
	offIncrementing = "incrementing"
	offTimestamp    = "timestamp"       // epoch millis
	offTimestampNs  = "timestamp_nanos" // nanoseconds within the second
	// offTiebreak is the text form of the last row's key columns in
	// timestamp mode, so a restart resumes inside a run of rows sharing
	// one timestamp.
	offTiebreak = "tributary_tiebreak"
	// offMaxIncrementing is the largest incrementing value delivered in
	// timestamp+incrementing mode; rows above it are creates, the rest
	// updates.
	offMaxIncrementing = "tributary_max_incrementing"
)

// Source partition keys (JdbcSourceConnectorConstants, OffsetProtocols).
const (
	partTable    = "table"
	partQuery    = "query"
	partProtocol = "protocol"
)

// offsetState is a querier's position.
type offsetState struct {
	ts     *time.Time
	inc    *int64
	tie    []string
	maxInc *int64
}

func (o offsetState) toMap() map[string]any {
	m := map[string]any{}
	if o.inc != nil {
		m[offIncrementing] = *o.inc
	}
	if o.ts != nil {
		m[offTimestamp] = o.ts.UnixMilli()
		m[offTimestampNs] = int64(o.ts.Nanosecond())
	}
	if o.tie != nil {
		a := make([]any, len(o.tie))
		for i, s := range o.tie {
			a[i] = s
		}
		m[offTiebreak] = a
	}
	if o.maxInc != nil {
		m[offMaxIncrementing] = *o.maxInc
	}
	return m
}

func offsetFromMap(m map[string]any) (offsetState, error) {
	var o offsetState
	if len(m) == 0 {
		return o, nil
	}
	if v, ok := m[offIncrementing]; ok && v != nil {
		n, err := toInt64(v)
		if err != nil {
			return o, fmt.Errorf("offset %q: %w", offIncrementing, err)
		}
		o.inc = &n
	}
	if v, ok := m[offTimestamp]; ok && v != nil {
		ms, err := toInt64(v)
		if err != nil {
			return o, fmt.Errorf("offset %q: %w", offTimestamp, err)
		}
		sec := ms / 1000
		if ms%1000 < 0 {
			sec--
		}
		nanos := (ms - sec*1000) * int64(time.Millisecond)
		if nv, ok := m[offTimestampNs]; ok && nv != nil {
			if nanos, err = toInt64(nv); err != nil {
				return o, fmt.Errorf("offset %q: %w", offTimestampNs, err)
			}
		}
		t := time.Unix(sec, nanos).UTC()
		o.ts = &t
	}
	if v, ok := m[offTiebreak]; ok && v != nil {
		arr, ok := v.([]any)
		if !ok {
			if ss, ok2 := v.([]string); ok2 {
				o.tie = append([]string(nil), ss...)
			} else {
				return o, fmt.Errorf("offset %q: expected a list, got %T", offTiebreak, v)
			}
		}
		for _, e := range arr {
			s, ok := e.(string)
			if !ok {
				return o, fmt.Errorf("offset %q: expected strings, got %T", offTiebreak, e)
			}
			o.tie = append(o.tie, s)
		}
	}
	if v, ok := m[offMaxIncrementing]; ok && v != nil {
		n, err := toInt64(v)
		if err != nil {
			return o, fmt.Errorf("offset %q: %w", offMaxIncrementing, err)
		}
		o.maxInc = &n
	}
	return o, nil
}

// toInt64 accepts the numeric forms an offset store may hand back after a
// JSON round trip.
func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float64:
		if x != math.Trunc(x) || x > math.MaxInt64 || x < math.MinInt64 {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), nil
	case json.Number:
		return x.Int64()
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("unexpected type %T", v)
}
