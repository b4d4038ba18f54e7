package bus

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
)

// EncoderDef is the property of every bus sink connector that says how
// record keys and values read from Kafka become message bytes.
func EncoderDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "json.schemas.enable", Type: config.TypeBoolean, Default: "false",
		Doc: "structured keys and values are written as JSON (JsonConverter); this adds its schema envelope. " +
			"Bytes and strings (ByteArrayConverter, StringConverter) are written unchanged."})
	return d
}

// Encoder turns Connect records into messages.
type Encoder struct {
	json *converter.JSON
}

// NewEncoder reads EncoderDef's properties.
func NewEncoder(v *config.Values) (*Encoder, error) {
	schemas := "false"
	if v.Defines("json.schemas.enable") && v.Bool("json.schemas.enable") {
		schemas = "true"
	}
	j, err := converter.NewJSON(map[string]string{"schemas.enable": schemas})
	if err != nil {
		return nil, fmt.Errorf("json.schemas.enable: %w", err)
	}
	return &Encoder{json: j}, nil
}

// Encode renders r. Bytes and strings are passed through, so that with
// ByteArrayConverter a record's bytes reach the bus exactly as they were
// in Kafka.
func (e *Encoder) Encode(r *connect.Record) (*Message, error) {
	m := &Message{Topic: r.Topic, Partition: r.Partition, Offset: r.KafkaOffset, Timestamp: r.Timestamp,
		ID: fmt.Sprintf("%s-%d-%d", r.Topic, r.Partition, r.KafkaOffset)}
	var err error
	if m.Key, err = e.bytes(r.Topic, r.KeySchema, r.Key); err != nil {
		return nil, fmt.Errorf("encoding key: %w", err)
	}
	if m.Value, err = e.bytes(r.Topic, r.ValueSchema, r.Value); err != nil {
		return nil, fmt.Errorf("encoding value: %w", err)
	}
	for _, h := range r.Headers {
		hv, err := headerBytes(e.json, h)
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", h.Key, err)
		}
		m.Headers = append(m.Headers, Header{Key: h.Key, Value: hv})
	}
	return m, nil
}

func (e *Encoder) bytes(topic string, s *connect.Schema, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []byte:
		if s == nil || s.Type == connect.Bytes {
			return x, nil
		}
	case string:
		if s == nil || s.Type == connect.String {
			return []byte(x), nil
		}
	}
	return e.json.FromConnect(topic, s, v)
}

// headerBytes renders a header as Kafka Connect's SimpleHeaderConverter
// does: bytes and strings as they are, structs as JSON, other values in
// their text form.
func headerBytes(j *converter.JSON, h connect.Header) ([]byte, error) {
	switch v := h.Value.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	case *connect.StructValue:
		return j.FromConnect("", h.Schema, v)
	}
	return []byte(fmt.Sprint(h.Value)), nil
}

// SinkTask is a connect.SinkTask that publishes every batch with a
// Publisher. A message the bus rejects fails Put with a plain error
// naming the record, which the sink runner isolates and hands to
// errors.tolerance and the dead letter queue; a message whose destination
// does not exist on the bus is a connect.SchemaChangeError, for which the
// runner parks the record's partition (docs/parking.md); a failure of the
// bus is a TransientError, which the runner retries with backoff.
type SinkTask struct {
	Pub Publisher
	Enc *Encoder
	Log *slog.Logger
}

var _ connect.SinkTask = (*SinkTask)(nil)

// Put implements connect.SinkTask.
func (t *SinkTask) Put(ctx context.Context, recs []*connect.Record) error {
	msgs := make([]*Message, 0, len(recs))
	for _, r := range recs {
		m, err := t.Enc.Encode(r)
		if err != nil {
			return fmt.Errorf("record topic=%s partition=%d offset=%d: %w", r.Topic, r.Partition, r.KafkaOffset, err)
		}
		msgs = append(msgs, m)
	}
	err := t.Pub.Publish(ctx, msgs)
	if err == nil {
		return nil
	}
	if rej, ok := IsRejected(err); ok {
		return fmt.Errorf("record %s rejected: %w", msgs[rej.Index].Coords(), rej.Err)
	}
	if d, ok := IsDestination(err); ok {
		// The sink runner isolates the record and parks its partition.
		return &connect.SchemaChangeError{Table: d.Destination, Reason: fmt.Sprintf("record %s has no destination on the bus", msgs[d.Index].Coords()), Err: d.Err}
	}
	return Transient(err)
}

// Close implements connect.SinkTask.
func (t *SinkTask) Close() error { return t.Pub.Close() }
