package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tributary validate checks the exactly-once properties as run applies
// them: offsets in a file unless offset.storage.topic is set.
func TestValidateExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conn := func(extra string) string {
		return write("conn.yaml", "name: inventory\nconfig:\n  connector.class: io.debezium.connector.postgresql.PostgresConnector\n"+
			"  database.hostname: 127.0.0.1\n  database.user: postgres\n  database.dbname: inventory\n  topic.prefix: inv\n"+extra)
	}
	for _, tc := range []struct {
		name, worker, conn, want string
	}{
		{"required with file offsets", "", "  exactly.once.support: required\n",
			"This worker does not have exactly-once source support enabled. Its source offsets are in a file (offset.storage.file.filename), which cannot be written in a Kafka transaction: keep them in Kafka (worker properties offset.storage.topic and exactly.once.source.support=enabled)"},
		{"enabled with file offsets", "worker:\n  exactly.once.source.support: enabled\n", "",
			"exactly-once delivery writes source offsets in the same Kafka transaction as the records, but this worker keeps them in a file (offset.storage.file.filename); keep them in Kafka instead: set the worker property offset.storage.topic"},
		{"required with Kafka offsets, not enabled", "worker:\n  offset.storage.topic: connect-offsets\n", "  exactly.once.support: required\n",
			"This worker does not have exactly-once source support enabled."},
		{"required and enabled", "worker:\n  offset.storage.topic: connect-offsets\n  exactly.once.source.support: enabled\n",
			"  exactly.once.support: required\n  transaction.boundary: interval\n  transaction.boundary.interval.ms: 500\n", ""},
		{"connector boundary (PostgreSQL defines it)", "worker:\n  offset.storage.topic: connect-offsets\n  exactly.once.source.support: enabled\n",
			"  transaction.boundary: connector\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"validate", "--offline", "-c", conn(tc.conn)}
			if tc.worker != "" {
				args = append(args, "-c", write("worker.yaml", tc.worker))
			}
			out, code := runCmd(t, args...)
			switch {
			case tc.want == "" && code != 0:
				t.Fatalf("exit %d:\n%s", code, out)
			case tc.want != "" && (code == 0 || !strings.Contains(out, tc.want)):
				t.Fatalf("exit %d, want an error containing %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// MariaDB cannot define transaction boundaries: Kafka Connect's message.
func TestValidateConnectorBoundaryUnsupported(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("worker:\n  offset.storage.topic: connect-offsets\n  exactly.once.source.support: enabled\n"+
		"name: inventory\nconfig:\n  connector.class: io.debezium.connector.mariadb.MariaDbConnector\n  database.hostname: 127.0.0.1\n"+
		"  database.user: root\n  database.server.id: 5501\n  topic.prefix: inv\n  schema.history.internal.kafka.topic: history\n"+
		"  transaction.boundary: connector\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runCmd(t, "validate", "--offline", "-c", cfg)
	want := "The connector does not support connector-defined transaction boundaries with the given configuration. Please reconfigure it to use a different transaction boundary definition."
	if code == 0 || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want an error containing %q:\n%s", code, want, out)
	}
}
