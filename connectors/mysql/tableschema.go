package mysql

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// columnMapper changes a column's schema and values (masking, truncation,
// source type propagation), as Debezium's ColumnMappers do.
type columnMapper struct {
	match *regexp.Regexp
	// byType matches <database>.<table>.<type name> instead of the
	// column's name (datatype.propagate.source.type)
	byType   bool
	kind     string // truncate | mask | hash | propagate
	n        int
	maskWith string
	hashAlg  string
	salt     []byte
	v2       bool
}

// The names of Debezium's column mapper properties.
var (
	reTruncate = regexp.MustCompile(`^column\.truncate\.to\.(\d+)\.chars$`)
	reMaskWith = regexp.MustCompile(`^column\.mask\.with\.(\d+)\.chars$`)
	reMaskHash = regexp.MustCompile(`^column\.mask\.hash\.(v2\.)?([^.]+)\.with\.salt\.(.+)$`)
)

// parseMappers reads column.truncate.to.N.chars, column.mask.with.N.chars,
// column.mask.hash[.v2].ALG.with.salt.SALT, column.propagate.source.type
// and datatype.propagate.source.type.
func parseMappers(raw map[string]string) ([]columnMapper, error) {
	var out []columnMapper
	reTrunc, reMask, reHash := reTruncate, reMaskWith, reMaskHash
	for k, v := range raw {
		var m columnMapper
		switch {
		case reTrunc.MatchString(k):
			n, _ := strconv.Atoi(reTrunc.FindStringSubmatch(k)[1])
			m = columnMapper{kind: "truncate", n: n}
		case reMask.MatchString(k):
			n, _ := strconv.Atoi(reMask.FindStringSubmatch(k)[1])
			m = columnMapper{kind: "mask", maskWith: strings.Repeat("*", n)}
		case reHash.MatchString(k):
			g := reHash.FindStringSubmatch(k)
			if newHash(g[2]) == nil {
				return nil, fmt.Errorf("%s: unsupported hash algorithm %q (MD5, SHA-1, SHA-256, SHA-384, SHA-512)", k, g[2])
			}
			m = columnMapper{kind: "hash", hashAlg: g[2], salt: []byte(g[3]), v2: g[1] != ""}
		case k == "column.propagate.source.type":
			m = columnMapper{kind: "propagate"}
		case k == "datatype.propagate.source.type":
			m = columnMapper{kind: "propagate", byType: true}
		default:
			continue
		}
		var pats []string
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				pats = append(pats, p)
			}
		}
		if len(pats) == 0 {
			continue
		}
		re, err := regexp.Compile("(?i)^(?:" + strings.Join(pats, "|") + ")$")
		if err != nil {
			return nil, fmt.Errorf("%s: invalid regular expression: %w", k, err)
		}
		m.match = re
		out = append(out, m)
	}
	return out, nil
}

func newHash(alg string) hash.Hash {
	switch strings.ToUpper(alg) {
	case "MD5":
		return md5.New()
	case "SHA-1", "SHA1":
		return sha1.New()
	case "SHA-256", "SHA256":
		return sha256.New()
	case "SHA-384", "SHA384":
		return sha512.New384()
	case "SHA-512", "SHA512":
		return sha512.New()
	}
	return nil
}

// javaSerializedString is ObjectOutputStream.writeObject(String): the V1
// hashing strategy hashes these bytes.
func javaSerializedString(s string) []byte {
	var mu []byte
	for _, r := range s {
		switch {
		case r == 0:
			mu = append(mu, 0xc0, 0x80)
		case r < 0x80:
			mu = append(mu, byte(r))
		case r < 0x800:
			mu = append(mu, byte(0xc0|r>>6), byte(0x80|r&0x3f))
		case r < 0x10000:
			mu = append(mu, byte(0xe0|r>>12), byte(0x80|(r>>6)&0x3f), byte(0x80|r&0x3f))
		default:
			a, b := utf16.EncodeRune(r)
			for _, u := range []rune{a, b} {
				mu = append(mu, byte(0xe0|u>>12), byte(0x80|(u>>6)&0x3f), byte(0x80|u&0x3f))
			}
		}
	}
	out := []byte{0xac, 0xed, 0x00, 0x05, 0x74, byte(len(mu) >> 8), byte(len(mu))}
	return append(out, mu...)
}

func (m *columnMapper) apply(v any) any {
	if v == nil {
		return nil
	}
	switch m.kind {
	case "truncate":
		if s, ok := v.(string); ok {
			r := []rune(s)
			if len(r) > m.n {
				return string(r[:m.n])
			}
		}
		return v
	case "mask":
		return m.maskWith
	case "hash":
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		h := newHash(m.hashAlg)
		h.Write(m.salt)
		if m.v2 {
			h.Write([]byte(s))
		} else {
			h.Write(javaSerializedString(s))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	return v
}

// slot is one value field of a table's row struct.
type slot struct {
	colIdx  int
	field   string
	conv    *converter
	mappers []*columnMapper
}

func (s *slot) convert(v any) any {
	for _, m := range s.mappers {
		v = m.apply(v)
	}
	return v
}

// tableSchema is what the connector needs to turn rows of one table into
// change events: Debezium's TableSchema.
type tableSchema struct {
	table    *Table
	topic    string
	keyS     *connect.Schema
	valueS   *connect.Schema
	envelope *connect.Schema
	slots    []slot // value fields, in column order
	keySlots []int  // indexes into slots of the key fields
	// convByCol maps a table column index to its converter (nil when the
	// column is excluded from events).
	convByCol []*converter
	// convertingMode is event.converting.failure.handling.mode; log
	// reports the values it turns into nulls.
	convertingMode string
	log            *slog.Logger
}

// buildTableSchema builds the key, value and envelope schemas of a table.
func (c *connectorState) buildTableSchema(t *Table) (*tableSchema, error) {
	prefix := c.cfg.topicPrefix
	adj := func(s string) string { return debezium.AdjustName(c.cfg.schemaNameMode, s) }
	fadj := func(s string) string { return debezium.AdjustName(c.cfg.fieldNameMode, s) }
	base := prefix + "." + t.ID.DB + "." + t.ID.Table
	ts := &tableSchema{table: t, topic: c.topicFor(t.ID), convByCol: make([]*converter, len(t.Columns)),
		convertingMode: c.cfg.convertingMode, log: c.log}
	vb := connect.StructBuilder().Name(adj(base + ".Value")).Optional()
	keyCols := c.keyColumns(t)
	for i, col := range t.Columns {
		fq := t.ID.DB + "." + t.ID.Table + "." + col.Name
		isKey := containsFold(keyCols, col.Name)
		if !isKey && !c.columns.Match(fq) {
			continue
		}
		cv, err := newConverter(t.ID, col, &c.cfg.types)
		if err != nil {
			return nil, err
		}
		cv.log = c.log
		ts.convByCol[i] = cv
		if !c.columns.Match(fq) {
			continue
		}
		sl := slot{colIdx: i, field: fadj(col.Name), conv: cv}
		var mapped []*columnMapper
		for k := range c.mappers {
			m := &c.mappers[k]
			if (!m.byType && m.match.MatchString(fq)) || (m.byType && m.match.MatchString(t.ID.DB+"."+t.ID.Table+"."+col.TypeName)) {
				mapped = append(mapped, m)
			}
		}
		sl.mappers = mapped
		fs, err := fieldSchema(col, cv, mapped, c.cfg.includeComments)
		if err != nil {
			return nil, fmt.Errorf("table %s column %q: %w", t.ID, col.Name, err)
		}
		vb.Field(sl.field, fs)
		ts.slots = append(ts.slots, sl)
	}
	var err error
	if ts.valueS, err = vb.Build(); err != nil {
		return nil, fmt.Errorf("table %s: %w", t.ID, err)
	}
	if len(keyCols) > 0 {
		kb := connect.StructBuilder().Name(adj(base + ".Key"))
		for _, kc := range keyCols {
			_, ci := t.column(kc)
			if ci < 0 {
				return nil, fmt.Errorf("table %s: key column %q does not exist", t.ID, kc)
			}
			found := -1
			for si, sl := range ts.slots {
				if sl.colIdx == ci {
					found = si
				}
			}
			var fs *connect.Schema
			if found >= 0 {
				fs = ts.valueS.Fields[found].Schema
			} else {
				// key column excluded from the value: still keyed on it
				cv := ts.convByCol[ci]
				fs, err = fieldSchema(t.Columns[ci], cv, nil, c.cfg.includeComments)
				if err != nil {
					return nil, err
				}
				ts.slots = append(ts.slots, slot{colIdx: ci, field: fadj(t.Columns[ci].Name), conv: cv})
				found = len(ts.slots) - 1
				ts.slots[found].field = "\x00" + ts.slots[found].field // not part of the value struct
			}
			kb.Field(fadj(t.Columns[ci].Name), fs)
			ts.keySlots = append(ts.keySlots, found)
		}
		if ts.keyS, err = kb.Build(); err != nil {
			return nil, fmt.Errorf("table %s key: %w", t.ID, err)
		}
	}
	ts.envelope = debezium.EnvelopeSchema(adj(base+".Envelope"), ts.valueS, c.sourceSchema)
	return ts, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// fieldSchema is the column's value schema with optionality, mappers and
// the default value applied, in the order TableSchemaBuilder applies them.
// With comments (include.schema.comments) the column's comment is the
// field's doc, as TableSchemaBuilder.addField sets it.
func fieldSchema(col *Column, cv *converter, mappers []*columnMapper, comments bool) (*connect.Schema, error) {
	s := *cv.schema
	s.Params = append([]connect.Param(nil), cv.schema.Params...)
	for _, m := range mappers {
		switch m.kind {
		case "truncate":
			if s.Type == connect.String {
				s.Params = setParam(s.Params, "truncateLength", strconv.Itoa(m.n))
			}
		case "mask", "hash":
			s = connect.Schema{Type: connect.String}
		case "propagate":
			s.Params = setParam(s.Params, "__debezium.source.column.type", col.TypeName)
			if col.Length >= 0 {
				s.Params = setParam(s.Params, "__debezium.source.column.length", strconv.Itoa(col.Length))
			}
			if col.Scale != nil {
				s.Params = setParam(s.Params, "__debezium.source.column.scale", strconv.Itoa(*col.Scale))
			}
			s.Params = setParam(s.Params, "__debezium.source.column.name", col.Name)
		}
	}
	if col.Optional {
		s.Optional = true
	}
	if comments && col.Comment != nil {
		s.Doc = *col.Comment
	}
	if d, ok := cv.defaultValue(); ok {
		for _, m := range mappers {
			d = m.apply(d)
		}
		s.Default, s.HasDefault = d, true
	}
	b := connect.NewBuilder(s.Type)
	if s.Name != "" {
		b.Name(s.Name)
	}
	if s.Version != 0 {
		b.Version(s.Version)
	}
	if s.Doc != "" {
		b.Doc(s.Doc)
	}
	for _, p := range s.Params {
		b.Param(p.Key, p.Value)
	}
	for _, f := range s.Fields {
		b.Field(f.Name, f.Schema)
	}
	b.SetOptional(s.Optional)
	if s.HasDefault {
		b.Default(s.Default)
	}
	out, err := b.Build()
	if err != nil {
		return nil, err
	}
	// keep the converter's view of optionality in step
	if s.HasDefault {
		cvCopy := *cv
		cvCopy.schema = out
		*cv = cvCopy
	}
	return out, nil
}

func setParam(ps []connect.Param, k, v string) []connect.Param {
	for i := range ps {
		if ps[i].Key == k {
			ps[i].Value = v
			return ps
		}
	}
	return append(ps, connect.Param{Key: k, Value: v})
}

// convertFailed applies event.converting.failure.handling.mode to a value
// that could not be converted (TableSchemaBuilder's value generator): warn
// and skip give the field null, with a warning or a debug message. A key
// field, or a value field whose schema cannot be null, cannot take the
// null: that stays an error, as it ends Debezium's task too (its key
// generator does not catch, and the converter refuses the null).
func (ts *tableSchema) convertFailed(si int, sl *slot, err error) (any, error) {
	col := ts.table.Columns[sl.colIdx]
	err = fmt.Errorf("table %s column %q: %w", ts.table.ID, col.Name, err)
	isKey := false
	for _, ks := range ts.keySlots {
		isKey = isKey || ks == si
	}
	switch {
	case ts.convertingMode == "fail":
		return nil, err
	case isKey || !col.Optional:
		return nil, fmt.Errorf("%w (a key or NOT NULL column cannot be null)", err)
	case ts.convertingMode == "skip":
		if ts.log != nil {
			ts.log.Debug("failed to convert a column value; the field is null", "error", err)
		}
	default:
		if ts.log != nil {
			ts.log.Warn("failed to convert a column value; the field is null (event.converting.failure.handling.mode=warn)", "error", err)
		}
	}
	return nil, nil
}

// rowValue converts one row (values in table column order, as produced by
// get) into the value struct and the key struct.
func (ts *tableSchema) rowValue(get func(colIdx int, cv *converter) (any, error)) (key, value *connect.StructValue, err error) {
	value = connect.NewStruct(ts.valueS)
	if ts.keyS != nil {
		key = connect.NewStruct(ts.keyS)
	}
	vi := 0
	for si := range ts.slots {
		sl := &ts.slots[si]
		v, err := get(sl.colIdx, sl.conv)
		if err != nil {
			if v, err = ts.convertFailed(si, sl, err); err != nil {
				return nil, nil, err
			}
		}
		mv := sl.convert(v)
		if !strings.HasPrefix(sl.field, "\x00") {
			value.Values[vi] = mv
			vi++
		}
		for ki, ks := range ts.keySlots {
			if ks == si {
				key.Values[ki] = v
			}
		}
	}
	return key, value, nil
}
