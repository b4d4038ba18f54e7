package postgres

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/jackson"
)

// Small value parsers for PostgreSQL's text output formats.

func parseBool(s string) bool { return strings.EqualFold(s, "t") || strings.EqualFold(s, "true") }

// parseBytea decodes bytea_output=hex text ("\x0102").
func parseBytea(s string) ([]byte, error) {
	if !strings.HasPrefix(s, `\x`) {
		return nil, fmt.Errorf("bytea value is not in hex format (set bytea_output=hex)")
	}
	return hex.DecodeString(s[2:])
}

// decimalValue is a parsed numeric: a finite value or one of PostgreSQL's
// special values.
type decimalValue struct {
	unscaled *big.Int
	scale    int32
	special  string // "", NAN, POSITIVE_INFINITY, NEGATIVE_INFINITY
}

func parseNumeric(s string) (decimalValue, error) {
	switch s {
	case "NaN":
		return decimalValue{special: "NAN"}, nil
	case "Infinity":
		return decimalValue{special: "POSITIVE_INFINITY"}, nil
	case "-Infinity":
		return decimalValue{special: "NEGATIVE_INFINITY"}, nil
	}
	return parseBigDecimal(s)
}

// maxNumericScale bounds the scale of a parsed number either way.
// PostgreSQL's numeric has at most 131072 digits before the decimal point
// and 16383 after, so its text never goes beyond; an exponent that does
// (PostgreSQL never writes one) would make setScale build powers of ten
// with billions of digits.
const maxNumericScale = 131072

// parseBigDecimal parses like java.math.BigDecimal(String): the scale is
// the number of fraction digits, minus any exponent.
func parseBigDecimal(s string) (decimalValue, error) {
	t := s
	var exp int64
	if i := strings.IndexAny(t, "eE"); i >= 0 {
		e, err := strconv.ParseInt(t[i+1:], 10, 32)
		if err != nil {
			return decimalValue{}, fmt.Errorf("invalid number %q", s)
		}
		exp, t = e, t[:i]
	}
	neg := false
	if strings.HasPrefix(t, "-") {
		neg, t = true, t[1:]
	} else if strings.HasPrefix(t, "+") {
		t = t[1:]
	}
	intPart, frac, _ := strings.Cut(t, ".")
	digits := intPart + frac
	if digits == "" {
		return decimalValue{}, fmt.Errorf("invalid number %q", s)
	}
	u, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return decimalValue{}, fmt.Errorf("invalid number %q", s)
	}
	if neg {
		u.Neg(u)
	}
	scale := int64(len(frac)) - exp
	if scale > maxNumericScale || scale < -maxNumericScale {
		return decimalValue{}, fmt.Errorf("invalid number %q: scale %d is beyond PostgreSQL's numeric range", s, scale)
	}
	return decimalValue{unscaled: u, scale: int32(scale)}, nil
}

func (d decimalValue) setScale(scale int32) (decimalValue, error) {
	if d.special != "" || d.scale == scale {
		return d, nil
	}
	if scale > d.scale {
		m := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale-d.scale)), nil)
		return decimalValue{unscaled: new(big.Int).Mul(d.unscaled, m), scale: scale}, nil
	}
	m := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale-scale)), nil)
	q, r := new(big.Int).QuoRem(d.unscaled, m, new(big.Int))
	if r.Sign() != 0 {
		return d, fmt.Errorf("value %s cannot be represented with scale %d without rounding", d.plain(), scale)
	}
	return decimalValue{unscaled: q, scale: scale}, nil
}

// setScaleHalfUp is BigDecimal.setScale(scale, RoundingMode.HALF_UP).
func (d decimalValue) setScaleHalfUp(scale int32) decimalValue {
	if scale >= d.scale {
		r, _ := d.setScale(scale)
		return r
	}
	m := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.scale-scale)), nil)
	abs := new(big.Int).Abs(d.unscaled)
	q, r := new(big.Int).QuoRem(abs, m, new(big.Int))
	if new(big.Int).Mul(r, big.NewInt(2)).Cmp(m) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if d.unscaled.Sign() < 0 {
		q.Neg(q)
	}
	return decimalValue{unscaled: q, scale: scale}
}

// stripTrailingZeros is BigDecimal.stripTrailingZeros followed by
// Debezium's "negative scale becomes 0".
func (d decimalValue) stripTrailingZeros() decimalValue {
	u := new(big.Int).Set(d.unscaled)
	scale := d.scale
	if u.Sign() == 0 {
		return decimalValue{unscaled: u, scale: 0}
	}
	ten := big.NewInt(10)
	r := new(big.Int)
	for {
		q, rem := new(big.Int).QuoRem(u, ten, r)
		if rem.Sign() != 0 {
			break
		}
		u, scale = q, scale-1
	}
	if scale < 0 {
		m := new(big.Int).Exp(ten, big.NewInt(int64(-scale)), nil)
		u.Mul(u, m)
		scale = 0
	}
	return decimalValue{unscaled: u, scale: scale}
}

// plain is BigDecimal.toPlainString.
func (d decimalValue) plain() string {
	if d.special != "" {
		return d.special
	}
	return connect.Decimal{Unscaled: d.unscaled, Scale: d.scale}.String()
}

func (d decimalValue) float64() float64 {
	switch d.special {
	case "NAN":
		return math.NaN()
	case "POSITIVE_INFINITY":
		return math.Inf(1)
	case "NEGATIVE_INFINITY":
		return math.Inf(-1)
	}
	f, _ := strconv.ParseFloat(d.plain(), 64)
	return f
}

func (d decimalValue) connect() connect.Decimal {
	return connect.Decimal{Unscaled: d.unscaled, Scale: d.scale}
}

// parseMoney strips the currency formatting as Debezium's PostgresMoney.
func parseMoney(s string) (decimalValue, error) {
	if s == "" {
		return decimalValue{}, fmt.Errorf("empty money value")
	}
	neg := s[0] == '(' || s[0] == '-'
	v := s
	if s[0] == '-' {
		v = "(" + s[1:] + ")"
	}
	if strings.HasPrefix(v, "(") && strings.HasSuffix(v, ")") {
		v = v[1 : len(v)-1]
	}
	if v != "" && !(v[0] >= '0' && v[0] <= '9') && v[0] != '.' {
		// One currency symbol, which may be a multi-byte rune ("€").
		_, size := utf8.DecodeRuneInString(v)
		v = v[size:]
	}
	v = strings.ReplaceAll(v, ",", "")
	if neg {
		v = "-" + v
	}
	d, err := parseBigDecimal(v)
	if err != nil {
		return d, fmt.Errorf("failed to parse money value %q", s)
	}
	return d, nil
}

// parsePoint parses "(x,y)".
func parsePoint(s string) (float64, float64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(strings.TrimSuffix(t, ")"), "(")
	xs, ys, ok := strings.Cut(t, ",")
	if !ok {
		return 0, 0, fmt.Errorf("invalid point %q", s)
	}
	x, err1 := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("invalid point %q", s)
	}
	return x, y, nil
}

// bitsValue converts bit-string text to Debezium's little-endian bytes,
// sized to the highest set bit (PostgresValueConverter.convertBits).
func bitsValue(s string) ([]byte, error) {
	n := len(s)
	var out []byte
	for i := n - 1; i >= 0; i-- {
		switch s[i] {
		case '1':
			bit := n - i - 1
			for len(out) <= bit/8 {
				out = append(out, 0)
			}
			out[bit/8] |= 1 << (bit % 8)
		case '0':
		default:
			return nil, fmt.Errorf("invalid bit string %q", s)
		}
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

// hstoreEntry is one key/value of an hstore; a nil value is SQL NULL.
type hstoreEntry struct {
	key   string
	value *string
}

// parseHstore parses hstore text output ("a"=>"1", "b"=>NULL) and returns
// the entries in the iteration order of the java.util.HashMap Debezium
// builds from it, so the JSON and map representations match.
func parseHstore(s string) ([]hstoreEntry, error) {
	var entries []hstoreEntry
	index := map[string]int{}
	pos := 0
	readQuoted := func() (string, error) {
		if pos >= len(s) || s[pos] != '"' {
			return "", fmt.Errorf("invalid hstore %q", s)
		}
		pos++
		var b strings.Builder
		for pos < len(s) {
			c := s[pos]
			switch c {
			case '\\':
				if pos+1 < len(s) {
					b.WriteByte(s[pos+1])
				}
				pos += 2
				continue
			case '"':
				pos++
				return b.String(), nil
			}
			b.WriteByte(c)
			pos++
		}
		return "", fmt.Errorf("invalid hstore %q", s)
	}
	for {
		for pos < len(s) && (s[pos] == ' ' || s[pos] == ',') {
			pos++
		}
		if pos >= len(s) {
			break
		}
		k, err := readQuoted()
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(s[pos:], "=>") {
			return nil, fmt.Errorf("invalid hstore %q", s)
		}
		pos += 2
		var v *string
		if strings.HasPrefix(s[pos:], "NULL") {
			pos += 4
		} else {
			str, err := readQuoted()
			if err != nil {
				return nil, err
			}
			v = &str
		}
		if i, ok := index[k]; ok {
			entries[i].value = v
		} else {
			index[k] = len(entries)
			entries = append(entries, hstoreEntry{k, v})
		}
	}
	return javaHashMapOrder(entries), nil
}

// javaHashMapOrder orders entries as a java.util.HashMap<String,_> filled in
// this order iterates them: by bucket of the spread String.hashCode in the
// final table, then by insertion within a bucket.
func javaHashMapOrder(entries []hstoreEntry) []hstoreEntry {
	capacity := 16
	for float64(len(entries)) > float64(capacity)*0.75 {
		capacity *= 2
	}
	buckets := make([][]hstoreEntry, capacity)
	for _, e := range entries {
		h := javaStringHash(e.key)
		h ^= int32(uint32(h) >> 16)
		i := int(uint32(h) & uint32(capacity-1))
		buckets[i] = append(buckets[i], e)
	}
	out := make([]hstoreEntry, 0, len(entries))
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

func hstoreJSON(entries []hstoreEntry) string {
	b := []byte{'{'}
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = jackson.AppendString(b, e.key)
		b = append(b, ':')
		if e.value == nil {
			b = append(b, "null"...)
		} else {
			b = jackson.AppendString(b, *e.value)
		}
	}
	return string(append(b, '}'))
}

// binaryValue applies binary.handling.mode to raw bytes.
func binaryValue(mode string, b []byte) any {
	switch mode {
	case "base64":
		return base64.StdEncoding.EncodeToString(b)
	case "base64-url-safe":
		return base64.URLEncoding.EncodeToString(b)
	case "hex":
		return hex.EncodeToString(b)
	}
	return b
}

// parseArray parses PostgreSQL array text output into a (possibly
// nested) list of element texts; nil elements are NULL. delim is the
// element type's delimiter (',' for everything but box).
func parseArray(s string, delim byte) ([]any, error) {
	p := arrayParser{s: s, delim: delim}
	// Arrays with non-default lower bounds are prefixed "[2:3]=".
	if strings.HasPrefix(p.s, "[") {
		if i := strings.Index(p.s, "="); i > 0 {
			p.s = p.s[i+1:]
		}
	}
	v, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("invalid array %q: %w", s, err)
	}
	if p.pos != len(p.s) {
		return nil, fmt.Errorf("invalid array %q: trailing characters", s)
	}
	return v, nil
}

type arrayParser struct {
	s     string
	pos   int
	delim byte
}

func (p *arrayParser) parse() ([]any, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '{' {
		return nil, fmt.Errorf("expected '{' at %d", p.pos)
	}
	p.pos++
	out := []any{}
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		return out, nil
	}
	for {
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("unterminated array")
		}
		switch c := p.s[p.pos]; {
		case c == '{':
			sub, err := p.parse()
			if err != nil {
				return nil, err
			}
			out = append(out, sub)
		case c == '"':
			p.pos++
			var b strings.Builder
			for {
				if p.pos >= len(p.s) {
					return nil, fmt.Errorf("unterminated quoted element")
				}
				ch := p.s[p.pos]
				if ch == '\\' && p.pos+1 < len(p.s) {
					b.WriteByte(p.s[p.pos+1])
					p.pos += 2
					continue
				}
				p.pos++
				if ch == '"' {
					break
				}
				b.WriteByte(ch)
			}
			str := b.String()
			out = append(out, &str)
		default:
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] != p.delim && p.s[p.pos] != '}' {
				p.pos++
			}
			tok := strings.TrimSpace(p.s[start:p.pos])
			if tok == "NULL" {
				out = append(out, nil)
			} else {
				t := tok
				out = append(out, &t)
			}
		}
		if p.pos >= len(p.s) {
			return nil, fmt.Errorf("unterminated array")
		}
		switch p.s[p.pos] {
		case p.delim:
			p.pos++
		case '}':
			p.pos++
			return out, nil
		default:
			return nil, fmt.Errorf("unexpected %q at %d", p.s[p.pos], p.pos)
		}
	}
}

func bigZero() *big.Int { return new(big.Int) }

// javaNameUUID is java.util.UUID.nameUUIDFromBytes (an MD5, version 3 UUID).
func javaNameUUID(b []byte) string {
	sum := md5.Sum(b)
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
