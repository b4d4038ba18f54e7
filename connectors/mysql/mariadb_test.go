package mysql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/connect"
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
