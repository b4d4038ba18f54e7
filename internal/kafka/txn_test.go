package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// kcatValues reads topic with kcat (librdkafka, an independent client) at
// the given isolation level and returns the values in offset order.
func kcatValues(t *testing.T, brokers []string, topic, isolation string) []string {
	t.Helper()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat not installed (apt-get install kcat)")
	}
	out, err := exec.Command("kcat", "-C", "-b", strings.Join(brokers, ","), "-t", topic, "-o", "beginning", "-e", "-q", "-J",
		"-X", "isolation.level="+isolation).Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	var vals []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var m struct {
			Payload string `json:"payload"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("kcat output %q: %v", line, err)
		}
		vals = append(vals, m.Payload)
	}
	return vals
}

func TestTransactionalProducerCommitAbortAndFencing(t *testing.T) {
	e, err := StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := ClientConfig{Brokers: e.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	// The fenced producer fails once its retries, bounded by the
	// transaction timeout, run out.
	sc.Producer.Transaction.Timeout = 5 * time.Second
	id := TransactionalID("connect-cluster", "inventory", 0)
	if id != "connect-cluster-inventory-0" {
		t.Fatalf("transactional.id = %q", id)
	}
	ctx := context.Background()
	send := func(p *Producer, v string) {
		t.Helper()
		acked := make(chan error, 1)
		m := &sarama.ProducerMessage{Topic: "txn", Value: sarama.StringEncoder(v),
			Metadata: &Pending{Partition: -1, Ack: func(err error) { acked <- err }}}
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	old, err := NewTransactionalProducer(e.Addrs(), sc, id)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	for _, step := range []struct {
		value  string
		commit bool
	}{{"committed-1", true}, {"aborted", false}} {
		if err := old.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		send(old, step.value)
		if step.commit {
			err = old.CommitTxn()
		} else {
			err = old.AbortTxn()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Left open when the newer instance starts: the coordinator aborts it.
	if err := old.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	send(old, "open-when-fenced")

	newer, err := NewTransactionalProducer(e.Addrs(), sc, id)
	if err != nil {
		t.Fatal(err)
	}
	defer newer.Close()
	if err := newer.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	send(newer, "committed-2")
	if err := newer.CommitTxn(); err != nil {
		t.Fatal(err)
	}
	if err := old.CommitTxn(); !errors.Is(err, ErrFenced) {
		t.Fatalf("commit of the fenced producer: %v, want ErrFenced", err)
	}

	committed := kcatValues(t, e.Addrs(), "txn", "read_committed")
	if want := []string{"committed-1", "committed-2"}; !slices.Equal(committed, want) {
		t.Fatalf("read_committed sees %q, want %q", committed, want)
	}
	// The control: the aborted record was written, and only the
	// isolation level hides it. (The fenced producer's last record may
	// not have reached the log at all: the broker refuses it.)
	if all := kcatValues(t, e.Addrs(), "txn", "read_uncommitted"); !slices.Contains(all, "aborted") {
		t.Fatalf("read_uncommitted sees %q, missing the aborted record", all)
	}
}
