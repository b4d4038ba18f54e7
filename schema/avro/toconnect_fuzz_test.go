package avro

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/schema/registry"
)

// fuzzSchemas are the writer schemas FuzzAvroToConnect decodes against,
// by registry id: the Debezium PostgreSQL all-types key and envelope and
// the tutorial's customers envelope (real registry texts), plus one that
// reaches the decoder paths those lack (enum, fixed, maps with
// non-string keys, nested arrays, a multi-branch union, int8/int16).
var fuzzSchemaFiles = map[int]string{
	1: "dbserver1.public.all_types-key.avsc",
	2: "dbserver1.public.all_types-value.avsc",
	3: filepath.Join("docs", "debezium-tutorial-customers-value.avsc"),
}

const fuzzEverythingSchema = `{"type":"record","name":"Everything","namespace":"fuzz","fields":[
 {"name":"b","type":"boolean"},
 {"name":"i8","type":{"type":"int","connect.type":"int8"}},
 {"name":"i16","type":{"type":"int","connect.type":"int16"}},
 {"name":"l","type":"long"},
 {"name":"f","type":"float"},
 {"name":"d","type":"double"},
 {"name":"s","type":"string"},
 {"name":"by","type":"bytes"},
 {"name":"fx","type":{"type":"fixed","name":"Four","size":4}},
 {"name":"dec","type":{"type":"fixed","name":"Dec","size":8,"logicalType":"decimal","precision":18,"scale":4}},
 {"name":"bdec","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":-2}},
 {"name":"e","type":{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}},
 {"name":"m","type":{"type":"map","values":["null","long"]}},
 {"name":"mk","type":{"type":"array","items":{"type":"record","name":"MapEntry","namespace":"io.confluent.connect.avro","fields":[{"name":"key","type":"int"},{"name":"value","type":"string"}]}}},
 {"name":"aa","type":{"type":"array","items":{"type":"array","items":"double"}}},
 {"name":"u","type":["null","string","long",{"type":"record","name":"Inner","fields":[{"name":"x","type":"int"}]}]},
 {"name":"date","type":{"type":"int","logicalType":"date"}},
 {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}},
 {"name":"opt","type":["null","Inner"],"default":null},
 {"name":"empties","type":{"type":"array","items":{"type":"record","name":"Empty","fields":[]}}}
]}`

// fuzzRegistry serves fixed schemas by id; subject "t<id>-value" has that
// schema as its latest version, so the converter re-encodes a value with
// the very writer schema it was read with (use.latest.version).
type fuzzRegistry struct{ byID map[int]string }

func (r *fuzzRegistry) Register(context.Context, string, string) (int, error) {
	return 0, fmt.Errorf("registration is disabled in the fuzz registry")
}

func (r *fuzzRegistry) Lookup(context.Context, string, string, bool) (registry.SubjectVersion, error) {
	return registry.SubjectVersion{}, fmt.Errorf("subject not found")
}

func (r *fuzzRegistry) SchemaByID(_ context.Context, id int) (string, error) {
	if s, ok := r.byID[id]; ok {
		return s, nil
	}
	return "", fmt.Errorf("schema %d not found", id)
}

func (r *fuzzRegistry) Version(_ context.Context, subject string, _ int) (registry.SubjectVersion, error) {
	var id int
	if _, err := fmt.Sscanf(subject, "t%d-value", &id); err != nil {
		return registry.SubjectVersion{}, fmt.Errorf("subject %s not found", subject)
	}
	s, err := r.SchemaByID(context.Background(), id)
	return registry.SubjectVersion{Subject: subject, Version: 1, ID: id, Schema: s}, err
}

func newFuzzConverter(t testing.TB) (*Converter, *fuzzRegistry) {
	reg := &fuzzRegistry{byID: map[int]string{4: fuzzEverythingSchema}}
	for id, name := range fuzzSchemaFiles {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "avro", name))
		if err != nil {
			t.Fatal(err)
		}
		reg.byID[id] = strings.TrimSpace(string(data))
	}
	cfg := Config{UseLatestVersion: true, KeyStrategy: TopicNameStrategy, ValueStrategy: TopicNameStrategy, Data: DefaultOptions()}
	return NewConverter(cfg, false, reg), reg
}

// FuzzAvroToConnect decodes arbitrary Confluent-framed bytes as a sink's
// AvroConverter does. Whatever decodes must encode again with the same
// writer schema (the decoder may not accept values the encoder refuses),
// decode back to the same value, and re-encoding that must reproduce the
// same bytes (the encoding of a decoded value is canonical).
func FuzzAvroToConnect(f *testing.F) {
	c, reg := newFuzzConverter(f)
	for id := range reg.byID {
		topic := fmt.Sprintf("t%d", id)
		r, err := c.reader(topic, id)
		if err != nil {
			f.Fatalf("schema %d: %v", id, err)
		}
		for _, full := range []bool{false, true} {
			v := sampleValue(r.cs, full, 0)
			data, err := c.FromConnect(topic, r.cs, v)
			if err != nil {
				f.Fatalf("schema %d: seed value: %v", id, err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte{0, 0, 0, 0, 4})
	f.Add([]byte{1, 0, 0, 0, 2, 0})
	// Schema 4 ends with an array of empty records, which take zero bytes
	// each: a block count of 2^62 must not make the decoder loop (and
	// allocate) 2^62 times.
	r, err := c.reader("t4", 4)
	if err != nil {
		f.Fatal(err)
	}
	sample, err := c.FromConnect("t4", r.cs, sampleValue(r.cs, true, 0))
	if err != nil {
		f.Fatal(err)
	}
	if !bytes.HasSuffix(sample, []byte{4, 0}) { // two empties, then the end of the array
		f.Fatalf("schema 4 sample does not end with its array of empty records: %x", sample)
	}
	f.Add(append(appendLong(bytes.Clone(sample[:len(sample)-2]), 1<<62), 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _ := newFuzzConverter(t)
		var topic string
		if len(data) >= HeaderLen {
			topic = fmt.Sprintf("t%d", uint32(data[1])<<24|uint32(data[2])<<16|uint32(data[3])<<8|uint32(data[4]))
		}
		s, v, err := c.ToConnect(topic, data)
		if err != nil {
			if !strings.Contains(err.Error(), "topic "+topic) {
				t.Fatalf("error does not name the topic: %v", err)
			}
			return
		}
		out, err := c.FromConnect(topic, s, v)
		if err != nil {
			t.Fatalf("decoded a value the encoder refuses: %v\nvalue %#v", err, v)
		}
		s2, v2, err := c.ToConnect(topic, out)
		if err != nil {
			t.Fatalf("cannot decode what the encoder wrote: %v\n%x", err, out)
		}
		if !ConnectEqual(s, s2) {
			t.Fatalf("schema changed in the round trip:\n%v\n%v", s, s2)
		}
		if !connect.SameValue(v, v2) {
			t.Fatalf("value changed in the round trip:\n%#v\n%#v", v, v2)
		}
		again, err := c.FromConnect(topic, s2, v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("encoding is not canonical:\n%x\n%x", out, again)
		}
	})
}

// sampleValue builds a value of s for seeding: every optional field null
// (full false) or set (full true).
func sampleValue(s *connect.Schema, full bool, depth int) any {
	if s.Optional && !full {
		return nil
	}
	switch s.Type {
	case connect.Struct:
		v := connect.NewStruct(s)
		if s.Name == UnionSchemaName {
			// A Connect union holds one member.
			if len(s.Fields) > 0 {
				f := s.Fields[depth%len(s.Fields)]
				v.Values[f.Index] = sampleValue(f.Schema, true, depth+1)
			}
			return v
		}
		for i, f := range s.Fields {
			v.Values[i] = sampleValue(f.Schema, full, depth+1)
		}
		return v
	case connect.Array:
		return []any{sampleValue(s.Value, full, depth+1), sampleValue(s.Value, true, depth+1)}
	case connect.Map:
		k := sampleValue(s.Key, true, depth+1)
		return connect.MapValue{{Key: k, Value: sampleValue(s.Value, full, depth+1)}}
	case connect.Int8:
		return int8(-7)
	case connect.Int16:
		return int16(1234)
	case connect.Int32:
		return int32(19000)
	case connect.Int64:
		return int64(1700000000123)
	case connect.Float32:
		return float32(1.5)
	case connect.Float64:
		return -2.25
	case connect.Boolean:
		return true
	case connect.String:
		if sym, ok := firstEnumSymbol(s); ok {
			return sym
		}
		return "héllo"
	case connect.Bytes:
		if s.Name == connect.DecimalName {
			sc := int32(0)
			if p, ok := s.Param(connect.DecimalScale); ok {
				fmt.Sscan(p, &sc)
			}
			return connect.Decimal{Unscaled: big.NewInt(-1234567), Scale: sc}
		}
		n := 3
		if p, ok := s.Param(FixedSizeParam); ok {
			fmt.Sscan(p, &n)
		}
		return bytes.Repeat([]byte{0xa5}, n)
	}
	return nil
}

func firstEnumSymbol(s *connect.Schema) (string, bool) {
	for _, p := range s.Params {
		if strings.HasPrefix(p.Key, EnumParam+".") {
			return p.Value, true
		}
	}
	return "", false
}
