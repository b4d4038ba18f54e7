package connect

// Converter serialises records' keys or values for Kafka and back (Kafka
// Connect's Converter), as key.converter and value.converter name it.
// FromConnect is called for what a source writes, ToConnect for what a
// sink reads.
type Converter interface {
	FromConnect(topic string, s *Schema, v any) ([]byte, error)
	ToConnect(topic string, data []byte) (*Schema, any, error)
}

// ConverterFactory builds a converter from its properties
// (key.converter.* or value.converter.*, the prefix removed); isKey tells
// which side of the record it converts.
type ConverterFactory func(props map[string]string, isKey bool) (Converter, error)
