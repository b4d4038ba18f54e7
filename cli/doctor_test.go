package cli

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

// doctorFile writes a configuration with one connector and the worker
// properties given, and returns its path.
func doctorFile(t *testing.T, worker, connector map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("worker:\n")
	for k, v := range worker {
		fmt.Fprintf(&b, "  %s: %q\n", k, v)
	}
	b.WriteString("connectors:\n  - name: c1\n    config:\n")
	for k, v := range connector {
		fmt.Fprintf(&b, "      %s: %q\n", k, v)
	}
	p := filepath.Join(t.TempDir(), "doctor.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func merged(base map[string]string, over ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(over); i += 2 {
		out[over[i]] = over[i+1]
	}
	return out
}

// checkLine finds the table row of check name in doctor's output and
// returns its status.
func checkLine(t *testing.T, out, scope, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^(PASS|WARN|FAIL)\s+` + regexp.QuoteMeta(scope) + `\s+` + regexp.QuoteMeta(name) + `\s{2,}`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no row for %s %s in:\n%s", scope, name, out)
	}
	return m[1]
}

type doctorCase struct {
	name     string
	setup    func(t *testing.T) // misconfigures; registers its own undo with t.Cleanup
	config   []string           // connector property overrides
	worker   []string           // worker property overrides
	args     []string
	check    string // scope and check name of the row expected
	scope    string
	status   string
	fix      string // must appear in the "How to fix" section
	wantExit int
}

func runDoctorCases(t *testing.T, worker, connector map[string]string, cases []doctorCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			cfg := doctorFile(t, merged(worker, tc.worker...), merged(connector, tc.config...))
			// No WAL sampling unless a case asks: it would add its
			// interval to every PostgreSQL case.
			out, code := runCmd(t, append([]string{"doctor", "-c", cfg, "--wal-sample", "0"}, tc.args...)...)
			t.Logf("doctor output:\n%s", out)
			if code != tc.wantExit {
				t.Fatalf("exit %d, want %d", code, tc.wantExit)
			}
			scope := tc.scope
			if scope == "" {
				scope = "c1"
			}
			if got := checkLine(t, out, scope, tc.check); got != tc.status {
				t.Fatalf("%s %s: %s, want %s", scope, tc.check, got, tc.status)
			}
			if tc.fix != "" {
				_, fixes, ok := strings.Cut(out, "How to fix:")
				if !ok || !strings.Contains(fixes, tc.fix) {
					t.Fatalf("fix %q not printed", tc.fix)
				}
			}
		})
	}
}

func TestDoctorPostgres(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "shop")
	pg.Exec(t, "shop",
		"CREATE TABLE customers (id int PRIMARY KEY, name text)",
		"CREATE TABLE orders (id int PRIMARY KEY, customer int)",
		"CREATE ROLE bob LOGIN PASSWORD 'bobpw'",
		"GRANT SELECT ON ALL TABLES IN SCHEMA public TO bob")
	restart := func(t *testing.T, stmts ...string) {
		t.Helper()
		pg.Exec(t, "postgres", stmts...)
		pg.Stop(t)
		pg.Start(t)
	}

	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	reg := httptest.NewServer(server.NewServer(server.NewMemoryStore(), quietLogger()))
	t.Cleanup(reg.Close)
	worker := map[string]string{
		"bootstrap.servers":                   strings.Join(emb.Addrs(), ","),
		"offset.storage.topic":                "connect-offsets",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": reg.URL,
	}
	connector := map[string]string{
		"connector.class":    "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname":  pg.Host,
		"database.port":      fmt.Sprint(pg.Port),
		"database.user":      "postgres",
		"database.dbname":    "shop",
		"topic.prefix":       "shop",
		"table.include.list": "public.*",
	}
	sc := sarama.NewConfig()
	admin, err := sarama.NewClusterAdmin(emb.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })

	keepWAL := func(t *testing.T, size string) {
		pg.Exec(t, "postgres", "ALTER SYSTEM SET max_slot_wal_keep_size = '"+size+"'", "SELECT pg_reload_conf()")
		t.Cleanup(func() { pg.Exec(t, "postgres", "ALTER SYSTEM RESET max_slot_wal_keep_size", "SELECT pg_reload_conf()") })
	}
	// generateWAL writes about 1 MB of WAL per statement until the case
	// ends, so doctor's sample sees a busy server.
	generateWAL := func(t *testing.T) {
		pg.Exec(t, "shop", "CREATE TABLE walgen (n bigserial PRIMARY KEY, pad text)")
		ctx, cancel := context.WithCancel(context.Background())
		conn, err := pgx.Connect(ctx, pg.DSN("shop"))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				_, _ = conn.Exec(ctx, "INSERT INTO walgen (pad) SELECT repeat('x', 1000) FROM generate_series(1, 1000)")
			}
		}()
		t.Cleanup(func() {
			cancel()
			<-done
			_ = conn.Close(context.Background())
			pg.Exec(t, "shop", "DROP TABLE walgen")
		})
	}
	runDoctorCases(t, worker, connector, []doctorCase{
		{name: "good", check: "wal_level", status: "PASS", wantExit: 0},
		{name: "good publication", check: "publication", status: "PASS", wantExit: 0},
		{name: "good kafka", scope: "kafka", check: "reachability", status: "PASS", wantExit: 0},
		{name: "good registry", scope: "registry", check: "global compatibility", status: "PASS", wantExit: 0},
		{name: "unlimited wal keep warns", check: "max_slot_wal_keep_size", status: "WARN", fix: "max_slot_wal_keep_size", wantExit: 0},
		{name: "wal keep bounded", setup: func(t *testing.T) {
			pg.Exec(t, "postgres", "ALTER SYSTEM SET max_slot_wal_keep_size = '1GB'", "SELECT pg_reload_conf()")
			t.Cleanup(func() { pg.Exec(t, "postgres", "ALTER SYSTEM RESET max_slot_wal_keep_size", "SELECT pg_reload_conf()") })
		}, check: "max_slot_wal_keep_size", status: "PASS", wantExit: 0},
		// WAL growth: the server's write rate (measured while a writer
		// generates WAL) times --downtime against what the slot may keep.
		{name: "wal keep below the expected growth", setup: func(t *testing.T) {
			keepWAL(t, "64MB")
			generateWAL(t)
		}, args: []string{"--wal-sample", "3s", "--downtime", "1h"},
			check: "max_slot_wal_keep_size", status: "FAIL", fix: "ALTER SYSTEM SET max_slot_wal_keep_size = '", wantExit: 1},
		{name: "wal keep covers the expected growth", setup: func(t *testing.T) { keepWAL(t, "64MB") },
			args: []string{"--wal-sample", "2s", "--downtime", "1m"}, check: "max_slot_wal_keep_size", status: "PASS", wantExit: 0},
		{name: "unlimited wal outgrows the disk", setup: generateWAL,
			args: []string{"--wal-sample", "3s", "--downtime", "100000h"}, check: "max_slot_wal_keep_size", status: "FAIL", fix: "make room for", wantExit: 1},
		{name: "wal_level replica", setup: func(t *testing.T) {
			restart(t, "ALTER SYSTEM SET wal_level = replica")
			t.Cleanup(func() { restart(t, "ALTER SYSTEM RESET wal_level") })
		}, check: "wal_level", status: "FAIL", fix: "ALTER SYSTEM SET wal_level = logical", wantExit: 1},
		{name: "no replication privilege", config: []string{"database.user", "bob", "database.password", "bobpw"},
			check: "replication privilege", status: "FAIL", fix: `ALTER ROLE "bob" REPLICATION`, wantExit: 1},
		{name: "all_tables publication needs a superuser", config: []string{"database.user", "bob", "database.password", "bobpw"},
			check: "publication", status: "FAIL", fix: "FOR ALL TABLES", wantExit: 1},
		{name: "slots exhausted", setup: func(t *testing.T) {
			restart(t, "ALTER SYSTEM SET max_replication_slots = 1")
			pg.Exec(t, "postgres", "SELECT pg_create_logical_replication_slot('other', 'pgoutput')")
			t.Cleanup(func() {
				pg.Exec(t, "postgres", "SELECT pg_drop_replication_slot('other')")
				restart(t, "ALTER SYSTEM RESET max_replication_slots")
			})
		}, check: "max_replication_slots", status: "FAIL", fix: "max_replication_slots = 2", wantExit: 1},
		{name: "existing slot of another plugin", setup: func(t *testing.T) {
			pg.Exec(t, "shop", "SELECT pg_create_logical_replication_slot('debezium', 'test_decoding')")
			t.Cleanup(func() { pg.Exec(t, "shop", "SELECT pg_drop_replication_slot('debezium')") })
		}, check: "replication slot", status: "FAIL", fix: "pg_drop_replication_slot('debezium')", wantExit: 1},
		{name: "wal senders busy", setup: func(t *testing.T) {
			restart(t, "ALTER SYSTEM SET max_wal_senders = 1")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rc, err := pgconn.Connect(ctx, pg.DSN("shop")+"&replication=database")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = rc.Close(context.Background())
				restart(t, "ALTER SYSTEM RESET max_wal_senders")
			})
		}, check: "max_wal_senders", status: "FAIL", fix: "max_wal_senders = 2", wantExit: 1},
		{name: "publication misses a table", setup: func(t *testing.T) {
			pg.Exec(t, "shop", "CREATE PUBLICATION dbz_publication FOR TABLE customers")
			t.Cleanup(func() { pg.Exec(t, "shop", "DROP PUBLICATION dbz_publication") })
		}, config: []string{"publication.autocreate.mode", "disabled"},
			check: "publication", status: "FAIL", fix: `ADD TABLE "public"."orders"`, wantExit: 1},
		{name: "publication missing, autocreate disabled", config: []string{"publication.autocreate.mode", "disabled"},
			check: "publication", status: "FAIL", fix: "CREATE PUBLICATION", wantExit: 1},
		{name: "table without replica identity", setup: func(t *testing.T) {
			pg.Exec(t, "shop", "CREATE TABLE audit (at timestamptz, what text)")
			t.Cleanup(func() { pg.Exec(t, "shop", "DROP TABLE audit") })
		}, check: "replica identity", status: "FAIL", fix: `ALTER TABLE "public"."audit" REPLICA IDENTITY FULL`, wantExit: 1},
		{name: "table without key but identity full", setup: func(t *testing.T) {
			pg.Exec(t, "shop", "CREATE TABLE audit (at timestamptz, what text)", "ALTER TABLE audit REPLICA IDENTITY FULL")
			t.Cleanup(func() { pg.Exec(t, "shop", "DROP TABLE audit") })
		}, check: "primary keys", status: "WARN", fix: "message.key.columns", wantExit: 0},
		{name: "offsets topic not compacted", setup: func(t *testing.T) {
			if err := admin.CreateTopic("connect-offsets", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
				ConfigEntries: map[string]*string{"cleanup.policy": ptr("delete")}}, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.DeleteTopic("connect-offsets") })
		}, scope: "kafka", check: "topic connect-offsets", status: "FAIL", fix: "cleanup.policy=compact", wantExit: 1},
		{name: "kafka unreachable", worker: []string{"bootstrap.servers", "127.0.0.1:1"},
			scope: "kafka", check: "reachability", status: "FAIL", fix: "bootstrap.servers", wantExit: 1},
		{name: "registry unreachable", worker: []string{"value.converter.schema.registry.url", "http://127.0.0.1:1"},
			scope: "registry", check: "reachability", status: "FAIL", fix: "schema.registry.url", wantExit: 1},
		{name: "registry compatibility NONE", setup: func(t *testing.T) {
			cl, err := registry.NewClient(registry.Config{URL: reg.URL})
			if err != nil {
				t.Fatal(err)
			}
			if err := cl.SetCompatibility(context.Background(), "", "NONE"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cl.SetCompatibility(context.Background(), "", "BACKWARD") })
		}, scope: "registry", check: "global compatibility", status: "WARN", fix: `{"compatibility":"BACKWARD"}`, wantExit: 0},
	})
}

func ptr[T any](v T) *T { return &v }

func TestDoctorMariaDB(t *testing.T) {
	m := testdb.StartMariaDB(t)
	m.Exec(t, "test",
		"CREATE TABLE customers (id int PRIMARY KEY, name text)",
		// bob@localhost too: MariaDB's anonymous ''@'localhost' would
		// otherwise win over bob@'%' for connections from 127.0.0.1.
		"CREATE USER 'bob'@'%' IDENTIFIED BY 'bobpw'",
		"CREATE USER 'bob'@'localhost' IDENTIFIED BY 'bobpw'",
		"GRANT SELECT ON *.* TO 'bob'@'%'",
		"GRANT SELECT ON *.* TO 'bob'@'localhost'",
		"SET GLOBAL gtid_strict_mode = ON")
	emb, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(emb.Close)
	admin, err := sarama.NewClusterAdmin(emb.Addrs(), sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	worker := map[string]string{"bootstrap.servers": strings.Join(emb.Addrs(), ",")}
	connector := map[string]string{
		"connector.class":                     "io.debezium.connector.mariadb.MariaDbConnector",
		"database.hostname":                   m.Host,
		"database.port":                       fmt.Sprint(m.Port),
		"database.user":                       "root",
		"database.server.id":                  "5401",
		"topic.prefix":                        "shop",
		"database.include.list":               "test",
		"schema.history.internal.kafka.topic": "schema-changes.shop",
		"schema.history.internal.kafka.bootstrap.servers": strings.Join(emb.Addrs(), ","),
	}
	setGlobal := func(name, bad, good string) func(t *testing.T) {
		return func(t *testing.T) {
			m.Exec(t, "test", fmt.Sprintf("SET GLOBAL %s = %s", name, bad))
			t.Cleanup(func() { m.Exec(t, "test", fmt.Sprintf("SET GLOBAL %s = %s", name, good)) })
		}
	}
	runDoctorCases(t, worker, connector, []doctorCase{
		{name: "good", check: "binlog_format", status: "PASS", wantExit: 0},
		{name: "good privileges", check: "privileges", status: "PASS", wantExit: 0},
		{name: "good gtid", check: "gtid_strict_mode", status: "PASS", wantExit: 0},
		{name: "good retention", check: "binlog retention", status: "PASS", wantExit: 0},
		{name: "statement binlog", setup: setGlobal("binlog_format", "'STATEMENT'", "'ROW'"),
			check: "binlog_format", status: "FAIL", fix: "SET GLOBAL binlog_format='ROW'", wantExit: 1},
		{name: "mixed binlog", setup: setGlobal("binlog_format", "'MIXED'", "'ROW'"),
			check: "binlog_format", status: "FAIL", fix: "SET GLOBAL binlog_format='ROW'", wantExit: 1},
		{name: "minimal row image", setup: setGlobal("binlog_row_image", "'MINIMAL'", "'FULL'"),
			check: "binlog_row_image", status: "FAIL", fix: "SET GLOBAL binlog_row_image='FULL'", wantExit: 1},
		{name: "gtid strict mode off", setup: setGlobal("gtid_strict_mode", "OFF", "ON"),
			check: "gtid_strict_mode", status: "WARN", fix: "SET GLOBAL gtid_strict_mode=ON", wantExit: 0},
		{name: "retention shorter than downtime", setup: setGlobal("binlog_expire_logs_seconds", "3600", "0"),
			args: []string{"--downtime", "24h"}, check: "binlog retention", status: "FAIL", fix: "binlog_expire_logs_seconds=172800", wantExit: 1},
		{name: "retention longer than downtime", setup: setGlobal("binlog_expire_logs_seconds", "3600", "0"),
			args: []string{"--downtime", "30m"}, check: "binlog retention", status: "PASS", wantExit: 0},
		{name: "missing privileges", config: []string{"database.user", "bob", "database.password", "bobpw"},
			check: "privileges", status: "FAIL", fix: "GRANT REPLICATION SLAVE, REPLICATION CLIENT, RELOAD ON *.* TO 'bob'", wantExit: 1},
		{name: "wrong password", config: []string{"database.password", "nope"},
			check: "connection", status: "FAIL", fix: "database.password", wantExit: 1},
		{name: "history topic compacted", setup: func(t *testing.T) {
			if err := admin.CreateTopic("schema-changes.shop", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
				ConfigEntries: map[string]*string{"cleanup.policy": ptr("compact")}}, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = admin.DeleteTopic("schema-changes.shop") })
		}, scope: "kafka", check: "topic schema-changes.shop", status: "FAIL", fix: "cleanup.policy=delete,retention.ms=-1", wantExit: 1},
	})
}
