// Package bus is the line between "what changed" and "where it goes" for
// event buses other than Kafka (NATS JetStream, HTTP webhooks, Redis
// Streams). A Publisher delivers already-encoded messages and returns only
// once the bus has acknowledged them; the same publisher serves a Kafka
// Connect–style sink connector (SinkTask, fed by internal/sinkrunner) and a
// Kafka-less pipeline (internal/pipeline, fed by a source connector), so
// batching, retries and ordering are written once per bus.
package bus

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Header is a message header, already rendered to bytes.
type Header struct {
	Key   string
	Value []byte
}

// Message is one event ready for a bus.
type Message struct {
	// Topic is the Kafka topic the record was read from, or (in a
	// Kafka-less pipeline) the topic the source connector and transforms
	// chose. Templates expand ${topic} from it.
	Topic string
	// Partition and Offset are the Kafka coordinates of a record read from
	// Kafka; -1 in a pipeline.
	Partition int32
	Offset    int64
	// ID identifies the event across redeliveries, so that buses with
	// de-duplication (JetStream's Nats-Msg-Id) store it once.
	ID         string
	Key, Value []byte
	Headers    []Header
	Timestamp  time.Time
}

// Coords names the message in errors and logs.
func (m *Message) Coords() string {
	if m.Offset >= 0 {
		return fmt.Sprintf("topic=%s partition=%d offset=%d", m.Topic, m.Partition, m.Offset)
	}
	return fmt.Sprintf("topic=%s id=%s", m.Topic, m.ID)
}

// Publisher delivers messages to a bus. Publish returns nil once the bus
// has durably accepted every message of msgs. It returns a *RejectedError
// when one message can never be delivered as it is (an invalid subject, a
// 4xx answer): the caller then applies errors.tolerance to that message.
// It returns a *DestinationError when one message's destination does not
// exist on the bus (every message before it was delivered).
// Any other error leaves the batch to be retried as a whole; publishers
// must make such retries harmless or document the duplicates.
// Publish is not called concurrently.
type Publisher interface {
	Publish(ctx context.Context, msgs []*Message) error
	Close() error
}

// RejectedError says that msgs[Index] was refused for what it is.
type RejectedError struct {
	Index int
	Err   error
}

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// DestinationError says that msgs[Index] cannot be delivered until the
// bus is changed for its destination: JetStream answers, but no stream
// stores its subject. It is neither the message's fault (no dead letter
// queue) nor a passing failure of the bus, and it concerns one
// destination, so a sink connector parks the record's partition
// (connect.SchemaChangeError) while the other partitions flow, and resumes
// it on request once the destination exists.
type DestinationError struct {
	Index       int
	Destination string // the subject
	Err         error
}

func (e *DestinationError) Error() string { return e.Err.Error() }
func (e *DestinationError) Unwrap() error { return e.Err }

// IsDestination returns the DestinationError in err's chain.
func IsDestination(err error) (*DestinationError, bool) {
	var d *DestinationError
	ok := errors.As(err, &d)
	return d, ok
}

// TransientError is a failure of the bus, not of the messages (server
// unreachable, timeout, 5xx): the batch is retried. It satisfies the
// sink runner's Retriable interface.
type TransientError struct{ Err error }

func (e *TransientError) Error() string   { return e.Err.Error() }
func (e *TransientError) Unwrap() error   { return e.Err }
func (e *TransientError) Retriable() bool { return true }

// Transient wraps err as a TransientError unless it already is one or is a
// RejectedError or a DestinationError; nil stays nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	var t *TransientError
	var r *RejectedError
	var d *DestinationError
	if errors.As(err, &t) || errors.As(err, &r) || errors.As(err, &d) {
		return err
	}
	return &TransientError{Err: err}
}

// IsRejected returns the RejectedError in err's chain.
func IsRejected(err error) (*RejectedError, bool) {
	var r *RejectedError
	ok := errors.As(err, &r)
	return r, ok
}
