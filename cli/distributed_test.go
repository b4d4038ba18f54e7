package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/herder/herdertest"
	"github.com/tributary-io/tributary/internal/kafka"
)

// TestWorkerProcess is not a test: TestDistributedCluster runs the test
// binary again with TRIBUTARY_TEST_WORKER_CONFIG set to make it a
// distributed worker process (with the test counting connector built in),
// so that workers can be killed with SIGKILL.
func TestWorkerProcess(t *testing.T) {
	cfg := os.Getenv("TRIBUTARY_TEST_WORKER_CONFIG")
	if cfg == "" {
		t.Skip("helper process for TestDistributedCluster")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	g := &globalFlags{logLevel: "info", logFormat: "json"}
	env, err := newWorkerEnv(g)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	env.plugins = append(env.plugins, herdertest.CounterPlugin())
	file, err := loadWorkerFiles([]string{cfg})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := runWorker(ctx, env, file, true, true); err != nil {
		fmt.Fprintln(os.Stderr, "worker failed:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

type workerProc struct {
	name string
	url  string
	id   string
	cmd  *exec.Cmd
	log  string
	done chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startWorkerProc(t *testing.T, dir, name string, props map[string]string) *workerProc {
	t.Helper()
	port := freePort(t)
	props["listeners"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	props["rest.advertised.host.name"] = "127.0.0.1"
	var b strings.Builder
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, props[k])
	}
	cfg := filepath.Join(dir, name+".properties")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "TRIBUTARY_TEST_WORKER_CONFIG="+cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &workerProc{name: name, url: fmt.Sprintf("http://127.0.0.1:%d", port), id: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, log: logPath, done: make(chan error, 1)}
	go func() { w.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			w.cmd.Process.Kill()
			<-w.done
		}
		if t.Failed() || os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
			data, _ := os.ReadFile(logPath)
			if len(data) > 6000 && os.Getenv("TRIBUTARY_TEST_LOGS") == "" {
				data = data[len(data)-6000:]
			}
			t.Logf("--- %s log (tail) ---\n%s", name, data)
		}
	})
	return w
}

type httpResult struct {
	status int
	body   []byte
}

func call(t *testing.T, method, url, body string) httpResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return httpResult{status: -1, body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpResult{resp.StatusCode, b}
}

func waitFor(t *testing.T, timeout time.Duration, what string, check func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		ok, msg := check()
		if ok {
			return time.Since(start)
		}
		last = msg
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, last)
	return 0
}

// statuses returns connector -> task owners (worker ids) of RUNNING tasks
// as seen through url, and whether every connector and task runs.
func statuses(t *testing.T, url string, names []string) (map[string]string, bool, string) {
	owners := map[string]string{}
	all := true
	var desc []string
	for _, n := range names {
		r := call(t, "GET", url+"/connectors/"+n+"/status", "")
		var st herder.ConnectorStateInfo
		if r.status != 200 || json.Unmarshal(r.body, &st) != nil {
			return nil, false, fmt.Sprintf("%s: %d %s", n, r.status, r.body)
		}
		if st.Connector.State != herder.StateRunning || len(st.Tasks) != 1 || st.Tasks[0].State != herder.StateRunning {
			all = false
		}
		if len(st.Tasks) == 1 {
			owners[n] = st.Tasks[0].WorkerID
		}
		desc = append(desc, string(r.body))
	}
	return owners, all, strings.Join(desc, "\n")
}

// TestDistributedCluster runs three worker processes against one broker:
// connectors created through one worker's API spread over the cluster, a
// worker added later receives work, a worker killed with SIGKILL has its
// tasks resumed elsewhere from their committed offsets with nothing lost,
// and configuration changes survive.
func TestDistributedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three worker processes")
	}
	testStart := time.Now()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	dir := t.TempDir()
	base := func() map[string]string {
		return map[string]string{
			"bootstrap.servers":                 strings.Join(brokers, ","),
			"group.id":                          "tributary-test",
			"config.storage.topic":              "connect-configs",
			"offset.storage.topic":              "connect-offsets",
			"status.storage.topic":              "connect-status",
			"offset.storage.partitions":         "3",
			"status.storage.partitions":         "2",
			"session.timeout.ms":                "3000",
			"heartbeat.interval.ms":             "300",
			"rebalance.timeout.ms":              "10000",
			"scheduled.rebalance.max.delay.ms":  "2000",
			"offset.flush.interval.ms":          "200",
			"task.shutdown.graceful.timeout.ms": "3000",
			"key.converter":                     "org.apache.kafka.connect.storage.StringConverter",
			"value.converter":                   "org.apache.kafka.connect.json.JsonConverter",
			"value.converter.schemas.enable":    "false",
		}
	}
	w1 := startWorkerProc(t, dir, "w1", base())
	w2 := startWorkerProc(t, dir, "w2", base())
	for _, w := range []*workerProc{w1, w2} {
		waitFor(t, 60*time.Second, w.name+" serving", func() (bool, string) {
			r := call(t, "GET", w.url+"/connectors", "")
			return r.status == 200, string(r.body)
		})
	}
	waitFor(t, 30*time.Second, "both workers joined", func() (bool, string) {
		r1, r2 := call(t, "GET", w1.url+"/readyz", ""), call(t, "GET", w2.url+"/readyz", "")
		return r1.status == 200 && r2.status == 200, string(r1.body) + " / " + string(r2.body)
	})

	// Create connectors through w2; whichever worker leads, the request
	// lands there.
	names := []string{"c1", "c2", "c3", "c4"}
	for _, n := range names {
		body := fmt.Sprintf(`{"name":%q,"config":{"connector.class":"counter","topic":"seq-%s","counter.interval.ms":"20","tasks.max":"1"}}`, n, n)
		r := call(t, "POST", w2.url+"/connectors", body)
		if r.status != 201 {
			t.Fatalf("create %s through w2: %d %s", n, r.status, r.body)
		}
	}
	r := call(t, "POST", w1.url+"/connectors", `{"name":"c1","config":{"connector.class":"counter","topic":"x"}}`)
	if r.status != 409 || !strings.Contains(string(r.body), "Connector c1 already exists") {
		t.Fatalf("duplicate through w1: %d %s", r.status, r.body)
	}
	var owners map[string]string
	waitFor(t, 30*time.Second, "all connectors running on w1 and w2", func() (bool, string) {
		o, all, desc := statuses(t, w1.url, names)
		owners = o
		used := map[string]bool{}
		for _, id := range o {
			used[id] = true
		}
		return all && used[w1.id] && used[w2.id], desc
	})
	t.Logf("running on two workers after %s: %v", time.Since(testStart).Round(time.Millisecond), owners)

	// A signal sent to a worker that does not run the connector's task is
	// delivered to the one that does (through the leader when needed).
	signalled := map[string]string{} // connector: signal id
	for _, via := range []*workerProc{w1, w2} {
		for _, n := range names {
			if owners[n] == via.id || signalled[n] != "" {
				continue
			}
			id := "sig-" + n + "-via-" + via.name
			r := call(t, "POST", via.url+"/connectors/"+n+"/signals", fmt.Sprintf(`{"id":%q,"type":"log","data":{"message":"hello"}}`, id))
			if r.status != 202 || !strings.Contains(string(r.body), id) {
				t.Fatalf("signal for %s (on %s) through %s: %d %s", n, owners[n], via.name, r.status, r.body)
			}
			signalled[n] = id
			break
		}
	}
	if len(signalled) != 2 {
		t.Fatalf("no connector to signal across workers: %v", owners)
	}
	r = call(t, "POST", w1.url+"/connectors/nosuch/signals", `{"type":"log","data":{"message":"x"}}`)
	if r.status != 404 {
		t.Fatalf("signal for an unknown connector: %d %s", r.status, r.body)
	}

	// A configuration change through a worker that may not lead.
	r = call(t, "PATCH", w1.url+"/connectors/c3/config", `{"counter.interval.ms":"15"}`)
	if r.status != 200 {
		t.Fatalf("patch c3: %d %s", r.status, r.body)
	}

	// A third worker joins and receives work.
	w3 := startWorkerProc(t, dir, "w3", base())
	waitFor(t, 60*time.Second, "w3 receives a task", func() (bool, string) {
		o, all, desc := statuses(t, w3.url, names)
		if o == nil {
			return false, desc
		}
		owners = o
		for _, id := range o {
			if id == w3.id && all {
				return true, ""
			}
		}
		return false, desc
	})
	t.Logf("after w3 joined (%s): %v", time.Since(testStart).Round(time.Millisecond), owners)

	// Kill -9 a worker running tasks; its tasks resume on the others.
	victim, survivors := w1, []*workerProc{w2, w3}
	for _, id := range owners {
		if id == w2.id {
			victim, survivors = w2, []*workerProc{w1, w3}
			break
		}
	}
	var victimTasks []string
	for n, id := range owners {
		if id == victim.id {
			victimTasks = append(victimTasks, n)
		}
	}
	if len(victimTasks) == 0 {
		t.Fatalf("%s runs no task: %v", victim.name, owners)
	}
	killedAt := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	took := waitFor(t, 40*time.Second, "tasks of the killed worker resumed elsewhere", func() (bool, string) {
		o, all, desc := statuses(t, survivors[0].url, names)
		if !all {
			return false, desc
		}
		for _, id := range o {
			if id == victim.id {
				return false, desc
			}
		}
		owners = o
		return true, ""
	})
	t.Logf("%s killed; its tasks %v resumed after %s: %v", victim.name, victimTasks, took.Round(time.Millisecond), owners)
	if took > 30*time.Second {
		t.Errorf("takeover took %s", took)
	}
	_ = killedAt

	// The configuration change survived and the cluster still answers
	// writes through either survivor.
	r = call(t, "GET", survivors[1].url+"/connectors/c3/config", "")
	if !strings.Contains(string(r.body), `"counter.interval.ms":"15"`) {
		t.Fatalf("c3 config after kill: %d %s", r.status, r.body)
	}
	r = call(t, "PUT", survivors[1].url+"/connectors/c4/pause", "")
	if r.status != 202 {
		t.Fatalf("pause c4: %d %s", r.status, r.body)
	}
	waitFor(t, 20*time.Second, "c4 paused", func() (bool, string) {
		r := call(t, "GET", survivors[0].url+"/connectors/c4/status", "")
		return strings.Contains(string(r.body), `"tasks":[{"id":0,"state":"PAUSED"`), string(r.body)
	})

	// Let the survivors produce a little more, then stop them cleanly.
	time.Sleep(500 * time.Millisecond)
	for _, w := range survivors {
		w.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, w := range survivors {
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("%s exited with %v", w.name, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("%s did not stop on SIGTERM", w.name)
		}
	}

	// Nothing was lost: every topic holds every sequence number from 0 to
	// its highest without a gap, and the committed offsets are within it.
	sc, err := kafka.ClientConfig{Brokers: brokers}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(brokers, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	committed := map[string]int64{}
	offs, err := raw.ReadAll(ctx, "connect-offsets")
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range offs {
		var key []json.RawMessage
		if err := json.Unmarshal(kv.Key, &key); err != nil || len(key) != 2 {
			t.Fatalf("offset key %s is not Kafka Connect's", kv.Key)
		}
		var conn string
		json.Unmarshal(key[0], &conn)
		var v struct{ Seq int64 }
		if kv.Value != nil && json.Unmarshal(kv.Value, &v) == nil && v.Seq > committed[conn] {
			committed[conn] = v.Seq
		}
	}
	for n, id := range signalled {
		kvs, err := raw.ReadAll(ctx, "seq-"+n+".signals")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, kv := range kvs {
			found = found || string(kv.Key) == id
		}
		if !found {
			t.Errorf("signal %s did not reach %s's task (%d signal records)", id, n, len(kvs))
		}
	}
	for _, n := range names {
		kvs, err := raw.ReadAll(ctx, "seq-"+n)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]int{}
		maxSeq := int64(-1)
		for _, kv := range kvs {
			v, err := strconv.ParseInt(string(bytes.TrimSpace(kv.Value)), 10, 64)
			if err != nil {
				t.Fatalf("%s: record value %q", n, kv.Value)
			}
			seen[v]++
			maxSeq = max(maxSeq, v)
		}
		dups := 0
		for i := int64(0); i <= maxSeq; i++ {
			if seen[i] == 0 {
				t.Fatalf("%s: sequence number %d missing (of 0..%d)", n, i, maxSeq)
			}
			dups += seen[i] - 1
		}
		if committed[n] > maxSeq || committed[n] < maxSeq/2 {
			t.Errorf("%s: committed offset %d, records up to %d", n, committed[n], maxSeq)
		}
		t.Logf("%s: %d records, 0..%d contiguous, %d redelivered, committed %d", n, len(kvs), maxSeq, dups, committed[n])
	}
	t.Logf("total %s", time.Since(testStart).Round(time.Millisecond))
}
