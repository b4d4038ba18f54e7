package rest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/testdb"
)

// A connector created through the REST API on the replication slot of
// another connector of the cluster is refused with 400 naming both, on
// POST, PUT and PATCH; another slot, or the same connector's own update,
// is accepted. (The check runs in the herder's PutConnectorConfig, which
// the leader of a distributed cluster runs against the config topic's
// connectors.)
func TestConnectorsOnOneSlotRefused(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	w := startWorker(t, workerOpts{plugins: connect.Plugins{postgres.Plugin()}})
	cfg := func(slot string) map[string]string {
		return map[string]string{"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
			"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
			"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "p-" + slot, "slot.name": slot,
			"publication.autocreate.mode": "disabled", "snapshot.mode": "no_data"}
	}
	body := func(name, slot string) string {
		b, _ := json.Marshal(map[string]any{"name": name, "config": cfg(slot)})
		return string(b)
	}
	pg.Exec(t, "app", "CREATE PUBLICATION dbz_publication FOR ALL TABLES")

	expect(t, w.do(t, "POST", "/connectors", "application/json", body("first", "s1")), 201, "")
	r := w.do(t, "POST", "/connectors", "application/json", body("second", "s1"))
	expect(t, r, 400, "")
	for _, want := range []string{`\"first\"`, `\"second\"`, `replication slot \"s1\"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("the refusal lacks %s: %s", want, r.body)
		}
	}
	put, _ := json.Marshal(cfg("s1"))
	expect(t, w.do(t, "PUT", "/connectors/third/config", "application/json", string(put)), 400, "")
	expect(t, w.do(t, "POST", "/connectors", "application/json", body("second", "s2")), 201, "")
	// moving second onto first's slot by PATCH is refused too
	expect(t, w.do(t, "PATCH", "/connectors/second/config", "application/json", `{"slot.name":"s1"}`), 400, "")
	// first's own update keeps its slot
	own, _ := json.Marshal(cfg("s1"))
	expect(t, w.do(t, "PUT", "/connectors/first/config", "application/json", string(own)), 200, "")
	if r := w.do(t, "GET", "/connectors", "", ""); !strings.Contains(string(r.body), "first") || strings.Contains(string(r.body), "third") {
		t.Fatalf("connectors after the refusals: %s", r.body)
	}
}
