package config_test

import (
	"errors"
	"fmt"

	"github.com/tributary-io/tributary/connect/config"
)

// A connector's properties, defined as Kafka's ConfigDef defines them and
// parsed from what the user wrote.
func ExampleDef_Parse() {
	def := config.NewDef().
		Define(config.Key{Name: "topic", Type: config.TypeString, Required: true, Doc: "the topic to write to"}).
		Define(config.Key{Name: "batch.size", Type: config.TypeInt, Default: "100", HasDefault: true, Doc: "records per write"}).
		Define(config.Key{Name: "mode", Type: config.TypeString, Default: "append", HasDefault: true,
			OneOf: []string{"append", "upsert"}, Doc: "how rows are written"})

	v, err := def.Parse(map[string]string{"topic": "orders", "mode": "UPSERT"})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.String("topic"), v.Int("batch.size"), v.Lower("mode"), v.IsSet("batch.size"))

	// Every problem is reported at once, each naming its property; an
	// unknown one names the closest known property.
	_, err = def.Parse(map[string]string{"batch.sise": "10", "mode": "merge"})
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Println(e)
		}
	}
	// Output:
	// orders 100 upsert false
	// batch.sise: unknown property (did you mean "batch.size"?)
	// topic: missing required property (the topic to write to)
	// mode="merge": must be one of append, upsert
}
