package converter

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// bufferCases are values of two schemas (a large envelope and a small
// key) whose messages grow and shrink from one record to the next, so
// that the size of a schema's last message is sometimes too small.
func bufferCases() []struct {
	s *connect.Schema
	v any
} {
	env, _ := cacheTestSchema()
	row := env.Fields[0].Schema
	key := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int64)).MustBuild()
	var out []struct {
		s *connect.Schema
		v any
	}
	for i, n := range []int{0, 5, 300, 1, 4000, 20, 70000, 2, 64, 65, 1500, 0} {
		tags := make([]any, n%50)
		for t := range tags {
			tags[t] = fmt.Sprint("t", i, t)
		}
		after := connect.NewStruct(row).Set("id", int64(i)).Set("tags", tags).Set("note", strings.Repeat("é\"x", n))
		out = append(out, struct {
			s *connect.Schema
			v any
		}{env, connect.NewStruct(env).Set("after", after).Set("op", "u")},
			struct {
				s *connect.Schema
				v any
			}{key, connect.NewStruct(key).Set("id", int64(i*1000003))})
	}
	// A tombstone and a schemaless value.
	out = append(out, struct {
		s *connect.Schema
		v any
	}{env, nil}, struct {
		s *connect.Schema
		v any
	}{nil, map[string]any{"a": int64(1), "b": []any{"x"}}})
	return out
}

// FromConnectBuffer writes exactly what FromConnect writes, for every
// setting, while buffers are released and reused in between; a buffer
// not yet released is never written to by a later conversion.
func TestFromConnectBufferMatchesFromConnect(t *testing.T) {
	cases := bufferCases()
	for _, props := range []map[string]string{nil, {"schemas.enable": "false"}, {"decimal.format": "NUMERIC"}, {"schemas.cache.size": "1"}, {"schemas.cache.size": "0"}} {
		pooled, err := NewJSON(props)
		if err != nil {
			t.Fatal(err)
		}
		plain := &JSON{SchemasEnabled: pooled.SchemasEnabled, DecimalNumeric: pooled.DecimalNumeric}
		var held []*Buffer
		var heldWant [][]byte
		for round := range 4 {
			for i, c := range cases {
				want, werr := plain.FromConnect("t", c.s, c.v)
				b, err := pooled.FromConnectBuffer("t", c.s, c.v)
				if fmt.Sprint(err) != fmt.Sprint(werr) {
					t.Fatalf("props %v case %d: error %v, want %v", props, i, err, werr)
				}
				if want == nil {
					if b != nil {
						t.Fatalf("props %v case %d: a buffer of %q for a null message", props, i, b.Bytes())
					}
					continue
				}
				if !bytes.Equal(b.Bytes(), want) {
					t.Fatalf("props %v round %d case %d:\n got %s\nwant %s", props, round, i, b.Bytes(), want)
				}
				if (i+round)%3 == 0 {
					held, heldWant = append(held, b), append(heldWant, want)
				} else {
					b.Release()
				}
			}
		}
		for i, b := range held {
			if !bytes.Equal(b.Bytes(), heldWant[i]) {
				t.Fatalf("props %v: a buffer not released was overwritten:\n got %s\nwant %s", props, b.Bytes(), heldWant[i])
			}
			b.Release()
		}
	}
}

// Concurrent conversions and releases never share a buffer (run with
// -race: a buffer handed out twice is written by two goroutines).
func TestFromConnectBufferConcurrent(t *testing.T) {
	cases := bufferCases()
	j, err := NewJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	plain := &JSON{SchemasEnabled: true}
	want := make([][]byte, len(cases))
	wantErr := make([]string, len(cases))
	for i, c := range cases {
		var err error
		want[i], err = plain.FromConnect("t", c.s, c.v)
		wantErr[i] = fmt.Sprint(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for n := range 200 {
				i := (n*7 + g) % len(cases)
				b, err := j.FromConnectBuffer("t", cases[i].s, cases[i].v)
				if fmt.Sprint(err) != wantErr[i] || (b == nil) != (want[i] == nil) || b != nil && !bytes.Equal(b.Bytes(), want[i]) {
					errs <- fmt.Sprintf("case %d: %v", i, err)
					return
				}
				if b != nil {
					b.Release()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// The pool hands out buffers with room for the size asked, keeps what it
// is given in the class its capacity covers, and keeps nothing above the
// largest class.
func TestBufferPoolClasses(t *testing.T) {
	var p bufferPool
	for _, size := range []int{0, 1, 63, 64, 65, 1000, 4096, 4097, 1 << 20, 1<<20 + 1, 3 << 20} {
		b := p.get(size)
		if b.buf.Cap() < size || b.buf.Len() != 0 {
			t.Errorf("get(%d): cap %d len %d", size, b.buf.Cap(), b.buf.Len())
		}
		b.buf.Write(make([]byte, size))
		b.Release()
	}
	big := p.get(2 << 20)
	big.buf.Write(make([]byte, 10))
	big.Release()
	for range 3 {
		if b := p.get(1 << 20); b == big {
			t.Error("a buffer above the largest class was kept")
		}
	}
}

// BenchmarkFromConnectEnvelope is the JsonConverter's work per change
// event: key and value of a Debezium-like envelope, each with FromConnect
// (a new buffer per message) and with FromConnectBuffer (released once
// used, as the producer releases it once the broker has it).
func BenchmarkFromConnectEnvelope(b *testing.B) {
	env, v := cacheTestSchema()
	key := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int64)).MustBuild()
	kv := connect.NewStruct(key).Set("id", int64(12345))
	row := env.Fields[0].Schema
	v.Set("before", connect.NewStruct(row).Set("id", int64(7)).Set("note", strings.Repeat("n", 160)))
	kc, _ := NewJSON(nil)
	vc, _ := NewJSON(nil)
	b.Run("FromConnect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := kc.FromConnect("t", key, kv); err != nil {
				b.Fatal(err)
			}
			if _, err := vc.FromConnect("t", env, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("FromConnectBuffer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			kb, err := kc.FromConnectBuffer("t", key, kv)
			if err != nil {
				b.Fatal(err)
			}
			vb, err := vc.FromConnectBuffer("t", env, v)
			if err != nil {
				b.Fatal(err)
			}
			kb.Release()
			vb.Release()
		}
	})
}
