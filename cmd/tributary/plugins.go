package main

import (
	"log/slog"

	jdbcsource "github.com/tributary-io/tributary/connectors/jdbc"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/transforms"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	jdbcsink "github.com/tributary-io/tributary/sinks/jdbc"
	natssink "github.com/tributary-io/tributary/sinks/nats"
	redissink "github.com/tributary-io/tributary/sinks/redis"
	"github.com/tributary-io/tributary/sinks/webhook"
)

// plugins lists every connector class built into the binary.
func plugins() connect.Plugins {
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

// converters knows the built-in converter classes.
func converters() *converter.Factory {
	return &converter.Factory{Extra: map[string]func(map[string]string, bool) (converter.Converter, error){
		converter.AvroClass:       avroConverter,
		"avro":                    avroConverter,
		jsonschema.ConverterClass: jsonSchemaConverter,
		protobuf.ConverterClass:   protobufConverter,
	}}
}

// jsonSchemaConverter builds io.confluent.connect.json.JsonSchemaConverter.
func jsonSchemaConverter(props map[string]string, isKey bool) (converter.Converter, error) {
	return jsonschema.New(props, isKey)
}

// protobufConverter builds io.confluent.connect.protobuf.ProtobufConverter.
func protobufConverter(props map[string]string, isKey bool) (converter.Converter, error) {
	return protobuf.New(props, isKey)
}

func transformRegistry() transforms.Registry {
	return transforms.Builtin(slog.Default())
}
