package jdbc

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connectors/postgres"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/sinkrunner"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/internal/transforms"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry/server"
)

const defaultPlaceholder = "__debezium_unavailable_value"

// TestPlaceholderForms checks every form connectors/postgres gives an
// unchanged TOASTed value (mapping.go), and near misses.
func TestPlaceholderForms(t *testing.T) {
	p := newPlaceholder(defaultPlaceholder)
	raw := []byte(defaultPlaceholder)
	ints32 := make([]any, len(raw))
	ints64 := make([]any, len(raw))
	for i, b := range raw {
		ints32[i], ints64[i] = int32(int8(b)), int64(int8(b))
	}
	sum := md5.Sum(raw)
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:])
	uuid := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	for _, tc := range []struct {
		name string
		v    any
		want bool
	}{
		{"text", defaultPlaceholder, true},
		{"bytea bytes", raw, true},
		{"hstore map", connect.MapValue{{Key: defaultPlaceholder, Value: defaultPlaceholder}}, true},
		{"hstore json", `{"__debezium_unavailable_value":"__debezium_unavailable_value"}`, true},
		{"text[]", []any{defaultPlaceholder}, true},
		{"bytea[] bytes", []any{raw}, true},
		{"bytea[] hex", []any{hex.EncodeToString(raw)}, true},
		{"int4[]", ints32, true},
		{"int8[]", ints64, true},
		{"uuid[]", []any{uuid}, true},
		{"other text", "__debezium_unavailable_valuE", false},
		{"longer list", []any{defaultPlaceholder, defaultPlaceholder}, false},
		{"other ints", ints32[1:], false},
		{"nil", nil, false},
		{"number", int32(7), false},
	} {
		if got := p.matches(tc.v); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.name, got, tc.want)
		}
	}
	if newPlaceholder("").matches("") {
		t.Error("an empty unavailable.value.placeholder must disable the check")
	}
}

// TestPlaceholderKeptByConverters: the sink can only recognise the
// placeholder if ExtractNewRecordState and the JSON and Avro converters
// hand it over unchanged.
func TestPlaceholderKeptByConverters(t *testing.T) {
	row := connect.StructBuilder().Name("srv.public.docs.Value").Optional().
		Field("id", connect.Prim(connect.Int32)).
		Field("body", connect.OptionalPrim(connect.String)).
		Field("bin", connect.OptionalPrim(connect.Bytes)).
		Field("tags", connect.ArrayOf(connect.OptionalPrim(connect.String)).Optional().MustBuild()).MustBuild()
	env := connect.StructBuilder().Name("srv.public.docs.Envelope").
		Field("before", row).Field("after", row).Field("op", connect.Prim(connect.String)).MustBuild()
	after := connect.NewStruct(row).Set("id", int32(1)).Set("body", defaultPlaceholder).
		Set("bin", []byte(defaultPlaceholder)).Set("tags", []any{defaultPlaceholder})
	rec := &connect.Record{Topic: "srv.public.docs", ValueSchema: env, Value: connect.NewStruct(env).Set("after", after).Set("op", "u")}

	chain, err := transforms.Builtin(nil).Build(sinkProps(t, map[string]string{
		"connection.url": "jdbc:postgresql://localhost/x", "topics": "t",
		"transforms": "unwrap", "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState"}))
	if err != nil {
		t.Fatal(err)
	}
	flat, err := chain.Apply(rec)
	if err != nil {
		t.Fatal(err)
	}
	flat.Topic = "flat.docs" // its own subject: the flattened schema is another record
	reg := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	defer reg.Close()
	av, err := avro.New(map[string]string{"schema.registry.url": reg.URL}, false)
	if err != nil {
		t.Fatal(err)
	}
	p := newPlaceholder(defaultPlaceholder)
	for _, c := range []struct {
		name string
		conv converter.Converter
	}{{"json", &converter.JSON{SchemasEnabled: true}}, {"avro", av}} {
		for _, r := range []*connect.Record{rec, flat} {
			b, err := c.conv.FromConnect(r.Topic, r.ValueSchema, r.Value)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			_, v, err := c.conv.ToConnect(r.Topic, b)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			sv := v.(*connect.StructValue)
			if a, ok := sv.Get("after").(*connect.StructValue); ok {
				sv = a
			}
			for _, f := range []string{"body", "bin", "tags"} {
				if !p.matches(sv.Get(f)) {
					t.Errorf("%s (%s): field %s = %#v, no longer the placeholder", c.name, r.ValueSchema.Name, f, sv.Get(f))
				}
			}
		}
	}
}

// TestUnavailableColumns writes records straight through the task: a
// placeholder column is left out of the UPDATE, and a row that would have
// to be inserted with one is refused, naming the record and the field.
func TestUnavailableColumns(t *testing.T) {
	for _, start := range []func(testing.TB) *targetDB{startPostgresTarget, startMariaDBTarget} {
		db := start(t)
		t.Run(db.name, func(t *testing.T) {
			ctx := t.Context()
			key := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int32)).MustBuild()
			val := connect.StructBuilder().Name("v").Field("id", connect.Prim(connect.Int32)).
				Field("n", connect.OptionalPrim(connect.Int32)).Field("body", connect.OptionalPrim(connect.String)).
				Field("bin", connect.OptionalPrim(connect.Bytes)).MustBuild()
			rec := func(off int64, id, n int32, body any, blob any) *connect.Record {
				return &connect.Record{Topic: "docs", KafkaOffset: off, KeySchema: key, Key: connect.NewStruct(key).Set("id", id),
					ValueSchema: val, Value: connect.NewStruct(val).Set("id", id).Set("n", n).Set("body", body).Set("bin", blob)}
			}
			newTask := func(mode string) *Task {
				v, err := debeziumDef().Parse(map[string]string{"connection.url": db.url, "insert.mode": mode,
					"primary.key.mode": "record_key", "schema.evolution": "basic", "collection.name.format": "docs_" + mode})
				if err != nil {
					t.Fatal(err)
				}
				task, err := NewTask(ctx, DebeziumClass, v, nil)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { task.Close() })
				return task
			}
			ph := []byte(defaultPlaceholder)
			for _, mode := range []string{"upsert", "update"} {
				task := newTask(mode)
				if mode == "update" {
					db.exec(t, "CREATE TABLE docs_update (id int PRIMARY KEY, n int, body text, bin "+map[string]string{"postgresql": "bytea", "mariadb": "blob"}[db.name]+")")
					db.exec(t, "INSERT INTO docs_update VALUES (1, 0, 'body 1', NULL), (2, 0, 'body 2', NULL)")
				} else if err := task.Put(ctx, []*connect.Record{rec(0, 1, 0, "body 1", nil), rec(1, 2, 0, "body 2", []byte("b2"))}); err != nil {
					t.Fatal(err)
				}
				// Many placeholder rows in one batch (PostgreSQL's COPY path
				// from 32 rows), interleaved with a full row of the same key.
				var batch []*connect.Record
				for i := 0; i < 40; i++ {
					batch = append(batch, rec(int64(10+i), 1, int32(i), defaultPlaceholder, ph))
				}
				batch = append(batch, rec(60, 2, 5, "body 2b", ph), rec(61, 2, 6, defaultPlaceholder, []byte("b2b")))
				if err := task.Put(ctx, batch); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				got := queryRows(t, db, "SELECT id, n, body, md5(bin) FROM "+db.table("docs_"+mode)+" ORDER BY id")
				want := fmt.Sprintf("1|39|body 1|<nil>,2|6|body 2b|%x", md5.Sum([]byte("b2b")))
				if got != want {
					t.Errorf("%s: rows %s, want %s", mode, got, want)
				}
				if mode == "upsert" {
					err := task.Put(ctx, []*connect.Record{rec(70, 3, 1, defaultPlaceholder, nil)})
					if !errors.Is(err, errUnavailable) || !strings.Contains(err.Error(), "offset=70") || !strings.Contains(err.Error(), "body") {
						t.Errorf("upsert of an absent row with a placeholder: err %v, want errUnavailable naming offset=70 and body", err)
					}
					if got := queryRows(t, db, "SELECT count(*) FROM "+db.table("docs_upsert")+" WHERE id = 3"); got != "0" {
						t.Errorf("row 3 written (%s) although its body is the placeholder", got)
					}
				} else if err := task.Put(ctx, []*connect.Record{rec(70, 3, 1, defaultPlaceholder, nil)}); err != nil {
					t.Errorf("update mode, absent row: %v (update mode never inserts, so nothing to refuse)", err)
				}
			}
			ins := newTask("insert")
			err := ins.Put(ctx, []*connect.Record{rec(80, 9, 1, "fine", nil), rec(81, 10, 1, defaultPlaceholder, nil)})
			if !errors.Is(err, errUnavailable) || !strings.Contains(err.Error(), "offset=81") || !strings.Contains(err.Error(), "insert.mode=insert") {
				t.Errorf("insert mode: err %v, want errUnavailable naming offset=81", err)
			}
		})
	}
}

func queryRows(t *testing.T, db *targetDB, q string) string {
	t.Helper()
	rows, err := db.q.query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		var vals []string
		for _, v := range r {
			if v == nil {
				vals = append(vals, "<nil>")
			} else {
				vals = append(vals, strings.TrimPrefix(*v, `\x`))
			}
		}
		out = append(out, strings.Join(vals, "|"))
	}
	return strings.Join(out, ",")
}

// TestUnavailableDeadLetterQueue: through the runtime, the refused record
// goes to the dead letter queue with the reason in its headers while the
// rest of the batch is written.
func TestUnavailableDeadLetterQueue(t *testing.T) {
	db := startPostgresTarget(t)
	c := startKafka(t)
	key := connect.StructBuilder().Name("k").Field("id", connect.Prim(connect.Int32)).MustBuild()
	val := connect.StructBuilder().Name("v").Field("id", connect.Prim(connect.Int32)).Field("body", connect.OptionalPrim(connect.String)).MustBuild()
	j := &converter.JSON{SchemasEnabled: true}
	var msgs []kafkaMsg
	for _, r := range []struct {
		id   int32
		body string
	}{{1, "one"}, {1, defaultPlaceholder}, {2, defaultPlaceholder}, {3, "three"}} {
		k, _ := j.FromConnect("docs", key, connect.NewStruct(key).Set("id", r.id))
		v, _ := j.FromConnect("docs", val, connect.NewStruct(val).Set("id", r.id).Set("body", r.body))
		msgs = append(msgs, kafkaMsg{topic: "docs", key: k, value: v})
	}
	produceMsgs(t, c, "docs", msgs)
	props := sinkProps(t, baseProps(db.url, "docs", "docs", "errors.tolerance", "all", "errors.deadletterqueue.topic.name", "dlq",
		"errors.deadletterqueue.topic.replication.factor", "1", "errors.deadletterqueue.context.headers.enable", "true"))
	s := startSink(t, c, "toast-dlq", props)
	waitCommitted(t, c, s, "connect-toast-dlq", "docs", int64(len(msgs)))
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := queryRows(t, db, "SELECT id, body FROM docs ORDER BY id"); got != "1|one,3|three" {
		t.Errorf("rows %s, want 1|one,3|three", got)
	}
	dlq := readTopic(t, c, "dlq", 1)
	h := headers(dlq[0])
	if h[sinkrunner.HeaderOffset] != "2" || !strings.Contains(h[sinkrunner.HeaderExceptionMessage], "unavailable.value.placeholder") ||
		!strings.Contains(h[sinkrunner.HeaderExceptionMessage], "field(s) body") {
		t.Errorf("dlq headers %v, want offset 2 and the placeholder reason", h)
	}
}

// TestToastedColumnNeverPlaceholder is the end-to-end proof: a PostgreSQL
// table with 100 kB text values and REPLICA IDENTITY DEFAULT, UPDATEs of
// another column (whose events carry the placeholder for the text),
// through Kafka into PostgreSQL (Debezium envelopes) and MariaDB
// (ExtractNewRecordState): every target row keeps its real text.
//
// With toast.lookup.mode=select on the source, no event carries the
// placeholder at all and each looked-up event says so in a header.
func TestToastedColumnNeverPlaceholder(t *testing.T) {
	t.Run("lookup=none", func(t *testing.T) { runToastProof(t, nil) })
	t.Run("lookup=select", func(t *testing.T) { runToastProof(t, map[string]string{"toast.lookup.mode": "select"}) })
}

func runToastProof(t *testing.T, extraSource map[string]string) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "app")
	const rows = 20
	// md5 text compresses to about half: ~50 kB stored out of line.
	body := func(expr string) string {
		return fmt.Sprintf(`(SELECT string_agg(md5(%s || ':' || i), '') FROM generate_series(1, 3125) i)`, expr)
	}
	pg.Exec(t, "app",
		`CREATE TABLE docs (id int PRIMARY KEY, n int NOT NULL, body text)`,
		fmt.Sprintf(`INSERT INTO docs SELECT g, 0, %s FROM generate_series(1, %d) g`, body("g::text"), rows/2))
	source, err := pgx.Connect(context.Background(), pg.DSN("app"))
	if err != nil {
		t.Fatal(err)
	}
	defer source.Close(context.Background())

	c := startKafka(t)
	props := map[string]string{
		"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
		"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "toast", "plugin.name": "pgoutput",
		"slot.name": "toast",
	}
	for k, v := range extraSource {
		props[k] = v
	}
	startSource(t, c, postgres.Plugin(), props)
	const topic = "toast.public.docs"
	pgT, myT := startPostgresTarget(t), startMariaDBTarget(t)
	sinks := []struct {
		db *targetDB
		s  *sink
	}{
		{pgT, startSink(t, c, "toast-pg", sinkProps(t, baseProps(pgT.url, topic, "docs")))},
		{myT, startSink(t, c, "toast-maria", sinkProps(t, baseProps(myT.url, topic, "docs",
			"transforms", "unwrap", "transforms.unwrap.type", "io.debezium.transforms.ExtractNewRecordState")))},
	}
	pg.Exec(t, "app", fmt.Sprintf(`INSERT INTO docs SELECT g, 0, %s FROM generate_series(%d, %d) g`, body("g::text"), rows/2+1, rows))
	for round := 1; round <= 10; round++ {
		pg.Exec(t, "app", fmt.Sprintf(`UPDATE docs SET n = %d`, round))
		if round == 5 {
			// a changed TOASTed value travels in full
			pg.Exec(t, "app", fmt.Sprintf(`UPDATE docs SET body = %s WHERE id %% 3 = 0`, body("'new' || id")))
		}
	}
	pg.Exec(t, "app", `DELETE FROM docs WHERE id = 7`)
	end := waitTopicEnd(t, c, topic, rows+10*rows+rows/3+2) // inserts, updates, body updates, delete and tombstone
	placeholders := countInTopic(t, c, topic, defaultPlaceholder)
	t.Logf("%d events, %d of them carry the placeholder", end, placeholders)

	want := map[string]string{}
	srcRows, err := source.Query(context.Background(), `SELECT id, n, md5(body), length(body) FROM docs ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for srcRows.Next() {
		var id, n, l int
		var sum string
		if err := srcRows.Scan(&id, &n, &sum, &l); err != nil {
			t.Fatal(err)
		}
		if l < 100000 {
			t.Fatalf("source row %d body is only %d bytes", id, l)
		}
		want[fmt.Sprint(id)] = fmt.Sprintf("%d|%s", n, sum)
	}
	srcRows.Close()
	lookups := countHeader(t, c, topic, postgres.ToastLookupHeader, "selected=body")
	// Row 7 is deleted at the end: a lookup that runs after the delete
	// finds no row and leaves the placeholder, saying so.
	absent := countHeader(t, c, topic, postgres.ToastLookupHeader, "row-absent=body")
	t.Logf("%d events marked %s: selected=body, %d row-absent=body", lookups, postgres.ToastLookupHeader, absent)
	switch {
	case extraSource == nil && (placeholders == 0 || lookups+absent != 0):
		t.Fatalf("%d events carry the placeholder, %d are marked as looked up: the test does not exercise unchanged TOAST values", placeholders, lookups+absent)
	case extraSource != nil && (placeholders != absent || absent > 10 || lookups+absent != 10*rows):
		t.Fatalf("toast.lookup.mode=select: %d events carry the placeholder, %d looked up, %d found no row (want %d looked up, the placeholder only where the row was gone)",
			placeholders, lookups, absent, 10*rows)
	}
	for _, s := range sinks {
		waitCommitted(t, c, s.s, "connect-"+s.s.name, topic, end)
		got := queryRows(t, s.db, "SELECT id, n, md5(body), CASE WHEN body = '"+defaultPlaceholder+"' THEN 'placeholder' ELSE 'real' END FROM "+s.db.table("docs")+" ORDER BY id")
		checked := 0
		for _, r := range strings.Split(got, ",") {
			f := strings.Split(r, "|")
			if len(f) != 4 {
				t.Fatalf("%s: row %q", s.db.name, r)
			}
			if f[3] != "real" {
				t.Errorf("%s: row %s holds the placeholder", s.db.name, f[0])
			}
			if w := want[f[0]]; w != f[1]+"|"+f[2] {
				t.Errorf("%s: row %s = n|md5 %s|%s, source %s", s.db.name, f[0], f[1], f[2], w)
			}
			checked++
		}
		if checked != len(want) {
			t.Errorf("%s: %d rows, source has %d", s.db.name, checked, len(want))
		}
		t.Logf("%s: %d rows checked against the source (md5 of the 100 kB body, counter)", s.db.name, checked)
	}
}

// waitTopicEnd waits until topic holds at least n records and returns its
// end offset once it has stopped growing.
func waitTopicEnd(t *testing.T, c interface{ ListenAddrs() []string }, topic string, n int) int64 {
	t.Helper()
	client, err := sarama.NewClient(c.ListenAddrs(), saramaCfg())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(90 * time.Second)
	var last int64 = -1
	for time.Now().Before(deadline) {
		_ = client.RefreshMetadata(topic)
		end, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
		if err == nil && end >= int64(n) && end == last {
			return end
		}
		last = end
		time.Sleep(700 * time.Millisecond)
	}
	t.Fatalf("topic %s: %d records, want at least %d", topic, last, n)
	return 0
}

func countInTopic(t *testing.T, c interface{ ListenAddrs() []string }, topic, s string) int {
	t.Helper()
	return scanTopic(t, c, topic, func(m *sarama.ConsumerMessage) bool { return bytes.Contains(m.Value, []byte(s)) })
}

func countHeader(t *testing.T, c interface{ ListenAddrs() []string }, topic, key, value string) int {
	t.Helper()
	return scanTopic(t, c, topic, func(m *sarama.ConsumerMessage) bool { return headers(m)[key] == value })
}

// scanTopic counts the records of partition 0 of topic that match.
func scanTopic(t *testing.T, c interface{ ListenAddrs() []string }, topic string, match func(*sarama.ConsumerMessage) bool) int {
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
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	n := 0
	for off := int64(0); off < end; {
		m := <-pc.Messages()
		off = m.Offset + 1
		if match(m) {
			n++
		}
	}
	return n
}

// TestToastLookupCost measures what toast.lookup.mode=select costs the
// source: the same backlog of single-column UPDATEs of rows with 100 kB
// TOASTed text streamed into Kafka with and without the lookup, and with
// REPLICA IDENTITY FULL instead (the events then carry the value twice,
// before and after, with no query).
func TestToastLookupCost(t *testing.T) {
	const rows, rounds = 100, 10
	rate := map[string]float64{}
	for _, mode := range []string{"none", "select", "full"} {
		pg := testdb.StartPostgres(t)
		pg.CreateDatabase(t, "app")
		pg.Exec(t, "app", `CREATE TABLE docs (id int PRIMARY KEY, n int NOT NULL, body text)`,
			fmt.Sprintf(`INSERT INTO docs SELECT g, 0, (SELECT string_agg(md5(g || ':' || i), '') FROM generate_series(1, 3125) i) FROM generate_series(1, %d) g`, rows))
		c := startKafka(t)
		startSource(t, c, postgres.Plugin(), map[string]string{
			"database.hostname": pg.Host, "database.port": fmt.Sprint(pg.Port), "database.user": "postgres",
			"database.dbname": "app", "database.sslmode": "disable", "topic.prefix": "cost", "plugin.name": "pgoutput",
			"slot.name": "cost", "toast.lookup.mode": map[string]string{"full": "none"}[mode] + map[string]string{"none": "none", "select": "select"}[mode],
		})
		if mode == "full" {
			pg.Exec(t, "app", `ALTER TABLE docs REPLICA IDENTITY FULL`)
		}
		const topic = "cost.public.docs"
		waitTopicEnd(t, c, topic, rows) // the snapshot
		client, err := sarama.NewClient(c.ListenAddrs(), saramaCfg())
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for r := 1; r <= rounds; r++ {
			pg.Exec(t, "app", fmt.Sprintf(`UPDATE docs SET n = %d`, r))
		}
		var end int64
		for time.Since(start) < 2*time.Minute {
			_ = client.RefreshMetadata(topic)
			if end, _ = client.GetOffset(topic, 0, sarama.OffsetNewest); end >= rows+rows*rounds {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		elapsed := time.Since(start)
		client.Close()
		if end < rows+rows*rounds {
			t.Fatalf("%s: %d events after %v, want %d", mode, end, elapsed, rows+rows*rounds)
		}
		rate[mode] = float64(rows*rounds) / elapsed.Seconds()
		ph := countInTopic(t, c, topic, defaultPlaceholder)
		if (mode == "none") != (ph == rows*rounds) || (mode != "none" && ph != 0) {
			t.Errorf("%s: %d events carry the placeholder", mode, ph)
		}
		t.Logf("%s: %d updates of rows with 100 kB text in %v, %.0f events/s", mode, rows*rounds, elapsed.Round(time.Millisecond), rate[mode])
	}
	t.Logf("toast.lookup.mode=select streams at %.2f× the rate of none, REPLICA IDENTITY FULL at %.2f×", rate["select"]/rate["none"], rate["full"]/rate["none"])
}
