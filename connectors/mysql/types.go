package mysql

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/tributary-io/tributary/connect"
	"golang.org/x/text/encoding/charmap"
)

// typeOptions are the connector properties that change value mapping.
type typeOptions struct {
	decimalMode    string // precise | double | string
	bigintUnsigned string // long | precise
	timePrecision  string // adaptive_time_microseconds | connect
	binaryMode     string // bytes | base64 | base64-url-safe | hex
	// timeAdjuster is enable.time.adjuster: years 0-69 of DATE and
	// DATETIME values are read as 2000-2069, 70-99 as 1970-1999
	// (BinlogValueConverters.adjustTemporal).
	timeAdjuster bool
	// boolConverters are the configured TinyIntOneToBooleanConverters.
	boolConverters []tinyIntBool
}

// colKind is the value family a column converts through.
type colKind int

const (
	kInt colKind = iota
	kUnsignedBigPrecise
	kBool
	kBitBool
	kBits
	kFloat32
	kFloat64
	kDecimal
	kString
	kEnum
	kSet
	kBinary
	kDate
	kTime
	kDatetime
	kTimestamp
	kYear
	kJSON
	kPoint
	kGeometry
)

// converter turns one column's values into Connect values.
type converter struct {
	col    *Column
	kind   colKind
	schema *connect.Schema
	opts   *typeOptions
	intTyp connect.Type
	// decode decodes a binlog string's bytes (held in a Go string) in the
	// column charset.
	decode func(string) (string, error)
	scale  int32
	fsp    int // fractional digits of DATETIME/TIMESTAMP/TIME, -1 unset
	bits   int
	table  TableID
	// log reports values the column's schema cannot represent; nil
	// outside a task. warned keeps it to once per column and schema.
	log    *slog.Logger
	warned bool
}

// newConverter builds the schema and converter of a column, failing with
// the column's name for types Debezium cannot represent.
func newConverter(tableID TableID, col *Column, o *typeOptions) (*converter, error) {
	cv := &converter{col: col, opts: o, fsp: col.Length, table: tableID}
	up := strings.ToUpper(col.TypeName)
	base := col.baseType()
	var b *connect.Builder
	for i := range o.boolConverters {
		if o.boolConverters[i].applies(tableID, col) {
			// converters=...: TinyIntOneToBooleanConverter
			cv.kind = kBool
			cv.schema = connect.NewBuilder(connect.Boolean).MustBuild()
			return cv, nil
		}
	}
	switch {
	case base == "JSON":
		cv.kind = kJSON
		b = connect.NewBuilder(connect.String).Name("io.debezium.data.Json").Version(1)
	case base == "POINT":
		cv.kind = kPoint
		b = connect.StructBuilder().Name("io.debezium.data.geometry.Point").Version(1).Doc("Geometry (POINT)").
			Field("x", connect.Prim(connect.Float64)).Field("y", connect.Prim(connect.Float64)).
			Field("wkb", connect.OptionalPrim(connect.Bytes)).Field("srid", connect.OptionalPrim(connect.Int32))
	case base == "GEOMETRY" || base == "LINESTRING" || base == "POLYGON" || base == "MULTIPOINT" ||
		base == "MULTILINESTRING" || base == "MULTIPOLYGON" || base == "GEOMETRYCOLLECTION" || base == "GEOMCOLLECTION":
		cv.kind = kGeometry
		b = connect.StructBuilder().Name("io.debezium.data.geometry.Geometry").Version(1).Doc("Geometry").Optional().
			Field("wkb", connect.Prim(connect.Bytes)).Field("srid", connect.OptionalPrim(connect.Int32))
	case base == "YEAR":
		cv.kind = kYear
		b = connect.NewBuilder(connect.Int32).Name("io.debezium.time.Year").Version(1)
	case base == "ENUM":
		cv.kind = kEnum
		b = connect.NewBuilder(connect.String).Name("io.debezium.data.Enum").Version(1).Param("allowed", strings.Join(col.enumOptions(), ","))
	case base == "SET":
		cv.kind = kSet
		b = connect.NewBuilder(connect.String).Name("io.debezium.data.EnumSet").Version(1).Param("allowed", strings.Join(col.enumOptions(), ","))
	case (strings.HasPrefix(up, "SMALLINT UNSIGNED") || strings.HasPrefix(up, "INT2 UNSIGNED")):
		cv.kind, cv.intTyp = kInt, connect.Int32
	case strings.HasPrefix(up, "INT UNSIGNED") || strings.HasPrefix(up, "INTEGER UNSIGNED") || strings.HasPrefix(up, "INT4 UNSIGNED"):
		cv.kind, cv.intTyp = kInt, connect.Int64
	case strings.HasPrefix(up, "BIGINT UNSIGNED") || strings.HasPrefix(up, "INT8 UNSIGNED"):
		if o.bigintUnsigned == "precise" {
			cv.kind = kUnsignedBigPrecise
			b = connect.DecimalSchema(0).Param("connect.decimal.precision", "20")
		} else {
			cv.kind, cv.intTyp = kInt, connect.Int64
		}
	case (base == "FLOAT") && col.Scale == nil && col.Length <= 24:
		cv.kind = kFloat32
	case base == "UUID" || base == "INET4" || base == "INET6" || base == "VECTOR":
		return nil, fmt.Errorf("table %s column %q: data type %s is not supported by Debezium's MySQL/MariaDB connector", tableID, col.Name, col.TypeName)
	}
	if b == nil && cv.intTyp != "" {
		b = connect.NewBuilder(cv.intTyp)
	}
	if b == nil && cv.kind != kFloat32 {
		switch col.JDBCType {
		case jdbcBoolean:
			cv.kind = kBool
			b = connect.NewBuilder(connect.Boolean)
		case jdbcBit:
			cv.bits = max(col.Length, 1)
			if cv.bits == 1 {
				cv.kind = kBitBool
				b = connect.NewBuilder(connect.Boolean)
			} else {
				cv.kind = kBits
				b = connect.NewBuilder(connect.Bytes).Name("io.debezium.data.Bits").Version(1).Param("length", strconv.Itoa(cv.bits))
			}
		case jdbcSmallint:
			cv.kind, cv.intTyp = kInt, connect.Int16
			b = connect.NewBuilder(cv.intTyp)
		case jdbcInteger:
			cv.kind, cv.intTyp = kInt, connect.Int32
			b = connect.NewBuilder(cv.intTyp)
		case jdbcBigint:
			cv.kind, cv.intTyp = kInt, connect.Int64
			b = connect.NewBuilder(cv.intTyp)
		case jdbcReal:
			cv.kind = kFloat32
			b = connect.NewBuilder(connect.Float32)
		case jdbcFloat, jdbcDouble:
			cv.kind = kFloat64
			b = connect.NewBuilder(connect.Float64)
		case jdbcDecimal, jdbcNumeric:
			cv.kind = kDecimal
			if col.Scale != nil {
				cv.scale = int32(*col.Scale)
			}
			switch o.decimalMode {
			case "double":
				b = connect.NewBuilder(connect.Float64)
			case "string":
				b = connect.NewBuilder(connect.String)
			default:
				b = connect.DecimalSchema(int(cv.scale)).Param("connect.decimal.precision", strconv.Itoa(col.Length))
			}
		case jdbcChar, jdbcVarchar, jdbcNchar, jdbcNvarchar:
			cv.kind = kString
			b = connect.NewBuilder(connect.String)
			dec, err := decoderFor(col)
			if err != nil {
				return nil, fmt.Errorf("table %s column %q: %w", tableID, col.Name, err)
			}
			cv.decode = dec
		case jdbcBinary, jdbcVarbinary, jdbcBlob:
			cv.kind = kBinary
			if o.binaryMode == "bytes" || o.binaryMode == "" {
				b = connect.NewBuilder(connect.Bytes)
			} else {
				b = connect.NewBuilder(connect.String)
			}
		case jdbcDate:
			cv.kind = kDate
			if o.timePrecision == "connect" {
				b = connect.DateSchema()
			} else {
				b = connect.NewBuilder(connect.Int32).Name("io.debezium.time.Date").Version(1)
			}
		case jdbcTime:
			cv.kind = kTime
			// adaptive_time_microseconds: MicroTime whatever the column's
			// precision, which holds TIME's whole range, negative too
			if o.timePrecision == "connect" {
				b = connect.TimeSchema()
			} else {
				b = connect.NewBuilder(connect.Int64).Name("io.debezium.time.MicroTime").Version(1)
			}
		case jdbcTimestamp:
			cv.kind = kDatetime
			switch {
			case o.timePrecision == "connect":
				b = connect.TimestampSchema()
			case cv.fsp <= 3:
				b = connect.NewBuilder(connect.Int64).Name("io.debezium.time.Timestamp").Version(1)
			default:
				b = connect.NewBuilder(connect.Int64).Name("io.debezium.time.MicroTimestamp").Version(1)
			}
		case jdbcTimestampWithTimezone:
			cv.kind = kTimestamp
			b = connect.NewBuilder(connect.String).Name("io.debezium.time.ZonedTimestamp").Version(1)
		default:
			return nil, fmt.Errorf("table %s column %q: data type %s (JDBC type %d) is not supported", tableID, col.Name, col.TypeName, col.JDBCType)
		}
	}
	if cv.kind == kFloat32 && b == nil {
		b = connect.NewBuilder(connect.Float32)
	}
	if b == nil {
		return nil, fmt.Errorf("table %s column %q: data type %s is not supported", tableID, col.Name, col.TypeName)
	}
	cv.schema = b.MustBuild()
	return cv, nil
}

// decoderFor returns how to turn a string column's binlog bytes into text.
// The bytes come in a string (go-mysql's value, or one copy of a []byte)
// and are returned as they are when they are valid text already: copying
// each value twice more was 6 % of the streaming allocations.
func decoderFor(col *Column) (func(string) (string, error), error) {
	cs := col.Charset
	if cs == "" {
		cs = col.TableCharset
	}
	switch strings.ToLower(cs) {
	case "", "utf8", "utf8mb3", "utf8mb4", "ascii", "binary":
		return func(s string) (string, error) { return s, nil }, nil
	case "latin1":
		// MySQL's latin1 is Windows-1252.
		return singleByte(charmap.Windows1252), nil
	case "latin2":
		return singleByte(charmap.ISO8859_2), nil
	case "cp1251":
		return singleByte(charmap.Windows1251), nil
	case "cp1250":
		return singleByte(charmap.Windows1250), nil
	case "greek":
		return singleByte(charmap.ISO8859_7), nil
	case "hebrew":
		return singleByte(charmap.ISO8859_8), nil
	case "koi8r":
		return singleByte(charmap.KOI8R), nil
	}
	return nil, fmt.Errorf("character set %q is not supported for decoding binlog values", cs)
}

// singleByte decodes one of MySQL's single-byte character sets. All of
// them keep ASCII as is, so pure ASCII (most values) is copied without
// the transformer: latin1 decoding was 2% of the streaming CPU.
func singleByte(cm *charmap.Charmap) func(string) (string, error) {
	d := cm.NewDecoder()
	return func(s string) (string, error) {
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return d.String(s)
			}
		}
		return s, nil
	}
}

// fallback is the value Debezium substitutes for NULL in a NOT NULL column
// (zero dates, mostly): the schema default, else the type's zero.
func (cv *converter) fallback() any {
	if cv.schema.HasDefault {
		return cv.schema.Default
	}
	switch cv.kind {
	case kBool:
		return false // TinyIntOneToBooleanConverter's FALLBACK
	case kTimestamp:
		return formatZoned(time.Unix(0, 0).UTC(), cv.fsp)
	case kDate:
		if cv.schema.Name == connect.DateName {
			return int32(0)
		}
		return int32(0)
	case kDatetime:
		return int64(0)
	case kTime:
		if cv.schema.Type == connect.Int32 {
			return int32(0)
		}
		return int64(0)
	}
	return nil
}

// finish applies NULL handling to a converted value.
func (cv *converter) finish(v any) any {
	if v == nil && !cv.col.Optional && !cv.schema.Optional {
		return cv.fallback()
	}
	return v
}

// fromText converts a value read through the text protocol (snapshot);
// raw is nil for SQL NULL.
func (cv *converter) fromText(raw []byte) (any, error) {
	if raw == nil {
		return cv.finish(nil), nil
	}
	s := string(raw)
	switch cv.kind {
	case kInt:
		if cv.col.unsigned() {
			u, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, err
			}
			return cv.intValue(int64(u)), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, err
		}
		return cv.intValue(n), nil
	case kUnsignedBigPrecise:
		x, ok := new(big.Int).SetString(s, 10)
		if !ok {
			return nil, fmt.Errorf("invalid BIGINT UNSIGNED %q", s)
		}
		return connect.Decimal{Unscaled: x, Scale: 0}, nil
	case kBool:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, err
		}
		return n != 0, nil
	case kBitBool:
		return bytesNonZero(raw), nil
	case kBits:
		return cv.bitsValue(raw), nil
	case kFloat32:
		f, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return nil, err
		}
		return float32(f), nil
	case kFloat64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, err
		}
		return f, nil
	case kDecimal:
		return cv.decimalValue(s)
	case kString, kEnum, kSet, kJSON:
		return s, nil
	case kBinary:
		return cv.binaryValue(bytes.Clone(raw)), nil
	case kYear:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		return int32(n), nil
	case kDate:
		return cv.dateValue(s)
	case kTime:
		return cv.timeValue(s)
	case kDatetime:
		return cv.datetimeValue(s)
	case kTimestamp:
		return cv.timestampText(s)
	case kPoint, kGeometry:
		return cv.geometryValue(raw)
	}
	return nil, fmt.Errorf("unhandled column kind %d", cv.kind)
}

func bytesNonZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return true
		}
	}
	return false
}

// fromBinlog converts a value as go-mysql decodes it from a rows event.
func (cv *converter) fromBinlog(v any) (any, error) {
	if v == nil {
		return cv.finish(nil), nil
	}
	switch cv.kind {
	case kInt, kBool, kUnsignedBigPrecise:
		var n int64
		switch x := v.(type) {
		case int8:
			n = int64(x)
			if cv.col.unsigned() {
				n = int64(uint8(x))
			}
		case int16:
			n = int64(x)
			if cv.col.unsigned() {
				n = int64(uint16(x))
			}
		case int32:
			n = int64(x)
			if cv.col.unsigned() {
				if strings.HasPrefix(cv.col.TypeName, "MEDIUMINT") || strings.HasPrefix(cv.col.TypeName, "INT3") || strings.HasPrefix(cv.col.TypeName, "MIDDLEINT") {
					n = int64(uint32(x) & 0xffffff)
				} else {
					n = int64(uint32(x))
				}
			}
		case int64:
			n = x
		case int:
			n = int64(x)
		default:
			return nil, fmt.Errorf("unexpected binlog value %T for integer column", v)
		}
		switch cv.kind {
		case kBool:
			return n != 0, nil
		case kUnsignedBigPrecise:
			return connect.Decimal{Unscaled: new(big.Int).SetUint64(uint64(n)), Scale: 0}, nil
		}
		return cv.intValue(n), nil
	case kBitBool, kBits:
		n, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("unexpected binlog value %T for BIT column", v)
		}
		nb := (cv.bits + 7) / 8
		be := make([]byte, 8)
		binary.BigEndian.PutUint64(be, uint64(n))
		if cv.kind == kBitBool {
			return n != 0, nil
		}
		return cv.bitsValue(be[8-nb:]), nil
	case kFloat32:
		switch x := v.(type) {
		case float32:
			return x, nil
		case float64:
			return float32(x), nil
		}
	case kFloat64:
		switch x := v.(type) {
		case float32:
			return float64(x), nil
		case float64:
			return x, nil
		}
	case kDecimal:
		if s, ok := v.(string); ok {
			// go-mysql's form without UseDecimal; fmt.Sprint was 2% of
			// the streaming CPU for this one type switch.
			return cv.decimalValue(s)
		}
		return cv.decimalValue(fmt.Sprint(v))
	case kString:
		// go-mysql's strings share the event's packet, which is never
		// reused (ReadPacket allocates one per event): kept as they are
		s, err := cv.decode(textOf(v))
		if err != nil {
			return nil, err
		}
		return s, nil
	case kJSON:
		if _, ok := v.(*replication.JsonDiff); ok {
			// go-mysql's value for a partial JSON update: only the change,
			// which Debezium cannot emit either.
			return nil, fmt.Errorf("column %q: the binlog holds a partial JSON update; set binlog_row_value_options='' on the server so that rows carry full JSON values", cv.col.Name)
		}
		b := toBytes(v)
		if len(b) == 0 {
			// An empty document (INSERT IGNORE or non-strict SQL mode put
			// '' in a NOT NULL JSON column): Debezium's convertJson emits
			// null, or {} for a NOT NULL column.
			if cv.col.Optional {
				return nil, nil
			}
			return "{}", nil
		}
		return string(b), nil
	case kEnum:
		idx, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("unexpected binlog value %T for ENUM column", v)
		}
		opts := cv.col.enumOptions()
		if idx <= 0 || int(idx) > len(opts) {
			return "", nil
		}
		return opts[idx-1], nil
	case kSet:
		mask, ok := v.(int64)
		if !ok {
			return nil, fmt.Errorf("unexpected binlog value %T for SET column", v)
		}
		opts := cv.col.enumOptions()
		var parts []string
		for i, o := range opts {
			if mask&(1<<uint(i)) != 0 {
				parts = append(parts, o)
			}
		}
		return strings.Join(parts, ","), nil
	case kBinary:
		b := toBytes(v)
		if cv.col.JDBCType == jdbcBinary && cv.col.Length > 0 && len(b) < cv.col.Length {
			// the binlog drops BINARY's trailing zero padding
			p := make([]byte, cv.col.Length)
			copy(p, b)
			b = p
		}
		return cv.binaryValue(b), nil
	case kYear:
		switch x := v.(type) {
		case int:
			return int32(x), nil
		case int64:
			return int32(x), nil
		}
	case kDate:
		return cv.dateValue(textOf(v))
	case kTime:
		return cv.timeValue(textOf(v))
	case kDatetime:
		return cv.datetimeValue(textOf(v))
	case kTimestamp:
		return cv.timestampText(textOf(v))
	case kPoint, kGeometry:
		return cv.geometryValue(toBytes(v))
	}
	return nil, fmt.Errorf("unexpected binlog value %T for %s column", v, cv.col.TypeName)
}

// textOf is a binlog value as text: go-mysql's strings (strings,
// temporal values without ParseTime) as they are, without fmt's copy.
func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

func toBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return bytes.Clone(x)
	case string:
		return []byte(x)
	}
	return []byte(fmt.Sprint(v))
}

func (cv *converter) intValue(n int64) any {
	switch cv.intTyp {
	case connect.Int16:
		return int16(n)
	case connect.Int32:
		return int32(n)
	}
	return n
}

// bitsValue turns big-endian bit bytes into Debezium's little-endian Bits
// value of (length+7)/8 bytes.
func (cv *converter) bitsValue(be []byte) []byte {
	nb := (cv.bits + 7) / 8
	out := make([]byte, nb)
	for i := 0; i < nb && i < len(be); i++ {
		out[i] = be[len(be)-1-i]
	}
	return out
}

func (cv *converter) decimalValue(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch cv.opts.decimalMode {
	case "double":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid DECIMAL %q", s)
		}
		return f, nil
	}
	scale := cv.scale
	unscaled, ok := plainDecimal(s, int(scale))
	if !ok {
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			return nil, fmt.Errorf("invalid DECIMAL %q", s)
		}
		unscaled = new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
		unscaled.Quo(unscaled, r.Denom())
	}
	d := connect.Decimal{Unscaled: unscaled, Scale: scale}
	if cv.opts.decimalMode == "string" {
		return d.String(), nil
	}
	return d, nil
}

// plainDecimal converts "[-]digits[.digits]" with at most scale fraction
// digits to its unscaled integer without big.Rat arithmetic.
func plainDecimal(s string, scale int) (*big.Int, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) > scale || strings.ContainsAny(s, "eE") {
		return nil, false
	}
	digits := intPart + frac + strings.Repeat("0", scale-len(frac))
	x, ok := new(big.Int).SetString(digits, 10)
	return x, ok
}

func (cv *converter) binaryValue(b []byte) any {
	switch cv.opts.binaryMode {
	case "base64":
		return base64.StdEncoding.EncodeToString(b)
	case "base64-url-safe":
		return base64.URLEncoding.EncodeToString(b)
	case "hex":
		return hex.EncodeToString(b)
	}
	return b
}

// dateValue converts "YYYY-MM-DD"; zero dates become NULL (then the
// NOT NULL fallback), as in Debezium.
func (cv *converter) dateValue(s string) (any, error) {
	y, mo, d, ok := parseDate(s)
	if !ok {
		return nil, fmt.Errorf("invalid DATE %q", s)
	}
	if y == 0 || mo == 0 || d == 0 {
		return cv.finish(nil), nil
	}
	if cv.opts.timeAdjuster {
		y = adjustYear(y)
	}
	days := daysFromCivil(y, mo, d)
	return int32(days), nil
}

// adjustYear is BinlogValueConverters.adjustTemporal: a year written with
// two digits is in 1970-2069.
func adjustYear(y int) int {
	switch {
	case y >= 0 && y <= 69:
		return y + 2000
	case y >= 70 && y <= 99:
		return y + 1900
	}
	return y
}

func parseDate(s string) (y, m, d int, ok bool) {
	parts := strings.SplitN(s, "-", 3)
	if len(parts) != 3 {
		return 0, 0, 0, false
	}
	var err error
	if y, err = strconv.Atoi(parts[0]); err != nil {
		return 0, 0, 0, false
	}
	if m, err = strconv.Atoi(parts[1]); err != nil {
		return 0, 0, 0, false
	}
	if d, err = strconv.Atoi(parts[2]); err != nil {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

// daysFromCivil is days since 1970-01-01 in the proleptic Gregorian
// calendar (java.time.LocalDate.toEpochDay).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// parseDuration parses MySQL TIME text "[-]HHH:MM:SS[.ffffff]" into
// microseconds.
func parseDuration(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac = s[i+1:]
		s = s[:i]
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("invalid TIME %q", s)
	}
	var hms [3]int64
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid TIME %q", s)
		}
		hms[i] = n
	}
	us := (hms[0]*3600 + hms[1]*60 + hms[2]) * 1_000_000
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		f, err := strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid TIME fraction %q", frac)
		}
		us += f
	}
	if neg {
		us = -us
	}
	return us, nil
}

// maxConnectTime is the longest TIME that time.precision.mode=connect
// represents: Connect's Time is a time of day, and Debezium's
// Time.toMilliOfDay accepts 00:00:00 to 24:00:00.
const maxConnectTime = 24 * 3600 * 1_000_000

// timeValue converts a TIME ([-]HHH:MM:SS[.ffffff]). In
// adaptive_time_microseconds (MicroTime) every value of TIME's range,
// -838:59:59.999999 to 838:59:59.999999, is kept, negative ones too. In
// connect mode a value outside a day is null for a nullable column, as
// Debezium gives it (handleUnknownData after toMilliOfDay refuses the
// duration); for a NOT NULL column it is an error, where Debezium fails
// too.
func (cv *converter) timeValue(s string) (any, error) {
	us, err := parseDuration(s)
	if err != nil {
		return nil, err
	}
	if cv.schema.Type != connect.Int32 {
		return us, nil
	}
	if us < 0 || us > maxConnectTime {
		if !cv.col.Optional {
			return nil, fmt.Errorf("TIME value %s is outside the 00:00:00 to 24:00:00 that time.precision.mode=connect represents, and the column is NOT NULL (Debezium fails on it too); use time.precision.mode=adaptive_time_microseconds", s)
		}
		if cv.log != nil && !cv.warned {
			cv.warned = true
			cv.log.Warn("TIME value outside 00:00:00 to 24:00:00 cannot be represented with time.precision.mode=connect and is emitted as null, as Debezium does; further such values of the column are not logged",
				"table", cv.table.String(), "column", cv.col.Name, "value", s)
		}
		return nil, nil
	}
	return int32(us / 1000), nil
}

// parseDatetime parses "YYYY-MM-DD HH:MM:SS[.ffffff]" as UTC; ok is false
// for zero dates. adjust applies enable.time.adjuster to the year.
func parseDatetime(s string, adjust bool) (t time.Time, zero bool, err error) {
	date, clock, _ := strings.Cut(strings.TrimSpace(s), " ")
	y, mo, d, ok := parseDate(date)
	if !ok {
		return time.Time{}, false, fmt.Errorf("invalid DATETIME %q", s)
	}
	if y == 0 || mo == 0 || d == 0 {
		return time.Time{}, true, nil
	}
	if adjust {
		y = adjustYear(y)
	}
	us := int64(0)
	if clock != "" {
		us, err = parseDuration(clock)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("invalid DATETIME %q", s)
		}
	}
	days := daysFromCivil(y, mo, d)
	return time.UnixMicro(days*86400_000_000 + us).UTC(), false, nil
}

func (cv *converter) datetimeValue(s string) (any, error) {
	t, zero, err := parseDatetime(s, cv.opts.timeAdjuster)
	if err != nil {
		return nil, err
	}
	if zero {
		return cv.finish(nil), nil
	}
	if cv.schema.Name == "io.debezium.time.MicroTimestamp" {
		return t.UnixMicro(), nil
	}
	return t.UnixMilli(), nil
}

// timestampText converts a TIMESTAMP rendered in UTC.
func (cv *converter) timestampText(s string) (any, error) {
	t, zero, err := parseDatetime(s, cv.opts.timeAdjuster)
	if err != nil {
		return nil, err
	}
	if zero {
		return cv.finish(nil), nil
	}
	return formatZoned(t, cv.fsp), nil
}

// formatZoned renders io.debezium.time.ZonedTimestamp: ISO-8601 in UTC
// with exactly fsp fraction digits, or the shortest fraction when the
// column has none (DateTimeFormatter.ISO_OFFSET_DATE_TIME).
func formatZoned(t time.Time, fsp int) string {
	t = t.UTC()
	base := t.Format("2006-01-02T15:04:05")
	ns := t.Nanosecond()
	if fsp > 0 && fsp <= 9 {
		f := fmt.Sprintf("%09d", ns)[:fsp]
		return base + "." + f + "Z"
	}
	if ns == 0 {
		return base + "Z"
	}
	f := strings.TrimRight(fmt.Sprintf("%09d", ns), "0")
	return base + "." + f + "Z"
}

// geometryValue turns MySQL's internal geometry format (4-byte SRID then
// WKB) into Debezium's Point/Geometry struct.
func (cv *converter) geometryValue(b []byte) (any, error) {
	if len(b) < 4+5 {
		return nil, fmt.Errorf("geometry value of %d bytes is too short", len(b))
	}
	srid := int32(binary.LittleEndian.Uint32(b[:4]))
	wkb := bytes.Clone(b[4:])
	v := connect.NewStruct(cv.schema)
	if cv.kind == kPoint {
		var order binary.ByteOrder = binary.LittleEndian
		if wkb[0] == 0 {
			order = binary.BigEndian
		}
		if len(wkb) < 21 {
			return nil, fmt.Errorf("POINT WKB of %d bytes is too short", len(wkb))
		}
		v.Set("x", math.Float64frombits(order.Uint64(wkb[5:13])))
		v.Set("y", math.Float64frombits(order.Uint64(wkb[13:21])))
	}
	v.Set("wkb", wkb)
	v.Set("srid", srid)
	return v, nil
}

// defaultValue converts a column's DEFAULT expression to the schema's
// representation, or reports ok=false when there is none Debezium would
// put in the schema.
func (cv *converter) defaultValue() (any, bool) {
	col := cv.col
	if !col.HasDefault || col.DefaultExpr == nil {
		return nil, false
	}
	s := *col.DefaultExpr
	switch col.JDBCType {
	case jdbcSmallint, jdbcInteger, jdbcBigint, jdbcDecimal, jdbcNumeric, jdbcFloat, jdbcDouble, jdbcReal, jdbcBit, jdbcBoolean, jdbcDate, jdbcTime, jdbcTimestamp, jdbcTimestampWithTimezone:
		s = strings.TrimSpace(s)
		if strings.EqualFold(s, "true") {
			s = "1"
		} else if strings.EqualFold(s, "false") {
			s = "0"
		}
	}
	var v any
	var err error
	switch cv.kind {
	case kBitBool:
		n, e := strconv.ParseInt(s, 2, 64)
		if e != nil {
			v, err = strings.EqualFold(s, "true"), nil
		} else {
			v = n != 0
		}
	case kBits:
		n, e := strconv.ParseUint(s, 2, 64)
		if e != nil {
			return nil, false
		}
		be := make([]byte, 8)
		binary.BigEndian.PutUint64(be, n)
		v = cv.bitsValue(be[8-(cv.bits+7)/8:])
	case kBool:
		n, e := strconv.ParseInt(s, 10, 64)
		if e != nil {
			v = strings.EqualFold(s, "true")
		} else {
			v = n != 0
		}
	case kInt, kUnsignedBigPrecise, kFloat32, kFloat64, kYear:
		if f, e := strconv.ParseFloat(s, 64); e == nil && strings.ContainsAny(s, ".eE") && cv.kind != kFloat32 && cv.kind != kFloat64 {
			s = strconv.FormatInt(int64(f), 10)
		}
		v, err = cv.fromText([]byte(s))
	case kDecimal:
		v, err = cv.decimalValue(s)
	case kString, kEnum, kSet, kJSON:
		v = s
	case kBinary:
		v = cv.binaryValue([]byte(s))
	case kDate, kDatetime, kTimestamp:
		v, err = cv.fromText([]byte(s))
	case kTime:
		v, err = cv.timeValue(s)
	default:
		return nil, false
	}
	if err != nil || v == nil {
		return nil, false
	}
	return v, true
}
