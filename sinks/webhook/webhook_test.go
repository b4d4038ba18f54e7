package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/crashtest"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testbus"
)

// receiver is a webhook endpoint that can be told to fail, stall or
// reject, and records what it accepted.
type receiver struct {
	mu       sync.Mutex
	values   [][]byte // accepted event values, in arrival order
	requests int
	bodies   int
	badSig   int
	headers  http.Header
	status   int           // answer every request with this status when non-zero
	stall    time.Duration // sleep before answering
	reject   string        // answer 400 to bodies containing this
	secret   []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	status, stall, reject := r.status, r.stall, r.reject
	r.mu.Unlock()
	if stall > 0 {
		select {
		case <-time.After(stall):
		case <-req.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	if reject != "" && strings.Contains(string(body), reject) {
		http.Error(w, "invalid event", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secret != nil {
		mac := hmac.New(sha256.New, r.secret)
		mac.Write(body)
		if req.Header.Get("X-Tributary-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			r.badSig++
		}
	}
	r.headers = req.Header.Clone()
	r.bodies++
	if len(body) > 0 && body[0] == '[' {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, v := range arr {
			r.values = append(r.values, v)
		}
	} else {
		r.values = append(r.values, body)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) set(f func(r *receiver)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *receiver) snapshot() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.values...)
}

func (r *receiver) count() int { return len(r.snapshot()) }

func props(url string, kv ...string) map[string]string {
	m := map[string]string{"connector.class": Class, "topics": "orders", "http.api.url": url, "retry.backoff.ms": "50",
		"retry.backoff.max.ms": "500"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
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

func exact(t *testing.T, d testbus.Delivered) {
	t.Helper()
	if d.Duplicates > 0 || d.Missing > 0 || d.OutOfOrder > 0 {
		t.Fatalf("lost, repeated or reordered events: %+v", d)
	}
}

// TestDeliver: one request per event and batched, signed, with the
// configured headers, concurrently across keys and in order per key.
func TestDeliver(t *testing.T) {
	for _, batch := range []string{"1", "25"} {
		t.Run("batch.max.size="+batch, func(t *testing.T) {
			rcv := &receiver{secret: []byte("k3y")}
			srv := httptest.NewServer(rcv)
			defer srv.Close()
			k := testbus.StartKafka(t, 3, "orders")
			p := testbus.NewProducer(t, k.ListenAddrs())
			want := map[string]int{}
			write(t, p, want, 500, 20)
			stop := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "hook", Props: props(srv.URL, "batch.max.size", batch,
				"hmac.secret", "k3y", "headers", "Authorization: Bearer abc|X-Team:cdc", "http.max.concurrency", "8")})
			testbus.WaitFor(t, 30*time.Second, "500 events", func() bool { return rcv.count() >= 500 })
			stop()
			exact(t, testbus.CheckSequences(t, rcv.snapshot(), want))
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			if rcv.badSig > 0 {
				t.Errorf("%d bodies with a wrong signature", rcv.badSig)
			}
			if rcv.headers.Get("Authorization") != "Bearer abc" || rcv.headers.Get("X-Team") != "cdc" ||
				rcv.headers.Get("Content-Type") != "application/json" || !strings.HasPrefix(rcv.headers.Get("Idempotency-Key"), "orders-") {
				t.Errorf("headers %v", rcv.headers)
			}
			if batch == "25" && rcv.bodies >= 500 {
				t.Errorf("%d requests for 500 events with batch.max.size=25", rcv.bodies)
			}
		})
	}
}

// TestRejectToDLQ: a 400 sends the event to the dead letter queue under
// errors.tolerance=all, and fails the task naming it under none; the other
// events are delivered.
func TestRejectToDLQ(t *testing.T) {
	rcv := &receiver{reject: `"key":"poison"`}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	k := testbus.StartKafka(t, 1, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	p.Send(t, "orders", testbus.Event{Key: "a"}, testbus.Event{Key: "poison"}, testbus.Event{Key: "a", Seq: 1})

	err := testbus.RunSink(context.Background(), Plugin(), testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "strict", Props: props(srv.URL)})
	var re *sinkrunner.RecordError
	if !errors.As(err, &re) || re.Offset != 1 || !strings.Contains(err.Error(), "answered 400") {
		t.Fatalf("error %v, want a RecordError at offset 1 with the status", err)
	}
	rcv.set(func(r *receiver) { r.values = nil })
	stop := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "tolerant", Props: props(srv.URL, "errors.tolerance", "all",
		"errors.deadletterqueue.topic.name", "dlq", "errors.deadletterqueue.topic.replication.factor", "1",
		"errors.deadletterqueue.context.headers.enable", "true")})
	testbus.WaitFor(t, 20*time.Second, "two events", func() bool { return rcv.count() >= 2 })
	dlq := testbus.ReadTopic(t, k.ListenAddrs(), "dlq", 1)
	stop()
	if string(dlq[0].Key) != "poison" {
		t.Fatalf("dead letter queue holds %q", dlq[0].Key)
	}
	// Isolating the rejected record sends the batch's good events again.
	if d := testbus.CheckSequences(t, rcv.snapshot(), map[string]int{"a": 2}); d.Missing > 0 || d.OutOfOrder > 0 {
		t.Fatalf("events lost or reordered: %+v", d)
	}
}

// TestOutageAndStall: the receiver answers 503 for a while (3 s here, 30 s
// with TRIBUTARY_FAULT_TESTS=1), then stalls past http.request.timeout.ms;
// every event arrives, in order per key, none lost.
func TestOutageAndStall(t *testing.T) {
	outage := 3 * time.Second
	if os.Getenv("TRIBUTARY_FAULT_TESTS") == "1" {
		outage = 30 * time.Second
	}
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	k := testbus.StartKafka(t, 3, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	want := map[string]int{}
	stop := run(t, testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "outage", Props: props(srv.URL, "http.request.timeout.ms", "300")})
	write(t, p, want, 100, 10)
	testbus.WaitFor(t, 20*time.Second, "the first events", func() bool { return rcv.count() >= 100 })
	rcv.set(func(r *receiver) { r.status = http.StatusServiceUnavailable })
	end := time.Now().Add(outage)
	for time.Now().Before(end) {
		write(t, p, want, 10, 10)
		time.Sleep(100 * time.Millisecond)
	}
	rcv.set(func(r *receiver) { r.status, r.stall = 0, time.Second })
	write(t, p, want, 50, 10)
	time.Sleep(2 * time.Second)
	rcv.set(func(r *receiver) { r.stall = 0 })
	write(t, p, want, 50, 10)
	testbus.WaitFor(t, 60*time.Second, "every event", func() bool { return rcv.count() >= testbus.Total(want) })
	stop()
	d := testbus.CheckSequences(t, rcv.snapshot(), want)
	if d.Missing > 0 || d.OutOfOrder > 0 {
		t.Fatalf("events lost or reordered: %+v", d)
	}
}

// TestBadInput: mistakes fail at start naming the property.
func TestBadInput(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"unreachable", props(closedURL), "http.api.url=" + closedURL + ": cannot connect"},
		{"not http", props("ftp://example.com/x"), `http.api.url="ftp://example.com/x": not an http:// or https:// URL`},
		{"bad header", props(closedURL, "headers", "Authorization Bearer s3cret"), "headers: entry"},
		{"bad method", props(closedURL, "request.method", "GET"), "request.method"},
		{"zero batch", props(closedURL, "batch.max.size", "0"), "batch.max.size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := testbus.RunSink(context.Background(), Plugin(), testbus.SinkConfig{Brokers: []string{"127.0.0.1:1"}, Name: "bad", Props: c.props})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error reveals a secret: %v", err)
			}
		})
	}
}

const crashEnv = "TRIBUTARY_WEBHOOK_CRASH_CHILD"

// TestCrashChild is the sink process of TestCrashRecovery.
func TestCrashChild(t *testing.T) {
	var sc testbus.SinkConfig
	crashtest.ChildConfig(t, crashEnv, &sc)
	if err := testbus.RunSink(context.Background(), Plugin(), sc); err != nil {
		t.Fatal(err)
	}
}

// TestCrashRecovery kills the sink process with SIGKILL while a
// sequence-numbered writer produces: every event reaches the receiver,
// each key's events first arrive in order; replays after a kill are
// duplicates (at-least-once), counted and logged.
func TestCrashRecovery(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	k := testbus.StartKafka(t, 4, "orders")
	p := testbus.NewProducer(t, k.ListenAddrs())
	cfg, _ := json.Marshal(testbus.SinkConfig{Brokers: k.ListenAddrs(), Name: "crash",
		Props: props(srv.URL, "consumer.max.poll.records", "50", "batch.max.size", "5")})
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
		before := rcv.count()
		testbus.WaitFor(t, 60*time.Second, "the child to deliver", func() bool {
			return rcv.count() > before+50+rand.IntN(400) || child.Exited()
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
		d := 0
		seen := map[string]bool{}
		for _, v := range rcv.snapshot() {
			if !seen[string(v)] {
				seen[string(v)] = true
				d++
			}
		}
		return d >= total || child.Exited()
	})
	child.Kill()
	d := testbus.CheckSequences(t, rcv.snapshot(), want)
	if d.Missing > 0 || d.OutOfOrder > 0 {
		t.Fatalf("events lost or reordered: %+v", d)
	}
}
