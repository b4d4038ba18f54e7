// Package converter turns Connect keys and values into the bytes written to
// Kafka and back, as Kafka Connect's Converter interface does.
package converter

import (
	"github.com/tributary-io/tributary/connect"
)

// Converter serialises one side (key or value) of a record.
type Converter interface {
	FromConnect(topic string, s *connect.Schema, v any) ([]byte, error)
	ToConnect(topic string, data []byte) (*connect.Schema, any, error)
}

// Class names accepted in key.converter / value.converter.
const (
	JSONClass      = "org.apache.kafka.connect.json.JsonConverter"
	StringClass    = "org.apache.kafka.connect.storage.StringConverter"
	ByteArrayClass = "org.apache.kafka.connect.converters.ByteArrayConverter"
	AvroClass      = "io.confluent.connect.avro.AvroConverter"
)
