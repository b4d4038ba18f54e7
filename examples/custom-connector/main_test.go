package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// TestRunResumes runs the custom binary on example.yaml twice against its
// embedded Kafka broker, reading the topic back while it runs: the first
// run counts to 5, the second, after a restart with count=12, goes on
// from the first id the first did not get into Kafka. The topic then
// holds every id from 0 to 11 exactly once, each message upper-cased by
// the transform.
//
// EXAMPLE_BINARY names the binary to test (CI passes the one the
// documented command built); without it the test builds one.
func TestRunResumes(t *testing.T) {
	bin := os.Getenv("EXAMPLE_BINARY")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "tributary-custom")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	} else if abs, err := filepath.Abs(bin); err == nil {
		bin = abs
	}
	example, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, count := range []int{5, 12} {
		// example.yaml as shipped, ticking faster so the test is quick and
		// stopping at count, so that a run cannot add records after the
		// test has read them; its offsets file and broker data land in dir.
		cfg := bytes.Replace(example, []byte(`interval.ms: "200"`), fmt.Appendf(nil, "interval.ms: \"20\"\n  count: \"%d\"", count), 1)
		if bytes.Equal(cfg, example) {
			t.Fatal(`example.yaml no longer has interval.ms: "200"; update the test`)
		}
		if err := os.WriteFile(filepath.Join(dir, "example.yaml"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		runAndCheck(t, bin, dir, count)
	}
}

type value struct {
	ID      int64  `json:"id"`
	Message string `json:"message"`
}

// runAndCheck starts the binary in dir, reads the topic from its start,
// checks that it holds ids 0 to want-1, once each, and nothing else, and
// stops the binary with SIGTERM, which must exit 0.
func runAndCheck(t *testing.T, bin, dir string, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "-c", "example.yaml")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Logf("tributary-custom stderr:\n%s", stderr.String())
		}
	}()
	addr, err := brokerAddr(stdout)
	if err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()

	got, err := readTopic(ctx, addr, "counter", want)
	if err != nil {
		t.Fatalf("reading the topic at %s: %v\nstderr:\n%s", addr, err, stderr.String())
	}
	for i, v := range got {
		if v.ID != int64(i) {
			t.Fatalf("record %d of the topic has id %d: ids must run from 0 without gaps or repeats (got %v)", i, v.ID, got)
		}
		if wantMsg := fmt.Sprintf("TICK %d", i); v.Message != wantMsg {
			t.Fatalf("record %d: message %q, want %q (the UpperCase transform)", i, v.Message, wantMsg)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tributary-custom did not exit 0 on SIGTERM: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("run %d: the topic holds ids 0-%d, once each", want, want-1)
}

var brokerLine = regexp.MustCompile(`embedded Kafka broker: ([0-9.:]+)`)

// brokerAddr reads the binary's standard output up to the line naming the
// embedded broker's address.
func brokerAddr(stdout io.Reader) (string, error) {
	sc := bufio.NewScanner(stdout)
	var seen []string
	for sc.Scan() {
		if m := brokerLine.FindStringSubmatch(sc.Text()); m != nil {
			return strings.Split(m[1], ",")[0], nil
		}
		seen = append(seen, sc.Text())
	}
	return "", fmt.Errorf("no %q line on standard output (read: %q, %v)", "embedded Kafka broker:", seen, sc.Err())
}

// readTopic reads every partition of topic from its start until it has
// want records, then for another second to catch any more, and returns
// them in id order.
func readTopic(ctx context.Context, addr, topic string, want int) ([]value, error) {
	sc := sarama.NewConfig()
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient([]string{addr}, sc)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, err
	}
	defer consumer.Close()
	var parts []int32
	for ctx.Err() == nil {
		// The runtime creates the topic with its first record.
		if parts, err = client.Partitions(topic); err == nil && len(parts) > 0 {
			break
		}
		_ = client.RefreshMetadata(topic)
		time.Sleep(100 * time.Millisecond)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("topic %s never appeared: %w", topic, err)
	}
	msgs := make(chan *sarama.ConsumerMessage)
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				select {
				case msgs <- m:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	byID := map[int64]value{}
	var ids []int64
	var quiet <-chan time.Time // nil, which never fires, until want are read
	for {
		if len(ids) > want {
			return nil, fmt.Errorf("%d records in the topic, want %d (ids %v)", len(ids), want, ids)
		}
		if len(ids) == want && quiet == nil {
			quiet = time.After(time.Second)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("only %d of %d records after the timeout: %w", len(ids), want, ctx.Err())
		case <-quiet:
			return order(byID, ids)
		case m := <-msgs:
			// JsonConverter with schemas.enable: {"schema":...,"payload":...}.
			var env struct {
				Payload value `json:"payload"`
			}
			if err := json.Unmarshal(m.Value, &env); err != nil {
				return nil, fmt.Errorf("partition %d offset %d: %w: %s", m.Partition, m.Offset, err, m.Value)
			}
			if prev, dup := byID[env.Payload.ID]; dup {
				return nil, fmt.Errorf("id %d is in the topic twice (%+v, %+v)", env.Payload.ID, prev, env.Payload)
			}
			byID[env.Payload.ID] = env.Payload
			ids = append(ids, env.Payload.ID)
		}
	}
}

func order(byID map[int64]value, ids []int64) ([]value, error) {
	out := make([]value, 0, len(ids))
	for i := range ids {
		v, ok := byID[int64(i)]
		if !ok {
			return nil, fmt.Errorf("id %d is missing from the topic (ids read: %v)", i, ids)
		}
		out = append(out, v)
	}
	return out, nil
}
