package mysql

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tributary-io/tributary/connect/config"
)

// TestInventoryDemo loads testdata/mariadb-inventory.sql and runs the
// connector configured by testdata/mariadb-inventory.yaml (pointed at the
// test's server) through a snapshot of every inventory table.
func TestInventoryDemo(t *testing.T) {
	sqlText, err := os.ReadFile(filepath.Join("..", "..", "testdata", "mariadb-inventory.sql"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.LoadFile(filepath.Join("..", "..", "testdata", "mariadb-inventory.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var props map[string]string
	for _, c := range f.Connectors {
		if c.Name == "mariadb-inventory" {
			props = c.Config
		}
	}
	if props == nil {
		t.Fatal("testdata/mariadb-inventory.yaml has no connector named mariadb-inventory")
	}
	if props["connector.class"] != MariaDBPlugin().Class {
		t.Fatalf("connector.class = %q", props["connector.class"])
	}
	e := newEnv(t)
	e.db.Exec(t, "", string(sqlText))
	own := map[string]string{}
	for k, v := range props {
		switch k {
		case "name", "connector.class", "tasks.max":
			continue
		}
		own[k] = v
	}
	own["database.port"] = fmt.Sprint(e.db.Port)
	own["database.hostname"] = e.db.Host
	own["schema.history.internal.kafka.bootstrap.servers"] = e.broker.Addrs()[0]
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), own, c)
	for topic, n := range map[string]int{"mariadb1.inventory.products": 9, "mariadb1.inventory.products_on_hand": 9,
		"mariadb1.inventory.customers": 4, "mariadb1.inventory.addresses": 7, "mariadb1.inventory.orders": 4} {
		c.waitFor(t, n, onTopic(topic))
	}
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
}
