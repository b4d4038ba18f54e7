package signal

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect/config"
)

// Reference bytes are what Java's ObjectOutputStream writes (the class
// descriptors and serialVersionUIDs are fixed by the JDK).
const (
	javaObjectArrayHeader = "aced0005757200135b4c6a6176612e6c616e672e4f626a6563743b90ce589f1073296c0200007870"
	javaInteger           = "737200116a6176612e6c616e672e496e746567657212e2a0a4f781873802000149000576616c7565787200106a6176612e6c616e672e4e756d62657286ac951d0b94e08b0200007870"
)

func TestEncodeKeyMatchesJava(t *testing.T) {
	tests := []struct {
		name string
		key  []any
		want string
	}{
		{"null", nil, "aced000570"},
		{"one Integer", []any{int32(3)}, javaObjectArrayHeader + "00000001" + javaInteger + "00000003"},
		// The second Integer refers back to the class descriptor (handle
		// 0x7e0002: the array's class, the array, then Integer).
		{"two Integers", []any{int32(1), int32(2)}, javaObjectArrayHeader + "00000002" + javaInteger + "00000001" + "7371007e0002" + "00000002"},
		{"String", []any{"ab"}, javaObjectArrayHeader + "00000001" + "7400026162"},
		{"null element", []any{nil}, javaObjectArrayHeader + "00000001" + "70"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeKey(tt.key)
			if got != tt.want {
				t.Fatalf("EncodeKey(%v)\n got %s\nwant %s", tt.key, got, tt.want)
			}
		})
	}
}

func TestKeyRoundTrip(t *testing.T) {
	u, _ := ParseUUID("123e4567-e89b-12d3-a456-426614174000")
	keys := [][]any{
		nil,
		{},
		{int32(-5)},
		{int64(1) << 40, "x\x00y", int32(7), int32(8), int64(-1)},
		{u, u, "héllo 😀", nil},
		{int16(12), strings.Repeat("z", 70000)},
	}
	for _, k := range keys {
		got, err := DecodeKey(EncodeKey(k))
		if err != nil {
			t.Fatalf("DecodeKey(EncodeKey(%v)): %v", k, err)
		}
		if !reflect.DeepEqual(got, k) && !(len(got) == 0 && len(k) == 0) {
			t.Fatalf("round trip of %v gave %v", k, got)
		}
	}
}

func TestDecodeKeyRejects(t *testing.T) {
	// java.math.BigDecimal has object fields: unsupported, not misread.
	bigDecimal := javaObjectArrayHeader + "00000001" + "737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b"
	for _, s := range []string{bigDecimal, "zz", "aced0005", "0000"} {
		if _, err := DecodeKey(s); err == nil {
			t.Fatalf("DecodeKey(%s) succeeded", s)
		}
	}
	if _, err := DecodeKey(bigDecimal); !errors.Is(err, ErrUnsupportedKey) {
		t.Fatalf("BigDecimal: %v, want ErrUnsupportedKey", err)
	}
}

func TestParseExecuteSnapshot(t *testing.T) {
	tests := []struct {
		data    string
		want    *SnapshotRequest
		wantErr string
	}{
		{`{"data-collections": ["public.a", "public.b"]}`, &SnapshotRequest{Kind: KindIncremental, DataCollections: []string{"public.a", "public.b"}}, ""},
		{`{"data-collections": ["public.a"], "type": "BLOCKING"}`, &SnapshotRequest{Kind: KindBlocking, DataCollections: []string{"public.a"}}, ""},
		{`{"data-collections": ["public.a"], "type": "INCREMENTAL", "surrogate-key": "k"}`, &SnapshotRequest{Kind: KindIncremental, DataCollections: []string{"public.a"}, SurrogateKey: "k"}, ""},
		{`{"data-collections": []}`, nil, "missing or empty"},
		{`{}`, nil, "missing or empty"},
		{`{"data-collections": [1]}`, nil, "non-string"},
		{`{"data-collections": ["a"], "type": "sometimes"}`, nil, "neither incremental nor blocking"},
		{`{"data-collections": ["a("]}`, nil, "invalid regular expression"},
		{`{"data-collections": ["a"], "additional-condition": "x=1"}`, nil, "no longer supported"},
		{`{"data-collections": ["a"], "additional-conditions": [{"filter": "x=1"}]}`, nil, "data-collection"},
		{`not json`, nil, "not a JSON object"},
	}
	for _, tt := range tests {
		got, err := ParseExecuteSnapshot(tt.data)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.data, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.data, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.data, got, tt.want)
		}
	}
	req, err := ParseExecuteSnapshot(`{"data-collections": ["public.a"], "additional-conditions": [{"data-collection": "PUBLIC.A", "filter": "color='blue'"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if f := req.FilterFor("public.a"); f != "color='blue'" {
		t.Fatalf("FilterFor = %q (conditions match case-insensitively, as Debezium compiles them)", f)
	}
	if f := req.FilterFor("public.b"); f != "" {
		t.Fatalf("FilterFor(public.b) = %q", f)
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Record
		wantErr bool
	}{
		{`{"id":"1","type":"log","data":{"message":"hi"}}`, Record{ID: "1", Type: "log", Data: `{"message":"hi"}`, Channel: "file"}, false},
		{`{"type":"pause-snapshot"}`, Record{Type: "pause-snapshot", Channel: "file"}, false},
		{`{"id":"2"}`, Record{ID: "2", Channel: "file"}, true},
		{`{"id":"3","type":"log","data":"x"}`, Record{ID: "3", Type: "log", Channel: "file"}, true},
		{`[1]`, Record{Channel: "file"}, true},
	}
	for _, tt := range tests {
		got, err := ParseJSON([]byte(tt.in), "file")
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseJSON(%s) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMatchCollections(t *testing.T) {
	tables := []string{"public.a", "public.ab", "s.c"}
	got := MatchCollections([]string{"public\\.a.*", "s.c", "public.a", "public.missing"}, tables)
	want := []string{"public.a", "public.ab", "s.c", "public.missing"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func parse(t *testing.T, props map[string]string) (*Config, error) {
	t.Helper()
	d := config.NewDef()
	Define(d)
	d.AllowPrefix("signal.", "incremental.snapshot.", "notification.", "driver.")
	v, err := d.Parse(props)
	if err != nil {
		return nil, err
	}
	return Parse(v, "srv")
}

func TestConfig(t *testing.T) {
	c, err := parse(t, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled(ChannelSource) || c.ChunkSize != 1024 || c.KafkaTopic != "srv-signal" || c.SourceSignals() || c.Watermarking != InsertInsert {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = parse(t, map[string]string{"signal.enabled.channels": "source,kafka,file", "signal.data.collection": "public.sig",
		"signal.kafka.bootstrap.servers": "k:9092", "signal.consumer.security.protocol": "SSL", "signal.file": "/tmp/s"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.SourceSignals() || c.KafkaProps["security.protocol"] != "SSL" || c.File != "/tmp/s" {
		t.Fatalf("%+v", c)
	}
	rejects := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"driver.ssl": "true"}, "driver.ssl: not supported because Tributary does not use a JDBC driver"},
		{map[string]string{"notification.enabled.channels": "sink"}, "notification.enabled.channels: not supported because"},
		{map[string]string{"notification.sink.topic.name": "n"}, "notification.sink.topic.name: not supported"},
		{map[string]string{"incremental.snapshot.allow.schema.changes": "true"}, "incremental.snapshot.allow.schema.changes: true not supported"},
		{map[string]string{"incremental.snapshot.option.recompile": "true"}, "SQL Server"},
		{map[string]string{"signal.enabled.channels": "jmx"}, "jmx not supported"},
		{map[string]string{"signal.enabled.channels": "kafka"}, "signal.kafka.bootstrap.servers: required"},
		{map[string]string{"signal.kafka.topic": "x"}, "signal.kafka.topic: has no effect"},
		{map[string]string{"signal.file": "x"}, "signal.file: has no effect"},
		{map[string]string{"signal.enabled.channels": "kafka", "signal.kafka.bootstrap.servers": "k", "signal.consumer.fetch.min.bytes": "1"}, "signal.consumer.fetch.min.bytes: not supported"},
		{map[string]string{"signal.data.collection": "sig"}, "two parts"},
		{map[string]string{"signal.data.collection": "a.b,c.d"}, "one signal table"},
		{map[string]string{"signal.whatever": "1"}, "signal.whatever: not supported"},
	}
	for _, r := range rejects {
		_, err := parse(t, r.props)
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%v: error %v, want %q", r.props, err, r.want)
		}
	}
}

func TestIncrementalStoreLoad(t *testing.T) {
	c := NewIncremental()
	m := map[string]any{}
	c.Store(m)
	if len(m) != 0 {
		t.Fatalf("idle context stored %v", m)
	}
	req := &SnapshotRequest{Conditions: []Condition{{Pattern: regexp.MustCompile("^public.a$"), Filter: "x > 1"}}, SurrogateKey: ""}
	c.Add("sig-1", []string{"public.a", "public.b"}, req)
	c.Add("sig-2", []string{"public.b", "public.c"}, &SnapshotRequest{})
	c.SetMaximumKey([]any{int64(99)})
	c.Sent([]any{int64(42)})
	c.Store(m)
	want := `[{"incremental_snapshot_collections_id":"public.a","incremental_snapshot_collections_additional_condition":"(x > 1)","incremental_snapshot_collections_surrogate_key":null,"incremental_snapshot_collections_correlation_id":"sig-1"},` +
		`{"incremental_snapshot_collections_id":"public.b","incremental_snapshot_collections_additional_condition":null,"incremental_snapshot_collections_surrogate_key":null,"incremental_snapshot_collections_correlation_id":"sig-1"},` +
		`{"incremental_snapshot_collections_id":"public.c","incremental_snapshot_collections_additional_condition":null,"incremental_snapshot_collections_surrogate_key":null,"incremental_snapshot_collections_correlation_id":"sig-2"}]`
	if m[KeyCollections] != want {
		t.Fatalf("collections\n got %v\nwant %v", m[KeyCollections], want)
	}
	if m[KeyCorrelationID] != "sig-2" {
		t.Fatalf("correlation id %v", m[KeyCorrelationID])
	}
	l, err := LoadIncremental(m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(l.ChunkEnd(), []any{int64(42)}) || !reflect.DeepEqual(l.MaximumKey(), []any{int64(99)}) || len(l.Collections()) != 3 {
		t.Fatalf("loaded %v", l)
	}
	m2 := map[string]any{}
	l.Store(m2)
	if m2[KeyCollections] != want {
		t.Fatalf("condition wrapped again on reload:\n%v", m2[KeyCollections])
	}
	m2[KeyPrimaryKey] = javaObjectArrayHeader + "00000001" + "737200146a6176612e6d6174682e426967446563696d616c54c71557f981284f0300024900057363616c654c0006696e7456616c7400164c6a6176612f6d6174682f426967496e74656765723b"
	l, err = LoadIncremental(m2)
	if !errors.Is(err, ErrKeyUnreadable) || l == nil || l.ChunkEnd() != nil || len(l.Collections()) != 3 {
		t.Fatalf("unreadable key: %v, %v", l, err)
	}
	l.Next()
	l.Next()
	l.Next()
	m3 := map[string]any{}
	l.Store(m3)
	if len(m3) != 0 {
		t.Fatalf("finished context stored %v", m3)
	}
}

func TestFileReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signals.txt")
	r := &FileReader{Path: path, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	recs, err := r.Read(context.Background())
	if err != nil || recs != nil {
		t.Fatalf("missing file: %v, %v", recs, err)
	}
	content := `{"id":"a","type":"log","data":{"message":"one"}}

not json
{"id":"b","type":"pause-snapshot"}
`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err = r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "a" || recs[1].Type != "pause-snapshot" {
		t.Fatalf("read %+v", recs)
	}
	if b, _ := os.ReadFile(path); len(b) != 0 {
		t.Fatalf("file not emptied: %q", b)
	}
	if recs, _ = r.Read(context.Background()); len(recs) != 0 {
		t.Fatalf("signals read twice: %+v", recs)
	}
}

func TestFormatLog(t *testing.T) {
	got := FormatLog("at {} and {}", map[string]any{"lsn": int64(5), "txId": nil, "a": true})
	if got != "at {a=true, lsn=5, txId=null} and {}" {
		t.Fatalf("FormatLog = %q", got)
	}
	if got := FormatLog("plain", nil); got != "plain" {
		t.Fatalf("FormatLog = %q", got)
	}
}
