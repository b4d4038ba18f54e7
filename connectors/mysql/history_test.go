package mysql

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/testdb"
)

// newEnvPartitioned is newEnv on a broker that auto-creates topics with 10
// partitions (kfake's default, and what many clusters' num.partitions
// gives), so that a history written without a partition would be spread.
func newEnvPartitioned(t *testing.T) (*env, *kfake.Cluster) { return newEnvPartitionedN(t, 10) }

func newEnvPartitionedN(t *testing.T, n int) (*env, *kfake.Cluster) {
	t.Helper()
	e := &env{db: testdb.StartMariaDB(t)}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	sc, err := kafka.ClientConfig{Brokers: cluster.ListenAddrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(cluster.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	e.raw = raw
	return e, cluster
}

// historyStep is one DDL statement of the history test and the table whose
// row inserted right after it checks the structure the connector applied.
type historyStep struct {
	ddl   string
	table string // "" when no row follows
}

// historySteps are 50 DDL statements, in three rounds around two restarts.
// A table dropped and created again with other columns, renames of tables
// and columns, and key changes make any reordering of the history produce
// a different structure.
var historySteps = [][]historyStep{{
	{"CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20))", "a"},
	{"ALTER TABLE a ADD COLUMN c1 INT", "a"},
	{"ALTER TABLE a ADD COLUMN c2 VARCHAR(10) NOT NULL DEFAULT 'x' AFTER id", "a"},
	{"ALTER TABLE a MODIFY v VARCHAR(50) NOT NULL DEFAULT ''", "a"},
	{"CREATE TABLE b (id BIGINT NOT NULL, name VARCHAR(30), PRIMARY KEY (id))", "b"},
	{"ALTER TABLE b ADD COLUMN amount DECIMAL(10,2) DEFAULT 1.50", "b"},
	{"ALTER TABLE a DROP COLUMN c1", "a"},
	{"ALTER TABLE a CHANGE COLUMN c2 code VARCHAR(12) NOT NULL DEFAULT 'y'", "a"},
	{"ALTER TABLE b ADD COLUMN created DATETIME(3) NULL FIRST", "b"},
	{"RENAME TABLE b TO b2", "b2"},
	{"ALTER TABLE b2 RENAME COLUMN name TO title", "b2"},
	{"CREATE TABLE c (id INT AUTO_INCREMENT PRIMARY KEY, e ENUM('x','y') DEFAULT 'x')", "c"},
	{"ALTER TABLE c ADD COLUMN s SET('p','q') NULL", "c"},
	{"ALTER TABLE c MODIFY e ENUM('x','y','z') DEFAULT 'z'", "c"},
	{"ALTER TABLE a ADD COLUMN t TIME(3) NULL, ADD COLUMN n SMALLINT UNSIGNED NOT NULL DEFAULT 3", "a"},
	{"TRUNCATE TABLE c", "c"},
	{"CREATE INDEX a_v ON a (v)", "a"},
}, {
	{"ALTER TABLE b2 MODIFY title VARCHAR(30) NOT NULL DEFAULT 't'", "b2"},
	{"ALTER TABLE b2 DROP PRIMARY KEY, ADD PRIMARY KEY (id, title)", "b2"},
	{"DROP TABLE c", ""},
	{"CREATE TABLE c (id BIGINT PRIMARY KEY, w DOUBLE NULL, flag TINYINT(1) NOT NULL DEFAULT 0)", "c"},
	{"ALTER TABLE c ADD COLUMN note TEXT NULL AFTER id", "c"},
	{"CREATE TABLE d LIKE a", "d"},
	{"ALTER TABLE d DROP COLUMN t", "d"},
	{"ALTER TABLE a DROP COLUMN n", "a"},
	{"ALTER TABLE d ADD COLUMN y YEAR NULL", "d"},
	{"RENAME TABLE a TO tmp, d TO a, tmp TO d", "a"},
	{"ALTER TABLE d ADD COLUMN moved INT NULL", "d"},
	{"ALTER TABLE c MODIFY w FLOAT NULL", "c"},
	{"ALTER TABLE b2 ADD COLUMN bits BIT(5) NULL", "b2"},
	{"ALTER TABLE c CHANGE note remark VARCHAR(100) NULL", "c"},
	{"DROP TABLE IF EXISTS b2", ""},
	{"CREATE TABLE b2 (id INT PRIMARY KEY, only_new VARCHAR(5) NULL)", "b2"},
	{"ALTER TABLE a ADD COLUMN z DATE NULL", "a"},
}, {
	{"ALTER TABLE a ALTER COLUMN code SET DEFAULT 'q'", "a"},
	{"ALTER TABLE c ADD COLUMN big BIGINT UNSIGNED NULL", "c"},
	{"ALTER TABLE d DROP PRIMARY KEY", "d"},
	{"ALTER TABLE d ADD PRIMARY KEY (id)", "d"},
	{"CREATE TABLE e (id INT PRIMARY KEY, ts TIMESTAMP(6) NULL)", "e"},
	{"ALTER TABLE e ADD COLUMN dec2 DECIMAL(20,4) NOT NULL DEFAULT 0", "e"},
	{"ALTER TABLE e MODIFY ts DATETIME(6) NULL", "e"},
	{"RENAME TABLE e TO f", "f"},
	{"ALTER TABLE f ADD COLUMN bin VARBINARY(16) NULL", "f"},
	{"ALTER TABLE b2 MODIFY only_new VARCHAR(50) NOT NULL DEFAULT 'n'", "b2"},
	{"ALTER TABLE a DROP COLUMN z", "a"},
	{"ALTER TABLE c DROP COLUMN remark, ADD COLUMN remark2 CHAR(3) NULL FIRST", "c"},
	{"TRUNCATE TABLE f", "f"},
	{"ALTER TABLE f CHANGE COLUMN dec2 dec3 DECIMAL(22,4) NOT NULL DEFAULT 1", "f"},
	{"DROP TABLE d", ""},
	{"ALTER TABLE c ENGINE=InnoDB", "c"},
}}

// The schema history is written to partition 0 of a one-partition topic
// and recovered from it in order, on a broker that would auto-create the
// topic with 10 partitions: after each restart the table structures
// rebuilt from the history equal the server's SHOW CREATE TABLE, and every
// row streamed after each DDL statement carries the columns the table had
// then. The first restart follows a clean stop, the second a crash of the
// task in the middle of the second round (the history then holds records
// beyond the committed offset, which recovery must leave out and streaming
// records again).
func TestHistoryInOrderAcrossRestarts(t *testing.T) {
	e, _ := newEnvPartitioned(t)
	e.db.Exec(t, "", "CREATE DATABASE inventory")
	e.db.Exec(t, "inventory", "CREATE TABLE seed (id INT PRIMARY KEY)", "INSERT INTO seed VALUES (1)")
	db, err := sql.Open("mysql", e.db.DSN("inventory"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	for _, r := range historySteps {
		n += len(r)
	}
	if n != 50 {
		t.Fatalf("%d DDL statements, want 50", n)
	}

	props := e.props(map[string]string{"tombstones.on.delete": "false"})
	want := map[string][]string{} // "table/id" -> column names after the step
	step := 0
	runRound := func(round []historyStep) {
		t.Helper()
		for _, s := range round {
			step++
			// not strict: NOT NULL on a column with NULLs in it is fine
			e.db.Exec(t, "inventory", "SET SESSION sql_mode = ''", s.ddl)
			if s.table == "" {
				continue
			}
			e.db.Exec(t, "inventory", fmt.Sprintf("INSERT INTO %s (id) VALUES (%d)", s.table, step))
			want[fmt.Sprintf("%s/%d", s.table, step)] = serverColumns(t, db, s.table)
		}
	}
	// waitRow waits for the row inserted after the newest step.
	waitRow := func(c *capture) {
		t.Helper()
		last := ""
		for k := range want {
			if id := keyID(k); last == "" || id > keyID(last) {
				last = k
			}
		}
		table, _, _ := strings.Cut(last, "/")
		c.waitFor(t, 1, func(r *connect.Record) bool {
			return r.Topic == "mariadb1.inventory."+table && rowID(r) == keyID(last)
		})
	}

	c := &capture{}
	r := e.start(t, MariaDBPlugin(), props, c)
	c.waitFor(t, 1, onTopic("mariadb1.inventory.seed"))
	runRound(historySteps[0])
	waitRow(c)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	checkHistoryTopic(t, e.raw, "schemahistory.mariadb1")
	checkRecovered(t, e, props, c, db, "after a clean stop")

	// Second round: the task fails after a few more records, as if killed;
	// the rest of the round happens while it is down.
	c.mu.Lock()
	c.failAt = len(c.recs) + 5
	c.mu.Unlock()
	r = e.start(t, MariaDBPlugin(), props, c)
	runRound(historySteps[1][:8])
	if err := r.wait(t); err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("task did not fail as simulated: %v", err)
	}
	runRound(historySteps[1][8:])
	c.mu.Lock()
	c.failAt = 0
	c.mu.Unlock()
	r = e.start(t, MariaDBPlugin(), props, c)
	waitRow(c)
	checkRecovered(t, e, props, c, db, "after a crash (while the task runs again)")
	runRound(historySteps[2])
	waitRow(c)
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	checkHistoryTopic(t, e.raw, "schemahistory.mariadb1")
	checkRecovered(t, e, props, c, db, "after the second restart")

	// every row carries the columns its table had when it was inserted
	// (the newest event of a row counts: a restart may deliver one twice)
	got := map[string][]string{}
	for _, rec := range c.records() {
		if !strings.HasPrefix(rec.Topic, "mariadb1.inventory.") || rec.Value == nil {
			continue
		}
		after, ok := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
		if !ok || after == nil {
			continue
		}
		var names []string
		for _, f := range after.Schema.Fields {
			names = append(names, f.Name)
		}
		got[fmt.Sprintf("%s/%d", strings.TrimPrefix(rec.Topic, "mariadb1.inventory."), rowID(rec))] = names
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyID(keys[i]) < keyID(keys[j]) })
	for _, k := range keys {
		if g, ok := got[k]; !ok {
			t.Errorf("row %s: no event", k)
		} else if strings.Join(g, ",") != strings.Join(want[k], ",") {
			t.Errorf("row %s: event columns %v, table had %v", k, g, want[k])
		}
	}
}

// ALTER TABLE ... ALTER COLUMN ... SET DEFAULT / DROP DEFAULT change the
// column's default in the model and so in the history.
func TestAlterColumnDefault(t *testing.T) {
	m := newSchemaModel()
	steps := []struct {
		ddl         string
		has         bool
		defaultExpr string
	}{
		{"CREATE TABLE a (id INT PRIMARY KEY, code VARCHAR(12) NOT NULL DEFAULT 'y')", true, "y"},
		{"ALTER TABLE a ALTER COLUMN code SET DEFAULT 'q'", true, "q"},
		{"ALTER TABLE a ALTER code DROP DEFAULT", false, ""},
		{"ALTER TABLE a ALTER COLUMN code SET DEFAULT ('z')", true, "z"},
	}
	for _, s := range steps {
		if _, err := m.applyDDL(s.ddl, "db"); err != nil {
			t.Fatalf("%s: %v", s.ddl, err)
		}
		c, _ := m.table(TableID{"db", "a"}).column("code")
		got := ""
		if c.DefaultExpr != nil {
			got = *c.DefaultExpr
		}
		if c.HasDefault != s.has || got != s.defaultExpr {
			t.Errorf("after %s: default %v %q, want %v %q", s.ddl, c.HasDefault, got, s.has, s.defaultExpr)
		}
	}
}

func keyID(k string) int64 {
	_, id, _ := strings.Cut(k, "/")
	var n int64
	fmt.Sscan(id, &n)
	return n
}

// rowID is the id column of a change event's after (or before) image.
func rowID(r *connect.Record) int64 {
	v, ok := r.Value.(*connect.StructValue)
	if !ok || v == nil {
		return -1
	}
	img, _ := v.Get("after").(*connect.StructValue)
	if img == nil {
		img, _ = v.Get("before").(*connect.StructValue)
	}
	if img == nil {
		return -1
	}
	switch id := img.Get("id").(type) {
	case int32:
		return int64(id)
	case int64:
		return id
	case int16:
		return int64(id)
	}
	return -1
}

func serverColumns(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT column_name FROM information_schema.columns WHERE table_schema = 'inventory' AND table_name = ? ORDER BY ordinal_position", table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// checkHistoryTopic checks that the history topic is as Debezium's
// KafkaSchemaHistory creates it and that every record is in partition 0.
func checkHistoryTopic(t *testing.T, raw *kafka.Raw, topic string) {
	t.Helper()
	ctx := context.Background()
	n, err := raw.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("history topic %s has %d partitions, want 1", topic, n)
	}
	admin, err := sarama.NewClusterAdminFromClient(raw.Client())
	if err != nil {
		t.Fatal(err)
	}
	res, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic,
		ConfigNames: []string{"cleanup.policy", "retention.ms", "retention.bytes"}}}, sarama.DescribeConfigsOptions{})
	if err != nil || len(res) != 1 {
		t.Fatalf("describe %s: %v", topic, err)
	}
	got := map[string]string{}
	for _, e := range res[0].Configs {
		got[e.Name] = e.Value
	}
	for k, v := range historyTopicConfigs {
		if got[k] != v {
			t.Errorf("history topic %s: %s=%q, want %q", topic, k, got[k], v)
		}
	}
}

// checkRecovered rebuilds the table model from the history up to the
// stored offset, as a restarted task does, and compares every table of
// the captured database with what the server's SHOW CREATE TABLE gives.
func checkRecovered(t *testing.T, e *env, props map[string]string, c *capture, db *sql.DB, when string) {
	t.Helper()
	ctx := context.Background()
	v, err := MariaDBPlugin().Config().Parse(props)
	if err != nil {
		t.Fatal(err)
	}
	st, err := newConnectorState(mariadbFlavor, v, connect.TaskContext{})
	if err != nil {
		t.Fatal(err)
	}
	st.history = e.raw
	off, err := c.Offset(ctx, nil)
	if err != nil || off == nil {
		t.Fatalf("stored offset: %v %v", off, err)
	}
	// the stored offset must be where the server is, or the comparison
	// is with a structure the connector has not reached yet
	deadline := time.Now().Add(30 * time.Second)
	var model *schemaModel
	for {
		model, _, err = st.recoverHistory(ctx, off)
		if err != nil {
			t.Fatalf("%s: recover: %v", when, err)
		}
		if sameTables(t, st, model, db, false) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
		if off, err = c.Offset(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !sameTables(t, st, model, db, true) {
		t.Errorf("%s: the recovered table structures differ from SHOW CREATE TABLE", when)
	}
}

// sameTables compares the model's tables of database inventory with the
// server's, each as SHOW CREATE TABLE gives it: the history's document of
// each table, and the Connect schema of its rows (which carries the
// converted default values); with report it logs each difference. Two
// differences of form are left out of the documents, as they are between
// Debezium's own snapshot and streamed records: an integer column's display
// width (SHOW CREATE TABLE says int(11) for a column created as INT) and
// the text of a default value (1.0000 for a DECIMAL(22,4) declared with
// DEFAULT 1), whose converted value the schema comparison checks.
func sameTables(t *testing.T, st *connectorState, model *schemaModel, db *sql.DB, report bool) bool {
	t.Helper()
	rows, err := db.Query("SHOW TABLES")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	var have []string
	for id := range model.tables {
		if id.DB == "inventory" {
			have = append(have, id.Table)
		}
	}
	sort.Strings(names)
	sort.Strings(have)
	same := strings.Join(names, ",") == strings.Join(have, ",")
	if !same && report {
		t.Errorf("tables: recovered %v, server %v", have, names)
	}
	for _, n := range names {
		var name, ddl string
		if err := db.QueryRow("SHOW CREATE TABLE `"+n+"`").Scan(&name, &ddl); err != nil {
			t.Fatal(err)
		}
		fresh := newSchemaModel()
		if _, err := fresh.applyDDL(ddl, "inventory"); err != nil {
			t.Fatalf("SHOW CREATE TABLE %s: %v", n, err)
		}
		id := TableID{DB: "inventory", Table: n}
		w := fresh.table(id)
		g := model.table(id)
		if g == nil {
			same = false
			continue
		}
		wd, gd := comparableDoc(w), comparableDoc(g)
		if wd != gd {
			same = false
			if report {
				t.Errorf("table %s: recovered structure differs from SHOW CREATE TABLE:\n%s", n, docDiff(wd, gd))
			}
		}
		ws, err := st.buildTableSchema(w)
		if err != nil {
			t.Fatalf("table %s: %v", n, err)
		}
		gs, err := st.buildTableSchema(g)
		if err != nil {
			t.Fatalf("table %s: %v", n, err)
		}
		wj, _ := json.Marshal(ws.valueS)
		gj, _ := json.Marshal(gs.valueS)
		if string(wj) != string(gj) {
			same = false
			if report {
				t.Errorf("table %s: row schema\nfrom SHOW CREATE TABLE %s\nrecovered             %s", n, wj, gj)
			}
		}
	}
	return same
}

// comparableDoc is a table's history document without the differences of
// form sameTables leaves out.
func comparableDoc(t *Table) string {
	c := t.clone()
	for _, col := range c.Columns {
		switch col.JDBCType {
		case jdbcSmallint, jdbcInteger, jdbcBigint:
			col.Length = -1
		}
		if col.TypeName == "YEAR" {
			col.Length = -1
		}
		col.DefaultExpr = nil
	}
	return string(tableDoc(c).marshal())
}

// docDiff lists the differences between two table documents, per column
// and field.
func docDiff(want, got string) string {
	var w, g map[string]any
	json.Unmarshal([]byte(want), &w)
	json.Unmarshal([]byte(got), &g)
	var b strings.Builder
	for k := range w {
		if k == "columns" {
			continue
		}
		if fmt.Sprint(w[k]) != fmt.Sprint(g[k]) {
			fmt.Fprintf(&b, "  %s: server %v, recovered %v\n", k, w[k], g[k])
		}
	}
	wc, _ := w["columns"].([]any)
	gc, _ := g["columns"].([]any)
	for i := 0; i < max(len(wc), len(gc)); i++ {
		var wm, gm map[string]any
		if i < len(wc) {
			wm = wc[i].(map[string]any)
		}
		if i < len(gc) {
			gm = gc[i].(map[string]any)
		}
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		for k := range keys {
			wv, wok := wm[k]
			gv, gok := gm[k]
			if wok != gok || fmt.Sprint(wv) != fmt.Sprint(gv) {
				fmt.Fprintf(&b, "  column %d (%v/%v) %s: server %v, recovered %v\n", i+1, wm["name"], gm["name"], k, wv, gv)
			}
		}
	}
	return b.String()
}

// An existing history topic with several partitions is refused at start,
// before anything is read or written: its records may be spread over the
// partitions, and no order between them can be recovered.
func TestHistoryTopicWithSeveralPartitionsRefused(t *testing.T) {
	e, _ := newEnvPartitioned(t)
	e.db.Exec(t, "", inventorySQL)
	if _, err := e.raw.CreateTopic(context.Background(), "schemahistory.mariadb1", 3, nil); err != nil {
		t.Fatal(err)
	}
	c := &capture{}
	r := e.start(t, MariaDBPlugin(), e.props(nil), c)
	err := r.wait(t)
	if err == nil {
		t.Fatal("the task started on a history topic with 3 partitions")
	}
	t.Logf("error: %v", err)
	for _, s := range []string{`schema history topic "schemahistory.mariadb1" has 3 partitions but must have exactly one`, "snapshot.mode=recovery"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not say %q", s)
		}
	}
	if connect.IsRetriable(err) {
		t.Error("the error is retriable: restarting cannot change the topic")
	}
	if n := len(c.records()); n != 0 {
		t.Errorf("%d records emitted", n)
	}
	kvs, err := e.raw.ReadAll(context.Background(), "schemahistory.mariadb1")
	if err != nil || len(kvs) != 0 {
		t.Errorf("history topic written: %d records, %v", len(kvs), err)
	}
}

// A schema history written by Debezium (its HistoryRecord documents, in the
// one partition of the topic Debezium creates, with a null record and a
// record beyond the stored offset) is read back in order: the task resumes
// from Debezium's offset with the table structure the history describes.
func TestHistoryWrittenByDebezium(t *testing.T) {
	e, _ := newEnvPartitioned(t)
	e.db.Exec(t, "", inventorySQL)
	e.db.Exec(t, "inventory", "ALTER TABLE customers ADD COLUMN phone VARCHAR(20) NULL AFTER last_name")
	db, err := sql.Open("mysql", e.db.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var file, gtids string
	var pos int64
	var skip any
	if err := db.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &skip, &skip); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtids); err != nil {
		t.Fatal(err)
	}
	var domain, server, seq int64
	if _, err := fmt.Sscanf(gtids, "%d-%d-%d", &domain, &server, &seq); err != nil {
		t.Fatalf("gtid_binlog_pos %q: %v", gtids, err)
	}
	// Debezium's snapshot records, then the streamed ALTER, at the
	// positions Debezium gives them; the last record is beyond the offset.
	col := func(name string, jdbc int, typ string, length, position int, optional, autoInc bool) string {
		return fmt.Sprintf(`{"name":%q,"jdbcType":%d,"typeName":%q,"typeExpression":%q,"charsetName":null,"length":%d,"position":%d,"optional":%t,"autoIncremented":%t,"generated":%t,"comment":null,"hasDefaultValue":false,"enumValues":[]}`,
			name, jdbc, typ, typ, length, position, optional, autoInc, autoInc)
	}
	snapPos := fmt.Sprintf(`{"transaction_id":null,"ts_sec":1700000000,"file":%q,"pos":%d,"gtids":"%d-%d-%d","snapshot":true}`, file, pos-400, domain, server, seq-1)
	create := `{"type":"CREATE","id":"\"inventory\".\"customers\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[` +
		col("id", 4, "INT", 11, 1, false, true) + "," + col("first_name", 12, "VARCHAR", 255, 2, false, false) + "," +
		col("last_name", 12, "VARCHAR", 255, 3, false, false) + "," + col("email", 12, "VARCHAR", 255, 4, false, false) + `],"attributes":[]},"comment":null}`
	alter := `{"type":"ALTER","id":"\"inventory\".\"customers\"","table":{"defaultCharsetName":"utf8mb4","primaryKeyColumnNames":["id"],"columns":[` +
		col("id", 4, "INT", 11, 1, false, true) + "," + col("first_name", 12, "VARCHAR", 255, 2, false, false) + "," +
		col("last_name", 12, "VARCHAR", 255, 3, false, false) + "," + col("phone", 12, "VARCHAR", 20, 4, true, false) + "," +
		col("email", 12, "VARCHAR", 255, 5, false, false) + `],"attributes":[]},"comment":null}`
	beyond := strings.Replace(alter, `"phone"`, `"not_yet"`, 1)
	records := []string{
		`{"source":{"server":"mariadb1"},"position":` + snapPos + `,"ts_ms":1700000000000,"databaseName":"","ddl":"SET character_set_server=utf8mb4, collation_server=utf8mb4_general_ci;","tableChanges":[]}`,
		`{"source":{"server":"mariadb1"},"position":` + snapPos + `,"ts_ms":1700000000001,"databaseName":"inventory","ddl":"DROP TABLE IF EXISTS ` + "`inventory`.`customers`" + `","tableChanges":[]}`,
		`{"source":{"server":"mariadb1"},"position":` + snapPos + `,"ts_ms":1700000000002,"databaseName":"inventory","ddl":"DROP DATABASE IF EXISTS ` + "`inventory`" + `","tableChanges":[]}`,
		`{"source":{"server":"mariadb1"},"position":` + snapPos + `,"ts_ms":1700000000003,"databaseName":"inventory","ddl":"CREATE DATABASE ` + "`inventory`" + ` CHARSET utf8mb4 COLLATE utf8mb4_general_ci","tableChanges":[]}`,
		`{"source":{"server":"mariadb1"},"position":` + snapPos + `,"ts_ms":1700000000004,"databaseName":"inventory","ddl":"USE ` + "`inventory`" + `","tableChanges":[]}`,
		`{"source":{"server":"mariadb1"},"position":` + snapPos + `,"ts_ms":1700000000005,"databaseName":"inventory","ddl":"CREATE TABLE customers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, first_name VARCHAR(255) NOT NULL, last_name VARCHAR(255) NOT NULL, email VARCHAR(255) NOT NULL UNIQUE KEY)","tableChanges":[` + create + `]}`,
		"", // a null record, which KafkaSchemaHistory skips
		fmt.Sprintf(`{"source":{"server":"mariadb1"},"position":{"transaction_id":null,"ts_sec":1700000001,"file":%q,"pos":%d,"gtids":"%d-%d-%d","server_id":%d},"ts_ms":1700000001000,"databaseName":"inventory","ddl":"ALTER TABLE customers ADD COLUMN phone VARCHAR(20) NULL AFTER last_name","tableChanges":[%s]}`,
			file, pos-200, domain, server, seq, server, alter),
		fmt.Sprintf(`{"source":{"server":"mariadb1"},"position":{"transaction_id":null,"ts_sec":1700000002,"file":%q,"pos":%d,"gtids":"%d-%d-%d","server_id":%d},"ts_ms":1700000002000,"databaseName":"inventory","ddl":"ALTER TABLE customers ADD COLUMN not_yet INT","tableChanges":[%s]}`,
			file, pos+200, domain, server, seq+1, server, beyond),
	}
	ctx := context.Background()
	if created, err := e.raw.CreateTopic(ctx, "schemahistory.mariadb1", 1, historyTopicConfigs); err != nil || !created {
		t.Fatalf("create history topic: %v %v", created, err)
	}
	for _, r := range records {
		var v []byte
		if r != "" {
			v = []byte(r)
		}
		if err := e.raw.ProducePartition(ctx, "schemahistory.mariadb1", 0, nil, v); err != nil {
			t.Fatal(err)
		}
	}
	c := &capture{stored: map[string]any{"file": file, "pos": pos, "gtids": gtids, "server_id": server, "ts_sec": int64(1700000001)}}
	r := e.start(t, MariaDBPlugin(), e.props(nil), c)
	e.db.Exec(t, "inventory", "INSERT INTO customers VALUES (default, 'Deb', 'Ezium', '555', 'dbz@example.com')")
	recs := c.waitFor(t, 1, onTopic("mariadb1.inventory.customers"))
	if err := r.stop(t); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d events, want only the new row's (no snapshot)", len(recs))
	}
	after := recs[0].Value.(*connect.StructValue).Get("after").(*connect.StructValue)
	var names []string
	for _, f := range after.Schema.Fields {
		names = append(names, fmt.Sprintf("%s=%v", f.Name, after.Get(f.Name)))
	}
	if got, want := strings.Join(names, " "), "id=1005 first_name=Deb last_name=Ezium phone=555 email=dbz@example.com"; got != want {
		t.Errorf("event after\n got %s\nwant %s", got, want)
	}
}
