package runtime

import (
	"fmt"
	"sort"
	"strings"
)

// CheckConflicts refuses connectors that would fight over one resource:
// two with the same name (they would share offsets), two on one
// PostgreSQL replication slot (one drops or steals the other's slot) and
// two with one MySQL/MariaDB server id on one server (the server
// disconnects the older replica of an id when the newer one connects).
func CheckConflicts(cs []*Connector) error {
	var problems []string
	names := map[string]bool{}
	owners := map[string]string{}
	for _, c := range cs {
		if names[c.Name] {
			problems = append(problems, fmt.Sprintf("connector %q is defined twice; connector names must be unique", c.Name))
			continue
		}
		names[c.Name] = true
		for _, r := range resources(c) {
			if other, ok := owners[r]; ok {
				problems = append(problems, fmt.Sprintf("connectors %q and %q both use %s", other, c.Name, r))
				continue
			}
			owners[r] = c.Name
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

// resources names what c holds exclusively on its database server.
func resources(c *Connector) []string {
	v := c.Values
	server := strings.ToLower(v.String("database.hostname")) + ":" + v.String("database.port")
	var out []string
	if v.Defines("slot.name") && v.Defines("database.dbname") {
		out = append(out, fmt.Sprintf("replication slot %q of database %q on %s (set slot.name)", v.String("slot.name"), v.String("database.dbname"), server))
	}
	// Without database.server.id Tributary picks a random one, as Debezium.
	if v.Defines("database.server.id") && v.IsSet("database.server.id") {
		out = append(out, fmt.Sprintf("database.server.id=%s on %s (each binlog client needs its own)", v.String("database.server.id"), server))
	}
	return out
}
