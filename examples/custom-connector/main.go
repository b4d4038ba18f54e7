// Command tributary-custom is the tributary command with a connector and a
// transform of its own: everything tributary does (run, standalone,
// distributed, validate, plugins...), plus the counter source and the
// UpperCase transform.
//
//	go build -o tributary-custom .
//	./tributary-custom run -c example.yaml
package main

import (
	"os"

	"github.com/tributary-io/tributary/cli"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/examples/custom-connector/counter"
	"github.com/tributary-io/tributary/examples/custom-connector/upper"
)

func main() {
	os.Exit(cli.Main(cli.Extensions{
		Plugins: connect.Plugins{counter.Plugin()},
		Transforms: map[string]connect.TransformFactory{
			upper.Class: upper.New,
			"UpperCase": upper.New,
		},
	}))
}
