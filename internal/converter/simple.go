package converter

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// StringConverter is Kafka Connect's StringConverter: values are written
// with their string form, read back as optional strings.
type StringConverter struct{}

func (StringConverter) FromConnect(_ string, _ *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok {
		return []byte(s), nil
	}
	return []byte(fmt.Sprint(v)), nil
}

func (StringConverter) ToConnect(_ string, data []byte) (*connect.Schema, any, error) {
	if data == nil {
		return connect.OptionalPrim(connect.String), nil, nil
	}
	return connect.OptionalPrim(connect.String), string(data), nil
}

// ByteArrayConverter is Kafka Connect's ByteArrayConverter.
type ByteArrayConverter struct{}

func (ByteArrayConverter) FromConnect(topic string, s *connect.Schema, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("topic %s: ByteArrayConverter is not compatible with objects of type %T", topic, v)
	}
	return b, nil
}

func (ByteArrayConverter) ToConnect(_ string, data []byte) (*connect.Schema, any, error) {
	return connect.OptionalPrim(connect.Bytes), data, nil
}

// Factory builds a converter from a class name and its properties. Extra
// classes (Avro, which needs a schema registry) are added by the caller.
type Factory struct {
	Extra map[string]func(props map[string]string, isKey bool) (Converter, error)
}

// New returns the converter for class (full Java name or short alias).
func (f *Factory) New(class string, props map[string]string, isKey bool) (Converter, error) {
	switch strings.TrimSpace(class) {
	case JSONClass, "json", "":
		return NewJSON(props)
	case StringClass, "string":
		if e, ok := props["converter.encoding"]; ok {
			if n := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(e), "-", "")); n != "UTF8" {
				return nil, fmt.Errorf("converter.encoding=%q: only UTF-8 is implemented", e)
			}
		}
		return StringConverter{}, nil
	case ByteArrayClass, "bytes":
		return ByteArrayConverter{}, nil
	}
	if mk, ok := f.Extra[class]; ok {
		return mk(props, isKey)
	}
	return nil, fmt.Errorf("unknown converter class %q", class)
}
