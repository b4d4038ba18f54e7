package sinkrunner

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tributary-io/tributary/connect"
)

// Parking holds the topic-partitions a sink task parked because a record
// could not be applied for a schema change (connect.SchemaChangeError):
// state PAUSED_SCHEMA. A parked partition's fetching is paused in the
// consumer group and its offset is committed up to, not past, the record
// that failed; the task's other partitions keep flowing. Resume retries
// that record and those after it, in order.
//
// A partition is parked by the ConsumeClaim of the current group session:
// when the session ends (rebalance, shutdown), the parking ends with it and
// whichever member gets the partition next reads it again from the
// committed offset, and parks it again if the target is still not fixed.
type Parking struct {
	mu       sync.Mutex
	parts    map[topicPartition]*parkedPartition
	onChange func(partitions, held int)
}

type topicPartition struct {
	topic     string
	partition int32
}

func (tp topicPartition) String() string { return tp.topic + "-" + strconv.Itoa(int(tp.partition)) }

type parkedPartition struct {
	info   ParkedPartition
	resume chan struct{}
}

// ParkedPartition describes a parked topic-partition for the status.
type ParkedPartition struct {
	// Table is the target table, as the sink task names it.
	Table     string
	Topic     string
	Partition int32
	// Offset is the Kafka offset of the record that could not be
	// applied: the committed offset of the partition.
	Offset int64
	Reason string
	Since  time.Time
	// Held is the number of records already fetched and held in memory
	// (the failed one and those after it in its batch); the rest wait in
	// Kafka, where fetching is paused.
	Held int
}

// ErrNotParked is returned by Resume when nothing matches.
var ErrNotParked = errors.New("table is not parked")

// NewParking returns an empty parking; onChange, if not nil, is called
// with the number of parked partitions and held records whenever they
// change (for metrics).
func NewParking(onChange func(partitions, held int)) *Parking {
	return &Parking{parts: map[topicPartition]*parkedPartition{}, onChange: onChange}
}

// Partitions lists the parked partitions, by topic and partition.
func (p *Parking) Partitions() []ParkedPartition {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ParkedPartition, 0, len(p.parts))
	for _, pp := range p.parts {
		out = append(out, pp.info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// Resume asks the task to retry the parked partitions that name matches:
// the target table (every partition parked for it), a topic (each of its
// parked partitions) or one partition as "<topic>-<partition>". It returns
// at once; the outcome shows in Partitions and the log.
func (p *Parking) Resume(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for tp, pp := range p.parts {
		if pp.info.Table != name && tp.topic != name && tp.String() != name {
			continue
		}
		select {
		case pp.resume <- struct{}{}:
		default: // already asked
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: %s", ErrNotParked, name)
	}
	return nil
}

func (p *Parking) add(info ParkedPartition) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	pp := &parkedPartition{info: info, resume: make(chan struct{}, 1)}
	p.parts[topicPartition{info.Topic, info.Partition}] = pp
	p.changed()
	return pp.resume
}

func (p *Parking) remove(topic string, partition int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.parts, topicPartition{topic, partition})
	p.changed()
}

// changed reports the counts; the caller holds p.mu.
func (p *Parking) changed() {
	if p.onChange == nil {
		return
	}
	held := 0
	for _, pp := range p.parts {
		held += pp.info.Held
	}
	p.onChange(len(p.parts), held)
}

// pauser is the part of sarama's consumer group that parking needs.
type pauser interface {
	Pause(partitions map[string][]int32)
	Resume(partitions map[string][]int32)
}

// park parks m's partition after the task refused m for a schema change
// and waits for Resume (true) or the end of the session (false). The
// caller holds r.mu, which park releases while it waits so that the other
// partitions keep being delivered.
func (r *runner) park(ctx context.Context, m *sarama.ConsumerMessage, sce *connect.SchemaChangeError, held int) bool {
	parts := map[string][]int32{m.Topic: {m.Partition}}
	if r.group != nil {
		r.group.Pause(parts)
	}
	resume := r.parking.add(ParkedPartition{Table: sce.Table, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
		Reason: sce.Error(), Since: time.Now(), Held: held})
	r.log.Error("partition parked (PAUSED_SCHEMA): a schema change cannot be applied to the target; the other partitions keep flowing; fix the target, then POST /connectors/{name}/tables/{table}/resume",
		"table", sce.Table, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "held", held, "reason", sce.Error())
	r.mu.Unlock()
	defer r.mu.Lock()
	defer func() {
		r.parking.remove(m.Topic, m.Partition)
		if r.group != nil {
			r.group.Resume(parts)
		}
	}()
	select {
	case <-resume:
		r.log.Info("parked partition resumed; retrying from the record that failed", "table", sce.Table, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset)
		return true
	case <-ctx.Done():
		return false
	}
}
