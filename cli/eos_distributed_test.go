package cli

import (
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Exactly-once in a distributed cluster: the worker running a task is
// frozen (SIGSTOP) until the group gives the task to the other worker,
// whose new transactional producer fences the frozen one; thawed, the
// zombie's writes are refused. Then the new owner is killed with SIGKILL
// and the task moves back. A read_committed consumer (kcat) sees every
// sequence number of the task once, without a gap.
func TestDistributedExactlyOnceFencesZombie(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	dir := t.TempDir()
	props := func() map[string]string {
		return map[string]string{
			"bootstrap.servers":                 strings.Join(brokers, ","),
			"group.id":                          "eos-test",
			"config.storage.topic":              "connect-configs",
			"offset.storage.topic":              "connect-offsets",
			"status.storage.topic":              "connect-status",
			"exactly.once.source.support":       "enabled",
			"producer.transaction.timeout.ms":   "5000",
			"session.timeout.ms":                "3000",
			"heartbeat.interval.ms":             "300",
			"rebalance.timeout.ms":              "10000",
			"scheduled.rebalance.max.delay.ms":  "1000",
			"offset.flush.interval.ms":          "200",
			"task.shutdown.graceful.timeout.ms": "3000",
			"key.converter":                     "org.apache.kafka.connect.storage.StringConverter",
			"value.converter":                   "org.apache.kafka.connect.json.JsonConverter",
			"value.converter.schemas.enable":    "false",
		}
	}
	w1, w2 := startWorkerProc(t, dir, "w1", props()), startWorkerProc(t, dir, "w2", props())
	workers := map[string]*workerProc{w1.id: w1, w2.id: w2}
	for _, w := range workers {
		waitFor(t, 60*time.Second, w.name+" ready", func() (bool, string) {
			r := call(t, "GET", w.url+"/readyz", "")
			return r.status == 200, string(r.body)
		})
	}

	// The counter connector does not declare exactly-once support:
	// required is refused as Kafka Connect refuses it, requested runs.
	r := call(t, "POST", w1.url+"/connectors", `{"name":"c1","config":{"connector.class":"counter","topic":"seq","exactly.once.support":"required"}}`)
	if r.status != 400 || !strings.Contains(string(r.body), "The connector does not implement the API required for preflight validation of exactly-once source support") {
		t.Fatalf("exactly.once.support=required: %d %s", r.status, r.body)
	}
	r = call(t, "POST", w1.url+"/connectors", `{"name":"c1","config":{"connector.class":"counter","topic":"seq","counter.interval.ms":"5","counter.batch":"5","transaction.boundary":"poll"}}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	owner := func(not string) *workerProc {
		var w *workerProc
		waitFor(t, 60*time.Second, "c1 running on a worker other than "+not, func() (bool, string) {
			for _, via := range workers {
				if via.cmd.ProcessState != nil || via.id == not {
					continue
				}
				o, all, desc := statuses(t, via.url, []string{"c1"})
				if all && o["c1"] != not && workers[o["c1"]] != nil {
					w = workers[o["c1"]]
					return true, ""
				}
				return false, desc
			}
			return false, "no live worker"
		})
		return w
	}
	first := owner("")
	time.Sleep(time.Second)

	// Freeze the owner: the group evicts it and the task moves.
	if err := first.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	second := owner(first.id)
	time.Sleep(time.Second)
	// Thawed, the zombie still believes it runs the task until it rejoins;
	// whatever it writes meanwhile is fenced.
	if err := first.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)

	// Kill -9 the new owner; the task moves back to the first worker.
	if err := second.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-second.done
	delete(workers, second.id)
	owner(second.id)
	time.Sleep(2 * time.Second)
	first.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-first.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop on SIGTERM")
	}

	out, err := exec.Command("kcat", "-C", "-b", strings.Join(brokers, ","), "-t", "seq", "-o", "beginning", "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", "%s\n").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	seen := map[int64]int{}
	maxSeq := int64(-1)
	for _, f := range strings.Fields(string(out)) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			t.Fatalf("value %q: %v", f, err)
		}
		seen[n]++
		maxSeq = max(maxSeq, n)
	}
	missing, dups := 0, 0
	for i := int64(0); i <= maxSeq; i++ {
		switch seen[i] {
		case 0:
			missing++
		case 1:
		default:
			dups++
		}
	}
	t.Logf("read_committed: sequence 0..%d, %d missing, %d duplicated", maxSeq, missing, dups)
	if maxSeq < 100 || missing > 0 || dups > 0 {
		t.Fatalf("exactly-once across a zombie and a kill: max %d, %d missing, %d duplicated", maxSeq, missing, dups)
	}
}
