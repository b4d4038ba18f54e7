package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/internal/testbus"
	"github.com/tributary-io/tributary/internal/testdb"
)

const pipelineConnector = `name: inventory
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: postgres
  database.dbname: inventory
  topic.prefix: dbserver1
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// validate checks the sink: section of a Kafka-less pipeline as run does
// before it starts.
func TestValidatePipelineSinkOffline(t *testing.T) {
	conn := fmt.Sprintf(pipelineConnector, 5432)
	tests := []struct {
		name string
		sink string
		conn string
		want string // "" valid
	}{
		{"webhook", "  connector.class: io.tributary.connect.http.WebhookSinkConnector\n  http.api.url: http://127.0.0.1:1/events\n", conn, ""},
		{"nats", "  connector.class: io.tributary.connect.nats.JetStreamSinkConnector\n  nats.url: nats://127.0.0.1:1\n  offset.storage: nats\n", conn, ""},
		{"unknown class", "  connector.class: io.confluent.connect.s3.S3SinkConnector\n", conn, `sink: connector.class="io.confluent.connect.s3.S3SinkConnector": not a pipeline sink`},
		{"source as sink", "  connector.class: io.debezium.connector.postgresql.PostgresConnector\n", conn, "not a pipeline sink"},
		{"required property", "  connector.class: io.tributary.connect.http.WebhookSinkConnector\n", conn, "sink: invalid configuration: http.api.url: missing required property"},
		{"bad value", "  connector.class: io.tributary.connect.http.WebhookSinkConnector\n  http.api.url: http://h/\n  batch.max.size: 0\n", conn, "batch.max.size"},
		{"offsets the server cannot hold", "  connector.class: io.tributary.connect.http.WebhookSinkConnector\n  http.api.url: http://h/\n  offset.storage: redis\n", conn, "offset.storage=redis: the io.tributary.connect.http.WebhookSinkConnector sink's server cannot keep offsets"},
		{"json.schemas.enable", "  connector.class: io.tributary.connect.http.WebhookSinkConnector\n  http.api.url: http://h/\n  json.schemas.enable: false\n", conn, "sink: json.schemas.enable: not used by a pipeline"},
		{"no connectors", "  connector.class: io.tributary.connect.http.WebhookSinkConnector\n  http.api.url: http://h/\n", "", "sink: no connectors configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, "sink:\n"+tt.sink+tt.conn)
			out, code := runCmd(t, "validate", "--offline", "-c", cfg)
			if tt.want == "" {
				if code != 0 || !strings.Contains(out, "configuration is valid") {
					t.Fatalf("exit %d, want a valid configuration:\n%s", code, out)
				}
				return
			}
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want an error containing %q:\n%s", code, tt.want, out)
			}
		})
	}
}

// Without --offline, validate connects to the sink's server as run does,
// and a password in its URL never shows in the error.
func TestValidatePipelineSinkConnects(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	conn := fmt.Sprintf(pipelineConnector, pg.Port)
	nats := testbus.StartNATS(t, testbus.NATSOptions{User: "tributary", Password: "s3cret-pw"})
	tests := []struct {
		name string
		sink string
		want string // "" valid
	}{
		{"server answers", fmt.Sprintf("  connector.class: io.tributary.connect.nats.JetStreamSinkConnector\n  nats.url: %s\n  nats.user: tributary\n  nats.password: s3cret-pw\n", nats.URL()), ""},
		{"wrong password", fmt.Sprintf("  connector.class: io.tributary.connect.nats.JetStreamSinkConnector\n  nats.url: %s\n  nats.user: tributary\n  nats.password: wrong-pw-123\n", nats.URL()), "sink: "},
		{"nothing listens", fmt.Sprintf("  connector.class: io.tributary.connect.nats.JetStreamSinkConnector\n  nats.url: nats://tributary:s3cret-pw@127.0.0.1:%d\n  nats.connect.timeout.ms: 2000\n", freePort(t)), "sink: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, "sink:\n"+tt.sink+conn)
			out, code := runCmd(t, "validate", "-c", cfg)
			if tt.want == "" {
				if code != 0 || !strings.Contains(out, "configuration is valid") {
					t.Fatalf("exit %d, want a valid configuration:\n%s", code, out)
				}
				return
			}
			if code == 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("exit %d, want an error containing %q:\n%s", code, tt.want, out)
			}
			if strings.Contains(out, "s3cret-pw") || strings.Contains(out, "wrong-pw-123") {
				t.Errorf("the error shows a password:\n%s", out)
			}
		})
	}
}
