package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testbus"
)

func props(addr string, kv ...string) map[string]string {
	m := map[string]string{"connector.class": Class, "topics": "orders", "redis.address": addr, "redis.stream.key": "cdc:${topic}"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func client(t testing.TB, s *testbus.Server, password string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.Addr(), Password: password, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// entries reads a stream; nil when it does not exist or Redis is down.
func entries(c *goredis.Client, stream string) []goredis.XMessage {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	xs, _ := c.XRange(ctx, stream, "-", "+").Result()
	return xs
}

func values(xs []goredis.XMessage) [][]byte {
	out := make([][]byte, len(xs))
	for i, x := range xs {
		out[i] = []byte(fmt.Sprint(x.Values["value"]))
	}
	return out
}

func write(t *testing.T, p *testbus.Producer, want map[string]int, n, keys int) {
	t.Helper()
	evs := make([]testbus.Event, 0, n)
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%d", rand.IntN(keys))
		evs = append(evs, testbus.Event{Key: k, Seq: want[k]})
		want[k]++
	}
	p.Send(t, "orders", evs...)
}

func run(t *testing.T, sc testbus.SinkConfig) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- testbus.RunSink(ctx, Plugin(), sc) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeliver: the entries' fields, stream keys from the template, order
// per key; MAXLEN trims a second stream.
func TestDeliver(t *testing.T) {
	rs := testbus.StartRedis(t, "")
	c := client(t, rs, "")
	k := testbus.StartKafka(t, 3, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	want := map[string]int{}
	write(t, p, want, 400, 10)
	stop := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "all", Props: props(rs.Addr())})
	stop2 := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "trimmed", Props: props(rs.Addr(),
		"redis.stream.key", "last:${key}", "redis.stream.maxlen", "3", "redis.stream.maxlen.approximate", "false")})
	testbus.WaitFor(t, 30*time.Second, "400 entries", func() bool { return len(entries(c, "cdc:orders")) >= 400 })
	testbus.WaitFor(t, 30*time.Second, "trimmed streams", func() bool {
		xs := entries(c, "last:k0")
		return len(xs) > 0 && strings.Contains(fmt.Sprint(xs[len(xs)-1].Values["value"]), fmt.Sprintf(`"seq":%d`, want["k0"]-1))
	})
	stop()
	stop2()
	xs := entries(c, "cdc:orders")
	if d := testbus.CheckSequences(t, values(xs), want); d.Duplicates+d.Missing+d.OutOfOrder > 0 {
		t.Fatalf("%+v", d)
	}
	f := xs[0].Values
	if f["header.origin"] != "test" || !strings.HasPrefix(fmt.Sprint(f["id"]), "orders-") || !strings.Contains(fmt.Sprint(f["value"]), fmt.Sprintf(`"key":"%s"`, f["key"])) {
		t.Errorf("entry fields %v", f)
	}
	if n := len(entries(c, "last:k0")); n != 3 {
		t.Errorf("last:k0 has %d entries, want 3 (redis.stream.maxlen=3, exact)", n)
	}
}

// TestBadInput: unreachable server and wrong credentials fail at start
// naming the property; a stream key holding another type rejects the
// record, which fails the task or goes to the dead letter queue.
func TestBadInput(t *testing.T) {
	rs := testbus.StartRedis(t, "s3cret")
	down := testbus.StartRedis(t, "")
	down.Stop()
	for _, c := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"unreachable", props(down.Addr()), "redis.address=" + down.Addr() + ": connecting"},
		{"wrong password", props(rs.Addr(), "redis.password", "wrong"), "redis.username/redis.password: Redis refused the credentials"},
		{"no password", props(rs.Addr()), "requires authentication"},
		{"bad address", props("localhost"), `redis.address="localhost": not host:port`},
		{"bad template", props(rs.Addr(), "redis.stream.key", "${table}"), "unknown variable ${table}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := testbus.RunSink(context.Background(), Plugin(), testbus.SinkConfig{Brokers: []string{"127.0.0.1:1"}, Name: "bad", Props: c.props})
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error %v, want it to contain %q (and no password)", err, c.want)
			}
		})
	}
	cl := client(t, rs, "s3cret")
	if err := cl.Set(context.Background(), "s:poison", "a string", 0).Err(); err != nil {
		t.Fatal(err)
	}
	k := testbus.StartKafka(t, 1, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	p.Send(t, "orders", testbus.Event{Key: "a"}, testbus.Event{Key: "poison"}, testbus.Event{Key: "a", Seq: 1})
	pr := props(rs.Addr(), "redis.password", "s3cret", "redis.stream.key", "s:${key}")
	err := testbus.RunSink(context.Background(), Plugin(), testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "strict", Props: pr})
	var re *sinkrunner.RecordError
	if !errors.As(err, &re) || re.Offset != 1 || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("error %v, want a RecordError at offset 1 (WRONGTYPE)", err)
	}
	for k, v := range map[string]string{"errors.tolerance": "all", "errors.deadletterqueue.topic.name": "dlq",
		"errors.deadletterqueue.topic.replication.factor": "1"} {
		pr[k] = v
	}
	stop := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "tolerant", Props: pr})
	dlq := testbus.ReadTopic(t, k.ListenAddrs(), "dlq", 1)
	testbus.WaitFor(t, 20*time.Second, "a/1", func() bool { return len(entries(cl, "s:a")) >= 2 })
	stop()
	if string(dlq[0].Key) != "poison" {
		t.Fatalf("dead letter queue holds %q", dlq[0].Key)
	}
}

// TestOutage: Redis is stopped (3 s here, 30 s with
// TRIBUTARY_FAULT_TESTS=1) while records arrive; afterwards the stream has
// every record, in order per key.
func TestOutage(t *testing.T) {
	outage := 3 * time.Second
	if os.Getenv("TRIBUTARY_FAULT_TESTS") == "1" {
		outage = 30 * time.Second
	}
	rs := testbus.StartRedis(t, "")
	c := client(t, rs, "")
	k := testbus.StartKafka(t, 3, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	want := map[string]int{}
	stop := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "outage", Props: props(rs.Addr(), "redis.timeout.ms", "1000")})
	write(t, p, want, 100, 10)
	testbus.WaitFor(t, 20*time.Second, "the first entries", func() bool { return len(entries(c, "cdc:orders")) >= 100 })
	rs.Stop()
	end := time.Now().Add(outage)
	for time.Now().Before(end) {
		write(t, p, want, 10, 10)
		time.Sleep(100 * time.Millisecond)
	}
	rs.Start()
	write(t, p, want, 100, 10)
	testbus.WaitFor(t, 60*time.Second, "every entry", func() bool { return len(entries(c, "cdc:orders")) >= testbus.Total(want) })
	stop()
	if d := testbus.CheckSequences(t, values(entries(c, "cdc:orders")), want); d.Missing+d.OutOfOrder > 0 {
		t.Fatalf("lost or reordered: %+v", d)
	}
}

const crashEnv = "TRIBUTARY_REDIS_CRASH_CHILD"

// TestCrashChild is the sink process of TestCrashRecovery.
func TestCrashChild(t *testing.T) {
	var sc testbus.SinkConfig
	crashtest.ChildConfig(t, crashEnv, &sc)
	if err := testbus.RunSink(context.Background(), Plugin(), sc); err != nil {
		t.Fatal(err)
	}
}

// TestCrashRecovery kills the sink with SIGKILL while a sequence-numbered
// writer produces: no event is lost and each key's events first appear in
// order; replays are duplicates (Redis does not deduplicate), counted.
func TestCrashRecovery(t *testing.T) {
	rs := testbus.StartRedis(t, "")
	c := client(t, rs, "")
	k := testbus.StartKafka(t, 4, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	cfg, _ := json.Marshal(testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "crash", Props: props(rs.Addr(), "consumer.max.poll.records", "50")})
	want := map[string]int{}
	stop := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			write(t, p, want, 20, 16)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for i := 0; i < crashtest.Iterations(); i++ {
		child := crashtest.Start(t, "TestCrashChild", crashEnv, cfg)
		before := len(entries(c, "cdc:orders"))
		testbus.WaitFor(t, 60*time.Second, "the child to deliver", func() bool {
			return len(entries(c, "cdc:orders")) > before+50+rand.IntN(400) || child.Exited()
		})
		if child.Exited() {
			t.Fatalf("child exited:\n%s", crashtest.Tail(child.Output(), 30))
		}
		child.Kill()
	}
	close(stop)
	<-writerDone
	child := crashtest.Start(t, "TestCrashChild", crashEnv, cfg)
	total := testbus.Total(want)
	testbus.WaitFor(t, 120*time.Second, fmt.Sprintf("%d events", total), func() bool {
		seen := map[string]bool{}
		for _, v := range values(entries(c, "cdc:orders")) {
			seen[string(v)] = true
		}
		return len(seen) >= total || child.Exited()
	})
	child.Kill()
	if d := testbus.CheckSequences(t, values(entries(c, "cdc:orders")), want); d.Missing+d.OutOfOrder > 0 {
		t.Fatalf("lost or reordered: %+v", d)
	}
}
