package jdbc

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Confluent's GenericDatabaseDialect limits.
const (
	maxIntegerTypePrecision = 18
	numericScaleLow         = -84
	decimalPrecisionParam   = "connect.decimal.precision"
)

// valueConv turns a normalised value (see dialect.go) into its Connect
// representation; it is never called with nil.
type valueConv func(v any) (any, error)

// fieldMapping is one column's place in the value struct.
type fieldMapping struct {
	col    column
	schema *connect.Schema
	conv   valueConv
}

// typeMapper holds the settings that influence type mapping.
type typeMapper struct {
	numeric     string
	granularity string
	zone        *time.Location
	legacyDates bool // date.calendar.system=LEGACY: Julian calendar before 1582-10-15
}

// mapColumn returns the schema and converter for c, or ok=false for types
// Confluent skips (arrays, intervals, geometric and network types...).
func (m typeMapper) mapColumn(c column) (*connect.Schema, valueConv, bool) {
	b, conv := m.builder(c)
	if b == nil {
		return nil, nil, false
	}
	b.SetOptional(c.nullable)
	return b.MustBuild(), conv, true
}

func (m typeMapper) builder(c column) (*connect.Builder, valueConv) {
	switch c.kind {
	case kBool:
		return connect.NewBuilder(connect.Boolean), convBool
	case kBits:
		switch {
		case c.bits <= 1:
			return connect.NewBuilder(connect.Boolean), convBool
		case c.bits <= 8:
			return connect.NewBuilder(connect.Int8), convBitsInt8
		}
		return connect.NewBuilder(connect.Bytes), convBitsBytes
	case kInt:
		bits := c.bits
		if c.unsigned && bits < 64 {
			bits *= 2
		}
		return intBuilder(bits), convInt(c, bits)
	case kFloat32:
		return connect.NewBuilder(connect.Float32), convFloat32
	case kFloat64:
		return connect.NewBuilder(connect.Float64), convFloat64
	case kDecimal:
		return m.decimal(c)
	case kString:
		return connect.NewBuilder(connect.String), convString
	case kBytes:
		return connect.NewBuilder(connect.Bytes), convBytes
	case kDate:
		return connect.DateSchema(), m.convDate
	case kTime:
		if c.typeName == "timetz" || strings.HasSuffix(c.typeName, "with time zone") {
			// timetz carries its own offset, which pgjdbc applies instead
			// of the db.timezone calendar.
			utc := m
			utc.zone = time.UTC
			return connect.TimeSchema(), utc.convTime
		}
		return connect.TimeSchema(), m.convTime
	case kTimestamp, kTimestampTZ:
		return m.timestamp(c)
	}
	return nil, nil
}

func intBuilder(bits int) *connect.Builder {
	switch {
	case bits <= 8:
		return connect.NewBuilder(connect.Int8)
	case bits <= 16:
		return connect.NewBuilder(connect.Int16)
	case bits <= 32:
		return connect.NewBuilder(connect.Int32)
	}
	return connect.NewBuilder(connect.Int64)
}

// integerBits is Confluent's integerSchema: NUMERIC precision to width.
func integerBits(precision int) int {
	switch {
	case precision > 9:
		return 64
	case precision > 4:
		return 32
	case precision > 2:
		return 16
	}
	return 8
}

// decimal applies numeric.mapping as GenericDatabaseDialect does for
// Types.NUMERIC. Unlike Confluent, Tributary applies it to MySQL DECIMAL
// columns too (Connector/J reports them as Types.DECIMAL, which Confluent
// never maps), and represents unconstrained PostgreSQL numeric as a string
// rather than a scale-0 Decimal that would round every value.
func (m typeMapper) decimal(c column) (*connect.Builder, valueConv) {
	p, s := c.precision, c.scale
	if p == 0 {
		return connect.NewBuilder(connect.String), convDecimalString
	}
	switch m.numeric {
	case numericPrecisionOnly:
		if s == 0 && p <= maxIntegerTypePrecision {
			bits := integerBits(p)
			return intBuilder(bits), convDecimalInt(c, bits)
		}
	case numericBestFit:
		if p <= maxIntegerTypePrecision {
			if s < 1 && s >= numericScaleLow {
				bits := integerBits(p)
				return intBuilder(bits), convDecimalInt(c, bits)
			} else if s > 0 {
				return connect.NewBuilder(connect.Float64), convDecimalFloat
			}
		}
	case numericBestFitEagerDouble:
		if s < 1 && s >= numericScaleLow {
			if p <= maxIntegerTypePrecision {
				bits := integerBits(p)
				return intBuilder(bits), convDecimalInt(c, bits)
			}
		} else if s > 0 {
			return connect.NewBuilder(connect.Float64), convDecimalFloat
		}
	}
	return connect.DecimalSchema(s).Param(decimalPrecisionParam, strconv.Itoa(p)), convDecimal(c, s)
}

func (m typeMapper) timestamp(c column) (*connect.Builder, valueConv) {
	abs := func(v any) (time.Time, error) {
		t, ok := v.(time.Time)
		if !ok {
			return t, fmt.Errorf("expected a timestamp, got %T", v)
		}
		return m.instant(t, c.kind), nil
	}
	switch m.granularity {
	case "micros_long":
		return connect.NewBuilder(connect.Int64), func(v any) (any, error) {
			t, err := abs(v)
			return t.UnixMicro(), err
		}
	case "micros_string":
		return connect.NewBuilder(connect.String), func(v any) (any, error) {
			t, err := abs(v)
			return strconv.FormatInt(t.UnixMicro(), 10), err
		}
	case "micros_iso_datetime_string":
		return connect.NewBuilder(connect.String), func(v any) (any, error) {
			t, err := abs(v)
			return t.In(m.zone).Format("2006-01-02T15:04:05.000000"), err
		}
	case "nanos_long":
		return connect.NewBuilder(connect.Int64), func(v any) (any, error) {
			t, err := abs(v)
			return t.UnixNano(), err
		}
	case "nanos_string":
		return connect.NewBuilder(connect.String), func(v any) (any, error) {
			t, err := abs(v)
			return strconv.FormatInt(t.UnixNano(), 10), err
		}
	case "nanos_iso_datetime_string":
		return connect.NewBuilder(connect.String), func(v any) (any, error) {
			t, err := abs(v)
			return t.In(m.zone).Format("2006-01-02T15:04:05.000000000"), err
		}
	}
	return connect.TimestampSchema(), func(v any) (any, error) {
		t, err := abs(v)
		if err != nil {
			return nil, err
		}
		return m.legacyMillis(t), nil
	}
}

// instant turns a normalised timestamp into an absolute time: wall-clock
// values (timestamp without time zone, DATETIME) are read in db.timezone,
// as Confluent's getTimestamp(col, Calendar(db.timezone)) does.
func (m typeMapper) instant(t time.Time, k kind) time.Time {
	if k == kTimestampTZ || t.Equal(pgInfinity) || t.Equal(pgNegInfinity) {
		return t
	}
	if k == kDate {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, m.zone)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), m.zone)
}

// gregorianCutover is 1582-10-15, where java.util.GregorianCalendar
// switches from the Julian calendar.
var gregorianCutover = time.Date(1582, 10, 15, 0, 0, 0, 0, time.UTC)

// julianShiftDays is how many days later the same Y-M-D falls in the
// Julian calendar than in the proleptic Gregorian one; Java's legacy
// java.sql.Date/Timestamp read the database's Y-M-D text as Julian.
func julianShiftDays(y int, mo time.Month, d int) int64 {
	a := (14 - int64(mo)) / 12
	yy := int64(y) + 4800 - a
	mm := int64(mo) + 12*a - 3
	julian := int64(d) + (153*mm+2)/5 + 365*yy + yy/4 - 32083
	gregorian := int64(d) + (153*mm+2)/5 + 365*yy + yy/4 - yy/100 + yy/400 - 32045
	return julian - gregorian
}

func (m typeMapper) legacyMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if m.legacyDates {
		w := t.In(m.zone)
		if time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC).Before(gregorianCutover) {
			ms += julianShiftDays(w.Year(), w.Month(), w.Day()) * 86400000
		}
	}
	return ms
}

func (m typeMapper) convDate(v any) (any, error) {
	t, ok := v.(time.Time)
	if !ok {
		return nil, fmt.Errorf("expected a date, got %T", v)
	}
	// Confluent reads DATE with a UTC calendar, whatever db.timezone is.
	days := connect.EpochDays(t)
	if m.legacyDates && time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).Before(gregorianCutover) {
		days += int32(julianShiftDays(t.Year(), t.Month(), t.Day()))
	}
	return days, nil
}

// convTime gives milliseconds of the day. Confluent reads TIME with a
// db.timezone calendar, which shifts it by the zone's offset on
// 1970-01-01; the result is kept within one day.
func (m typeMapper) convTime(v any) (any, error) {
	tod, ok := v.(timeOfDay)
	if !ok {
		return nil, fmt.Errorf("expected a time of day, got %T", v)
	}
	d := time.Duration(tod)
	if m.zone != time.UTC {
		local := time.Date(1970, 1, 1, 0, 0, 0, 0, m.zone).Add(d)
		_, off := local.Zone()
		d -= time.Duration(off) * time.Second
	}
	const day = 24 * time.Hour
	d = ((d % day) + day) % day
	return int32(d / time.Millisecond), nil
}

func convBool(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int64:
		return x != 0, nil
	case bitString:
		return x.n > 0 && x.bytes[0]&0x80 != 0, nil
	case string:
		return strconv.ParseBool(x)
	}
	return nil, fmt.Errorf("expected a boolean, got %T", v)
}

func convBitsInt8(v any) (any, error) {
	b, ok := v.(bitString)
	if !ok {
		return nil, fmt.Errorf("expected a bit string, got %T", v)
	}
	if len(b.bytes) == 0 {
		return int8(0), nil
	}
	// bit(n) for n <= 8: the bits as an unsigned number, like pgjdbc's
	// getByte of the bit string's value.
	return int8(b.bytes[0] >> (8 - b.n)), nil
}

func convBitsBytes(v any) (any, error) {
	b, ok := v.(bitString)
	if !ok {
		return nil, fmt.Errorf("expected a bit string, got %T", v)
	}
	return append([]byte(nil), b.bytes...), nil
}

func convInt(c column, bits int) valueConv {
	return func(v any) (any, error) {
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, fmt.Errorf("unsigned value %d does not fit Connect's INT64", x)
			}
			n = int64(x)
		case bool:
			if x {
				n = 1
			}
		case bitString:
			for _, b := range x.bytes {
				n = n<<8 | int64(b)
			}
		case string:
			var err error
			if n, err = strconv.ParseInt(x, 10, 64); err != nil {
				return nil, fmt.Errorf("invalid integer %q", x)
			}
		default:
			return nil, fmt.Errorf("expected an integer, got %T", v)
		}
		return narrow(n, bits)
	}
}

func narrow(n int64, bits int) (any, error) {
	switch {
	case bits <= 8:
		if n < math.MinInt8 || n > math.MaxInt8 {
			return nil, fmt.Errorf("value %d does not fit Connect's INT8", n)
		}
		return int8(n), nil
	case bits <= 16:
		if n < math.MinInt16 || n > math.MaxInt16 {
			return nil, fmt.Errorf("value %d does not fit Connect's INT16", n)
		}
		return int16(n), nil
	case bits <= 32:
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, fmt.Errorf("value %d does not fit Connect's INT32", n)
		}
		return int32(n), nil
	}
	return n, nil
}

func convFloat32(v any) (any, error) {
	switch x := v.(type) {
	case float32:
		return x, nil
	case float64:
		return float32(x), nil
	}
	return nil, fmt.Errorf("expected a float, got %T", v)
}

func convFloat64(v any) (any, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case decimal:
		return decimalFloat(x), nil
	}
	return nil, fmt.Errorf("expected a double, got %T", v)
}

func convString(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return fmt.Sprint(v), nil
}

func convBytes(v any) (any, error) {
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	case bitString:
		return x.bytes, nil
	}
	return nil, fmt.Errorf("expected bytes, got %T", v)
}

func asDecimal(v any) (decimal, error) {
	switch x := v.(type) {
	case decimal:
		return x, nil
	case int64:
		return decimal{unscaled: big.NewInt(x)}, nil
	case uint64:
		return decimal{unscaled: new(big.Int).SetUint64(x)}, nil
	case string:
		return parseDecimal(x)
	}
	return decimal{}, fmt.Errorf("expected a decimal, got %T", v)
}

// rescale returns the unscaled value at scale, rounding half up as
// BigDecimal.setScale(scale, HALF_UP) does.
func rescale(d decimal, scale int) *big.Int {
	shift := int(d.exp) + scale
	if shift >= 0 {
		return new(big.Int).Mul(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
	}
	div := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-shift)), nil)
	q, r := new(big.Int).QuoRem(d.unscaled, div, new(big.Int))
	if new(big.Int).Mul(new(big.Int).Abs(r), big.NewInt(2)).Cmp(div) >= 0 {
		if d.unscaled.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q
}

func convDecimal(c column, scale int) valueConv {
	return func(v any) (any, error) {
		d, err := asDecimal(v)
		if err != nil {
			return nil, err
		}
		return connect.Decimal{Unscaled: rescale(d, scale), Scale: int32(scale)}, nil
	}
}

func convDecimalInt(c column, bits int) valueConv {
	return func(v any) (any, error) {
		d, err := asDecimal(v)
		if err != nil {
			return nil, err
		}
		// JDBC's getLong/getInt truncate the fraction.
		n := rescale(d, 0)
		if d.exp < 0 {
			n = new(big.Int).Quo(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.exp)), nil))
		}
		if !n.IsInt64() {
			return nil, fmt.Errorf("value %s does not fit Connect's INT64", n)
		}
		return narrow(n.Int64(), bits)
	}
}

func decimalFloat(d decimal) float64 {
	r := new(big.Rat).SetInt(d.unscaled)
	if d.exp > 0 {
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.exp)), nil)))
	} else if d.exp < 0 {
		r.Quo(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-d.exp)), nil)))
	}
	f, _ := r.Float64()
	return f
}

func convDecimalFloat(v any) (any, error) {
	d, err := asDecimal(v)
	if err != nil {
		return nil, err
	}
	return decimalFloat(d), nil
}

func convDecimalString(v any) (any, error) {
	d, err := asDecimal(v)
	if err != nil {
		return nil, err
	}
	return decimalText(d), nil
}

// decimalText renders plain notation keeping the value's own scale.
func decimalText(d decimal) string {
	if d.exp >= 0 {
		return new(big.Int).Mul(d.unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.exp)), nil)).String()
	}
	return connect.Decimal{Unscaled: d.unscaled, Scale: -d.exp}.String()
}
