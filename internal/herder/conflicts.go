package herder

import (
	"sort"
	"strings"

	"github.com/tributary-io/tributary/internal/runtime"
)

// checkConflicts refuses a connector configuration that would share a
// database resource with another connector of the cluster: a PostgreSQL
// replication slot or a MySQL/MariaDB server id on one server (see
// runtime.CheckConflicts). The config topic holds every connector of the
// cluster, so the leader sees them all, whichever worker runs them. A
// connector whose stored configuration no longer parses is left out: it
// cannot run, so it holds nothing.
func (h *Herder) checkConflicts(cc *ClusterConfig, name string, props map[string]string) error {
	names := make([]string, 0, len(cc.Connectors))
	for n := range cc.Connectors {
		if n != name {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var conns []*runtime.Connector
	add := func(n string, p map[string]string) bool {
		pl, ok := h.o.Plugins.Lookup(strings.TrimSpace(p["connector.class"]))
		if !ok {
			return false
		}
		c, err := parseWith(pl, n, p)
		if err != nil {
			return false
		}
		conns = append(conns, c)
		return true
	}
	for _, n := range names {
		add(n, cc.Connectors[n])
	}
	if !add(name, props) {
		return nil // validate reported why it does not parse
	}
	if err := runtime.CheckConflicts(conns); err != nil {
		return badRequest("Connector configuration is invalid: %s", err)
	}
	return nil
}
