package runtime

import (
	"log/slog"
	"sort"
	"strconv"
	"time"
)

// The producer retries without limit (delivery.timeout.ms is Kafka
// Connect's MAX_INT), so a frozen or unreachable broker used to leave no
// trace at all: records simply stopped being acknowledged. brokerWait
// warns when records have waited longer than a threshold, naming where
// they wait, and says when they got through.

// sending stamps a record handed to the producer.
func (t *tracker) sending(s *submitted, topic string, partition int32) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s.sentAt, s.topic, s.partition = time.Now(), topic, partition
}

// waitingGroup is what waits for one topic partition (-1: partitioned by
// key, the producer picks the partition).
type waitingGroup struct {
	topic     string
	partition int32
	records   int
	oldest    time.Time
}

// waiting returns the records sent before cutoff and not acknowledged,
// grouped by topic and partition, or nil when there are none. Records
// are sent in submission order, so the first unacknowledged sent record
// of a queue is its oldest: the full scan runs only when one is old.
func (t *tracker) waiting(cutoff time.Time) []waitingGroup {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := false
	for _, q := range t.parts {
		for _, s := range q.queue[q.head:] {
			if s.acked || s.sentAt.IsZero() {
				continue
			}
			old = old || s.sentAt.Before(cutoff)
			break
		}
	}
	if !old {
		return nil
	}
	type key struct {
		topic     string
		partition int32
	}
	groups := map[key]*waitingGroup{}
	for _, q := range t.parts {
		for _, s := range q.queue[q.head:] {
			if s.acked || s.sentAt.IsZero() || !s.sentAt.Before(cutoff) {
				continue
			}
			k := key{s.topic, s.partition}
			g := groups[k]
			if g == nil {
				g = &waitingGroup{topic: s.topic, partition: s.partition, oldest: s.sentAt}
				groups[k] = g
			}
			g.records++
			if s.sentAt.Before(g.oldest) {
				g.oldest = s.sentAt
			}
		}
	}
	out := make([]waitingGroup, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].topic != out[j].topic {
			return out[i].topic < out[j].topic
		}
		return out[i].partition < out[j].partition
	})
	return out
}

// brokerWait logs, at most once per threshold, the records that have
// waited longer than threshold for Kafka, and once when they no longer do.
type brokerWait struct {
	tr        *tracker
	log       *slog.Logger
	threshold time.Duration
	warnedAt  time.Time // last warning; zero while nothing waits
	since     time.Time // oldest wait when the first warning was given
}

// maxWaitGroups bounds the topic partitions one warning names.
const maxWaitGroups = 5

func (b *brokerWait) check(now time.Time) {
	groups := b.tr.waiting(now.Add(-b.threshold))
	if len(groups) == 0 {
		if !b.warnedAt.IsZero() {
			b.log.Info("Kafka acknowledged the records that were waiting", "waited", now.Sub(b.since).Round(time.Second).String())
			b.warnedAt, b.since = time.Time{}, time.Time{}
		}
		return
	}
	if !b.warnedAt.IsZero() && now.Sub(b.warnedAt) < b.threshold {
		return
	}
	total := 0
	oldest := now
	for _, g := range groups {
		total += g.records
		if g.oldest.Before(oldest) {
			oldest = g.oldest
		}
	}
	if b.since.IsZero() {
		b.since = oldest
	}
	b.warnedAt = now
	shown := groups
	if len(shown) > maxWaitGroups {
		shown = shown[:maxWaitGroups]
	}
	where := make([]string, 0, len(shown))
	for _, g := range shown {
		where = append(where, g.String())
	}
	b.log.Warn("records are waiting for the Kafka broker's acknowledgement; the producer keeps retrying (is the broker down, frozen or unreachable?)",
		"records", total, "oldest", now.Sub(oldest).Round(time.Second).String(), "threshold", b.threshold.String(),
		"waiting", where, "topic_partitions", len(groups))
}

func (g waitingGroup) String() string {
	p := "partition by key"
	if g.partition >= 0 {
		p = "partition " + strconv.Itoa(int(g.partition))
	}
	return g.topic + " (" + p + "): " + strconv.Itoa(g.records) + " records"
}
