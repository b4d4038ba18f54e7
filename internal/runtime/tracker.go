package runtime

import (
	"encoding/json"
	"sync"

	"github.com/tributary-io/tributary/internal/offsets"
)

// tracker follows submitted records per source partition, in submission
// order, so that the offset committed for a partition is always that of a
// record which, together with every record before it, Kafka acknowledged.
// Acknowledgements arrive out of order across Kafka partitions; the queue
// turns them into a safe prefix (as Kafka Connect's SubmittedRecords).
type tracker struct {
	mu       sync.Mutex
	cond     *sync.Cond
	parts    map[string]*partQueue
	inflight int
	limit    int
	failed   error
}

type partQueue struct {
	partition map[string]any
	queue     []*submitted
	head      int
}

type submitted struct {
	offset map[string]any
	acked  bool
}

func newTracker(limit int) *tracker {
	t := &tracker{parts: map[string]*partQueue{}, limit: limit}
	t.cond = sync.NewCond(&t.mu)
	return t
}

func partKey(p map[string]any) string {
	b, _ := json.Marshal(p) // map keys are sorted: a canonical key
	return string(b)
}

// submit registers a record and blocks while too many are in flight, so a
// fast source cannot outrun Kafka and grow memory without bound.
func (t *tracker) submit(partition, offset map[string]any) (*submitted, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.inflight >= t.limit && t.failed == nil {
		t.cond.Wait()
	}
	if t.failed != nil {
		return nil, t.failed
	}
	k := partKey(partition)
	q := t.parts[k]
	if q == nil {
		q = &partQueue{partition: partition}
		t.parts[k] = q
	}
	s := &submitted{offset: offset}
	q.queue = append(q.queue, s)
	t.inflight++
	return s, nil
}

// ack marks a record acknowledged, or fails the tracker.
func (t *tracker) ack(s *submitted, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		if t.failed == nil {
			t.failed = err
		}
	} else if !s.acked {
		s.acked = true
		t.inflight--
	}
	t.cond.Broadcast()
}

// committable pops the acknowledged prefix of every partition and returns
// the newest offset of each.
func (t *tracker) committable() []offsets.Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []offsets.Entry
	for k, q := range t.parts {
		var last *submitted
		for q.head < len(q.queue) && q.queue[q.head].acked {
			last = q.queue[q.head]
			q.queue[q.head] = nil
			q.head++
		}
		if q.head == len(q.queue) {
			q.queue, q.head = q.queue[:0], 0
		} else if q.head > 4096 && q.head > len(q.queue)/2 {
			q.queue = append(q.queue[:0], q.queue[q.head:]...)
			q.head = 0
		}
		if last != nil && last.offset != nil {
			out = append(out, offsets.Entry{Partition: q.partition, Offset: last.offset})
		}
		if len(q.queue) == 0 && last == nil {
			delete(t.parts, k)
		}
	}
	return out
}

// drain waits until every submitted record is acknowledged or the tracker
// failed; done is closed to give up early.
func (t *tracker) drain(done <-chan struct{}) error {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-done:
			t.mu.Lock()
			if t.failed == nil {
				t.failed = errDrainTimeout
			}
			t.cond.Broadcast()
			t.mu.Unlock()
		case <-stop:
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.inflight > 0 && t.failed == nil {
		t.cond.Wait()
	}
	return t.failed
}

func (t *tracker) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}
