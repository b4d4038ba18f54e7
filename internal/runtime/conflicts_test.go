package runtime_test

import (
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/runtime"
)

func TestCheckConflicts(t *testing.T) {
	plugins := connect.Plugins{postgres.Plugin(), mysql.Plugin(), mysql.MariaDBPlugin()}
	pg := func(name string, kv ...string) config.Connector {
		c := map[string]string{"connector.class": postgres.Class, "database.hostname": "db1", "database.user": "u",
			"database.dbname": "inventory", "topic.prefix": name}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return config.Connector{Name: name, Config: c}
	}
	my := func(class, name string, kv ...string) config.Connector {
		c := map[string]string{"connector.class": class, "database.hostname": "db2", "database.user": "u",
			"topic.prefix": name, "schema.history.internal.kafka.topic": "h." + name}
		for i := 0; i+1 < len(kv); i += 2 {
			c[kv[i]] = kv[i+1]
		}
		return config.Connector{Name: name, Config: c}
	}
	for _, tc := range []struct {
		name string
		cs   []config.Connector
		want string // "" no conflict
	}{
		{"same name", []config.Connector{pg("a", "slot.name", "s1"), pg("a", "slot.name", "s2")}, `connector "a" is defined twice`},
		{"same default slot", []config.Connector{pg("a"), pg("b")}, `connectors "a" and "b" both use replication slot "debezium" of database "inventory" on db1:5432`},
		{"same explicit slot", []config.Connector{pg("a", "slot.name", "s"), pg("b", "slot.name", "s")}, `replication slot "s"`},
		{"other slot", []config.Connector{pg("a"), pg("b", "slot.name", "s2")}, ""},
		{"other database", []config.Connector{pg("a"), pg("b", "database.dbname", "other")}, ""},
		{"other server", []config.Connector{pg("a"), pg("b", "database.hostname", "db3")}, ""},
		{"other port", []config.Connector{pg("a"), pg("b", "database.port", "5433")}, ""},
		{"same server id", []config.Connector{my("io.debezium.connector.mysql.MySqlConnector", "m1", "database.server.id", "184054"),
			my("io.debezium.connector.mariadb.MariaDbConnector", "m2", "database.server.id", "184054")}, `connectors "m1" and "m2" both use database.server.id=184054 on db2:3306`},
		{"server ids differ", []config.Connector{my("io.debezium.connector.mysql.MySqlConnector", "m1", "database.server.id", "1"),
			my("io.debezium.connector.mysql.MySqlConnector", "m2", "database.server.id", "2")}, ""},
		{"same id other server", []config.Connector{my("io.debezium.connector.mysql.MySqlConnector", "m1", "database.server.id", "1"),
			my("io.debezium.connector.mysql.MySqlConnector", "m2", "database.server.id", "1", "database.hostname", "db4")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs []*runtime.Connector
			for _, c := range tc.cs {
				pc, err := runtime.ParseConnector(plugins, c)
				if err != nil {
					t.Fatal(err)
				}
				cs = append(cs, pc)
			}
			err := runtime.CheckConflicts(cs)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected conflict: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
