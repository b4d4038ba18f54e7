package converter

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// FuzzToConnect feeds arbitrary bytes to the JsonConverter's ToConnect, as
// a sink does with whatever a topic holds, with schemas.enable on and off
// and both decimal formats. Beyond "no panic", whatever ToConnect accepts
// must survive a round trip: FromConnect writes it, ToConnect reads that
// back to the same schema and value, and writing again gives the same
// bytes. It also checks that the schema cache's fast path answers exactly
// as the general path does.
func FuzzToConnect(f *testing.F) {
	for _, seed := range jsonSeeds(f) {
		f.Add(seed, true, false)
	}
	f.Add([]byte(`{"a":1,"b":1.0,"c":[true,null,"x"],"d":{"e":-0.0}}`), false, false)
	f.Add([]byte(`{"schema":{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"-2"}},"payload":12.5e3}`), true, true)
	f.Add([]byte(`{"schema":{"type":"map","keys":{"type":"int32"},"values":{"type":"string","optional":true}},"payload":[[1,"a"],[2,null]]}`), true, false)
	f.Add([]byte(`{"schema":{"type":"struct","fields":[{"type":"int8","optional":false,"default":7,"field":"x"}]},"payload":{"x":null}}`), true, false)
	f.Fuzz(func(t *testing.T, data []byte, schemas, numeric bool) {
		props := map[string]string{"schemas.enable": strconv.FormatBool(schemas)}
		if numeric {
			props["decimal.format"] = "NUMERIC"
		}
		j, err := NewJSON(props)
		if err != nil {
			t.Fatal(err)
		}
		s, v, err := j.ToConnect("t", data)
		// The same message again takes the cached-schema path when the
		// first call parsed a schema; it must not change the answer.
		s1, v1, err1 := j.ToConnect("t", data)
		if (err == nil) != (err1 == nil) {
			t.Fatalf("cached path disagrees: first error %v, second %v", err, err1)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "topic t: ") {
				t.Fatalf("error does not name the topic: %v", err)
			}
			return
		}
		if !sameSchema(j, s, s1) || !connect.SameValue(v, v1) {
			t.Fatalf("cached path disagrees:\n%#v\n%#v", v, v1)
		}
		if !schemas && hasNonFinite(v) {
			// JSON has no spelling for an overflowing number (1e999 reads
			// as +Inf, as Jackson reads it); Java writes it as a string
			// too, so there is no round trip to check.
			return
		}
		out, err := j.FromConnect("t", s, v)
		if err != nil {
			t.Fatalf("ToConnect accepted what FromConnect cannot write: %v", err)
		}
		if out == nil {
			if v != nil {
				t.Fatalf("non-null value %#v written as a Kafka null", v)
			}
			return
		}
		s2, v2, err := j.ToConnect("t", out)
		if err != nil {
			t.Fatalf("cannot read back what FromConnect wrote: %v\n%s", err, out)
		}
		if !sameSchema(j, s, s2) {
			t.Fatalf("schema changed in the round trip:\n%s\n%s", j.SchemaJSON(s), j.SchemaJSON(s2))
		}
		if !connect.SameValue(v, v2) {
			t.Fatalf("value changed in the round trip:\n%#v\n%#v\nwritten as %s", v, v2, out)
		}
		again, err := j.FromConnect("t", s2, v2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("writing is not a fixpoint:\n%s\n%s", out, again)
		}
	})
}

// jsonSeeds returns the key and value envelopes of the repository's event
// goldens: real Debezium-shaped schemas with every logical type.
func jsonSeeds(f *testing.F) [][]byte {
	root := filepath.Join("..", "..", "testdata")
	var out [][]byte
	txts, _ := filepath.Glob(filepath.Join(root, "postgres", "*.txt"))
	for _, p := range txts {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			for _, prefix := range []string{"key: ", "value: "} {
				if rest, ok := strings.CutPrefix(line, prefix); ok && strings.HasPrefix(rest, "{") {
					out = append(out, []byte(rest))
				}
			}
		}
	}
	data, err := os.ReadFile(filepath.Join(root, "sink", "everything.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		var rec struct{ Key, Value json.RawMessage }
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		for _, raw := range []json.RawMessage{rec.Key, rec.Value} {
			if len(raw) > 0 && raw[0] == '{' {
				out = append(out, raw)
			}
		}
	}
	if len(out) == 0 {
		f.Fatal("no seeds found under testdata")
	}
	return out
}

func sameSchema(j *JSON, a, b *connect.Schema) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(j.SchemaJSON(a), j.SchemaJSON(b))
}

func hasNonFinite(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsInf(x, 0) || math.IsNaN(x)
	case []any:
		for _, e := range x {
			if hasNonFinite(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if hasNonFinite(e) {
				return true
			}
		}
	}
	return false
}
