package jdbc

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		in   string
		want Target
		err  string
	}{
		{in: "jdbc:postgresql://db.example:6543/app?user=u&password=p&sslmode=require",
			want: Target{Dialect: PostgreSQL, Host: "db.example", Port: 6543, Database: "app", User: "u", Password: "p"}},
		{in: "jdbc:postgresql://localhost/app", want: Target{Dialect: PostgreSQL, Host: "localhost", Port: 5432, Database: "app"}},
		{in: "jdbc:mysql://10.0.0.1/shop", want: Target{Dialect: MySQL, Host: "10.0.0.1", Port: 3306, Database: "shop"}},
		{in: "jdbc:mariadb://root:secret@[::1]:3307/", want: Target{Dialect: MariaDB, Host: "::1", Port: 3307, User: "root", Password: "secret"}},
		{in: "jdbc:oracle:thin:@host:1521/x", err: "unsupported JDBC URL"},
		{in: "postgres://x/y", err: "unsupported JDBC URL"},
		{in: "jdbc:postgresql://h:notaport/db", err: "jdbc:postgresql"},
		{in: "jdbc:postgresql://h1,h2/db", err: "multiple hosts"},
		{in: "jdbc:postgresql://h/", err: "database name missing"},
		// Errors quote the URL without its password.
		{in: "jdbc:oracle:thin:scott/S3cr3t-pw@host:1521:orcl", err: "unsupported JDBC URL"},
		{in: "jdbc:postgresql://u:S3cr3t-pw@h:notaport/db", err: "jdbc:postgresql://u:[hidden]@h:notaport/db"},
		{in: "jdbc:postgresql://h1,h2/db?user=u&password=S3cr3t-pw", err: "multiple hosts"},
		{in: "jdbc:mysql:/h/db?password=S3cr3t-pw", err: "expected //host"},
	}
	for _, c := range cases {
		got, err := ParseURL(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || strings.Contains(err.Error(), "S3cr3t-pw") {
				t.Errorf("%s: error %v, want %q and no password", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if got.Dialect != c.want.Dialect || got.Host != c.want.Host || got.Port != c.want.Port || got.Database != c.want.Database ||
			got.User != c.want.User || got.Password != c.want.Password {
			t.Errorf("%s: got %+v, want %+v", c.in, *got, c.want)
		}
	}
}

func TestSettings(t *testing.T) {
	base := map[string]string{"connection.url": "jdbc:postgresql://h/db"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	cases := []struct {
		name  string
		f     flavour
		props map[string]string
		err   string // property named in the error
		check func(*settings) bool
	}{
		{"defaults", flavourDebezium, with(), "", func(s *settings) bool {
			return s.insertMode == modeInsert && s.pkMode == pkNone && !s.deleteEnabled && !s.evolve && s.tableFormat == "${topic}" && s.batchSize == 500
		}},
		{"deprecated table.name.format", flavourDebezium, with("table.name.format", "t_${topic}"), "", func(s *settings) bool { return s.tableFormat == "t_${topic}" }},
		{"database.time_zone alias", flavourDebezium, with("database.time_zone", "Europe/Paris"), "", func(s *settings) bool { return s.zone.String() == "Europe/Paris" }},
		{"connection.user alias", flavourDebezium, with("connection.user", "bob"), "", func(s *settings) bool { return s.target.User == "bob" }},
		{"upsert needs pk mode", flavourDebezium, with("insert.mode", "upsert"), "primary.key.mode", nil},
		{"delete needs record_key", flavourDebezium, with("delete.enabled", "true", "primary.key.mode", "record_value"), "delete.enabled", nil},
		{"bad insert mode", flavourDebezium, with("insert.mode", "merge"), "insert.mode", nil},
		{"bad url", flavourDebezium, with("connection.url", "jdbc:sqlite:x"), "connection.url", nil},
		{"bad zone", flavourDebezium, with("use.time.zone", "Mars/Olympus"), "use.time.zone", nil},
		{"unknown property", flavourDebezium, with("insert.mod", "upsert"), "insert.mod", nil},
		{"include and exclude", flavourDebezium, with("field.include.list", "a:b", "field.exclude.list", "c:d"), "field.include.list", nil},
		{"confluent names", flavourConfluent, with("pk.mode", "record_key", "pk.fields", "id", "auto.create", "true", "insert.mode", "upsert"), "", func(s *settings) bool {
			return s.pkMode == pkRecordKey && len(s.pkFields) == 1 && s.create && !s.evolve && s.insertMode == modeUpsert && s.batchSize == 3000
		}},
		{"confluent upsert needs pk", flavourConfluent, with("insert.mode", "upsert"), "pk.mode", nil},
		{"confluent auto.evolve alone", flavourConfluent, with("auto.evolve", "true"), "", func(s *settings) bool { return !s.create && s.evolve }},
		{"pool size refused", flavourDebezium, with("connection.pool.max_size", "8"), "connection.pool.max_size", nil},
		{"pool size default accepted", flavourDebezium, with("connection.pool.max_size", "32"), "", func(s *settings) bool { return true }},
		{"flush retries refused", flavourDebezium, with("flush.max.retries", "1"), "flush.max.retries", nil},
		{"naming strategy default accepted", flavourDebezium, with("collection.naming.strategy", "io.debezium.connector.jdbc.naming.DefaultNamingStrategy"), "", func(s *settings) bool { return true }},
		{"naming strategy class refused", flavourDebezium, with("collection.naming.strategy", "com.example.Naming"), "collection.naming.strategy", nil},
		{"confluent max.retries refused", flavourConfluent, with("max.retries", "3"), "max.retries", nil},
		{"confluent dialect of the url", flavourConfluent, with("dialect.name", "PostgreSqlDatabaseDialect"), "", func(s *settings) bool { return true }},
		{"confluent other dialect refused", flavourConfluent, with("dialect.name", "OracleDatabaseDialect"), "dialect.name", nil},
		{"confluent kafka pk names refused", flavourConfluent, with("pk.mode", "kafka", "pk.fields", "t,p,o"), "pk.fields", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := debeziumDef()
			if c.f == flavourConfluent {
				def = confluentDef()
			}
			v, err := def.Parse(c.props)
			var s *settings
			if err == nil {
				s, err = parseSettings(c.f, v)
			}
			if c.err != "" {
				var ce config.Errors
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one naming %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(s) {
				t.Errorf("unexpected settings %+v", s)
			}
		})
	}
}

func TestTableNames(t *testing.T) {
	src := connect.StructBuilder().Name("io.debezium.connector.postgresql.Source").
		Field("db", connect.Prim(connect.String)).Field("schema", connect.Prim(connect.String)).Field("table", connect.Prim(connect.String)).MustBuild()
	row := connect.StructBuilder().Name("srv.Sales.Orders.Value").Optional().Field("ID", connect.Prim(connect.Int32)).MustBuild()
	env := connect.StructBuilder().Name("srv.Sales.Orders.Envelope").
		Field("before", row).Field("after", row).Field("source", src).Field("op", connect.Prim(connect.String)).MustBuild()
	key := connect.StructBuilder().Name("srv.Sales.Orders.Key").Field("ID", connect.Prim(connect.Int32)).MustBuild()
	rec := &connect.Record{Topic: "srv.Sales.Orders", KeySchema: key, Key: connect.NewStruct(key).Set("ID", int32(1)), ValueSchema: env,
		Value: connect.NewStruct(env).Set("op", "c").Set("after", connect.NewStruct(row).Set("ID", int32(1))).
			Set("source", connect.NewStruct(src).Set("db", "shop").Set("schema", "Sales").Set("table", "Orders"))}
	flat := &connect.Record{Topic: "srv.Sales.Orders", KeySchema: key, Key: rec.Key, ValueSchema: row, Value: connect.NewStruct(row).Set("ID", int32(2))}
	cases := []struct {
		flavour flavour
		dialect Dialect
		quote   bool
		format  string
		rec     *connect.Record
		want    tableID
		err     string
	}{
		{flavourDebezium, PostgreSQL, false, "${topic}", rec, tableID{name: "srv_sales_orders"}, ""},
		{flavourDebezium, PostgreSQL, true, "${topic}", rec, tableID{name: "srv_Sales_Orders"}, ""},
		{flavourDebezium, PostgreSQL, false, "${source.schema}.${source.table}", rec, tableID{schema: "sales", name: "orders"}, ""},
		{flavourDebezium, MySQL, false, "${source.db}.${source.table}", rec, tableID{schema: "shop", name: "Orders"}, ""},
		{flavourDebezium, PostgreSQL, false, "a.b.${source.table}", rec, tableID{schema: "b", name: "orders"}, ""},
		{flavourDebezium, PostgreSQL, false, "${source.table}", flat, tableID{}, "not a Debezium change event"},
		{flavourDebezium, PostgreSQL, false, "${source.nope}", rec, tableID{}, "source.nope"},
		{flavourConfluent, PostgreSQL, true, "${topic}", rec, tableID{schema: "Sales", name: "Orders"}, ""},
		{flavourConfluent, MySQL, true, "kafka_${topic}", flat, tableID{schema: "kafka_srv", name: "Orders"}, ""},
	}
	for _, c := range cases {
		s := &settings{flavour: c.flavour, target: &Target{Dialect: c.dialect}, quote: c.quote, tableFormat: c.format,
			pkMode: pkRecordKey, insertMode: modeUpsert}
		task := &Task{s: s}
		in := &interpreter{s: s, normName: task.normName, splitName: task.splitName}
		ch, err := in.interpret(c.rec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s/%s: error %v, want %q", c.format, c.rec.ValueSchema.Name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.format, err)
			continue
		}
		if ch.table != c.want {
			t.Errorf("%v %s %s quote=%v: table %+v, want %+v", c.flavour, c.dialect, c.format, c.quote, ch.table, c.want)
		}
	}
}

func TestInterpretOps(t *testing.T) {
	key := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int32)).MustBuild()
	row := connect.StructBuilder().Name("srv.public.t.Value").Optional().
		Field("id", connect.Prim(connect.Int32)).Field("v", connect.OptionalPrim(connect.String)).MustBuild()
	env := connect.StructBuilder().Name("srv.public.t.Envelope").Field("before", row).Field("after", row).Field("op", connect.Prim(connect.String)).MustBuild()
	k := connect.NewStruct(key).Set("id", int32(1))
	r := connect.NewStruct(row).Set("id", int32(1)).Set("v", "x")
	envRec := func(op string, before, after *connect.StructValue) *connect.Record {
		return &connect.Record{Topic: "t", KeySchema: key, Key: k, ValueSchema: env, Value: connect.NewStruct(env).Set("op", op).Set("before", before).Set("after", after)}
	}
	cases := []struct {
		name            string
		rec             *connect.Record
		deletes, truncs bool
		want            op
		cols            string
	}{
		{"create", envRec("c", nil, r), true, true, opUpsert, "id,v"},
		{"read", envRec("r", nil, r), true, true, opUpsert, "id,v"},
		{"update", envRec("u", r, r), true, true, opUpsert, "id,v"},
		{"delete", envRec("d", r, nil), true, true, opDelete, "id"},
		{"delete disabled", envRec("d", r, nil), false, true, opSkip, ""},
		{"truncate", envRec("t", nil, nil), true, true, opTruncate, ""},
		{"truncate disabled", envRec("t", nil, nil), true, false, opSkip, ""},
		{"message", envRec("m", nil, nil), true, true, opSkip, ""},
		{"tombstone", &connect.Record{Topic: "t", KeySchema: key, Key: k}, true, true, opDelete, "id"},
		{"flattened", &connect.Record{Topic: "t", KeySchema: key, Key: k, ValueSchema: row, Value: r}, true, true, opUpsert, "id,v"},
		{"flattened delete", &connect.Record{Topic: "t", KeySchema: key, Key: k, ValueSchema: row}, true, true, opDelete, "id"},
		{"schema change", &connect.Record{Topic: "srv", ValueSchema: connect.StructBuilder().Name("io.debezium.connector.postgresql.SchemaChangeValue").MustBuild(),
			Value: &connect.StructValue{}}, true, true, opSkip, ""},
	}
	for _, c := range cases {
		s := &settings{target: &Target{Dialect: PostgreSQL}, tableFormat: "${topic}", pkMode: pkRecordKey, insertMode: modeUpsert,
			deleteEnabled: c.deletes, truncateEnabled: c.truncs}
		task := &Task{s: s}
		in := &interpreter{s: s, normName: task.normName, splitName: task.splitName}
		ch, err := in.interpret(c.rec)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		var cols []string
		for _, col := range ch.cols {
			cols = append(cols, col.name)
		}
		if ch.op != c.want || strings.Join(cols, ",") != c.cols {
			t.Errorf("%s: op %v cols %v, want op %v cols %s", c.name, ch.op, cols, c.want, c.cols)
		}
	}
}

func TestTextValues(t *testing.T) {
	named := func(tp connect.Type, name string, params ...string) *connect.Schema {
		b := connect.NewBuilder(tp).Name(name)
		for i := 0; i+1 < len(params); i += 2 {
			b.Param(params[i], params[i+1])
		}
		return b.MustBuild()
	}
	vd := varDecimalSchema()
	cases := []struct {
		s    *connect.Schema
		v    any
		want string
	}{
		{connect.Prim(connect.Int16), int16(-5), "-5"},
		{connect.Prim(connect.Float32), float32(0.1), "0.1"},
		{connect.Prim(connect.Float64), math.Inf(-1), "-Infinity"},
		{connect.Prim(connect.Float64), math.NaN(), "NaN"},
		{connect.Prim(connect.Boolean), true, "t"},
		{connect.Prim(connect.Bytes), []byte{0, 0xab}, `\x00ab`},
		{connect.DecimalSchema(3).MustBuild(), connect.Decimal{Unscaled: big.NewInt(-1234), Scale: 3}, "-1.234"},
		{connect.DecimalSchema(2).MustBuild(), []byte{0xff, 0x38}, "-2.00"},
		{vd, connect.NewStruct(vd).Set("scale", int32(5)).Set("value", connect.DecimalBytes(big.NewInt(123456789))), "1234.56789"},
		{named(connect.Int32, "io.debezium.time.Date"), int32(-1), "1969-12-31"},
		{named(connect.Int32, "io.debezium.time.Date"), int32(-719163), "0001-12-31 BC"},
		{named(connect.Int64, "io.debezium.time.MicroTime"), int64(3723000004), "01:02:03.000004"},
		{named(connect.Int64, "io.debezium.time.NanoTime"), int64(3723000004999), "01:02:03.000004"},
		{named(connect.Int32, "io.debezium.time.Time"), int32(86399999), "23:59:59.999000"},
		{named(connect.Int64, "io.debezium.time.MicroTimestamp"), int64(-1), "1969-12-31 23:59:59.999999"},
		{named(connect.Int64, "io.debezium.time.Timestamp"), int64(1700000000123), "2023-11-14 22:13:20.123000"},
		{named(connect.Int64, "io.debezium.time.NanoTimestamp"), int64(1700000000123456789), "2023-11-14 22:13:20.123456"},
		{connect.TimestampSchema().MustBuild(), int64(0), "1970-01-01 00:00:00.000000"},
		{named(connect.String, "io.debezium.time.ZonedTimestamp"), "2024-01-02T03:04:05.6+01:00", "2024-01-02T03:04:05.6+01:00"},
		{named(connect.Bytes, "io.debezium.data.Bits", "length", "10"), []byte{0x05, 0x02}, "1000000101"},
		{named(connect.Int64, "io.debezium.time.MicroDuration"), int64(1500000), "1500000 microseconds"},
		{connect.ArrayOf(connect.OptionalPrim(connect.String)).MustBuild(), []any{`a"b`, nil, `c\d`, "x,y"}, `{"a\"b",NULL,"c\\d","x,y"}`},
		{connect.ArrayOf(connect.ArrayOf(connect.Prim(connect.Int32)).MustBuild()).MustBuild(), []any{[]any{int32(1), int32(2)}, []any{int32(3), int32(4)}}, `{{"1","2"},{"3","4"}}`},
		{connect.MapOf(connect.Prim(connect.String), connect.Prim(connect.Int32)).MustBuild(), connect.MapValue{{Key: "a", Value: int32(1)}}, `{"a":1}`},
	}
	for _, c := range cases {
		k, err := kindOf(c.s)
		if err != nil {
			t.Errorf("%s: %v", c.s, err)
			continue
		}
		got, err := textValue(k, c.s, c.v, true)
		if err != nil {
			t.Errorf("%s %v: %v", c.s, c.v, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s %v: got %q, want %q", c.s, c.v, got, c.want)
		}
	}
	// bad values name the problem instead of panicking
	for _, c := range []struct {
		s *connect.Schema
		v any
	}{
		{connect.Prim(connect.Int32), "x"},
		{connect.Prim(connect.String), "nul\x00byte"},
		{connect.DecimalSchema(2).MustBuild(), 1.5},
	} {
		k, _ := kindOf(c.s)
		if _, err := textValue(k, c.s, c.v, true); err == nil {
			t.Errorf("%s %q: expected an error", c.s, c.v)
		}
	}
	if _, err := kindOf(connect.StructBuilder().Name("io.debezium.data.geometry.Point").MustBuild()); err == nil {
		t.Errorf("geometry: expected an unsupported-type error")
	}
}

func TestColumnTypes(t *testing.T) {
	cases := []struct {
		s      *connect.Schema
		key    bool
		pg, my string
	}{
		{connect.Prim(connect.String), true, "text", "varchar(255)"},
		{connect.Prim(connect.String), false, "text", "longtext"},
		{connect.DecimalSchema(2).Param("connect.decimal.precision", "10").MustBuild(), false, "numeric(10,2)", "decimal(10,2)"},
		{connect.DecimalSchema(4).MustBuild(), false, "numeric", "decimal(65,4)"},
		{varDecimalSchema(), false, "numeric", "decimal(65,30)"},
		{connect.NewBuilder(connect.String).Name("io.debezium.time.ZonedTimestamp").MustBuild(), false, "timestamptz", "datetime(6)"},
		{connect.NewBuilder(connect.String).Name("io.debezium.data.Json").Param("__debezium.source.column.type", "JSONB").MustBuild(), false, "jsonb", "json"},
		{connect.NewBuilder(connect.String).Name("io.debezium.data.Enum").Param("allowed", "a,b'c").MustBuild(), false, "text", `enum('a','b''c')`},
		{connect.NewBuilder(connect.Bytes).Name("io.debezium.data.Bits").Param("length", "12").MustBuild(), false, "bit(12)", "bit(12)"},
		{connect.NewBuilder(connect.Int32).Name("io.debezium.time.Year").MustBuild(), false, "integer", "year"},
		{connect.ArrayOf(connect.Prim(connect.Int64)).MustBuild(), false, "bigint[]", "json"},
		{connect.NewBuilder(connect.String).Name("io.debezium.data.Uuid").MustBuild(), false, "uuid", "char(36)"},
	}
	for _, c := range cases {
		k, err := kindOf(c.s)
		if err != nil {
			t.Fatal(err)
		}
		col := column{name: "c", schema: c.s, kind: k, key: c.key}
		pg, err := pgType(col)
		if err != nil || pg != c.pg {
			t.Errorf("%s: PostgreSQL type %q (%v), want %q", c.s, pg, err, c.pg)
		}
		my, err := myType(col)
		if err != nil || my != c.my {
			t.Errorf("%s: MySQL type %q (%v), want %q", c.s, my, err, c.my)
		}
	}
}

// TestWriteModes puts records directly (no Kafka) into PostgreSQL with
// the less common modes: Confluent property names with Kafka-coordinate
// keys, record_value keys, insert and update modes.
func TestWriteModes(t *testing.T) {
	db := startPostgresTarget(t)
	ctx := t.Context()
	val := connect.StructBuilder().Name("v").Field("code", connect.Prim(connect.String)).Field("qty", connect.OptionalPrim(connect.Int32)).MustBuild()
	recs := func(topic string, qty ...int32) []*connect.Record {
		var out []*connect.Record
		for i, q := range qty {
			out = append(out, &connect.Record{Topic: topic, Partition: 0, KafkaOffset: int64(i), ValueSchema: val,
				Value: connect.NewStruct(val).Set("code", string(rune('a'+i))).Set("qty", q)})
		}
		return out
	}
	query := func(sql string) string {
		rows, err := db.q.query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rows {
			var vals []string
			for _, v := range r {
				if v == nil {
					vals = append(vals, "NULL")
				} else {
					vals = append(vals, *v)
				}
			}
			out = append(out, strings.Join(vals, ":"))
		}
		return strings.Join(out, ",")
	}
	newTask := func(class string, def *config.Def, kv ...string) *Task {
		m := map[string]string{"connection.url": db.url}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		v, err := def.Parse(m)
		if err != nil {
			t.Fatal(err)
		}
		task, err := NewTask(ctx, class, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { task.Close() })
		return task
	}

	// Confluent: pk.mode=kafka, auto.create; replaying the batch is idempotent.
	conf := newTask(ConfluentClass, confluentDef(), "pk.mode", "kafka", "auto.create", "true", "insert.mode", "upsert", "table.name.format", "k_${topic}")
	for i := 0; i < 2; i++ {
		if err := conf.Put(ctx, recs("orders", 5, 6, 7)); err != nil {
			t.Fatal(err)
		}
	}
	if got := query(`SELECT "__connect_topic", "__connect_partition", "__connect_offset", code, qty FROM "k_orders" ORDER BY 3`); got != "orders:0:0:a:5,orders:0:1:b:6,orders:0:2:c:7" {
		t.Errorf("kafka-keyed table = %s", got)
	}

	// record_value key, then update mode changes only existing rows.
	ins := newTask(DebeziumClass, debeziumDef(), "primary.key.mode", "record_value", "primary.key.fields", "code",
		"schema.evolution", "basic", "collection.name.format", "byvalue", "insert.mode", "insert")
	if err := ins.Put(ctx, recs("x", 1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := ins.Put(ctx, recs("x", 1)); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Errorf("insert mode replay: error %v, want a duplicate key error", err)
	}
	upd := newTask(DebeziumClass, debeziumDef(), "primary.key.mode", "record_value", "primary.key.fields", "code",
		"collection.name.format", "byvalue", "insert.mode", "update")
	if err := upd.Put(ctx, recs("x", 10, 20, 30)); err != nil {
		t.Fatal(err)
	}
	if got := query(`SELECT code, qty::text FROM byvalue ORDER BY code`); got != "a:10,b:20" {
		t.Errorf("after update mode: %s, want a:10,b:20 (no row for c)", got)
	}

	// schema.evolution=none reports the missing table by name.
	none := newTask(DebeziumClass, debeziumDef(), "primary.key.mode", "record_value", "primary.key.fields", "code", "collection.name.format", "missing")
	if err := none.Put(ctx, recs("x", 1)); err == nil || !strings.Contains(err.Error(), "table missing does not exist") || !strings.Contains(err.Error(), "offset=0") {
		t.Errorf("missing table: error %v", err)
	}
}

// signatureFmt is how signatures were built before columnSignature: the
// reference the cheaper builder must reproduce.
func signatureFmt(cols []column) string {
	var b strings.Builder
	for _, c := range cols {
		fmt.Fprintf(&b, "%s:%d:%t,", c.name, c.kind, c.key)
	}
	return b.String()
}

func TestColumnSignature(t *testing.T) {
	cases := []struct {
		name string
		cols []column
		want string
	}{
		{"none", nil, ""},
		{"key and value", []column{{name: "id", kind: kInt64, key: true}, {name: "v", kind: kString}}, "id:4:true,v:8:false,"},
		{"two-digit kinds", []column{{name: "ts", kind: kTimestampMicros}, {name: "m", kind: kMap}}, "ts:17:false,m:35:false,"},
		{"odd names", []column{{name: "a:b,c", kind: kInvalid, key: true}, {name: "", kind: kJSON}, {name: "ümlaut", kind: kDecimal}},
			"a:b,c:0:true,:27:false,ümlaut:10:false,"},
	}
	for _, c := range cases {
		if got := columnSignature(c.cols); got != c.want {
			t.Errorf("%s: signature %q, want %q", c.name, got, c.want)
		}
		if ref := signatureFmt(c.cols); ref != c.want {
			t.Errorf("%s: fmt reference %q, want %q", c.name, ref, c.want)
		}
	}
	var all []column
	for k := kInvalid; k <= kMap+1; k++ {
		all = append(all, column{name: fmt.Sprintf("c%d", k), kind: k, key: k%2 == 0})
	}
	if got, want := columnSignature(all), signatureFmt(all); got != want {
		t.Errorf("every kind: signature %q, want %q", got, want)
	}
}

func benchColumns() []column {
	names := []string{"id", "k", "pad", "c", "amount", "flag", "day", "ts", "note", "stamp"}
	kinds := []kind{kInt64, kInt32, kInt64, kString, kDecimal, kBool, kDate, kTimestampMicros, kString, kInt64}
	cols := make([]column, len(names))
	for i := range names {
		cols[i] = column{name: names[i], kind: kinds[i], key: i == 0}
	}
	return cols
}

// go test -run '^$' -bench ColumnSignature ./sinks/jdbc/
func BenchmarkColumnSignature(b *testing.B) {
	cols := benchColumns()
	b.ReportAllocs()
	for b.Loop() {
		_ = columnSignature(cols)
	}
}

func BenchmarkColumnSignatureFmt(b *testing.B) {
	cols := benchColumns()
	b.ReportAllocs()
	for b.Loop() {
		_ = signatureFmt(cols)
	}
}
