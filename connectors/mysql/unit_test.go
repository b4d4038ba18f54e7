package mysql

import (
	"bytes"
	"math/big"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

func TestGtidSets(t *testing.T) {
	tests := []struct {
		mariadb bool
		in      string
		add     []string
		want    string
	}{
		{false, "", []string{"3e11fa47-71ca-11e1-9e33-c80aa9429562:1"}, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-1"},
		{false, "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5:7-9", []string{"3e11fa47-71ca-11e1-9e33-c80aa9429562:6"}, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9"},
		{false, "b:1-3,\na:4", []string{"a:5"}, "a:4-5,b:1-3"},
		{true, "0-1-5", []string{"0-1-6", "1-2-3"}, "0-1-6,1-2-3"},
		{true, "", []string{"0-1-1"}, "0-1-1"},
	}
	for _, tc := range tests {
		g, err := parseGtidSet(tc.mariadb, tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		for _, a := range tc.add {
			if err := g.add(a); err != nil {
				t.Fatalf("add %q: %v", a, err)
			}
		}
		if got := g.String(); got != tc.want {
			t.Errorf("%q + %v = %q, want %q", tc.in, tc.add, got, tc.want)
		}
	}
	big, _ := parseMySQLGtidSet("a:1-10,b:1-2")
	small, _ := parseMySQLGtidSet("a:3-4")
	if !big.contains(small) || small.contains(big) {
		t.Error("MySQL GTID containment")
	}
	m1, _ := parseMariaGtidSet("0-1-10,1-1-3")
	m2, _ := parseMariaGtidSet("0-2-9")
	if !m1.contains(m2) || m2.contains(m1) {
		t.Error("MariaDB GTID containment")
	}
	for _, bad := range []string{"a", "a:x"} {
		if _, err := parseMySQLGtidSet(bad); err == nil {
			t.Errorf("MySQL GTID set %q accepted", bad)
		}
	}
	if _, err := parseMariaGtidSet("0-1"); err == nil {
		t.Error("MariaDB GTID 0-1 accepted")
	}
}

// The order of a real Debezium MySQL history record's position document
// ({"transaction_id":...,"ts_sec":...,"file":...,"pos":...,"gtids":...,"server_id":...})
// is java.util.HashMap's iteration order.
func TestJavaHashMapOrder(t *testing.T) {
	got := strings.Join(javaHashMapOrder([]string{"server_id", "gtids", "file", "pos", "ts_sec", "transaction_id"}), ",")
	if want := "transaction_id,ts_sec,file,pos,gtids,server_id"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
	if javaStringHash("server_id") != int32(-197437545) {
		// "server_id".hashCode() in Java: s[0]*31^(n-1) + ... in int32
		t.Errorf("hash = %d", javaStringHash("server_id"))
	}
}

func TestJavaSerializedString(t *testing.T) {
	want := []byte{0xac, 0xed, 0x00, 0x05, 0x74, 0x00, 0x03, 'a', 'b', 'c'}
	if got := javaSerializedString("abc"); !bytes.Equal(got, want) {
		t.Errorf("got % x", got)
	}
}

func TestDDLColumnTypes(t *testing.T) {
	m := newSchemaModel()
	m.serverCharset = "utf8mb4"
	ddl := "CREATE TABLE `t` (`id` int(11) NOT NULL AUTO_INCREMENT, b BOOLEAN, c tinyint(1) unsigned zerofill, " +
		"d decimal, e DECIMAL(5,2) DEFAULT '1.50', f datetime(3), p POINT NOT NULL, g GEOMETRY, k enum('a','b''c') NOT NULL DEFAULT 'a', " +
		"l text CHARACTER SET latin1, n float(30), q char, r varchar(10) COLLATE utf8mb4_bin COMMENT 'rc', s timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(), " +
		"u SERIAL, PRIMARY KEY (`id`)) DEFAULT CHARSET=latin1 COMMENT='tc'"
	evs, err := m.applyDDL(ddl, "db")
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].kind != changeCreate || evs[0].ddl != ddl {
		t.Fatalf("events %+v", evs)
	}
	tb := m.table(TableID{"db", "t"})
	if tb == nil || tb.DefaultCharset != "latin1" || *tb.Comment != "tc" || strings.Join(tb.PK, ",") != "id" {
		t.Fatalf("table %+v", tb)
	}
	type want struct {
		name, typ    string
		jdbc, length int
		scale        string
		optional     bool
		charset      string
		def          string
	}
	wants := []want{
		{"id", "INT", jdbcInteger, 11, "", false, "", ""},
		{"b", "BOOLEAN", jdbcBoolean, -1, "", true, "", ""},
		{"c", "TINYINT UNSIGNED ZEROFILL", jdbcSmallint, 1, "", true, "", ""},
		{"d", "DECIMAL", jdbcDecimal, 10, "0", true, "", ""},
		{"e", "DECIMAL", jdbcDecimal, 5, "2", true, "", "1.50"},
		{"f", "DATETIME", jdbcTimestamp, 3, "", true, "", ""},
		{"p", "POINT", jdbcOther, -1, "", false, "", ""},
		{"g", "GEOMETRY", jdbcOther, -1, "", true, "", ""},
		{"k", "ENUM", jdbcChar, 1, "", false, "", "a"},
		{"l", "TEXT", jdbcVarchar, -1, "", true, "latin1", ""},
		{"n", "FLOAT", jdbcFloat, 30, "", true, "", ""},
		{"q", "CHAR", jdbcChar, -1, "", true, "", ""},
		{"r", "VARCHAR", jdbcVarchar, 10, "", true, "utf8mb4", ""},
		{"s", "TIMESTAMP", jdbcTimestampWithTimezone, -1, "", false, "", "1970-01-01 00:00:00"},
		{"u", "BIGINT UNSIGNED", jdbcBigint, -1, "", false, "", ""},
	}
	if len(tb.Columns) != len(wants) {
		t.Fatalf("%d columns", len(tb.Columns))
	}
	for i, w := range wants {
		c := tb.Columns[i]
		scale := ""
		if c.Scale != nil {
			scale = string(rune('0' + *c.Scale))
		}
		def := ""
		if c.DefaultExpr != nil {
			def = *c.DefaultExpr
		}
		if c.Name != w.name || c.TypeName != w.typ || c.JDBCType != w.jdbc || c.Length != w.length || scale != w.scale ||
			c.Optional != w.optional || c.Charset != w.charset || def != w.def || c.Position != i+1 {
			t.Errorf("column %d: %+v (scale %q default %q), want %+v", i, *c, scale, def, w)
		}
	}
	if got := strings.Join(tb.Columns[8].EnumValues, ","); got != "'a','b''c'" {
		t.Errorf("enum values %s", got)
	}
	if got := strings.Join(tb.Columns[8].enumOptions(), "|"); got != "a|b'c" {
		t.Errorf("enum options %s", got)
	}
	if *tb.Columns[12].Comment != "rc" {
		t.Errorf("comment %v", tb.Columns[12].Comment)
	}
}

func TestDDLAlterRenameDrop(t *testing.T) {
	m := newSchemaModel()
	steps := []struct {
		sql  string
		db   string
		cols string // columns of db.t2 (or db.t) afterwards
		kind changeKind
	}{
		{"CREATE TABLE t (a INT PRIMARY KEY, b VARCHAR(5), c INT)", "db", "a,b,c", changeCreate},
		{"ALTER TABLE t ADD COLUMN d INT FIRST, ADD e INT AFTER a", "db", "d,a,e,b,c", changeAlter},
		{"ALTER TABLE db.t DROP COLUMN b, MODIFY c BIGINT NOT NULL AFTER d", "x", "d,c,a,e", changeAlter},
		{"ALTER TABLE t CHANGE a aa INT NOT NULL, RENAME COLUMN e TO ee", "db", "d,c,aa,ee", changeAlter},
		{"ALTER TABLE t RENAME TO t2", "db", "d,c,aa,ee", changeAlter},
	}
	for _, s := range steps {
		evs, err := m.applyDDL(s.sql, s.db)
		if err != nil {
			t.Fatalf("%s: %v", s.sql, err)
		}
		if len(evs) != 1 || evs[0].kind != s.kind {
			t.Fatalf("%s: events %+v", s.sql, evs)
		}
		tb := m.table(TableID{"db", "t"})
		if tb == nil {
			tb = m.table(TableID{"db", "t2"})
		}
		var names []string
		for _, c := range tb.Columns {
			names = append(names, c.Name)
		}
		if got := strings.Join(names, ","); got != s.cols {
			t.Errorf("%s: columns %s, want %s", s.sql, got, s.cols)
		}
	}
	tb := m.table(TableID{"db", "t2"})
	if strings.Join(tb.PK, ",") != "aa" {
		t.Errorf("primary key after CHANGE: %v", tb.PK)
	}
	evs, err := m.applyDDL("RENAME TABLE t2 TO t3", "db")
	if err != nil || len(evs) != 1 || evs[0].prevID == nil || *evs[0].prevID != (TableID{"db", "t2"}) || m.table(TableID{"db", "t3"}) == nil {
		t.Fatalf("rename: %+v %v", evs, err)
	}
	evs, err = m.applyDDL("DROP TABLE IF EXISTS `t3` /* generated by server */", "db")
	if err != nil || len(evs) != 1 || evs[0].kind != changeDrop || evs[0].ddl != "DROP TABLE IF EXISTS `t3`" || len(m.tables) != 0 {
		t.Fatalf("drop: %+v %v", evs, err)
	}
	// unparseable table DDL is an error naming the statement
	if _, err := m.applyDDL("CREATE TABLE broken (a INT,", "db"); err == nil || !strings.Contains(err.Error(), "CREATE TABLE broken") {
		t.Errorf("broken DDL: %v", err)
	}
	// statements that are not table DDL are kept as database events
	evs, err = m.applyDDL("GRANT SELECT ON *.* TO 'u'@'%'", "db")
	if err != nil || len(evs) != 1 || evs[0].kind != changeDatabase {
		t.Errorf("GRANT: %+v %v", evs, err)
	}
}

func TestHistoryRecordFormat(t *testing.T) {
	m := newSchemaModel()
	if _, err := m.applyDDL("CREATE TABLE `customers` (`id` int(11) NOT NULL AUTO_INCREMENT, `email` varchar(255) NOT NULL, `kind` enum('a','b') DEFAULT 'a', PRIMARY KEY (`id`)) DEFAULT CHARSET=latin1", "inventory"); err != nil {
		t.Fatal(err)
	}
	tb := m.table(TableID{"inventory", "customers"})
	got := string(jdoc(changesDoc([]tableChange{{typ: changeCreate, id: tb.ID, table: tb}})[0].(jdoc)).marshal())
	want := `{"type":"CREATE","id":"\"inventory\".\"customers\"","table":{"defaultCharsetName":"latin1","primaryKeyColumnNames":["id"],"columns":[` +
		`{"name":"id","jdbcType":4,"typeName":"INT","typeExpression":"INT","charsetName":null,"length":11,"position":1,"optional":false,"autoIncremented":true,"generated":true,"comment":null,"hasDefaultValue":false,"enumValues":[]},` +
		`{"name":"email","jdbcType":12,"typeName":"VARCHAR","typeExpression":"VARCHAR","charsetName":null,"length":255,"position":2,"optional":false,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":false,"enumValues":[]},` +
		`{"name":"kind","jdbcType":1,"typeName":"ENUM","typeExpression":"ENUM","charsetName":null,"length":1,"position":3,"optional":true,"autoIncremented":false,"generated":false,"comment":null,"hasDefaultValue":true,"defaultValueExpression":"a","enumValues":["'a'","'b'"]}` +
		`],"attributes":[]},"comment":null}`
	if got != want {
		t.Errorf("table change\n got %s\nwant %s", got, want)
	}
	d, err := parseJdoc([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	tv, _ := d.get("table")
	back, err := tableFromDoc(tb.ID, tv.(jdoc))
	if err != nil {
		t.Fatal(err)
	}
	again := string(jdoc(changesDoc([]tableChange{{typ: changeCreate, id: tb.ID, table: back}})[0].(jdoc)).marshal())
	if again != want {
		t.Errorf("round trip\n got %s\nwant %s", again, want)
	}
}

// A Debezium-written offset (including the legacy boolean snapshot flag)
// loads and is written back in Debezium's shape.
func TestOffsetLoad(t *testing.T) {
	o, err := loadOffset(map[string]any{"file": "mysql-bin.000003", "pos": float64(154), "event": int64(2), "row": "1",
		"gtids": "a:1-5\n", "server_id": int64(223344), "ts_sec": int64(1), "snapshot": true})
	if err != nil {
		t.Fatal(err)
	}
	if !o.initialSnapshotRunning() || o.restartEvents != 2 || o.restartRows != 1 || o.restartGtidSet != "a:1-5" {
		t.Errorf("loaded %+v", o)
	}
	off := o.offset()
	if off["file"] != "mysql-bin.000003" || off["pos"] != int64(154) || off["event"] != int64(2) || off["row"] != int64(1) || off["snapshot"] != "INITIAL" || off["server_id"] != int64(223344) {
		t.Errorf("offset %v", off)
	}
	if _, err := loadOffset(map[string]any{"pos": 4}); err == nil || !strings.Contains(err.Error(), `"file"`) {
		t.Errorf("missing file: %v", err)
	}
	done, _ := loadOffset(map[string]any{"file": "f", "pos": 4, "snapshot": "INITIAL", "snapshot_completed": true})
	if done.initialSnapshotRunning() {
		t.Error("completed snapshot reported as running")
	}
}

func TestConverters(t *testing.T) {
	opts := &typeOptions{decimalMode: "precise", bigintUnsigned: "precise", timePrecision: "adaptive_time_microseconds", binaryMode: "bytes"}
	col := func(typ string, args ...string) *Column {
		c := &Column{Name: "c", Optional: true}
		words := strings.Fields(typ)
		rt := rawType{column: "c", words: words[:1], args: args}
		for _, w := range words[1:] {
			if w == "UNSIGNED" {
				rt.unsigned = true
			}
		}
		if err := resolveType(c, rt); err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		col     *Column
		text    string
		binlog  any
		want    any
		wantStr string
	}{
		{col("DECIMAL", "10", "3"), "-12.500", "-12.500", connect.Decimal{Unscaled: big.NewInt(-12500), Scale: 3}, ""},
		{col("BIGINT UNSIGNED"), "18446744073709551615", int64(-1), nil, "18446744073709551615"},
		{col("TIME"), "-01:30:00.5", "-01:30:00.5", int64(-5400500000), ""},
		{col("DATE"), "1969-12-31", "1969-12-31", int32(-1), ""},
		{col("DATE"), "0000-00-00", "0000-00-00", nil, ""},
		{col("BIT", "10"), "\x02\x01", int64(0x201), []byte{0x01, 0x02}, ""},
		{col("TIMESTAMP", "6"), "2024-01-02 03:04:05.120000", "2024-01-02 03:04:05.120000", "2024-01-02T03:04:05.120000Z", ""},
		{col("TIMESTAMP"), "2024-01-02 03:04:05", "2024-01-02 03:04:05", "2024-01-02T03:04:05Z", ""},
		{col("YEAR"), "2155", 2155, int32(2155), ""},
	}
	for i, tc := range tests {
		cv, err := newConverter(TableID{"d", "t"}, tc.col, opts)
		if err != nil {
			t.Fatal(err)
		}
		a, err := cv.fromText([]byte(tc.text))
		if err != nil {
			t.Fatalf("%d: text: %v", i, err)
		}
		b, err := cv.fromBinlog(tc.binlog)
		if err != nil {
			t.Fatalf("%d: binlog: %v", i, err)
		}
		for _, got := range []any{a, b} {
			if tc.wantStr != "" {
				d, ok := got.(connect.Decimal)
				if !ok || d.String() != tc.wantStr {
					t.Errorf("%d: got %v, want %s", i, got, tc.wantStr)
				}
				continue
			}
			if d, ok := got.(connect.Decimal); ok {
				if d.String() != tc.want.(connect.Decimal).String() {
					t.Errorf("%d: got %v, want %v", i, d, tc.want)
				}
				continue
			}
			if gb, ok := got.([]byte); ok {
				if !bytes.Equal(gb, tc.want.([]byte)) {
					t.Errorf("%d: got % x, want % x", i, gb, tc.want)
				}
				continue
			}
			if got != tc.want {
				t.Errorf("%d (%s): got %#v, want %#v", i, tc.col.TypeName, got, tc.want)
			}
		}
	}
	// a zero date in a NOT NULL column becomes the epoch, as in Debezium
	c := col("DATE")
	c.Optional = false
	cv, _ := newConverter(TableID{"d", "t"}, c, opts)
	if v, _ := cv.fromBinlog("0000-00-00"); v != int32(0) {
		t.Errorf("zero date: %v", v)
	}
	// unsupported types name the column
	u := &Column{Name: "addr"}
	resolveType(u, rawType{column: "addr", words: []string{"INET6"}})
	if _, err := newConverter(TableID{"d", "t"}, u, opts); err == nil || !strings.Contains(err.Error(), `"addr"`) {
		t.Errorf("INET6: %v", err)
	}
}

func TestPlugins(t *testing.T) {
	for _, tc := range []struct {
		p          *connectPluginView
		class, src string
	}{
		{view(Plugin()), "io.debezium.connector.mysql.MySqlConnector", "io.debezium.connector.mysql.Source"},
		{view(MariaDBPlugin()), "io.debezium.connector.mariadb.MariaDbConnector", "io.debezium.connector.mariadb.Source"},
	} {
		if tc.p.class != tc.class || tc.p.source != tc.src {
			t.Errorf("plugin %+v", tc.p)
		}
	}
	// a missing history topic is reported by name
	v, err := Plugin().Config().Parse(map[string]string{"topic.prefix": "x", "database.hostname": "h", "database.user": "u"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseSettings(mysqlFlavor, v); err == nil || !strings.Contains(err.Error(), "schema.history.internal.kafka.topic") {
		t.Errorf("missing history topic: %v", err)
	}
	v, _ = Plugin().Config().Parse(map[string]string{"topic.prefix": "x", "database.hostname": "h", "database.user": "u", "schema.history.internal.kafka.topic": "h"})
	s, err := parseSettings(mysqlFlavor, v)
	if err != nil {
		t.Fatal(err)
	}
	if s.serverID < serverIDMin || s.serverID > serverIDMax {
		t.Errorf("random server id %d", s.serverID)
	}
	if _, err := Plugin().Config().Parse(map[string]string{"topic.prefix": "x", "database.hostname": "h", "database.user": "u", "snapshot.mode": "bogus"}); err == nil {
		t.Error("bogus snapshot.mode accepted")
	}
}

type connectPluginView struct{ class, source string }

func view(p *connect.Plugin) *connectPluginView {
	f := mysqlFlavor
	if p.Class == mariadbFlavor.class {
		f = mariadbFlavor
	}
	return &connectPluginView{class: p.Class, source: sourceSchema(f).Name}
}

// The binlog reader must not decode a large transaction far ahead of the
// connector: go-mysql's default read-ahead of 10240 events held most of a
// 200k-row transaction's decoded rows in memory (517 MB peak RSS).
func TestBinlogReadAheadBounded(t *testing.T) {
	for _, mariadb := range []bool{false, true} {
		tk := &task{c: &connectorState{cfg: &settings{host: "db", port: 3306}}, server: &serverInfo{mariadb: mariadb}}
		cfg, err := tk.syncerConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.EventCacheCount != binlogReadAhead || cfg.EventCacheCount <= 0 || cfg.EventCacheCount > 1024 {
			t.Errorf("mariadb=%v: EventCacheCount %d, want %d (0 means go-mysql's 10240)", mariadb, cfg.EventCacheCount, binlogReadAhead)
		}
	}
}

// GTID sets lose MySQL's line breaks, and taking one, which happens for
// every transaction, costs no allocation (it built a strings.Replacer each
// time).
func TestGtidSetLineBreaks(t *testing.T) {
	o := newOffsetState()
	o.setCompletedGtidSet("a:1-5,\r\nb:1-3\n")
	if o.restartGtidSet != "a:1-5,b:1-3" || o.currentGtidSet != "a:1-5,b:1-3" {
		t.Errorf("completed set %q / %q", o.restartGtidSet, o.currentGtidSet)
	}
	o.startGtid("a:6", "a:1-6,\nb:1-3")
	if o.currentGtidSet != "a:1-6,b:1-3" || o.restartGtidSet != "a:1-5,b:1-3" {
		t.Errorf("after GTID a:6: current %q, restart %q", o.currentGtidSet, o.restartGtidSet)
	}
	if n := testing.AllocsPerRun(100, func() {
		o.startGtid("a:7", "a:1-7,b:1-3")
		o.setCompletedGtidSet("a:1-7,b:1-3")
	}); n != 0 {
		t.Errorf("%v allocations per GTID event, want 0", n)
	}
}
