// Command tributary runs Debezium-compatible connectors without Kafka
// Connect: one static binary reading connector YAML/JSON configs.
package main

import (
	"os"

	"github.com/tributary-io/tributary/cli"
)

func main() {
	os.Exit(cli.Main(cli.Extensions{}))
}
