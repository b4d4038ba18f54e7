// Package avro is Confluent's AvroConverter for Tributary: it maps Kafka
// Connect schemas to Avro exactly as Confluent's AvroData does (FromConnect,
// Schema.String renders the text Avro Java registers), encodes Connect
// values to Avro binary with an encoder compiled per schema, frames them in
// Confluent's wire format (a zero magic byte, the 4-byte big-endian schema
// id, then Avro binary), registers schemas through a schema registry with
// Confluent's subject name strategies, and reads framed data back into
// Connect schemas and values (ToConnect) for sinks.
//
// Serde is a lower-level goavro-based codec for goavro native values.
package avro

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// MagicByte opens every Confluent-framed message.
const MagicByte = 0

// HeaderLen is the size of the magic byte plus the schema id.
const HeaderLen = 5

// ErrNotFramed reports data that is not in Confluent's wire format.
var ErrNotFramed = errors.New("not a Confluent schema registry framed message")

// AppendFrame appends the header for schema id and then payload to dst.
func AppendFrame(dst []byte, id int, payload []byte) ([]byte, error) {
	if id < 0 || id > math.MaxUint32 {
		return nil, fmt.Errorf("schema id %d does not fit the wire format's 4 bytes", id)
	}
	dst = append(dst, MagicByte)
	dst = binary.BigEndian.AppendUint32(dst, uint32(id))
	return append(dst, payload...), nil
}

// SplitFrame returns the schema id and the Avro payload of a framed message.
// The payload aliases msg.
func SplitFrame(msg []byte) (id int, payload []byte, err error) {
	if len(msg) < HeaderLen {
		return 0, nil, fmt.Errorf("%w: %d bytes, the header alone is %d", ErrNotFramed, len(msg), HeaderLen)
	}
	if msg[0] != MagicByte {
		return 0, nil, fmt.Errorf("%w: unknown magic byte %d", ErrNotFramed, msg[0])
	}
	return int(binary.BigEndian.Uint32(msg[1:HeaderLen])), msg[HeaderLen:], nil
}
