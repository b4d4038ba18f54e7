package kafka

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/IBM/sarama"
)

// poisonBuf stands for a pooled buffer: Release overwrites its bytes, as
// the next conversion into a reused buffer would, and notes whether the
// record had been acknowledged first.
type poisonBuf struct {
	b         []byte
	acked     *atomic.Bool
	released  atomic.Int32
	beforeAck atomic.Bool
}

func (p *poisonBuf) Release() {
	if !p.acked.Load() {
		p.beforeAck.Store(true)
	}
	for i := range p.b {
		p.b[i] = 'X'
	}
	p.released.Add(1)
}

// The at-least-once producer releases a message's buffers only after the
// broker acknowledged it, never after a failure, and the broker holds the
// bytes as they were before the release overwrote them (run with -race:
// a release while kgo still encodes the record is a data race).
func TestKgoProducerReleasesBuffersAfterAck(t *testing.T) {
	e, err := StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	sc, err := ClientConfig{Brokers: e.Addrs(), Props: map[string]string{"batch.size": "65536"}}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	type sent struct {
		key, val *poisonBuf
		wantKey  []byte
		wantVal  []byte
		acked    atomic.Bool
		ackErr   atomic.Value
	}
	recs := make([]*sent, n+1)
	var wg sync.WaitGroup
	for i := range recs {
		s := &sent{}
		s.wantKey = fmt.Appendf(nil, "key-%d", i)
		s.wantVal = bytes.Repeat(fmt.Appendf(nil, "v%d;", i), 1+i%300)
		if i == n {
			s.wantVal = make([]byte, 200000) // refused: batch.size
		}
		s.key = &poisonBuf{b: bytes.Clone(s.wantKey), acked: &s.acked}
		s.val = &poisonBuf{b: bytes.Clone(s.wantVal), acked: &s.acked}
		recs[i] = s
		wg.Add(1)
		m := &sarama.ProducerMessage{Topic: "pooled", Key: sarama.ByteEncoder(s.key.b), Value: sarama.ByteEncoder(s.val.b),
			Metadata: &Pending{Partition: -1, KeyBuf: s.key, ValueBuf: s.val, Ack: func(err error) {
				if err != nil {
					s.ackErr.Store(err)
				}
				s.acked.Store(true)
				wg.Done()
			}}}
		if err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, s := range recs {
		want := int32(1)
		if i == n {
			if s.ackErr.Load() == nil {
				t.Fatalf("the %d-byte record was not refused", len(s.wantVal))
			}
			want = 0
		} else if err := s.ackErr.Load(); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		for _, b := range []*poisonBuf{s.key, s.val} {
			if got := b.released.Load(); got != want {
				t.Fatalf("record %d: a buffer released %d times, want %d", i, got, want)
			}
			if b.beforeAck.Load() {
				t.Fatalf("record %d: a buffer released before the acknowledgement", i)
			}
		}
	}
	raw, err := NewRaw(e.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	kvs, err := raw.ReadAll(context.Background(), "pooled")
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) != n {
		t.Fatalf("%d records in Kafka, want %d", len(kvs), n)
	}
	for i, kv := range kvs {
		if !bytes.Equal(kv.Key, recs[i].wantKey) || !bytes.Equal(kv.Value, recs[i].wantVal) {
			t.Fatalf("record %d in Kafka: key %.40q value %.40q, want %.40q %.40q", i, kv.Key, kv.Value, recs[i].wantKey, recs[i].wantVal)
		}
	}
}
