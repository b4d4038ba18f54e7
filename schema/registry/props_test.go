package registry_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tributary-io/tributary/schema/registry"
)

// clientFrom builds a client from Confluent-style properties, failing the
// test on a refusal. Retries wait 1 ms so that tests do not sleep.
func clientFrom(t *testing.T, props map[string]string) *registry.Client {
	t.Helper()
	all := map[string]string{"retries.wait.ms": "1", "retries.max.wait.ms": "2"}
	for k, v := range props {
		all[k] = v
	}
	cfg, err := registry.ConfigFromProperties(all)
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// scripted answers each request with the next status of script (the last
// one repeating); 200 answers a schema.
type scripted struct {
	script []int
	n      atomic.Int64
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	status := s.script[min(i, len(s.script)-1)]
	if status == http.StatusOK {
		fmt.Fprint(w, `{"schema":"\"string\""}`)
		return
	}
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error_code":%d,"message":"scripted"}`, status)
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// TestRetries pins RestService's retry: the statuses of
// isRestClientExceptionRetriable are tried max.retries more times, others
// once.
func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		props    map[string]string
		script   []int
		attempts int64
		ok       bool
	}{
		{"503 then ok", nil, []int{503, 200}, 2, true},
		{"500 502 504 then ok", nil, []int{500, 502, 504, 200}, 4, true},
		{"408 and 429 are retried", nil, []int{408, 429, 200}, 3, true},
		{"default max.retries=3: four attempts", nil, []int{503}, 4, false},
		{"max.retries=1", map[string]string{"max.retries": "1"}, []int{503}, 2, false},
		{"max.retries=0", map[string]string{"max.retries": "0"}, []int{503, 200}, 1, false},
		{"schema.registry. prefix", map[string]string{"schema.registry.max.retries": "0"}, []int{503, 200}, 1, false},
		{"404 is not retried", nil, []int{404, 200}, 1, false},
		{"409 is not retried", nil, []int{409, 200}, 1, false},
		{"501 is not retried", nil, []int{501, 200}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &scripted{script: tc.script}
			ts := serve(t, h)
			props := map[string]string{"schema.registry.url": ts.URL}
			for k, v := range tc.props {
				props[k] = v
			}
			_, err := clientFrom(t, props).SchemaByID(context.Background(), 1)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
			if got := h.n.Load(); got != tc.attempts {
				t.Fatalf("%d attempts, want %d", got, tc.attempts)
			}
		})
	}
}

// TestFailover pins RestService.httpRequest over several URLs: a network
// error or a retriable status (after its retries) moves on to the next
// URL, which later requests keep using; other errors do not.
func TestFailover(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name        string
		first       func(t *testing.T) (string, *scripted)
		firstTries  int64
		secondTries int64
		ok          bool
	}{
		{"unreachable first URL", func(t *testing.T) (string, *scripted) { return closed.URL, nil }, 0, 2, true},
		{"503 on the first URL", func(t *testing.T) (string, *scripted) {
			h := &scripted{script: []int{503}}
			return serve(t, h).URL, h
		}, 2, 2, true},
		{"404 on the first URL stays there", func(t *testing.T) (string, *scripted) {
			h := &scripted{script: []int{404}}
			return serve(t, h).URL, h
		}, 2, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			firstURL, first := tc.first(t)
			second := &scripted{script: []int{200}}
			ts := serve(t, second)
			c := clientFrom(t, map[string]string{"schema.registry.url": firstURL + " , " + ts.URL, "max.retries": "1"})
			for id := 1; id <= 2; id++ {
				if _, err := c.SchemaByID(context.Background(), id); (err == nil) != tc.ok {
					t.Fatalf("id %d: err = %v, want ok=%v", id, err, tc.ok)
				}
			}
			if first != nil && first.n.Load() != tc.firstTries {
				t.Errorf("first URL got %d requests, want %d", first.n.Load(), tc.firstTries)
			}
			if second.n.Load() != tc.secondTries {
				t.Errorf("second URL got %d requests, want %d", second.n.Load(), tc.secondTries)
			}
		})
	}
}

// TestURLRandomize: with url.randomize (or schema.registry.url.randomize)
// clients start at every URL of the list; without it at the first.
func TestURLRandomize(t *testing.T) {
	for _, tc := range []struct {
		prop string
		all  bool
	}{{"url.randomize", true}, {"schema.registry.url.randomize", true}, {"", false}} {
		t.Run(tc.prop, func(t *testing.T) {
			var servers []*scripted
			var urls []string
			for range 3 {
				h := &scripted{script: []int{200}}
				servers = append(servers, h)
				urls = append(urls, serve(t, h).URL)
			}
			// 200 clients miss a given URL of three with probability
			// (2/3)^200, below 1e-35.
			for range 200 {
				props := map[string]string{"schema.registry.url": strings.Join(urls, ",")}
				if tc.prop != "" {
					props[tc.prop] = "true"
				}
				if _, err := clientFrom(t, props).SchemaByID(context.Background(), 1); err != nil {
					t.Fatal(err)
				}
			}
			for i, s := range servers {
				if hit := s.n.Load() > 0; hit != (tc.all || i == 0) {
					t.Errorf("URL %d got %d requests", i, s.n.Load())
				}
			}
		})
	}
}

// TestRequestHeaders: request.header.<name> is sent with every request,
// after the authentication header (which it can replace) and before the
// client's own Accept and Content-Type.
func TestRequestHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	ts := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		fmt.Fprint(w, `{"id":7}`)
	}))
	c := clientFrom(t, map[string]string{
		"schema.registry.url":              ts.URL,
		"request.header.X-Tenant":          "blue",
		"request.header.Accept":            "text/plain",
		"request.header.target-sr-cluster": "lsrc-1",
	})
	if _, err := c.Register(context.Background(), "s", `"string"`); err != nil {
		t.Fatal(err)
	}
	h := <-seen
	for k, want := range map[string]string{"X-Tenant": "blue", "Target-Sr-Cluster": "lsrc-1", "Accept": registry.ContentType + ", application/json"} {
		if got := h.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
}

// TestProxy: proxy.host and proxy.port send every request through the
// proxy.
func TestProxy(t *testing.T) {
	var got atomic.Value
	proxy := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.String())
		fmt.Fprint(w, `{"schema":"\"string\""}`)
	}))
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(proxy.URL, "http://"))
	for _, prefix := range []string{"", "schema.registry."} {
		got.Store("")
		c := clientFrom(t, map[string]string{"schema.registry.url": "http://registry.invalid:8081",
			prefix + "proxy.host": host, prefix + "proxy.port": port})
		if _, err := c.SchemaByID(context.Background(), 3); err != nil {
			t.Fatal(err)
		}
		if want := "http://registry.invalid:8081/schemas/ids/3"; got.Load() != want {
			t.Errorf("%sproxy: the proxy saw %q, want %q", prefix, got.Load(), want)
		}
	}
}

// TestReadTimeout: a registry that does not answer within
// http.read.timeout.ms, in its headers or its body, fails the attempt,
// which is retried.
func TestReadTimeout(t *testing.T) {
	for _, stallBody := range []bool{false, true} {
		t.Run(fmt.Sprintf("stall body %v", stallBody), func(t *testing.T) {
			release := make(chan struct{})
			var attempts atomic.Int64
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				attempts.Add(1)
				if stallBody {
					w.Header().Set("Content-Length", "100")
					w.WriteHeader(200)
					fmt.Fprint(w, `{"sch`)
					w.(http.Flusher).Flush()
				}
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			defer ts.Close()
			defer close(release)
			c := clientFrom(t, map[string]string{"schema.registry.url": ts.URL, "http.read.timeout.ms": "50", "max.retries": "1"})
			if _, err := c.SchemaByID(context.Background(), 1); err == nil {
				t.Fatal("no error from a registry that never answers")
			}
			if attempts.Load() != 2 {
				t.Fatalf("%d attempts, want 2 (max.retries=1)", attempts.Load())
			}
		})
	}
}

// TestMaxSchemasPerSubject: past max.schemas.per.subject the least
// recently used schema of a subject is dropped from the client's cache and
// registered (looked up) again when next used, as in Confluent's client
// since 7.0, which replaced the "Too many schema objects created for
// <subject>!" error with a bounded cache.
func TestMaxSchemasPerSubject(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		max   string
		posts int64
	}{{"2", 4}, {"", 3}} {
		ts, counter := newRegistry(t)
		props := map[string]string{"schema.registry.url": ts.URL}
		if tc.max != "" {
			props["max.schemas.per.subject"] = tc.max
		}
		c := clientFrom(t, props)
		v4 := `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"n","type":"int","default":0}]}`
		for _, s := range []string{v1, v2, v4, v1} {
			if _, err := c.RegisterSchema(ctx, "users-value", registry.RegisterRequest{Schema: s}); err != nil {
				t.Fatal(err)
			}
		}
		if got := counter.n.Load(); got != tc.posts {
			t.Errorf("max.schemas.per.subject=%q: %d registrations sent, want %d", tc.max, got, tc.posts)
		}
	}
}

// TestClientCaches pins the latest-version and not-found caches: how many
// requests two identical calls make.
func TestClientCaches(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		props map[string]string
		call  func(c *registry.Client) error
		want  int64
	}{
		{"latest kept 60 s by default", nil, func(c *registry.Client) error { _, err := c.Latest(ctx, "users-value"); return err }, 1},
		{"latest.cache.ttl.sec=0", map[string]string{"latest.cache.ttl.sec": "0"}, func(c *registry.Client) error { _, err := c.Latest(ctx, "users-value"); return err }, 2},
		{"missing schema asked each time by default", nil, func(c *registry.Client) error {
			_, err := c.Lookup(ctx, "users-value", v3, false)
			return wantNotFound(err)
		}, 2},
		{"missing.schema.cache.ttl.sec", map[string]string{"missing.schema.cache.ttl.sec": "60"}, func(c *registry.Client) error {
			_, err := c.LookupSchema(ctx, "users-value", registry.RegisterRequest{Schema: v3})
			return wantNotFound(err)
		}, 1},
		{"missing.cache.size=0 keeps none", map[string]string{"missing.schema.cache.ttl.sec": "60", "missing.cache.size": "0"}, func(c *registry.Client) error {
			_, err := c.Lookup(ctx, "users-value", v3, false)
			return wantNotFound(err)
		}, 2},
		{"missing id asked each time by default", nil, func(c *registry.Client) error { _, err := c.SchemaByID(ctx, 99); return wantNotFound(err) }, 2},
		{"missing.id.cache.ttl.sec", map[string]string{"missing.id.cache.ttl.sec": "60"}, func(c *registry.Client) error {
			_, err := c.Schema(ctx, 99)
			return wantNotFound(err)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, counter := newRegistry(t)
			seed, _ := registry.NewClient(registry.Config{URL: ts.URL})
			if _, err := seed.Register(ctx, "users-value", v1); err != nil {
				t.Fatal(err)
			}
			props := map[string]string{"schema.registry.url": ts.URL}
			for k, v := range tc.props {
				props[k] = v
			}
			c := clientFrom(t, props)
			before := counter.n.Load()
			for range 2 {
				if err := tc.call(c); err != nil {
					t.Fatal(err)
				}
			}
			if got := counter.n.Load() - before; got != tc.want {
				t.Errorf("%d requests, want %d", got, tc.want)
			}
		})
	}
}

func wantNotFound(err error) error {
	if code := registry.ErrorCode(err); code != registry.CodeSchemaNotFound {
		return fmt.Errorf("want error 40403, got %v", err)
	}
	return nil
}

// TestLatestInvalidatedByRegister: registering under a subject forgets its
// cached latest version, as CachedSchemaRegistryClient does.
func TestLatestInvalidatedByRegister(t *testing.T) {
	ctx := context.Background()
	ts, _ := newRegistry(t)
	c := clientFrom(t, map[string]string{"schema.registry.url": ts.URL})
	if _, err := c.Register(ctx, "users-value", v1); err != nil {
		t.Fatal(err)
	}
	if sv, err := c.Latest(ctx, "users-value"); err != nil || sv.Version != 1 {
		t.Fatalf("latest = %+v, %v", sv, err)
	}
	if _, err := c.Register(ctx, "users-value", v2); err != nil {
		t.Fatal(err)
	}
	if sv, err := c.Latest(ctx, "users-value"); err != nil || sv.Version != 2 {
		t.Fatalf("latest after a registration = %+v, %v", sv, err)
	}
}

// TestClientPropertyRefusals: each malformed client property is refused,
// naming it.
func TestClientPropertyRefusals(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		names string
	}{
		{map[string]string{"max.retries": "-1"}, "max.retries"},
		{map[string]string{"max.retries": "x"}, "max.retries"},
		{map[string]string{"retries.wait.ms": "-5"}, "retries.wait.ms"},
		{map[string]string{"retries.max.wait.ms": "soon"}, "retries.max.wait.ms"},
		{map[string]string{"http.connect.timeout.ms": "0"}, "http.connect.timeout.ms"},
		{map[string]string{"schema.registry.http.read.timeout.ms": "0"}, "schema.registry.http.read.timeout.ms"},
		{map[string]string{"url.randomize": "perhaps"}, "url.randomize"},
		{map[string]string{"proxy.host": "proxy.local"}, "proxy.port"},
		{map[string]string{"proxy.port": "3128"}, "proxy.host"},
		{map[string]string{"proxy.host": "proxy.local", "proxy.port": "0"}, "proxy.port"},
		{map[string]string{"max.schemas.per.subject": "0"}, "max.schemas.per.subject"},
		{map[string]string{"latest.cache.ttl.sec": "1m"}, "latest.cache.ttl.sec"},
		{map[string]string{"missing.cache.size": "-1"}, "missing.cache.size"},
		{map[string]string{"missing.id.cache.ttl.sec": "-1"}, "missing.id.cache.ttl.sec"},
		{map[string]string{"missing.schema.cache.ttl.sec": "x"}, "missing.schema.cache.ttl.sec"},
		{map[string]string{"missing.version.cache.ttl.sec": "x"}, "missing.version.cache.ttl.sec"},
		{map[string]string{"max.retries": "1", "schema.registry.max.retries": "2"}, "schema.registry.max.retries"},
	} {
		props := map[string]string{"schema.registry.url": "http://127.0.0.1:1"}
		for k, v := range tc.props {
			props[k] = v
		}
		_, err := registry.ConfigFromProperties(props)
		if err == nil || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("%v: err = %v, want one naming %s", tc.props, err, tc.names)
		}
	}
}

// TestConcurrentFailover: requests racing over a failing URL move the list
// on once, not once per request.
func TestConcurrentFailover(t *testing.T) {
	bad := &scripted{script: []int{503}}
	good := &scripted{script: []int{200}}
	badURL, goodURL := serve(t, bad).URL, serve(t, good).URL
	c := clientFrom(t, map[string]string{"schema.registry.url": badURL + "," + goodURL, "max.retries": "0"})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.SchemaByID(context.Background(), i); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	before := bad.n.Load()
	if _, err := c.SchemaByID(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	if bad.n.Load() != before {
		t.Fatal("a request went back to the failed URL")
	}
}
