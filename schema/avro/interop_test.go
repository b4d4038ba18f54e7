package avro_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/schema/avro"
)

const systemPython = "/usr/bin/python3"

// TestConfluentPythonConsumerReadsOurRecords encodes Debezium events with
// the converter, registers their schemas in the built-in registry,
// produces them to the embedded broker, and has confluent-kafka-python
// (Debian's python3-confluent-kafka with python3-avro) consume and decode
// them against the same registry. kcat reads the raw bytes back to check
// they are exactly what the converter produced.
func TestConfluentPythonConsumerReadsOurRecords(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_PYTHON") == "1" {
		t.Skip("TRIBUTARY_SKIP_PYTHON=1")
	}
	if _, err := os.Stat(systemPython); err != nil {
		t.Fatalf("%s not found; install python3, python3-confluent-kafka, python3-requests and python3-avro, or set TRIBUTARY_SKIP_PYTHON=1", systemPython)
	}
	probe := exec.Command(systemPython, "-c", "import confluent_kafka.avro, avro.io, requests")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import confluent_kafka.avro, avro and requests (apt-get install -y python3-confluent-kafka python3-avro python3-requests), "+
			"or set TRIBUTARY_SKIP_PYTHON=1: %v\n%s", systemPython, err, out)
	}
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat not found (apt-get install -y kcat), or set TRIBUTARY_SKIP_PYTHON=1")
	}

	reg := newCountingRegistry(t)
	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	sc, err := kafka.ClientConfig{Brokers: emb.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(emb.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const topic = "dbserver1.public.all_types"
	const n = 5
	fx := newPGFixture()
	keyConv := newConverter(t, reg.URL, true, nil)
	valConv := newConverter(t, reg.URL, false, nil)
	var sent [][2][]byte
	for i := 1; i <= n; i++ {
		k, v := fx.sampleEvent(i)
		if i == 3 {
			// A row with every optional column null.
			row := v.Get("after").(*connect.StructValue)
			for j, f := range row.Schema.Fields {
				if f.Schema.Optional {
					row.Values[j] = nil
				}
			}
		}
		kb, err := keyConv.FromConnect(topic, fx.key, k)
		if err != nil {
			t.Fatal(err)
		}
		vb, err := valConv.FromConnect(topic, fx.envelope, v)
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.ProduceSync(ctx, topic, kb, vb); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, [2][]byte{kb, vb})
	}

	// kcat: the bytes on the topic are exactly the converter's.
	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", strings.Join(emb.Addrs(), ","), "-t", topic,
		"-e", "-o", "beginning", "-q", "-f", "%K %S %k%s").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	for i, rec := range sent {
		var klen, vlen int
		if _, err := fmt.Sscanf(string(out), "%d %d ", &klen, &vlen); err != nil {
			t.Fatalf("kcat record %d: %v in %q", i, err, out)
		}
		hdr := fmt.Sprintf("%d %d ", klen, vlen)
		out = out[len(hdr):]
		if !bytes.Equal(out[:klen], rec[0]) || !bytes.Equal(out[klen:klen+vlen], rec[1]) {
			t.Fatalf("kcat record %d differs from what was produced", i)
		}
		if out[0] != 0 || out[klen] != 0 {
			t.Fatalf("record %d lacks the magic byte", i)
		}
		out = out[klen+vlen:]
	}

	cmd := exec.CommandContext(ctx, systemPython, "../../testdata/avro/consume.py",
		strings.Join(emb.Addrs(), ","), reg.URL, topic, strconv.Itoa(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	pyOut, err := cmd.Output()
	if err != nil {
		t.Fatalf("consume.py: %v\n%s", err, stderr.String())
	}
	sc2 := bufio.NewScanner(bytes.NewReader(pyOut))
	sc2.Buffer(nil, 1<<20)
	i := 0
	for sc2.Scan() {
		d := json.NewDecoder(bytes.NewReader(sc2.Bytes()))
		d.UseNumber()
		var got map[string]any
		if err := d.Decode(&got); err != nil {
			t.Fatalf("python line %q: %v", sc2.Text(), err)
		}
		kid, _, _ := avro.SplitFrame(sent[i][0])
		vid, _, _ := avro.SplitFrame(sent[i][1])
		if got["key_id"].(json.Number).String() != strconv.Itoa(kid) || got["value_id"].(json.Number).String() != strconv.Itoa(vid) {
			t.Errorf("record %d: python saw ids %v/%v, want %d/%d", i, got["key_id"], got["value_id"], kid, vid)
		}
		k, v := fx.sampleEvent(i + 1)
		if i == 2 {
			row := v.Get("after").(*connect.StructValue)
			for j, f := range row.Schema.Fields {
				if f.Schema.Optional {
					row.Values[j] = nil
				}
			}
		}
		compareTree(t, fmt.Sprintf("record %d key", i), pythonView(fx.key, k), got["key"])
		compareTree(t, fmt.Sprintf("record %d value", i), pythonView(fx.envelope, v), got["value"])
		i++
	}
	if i != n {
		t.Fatalf("python printed %d records, want %d; stderr:\n%s", i, n, stderr.String())
	}
}

// pythonView is how python3-avro decodes a value the converter wrote:
// records as dicts, logical types as Decimal/date/time/datetime (tagged by
// consume.py), bytes base64-tagged, a field's null read back as null or,
// for Struct.get semantics, as the field default the converter wrote.
func pythonView(s *connect.Schema, v any) any {
	if v == nil {
		if s.HasDefault {
			v = s.Default
		} else {
			return nil
		}
	}
	switch s.Name {
	case connect.DecimalName:
		return map[string]any{"decimal": v.(connect.Decimal).String()}
	case connect.DateName:
		return map[string]any{"date": time.Unix(int64(v.(int32))*86400, 0).UTC().Format("2006-01-02")}
	case connect.TimeName:
		d := time.Duration(v.(int32)) * time.Millisecond
		t := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
		if t.Nanosecond() == 0 {
			return map[string]any{"time": t.Format("15:04:05")}
		}
		return map[string]any{"time": t.Format("15:04:05.000000")}
	case connect.TimestampName:
		t := time.UnixMilli(v.(int64)).UTC()
		if t.Nanosecond() == 0 {
			return map[string]any{"timestamp": t.Format("2006-01-02T15:04:05+00:00")}
		}
		return map[string]any{"timestamp": t.Format("2006-01-02T15:04:05.000000+00:00")}
	}
	switch s.Type {
	case connect.Struct:
		sv := v.(*connect.StructValue)
		out := map[string]any{}
		for i, f := range s.Fields {
			out[f.Name] = pythonView(f.Schema, sv.Values[i])
		}
		return out
	case connect.Array:
		var out []any
		for _, e := range v.([]any) {
			out = append(out, pythonView(s.Value, e))
		}
		return out
	case connect.Map:
		out := map[string]any{}
		for _, e := range v.(connect.MapValue) {
			out[e.Key.(string)] = pythonView(s.Value, e.Value)
		}
		return out
	case connect.Bytes:
		return map[string]any{"bytes": base64.StdEncoding.EncodeToString(v.([]byte))}
	case connect.Float32:
		return float64(v.(float32))
	}
	return v
}

func compareTree(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case nil:
		if got != nil {
			t.Errorf("%s: got %v, want null", path, got)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for k := range w {
			compareTree(t, path+"."+k, w[k], g[k])
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			compareTree(t, fmt.Sprintf("%s[%d]", path, i), w[i], g[i])
		}
	case float64:
		g, ok := got.(json.Number)
		f, err := g.Float64()
		if !ok || err != nil || f != w {
			t.Errorf("%s: got %v, want %v", path, got, w)
		}
	case int8, int16, int32, int64:
		g, ok := got.(json.Number)
		if !ok || g.String() != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", path, got, w)
		}
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v (%T), want %v (%T)", path, got, got, want, want)
		}
	}
}
