package runtime

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
)

// roomyConverter returns 8-byte values in 4 KiB slices, as a converter
// whose output buffer grew past the value does.
type roomyConverter struct{ converter.Converter }

func (roomyConverter) FromConnect(string, *connect.Schema, any) ([]byte, error) {
	return make([]byte, 8, 4096), nil
}

// holdingSender keeps the messages it is sent until its acker
// acknowledges them, and records the most memory they held at once.
type holdingSender struct {
	mu       sync.Mutex
	pending  []*sarama.ProducerMessage
	held     int
	maxHeld  int
	received int
}

func (h *holdingSender) Send(_ context.Context, m *sarama.ProducerMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, m)
	h.held += cap(m.Value.(sarama.ByteEncoder))
	h.maxHeld = max(h.maxHeld, h.held)
	h.received++
	return nil
}

// ackAll acknowledges every message held, as a produce response does.
func (h *holdingSender) ackAll() {
	h.mu.Lock()
	ms := h.pending
	h.pending, h.held = nil, 0
	h.mu.Unlock()
	for _, m := range ms {
		m.Metadata.(*kafka.Pending).Ack(nil)
	}
}

// MaxInFlightBytes bounds the memory the converted records hold, which
// is their slices' capacity: counted by length, 8-byte values in 4 KiB
// slices let 512 times the bound be held.
func TestInFlightBytesCountCapacity(t *testing.T) {
	const bound = 64 << 10
	snd := &holdingSender{}
	src := &Source{Name: "c", Task: &batchTask{n: 2000, batch: 100}, Producer: snd, Offsets: offsets.NewMemory(),
		KeyConverter: &converter.JSON{}, ValueConverter: roomyConverter{},
		MaxInFlightBytes: bound, FlushInterval: 10 * time.Millisecond, Stats: &Stats{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	for src.Stats.Written.Load() < 2000 {
		select {
		case err := <-done:
			t.Fatalf("Run ended early: %v", err)
		case <-ctx.Done():
			t.Fatalf("only %d of 2000 records acknowledged", src.Stats.Written.Load())
		case <-time.After(2 * time.Millisecond):
			snd.ackAll()
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if snd.maxHeld > bound {
		t.Fatalf("unacknowledged records held %d bytes of slices, bound %d", snd.maxHeld, bound)
	}
}
