package transforms

import (
	"fmt"

	"github.com/tributary-io/tributary/connect"
)

// ApplyTraced is Apply that also reports which transform failed, so a
// runtime can name the failing stage (alias and class) in dead letter queue
// headers and error logs. alias is "" when err is nil.
func (c Chain) ApplyTraced(rec *connect.Record) (out *connect.Record, alias string, err error) {
	for _, nt := range c {
		next, err := nt.apply(rec)
		if err != nil {
			return nil, nt.alias, fmt.Errorf("transform %q: %w", nt.alias, err)
		}
		if next == nil {
			return nil, "", nil
		}
		rec = next
	}
	return rec, "", nil
}

// Aliases lists the transform aliases in chain order.
func (c Chain) Aliases() []string {
	out := make([]string, len(c))
	for i, nt := range c {
		out[i] = nt.alias
	}
	return out
}
