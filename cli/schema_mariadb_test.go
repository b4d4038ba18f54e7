package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect/config"
)

// shopMariaDBConfig points at a server that does not exist: with --ddl the
// connection settings are replaced by the throwaway database's, including
// a TLS mode that server would not satisfy.
const shopMariaDBConfig = `name: shop-mariadb
config:
  connector.class: io.debezium.connector.mariadb.MariaDbConnector
  database.hostname: db.invalid
  database.port: "1"
  database.user: debezium
  database.password: secret
  database.ssl.mode: verify-full
  database.server.id: "184054"
  topic.prefix: shop
  database.include.list: shop
  table.exclude.list: shop.ignored
  column.exclude.list: shop.orders.internal_note
  schema.history.internal.kafka.bootstrap.servers: 127.0.0.1:1
  schema.history.internal.kafka.topic: schemahistory.shop
  value.converter: io.confluent.connect.avro.AvroConverter
  value.converter.schema.registry.url: http://127.0.0.1:1
  key.converter: io.confluent.connect.avro.AvroConverter
  key.converter.schema.registry.url: http://127.0.0.1:1
`

// ordersV1 is a mysqldump-style file: executable comments carry the
// charset, and a routine is written with the client's DELIMITER command.
const ordersV1 = `
/*!40101 SET NAMES utf8mb4 */;
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  customer VARCHAR(100) NOT NULL,
  qty INT NOT NULL, -- units; a ';' in a comment does not end the statement
  amount DECIMAL(10,2),
  status ENUM('new','paid','shipped') NOT NULL DEFAULT 'new',
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  payload JSON,
  internal_note TEXT
) /*!40101 DEFAULT CHARSET=utf8mb4 */;
CREATE TABLE ignored (id INT PRIMARY KEY);
DELIMITER ;;
CREATE PROCEDURE touch_orders()
BEGIN
  UPDATE orders SET qty = qty WHERE id = 0;
  SELECT 1;
END ;;
DELIMITER ;
`

// TestSchemaCheckWithDDLMariaDB exports the schemas of MariaDB tables
// built from DDL files in a throwaway MariaDB, then checks a compatible and
// an incompatible migration against the exported files.
func TestSchemaCheckWithDDLMariaDB(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1")
	}
	root := t.TempDir()
	cfg := filepath.Join(root, "shop.yaml")
	writeFiles(t, root, map[string]string{"shop.yaml": shopMariaDBConfig})
	// The files name no database: they run in the connector's one
	// database (database.include.list), as mysqldump output of one
	// database or a migration tool's files do.
	v1 := filepath.Join(root, "v1")
	writeFiles(t, v1, map[string]string{"001_orders.sql": ordersV1})
	schemas := filepath.Join(root, "schemas")
	out, code := runCmd(t, "schema", "export", "-c", cfg, "--ddl", v1, "--dir", schemas)
	if code != 0 {
		t.Fatalf("export exit %d:\n%s", code, out)
	}
	if got := strings.TrimSpace(strings.ReplaceAll(out, schemas+string(filepath.Separator), "")); got != "shop.shop.orders-key.avsc\nshop.shop.orders-value.avsc" {
		t.Fatalf("export wrote:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(schemas, "shop.shop.orders-value.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"name":"amount","type":["null",{"type":"bytes","scale":2,"precision":10,`,
		`"connect.name":"io.debezium.data.Enum"`,
		`"connect.name":"io.debezium.connector.mariadb.Source"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("value schema lacks %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), "internal_note") {
		t.Errorf("column.exclude.list ignored:\n%s", b)
	}

	// The same database, created by the files themselves, with a
	// nullable column and a column with a default added: FULL-compatible.
	v2 := filepath.Join(root, "v2")
	writeFiles(t, v2, map[string]string{
		"001_orders.sql": "CREATE DATABASE shop;\nUSE shop;\n" + ordersV1,
		"002_note.sql": `ALTER TABLE shop.orders ADD COLUMN note VARCHAR(200) NULL;
ALTER TABLE shop.orders ADD COLUMN channel VARCHAR(20) NOT NULL DEFAULT 'web';`,
	})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v2, "--dir", schemas, "--level", "FULL")
	if code != 0 {
		t.Fatalf("compatible migration: exit %d\n%s", code, out)
	}
	golden(t, "mariadb-compatible.txt", strings.ReplaceAll(out, schemas, "schemas"))

	// Dropping a NOT NULL column and changing INT to VARCHAR are not.
	v3 := filepath.Join(root, "v3")
	writeFiles(t, v3, map[string]string{
		"001_orders.sql": ordersV1,
		"002_break.sql":  "ALTER TABLE orders DROP COLUMN customer, MODIFY qty VARCHAR(20) NOT NULL;",
	})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v3, "--dir", schemas, "--level", "FULL")
	if code != 1 {
		t.Fatalf("incompatible migration: exit %d\n%s", code, out)
	}
	golden(t, "mariadb-incompatible.txt", strings.ReplaceAll(out, schemas, "schemas"))

	// A statement the server rejects is a usage error naming the file.
	v4 := filepath.Join(root, "v4")
	writeFiles(t, v4, map[string]string{"001_bad.sql": "CREATE TABLE broken (id INT PRIMARY KEY, x NOSUCHTYPE);"})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v4, "--dir", schemas)
	if code != 2 || !strings.Contains(out, "001_bad.sql") {
		t.Errorf("bad DDL: exit %d, want 2 naming the file:\n%s", code, out)
	}
}

func TestSplitSQL(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"plain", "CREATE TABLE a (x INT);\nCREATE TABLE b (y INT)", []string{"CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"}},
		{"quotes", `INSERT INTO a VALUES ('x;y', "a\";b", 'it''s;');SELECT 1`, []string{`INSERT INTO a VALUES ('x;y', "a\";b", 'it''s;')`, "SELECT 1"}},
		{"backtick has no escapes", "CREATE TABLE `a\\` (x INT);SELECT 2", []string{"CREATE TABLE `a\\` (x INT)", "SELECT 2"}},
		{"comments", "-- one; two\nSELECT 1; # three; four\n/* five; six */SELECT 2;--\tseven;\nSELECT 3--4;", []string{"SELECT 1", "SELECT 2", "SELECT 3--4"}},
		{"executable comments kept", "/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE t (x INT) /*M!100100 ENGINE=InnoDB */;", []string{"/*!40101 SET NAMES utf8mb4 */", "CREATE TABLE t (x INT) /*M!100100 ENGINE=InnoDB */"}},
		{"delimiter", "DELIMITER $$\nCREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND $$\n  delimiter ;\nSELECT 2;", []string{"CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND", "SELECT 2"}},
		{"unterminated comment", "SELECT 1; /* open", []string{"SELECT 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := splitSQL(tc.in)
			if strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") {
				t.Errorf("splitSQL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMariaDBDefaultDatabase(t *testing.T) {
	cfg := func(lists ...string) *config.File {
		f := &config.File{}
		for i, l := range lists {
			f.Connectors = append(f.Connectors, config.Connector{Name: fmt.Sprint("c", i), Config: map[string]string{"database.include.list": l}})
		}
		return f
	}
	for _, tc := range []struct {
		name      string
		file      *config.File
		stmts     [][]string
		db        string
		createdBy int
	}{
		{"one database", cfg("shop"), [][]string{{"CREATE TABLE t (x INT)"}}, "shop", -1},
		{"created by the second file", cfg("shop"), [][]string{{"SELECT 1"}, {"CREATE SCHEMA IF NOT EXISTS `Shop`", "USE shop"}}, "shop", 1},
		{"another database created", cfg("shop"), [][]string{{"CREATE DATABASE shopping"}}, "shop", -1},
		{"same database twice", cfg("shop", " shop"), nil, "shop", -1},
		{"two databases", cfg("shop,crm"), nil, "", -1},
		{"regular expression", cfg("shop.*"), nil, "", -1},
		{"no list", cfg(""), nil, "", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, by := mariadbDefaultDatabase(tc.file, tc.stmts)
			if db != tc.db || by != tc.createdBy {
				t.Errorf("got (%q, %d), want (%q, %d)", db, by, tc.db, tc.createdBy)
			}
		})
	}
}
