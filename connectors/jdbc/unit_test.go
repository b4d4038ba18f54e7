package jdbc

import (
	"context"
	"math/big"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		in      string
		dialect string
		hosts   []hostPort
		db      string
		user    string
		pass    string
		props   map[string]string
		err     string
	}{
		{in: "jdbc:postgresql://db.example:6543/shop?user=app&password=p%40ss&sslmode=require",
			dialect: dialectPostgres, hosts: []hostPort{{"db.example", 6543}}, db: "shop", user: "app", pass: "p@ss",
			props: map[string]string{"sslmode": "require"}},
		{in: "jdbc:postgresql://h1,h2:5433/db", dialect: dialectPostgres, hosts: []hostPort{{"h1", 5432}, {"h2", 5433}}, db: "db", props: map[string]string{}},
		{in: "jdbc:postgresql:localdb", dialect: dialectPostgres, hosts: []hostPort{{"localhost", 5432}}, db: "localdb", props: map[string]string{}},
		{in: "jdbc:mysql://bob:secret@[::1]:3307/inventory?useSSL=false;connectTimeout=500", dialect: dialectMySQL,
			hosts: []hostPort{{"::1", 3307}}, db: "inventory", user: "bob", pass: "secret",
			props: map[string]string{"usessl": "false", "connecttimeout": "500"}},
		{in: "jdbc:mariadb://maria/app", dialect: dialectMariaDB, hosts: []hostPort{{"maria", 3306}}, db: "app", props: map[string]string{}},
		{in: "jdbc:oracle:thin:@localhost:1521:orcl", err: "unsupported JDBC subprotocol"},
		{in: "postgresql://x/y", err: "not a JDBC URL"},
		{in: "jdbc:mysql://h:99999/db", err: "invalid port"},
		{in: "jdbc:mysql:db", err: "must have the form"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			u, err := parseURL(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.dialect != c.dialect || !reflect.DeepEqual(u.hosts, c.hosts) || u.database != c.db ||
				u.user != c.user || u.password != c.pass || !reflect.DeepEqual(u.props, c.props) {
				t.Fatalf("got %+v", u)
			}
			if strings.Contains(u.redacted(), "secret") || strings.Contains(u.redacted(), "p@ss") {
				t.Fatalf("redacted URL leaks the password: %s", u.redacted())
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	base := map[string]string{"connection.url": "jdbc:postgresql://h/db", "topic.prefix": "p-"}
	cases := []struct {
		props map[string]string
		want  string // "" = valid
	}{
		{map[string]string{"mode": "bulk"}, ""},
		{map[string]string{}, "mode: missing required property"},
		{map[string]string{"mode": "sometimes"}, "must be one of"},
		{map[string]string{"mode": "timestamp"}, "timestamp.column.name"},
		{map[string]string{"mode": "incrementing", "query": "SELECT 1"}, "incrementing.column.name"},
		{map[string]string{"mode": "bulk", "query": "SELECT 1", "topic.prefix": ""}, "topic.prefix"},
		{map[string]string{"mode": "bulk", "table.whitelist": "a", "table.blacklist": "b"}, "cannot both be set"},
		{map[string]string{"mode": "bulk", "table.exclude.list": "x.*"}, "requires table.include.list"},
		{map[string]string{"mode": "bulk", "table.include.list": "a", "table.whitelist": "a"}, "cannot be combined"},
		{map[string]string{"mode": "bulk", "topic.prefix": "bad prefix"}, "must not contain"},
		{map[string]string{"mode": "bulk", "db.timezone": "Mars/Olympus"}, "unknown time zone"},
		{map[string]string{"mode": "bulk", "batch.max.rows": "0"}, "at least 1"},
		{map[string]string{"mode": "bulk", "timestamp.columns.mapping": "t1:updated"}, "square brackets"},
		{map[string]string{"mode": "bulk", "connection.url": "jdbc:sqlserver://h"}, "unsupported JDBC subprotocol"},
		{map[string]string{"mode": "bulk", "connection.url": "jdbc:mysql://h/db", "visibility.horizon": "xmin"}, "only available on PostgreSQL"},
		{map[string]string{"mode": "bulk", "soft.delete.value": "1"}, "requires soft.delete.column"},
		{map[string]string{"mode": "bulk", "pol.interval.ms": "5"}, "did you mean"},
	}
	for _, c := range cases {
		props := map[string]string{}
		for k, v := range base {
			props[k] = v
		}
		for k, v := range c.props {
			props[k] = v
		}
		_, err := parseProps(props)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.props, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.props, err, c.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	s, err := parseProps(map[string]string{"connection.url": "jdbc:mysql://u:pw@h/db", "mode": "bulk", "numeric.precision.mapping": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if s.batchMaxRows != 1000 || s.pollInterval != 5*time.Second || s.tablePoll != time.Minute || s.attempts != 3 ||
		s.backoff != 10*time.Second || s.zone != time.UTC || !s.quote || !s.validateNonNull || s.numericMapping != numericPrecisionOnly ||
		s.user != "u" || s.pass != "pw" || !reflect.DeepEqual(s.tableTypes, []string{"TABLE"}) {
		t.Fatalf("defaults: %+v", s)
	}
}

// TestOffsetsConfluentCompatible reads offsets as Confluent writes them
// (and as a JSON store returns them) and writes Confluent's keys.
func TestOffsetsConfluentCompatible(t *testing.T) {
	// Timestamp(1700000000123) with nanos 123456789, incrementing 42.
	confluent := map[string]any{"incrementing": float64(42), "timestamp": float64(1700000000123), "timestamp_nanos": float64(123456789)}
	o, err := offsetFromMap(confluent)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Unix(1700000000, 123456789).UTC()
	if *o.inc != 42 || !o.ts.Equal(want) {
		t.Fatalf("read %v %v", *o.inc, o.ts)
	}
	m := o.toMap()
	if m["incrementing"] != int64(42) || m["timestamp"] != int64(1700000000123) || m["timestamp_nanos"] != int64(123456789) {
		t.Fatalf("wrote %v", m)
	}
	// Before 1970: java.sql.Timestamp(-1500) is 1969-12-31T23:59:58.5.
	o, err = offsetFromMap(map[string]any{"timestamp": int64(-1500)})
	if err != nil {
		t.Fatal(err)
	}
	if !o.ts.Equal(time.Unix(-2, 500_000_000)) {
		t.Fatalf("negative millis read as %v", o.ts)
	}
	if back := o.toMap(); back["timestamp"] != int64(-1500) || back["timestamp_nanos"] != int64(500_000_000) {
		t.Fatalf("negative millis written as %v", back)
	}
	if _, err := offsetFromMap(map[string]any{"incrementing": "x"}); err == nil {
		t.Fatal("bad offset accepted")
	}
	if _, err := offsetFromMap(map[string]any{"tributary_tiebreak": 5}); err == nil {
		t.Fatal("bad tiebreak accepted")
	}
}

func TestRescaleHalfUp(t *testing.T) {
	cases := []struct {
		unscaled int64
		exp      int32
		scale    int
		want     int64
	}{
		{12345, -3, 2, 1235},   // 12.345 → 12.35
		{-12345, -3, 2, -1235}, // -12.345 → -12.35
		{12344, -3, 2, 1234},
		{5, 2, 0, 500},
		{123, 0, 2, 12300},
	}
	for _, c := range cases {
		got := rescale(decimal{unscaled: big.NewInt(c.unscaled), exp: c.exp}, c.scale)
		if got.Int64() != c.want {
			t.Errorf("rescale(%d e%d, %d) = %v, want %d", c.unscaled, c.exp, c.scale, got, c.want)
		}
	}
}

func TestNumericMapping(t *testing.T) {
	type res struct {
		typ  string
		name string
	}
	cases := []struct {
		mapping string
		p, s    int
		want    res
	}{
		{numericNone, 5, 0, res{"bytes", "org.apache.kafka.connect.data.Decimal"}},
		{numericPrecisionOnly, 2, 0, res{"int8", ""}},
		{numericPrecisionOnly, 4, 0, res{"int16", ""}},
		{numericPrecisionOnly, 9, 0, res{"int32", ""}},
		{numericPrecisionOnly, 18, 0, res{"int64", ""}},
		{numericPrecisionOnly, 19, 0, res{"bytes", "org.apache.kafka.connect.data.Decimal"}},
		{numericPrecisionOnly, 10, 2, res{"bytes", "org.apache.kafka.connect.data.Decimal"}},
		{numericBestFit, 10, 2, res{"double", ""}},
		{numericBestFit, 20, 2, res{"bytes", "org.apache.kafka.connect.data.Decimal"}},
		{numericBestFit, 5, -2, res{"int32", ""}},
		{numericBestFitEagerDouble, 20, 2, res{"double", ""}},
		{numericBestFitEagerDouble, 20, 0, res{"bytes", "org.apache.kafka.connect.data.Decimal"}},
		{numericBestFit, 0, 0, res{"string", ""}}, // unconstrained numeric
	}
	for _, c := range cases {
		m := typeMapper{numeric: c.mapping, zone: time.UTC}
		sch, _, ok := m.mapColumn(column{name: "n", kind: kDecimal, precision: c.p, scale: c.s})
		if !ok || string(sch.Type) != c.want.typ || sch.Name != c.want.name {
			t.Errorf("%s numeric(%d,%d): %v, want %v", c.mapping, c.p, c.s, sch, c.want)
		}
	}
}

func TestJulianShift(t *testing.T) {
	if d := julianShiftDays(1500, time.March, 1); d != 10 {
		t.Errorf("1500-03-01: %d, want 10", d)
	}
	if d := julianShiftDays(1000, time.January, 1); d != 5 {
		t.Errorf("1000-01-01: %d, want 5", d)
	}
	if d := julianShiftDays(1582, time.October, 4); d != 10 {
		t.Errorf("1582-10-04: %d, want 10", d)
	}
}

// TestPageSQL pins the keyset predicates for both placeholder styles.
func TestPageSQL(t *testing.T) {
	ts := time.Date(2024, 1, 1, 0, 0, 2, 0, time.UTC)
	end := ts.Add(time.Hour)
	inc := int64(7)
	info := &tableInfo{id: tableID{schema: "public", name: "items"}, columns: []column{
		{name: "id", kind: kInt, bits: 32, typeName: "integer"},
		{name: "updated", kind: kTimestamp, typeName: "timestamp without time zone"},
	}}
	s := &settings{mode: modeTimestampIncrementing, zone: time.UTC, quote: true}
	q := &querier{t: &task{s: s}, table: info, incCol: "id", tsCols: []string{"updated"}, tieCols: []string{"id"},
		off: offsetState{ts: &ts, inc: &inc}}
	sql, args, err := q.pageSQL(&pgDB{quoted: true}, &end, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := `SELECT t.* FROM "public"."items" t WHERE t."updated" < CAST($1::text AS timestamp without time zone) AND ` +
		`(t."updated", t."id") > (CAST($2::text AS timestamp without time zone), $3) ` +
		`ORDER BY t."updated", t."id" LIMIT 100`
	if sql != want || !reflect.DeepEqual(args, []any{"2024-01-01 01:00:02", "2024-01-01 00:00:02", int64(7)}) {
		t.Fatalf("got\n%s\n%v", sql, args)
	}
	// Timestamp mode with a two-column key, MySQL placeholders bound in
	// textual order.
	info.id = tableID{catalog: "shop", name: "items"}
	info.columns = append(info.columns, column{name: "region", kind: kString, typeName: "varchar(10)"})
	s.mode = modeTimestamp
	q.incCol, q.tieCols = "", []string{"region", "id"}
	q.off = offsetState{ts: &ts, tie: []string{"eu", "7"}}
	sql, args, err = q.pageSQL(&myDB{quoted: true}, &end, 10)
	if err != nil {
		t.Fatal(err)
	}
	want = "SELECT t.* FROM `shop`.`items` t WHERE t.`updated` < CAST(? AS DATETIME(6)) AND " +
		"t.`updated` >= CAST(? AS DATETIME(6)) AND ((t.`updated` > CAST(? AS DATETIME(6))) OR " +
		"(t.`updated` = CAST(? AS DATETIME(6)) AND t.`region` > ?) OR " +
		"(t.`updated` = CAST(? AS DATETIME(6)) AND t.`region` = ? AND t.`id` > CAST(? AS SIGNED))) " +
		"ORDER BY t.`updated`, t.`region`, t.`id` LIMIT 10"
	ts0 := "2024-01-01 00:00:02"
	if sql != want || !reflect.DeepEqual(args, []any{"2024-01-01 01:00:02", ts0, ts0, ts0, "eu", ts0, "eu", "7"}) {
		t.Fatalf("got\n%s\n%v", sql, args)
	}
}

func TestConnectFailureEndsTask(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, url := range []string{"jdbc:postgresql://" + addr + "/db", "jdbc:mysql://" + addr + "/db"} {
		s, err := parseProps(map[string]string{"connection.url": url, "mode": "bulk",
			"connection.attempts": "2", "connection.backoff.ms": "10"})
		if err != nil {
			t.Fatal(err)
		}
		tk := newTask(s, connect.TaskContext{})
		err = tk.Run(context.Background(), &capture{offsets: newOffsets()})
		if err == nil || !strings.Contains(err.Error(), "after 2 attempts") {
			t.Fatalf("%s: Run returned %v", url, err)
		}
	}
}
