package postgres

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// valueOptions are the connector properties that change how values map.
type valueOptions struct {
	decimalMode    string // precise, double, string
	timeMode       string // adaptive, adaptive_time_microseconds, connect, isostring, microseconds, nanoseconds
	binaryMode     string // bytes, base64, base64-url-safe, hex
	hstoreMode     string // json, map
	intervalMode   string // numeric, string
	moneyDigits    int32
	placeholder    string
	includeUnknown bool
}

// column is one table column as Debezium's relational model sees it.
type column struct {
	Name     string
	Type     *pgType // declared type (may be a domain)
	TypMod   int32
	Length   int
	Scale    int
	Optional bool
	// DefaultExpr is pg_get_expr(adbin); HasDefault distinguishes an
	// absent default from an empty one.
	DefaultExpr string
	HasDefault  bool
	Comment     string
}

// native is the type Debezium dispatches on: domains resolve to their
// base type.
func (c *column) native() *pgType { return c.Type.root() }

// mapping is how one column's values become Connect values.
type mapping struct {
	schema *connect.Builder
	// convert turns the text form of a non-NULL value into the Connect value.
	convert func(text string) (any, error)
	// fallback is what Debezium emits for NULL in a NOT NULL column (its
	// converters' fallback), used e.g. for the non-key columns of a delete's
	// before image under REPLICA IDENTITY DEFAULT.
	fallback any
	// toast is the value of an unchanged TOASTed column.
	toast func() (any, error)
}

var errUnsupported = fmt.Errorf("unsupported type")

func stringMapping(b *connect.Builder, o *valueOptions) *mapping {
	return &mapping{schema: b, convert: func(s string) (any, error) { return s, nil }, fallback: "",
		toast: func() (any, error) { return o.placeholder, nil }}
}

func semantic(name string, t connect.Type) *connect.Builder {
	return connect.NewBuilder(t).Name(name).Version(1)
}

func (o *valueOptions) binarySchema() *connect.Builder {
	if o.binaryMode == "bytes" || o.binaryMode == "" {
		return connect.NewBuilder(connect.Bytes)
	}
	return connect.NewBuilder(connect.String)
}

func (o *valueOptions) binaryFallback() any {
	if o.binaryMode == "bytes" || o.binaryMode == "" {
		return []byte{}
	}
	return ""
}

// mapColumn returns the mapping of a column, or errUnsupported when
// Debezium has no schema for its type (the column is then left out of
// events, with a warning).
func (o *valueOptions) mapColumn(c *column) (*mapping, error) {
	return o.mapType(c.native(), c.Length, c.Scale, c.Type)
}

// mapType maps a value of type t with the given column length/scale.
// declared is the column's declared type (a domain, or t itself).
func (o *valueOptions) mapType(t *pgType, length, scale int, declared *pgType) (*mapping, error) {
	switch t.OID {
	case oidBit, oidVarbit:
		if length > 1 {
			return &mapping{
				schema:   connect.NewBuilder(connect.Bytes).Name("io.debezium.data.Bits").Version(1).Param("length", strconv.Itoa(length)),
				convert:  func(s string) (any, error) { return bitsValue(s) },
				fallback: []byte{},
			}, nil
		}
		return &mapping{schema: connect.NewBuilder(connect.Boolean), fallback: false,
			convert: func(s string) (any, error) {
				v, err := strconv.ParseInt(s, 2, 64)
				if err != nil {
					return nil, fmt.Errorf("invalid bit value %q", s)
				}
				return v != 0, nil
			}}, nil
	case oidBool:
		return &mapping{schema: connect.NewBuilder(connect.Boolean), fallback: false,
			convert: func(s string) (any, error) { return parseBool(s), nil }}, nil
	case oidInt2:
		return intMapping(connect.Int16, 16, int16(0)), nil
	case oidInt4:
		return intMapping(connect.Int32, 32, int32(0)), nil
	case oidInt8, oidOID:
		return intMapping(connect.Int64, 64, int64(0)), nil
	case oidFloat4:
		return &mapping{schema: connect.NewBuilder(connect.Float32), fallback: float32(0),
			convert: func(s string) (any, error) {
				f, err := strconv.ParseFloat(s, 32)
				if err != nil {
					return nil, fmt.Errorf("invalid real %q", s)
				}
				return float32(f), nil
			}}, nil
	case oidFloat8:
		return &mapping{schema: connect.NewBuilder(connect.Float64), fallback: float64(0),
			convert: func(s string) (any, error) {
				f, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return nil, fmt.Errorf("invalid double precision %q", s)
				}
				return f, nil
			}}, nil
	case oidChar, oidName, oidText, oidVarchar, oidBpchar, oidInet, oidCidr, oidMacaddr, oidMacaddr8,
		oidInt4range, oidInt8range, oidNumrange, oidTsrange, oidTstzrange, oidDaterange:
		return stringMapping(connect.NewBuilder(connect.String), o), nil
	case oidJSON, oidJSONB:
		return stringMapping(semantic("io.debezium.data.Json", connect.String), o), nil
	case oidXML:
		return stringMapping(semantic("io.debezium.data.Xml", connect.String), o), nil
	case oidUUID:
		return stringMapping(semantic("io.debezium.data.Uuid", connect.String), o), nil
	case oidTsvector:
		return stringMapping(semantic("io.debezium.data.Tsvector", connect.String), o), nil
	case oidBytea:
		return &mapping{schema: o.binarySchema(), fallback: o.binaryFallback(),
			convert: func(s string) (any, error) {
				b, err := parseBytea(s)
				if err != nil {
					return nil, err
				}
				return binaryValue(o.binaryMode, b), nil
			},
			toast: func() (any, error) {
				if o.binaryMode == "bytes" || o.binaryMode == "" {
					return []byte(o.placeholder), nil
				}
				if o.binaryMode == "hex" {
					return o.placeholder, nil
				}
				// Debezium's base64 converters do not recognise the
				// unchanged-TOAST marker and emit null.
				return nil, nil
			}}, nil
	case oidNumeric:
		return o.numericMapping(length, scale), nil
	case oidMoney:
		return o.moneyMapping(), nil
	case oidPoint:
		return pointMapping(), nil
	case oidInterval:
		if o.intervalMode == "string" {
			return &mapping{schema: semantic("io.debezium.time.Interval", connect.String), fallback: "P0Y0M0DT0H0M0S",
				convert: func(s string) (any, error) {
					iv, err := parseInterval(s)
					if err != nil {
						return nil, err
					}
					return iv.isoString(), nil
				}}, nil
		}
		return &mapping{schema: semantic("io.debezium.time.MicroDuration", connect.Int64), fallback: int64(0),
			convert: func(s string) (any, error) {
				iv, err := parseInterval(s)
				if err != nil {
					return nil, err
				}
				return iv.microDuration(), nil
			}}, nil
	case oidDate:
		return o.dateMapping(), nil
	case oidTime:
		return o.timeMapping(scale), nil
	case oidTimestamp:
		return o.timestampMapping(scale), nil
	case oidTimestamptz:
		return &mapping{schema: semantic("io.debezium.time.ZonedTimestamp", connect.String),
			fallback: "1970-01-01T00:00:00Z",
			convert: func(s string) (any, error) {
				if s == "infinity" || s == "-infinity" {
					return s, nil
				}
				t, err := parseTimestamptz(s)
				if err != nil {
					return nil, err
				}
				return zonedTimestamp(t, scale), nil
			}}, nil
	case oidTimetz:
		return &mapping{schema: semantic("io.debezium.time.ZonedTime", connect.String), fallback: "00:00:00Z",
			convert: func(s string) (any, error) {
				n, err := parseTimetz(s)
				if err != nil {
					return nil, err
				}
				var b strings.Builder
				formatISOTime(&b, n, 0)
				b.WriteByte('Z')
				return b.String(), nil
			}}, nil
	}
	switch {
	case t.is("citext"), t.is("isbn"):
		return stringMapping(connect.NewBuilder(connect.String), o), nil
	case t.is("ltree"):
		return stringMapping(semantic("io.debezium.data.Ltree", connect.String), o), nil
	case t.is("hstore"):
		return o.hstoreMapping(), nil
	case t.isEnum():
		return stringMapping(connect.NewBuilder(connect.String).Name("io.debezium.data.Enum").Version(1).
			Param("allowed", strings.Join(t.Enum, ",")), o), nil
	case t.isArray():
		return o.arrayMapping(t, length, scale)
	}
	if o.includeUnknown {
		return &mapping{schema: o.binarySchema(), fallback: o.binaryFallback(),
			convert: func(s string) (any, error) { return binaryValue(o.binaryMode, []byte(s)), nil }}, nil
	}
	return nil, errUnsupported
}

func intMapping(t connect.Type, bits int, zero any) *mapping {
	return &mapping{schema: connect.NewBuilder(t), fallback: zero,
		convert: func(s string) (any, error) {
			v, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				return nil, fmt.Errorf("invalid %s %q", t, s)
			}
			switch t {
			case connect.Int16:
				return int16(v), nil
			case connect.Int32:
				return int32(v), nil
			}
			return v, nil
		}}
}

// variableScale reports an unconstrained numeric (Debezium's
// isVariableScaleDecimal).
func variableScale(length, scale int) bool {
	return (length == 0 || length == 131089) && scale == 0
}

func (o *valueOptions) numericMapping(length, scale int) *mapping {
	variable := variableScale(length, scale)
	adjust := func(d decimalValue) (decimalValue, error) {
		if d.special != "" {
			return d, nil
		}
		// JdbcValueConverters raises the scale to the column's; for
		// constrained numerics PostgresValueConverter forces it.
		if int32(scale) > d.scale || (length != 131089 && int32(scale) != d.scale) {
			return d.setScale(int32(scale))
		}
		return d, nil
	}
	switch o.decimalMode {
	case "double":
		return decimalMapping(connect.NewBuilder(connect.Float64), float64(0), parseNumeric, asFloat64)
	case "string":
		zero, _ := decimalValue{unscaled: bigZero(), scale: 0}.setScale(int32(scale))
		return decimalMapping(connect.NewBuilder(connect.String), zero.plain(), parseNumeric, func(d decimalValue) (any, error) {
			d, err := adjust(d)
			if err != nil {
				return nil, err
			}
			return d.plain(), nil
		})
	}
	special := func(d decimalValue) error {
		return fmt.Errorf("got a special value (%s) for a numeric column but decimal.handling.mode=precise cannot represent it; set decimal.handling.mode to 'string' or 'double'", d.special)
	}
	if variable {
		return decimalMapping(variableScaleSchema(), variableScaleValue(decimalValue{unscaled: bigZero()}), parseNumeric, func(d decimalValue) (any, error) {
			if d.special != "" {
				return nil, special(d)
			}
			return variableScaleValue(d.stripTrailingZeros()), nil
		})
	}
	zero, _ := decimalValue{unscaled: bigZero()}.setScale(int32(scale))
	schema := connect.DecimalSchema(scale).Param("connect.decimal.precision", strconv.Itoa(length))
	return decimalMapping(schema, zero.connect(), parseNumeric, func(d decimalValue) (any, error) {
		if d.special != "" {
			return nil, special(d)
		}
		d, err := adjust(d)
		if err != nil {
			return nil, err
		}
		return d.connect(), nil
	})
}

// decimalMapping parses a numeric or money column's text and finishes the
// value as decimal.handling.mode wants it.
func decimalMapping(schema *connect.Builder, fallback any, parse func(string) (decimalValue, error), finish func(decimalValue) (any, error)) *mapping {
	return &mapping{schema: schema, fallback: fallback,
		convert: func(s string) (any, error) {
			d, err := parse(s)
			if err != nil {
				return nil, err
			}
			return finish(d)
		}}
}

func asFloat64(d decimalValue) (any, error) { return d.float64(), nil }

func variableScaleSchema() *connect.Builder {
	return connect.StructBuilder().Name("io.debezium.data.VariableScaleDecimal").Version(1).
		Doc("Variable scaled decimal").
		Field("scale", connect.Prim(connect.Int32)).
		Field("value", connect.Prim(connect.Bytes))
}

var variableScaleStruct = variableScaleSchema().MustBuild()

func variableScaleValue(d decimalValue) *connect.StructValue {
	return connect.NewStruct(variableScaleStruct).Set("scale", d.scale).Set("value", connect.DecimalBytes(d.unscaled))
}

func (o *valueOptions) moneyMapping() *mapping {
	digits := o.moneyDigits
	zero, _ := decimalValue{unscaled: bigZero()}.setScale(digits)
	switch o.decimalMode {
	case "double":
		return decimalMapping(connect.NewBuilder(connect.Float64), float64(0), parseMoney, asFloat64)
	case "string":
		return decimalMapping(connect.NewBuilder(connect.String), zero.plain(), parseMoney, func(d decimalValue) (any, error) { return d.plain(), nil })
	}
	return decimalMapping(connect.DecimalSchema(int(digits)), zero.connect(), parseMoney, func(d decimalValue) (any, error) {
		return d.setScaleHalfUp(digits).connect(), nil
	})
}

func pointSchema() *connect.Builder {
	return connect.StructBuilder().Name("io.debezium.data.geometry.Point").Version(1).Doc("Geometry (POINT)").
		Field("x", connect.Prim(connect.Float64)).
		Field("y", connect.Prim(connect.Float64)).
		Field("wkb", connect.OptionalPrim(connect.Bytes)).
		Field("srid", connect.OptionalPrim(connect.Int32))
}

var pointStruct = pointSchema().MustBuild()

func pointValue(x, y float64) *connect.StructValue {
	wkb := make([]byte, 21)
	wkb[0] = 1
	wkb[1] = 1 // WKB point type 1, little endian
	putFloatLE(wkb[5:], x)
	putFloatLE(wkb[13:], y)
	return connect.NewStruct(pointStruct).Set("x", x).Set("y", y).Set("wkb", wkb)
}

func putFloatLE(b []byte, f float64) {
	u := math.Float64bits(f)
	for i := 0; i < 8; i++ {
		b[i] = byte(u >> (8 * i))
	}
}

func pointMapping() *mapping {
	return &mapping{schema: pointSchema(), fallback: pointValue(0, 0),
		convert: func(s string) (any, error) {
			x, y, err := parsePoint(s)
			if err != nil {
				return nil, err
			}
			return pointValue(x, y), nil
		}}
}

func (o *valueOptions) hstoreMapping() *mapping {
	placeholder := []hstoreEntry{{key: o.placeholder, value: &o.placeholder}}
	if o.hstoreMode == "map" {
		toMap := func(es []hstoreEntry) connect.MapValue {
			m := make(connect.MapValue, len(es))
			for i, e := range es {
				var v any
				if e.value != nil {
					v = *e.value
				}
				m[i] = connect.MapEntry{Key: e.key, Value: v}
			}
			return m
		}
		return &mapping{schema: connect.MapOf(connect.Prim(connect.String), connect.OptionalPrim(connect.String)),
			fallback: connect.MapValue{},
			convert: func(s string) (any, error) {
				es, err := parseHstore(s)
				if err != nil {
					return nil, err
				}
				return toMap(es), nil
			},
			toast: func() (any, error) { return toMap(placeholder), nil }}
	}
	return &mapping{schema: semantic("io.debezium.data.Json", connect.String), fallback: "{}",
		convert: func(s string) (any, error) {
			es, err := parseHstore(s)
			if err != nil {
				return nil, err
			}
			return hstoreJSON(es), nil
		},
		toast: func() (any, error) { return hstoreJSON(placeholder), nil }}
}

func (o *valueOptions) dateMapping() *mapping {
	conv := func(s string) (int64, error) { return parseDate(s) }
	switch o.timeMode {
	case "connect":
		return &mapping{schema: connect.DateSchema(), fallback: int32(0),
			convert: func(s string) (any, error) {
				d, err := conv(s)
				return int32(d), err
			}}
	case "isostring":
		return &mapping{schema: semantic("io.debezium.time.IsoDate", connect.String), fallback: "1970-01-01Z",
			convert: func(s string) (any, error) {
				d, err := conv(s)
				if err != nil {
					return nil, err
				}
				var b strings.Builder
				formatISODate(&b, d)
				b.WriteByte('Z')
				return b.String(), nil
			}}
	}
	return &mapping{schema: semantic("io.debezium.time.Date", connect.Int32), fallback: int32(0),
		convert: func(s string) (any, error) {
			d, err := conv(s)
			return int32(d), err
		}}
}

// timeKind picks the representation TemporalPrecisionMode gives a time or
// timestamp of the given fractional precision.
func (o *valueOptions) timeKind(precision int, isTime bool) string {
	switch o.timeMode {
	case "connect":
		return "connect"
	case "isostring":
		return "iso"
	case "microseconds":
		return "micro"
	case "nanoseconds":
		return "nano"
	case "adaptive_time_microseconds":
		if isTime {
			return "micro"
		}
	}
	switch {
	case precision <= 3:
		return "milli"
	case precision <= 6:
		return "micro"
	}
	return "nano"
}

func (o *valueOptions) timeMapping(precision int) *mapping {
	large := o.timeMode != "connect" && o.timeMode != "isostring"
	parse := func(s string) (int64, error) {
		n, err := parseTimeDuration(s)
		if err != nil {
			return 0, err
		}
		if !large && n > 86400e9 {
			return 0, fmt.Errorf("time values must be between 00:00:00 and 24:00:00 (inclusive): %q", s)
		}
		return n, nil
	}
	switch o.timeKind(precision, true) {
	case "connect":
		return &mapping{schema: connect.TimeSchema(), fallback: int32(0),
			convert: func(s string) (any, error) {
				n, err := parse(s)
				return int32(n / 1e6), err
			}}
	case "iso":
		return &mapping{schema: semantic("io.debezium.time.IsoTime", connect.String), fallback: "00:00:00Z",
			convert: func(s string) (any, error) {
				n, err := parse(s)
				if err != nil {
					return nil, err
				}
				var b strings.Builder
				formatISOTime(&b, n%86400e9, 0)
				b.WriteByte('Z')
				return b.String(), nil
			}}
	case "milli":
		return &mapping{schema: semantic("io.debezium.time.Time", connect.Int32), fallback: int32(0),
			convert: func(s string) (any, error) {
				n, err := parse(s)
				return int32(n / 1e6), err
			}}
	case "micro":
		return &mapping{schema: semantic("io.debezium.time.MicroTime", connect.Int64), fallback: int64(0),
			convert: func(s string) (any, error) {
				n, err := parse(s)
				return n / 1e3, err
			}}
	}
	return &mapping{schema: semantic("io.debezium.time.NanoTime", connect.Int64), fallback: int64(0),
		convert: func(s string) (any, error) { return parse(s) }}
}

func (o *valueOptions) timestampMapping(precision int) *mapping {
	parse := func(s string) (localDateTime, bool, error) {
		switch s {
		case "infinity":
			return ldtFromMicros(tsInfinityMicros), true, nil
		case "-infinity":
			return ldtFromMicros(tsNegInfinityMicros), true, nil
		}
		t, err := parseTimestamp(s)
		return t, false, err
	}
	switch o.timeKind(precision, false) {
	case "connect":
		return &mapping{schema: connect.TimestampSchema(), fallback: int64(0),
			convert: func(s string) (any, error) {
				t, _, err := parse(s)
				return t.epochMillis(), err
			}}
	case "iso":
		return &mapping{schema: semantic("io.debezium.time.IsoTimestamp", connect.String), fallback: "1970-01-01T00:00:00Z",
			convert: func(s string) (any, error) {
				t, _, err := parse(s)
				if err != nil {
					return nil, err
				}
				return zonedTimestamp(t, 0), nil
			}}
	case "milli":
		return &mapping{schema: semantic("io.debezium.time.Timestamp", connect.Int64), fallback: int64(0),
			convert: func(s string) (any, error) {
				t, _, err := parse(s)
				return t.epochMillis(), err
			}}
	case "micro":
		return &mapping{schema: semantic("io.debezium.time.MicroTimestamp", connect.Int64), fallback: int64(0),
			convert: func(s string) (any, error) {
				t, _, err := parse(s)
				return t.epochMicros(), err
			}}
	}
	return &mapping{schema: semantic("io.debezium.time.NanoTimestamp", connect.Int64), fallback: int64(0),
		convert: func(s string) (any, error) {
			t, inf, err := parse(s)
			if inf {
				if s == "infinity" {
					return int64(math.MaxInt64), nil
				}
				return int64(math.MinInt64), nil
			}
			return t.epochNanos(), err
		}}
}

// arrayMapping maps array types as PostgresValueConverter does: a fixed
// list of array types with optional elements, other arrays (enums,
// domains over supported types) with required elements, and none for
// arrays Debezium leaves unimplemented (money, interval, xml, ...).
func (o *valueOptions) arrayMapping(t *pgType, length, scale int) (*mapping, error) {
	elem := t.elem
	if elem == nil {
		return nil, errUnsupported
	}
	optionalElems := true
	switch t.OID {
	case oidInt2Array, oidInt4Array, oidInt8Array, oidOIDArray, oidCharArray, oidVarcharArray, oidTextArray,
		oidBpcharArray, oidInetArray, oidCidrArray, oidMacaddrArray, oidMacaddr8Array, oidTsrangeArray,
		oidTstzrangeArray, oidDaterangeArray, oidInt4rangeArray, oidNumrangeArray, oidInt8rangeArray,
		oidNumericArray, oidFloat4Array, oidFloat8Array, oidBoolArray, oidDateArray, oidUUIDArray,
		oidJSONBArray, oidJSONArray, oidTimeArray, oidTimetzArray, oidTimestampArray, oidTimestamptzArray,
		oidByteaArray:
	default:
		switch {
		case t.is("_hstore"), t.is("_citext"), t.is("_ltree"):
		case elem.isEnum():
			optionalElems = false
		default:
			if isUnimplementedArray(t) {
				return nil, errUnsupported
			}
			optionalElems = false
		}
	}
	em, err := o.mapType(elem, length, scale, elem)
	if err != nil {
		if err == errUnsupported && o.includeUnknown && !isUnimplementedArray(t) {
			em = &mapping{schema: o.binarySchema(), convert: func(s string) (any, error) { return binaryValue(o.binaryMode, []byte(s)), nil }}
			optionalElems = false
		} else {
			return nil, err
		}
	}
	elemSchema := em.schema
	if optionalElems {
		elemSchema = elemSchema.Optional()
	}
	es, err := elemSchema.Build()
	if err != nil {
		return nil, err
	}
	delim := byte(',')
	m := &mapping{schema: connect.ArrayOf(es), fallback: []any{}}
	m.convert = func(s string) (any, error) {
		items, err := parseArray(s, delim)
		if err != nil {
			return nil, err
		}
		out := make([]any, len(items))
		for i, it := range items {
			switch v := it.(type) {
			case *string:
				if out[i], err = em.convert(*v); err != nil {
					return nil, fmt.Errorf("array element %d: %w", i, err)
				}
			case []any:
				// Debezium's element converters cannot handle the nested
				// arrays of a multi-dimensional array and yield null.
				out[i] = nil
			}
			if out[i] == nil && !optionalElems {
				// Debezium's schema for these arrays has required
				// elements, and Connect rejects the event; failing here
				// names the column instead of a serializer failing later.
				return nil, fmt.Errorf("array element %d is NULL (or a nested array), but the elements of %s arrays are required in Debezium's schema", i, t.Name)
			}
		}
		return out, nil
	}
	m.toast = o.arrayToast(t)
	return m, nil
}

func isUnimplementedArray(t *pgType) bool {
	if t.elem == nil {
		return true
	}
	switch t.elem.OID {
	case oidMoney, oidName, oidInterval, oidVarbit, oidXML, oidPoint, 1790 /* refcursor */ :
		return true
	}
	return false
}

// arrayToast is the placeholder of an unchanged TOASTed array
// (UnchangedToastedPlaceholder): a one-element list for text-like and
// uuid arrays, the placeholder's bytes as numbers for int arrays.
func (o *valueOptions) arrayToast(t *pgType) func() (any, error) {
	return func() (any, error) {
		switch t.Name {
		case "_text", "_varchar", "_bpchar", "_json", "_jsonb":
			return []any{o.placeholder}, nil
		case "_bytea":
			return []any{binaryValue(o.binaryMode, []byte(o.placeholder))}, nil
		case "_int4", "_date":
			out := make([]any, 0, len(o.placeholder))
			for _, b := range []byte(o.placeholder) {
				out = append(out, int32(int8(b)))
			}
			return out, nil
		case "_int8":
			out := make([]any, 0, len(o.placeholder))
			for _, b := range []byte(o.placeholder) {
				out = append(out, int64(int8(b)))
			}
			return out, nil
		case "_uuid":
			return []any{javaNameUUID([]byte(o.placeholder))}, nil
		}
		return nil, fmt.Errorf("unchanged TOASTed value of array type %s has no placeholder in Debezium", t.Name)
	}
}
