package cli

import (
	"log/slog"

	"github.com/tributary-io/tributary/connect"
	jdbcsource "github.com/tributary-io/tributary/connectors/jdbc"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/transforms"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	jdbcsink "github.com/tributary-io/tributary/sinks/jdbc"
	natssink "github.com/tributary-io/tributary/sinks/nats"
	redissink "github.com/tributary-io/tributary/sinks/redis"
	"github.com/tributary-io/tributary/sinks/webhook"
)

// Extensions are what a custom binary adds to the built-in connectors,
// converters and transforms. A class or alias that clashes with a
// built-in one replaces it.
type Extensions struct {
	// Plugins are connector classes (source or sink).
	Plugins connect.Plugins
	// Transforms are single message transforms by class name (and any
	// short aliases), as transforms.<alias>.type names them.
	Transforms map[string]connect.TransformFactory
	// Predicates are transform predicates by class name (and any short
	// aliases), as predicates.<alias>.type names them. Transforms and
	// predicates share one namespace, as in Kafka Connect.
	Predicates map[string]connect.PredicateFactory
	// Converters are converter classes, as key.converter/value.converter
	// name them.
	Converters map[string]connect.ConverterFactory
}

// plugins lists every connector class of the binary: ext's, then the
// built-in ones (Lookup returns the first match, so ext's win).
func (g *globalFlags) plugins() connect.Plugins {
	return append(append(connect.Plugins{}, g.ext.Plugins...), builtinPlugins()...)
}

// builtinPlugins lists every connector class built into tributary.
func builtinPlugins() connect.Plugins {
	return connect.Plugins{
		postgres.Plugin(),
		mysql.Plugin(),
		mysql.MariaDBPlugin(),
		jdbcsource.Plugin(),
		jdbcsink.Plugin(),
		jdbcsink.ConfluentPlugin(),
		natssink.Plugin(),
		webhook.Plugin(),
		redissink.Plugin(),
	}
}

// converters knows the built-in converter classes and ext's.
func (g *globalFlags) converters() *converter.Factory {
	extra := map[string]func(map[string]string, bool) (converter.Converter, error){
		converter.AvroClass:       avroConverter,
		"avro":                    avroConverter,
		jsonschema.ConverterClass: jsonSchemaConverter,
		protobuf.ConverterClass:   protobufConverter,
	}
	for class, mk := range g.ext.Converters {
		extra[class] = func(props map[string]string, isKey bool) (converter.Converter, error) {
			return mk(props, isKey)
		}
	}
	return &converter.Factory{Extra: extra}
}

// jsonSchemaConverter builds io.confluent.connect.json.JsonSchemaConverter.
func jsonSchemaConverter(props map[string]string, isKey bool) (converter.Converter, error) {
	return jsonschema.New(props, isKey)
}

// protobufConverter builds io.confluent.connect.protobuf.ProtobufConverter.
func protobufConverter(props map[string]string, isKey bool) (converter.Converter, error) {
	return protobuf.New(props, isKey)
}

func (g *globalFlags) transformRegistry() transforms.Registry {
	r := transforms.Builtin(slog.Default())
	for class, f := range g.ext.Transforms {
		r[class] = transforms.Class{Transform: f}
	}
	for class, f := range g.ext.Predicates {
		r[class] = transforms.Class{Predicate: f}
	}
	return r
}
