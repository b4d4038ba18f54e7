package connect

import (
	"fmt"
	"math/big"
	"time"
)

// StructValue is a value of a struct schema. Values are indexed like the
// schema's fields.
type StructValue struct {
	Schema *Schema
	Values []any
}

// NewStruct returns an empty struct value for s.
func NewStruct(s *Schema) *StructValue {
	return &StructValue{Schema: s, Values: make([]any, len(s.Fields))}
}

// Put sets field name; it returns an error naming the field if it does not
// exist in the schema.
func (v *StructValue) Put(name string, val any) error {
	f := v.Schema.Field(name)
	if f == nil {
		return fmt.Errorf("struct %q has no field %q", v.Schema.Name, name)
	}
	v.Values[f.Index] = val
	return nil
}

// Set is Put for callers that built the schema themselves and know the
// field exists.
func (v *StructValue) Set(name string, val any) *StructValue {
	if err := v.Put(name, val); err != nil {
		panic(err)
	}
	return v
}

// Get returns the value of field name, or nil.
func (v *StructValue) Get(name string) any {
	f := v.Schema.Field(name)
	if f == nil {
		return nil
	}
	return v.Values[f.Index]
}

// MapEntry is one entry of a map value; maps keep insertion order so that
// serialised output is deterministic.
type MapEntry struct {
	Key, Value any
}

// MapValue is the Go representation of a Connect map.
type MapValue []MapEntry

// Logical type names, as in org.apache.kafka.connect.data.
const (
	DecimalName   = "org.apache.kafka.connect.data.Decimal"
	DateName      = "org.apache.kafka.connect.data.Date"
	TimeName      = "org.apache.kafka.connect.data.Time"
	TimestampName = "org.apache.kafka.connect.data.Timestamp"
	DecimalScale  = "scale"
)

// Decimal is the value of a Connect Decimal: unscaled × 10^-scale.
type Decimal struct {
	Unscaled *big.Int
	Scale    int32
}

// String renders the decimal in plain notation, as
// BigDecimal.toPlainString does.
func (d Decimal) String() string {
	if d.Scale <= 0 {
		// A negative scale multiplies: unscaled 12, scale -2 is 1200.
		// (big.Int.Exp of a negative exponent is 1, which used to render
		// it as 12.)
		n := new(big.Int).Exp(big.NewInt(10), big.NewInt(-int64(d.Scale)), nil)
		return n.Mul(n, d.Unscaled).String()
	}
	r := new(big.Rat).SetFrac(d.Unscaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Scale)), nil))
	return r.FloatString(int(d.Scale))
}

// DecimalSchema builds Connect's Decimal logical schema.
func DecimalSchema(scale int) *Builder {
	return NewBuilder(Bytes).Name(DecimalName).Version(1).Param(DecimalScale, fmt.Sprint(scale))
}

// DateSchema builds Connect's Date logical schema (days since epoch).
func DateSchema() *Builder { return NewBuilder(Int32).Name(DateName).Version(1) }

// TimeSchema builds Connect's Time logical schema (millis of day).
func TimeSchema() *Builder { return NewBuilder(Int32).Name(TimeName).Version(1) }

// TimestampSchema builds Connect's Timestamp logical schema (epoch millis).
func TimestampSchema() *Builder { return NewBuilder(Int64).Name(TimestampName).Version(1) }

// DecimalBytes returns the big-endian two's complement bytes of the
// unscaled value, as java.math.BigInteger.toByteArray does.
func DecimalBytes(unscaled *big.Int) []byte {
	if unscaled.Sign() >= 0 {
		b := unscaled.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return b
	}
	// two's complement: (2^(8n) + x) for the smallest n that fits
	n := (unscaled.BitLen() + 8) / 8
	mod := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	b := new(big.Int).Add(mod, unscaled).Bytes()
	for len(b) < n {
		b = append([]byte{0xff}, b...)
	}
	// trim redundant leading 0xff bytes while the sign is preserved
	for len(b) > 1 && b[0] == 0xff && b[1]&0x80 != 0 {
		b = b[1:]
	}
	return b
}

// DecimalFromBytes is the inverse of DecimalBytes.
func DecimalFromBytes(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return x
}

// EpochDays converts a date to days since 1970-01-01 (Connect Date).
func EpochDays(t time.Time) int32 {
	u := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return int32(u.Unix() / 86400)
}
