package jdbc

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/jackson"
)

// placeholder recognises the value a source connector puts in place of a
// column it could not read: PostgreSQL's unchanged TOASTed values under
// REPLICA IDENTITY DEFAULT (unavailable.value.placeholder). Writing that
// value would overwrite real data, so the sink leaves such columns out of
// the row's UPDATE. The forms are those connectors/postgres emits per
// type (see its mapping.go: stringMapping, the bytea toast function,
// hstoreMapping and arrayToast).
type placeholder struct {
	str   string // text-like columns, and bytea under binary.handling.mode=hex
	raw   []byte // bytea (bytes mode)
	texts map[string]bool
	uuid  string // uuid[]: a one-element list of the name-based UUID of the placeholder
	hjson string // hstore.handling.mode=json
}

func newPlaceholder(s string) *placeholder {
	if s == "" {
		return nil
	}
	p := &placeholder{str: s, raw: []byte(s), texts: map[string]bool{s: true}}
	// bytea[] elements under the hex and base64 binary modes.
	p.texts[hex.EncodeToString(p.raw)] = true
	p.texts[base64.StdEncoding.EncodeToString(p.raw)] = true
	p.texts[base64.URLEncoding.EncodeToString(p.raw)] = true
	sum := md5.Sum(p.raw)
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:])
	p.uuid = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	b := jackson.AppendString([]byte{'{'}, s)
	b = append(b, ':')
	b = jackson.AppendString(b, s)
	p.hjson = string(append(b, '}'))
	return p
}

// matches reports whether v is the placeholder in one of its forms. A
// column that really holds the placeholder text is indistinguishable;
// Debezium's consumers share that limitation.
func (p *placeholder) matches(v any) bool {
	if p == nil {
		return false
	}
	switch x := v.(type) {
	case string:
		return x == p.str || x == p.hjson
	case []byte:
		return bytes.Equal(x, p.raw)
	case connect.MapValue:
		if len(x) != 1 {
			return false
		}
		k, _ := x[0].Key.(string)
		val, _ := x[0].Value.(string)
		return k == p.str && val == p.str
	case []any:
		return p.matchesList(x)
	}
	return false
}

func (p *placeholder) matchesList(x []any) bool {
	if len(x) == 1 {
		switch e := x[0].(type) {
		case string:
			return p.texts[e] || e == p.uuid
		case []byte:
			return bytes.Equal(e, p.raw)
		}
	}
	// int4[], date[] and int8[]: the placeholder's bytes as numbers.
	if len(x) != len(p.raw) {
		return false
	}
	for i, e := range x {
		var n int64
		switch y := e.(type) {
		case int32:
			n = int64(y)
		case int64:
			n = y
		default:
			return false
		}
		if n != int64(int8(p.raw[i])) {
			return false
		}
	}
	return true
}
