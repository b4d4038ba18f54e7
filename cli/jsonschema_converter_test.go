package cli

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
)

// TestJSONSchemaConverterClass: io.confluent.connect.json.JsonSchemaConverter
// is a built-in converter class, and its properties are validated.
func TestJSONSchemaConverterClass(t *testing.T) {
	c, err := builtin().converters().New(jsonschema.ConverterClass, map[string]string{"schema.registry.url": "http://127.0.0.1:1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*jsonschema.Converter); !ok {
		t.Fatalf("converter is %T", c)
	}
	if _, err := builtin().converters().New(jsonschema.ConverterClass, map[string]string{"schema.registry.url": "http://x", "use.latest.version": "true"}, false); err == nil || !strings.Contains(err.Error(), "use.latest.version") {
		t.Fatalf("unsupported property: %v", err)
	}
}

// TestProtobufConverterClass: io.confluent.connect.protobuf.ProtobufConverter
// is a built-in converter class.
func TestProtobufConverterClass(t *testing.T) {
	c, err := builtin().converters().New(protobuf.ConverterClass, map[string]string{"schema.registry.url": "http://127.0.0.1:1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*protobuf.Converter); !ok {
		t.Fatalf("converter is %T", c)
	}
}
