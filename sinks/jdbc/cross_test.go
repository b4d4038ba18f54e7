package jdbc

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/mysql"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/offsets"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/testdb"
)

// These tests run a real source connector into the in-process broker and
// the sink out of it into the other database, then compare source and
// target tables row by row (canonical rendering, md5).

// startSource runs a source plugin through the runtime until the test
// ends.
func startSource(t *testing.T, c *kfake.Cluster, plugin *connect.Plugin, props map[string]string) {
	t.Helper()
	vals, err := plugin.Config().Parse(props)
	if err != nil {
		t.Fatalf("source config: %v", err)
	}
	sc, err := kafka.ClientConfig{Brokers: c.ListenAddrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := kafka.NewProducer(c.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(c.ListenAddrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	store := offsets.NewMemory()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	task, err := plugin.NewSourceTask(ctx, vals, connect.TaskContext{ConnectorName: "source", Logger: logger, Producer: raw,
		Offsets: runtime.OffsetReader{Store: store, Connector: "source"}})
	if err != nil {
		cancel()
		t.Fatalf("source task: %v", err)
	}
	src := &runtime.Source{Name: "source", Task: task, Producer: prod, Offsets: store,
		KeyConverter: &converter.JSON{SchemasEnabled: true}, ValueConverter: &converter.JSON{SchemasEnabled: true},
		FlushInterval: 200 * time.Millisecond, Logger: logger}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && ctx.Err() == nil {
				t.Errorf("source: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("source did not stop")
		}
		prod.Close()
		raw.Close()
	})
}

// lastRowSchema reads the newest change event of topic and returns its
// row schema: the column kinds the comparison renders by.
func lastRowSchema(t *testing.T, c *kfake.Cluster, topic string) *connect.Schema {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), saramaCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	j := &converter.JSON{SchemasEnabled: true}
	for off := end - 1; off >= 0; off-- {
		pc, err := consumer.ConsumePartition(topic, 0, off)
		if err != nil {
			t.Fatal(err)
		}
		m := <-pc.Messages()
		pc.Close()
		s, _, err := j.ToConnect(topic, m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if s != nil && s.Field("after") != nil {
			return s.Field("after").Schema
		}
	}
	t.Fatalf("no change event in %s", topic)
	return nil
}

// converge waits until the target matches the source, then compares them
// once more for the report.
func converge(t *testing.T, what string, src, dst func() *canonTable) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if src().checksum() == dst().checksum() {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	compareTables(t, what, src(), dst())
}

func crossSinkProps(url, topic string) map[string]string {
	return baseProps(url, topic, "${source.table}", "batch.size", "500", "consumer.max.poll.records", "500")
}

func TestPostgresToMariaDB(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	pg.Exec(t, "app",
		`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`,
		`CREATE TABLE items (
			id serial PRIMARY KEY, c_small smallint, c_int integer, c_big bigint, c_real real, c_double double precision,
			c_num numeric(12,3), c_varnum numeric, c_bool boolean, c_text text, c_varchar varchar(40), c_bytes bytea,
			c_date date, c_time time(6), c_ts timestamp(6), c_tstz timestamptz, c_json json, c_jsonb jsonb, c_uuid uuid,
			c_bits bit(10), c_mood mood, c_ints integer[], c_interval interval)`,
		`ALTER TABLE items REPLICA IDENTITY FULL`,
	)
	insert := func(from, to int) string {
		return fmt.Sprintf(`INSERT INTO items (c_small, c_int, c_big, c_real, c_double, c_num, c_varnum, c_bool, c_text, c_varchar, c_bytes,
			c_date, c_time, c_ts, c_tstz, c_json, c_jsonb, c_uuid, c_bits, c_mood, c_ints, c_interval)
			SELECT g %% 300, g * 1000, g * 100000000007, g / 8.0, g * 1.000001, g * 1.125, g / 7.0, g %% 2 = 0,
				'text ' || g || E' \t\\ '' "ü', 'vc' || g, decode(md5(g::text), 'hex'),
				DATE '2000-01-01' + g, TIME '00:00:00' + g * interval '1 minute 1.000001 second',
				TIMESTAMP '2020-02-29 12:00:00.123456' + g * interval '1 day 1 microsecond',
				TIMESTAMPTZ '2021-06-01 00:00:00+05:30' + g * interval '3 hours 7 microseconds',
				json_build_object('g', g, 'name', 'n' || g), jsonb_build_object('g', g, 'arr', jsonb_build_array(1, 'two', null)),
				md5(g::text)::uuid, (g %% 1024)::bit(10), (ARRAY['sad','ok','happy'])[g %% 3 + 1]::mood, ARRAY[g, -g, NULL],
				g * interval '1 hour 2 minutes 3.25 seconds'
			FROM generate_series(%d, %d) g`, from, to)
	}
	pg.Exec(t, "app", insert(1, 40))
	pg.Exec(t, "app", `UPDATE items SET c_text = NULL, c_json = NULL, c_ints = NULL WHERE id % 9 = 0`)

	my := testdb.StartMariaDB(t)
	my.Exec(t, "", "CREATE DATABASE sink")
	target, err := sql.Open("mysql", my.DSN("sink")+"&time_zone=%27%2B00%3A00%27")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	source, err := pgx.Connect(context.Background(), pg.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close(context.Background())

	c := startKafka(t)
	startSource(t, c, postgres.Plugin(), map[string]string{
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "pgsrc", "plugin.name": "pgoutput",
		"skipped.operations": "none", "slot.name": "cross",
	})
	const topic = "pgsrc.public.items"
	s := startSink(t, c, "pg-to-maria", sinkProps(t, crossSinkProps(fmt.Sprintf("jdbc:mariadb://%s:%d/sink?user=root", my.Host, my.Port), topic)))

	// streaming changes: inserts, updates, deletes, a truncate, and a new
	// column half-way
	pg.Exec(t, "app", insert(41, 60),
		`UPDATE items SET c_num = -c_num, c_mood = 'happy', c_bits = B'1010101010' WHERE id % 4 = 1`,
		`DELETE FROM items WHERE id % 10 = 3`)
	waitTopic(t, c, s, topic)
	pg.Exec(t, "app", `TRUNCATE items`, insert(61, 90),
		`ALTER TABLE items ADD COLUMN c_added text`,
		`UPDATE items SET c_added = 'added ' || id WHERE id % 2 = 0`,
		insert(91, 95), `DELETE FROM items WHERE id = 62`)
	waitTopic(t, c, s, topic)

	row := lastRowSchema(t, c, topic)
	ctx := context.Background()
	converge(t, "postgresql→mariadb",
		func() *canonTable {
			return readCanon(t, ctx, pgQuerier{source}, "items", row, func(c string, k kind, _ *connect.Schema) string { return pgCanonExpr(c, k) })
		},
		func() *canonTable { return readCanon(t, ctx, sqlQuerier{target}, "items", row, myCanonExpr) })
}

func TestMariaDBToPostgres(t *testing.T) {
	my := testdb.StartMariaDB(t)
	my.Exec(t, "",
		"CREATE DATABASE inventory",
		`CREATE TABLE inventory.items (
			id int AUTO_INCREMENT PRIMARY KEY, c_tiny tinyint, c_small smallint, c_medium mediumint, c_int int, c_big bigint,
			c_float float, c_double double, c_dec decimal(12,3), c_bool boolean, c_char char(5), c_varchar varchar(40), c_text text,
			c_blob blob, c_varbin varbinary(20), c_date date, c_time time(6), c_datetime datetime(6), c_ts timestamp(6) NULL,
			c_year year, c_json json, c_enum enum('sad','ok','happy'), c_set set('a','b','c'), c_bits bit(10)
		) DEFAULT CHARSET=utf8mb4`)
	insert := func(from, to int) string {
		return fmt.Sprintf(`INSERT INTO inventory.items (c_tiny, c_small, c_medium, c_int, c_big, c_float, c_double, c_dec, c_bool, c_char,
			c_varchar, c_text, c_blob, c_varbin, c_date, c_time, c_datetime, c_ts, c_year, c_json, c_enum, c_set, c_bits)
			SELECT seq %% 100, seq * 10, seq * 1000, seq * 100000, seq * 100000000007, seq / 8, seq * 1.000001, seq * 1.125, seq %% 2 = 0,
				CONCAT('c', seq), CONCAT('vc', seq), CONCAT('text ', seq, ' \t\\ '' "ü'), UNHEX(MD5(seq)), UNHEX(LEFT(MD5(seq), 8)),
				DATE('2000-01-01') + INTERVAL seq DAY, SEC_TO_TIME(seq * 61.000001),
				TIMESTAMP('2020-02-29 12:00:00.123456') + INTERVAL seq DAY + INTERVAL seq MICROSECOND,
				TIMESTAMP('2021-06-01 00:00:00') + INTERVAL seq * 3 HOUR, 1990 + seq %% 50,
				JSON_OBJECT('g', seq, 'name', CONCAT('n', seq)), ELT(seq %% 3 + 1, 'sad', 'ok', 'happy'), ELT(seq %% 3 + 1, 'a', 'a,b', 'b,c'),
				seq %% 1024
			FROM seq_%d_to_%d`, from, to)
	}
	my.Exec(t, "inventory", "SET time_zone = '+00:00'", insert(1, 40),
		"UPDATE inventory.items SET c_text = NULL, c_json = NULL, c_ts = NULL WHERE id % 9 = 0")

	pg := testdb.StartPostgres(t)
	target, err := pgx.Connect(context.Background(), pg.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close(context.Background())
	source, err := sql.Open("mysql", my.DSN("inventory")+"&time_zone=%27%2B00%3A00%27")
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close()

	c := startKafka(t)
	startSource(t, c, mysql.MariaDBPlugin(), map[string]string{
		"topic.prefix": "mariasrc", "database.hostname": my.Host, "database.port": fmt.Sprint(my.Port), "database.user": "root",
		"database.server.id": "5601", "schema.history.internal.kafka.topic": "schemahistory.mariasrc", "database.include.list": "inventory",
	})
	const topic = "mariasrc.inventory.items"
	s := startSink(t, c, "maria-to-pg", sinkProps(t, crossSinkProps(fmt.Sprintf("jdbc:postgresql://%s:%d/postgres?user=postgres&sslmode=disable", pg.Host, pg.Port), topic)))

	my.Exec(t, "inventory", "SET time_zone = '+00:00'", insert(41, 60),
		"UPDATE inventory.items SET c_dec = -c_dec, c_enum = 'happy', c_bits = b'1010101010', c_set = 'a,c' WHERE id % 4 = 1",
		"DELETE FROM inventory.items WHERE id % 10 = 3")
	waitTopic(t, c, s, topic)
	my.Exec(t, "inventory", "SET time_zone = '+00:00'", "ALTER TABLE inventory.items ADD COLUMN c_added varchar(30)",
		"UPDATE inventory.items SET c_added = CONCAT('added ', id) WHERE id % 2 = 0", insert(61, 70),
		"DELETE FROM inventory.items WHERE id = 62")
	waitTopic(t, c, s, topic)

	row := lastRowSchema(t, c, topic)
	ctx := context.Background()
	converge(t, "mariadb→postgresql",
		func() *canonTable { return readCanon(t, ctx, sqlQuerier{source}, "items", row, myCanonExpr) },
		func() *canonTable {
			return readCanon(t, ctx, pgQuerier{target}, "items", row, func(c string, k kind, _ *connect.Schema) string { return pgCanonExpr(c, k) })
		})
}

// waitTopic waits until the topic exists and the sink has committed its
// end, so later changes land in a later batch.
func waitTopic(t *testing.T, c *kfake.Cluster, s *sink, topic string) {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), saramaCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(60 * time.Second)
	var end int64
	for time.Now().Before(deadline) {
		_ = client.RefreshMetadata(topic)
		if end, err = client.GetOffset(topic, 0, sarama.OffsetNewest); err == nil && end > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if end <= 0 {
		t.Fatalf("no events on %s", topic)
	}
	time.Sleep(500 * time.Millisecond) // let the source finish the current burst
	if end, err = client.GetOffset(topic, 0, sarama.OffsetNewest); err != nil {
		t.Fatal(err)
	}
	waitCommitted(t, c, s, "connect-"+s.name, topic, end)
}
