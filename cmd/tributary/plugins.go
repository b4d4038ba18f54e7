package main

import (
	"log/slog"

	"github.com/tributary-io/tributary/internal/connect"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/transforms"
)

// plugins lists every connector class built into the binary.
func plugins() connect.Plugins {
	return connect.Plugins{}
}

// converters knows the built-in converter classes.
func converters() *converter.Factory {
	return &converter.Factory{}
}

func transformRegistry() transforms.Registry {
	return transforms.Builtin(slog.Default())
}
