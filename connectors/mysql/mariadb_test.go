package mysql

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	connconv "github.com/tributary-io/tributary/internal/converter"
)

// TestSnapshotAndStreaming covers the initial snapshot of the tutorial's
// customers table and streaming of every DML kind, against golden files.
func TestSnapshotAndStreaming(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", inventorySQL)
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), e.props(nil), c)
	const topic = "mariadb1.inventory.customers"
	c.waitFor(t, 4, onTopic(topic))

	t.Logf("snapshot at %s", time.Now().Format(time.TimeOnly))
	e.db.Exec(t, "inventory",
		`INSERT INTO customers VALUES (1005, 'Sarah', 'Thompson', 'kitt@acme.com')`,
		`UPDATE customers SET first_name='Anne Marie' WHERE id=1004`,
		`UPDATE customers SET id=2001 WHERE id=1001`,
		`DELETE FROM customers WHERE id=1005`,
		`BEGIN; INSERT INTO customers VALUES (1006, 'a', 'b', 'c@d'); INSERT INTO customers VALUES (1007, 'e', 'f', 'g@h'); COMMIT`,
	)
	// 4 snapshot + c + u + (d, tombstone, c) + (d, tombstone) + 2 c
	recs := c.waitFor(t, 13, onTopic(topic))
	t.Logf("streamed at %s", time.Now().Format(time.TimeOnly))
	if err := r.stop(t); err != nil {
		t.Fatalf("task: %v", err)
	}
	var b strings.Builder
	for _, rec := range c.records() {
		b.WriteString(eventJSON(t, rec))
		b.WriteString("---\n")
	}
	t.Logf("stopped at %s", time.Now().Format(time.TimeOnly))
	golden(t, "snapshot_and_streaming.txt", b.String())
	_ = recs
	_ = connect.Record{}
}

const typesTable = `CREATE TABLE types (
  id INT NOT NULL PRIMARY KEY,
  c_tinyint TINYINT, c_tinyint_u TINYINT UNSIGNED, c_tinyint1 TINYINT(1), c_bool BOOLEAN,
  c_smallint SMALLINT, c_smallint_u SMALLINT UNSIGNED, c_mediumint MEDIUMINT, c_mediumint_u MEDIUMINT UNSIGNED,
  c_int INT, c_int_u INT UNSIGNED, c_bigint BIGINT, c_bigint_u BIGINT UNSIGNED,
  c_decimal DECIMAL(10,2), c_decimal_big DECIMAL(30,10), c_float FLOAT, c_float_p FLOAT(30), c_double DOUBLE,
  c_bit1 BIT(1), c_bit12 BIT(12),
  c_char CHAR(5), c_varchar VARCHAR(20), c_text_latin1 TEXT CHARACTER SET latin1, c_mediumtext MEDIUMTEXT,
  c_binary BINARY(4), c_varbinary VARBINARY(10), c_blob BLOB,
  c_date DATE, c_time TIME, c_time3 TIME(3), c_datetime DATETIME, c_datetime3 DATETIME(3), c_datetime6 DATETIME(6),
  c_timestamp TIMESTAMP NULL, c_timestamp3 TIMESTAMP(3) NULL, c_year YEAR,
  c_enum ENUM('small','medium','large'), c_set SET('a','b','c'), c_json JSON,
  c_point POINT, c_geometry GEOMETRY, c_linestring LINESTRING,
  c_default_str VARCHAR(10) NOT NULL DEFAULT 'dflt', c_default_int INT NOT NULL DEFAULT 42,
  c_default_dec DECIMAL(5,2) NOT NULL DEFAULT 1.50, c_zero_date DATE NOT NULL DEFAULT '2000-01-01',
  c_ts_default TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
)`

const typesValues = `(%d, -5, 250, 1, TRUE,
  -32000, 65000, -8000000, 16000000,
  -2000000000, 4000000000, -9000000000000000000, 18446744073709551615,
  12345678.91, 12345678901234567890.0123456789, 1.5, 2.25, 3.125,
  b'1', b'101010101010',
  'abc', 'hello wörld', 'caf\u00e9 latin1', 'medium text',
  X'01020000', X'0A0B', X'DEADBEEF',
  '2024-02-29', '-838:59:59', '12:34:56.789', '2024-01-02 03:04:05', '2024-01-02 03:04:05.678', '1969-12-31 23:59:59.999999',
  '2024-06-01 12:00:00', '2024-06-01 12:00:00.123', 2024,
  'medium', 'a,c', '{"k": [1, 2.5, "x"], "n": null}',
  ST_GeomFromText('POINT(1.5 -2.25)', 4326), ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), ST_GeomFromText('LINESTRING(0 0,1 1)'),
  'v', 7, 2.50, '0000-00-00', '2024-06-01 00:00:00')`

// TestTypes checks the mapping of every supported column type, from the
// snapshot (text protocol) and from the binlog (row events), which must
// agree.
func TestTypes(t *testing.T) {
	e := newEnv(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory", "SET GLOBAL sql_mode=''")
	e.db.Exec(t, "inventory", "SET SESSION time_zone='+00:00'", typesTable, strings.Replace(fmt.Sprintf("INSERT INTO types VALUES "+typesValues, 1), `\u00e9`, "é", 1))
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), e.props(nil), c)
	const topic = "mariadb1.inventory.types"
	c.waitFor(t, 1, onTopic(topic))
	e.db.Exec(t, "inventory", "SET SESSION time_zone='+00:00'", strings.Replace(fmt.Sprintf("INSERT INTO types VALUES "+typesValues, 2), `\u00e9`, "é", 1),
		"INSERT INTO types (id, c_ts_default) VALUES (3, '2020-01-01 00:00:00')",
		"UPDATE types SET c_varchar='changed', c_bit12=b'1', c_enum='large' WHERE id=2")
	recs := c.waitFor(t, 4, onTopic(topic))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, rec := range recs {
		b.WriteString(eventJSON(t, rec))
		b.WriteString("---\n")
	}
	golden(t, "types.txt", b.String())
	// the snapshot and the binlog must decode the same row identically
	after := func(r *connect.Record) string {
		v := r.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
		cp := &connect.StructValue{Schema: v.Schema, Values: append([]any(nil), v.Values...)}
		cp.Values[0] = int32(0)
		j, err := (&connconv.JSON{}).FromConnect(topic, cp.Schema, cp)
		if err != nil {
			t.Fatal(err)
		}
		return string(j)
	}
	if a, b := after(recs[0]), after(recs[1]); a != b {
		t.Errorf("snapshot and binlog values differ:\nsnapshot: %s\nbinlog:   %s", a, b)
	}
}

// afterFields summarises data events as "op key field=value ..." lines.
func summarize(t *testing.T, recs []*connect.Record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		if r.Topic == "mariadb1" || strings.HasPrefix(r.Topic, "__debezium") {
			continue
		}
		if r.Value == nil {
			out = append(out, r.Topic+" tombstone")
			continue
		}
		env := r.Value.(*connect.StructValue)
		row := env.Get("after")
		if row == nil {
			row = env.Get("before")
		}
		var fs []string
		if sv, ok := row.(*connect.StructValue); ok {
			for i, f := range sv.Schema.Fields {
				fs = append(fs, fmt.Sprintf("%s=%v", f.Name, sv.Values[i]))
			}
		}
		out = append(out, fmt.Sprintf("%s %s %s", r.Topic, env.Get("op"), strings.Join(fs, " ")))
	}
	return out
}

// TestSchemaChangesAndRestart alters a table mid-stream (rows before and
// after each change must decode with the structure of their time), then
// restarts the task from its stored offset (GTID, then file/pos), which
// rebuilds the table model from the schema history: in its Kafka topic,
// and in a file (FileSchemaHistory) with the task still run by the worker
// runtime, which has Kafka.
func TestSchemaChangesAndRestart(t *testing.T) {
	file := map[string]string{"schema.history.internal": fileHistoryClass, "schema.history.internal.kafka.topic": "",
		"schema.history.internal.file.filename": filepath.Join(t.TempDir(), "history.dat")}
	for _, h := range []struct {
		name  string
		props map[string]string
	}{{"kafka", nil}, {"file", file}} {
		t.Run(h.name, func(t *testing.T) { schemaChangesAndRestart(t, h.props) })
	}
}

func schemaChangesAndRestart(t *testing.T, history map[string]string) {
	e := newEnv(t)
	props := func(extra map[string]string) map[string]string {
		p := e.props(history)
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	e.db.Exec(t, "", inventorySQL)
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), props(nil), c)
	c.waitFor(t, 4, onTopic("mariadb1.inventory.customers"))
	c.reset()
	e.db.Exec(t, "inventory",
		`INSERT INTO customers VALUES (2001, 'A', 'a', 'a@x')`,
		`ALTER TABLE customers ADD COLUMN phone VARCHAR(20) NOT NULL DEFAULT 'none' AFTER last_name`,
		`INSERT INTO customers VALUES (2002, 'B', 'b', '555', 'b@x')`,
		`ALTER TABLE customers DROP COLUMN email, MODIFY first_name VARCHAR(100) NULL`,
		`INSERT INTO customers VALUES (2003, NULL, 'c', '556')`,
		`ALTER TABLE customers CHANGE COLUMN last_name surname VARCHAR(50) NOT NULL`,
		`RENAME TABLE customers TO clients`,
		`INSERT INTO clients VALUES (2004, 'D', 'd', '557')`,
	)
	c.waitFor(t, 1, onTopic("mariadb1.inventory.clients"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	got := summarize(t, c.records())
	want := []string{
		"mariadb1.inventory.customers c id=2001 first_name=A last_name=a email=a@x",
		"mariadb1.inventory.customers c id=2002 first_name=B last_name=b phone=555 email=b@x",
		"mariadb1.inventory.customers c id=2003 first_name=<nil> last_name=c phone=556",
		"mariadb1.inventory.clients c id=2004 first_name=D surname=d phone=557",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var ddls []string
	for _, rec := range c.records() {
		if rec.Topic == "mariadb1" {
			v := rec.Value.(*connect.StructValue)
			ddls = append(ddls, v.Get("ddl").(string))
		}
	}
	if len(ddls) != 4 || !strings.HasPrefix(ddls[3], "RENAME TABLE") {
		t.Errorf("schema change events: %q", ddls)
	}

	// changes while the connector is down, including a schema change
	e.db.Exec(t, "inventory",
		`INSERT INTO clients VALUES (2005, 'E', 'e', '558')`,
		`ALTER TABLE clients ADD COLUMN vip BOOLEAN NOT NULL DEFAULT FALSE`,
		`INSERT INTO clients VALUES (2006, 'F', 'f', '559', TRUE)`)
	c.reset()
	r = e.start(t, MariaDBPlugin(), props(nil), c)
	c.waitFor(t, 2, onTopic("mariadb1.inventory.clients"))
	e.db.Exec(t, "inventory", `INSERT INTO clients VALUES (2007, 'G', 'g', '560', FALSE)`)
	c.waitFor(t, 3, onTopic("mariadb1.inventory.clients"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	got = summarize(t, c.records())
	want = []string{
		"mariadb1.inventory.clients c id=2005 first_name=E surname=e phone=558",
		"mariadb1.inventory.clients c id=2006 first_name=F surname=f phone=559 vip=true",
		"mariadb1.inventory.clients c id=2007 first_name=G surname=g phone=560 vip=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after GTID restart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// and from file/pos instead of the GTID set
	e.db.Exec(t, "inventory", `UPDATE clients SET vip = TRUE WHERE id = 2007`)
	c.reset()
	r = e.start(t, MariaDBPlugin(), props(map[string]string{"gtid.ignore.on.recovery": "true"}), c)
	c.waitFor(t, 1, onTopic("mariadb1.inventory.clients"))
	e.db.Exec(t, "inventory", `DELETE FROM clients WHERE id = 2001`)
	c.waitFor(t, 3, onTopic("mariadb1.inventory.clients"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	got = summarize(t, c.records())
	want = []string{
		"mariadb1.inventory.clients u id=2007 first_name=G surname=g phone=560 vip=true",
		"mariadb1.inventory.clients d id=2001 first_name=A surname=a phone=none vip=false",
		"mariadb1.inventory.clients tombstone",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after file/pos restart:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if f := history["schema.history.internal.file.filename"]; f != "" {
		if b, err := os.ReadFile(f); err != nil || !strings.Contains(string(b), "ADD COLUMN vip") {
			t.Fatalf("history file %s: %v\n%s", f, err, b)
		}
	}
}
