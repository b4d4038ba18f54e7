package postgres

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/runtime"
)

// TestInventoryDemo loads the demo's connector file and SQL: the file is a
// valid configuration and snapshots the whole tutorial schema.
func TestInventoryDemo(t *testing.T) {
	f, err := config.LoadFile(filepath.Join("..", "..", "testdata", "postgres-inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Connectors) != 1 || f.Connectors[0].Name != "inventory-connector" {
		t.Fatalf("connectors: %+v", f.Connectors)
	}
	c, err := runtime.ParseConnector(connect.Plugins{Plugin()}, f.Connectors[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Plugin.Class != Class {
		t.Fatalf("class %s", c.Plugin.Class)
	}
	sql, err := os.ReadFile(filepath.Join("..", "..", "testdata", "postgres-inventory.sql"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.pg.CreateDatabase(t, "inventory")
	e.db = "inventory"
	e.exec(t, string(sql))
	props := map[string]string{}
	for k, v := range f.Connectors[0].Config {
		if k != "connector.class" && k != "tasks.max" {
			props[k] = v
		}
	}
	props["database.hostname"], props["database.port"] = e.pg.Host, fmt.Sprint(e.pg.Port)
	props["database.sslmode"] = "disable"
	r := startTask(t, props, nil, nil)
	recs := r.cap.waitFor(t, 26, isData("dbserver1"))
	counts := map[string]int{}
	for _, rec := range recs {
		counts[rec.Topic]++
	}
	want := map[string]int{"dbserver1.inventory.customers": 4, "dbserver1.inventory.products": 9,
		"dbserver1.inventory.products_on_hand": 9, "dbserver1.inventory.orders": 4}
	for topic, n := range want {
		if counts[topic] != n {
			t.Errorf("%s: %d records, want %d", topic, counts[topic], n)
		}
	}
}
