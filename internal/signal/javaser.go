package signal

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Debezium stores incremental snapshot keys (incremental_snapshot_primary_key,
// incremental_snapshot_maximum_key) as the hex of a Java-serialized Object[]
// (ObjectOutputStream). Writing the same bytes keeps offsets interchangeable
// with Debezium in both directions for the usual key types: a connector
// moved from Debezium to Tributary, or back, in the middle of an incremental
// snapshot resumes at the chunk it stopped in. Only the classes PostgreSQL's
// and MySQL's JDBC drivers return for integer, text and uuid keys are
// written; any other key value is written as its text (a java.lang.String),
// which Tributary reads back correctly and Debezium at worst rejects when it
// binds it. Reading accepts the same classes; anything else is reported as
// ErrUnsupportedKey so the caller can restart the table's scan instead.

// UUID is a java.util.UUID key value.
type UUID [16]byte

func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// ParseUUID parses the canonical text form.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("invalid uuid %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// ErrUnsupportedKey is returned for serialized keys holding classes this
// package does not read (BigDecimal, java.sql.Timestamp, ...).
var ErrUnsupportedKey = errors.New("serialized key holds a Java class Tributary does not read")

const (
	tcNull       = 0x70
	tcReference  = 0x71
	tcClassDesc  = 0x72
	tcObject     = 0x73
	tcString     = 0x74
	tcArray      = 0x75
	tcEndBlock   = 0x78
	tcLongString = 0x7C
	baseHandle   = 0x7E0000
	scSerial     = 0x02
)

type javaClass struct {
	name   string
	uid    uint64
	fields []javaField // in serialization order (primitives sorted by name)
	super  *javaClass
}

type javaField struct {
	code byte // 'I', 'J', 'S', 'B', 'Z'
	name string
}

var (
	classNumber  = &javaClass{name: "java.lang.Number", uid: 0x86AC951D0B94E08B}
	classInteger = &javaClass{name: "java.lang.Integer", uid: 0x12E2A0A4F7818738, fields: []javaField{{'I', "value"}}, super: classNumber}
	classLong    = &javaClass{name: "java.lang.Long", uid: 0x3B8BE490CC8F23DF, fields: []javaField{{'J', "value"}}, super: classNumber}
	classShort   = &javaClass{name: "java.lang.Short", uid: 0x684D37133460DA52, fields: []javaField{{'S', "value"}}, super: classNumber}
	classUUID    = &javaClass{name: "java.util.UUID", uid: 0xBC9903F7986D852F, fields: []javaField{{'J', "leastSigBits"}, {'J', "mostSigBits"}}}
	objectArray  = &javaClass{name: "[Ljava.lang.Object;", uid: 0x90CE589F1073296C}
)

// EncodeKey returns the hex of the Java serialization of key as an
// Object[]: int32 → Integer, int64 → Long, int16 → Short, UUID →
// java.util.UUID, string → String, nil → null. A nil key encodes Java's
// null, as Debezium stores a key it does not have yet.
func EncodeKey(key []any) string {
	w := &javaWriter{classes: map[*javaClass]uint32{}}
	w.buf = append(w.buf, 0xAC, 0xED, 0x00, 0x05)
	if key == nil {
		w.buf = append(w.buf, tcNull)
		return hex.EncodeToString(w.buf)
	}
	w.buf = append(w.buf, tcArray)
	w.classDesc(objectArray)
	w.handle() // the array
	w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(len(key)))
	for _, v := range key {
		w.value(v)
	}
	return hex.EncodeToString(w.buf)
}

type javaWriter struct {
	buf     []byte
	next    uint32
	classes map[*javaClass]uint32
}

func (w *javaWriter) handle() uint32 { h := baseHandle + w.next; w.next++; return h }

func (w *javaWriter) utf(s string) {
	b := modifiedUTF8(s)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(b)))
	w.buf = append(w.buf, b...)
}

func (w *javaWriter) classDesc(c *javaClass) {
	if c == nil {
		w.buf = append(w.buf, tcNull)
		return
	}
	if h, ok := w.classes[c]; ok {
		w.buf = append(w.buf, tcReference)
		w.buf = binary.BigEndian.AppendUint32(w.buf, h)
		return
	}
	w.buf = append(w.buf, tcClassDesc)
	w.utf(c.name)
	w.buf = binary.BigEndian.AppendUint64(w.buf, c.uid)
	w.classes[c] = w.handle()
	w.buf = append(w.buf, scSerial)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(c.fields)))
	for _, f := range c.fields {
		w.buf = append(w.buf, f.code)
		w.utf(f.name)
	}
	w.buf = append(w.buf, tcEndBlock)
	w.classDesc(c.super)
}

func (w *javaWriter) value(v any) {
	switch x := v.(type) {
	case nil:
		w.buf = append(w.buf, tcNull)
	case int32:
		w.object(classInteger)
		w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(x))
	case int64:
		w.object(classLong)
		w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(x))
	case int16:
		w.object(classShort)
		w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(x))
	case UUID:
		w.object(classUUID)
		w.buf = append(w.buf, x[8:16]...) // leastSigBits
		w.buf = append(w.buf, x[0:8]...)  // mostSigBits
	case string:
		b := modifiedUTF8(x)
		if len(b) <= 0xFFFF {
			w.buf = append(w.buf, tcString)
			w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(b)))
		} else {
			w.buf = append(w.buf, tcLongString)
			w.buf = binary.BigEndian.AppendUint64(w.buf, uint64(len(b)))
		}
		w.buf = append(w.buf, b...)
		w.handle()
	default:
		w.value(fmt.Sprint(x))
	}
}

func (w *javaWriter) object(c *javaClass) {
	w.buf = append(w.buf, tcObject)
	w.classDesc(c)
	w.handle()
}

// modifiedUTF8 is Java's DataOutput.writeUTF encoding: NUL as C0 80 and
// characters outside the BMP as two 3-byte surrogates.
func modifiedUTF8(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFFFF {
			a, b := utf16.EncodeRune(r)
			out = appendUTF8Unit(out, a)
			out = appendUTF8Unit(out, b)
			continue
		}
		out = appendUTF8Unit(out, r)
	}
	return out
}

func appendUTF8Unit(out []byte, r rune) []byte {
	switch {
	case r != 0 && r < 0x80:
		return append(out, byte(r))
	case r < 0x800:
		return append(out, byte(0xC0|r>>6), byte(0x80|r&0x3F))
	}
	return append(out, byte(0xE0|r>>12), byte(0x80|(r>>6)&0x3F), byte(0x80|r&0x3F))
}

// DecodeKey reads what EncodeKey (or Debezium) wrote. A serialized null
// decodes to a nil slice.
func DecodeKey(s string) ([]any, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	r := &javaReader{buf: b}
	if r.u16() != 0xACED || r.u16() != 5 {
		return nil, fmt.Errorf("not a Java serialization stream")
	}
	tc := r.byte()
	if r.err != nil {
		return nil, r.err
	}
	switch tc {
	case tcNull:
		return nil, nil
	case tcArray:
	default:
		return nil, fmt.Errorf("%w: top-level type code 0x%02x", ErrUnsupportedKey, tc)
	}
	c, err := r.classDesc()
	if err != nil {
		return nil, err
	}
	if c == nil || c.name != objectArray.name {
		return nil, fmt.Errorf("%w: array class %v", ErrUnsupportedKey, c)
	}
	r.newHandle(nil)
	n := r.u32()
	if r.err != nil || n > 1024 {
		return nil, fmt.Errorf("invalid array length %d", n)
	}
	out := make([]any, n)
	for i := range out {
		if out[i], err = r.value(); err != nil {
			return nil, err
		}
	}
	return out, r.err
}

type javaReader struct {
	buf     []byte
	pos     int
	err     error
	handles []any // *javaClass, string or a decoded value
}

func (r *javaReader) need(n int) bool {
	if r.err == nil && r.pos+n > len(r.buf) {
		r.err = fmt.Errorf("serialized key ends early at byte %d", r.pos)
	}
	return r.err == nil
}

func (r *javaReader) byte() byte {
	if !r.need(1) {
		return 0
	}
	r.pos++
	return r.buf[r.pos-1]
}

func (r *javaReader) u16() uint16 {
	if !r.need(2) {
		return 0
	}
	r.pos += 2
	return binary.BigEndian.Uint16(r.buf[r.pos-2:])
}

func (r *javaReader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	r.pos += 4
	return binary.BigEndian.Uint32(r.buf[r.pos-4:])
}

func (r *javaReader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	r.pos += 8
	return binary.BigEndian.Uint64(r.buf[r.pos-8:])
}

func (r *javaReader) bytes(n uint64) []byte {
	if n > uint64(len(r.buf)) || !r.need(int(n)) {
		if r.err == nil {
			r.err = fmt.Errorf("serialized key ends early at byte %d", r.pos)
		}
		return nil
	}
	r.pos += int(n)
	return r.buf[r.pos-int(n) : r.pos]
}

func (r *javaReader) newHandle(v any) int {
	r.handles = append(r.handles, v)
	return len(r.handles) - 1
}

func (r *javaReader) ref() (any, error) {
	h := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	i := int(h) - baseHandle
	if i < 0 || i >= len(r.handles) {
		return nil, fmt.Errorf("invalid back reference 0x%x", h)
	}
	return r.handles[i], nil
}

func (r *javaReader) classDesc() (*javaClass, error) {
	switch tc := r.byte(); tc {
	case tcNull:
		return nil, r.err
	case tcReference:
		v, err := r.ref()
		if err != nil {
			return nil, err
		}
		c, ok := v.(*javaClass)
		if !ok {
			return nil, fmt.Errorf("back reference to a non-class where a class was expected")
		}
		return c, nil
	case tcClassDesc:
		c := &javaClass{name: string(r.bytes(uint64(r.u16())))}
		c.uid = r.u64()
		r.newHandle(c)
		flags := r.byte()
		n := r.u16()
		for i := 0; i < int(n) && r.err == nil; i++ {
			f := javaField{code: r.byte()}
			f.name = string(r.bytes(uint64(r.u16())))
			if f.code == 'L' || f.code == '[' {
				return nil, fmt.Errorf("%w: %s has object fields", ErrUnsupportedKey, c.name)
			}
			c.fields = append(c.fields, f)
		}
		if r.byte() != tcEndBlock {
			return nil, fmt.Errorf("%w: %s has class annotations", ErrUnsupportedKey, c.name)
		}
		if r.err != nil {
			return nil, r.err
		}
		if flags&^scSerial != 0 {
			return nil, fmt.Errorf("%w: %s is not plainly serializable (flags 0x%02x)", ErrUnsupportedKey, c.name, flags)
		}
		var err error
		c.super, err = r.classDesc()
		return c, err
	default:
		if r.err != nil {
			return nil, r.err
		}
		return nil, fmt.Errorf("%w: class type code 0x%02x", ErrUnsupportedKey, tc)
	}
}

func (r *javaReader) value() (any, error) {
	switch tc := r.byte(); tc {
	case tcNull:
		return nil, r.err
	case tcReference:
		return r.ref()
	case tcString, tcLongString:
		var n uint64
		if tc == tcString {
			n = uint64(r.u16())
		} else {
			n = r.u64()
		}
		s := decodeModifiedUTF8(r.bytes(n))
		r.newHandle(s)
		return s, r.err
	case tcObject:
		c, err := r.classDesc()
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, fmt.Errorf("object without class")
		}
		h := r.newHandle(nil)
		// Field values go from the top superclass down.
		var chain []*javaClass
		for k := c; k != nil; k = k.super {
			chain = append([]*javaClass{k}, chain...)
		}
		vals := map[string]uint64{}
		for _, k := range chain {
			for _, f := range k.fields {
				switch f.code {
				case 'J', 'D':
					vals[f.name] = r.u64()
				case 'I', 'F':
					vals[f.name] = uint64(r.u32())
				case 'S', 'C':
					vals[f.name] = uint64(r.u16())
				case 'B', 'Z':
					vals[f.name] = uint64(r.byte())
				default:
					return nil, fmt.Errorf("%w: field type %q", ErrUnsupportedKey, f.code)
				}
			}
		}
		if r.err != nil {
			return nil, r.err
		}
		var v any
		switch c.name {
		case classInteger.name:
			v = int32(uint32(vals["value"]))
		case classLong.name:
			v = int64(vals["value"])
		case classShort.name:
			v = int16(uint16(vals["value"]))
		case "java.lang.Byte":
			v = int16(int8(uint8(vals["value"])))
		case classUUID.name:
			var u UUID
			binary.BigEndian.PutUint64(u[0:8], vals["mostSigBits"])
			binary.BigEndian.PutUint64(u[8:16], vals["leastSigBits"])
			v = u
		default:
			return nil, fmt.Errorf("%w: %s", ErrUnsupportedKey, c.name)
		}
		r.handles[h] = v
		return v, nil
	default:
		if r.err != nil {
			return nil, r.err
		}
		return nil, fmt.Errorf("%w: value type code 0x%02x", ErrUnsupportedKey, tc)
	}
}

func decodeModifiedUTF8(b []byte) string {
	units := make([]uint16, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c < 0x80:
			units = append(units, uint16(c))
			i++
		case c&0xE0 == 0xC0 && i+1 < len(b):
			units = append(units, uint16(c&0x1F)<<6|uint16(b[i+1]&0x3F))
			i += 2
		case i+2 < len(b):
			units = append(units, uint16(c&0x0F)<<12|uint16(b[i+1]&0x3F)<<6|uint16(b[i+2]&0x3F))
			i += 3
		default:
			units = append(units, 0xFFFD)
			i = len(b)
		}
	}
	return string(utf16.Decode(units))
}
