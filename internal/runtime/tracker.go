package runtime

import (
	"context"
	"encoding/json"
	"sync"
	"time"

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
	// last is the queue of the previous record: a source nearly always
	// writes one partition, and comparing its few entries is much cheaper
	// than serialising the partition for every record (partKey).
	last *partQueue
	// bytes in flight and their bound (0: unbounded); see reserve.
	bytes     int
	byteLimit int
	// byteWaiters wait in reserve until bytes falls to byteWake; and
	// countWaiters in submit until a record's room is free. ack wakes
	// them only then (see ack).
	byteWaiters, countWaiters int
	byteWake                  int
	failed                    error
	// uncommitted counts records submitted and not yet taken by a
	// successful commit (committable, then committed).
	uncommitted int
	taken       int // popped by committable, awaiting committed
	// takenReady are the records whose offsets committable returned;
	// commitFailed gives them back.
	takenReady []*submitted
	// popped counts records popped by ack (collapsed into their queue's
	// ready) and not yet taken by committable.
	popped int
}

type partQueue struct {
	partition map[string]any
	queue     []*submitted
	head      int
	// ready is the newest record of the acknowledged prefix popped since
	// the last committable: only its offset can be committed, so the
	// records before it are let go at once instead of being kept (with
	// their offset maps) until the next commit, which made memory grow
	// with offset.flush.interval.ms (Kafka Connect's default is 60 s).
	ready *submitted
}

type submitted struct {
	q      *partQueue
	offset map[string]any
	acked  bool
	bytes  int
	// sentAt, topic and partition (-1: by key) are set when the record
	// is handed to the producer, for the broker wait warning.
	sentAt    time.Time
	topic     string
	partition int32
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

// queue returns the queue of partition, creating it when create is set.
// t.mu must be held.
func (t *tracker) queue(partition map[string]any, create bool) *partQueue {
	if t.last != nil && samePartition(t.last.partition, partition) {
		return t.last
	}
	k := partKey(partition)
	q := t.parts[k]
	if q == nil {
		if !create {
			return nil
		}
		q = &partQueue{partition: partition}
		t.parts[k] = q
	}
	t.last = q
	return q
}

// samePartition reports whether two partitions have the same entries; it
// answers false for values it does not compare (the caller then falls
// back to partKey).
func samePartition(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok {
			return false
		}
		switch x := va.(type) {
		case string:
			if y, ok := vb.(string); !ok || x != y {
				return false
			}
		case int64:
			if y, ok := vb.(int64); !ok || x != y {
				return false
			}
		case int:
			if y, ok := vb.(int); !ok || x != y {
				return false
			}
		case int32:
			if y, ok := vb.(int32); !ok || x != y {
				return false
			}
		case bool:
			if y, ok := vb.(bool); !ok || x != y {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// submit registers a record and blocks while too many are in flight, so a
// fast source cannot outrun Kafka and grow memory without bound.
func (t *tracker) submit(partition, offset map[string]any) (*submitted, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.inflight >= t.limit && t.failed == nil {
		t.countWaiters++
		t.cond.Wait()
		t.countWaiters--
	}
	if t.failed != nil {
		return nil, t.failed
	}
	q := t.queue(partition, true)
	s := &submitted{q: q, offset: offset}
	q.queue = append(q.queue, s)
	t.inflight++
	t.uncommitted++
	return s, nil
}

// reserve accounts n bytes to a submitted record about to be sent,
// blocking while the bytes in flight would exceed the bound. One record
// is always let through, however large, so progress never stops.
//
// Once the bound is reached it waits until acknowledgements have freed
// half of it, not just room for this record: the producer acknowledges
// a whole request's records one by one, and waking the conversion stage
// for each of them made it convert one record per wake-up, the two
// goroutines trading the CPU for every record.
func (t *tracker) reserve(s *submitted, n int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byteLimit > 0 && t.bytes > 0 && t.bytes+n > t.byteLimit {
		wake := max(min(t.byteLimit/2, t.byteLimit-n), 0)
		for t.bytes > wake && t.failed == nil {
			// Several waiters (not the writer's case) wake at the
			// highest mark and each waits again for its own.
			if t.byteWaiters == 0 || wake > t.byteWake {
				t.byteWake = wake
			}
			t.byteWaiters++
			t.cond.Wait()
			t.byteWaiters--
		}
	}
	if t.failed != nil {
		return t.failed
	}
	if !s.acked {
		s.bytes = n
		t.bytes += n
	}
	return nil
}

// cancel withdraws a record that was submitted but never handed to Kafka
// (the send was interrupted). It is the newest of its partition, since the
// writer stops at the first failed send, so it is dropped from the tail;
// its offset is never committed and a restart re-reads it.
func (t *tracker) cancel(partition map[string]any, s *submitted) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if q := t.queue(partition, false); q != nil && len(q.queue) > q.head && q.queue[len(q.queue)-1] == s {
		t.remove(q, len(q.queue)-1)
	}
	t.cond.Broadcast()
}

// withdraw is cancel for the conversion stage when the source stops: the
// record may have newer ones of its partition behind it, but those are
// in the stage's queue, never sent either, and withdrawn after it, so
// removing it from the middle cannot let a commit pass over a record
// that was not delivered. (A parked table's released record is different:
// newer records of its partition were sent; it only ever uses cancel.)
// Withdrawing a record already removed does nothing.
func (t *tracker) withdraw(partition map[string]any, s *submitted) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if q := t.queue(partition, false); q != nil {
		for i := len(q.queue) - 1; i >= q.head; i-- {
			if q.queue[i] == s {
				t.remove(q, i)
				break
			}
		}
	}
	t.cond.Broadcast()
}

// remove drops entry i of q. t.mu must be held.
func (t *tracker) remove(q *partQueue, i int) {
	s := q.queue[i]
	q.queue = append(q.queue[:i], q.queue[i+1:]...)
	t.uncommitted--
	if !s.acked {
		t.inflight--
		t.bytes -= s.bytes
	}
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
		t.bytes -= s.bytes
		if q := s.q; q != nil && q.head < len(q.queue) && q.queue[q.head] == s {
			t.popPrefix(q)
		}
		if !t.ackWakes() {
			return
		}
	}
	t.cond.Broadcast()
}

// ackWakes reports whether an acknowledgement must wake the waiters: the
// last one in flight (drain, waitAcked), room for a waiting submit, or
// the bytes down to a waiting reserve's mark. t.mu must be held.
func (t *tracker) ackWakes() bool {
	return t.inflight == 0 ||
		(t.countWaiters > 0 && t.inflight < t.limit) ||
		(t.byteWaiters > 0 && t.bytes <= t.byteWake)
}

// popPrefix collapses q's acknowledged prefix into q.ready. t.mu must be
// held.
func (t *tracker) popPrefix(q *partQueue) {
	for q.head < len(q.queue) && q.queue[q.head].acked {
		q.ready = q.queue[q.head]
		q.queue[q.head] = nil
		q.head++
		t.popped++
	}
	if q.head == len(q.queue) {
		q.queue, q.head = q.queue[:0], 0
	} else if q.head > 4096 && q.head > len(q.queue)/2 {
		q.queue = append(q.queue[:0], q.queue[q.head:]...)
		q.head = 0
	}
}

// committable pops the acknowledged prefix of every partition and returns
// the newest offset of each.
func (t *tracker) committable() []offsets.Entry {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []offsets.Entry
	t.takenReady = t.takenReady[:0]
	for k, q := range t.parts {
		// ack pops as records are acknowledged; a prefix acknowledged
		// before a withdrawn head was removed is popped here.
		t.popPrefix(q)
		last := q.ready
		q.ready = nil
		if last != nil && last.offset != nil {
			out = append(out, offsets.Entry{Partition: q.partition, Offset: last.offset})
			t.takenReady = append(t.takenReady, last)
		}
		if len(q.queue) == 0 && last == nil {
			delete(t.parts, k)
			if t.last == q {
				t.last = nil
			}
		}
	}
	t.taken += t.popped
	t.popped = 0
	return out
}

// committed records that the offsets taken by the last committable call
// are stored.
func (t *tracker) committed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.uncommitted -= t.taken
	t.taken = 0
	clear(t.takenReady)
	t.takenReady = t.takenReady[:0]
}

// commitFailed gives back the offsets taken by the last committable, whose
// commit failed, so that the next commit stores them unless their queue
// has a newer one by then (a stop that interrupts a periodic commit
// leaves them to the final commit).
func (t *tracker) commitFailed() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.takenReady {
		if s.q.ready == nil {
			s.q.ready = s
		}
	}
	clear(t.takenReady)
	t.takenReady = t.takenReady[:0]
	t.popped += t.taken
	t.taken = 0
}

// allCommitted reports whether every submitted record's offset is stored.
func (t *tracker) allCommitted() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.uncommitted == 0 && t.failed == nil
}

// waitAcked waits until every submitted record is acknowledged, the
// tracker failed (its error is returned) or ctx ends. Unlike drain, giving
// up does not fail the tracker.
func (t *tracker) waitAcked(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.cond.Broadcast()
	})
	defer stop()
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.inflight > 0 && t.failed == nil && ctx.Err() == nil {
		t.cond.Wait()
	}
	return t.failed
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

// hold takes a submitted record out of the in-flight count without
// acknowledging it: it blocks the committable prefix of its partition (a
// parked table's record) but not the drain on stop.
func (t *tracker) hold(s *submitted) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	t.cond.Broadcast()
}

// unhold puts a held record back in flight before it is sent.
func (t *tracker) unhold(s *submitted) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight++
}

// fail fails the tracker (the task stops) unless it failed already.
func (t *tracker) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failed == nil {
		t.failed = err
	}
	t.cond.Broadcast()
}
