package jdbc

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// kind is the semantic type of a field: its Connect type refined by the
// Debezium or Kafka Connect logical type name.
type kind int

const (
	kInvalid kind = iota
	kInt8
	kInt16
	kInt32
	kInt64
	kFloat32
	kFloat64
	kBool
	kString
	kBytes
	kDecimal         // org.apache.kafka.connect.data.Decimal
	kVarDecimal      // io.debezium.data.VariableScaleDecimal
	kDate            // io.debezium.time.Date, connect Date: days since epoch
	kTimeMillis      // io.debezium.time.Time, connect Time
	kTimeMicros      // io.debezium.time.MicroTime
	kTimeNanos       // io.debezium.time.NanoTime
	kTimestampMillis // io.debezium.time.Timestamp, connect Timestamp
	kTimestampMicros // io.debezium.time.MicroTimestamp
	kTimestampNanos  // io.debezium.time.NanoTimestamp
	kZonedTimestamp  // io.debezium.time.ZonedTimestamp: ISO-8601 string with offset
	kZonedTime       // io.debezium.time.ZonedTime
	kIsoDate         // io.debezium.time.IsoDate (time.precision.mode=isostring)
	kIsoTime         // io.debezium.time.IsoTime
	kIsoTimestamp    // io.debezium.time.IsoTimestamp
	kYear            // io.debezium.time.Year
	kMicroDuration   // io.debezium.time.MicroDuration
	kInterval        // io.debezium.time.Interval: ISO-8601 duration string
	kJSON            // io.debezium.data.Json
	kUUID            // io.debezium.data.Uuid
	kEnum            // io.debezium.data.Enum
	kEnumSet         // io.debezium.data.EnumSet
	kBits            // io.debezium.data.Bits: little-endian bytes, "length" bits
	kXML             // io.debezium.data.Xml
	kLtree           // io.debezium.data.Ltree
	kArray
	kMap
)

// Parameters Debezium attaches with column.propagate.source.type.
const (
	paramSourceType   = "__debezium.source.column.type"
	paramSourceLength = "__debezium.source.column.length"
	paramSourceScale  = "__debezium.source.column.scale"
	paramPrecision    = "connect.decimal.precision"
)

func kindOf(s *connect.Schema) (kind, error) {
	switch s.Name {
	case connect.DecimalName:
		return kDecimal, nil
	case "io.debezium.data.VariableScaleDecimal":
		return kVarDecimal, nil
	case "io.debezium.time.Date", connect.DateName:
		return kDate, nil
	case "io.debezium.time.Time", connect.TimeName:
		return kTimeMillis, nil
	case "io.debezium.time.MicroTime":
		return kTimeMicros, nil
	case "io.debezium.time.NanoTime":
		return kTimeNanos, nil
	case "io.debezium.time.Timestamp", connect.TimestampName:
		return kTimestampMillis, nil
	case "io.debezium.time.MicroTimestamp":
		return kTimestampMicros, nil
	case "io.debezium.time.NanoTimestamp":
		return kTimestampNanos, nil
	case "io.debezium.time.ZonedTimestamp":
		return kZonedTimestamp, nil
	case "io.debezium.time.ZonedTime":
		return kZonedTime, nil
	case "io.debezium.time.IsoDate":
		return kIsoDate, nil
	case "io.debezium.time.IsoTime":
		return kIsoTime, nil
	case "io.debezium.time.IsoTimestamp":
		return kIsoTimestamp, nil
	case "io.debezium.time.Year":
		return kYear, nil
	case "io.debezium.time.MicroDuration":
		return kMicroDuration, nil
	case "io.debezium.time.Interval":
		return kInterval, nil
	case "io.debezium.data.Json":
		return kJSON, nil
	case "io.debezium.data.Uuid":
		return kUUID, nil
	case "io.debezium.data.Enum":
		return kEnum, nil
	case "io.debezium.data.EnumSet":
		return kEnumSet, nil
	case "io.debezium.data.Bits":
		return kBits, nil
	case "io.debezium.data.Xml":
		return kXML, nil
	case "io.debezium.data.Ltree":
		return kLtree, nil
	}
	switch s.Type {
	case connect.Int8:
		return kInt8, nil
	case connect.Int16:
		return kInt16, nil
	case connect.Int32:
		return kInt32, nil
	case connect.Int64:
		return kInt64, nil
	case connect.Float32:
		return kFloat32, nil
	case connect.Float64:
		return kFloat64, nil
	case connect.Boolean:
		return kBool, nil
	case connect.String:
		return kString, nil
	case connect.Bytes:
		return kBytes, nil
	case connect.Array:
		return kArray, nil
	case connect.Map:
		return kMap, nil
	}
	if s.Name != "" {
		return kInvalid, fmt.Errorf("unsupported type %s (logical type %q)", s.Type, s.Name)
	}
	return kInvalid, fmt.Errorf("unsupported type %s", s.Type)
}

func intParam(s *connect.Schema, key string) (int, bool) {
	v, ok := s.Param(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

func decimalScale(s *connect.Schema) int {
	n, _ := intParam(s, connect.DecimalScale)
	return n
}

// --- value normalisation shared by both dialects ---

func asInt64(v any) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	}
	return 0, fmt.Errorf("expected an integer, got %T", v)
}

func asFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	return 0, fmt.Errorf("expected a floating point number, got %T", v)
}

func asString(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	return "", fmt.Errorf("expected a string, got %T", v)
}

func asBytes(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return nil, fmt.Errorf("expected bytes, got %T", v)
}

// decimalString renders a Decimal or VariableScaleDecimal exactly.
// formatDecimal is connect.Decimal.String without big.Rat for the
// unscaled values that fit in an int64 (every numeric(18,x) and most
// others): the big.Rat division was 12% of Put's CPU in sink-pg-tasks.
func formatDecimal(d connect.Decimal) string {
	if d.Scale <= 0 || d.Unscaled == nil || !d.Unscaled.IsInt64() || d.Scale > 64 {
		return d.String()
	}
	u := d.Unscaled.Int64()
	if u == math.MinInt64 {
		return d.String()
	}
	neg := u < 0
	if neg {
		u = -u
	}
	var buf [96]byte
	digits := strconv.AppendInt(buf[:0], u, 10)
	scale := int(d.Scale)
	out := make([]byte, 0, len(digits)+scale+3)
	if neg {
		out = append(out, '-')
	}
	if len(digits) <= scale {
		out = append(out, '0', '.')
		for i := len(digits); i < scale; i++ {
			out = append(out, '0')
		}
		out = append(out, digits...)
	} else {
		out = append(out, digits[:len(digits)-scale]...)
		out = append(out, '.')
		out = append(out, digits[len(digits)-scale:]...)
	}
	return string(out)
}

func decimalString(k kind, s *connect.Schema, v any) (string, error) {
	switch k {
	case kDecimal:
		switch x := v.(type) {
		case connect.Decimal:
			return formatDecimal(x), nil
		case []byte:
			return formatDecimal(connect.Decimal{Unscaled: connect.DecimalFromBytes(x), Scale: int32(decimalScale(s))}), nil
		}
		return "", fmt.Errorf("expected a decimal, got %T", v)
	case kVarDecimal:
		sv, ok := v.(*connect.StructValue)
		if !ok {
			return "", fmt.Errorf("expected a VariableScaleDecimal struct, got %T", v)
		}
		scale, err := asInt64(sv.Get("scale"))
		if err != nil {
			return "", fmt.Errorf("VariableScaleDecimal scale: %w", err)
		}
		raw, err := asBytes(sv.Get("value"))
		if err != nil {
			return "", fmt.Errorf("VariableScaleDecimal value: %w", err)
		}
		return connect.Decimal{Unscaled: connect.DecimalFromBytes(raw), Scale: int32(scale)}.String(), nil
	}
	return "", fmt.Errorf("not a decimal")
}

// epochDays returns the date for a Date value (days or time.Time).
func dateOf(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC), nil
	default:
		n, err := asInt64(v)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(n*86400, 0).UTC(), nil
	}
}

// timeOfDay returns a time of day as microseconds (which may exceed a day
// or be negative for MySQL TIME values).
func timeOfDayMicros(k kind, v any) (int64, error) {
	if t, ok := v.(time.Time); ok {
		t = t.UTC()
		return int64(t.Hour())*3600e6 + int64(t.Minute())*60e6 + int64(t.Second())*1e6 + int64(t.Nanosecond()/1000), nil
	}
	n, err := asInt64(v)
	if err != nil {
		return 0, err
	}
	switch k {
	case kTimeMillis:
		return n * 1000, nil
	case kTimeNanos:
		return n / 1000, nil
	}
	return n, nil
}

func timestampOf(k kind, v any) (time.Time, error) {
	if t, ok := v.(time.Time); ok {
		return t.UTC(), nil
	}
	n, err := asInt64(v)
	if err != nil {
		return time.Time{}, err
	}
	switch k {
	case kTimestampMillis:
		return time.UnixMilli(n).UTC(), nil
	case kTimestampMicros:
		return time.UnixMicro(n).UTC(), nil
	}
	return time.Unix(0, n).UTC(), nil
}

// formatDate writes an ISO date; years before 1 get PostgreSQL's BC form
// when bc is set. Dates and timestamps are appended by hand, not with
// fmt.Sprintf, which was a tenth of a JDBC sink's CPU time; appendPadded
// writes what %0Nd writes.
func formatDate(t time.Time, bc bool) string {
	return string(appendDate(make([]byte, 0, 16), t, bc))
}

func appendDate(b []byte, t time.Time, bc bool) []byte {
	y, m, d := t.Date()
	if y <= 0 && bc {
		return append(appendYMD(b, 1-y, m, d), " BC"...)
	}
	return appendYMD(b, y, m, d)
}

func appendYMD(b []byte, y int, m time.Month, d int) []byte {
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, int(m), 2)
	b = append(b, '-')
	return appendPadded(b, d, 2)
}

func formatTimestamp(t time.Time, bc bool) string {
	y, mo, d := t.Date()
	suffix := ""
	if y <= 0 && bc {
		y, suffix = 1-y, " BC"
	}
	h, mi, s := t.Clock()
	b := make([]byte, 0, 32)
	b = appendYMD(b, y, mo, d)
	b = append(b, ' ')
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, mi, 2)
	b = append(b, ':')
	b = appendPadded(b, s, 2)
	b = append(b, '.')
	b = appendPadded(b, t.Nanosecond()/1000, 6)
	return string(append(b, suffix...))
}

// appendPadded appends n as fmt's %0<width>d does: zero-padded to width
// characters, a minus sign counting towards the width.
func appendPadded(b []byte, n, width int) []byte {
	if n < 0 {
		b = append(b, '-')
		width--
		u := -int64(n)
		for d := digits(u); d < width; d++ {
			b = append(b, '0')
		}
		return strconv.AppendInt(b, u, 10)
	}
	for d := digits(int64(n)); d < width; d++ {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

func digits(u int64) int {
	d := 1
	for ; u >= 10; u /= 10 {
		d++
	}
	return d
}

func formatTimeMicros(us int64) string {
	b := make([]byte, 0, 24)
	if us < 0 {
		b = append(b, '-')
		us = -us
	}
	h := us / 3600e6
	us -= h * 3600e6
	m := us / 60e6
	us -= m * 60e6
	s := us / 1e6
	us -= s * 1e6
	b = appendPadded(b, int(h), 2)
	b = append(b, ':')
	b = appendPadded(b, int(m), 2)
	b = append(b, ':')
	b = appendPadded(b, int(s), 2)
	b = append(b, '.')
	b = appendPadded(b, int(us), 6)
	return string(b)
}

// bitString renders Debezium Bits (little-endian bytes) most significant
// bit first, width bits wide.
func bitString(b []byte, width int) string {
	if width == math.MaxInt32 || width <= 0 {
		width = 0
		for i := len(b)*8 - 1; i >= 0; i-- {
			if b[i/8]>>(i%8)&1 == 1 {
				width = i + 1
				break
			}
		}
		if width == 0 {
			width = 1
		}
	}
	var sb strings.Builder
	for i := width - 1; i >= 0; i-- {
		if i/8 < len(b) && b[i/8]>>(i%8)&1 == 1 {
			sb.WriteByte('1')
		} else {
			sb.WriteByte('0')
		}
	}
	return sb.String()
}

func bitsWidth(s *connect.Schema) int {
	n, ok := intParam(s, "length")
	if !ok {
		return 0
	}
	return n
}

// jsonOf renders a Connect array or map as JSON (MySQL has no arrays).
func jsonOf(s *connect.Schema, v any) (string, error) {
	x, err := plainJSON(s, v)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(x)
	return string(b), err
}

func plainJSON(s *connect.Schema, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	k, err := kindOf(s)
	if err != nil {
		return nil, err
	}
	switch k {
	case kArray:
		arr, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expected an array, got %T", v)
		}
		out := make([]any, len(arr))
		for i, e := range arr {
			if out[i], err = plainJSON(s.Value, e); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return out, nil
	case kMap:
		m, ok := v.(connect.MapValue)
		if !ok {
			return nil, fmt.Errorf("expected a map, got %T", v)
		}
		out := map[string]any{}
		for _, e := range m {
			key := fmt.Sprint(e.Key)
			if out[key], err = plainJSON(s.Value, e.Value); err != nil {
				return nil, fmt.Errorf("[%s]: %w", key, err)
			}
		}
		return out, nil
	case kJSON:
		str, err := asString(v)
		if err != nil {
			return nil, err
		}
		return json.RawMessage(str), nil
	case kDecimal, kVarDecimal:
		str, err := decimalString(k, s, v)
		if err != nil {
			return nil, err
		}
		return json.Number(str), nil
	case kBytes, kBits:
		b, err := asBytes(v)
		if err != nil {
			return nil, err
		}
		return b, nil // base64, as encoding/json does
	}
	// every other kind has a natural JSON form through its text rendering
	txt, err := textValue(k, s, v, false)
	if err != nil {
		return nil, err
	}
	switch k {
	case kInt8, kInt16, kInt32, kInt64, kYear, kFloat32, kFloat64:
		return json.Number(txt), nil
	case kBool:
		return txt == "t", nil
	}
	return txt, nil
}

// textValue renders a non-null value in PostgreSQL's text input format
// (the format COPY ... FROM STDIN and ::type casts read). bc selects
// PostgreSQL's " BC" suffix for years before 1.
func textValue(k kind, s *connect.Schema, v any, bc bool) (string, error) {
	switch k {
	case kInt8, kInt16, kInt32, kInt64, kYear:
		n, err := asInt64(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(n, 10), nil
	case kFloat32, kFloat64:
		f, err := asFloat(v)
		if err != nil {
			return "", err
		}
		switch {
		case math.IsNaN(f):
			return "NaN", nil
		case math.IsInf(f, 1):
			return "Infinity", nil
		case math.IsInf(f, -1):
			return "-Infinity", nil
		}
		bits := 64
		if k == kFloat32 {
			bits = 32
		}
		return strconv.FormatFloat(f, 'g', -1, bits), nil
	case kBool:
		b, ok := v.(bool)
		if !ok {
			return "", fmt.Errorf("expected a boolean, got %T", v)
		}
		if b {
			return "t", nil
		}
		return "f", nil
	case kString, kJSON, kUUID, kEnum, kEnumSet, kXML, kLtree, kZonedTimestamp, kZonedTime, kInterval, kIsoDate, kIsoTime, kIsoTimestamp:
		str, err := asString(v)
		if err != nil {
			return "", err
		}
		if strings.IndexByte(str, 0) >= 0 {
			return "", fmt.Errorf("string contains a NUL character, which PostgreSQL text cannot store")
		}
		return str, nil
	case kBytes:
		b, err := asBytes(v)
		if err != nil {
			return "", err
		}
		return `\x` + hex.EncodeToString(b), nil
	case kDecimal, kVarDecimal:
		return decimalString(k, s, v)
	case kDate:
		d, err := dateOf(v)
		if err != nil {
			return "", err
		}
		return formatDate(d, bc), nil
	case kTimeMillis, kTimeMicros, kTimeNanos:
		us, err := timeOfDayMicros(k, v)
		if err != nil {
			return "", err
		}
		return formatTimeMicros(us), nil
	case kTimestampMillis, kTimestampMicros, kTimestampNanos:
		t, err := timestampOf(k, v)
		if err != nil {
			return "", err
		}
		return formatTimestamp(t, bc), nil
	case kMicroDuration:
		n, err := asInt64(v)
		if err != nil {
			return "", err
		}
		return strconv.FormatInt(n, 10) + " microseconds", nil
	case kBits:
		b, err := asBytes(v)
		if err != nil {
			return "", err
		}
		return bitString(b, bitsWidth(s)), nil
	case kArray:
		return pgArray(s, v)
	case kMap:
		return jsonOf(s, v)
	}
	return "", fmt.Errorf("unsupported value for %s", s)
}

// pgArray renders a PostgreSQL array literal.
func pgArray(s *connect.Schema, v any) (string, error) {
	arr, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("expected an array, got %T", v)
	}
	ek, err := kindOf(s.Value)
	if err != nil {
		return "", fmt.Errorf("array element: %w", err)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range arr {
		if i > 0 {
			b.WriteByte(',')
		}
		if e == nil {
			b.WriteString("NULL")
			continue
		}
		txt, err := textValue(ek, s.Value, e, true)
		if err != nil {
			return "", fmt.Errorf("array element %d: %w", i, err)
		}
		if ek == kArray {
			b.WriteString(txt) // nested arrays are not quoted
			continue
		}
		b.WriteByte('"')
		for _, r := range txt {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// enumValues returns the allowed values of an Enum/EnumSet schema.
func enumValues(s *connect.Schema) []string {
	a, _ := s.Param("allowed")
	if a == "" {
		return nil
	}
	return strings.Split(a, ",")
}

func sqlStringLiteral(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// bigFromBits turns a bit string into big-endian bytes of nbits width.
func bitsToBigEndian(bits string) []byte {
	n := new(big.Int)
	n.SetString(bits, 2)
	width := (len(bits) + 7) / 8
	out := n.Bytes()
	for len(out) < width {
		out = append([]byte{0}, out...)
	}
	return out
}
