package mysql

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testbus"
)

func TestHistoryStoreSettings(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		props map[string]string
		want  string // "" = accepted
	}{
		{"file", map[string]string{"schema.history.internal": fileHistoryClass, "schema.history.internal.kafka.topic": "",
			"schema.history.internal.file.filename": filepath.Join(dir, "h.dat")}, ""},
		{"redis", map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": "",
			"schema.history.internal.redis.address": "127.0.0.1:6379"}, ""},
		{"redis old class name", map[string]string{"schema.history.internal": redisHistoryClassOld, "schema.history.internal.kafka.topic": "",
			"schema.history.internal.redis.address": "127.0.0.1:6379"}, ""},
		{"file without filename", map[string]string{"schema.history.internal": fileHistoryClass, "schema.history.internal.kafka.topic": ""},
			"schema.history.internal.file.filename: missing required property"},
		{"redis without address", map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": ""},
			"schema.history.internal.redis.address: missing required property"},
		{"kafka without topic", map[string]string{"schema.history.internal.kafka.topic": ""},
			"schema.history.internal.kafka.topic: missing required property"},
		{"kafka topic with file history", map[string]string{"schema.history.internal": fileHistoryClass,
			"schema.history.internal.file.filename": filepath.Join(dir, "h.dat")},
			"schema.history.internal.kafka.topic: not used: it configures " + kafkaHistoryClass},
		{"redis property with kafka history", map[string]string{"schema.history.internal.redis.key": "k"},
			"schema.history.internal.redis.key: not used"},
		{"memory history", map[string]string{"schema.history.internal": "io.debezium.relational.history.MemorySchemaHistory"},
			"MemorySchemaHistory loses the history when the task stops"},
		{"unknown class", map[string]string{"schema.history.internal": "com.example.JdbcSchemaHistory"}, "not supported"},
		{"redis wait", map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": "",
			"schema.history.internal.redis.address": "h:1", "schema.history.internal.redis.wait.enabled": "true"}, "WAIT"},
		{"unknown redis property", map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": "",
			"schema.history.internal.redis.address": "h:1", "schema.history.internal.redis.cluster.mode": "x"}, "not a property of the schema history stores"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := parseProps(t, mariadbFlavor, c.props)
			if err == nil {
				err = refuseUnimplementedProps(t, c.props)
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			case c.want == "" && s.historyClass == redisHistoryClassOld:
				t.Fatal("the old Redis class name is kept")
			}
		})
	}
}

// refuseUnimplementedProps runs the prefix refusals a task runs.
func refuseUnimplementedProps(t *testing.T, props map[string]string) error {
	t.Helper()
	all := map[string]string{"connector.class": mariadbFlavor.class, "topic.prefix": "x", "database.hostname": "h", "database.user": "u"}
	for k, v := range props {
		all[k] = v
	}
	p := MariaDBPlugin()
	v, err := runtime.ConnectorDef(p.Type).Merge(p.Config()).Parse(all)
	if err != nil {
		return err
	}
	return refuseUnimplemented(v)
}

// The file store keeps one record per line (FileSchemaHistory's format),
// reads them back in order, skips empty lines, and drops a last line a
// crash cut off.
func TestFileHistory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "history.dat")
	f := &fileHistory{path: path, log: slog.New(slog.DiscardHandler)}
	if err := f.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	recs := []string{`{"a":1}`, `{"ddl":"CREATE TABLE t (\n id INT)"}`, `{"a":3}`}
	for _, r := range recs {
		if err := f.append(ctx, []byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.append(ctx, []byte("{\n}")); err == nil {
		t.Fatal("a record with a newline was written")
	}
	raw, _ := os.ReadFile(path)
	if want := strings.Join(recs, "\n") + "\n"; string(raw) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", raw, want)
	}
	// an empty line, then a record cut by a crash
	fh, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString("\n{\"a\":4")
	fh.Close()
	got, err := f.entries(ctx)
	if err != nil || len(got) != 3 || got[2].where != "line 3" || string(got[1].value) != recs[1] {
		t.Fatalf("entries before ensure: %v %q", err, got)
	}
	if err := f.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.append(ctx, []byte(`{"a":5}`)); err != nil {
		t.Fatal(err)
	}
	got, err = f.entries(ctx)
	if err != nil || len(got) != 4 || string(got[3].value) != `{"a":5}` || got[3].where != "line 5" {
		t.Fatalf("entries after ensure: %v %q", err, got)
	}
}

// The Redis store appends stream entries with the field schema
// (RedisSchemaHistory's format), reads them back in order, waits for a
// server that is down and refuses a key of another type.
func TestRedisHistory(t *testing.T) {
	ctx := context.Background()
	rs := testbus.StartRedis(t, "secret")
	v, err := parseProps(t, mariadbFlavor, map[string]string{"schema.history.internal": redisHistoryClass, "schema.history.internal.kafka.topic": "",
		"schema.history.internal.redis.address": rs.Addr(), "schema.history.internal.redis.password": "secret",
		"schema.history.internal.redis.retry.initial.delay.ms": "50", "schema.history.internal.redis.retry.max.delay.ms": "200"})
	if err != nil {
		t.Fatal(err)
	}
	r := openRedisHistory(v.historyRedis, slog.New(slog.DiscardHandler))
	defer r.close()
	if err := r.ensure(ctx); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []string{`{"a":1}`, `{"a":2}`} {
		if err := r.append(ctx, []byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	rs.Stop()
	done := make(chan error, 1)
	go func() { done <- r.append(ctx, []byte(`{"a":3}`)) }()
	select {
	case err := <-done:
		t.Fatalf("append returned while Redis was down: %v", err)
	case <-time.After(time.Second):
	}
	rs.Start()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := r.entries(ctx)
	if err != nil || len(got) != 3 || string(got[0].value) != `{"a":1}` || string(got[2].value) != `{"a":3}` {
		t.Fatalf("entries: %v %q", err, got)
	}
	c := goredis.NewClient(&goredis.Options{Addr: rs.Addr(), Password: "secret", DisableIdentity: true})
	defer c.Close()
	if n, _ := c.XLen(ctx, "metadata:debezium:schema_history").Result(); n != 3 {
		t.Fatalf("stream metadata:debezium:schema_history has %d entries, want 3", n)
	}
	c.Set(ctx, "str", "x", 0)
	r2 := &redisHistory{c: r.c, key: "str", log: r.log, retryFirst: r.retryFirst, retryMx: r.retryMx}
	if err := r2.ensure(ctx); err == nil || !strings.Contains(err.Error(), "not a stream") {
		t.Fatalf("a string key: %v", err)
	}
	bad := &redisHistory{c: goredis.NewClient(&goredis.Options{Addr: rs.Addr(), Password: "wrong"}), key: "k", log: r.log, retryFirst: r.retryFirst, retryMx: r.retryMx}
	defer bad.close()
	if err := bad.ensure(ctx); err == nil || !strings.Contains(err.Error(), "schema.history.internal.redis.address, .user, .password") {
		t.Fatalf("wrong password: %v", err)
	}
}
