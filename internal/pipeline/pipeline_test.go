package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gonats "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/bus"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/pipeline"
	"github.com/tributary-io/tributary/internal/testbus"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/internal/transforms"
	natssink "github.com/tributary-io/tributary/sinks/nats"
	redissink "github.com/tributary-io/tributary/sinks/redis"
	"github.com/tributary-io/tributary/sinks/webhook"
)

func runner() *pipeline.Runner {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return &pipeline.Runner{
		Plugins:    connect.Plugins{postgres.Plugin(), mysql.MariaDBPlugin(), natssink.Plugin(), webhook.Plugin(), redissink.Plugin()},
		Converters: &converter.Factory{}, Transforms: transforms.Builtin(log), Logger: log,
		Sinks: map[string]pipeline.SinkFactory{
			natssink.Class: {Def: natssink.Def, Offsets: "nats",
				New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
					return natssink.NewPublisher(ctx, v, log)
				}},
			webhook.Class: {Def: webhook.Def,
				New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
					return webhook.NewPublisher(ctx, v, log)
				}},
			redissink.Class: {Def: redissink.Def, Offsets: "redis",
				New: func(ctx context.Context, v *config.Values, log *slog.Logger) (bus.Publisher, error) {
					return redissink.NewPublisher(ctx, v, log)
				}},
		},
	}
}

const crashEnv = "TRIBUTARY_PIPELINE_CRASH_CHILD"

// TestCrashChild runs the pipeline file named by the parent until killed.
func TestCrashChild(t *testing.T) {
	var path string
	crashtest.ChildConfig(t, crashEnv, &path)
	f, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner().Run(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// pgEvent is a Debezium change event as the JsonConverter writes it
// without schemas.
type pgEvent struct {
	Op    string `json:"op"`
	After *struct {
		ID int64  `json:"id"`
		V  string `json:"v"`
	} `json:"after"`
}

// bus is a pipeline sink under test: its sink: section and how to read
// back what it received.
type busCase struct {
	name string
	// exact: the bus stores a replayed event once (JetStream's duplicate
	// window); otherwise replays are duplicates (at-least-once).
	exact bool
	setup func(t *testing.T) (sink map[string]any, read func() [][]byte, outage func(down bool))
}

func busCases() []busCase {
	return []busCase{
		{name: "jetstream", exact: true, setup: func(t *testing.T) (map[string]any, func() [][]byte, func(bool)) {
			ns := testbus.StartNATS(t, testbus.NATSOptions{})
			return map[string]any{"connector.class": "nats-jetstream-sink", "nats.url": ns.URL(), "nats.subject": "cdc.${topic}",
					"nats.stream.create": "true", "nats.stream.name": "CDC", "offset.storage": "nats"},
				func() [][]byte {
					var out [][]byte
					for _, m := range readStream(t, ns.URL(), "CDC") {
						out = append(out, m.Data)
					}
					return out
				}, func(down bool) {
					if down {
						ns.Stop()
					} else {
						ns.Start()
					}
				}
		}},
		{name: "webhook", setup: func(t *testing.T) (map[string]any, func() [][]byte, func(bool)) {
			var mu sync.Mutex
			var got [][]byte
			var unavailable atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if unavailable.Load() {
					http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
					return
				}
				var arr []json.RawMessage
				if err := json.Unmarshal(b, &arr); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, v := range arr {
					got = append(got, v)
				}
			}))
			t.Cleanup(srv.Close)
			offsets := filepath.Join(t.TempDir(), "offsets.json")
			return map[string]any{"connector.class": "webhook-sink", "http.api.url": srv.URL, "batch.max.size": "20",
					"retry.backoff.ms": "50", "offset.storage": "file", "worker.offsets": offsets},
				func() [][]byte {
					mu.Lock()
					defer mu.Unlock()
					return append([][]byte(nil), got...)
				}, unavailable.Store
		}},
		{name: "redis", setup: func(t *testing.T) (map[string]any, func() [][]byte, func(bool)) {
			rs := testbus.StartRedis(t, "")
			c := goredis.NewClient(&goredis.Options{Addr: rs.Addr(), DisableIdentity: true})
			t.Cleanup(func() { c.Close() })
			return map[string]any{"connector.class": "redis-streams-sink", "redis.address": rs.Addr(), "redis.stream.key": "cdc:${topic}",
					"offset.storage": "redis"},
				func() [][]byte {
					xs, _ := c.XRange(context.Background(), "cdc:dbserver1.public.t", "-", "+").Result()
					out := make([][]byte, len(xs))
					for i, x := range xs {
						out[i] = []byte(fmt.Sprint(x.Values["value"]))
					}
					return out
				}, func(down bool) {
					if down {
						rs.Stop()
					} else {
						rs.Start()
					}
				}
		}},
	}
}

// TestCrashRecovery: PostgreSQL → each bus with no Kafka, offsets in a
// JetStream key-value bucket, a file or a Redis hash. The pipeline process
// is killed with SIGKILL while a writer inserts rows and then updates
// each; in the end every row's insert and update have arrived, the insert
// first. JetStream stores no streamed change twice (a replay carries the
// same Nats-Msg-Id, inside the duplicate window); the others count their
// replays.
func TestCrashRecovery(t *testing.T) {
	for _, bc := range busCases() {
		t.Run(bc.name, func(t *testing.T) { crashRecovery(t, bc) })
	}
}

func crashRecovery(t *testing.T, bc busCase) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	const initialRows = 2000
	pg.Exec(t, "app", `CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)`,
		fmt.Sprintf(`INSERT INTO t SELECT g, 'init' FROM generate_series(1, %d) g`, initialRows))
	sink, read, _ := bc.setup(t)
	worker := map[string]any{"offset.flush.interval.ms": "100"}
	if f, ok := sink["worker.offsets"]; ok {
		delete(sink, "worker.offsets")
		worker["offset.storage.file.filename"] = f
	}
	cfg := map[string]any{
		"worker": worker,
		"sink":   sink,
		"name":   "pg",
		"config": map[string]any{
			"connector.class": "postgres", "database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port),
			"database.user": "postgres", "database.dbname": "app", "topic.prefix": "dbserver1", "plugin.name": "pgoutput",
			"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
			"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
		},
	}
	raw, _ := json.Marshal(cfg)
	path := filepath.Join(t.TempDir(), "pipeline.json")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	arg, _ := json.Marshal(path)

	var next atomic.Int64
	next.Store(1_000_000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			id := next.Add(1) - 1
			// The row and, in a later transaction, its update: two events
			// of one key whose order the bus must keep.
			if err := pg.ExecContext(context.Background(), "app",
				fmt.Sprintf(`INSERT INTO t VALUES (%d, 'a')`, id), fmt.Sprintf(`UPDATE t SET v = 'u' WHERE id = %d`, id)); err != nil {
				t.Errorf("workload: %v", err)
				return
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()
	for i := 0; i < crashtest.Iterations(); i++ {
		child := crashtest.Start(t, "TestCrashChild", crashEnv, arg)
		d := time.Duration(1500+rand.IntN(2500)) * time.Millisecond
		time.Sleep(d)
		if child.Exited() {
			t.Fatalf("pipeline exited:\n%s", crashtest.Tail(child.Output(), 30))
		}
		child.Kill()
		t.Logf("kill %d after %v, %s; %d events arrived", i+1, d,
			crashtest.Phase(child.Output(), "snapshot", "starting replication"), len(read()))
	}
	close(stop)
	wg.Wait()
	last := next.Load()

	final := crashtest.Start(t, "TestCrashChild", crashEnv, arg)
	var c check
	deadline := time.Now().Add(3 * time.Minute)
	for {
		c = checkStream(t, read(), initialRows, last)
		if c.missing == 0 || time.Now().After(deadline) || final.Exited() {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	final.Kill()
	t.Logf("%d kills: %d events arrived; %d missing, %d updates before their insert, %d streamed changes twice, %d snapshot rows read again",
		crashtest.Iterations(), c.messages, c.missing, c.outOfOrder, c.streamDups, c.snapshotDups)
	if c.missing > 0 || c.outOfOrder > 0 || (bc.exact && c.streamDups > 0) {
		t.Fatal("events lost, reordered or duplicated")
	}
}

type check struct {
	messages, missing, outOfOrder, streamDups, snapshotDups int
}

// checkStream checks the stream against the workload: rows 1..initial
// from the snapshot, and rows 1_000_000..last-1 inserted, then updated.
func checkStream(t *testing.T, msgs [][]byte, initial int, last int64) check {
	t.Helper()
	type state struct{ created, updated int }
	rows := map[int64]*state{}
	c := check{messages: len(msgs)}
	for _, m := range msgs {
		var e pgEvent
		if err := json.Unmarshal(m, &e); err != nil || e.After == nil {
			t.Fatalf("event %q: %v", m, err)
		}
		s := rows[e.After.ID]
		if s == nil {
			s = &state{}
			rows[e.After.ID] = s
		}
		switch e.Op {
		case "r":
			if s.created > 0 {
				c.snapshotDups++
			}
			s.created++
			if e.After.V == "u" {
				// Updated before the snapshot read it: the update is in
				// the snapshot, not in the change stream.
				s.updated++
			}
		case "c":
			if s.created > 0 {
				c.streamDups++
			}
			s.created++
		case "u":
			if s.created == 0 {
				c.outOfOrder++
			}
			if s.updated > 0 {
				c.streamDups++
			}
			s.updated++
		}
	}
	for id := int64(1); id <= int64(initial); id++ {
		if rows[id] == nil || rows[id].created == 0 {
			c.missing++
		}
	}
	for id := int64(1_000_000); id < last; id++ {
		if rows[id] == nil || rows[id].created == 0 || rows[id].updated == 0 {
			c.missing++
		}
	}
	return c
}

func readStream(t *testing.T, url, stream string) []*jetstream.RawStreamMsg {
	t.Helper()
	nc, err := gonats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestSinkSection: the sink: section's mistakes are refused with the
// property named.
func TestSinkSection(t *testing.T) {
	f, err := config.Parse([]byte(`
sink:
  connector.class: webhook-sink
  http.api.url: http://127.0.0.1:1/hook
  offset.storage: redis
name: pg
config:
  connector.class: postgres
`), "")
	if err != nil {
		t.Fatal(err)
	}
	if f.Sink["http.api.url"] != "http://127.0.0.1:1/hook" {
		t.Fatalf("sink section %v", f.Sink)
	}
	for _, c := range []struct {
		props map[string]string
		want  string
	}{
		{f.Sink, "offset.storage=redis: the " + webhook.Class + " sink's server cannot keep offsets"},
		{map[string]string{"connector.class": "postgres"}, `connector.class="postgres": not a pipeline sink`},
		{map[string]string{"connector.class": "webhook-sink", "http.api.url": "http://x", "json.schemas.enable": "true"}, "json.schemas.enable: not used"},
		{map[string]string{"connector.class": "webhook-sink", "http.api.url": "http://x", "batch.sise": "1"}, "batch.sise"},
	} {
		if _, _, err := runner().ParseSink(c.props); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.props, err, c.want)
		}
	}
}

// TestOutage: each bus goes away while the database keeps changing (NATS
// and Redis stopped, the webhook answering 503) for 3 s, 30 s with
// TRIBUTARY_FAULT_TESTS=1; afterwards every change arrives, in order per
// row, and the pipeline never failed.
func TestOutage(t *testing.T) {
	outage := 3 * time.Second
	if os.Getenv("TRIBUTARY_FAULT_TESTS") == "1" {
		outage = 30 * time.Second
	}
	for _, bc := range busCases() {
		t.Run(bc.name, func(t *testing.T) {
			pg := testdb.StartPostgres(t)
			pg.CreateDatabase(t, "app")
			pg.Exec(t, "app", `CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)`, `INSERT INTO t VALUES (1, 'init')`)
			sink, read, toggle := bc.setup(t)
			worker := map[string]any{"offset.flush.interval.ms": "100",
				"offset.storage.file.filename": filepath.Join(t.TempDir(), "offsets.json")}
			delete(sink, "worker.offsets")
			raw, _ := json.Marshal(map[string]any{"worker": worker, "sink": sink, "name": "pg", "config": map[string]any{
				"connector.class": "postgres", "database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port),
				"database.user": "postgres", "database.dbname": "app", "topic.prefix": "dbserver1", "plugin.name": "pgoutput",
				"key.converter": "org.apache.kafka.connect.json.JsonConverter", "key.converter.schemas.enable": "false",
				"value.converter": "org.apache.kafka.connect.json.JsonConverter", "value.converter.schemas.enable": "false",
			}})
			f, err := config.Parse(raw, "")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			var runErr error
			go func() {
				defer close(done)
				runErr = runner().Run(ctx, f)
			}()
			stopRun := sync.OnceValue(func() error {
				cancel()
				<-done
				return runErr
			})
			t.Cleanup(func() { _ = stopRun() })
			next := int64(1_000_000)
			change := func(d time.Duration) {
				for end := time.Now().Add(d); time.Now().Before(end); next++ {
					pg.Exec(t, "app", fmt.Sprintf(`INSERT INTO t VALUES (%d, 'a')`, next), fmt.Sprintf(`UPDATE t SET v = 'u' WHERE id = %d`, next))
					time.Sleep(5 * time.Millisecond)
				}
			}
			change(time.Second)
			testbus.WaitFor(t, 60*time.Second, "the first events", func() bool {
				select {
				case <-done:
					t.Fatalf("pipeline ended before the outage: %v", runErr)
				default:
				}
				return len(read()) > 10
			})
			toggle(true)
			change(outage)
			toggle(false)
			change(time.Second)
			var c check
			testbus.WaitFor(t, 90*time.Second, "every event", func() bool {
				c = checkStream(t, read(), 1, next)
				return c.missing == 0
			})
			if err := stopRun(); err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			t.Logf("%d events arrived; %d updates before their insert, %d streamed changes twice", c.messages, c.outOfOrder, c.streamDups)
			if c.outOfOrder > 0 || (bc.exact && c.streamDups > 0) {
				t.Fatal("events reordered or duplicated")
			}
		})
	}
}

// TestUnreachableSink: a pipeline whose sink cannot be reached fails at
// start, naming the property, before the source reads anything.
func TestUnreachableSink(t *testing.T) {
	down := testbus.StartNATS(t, testbus.NATSOptions{})
	down.Stop()
	source := map[string]string{"connector.class": "postgres", "database.hostname": "127.0.0.1", "database.port": "1",
		"database.user": "postgres", "database.dbname": "app", "topic.prefix": "dbserver1"}
	for _, c := range []struct {
		sink map[string]string
		want string
	}{
		{map[string]string{"connector.class": "nats-jetstream-sink", "nats.url": down.URL(), "nats.connect.timeout.ms": "500"}, "sink: nats.url=" + down.URL()},
		{map[string]string{"connector.class": "webhook-sink", "http.api.url": "http://" + down.Addr() + "/x", "http.connect.timeout.ms": "500"}, "sink: http.api.url=http://" + down.Addr()},
		{map[string]string{"connector.class": "redis-streams-sink", "redis.address": down.Addr(), "redis.connect.timeout.ms": "500"}, "sink: redis.address=" + down.Addr()},
	} {
		f := &config.File{Worker: map[string]string{"offset.storage.file.filename": filepath.Join(t.TempDir(), "o.json")},
			Sink: c.sink, Connectors: []config.Connector{{Name: "pg", Config: source}}}
		err := runner().Run(context.Background(), f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want it to contain %q", err, c.want)
		}
	}
}
