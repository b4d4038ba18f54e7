package converter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkToConnect decodes the Debezium change events of the sink
// golden (every column type, keys and values) with a converter that has
// their schemas cached, as a sink task does: one op is one message.
func BenchmarkToConnect(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sink", "everything.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	var keys, values [][]byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		var rec struct{ Key, Value json.RawMessage }
		if json.Unmarshal(line, &rec) != nil {
			continue
		}
		if len(rec.Key) > 0 && rec.Key[0] == '{' {
			keys = append(keys, rec.Key)
		}
		if len(rec.Value) > 0 && rec.Value[0] == '{' {
			values = append(values, rec.Value)
		}
	}
	for _, c := range []struct {
		name string
		msgs [][]byte
	}{{"key", keys}, {"value", values}} {
		b.Run(c.name, func(b *testing.B) {
			j, err := NewJSON(nil)
			if err != nil {
				b.Fatal(err)
			}
			size := 0
			for _, m := range c.msgs {
				if _, _, err := j.ToConnect("t", m); err != nil {
					b.Fatal(err)
				}
				size += len(m)
			}
			b.SetBytes(int64(size / len(c.msgs)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, _, err := j.ToConnect("t", c.msgs[i%len(c.msgs)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
