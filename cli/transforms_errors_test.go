package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/testdb"
)

// connectorYAML is a PostgreSQL connector on port with extra properties
// (YAML lines, indented by two spaces) appended.
func connectorYAML(name string, port int, extra string) string {
	return fmt.Sprintf(`name: %s
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: postgres
  database.dbname: inventory
  topic.prefix: dbserver1
  table.include.list: 'inventory\.(customers|orders)'
%s`, name, port, extra)
}

// TestValidateBadTransforms: `tributary validate` names the transform's
// alias and property of each bad configuration, and exits 1.
func TestValidateBadTransforms(t *testing.T) {
	const rr = "org.apache.kafka.connect.transforms.RegexRouter"
	cases := []struct {
		name    string
		extra   string
		wantErr string
	}{
		{"unknown class", "  transforms.route.type: org.apache.kafka.connect.transforms.RegexRuoter\n",
			`transforms.route.type: Invalid value org.apache.kafka.connect.transforms.RegexRuoter for configuration transforms.route.type: ` +
				`Class org.apache.kafka.connect.transforms.RegexRuoter could not be found. (did you mean "` + rr + `"?)`},
		{"missing required property", "  transforms.route.type: " + rr + "\n  transforms.route.replacement: $1\n",
			`transforms.route.regex: Missing required configuration "regex" which has no default value.`},
		{"invalid regex", "  transforms.route.type: " + rr + "\n  transforms.route.regex: 'dbserver1\\.(.*'\n  transforms.route.replacement: $1\n",
			`transforms.route.regex: Invalid value dbserver1\.(.* for configuration regex: Invalid regex: error parsing regexp: missing closing )`},
		{"misspelt property", "  transforms.route.type: " + rr + "\n  transforms.route.regex: '(.*)'\n  transforms.route.replacment: $1\n",
			`transforms.route.replacment: unknown property (did you mean "replacement"?)`},
		{"missing field list", "  transforms.route.type: org.apache.kafka.connect.transforms.ValueToKey\n",
			`transforms.route.fields: Missing required configuration "fields" which has no default value.`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
			if err := os.WriteFile(cfg, []byte(connectorYAML("bad", 5432, "  transforms: route\n"+c.extra)), 0o644); err != nil {
				t.Fatal(err)
			}
			root := newRootCmd(Extensions{})
			var stdout, stderr bytes.Buffer
			root.SetOut(&stdout)
			root.SetErr(&stderr)
			root.SetArgs([]string{"validate", "--offline", "--log-level", "error", "-c", cfg})
			err := root.ExecuteContext(context.Background())
			ee, ok := err.(*exitError)
			if !ok || ee.code != 1 {
				t.Fatalf("validate returned %v, want exit code 1", err)
			}
			if want := `connector "bad": ` + c.wantErr; !strings.Contains(stderr.String(), want) {
				t.Errorf("validate printed\n%s\nwant\n%s", stderr.String(), want)
			}
		})
	}
}

// TestTransformErrorTolerance runs a source connector whose chain fails
// for one table's records (ValueToKey naming a field the envelope lacks,
// applied to the orders topic through a predicate). Under
// errors.tolerance=none the connector fails naming the transform, the
// field and the record's topic and source offset; under
// errors.tolerance=all each such record is logged and skipped and the
// other table's records still arrive.
func TestTransformErrorTolerance(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	pg.Exec(t, "inventory", demoPostgresSQL)
	const chain = `  transforms: key
  transforms.key.type: org.apache.kafka.connect.transforms.ValueToKey
  transforms.key.fields: order_id
  transforms.key.predicate: orders
  predicates: orders
  predicates.orders.type: org.apache.kafka.connect.transforms.predicates.TopicNameMatches
  predicates.orders.pattern: 'dbserver1\.inventory\.orders'
`
	// The record as the runtime names it: topic and source offset.
	failure := regexp.MustCompile(`record for topic dbserver1\.inventory\.orders at offset map\[[^]]*lsn:[0-9]+[^]]*\]: ` +
		`transform \\?"key\\?": Field does not exist: order_id`)

	t.Run("errors.tolerance=none", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "none.yaml")
		yaml := fmt.Sprintf("worker:\n  embedded.broker.port: %d\n  embedded.broker.data.dir: %s\n  offset.storage.file.filename: %s\n",
			freePort(t), filepath.Join(dir, "kafka"), filepath.Join(dir, "offsets.json")) +
			connectorYAML("tolerance-none", pg.Port, "  slot.name: tolerance_none\n"+chain)
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		p := startRun(t, dir, cfg, 1)
		select {
		case err := <-p.done:
			if err == nil {
				t.Fatal("tributary run exited 0, want the connector's failure")
			}
		case <-time.After(60 * time.Second):
			t.Fatal("tributary run did not fail within 60s")
		}
		log, _ := os.ReadFile(p.log)
		// printed once, by main, as the last running connector's failure
		if n := len(failure.FindAll(log, -1)); n != 1 {
			t.Errorf("the output names the failed record %d times, want once (%s):\n%s", n, failure, log)
		}
	})

	t.Run("errors.tolerance=all", func(t *testing.T) {
		dir := t.TempDir()
		port := freePort(t)
		broker := fmt.Sprintf("127.0.0.1:%d", port)
		cfg := filepath.Join(dir, "all.yaml")
		yaml := fmt.Sprintf("worker:\n  embedded.broker.port: %d\n  embedded.broker.data.dir: %s\n  offset.storage.file.filename: %s\n",
			port, filepath.Join(dir, "kafka"), filepath.Join(dir, "offsets.json")) +
			connectorYAML("tolerance-all", pg.Port, "  slot.name: tolerance_all\n  errors.tolerance: all\n  errors.log.enable: 'true'\n"+chain)
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p := startRun(t, dir, cfg, 1)
		waitTopicCount(ctx, t, p, broker, "dbserver1.inventory.customers", 4)
		// A streamed order fails as the snapshot's did; the customer
		// inserted after it still arrives.
		pg.Exec(t, "inventory", `INSERT INTO inventory.orders (order_date, purchaser, quantity, product_id) VALUES ('2024-05-01', 1001, 3, 103)`,
			`INSERT INTO inventory.customers (first_name, last_name, email) VALUES ('Sarah', 'Connor', 'sarah@sky.net')`)
		waitTopicCount(ctx, t, p, broker, "dbserver1.inventory.customers", 5)
		for _, topic := range listTopics(t, broker) {
			if topic == "dbserver1.inventory.orders" && topicEnd(t, broker, topic) != 0 {
				t.Errorf("%s holds %d records, want none", topic, topicEnd(t, broker, topic))
			}
		}
		p.stop(t)
		log, _ := os.ReadFile(p.log)
		if n := len(failure.FindAll(log, -1)); n != 3 {
			t.Errorf("%d records logged as skipped, want the 2 orders of the snapshot and the streamed one:\n%s", n, log)
		}
		if !bytes.Contains(log, []byte("errors.tolerance=all")) {
			t.Errorf("the log does not say why the records were skipped:\n%s", log)
		}
	})
}
