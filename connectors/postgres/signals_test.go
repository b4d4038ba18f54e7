package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/kafka"
	"github.com/tributary-io/tributary/internal/signal"
	"github.com/tributary-io/tributary/internal/signal/signaltest"
)

// waitSlot waits until the named replication slot is streaming.
func waitSlot(t *testing.T, e *env, slot string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := pgx.Connect(context.Background(), e.pg.DSN(e.db))
		if err == nil {
			var active bool
			err = conn.QueryRow(context.Background(), "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&active)
			conn.Close(context.Background())
			if err == nil && active {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("replication slot %s never became active", slot)
}

// sender delivers a signal through one channel.
type sender func(t *testing.T, id, typ, data string)

func jsonSignal(id, typ, data string) string {
	if data == "" {
		return fmt.Sprintf(`{"id":%q,"type":%q}`, id, typ)
	}
	return fmt.Sprintf(`{"id":%q,"type":%q,"data":%s}`, id, typ, data)
}

// TestSignalChannels sends every action through each channel (the signal
// table, a file, the REST API, a Kafka topic): log, incremental snapshots with pause,
// resume and stop, a blocking snapshot, and signals that cannot be carried
// out (unknown type, malformed data, a table that does not exist), after
// which the stream must still deliver changes.
func TestSignalChannels(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE marker (id int PRIMARY KEY)`)
	broker, err := kafka.StartEmbedded(0, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	sc, err := kafka.ClientConfig{Brokers: broker.Addrs()}.SaramaConfig()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kafka.NewRaw(broker.Addrs(), sc)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	dir := t.TempDir()
	marker := 0

	channels := []struct {
		name  string
		props []string
		send  func(ch string) sender
	}{
		{"source", nil, func(ch string) sender {
			return func(t *testing.T, id, typ, data string) {
				d := "NULL"
				if data != "" {
					d = "'" + strings.ReplaceAll(data, "'", "''") + "'"
				}
				e.exec(t, fmt.Sprintf("INSERT INTO sig_%s VALUES ('%s', '%s', %s)", ch, id, typ, d))
			}
		}},
		{"file", []string{"signal.enabled.channels", "source,file", "signal.file", filepath.Join(dir, "signals.txt")}, func(string) sender {
			return func(t *testing.T, id, typ, data string) {
				f, err := os.OpenFile(filepath.Join(dir, "signals.txt"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.WriteString(jsonSignal(id, typ, data) + "\n"); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"rest", nil, func(string) sender {
			// What POST /connectors/{name}/signals does with the body.
			return func(t *testing.T, id, typ, data string) {
				rec, err := signal.ParseJSON([]byte(jsonSignal(id, typ, data)), signal.ChannelREST)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := testSignals.Deliver(context.Background(), "test", rec); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"kafka", []string{"signal.enabled.channels", "source,kafka", "signal.kafka.bootstrap.servers", strings.Join(broker.Addrs(), ","),
			"signal.kafka.topic", "signals"}, func(string) sender {
			return func(t *testing.T, id, typ, data string) {
				if err := raw.ProduceSync(context.Background(), "signals", []byte("dbserver1"), []byte(jsonSignal(id, typ, data))); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	// The paused and the stopped snapshots are long enough (about 2 s)
	// that their signals, separate transactions, arrive while they run:
	// in CI a second INSERT once came 500 ms after the first, when a
	// 3000-row snapshot had already completed.
	const bigRows, stoppedRows = 30000, 30000
	for _, c := range channels {
		t.Run(c.name, func(t *testing.T) {
			ch := c.name
			tbl := func(n string) string { return n + "_" + ch }
			topic := func(n string) string { return "dbserver1.public." + tbl(n) }
			e.exec(t, fmt.Sprintf("CREATE TABLE sig_%s (id varchar(64) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048) NULL)", ch))
			for _, n := range []string{"small", "big", "stopped", "blocked"} {
				rows := 300
				if n == "big" {
					rows = bigRows
				}
				if n == "stopped" {
					rows = stoppedRows
				}
				e.exec(t, fmt.Sprintf("CREATE TABLE %s (id bigint PRIMARY KEY, v int NOT NULL, pad text NOT NULL)", tbl(n)),
					fmt.Sprintf("INSERT INTO %s SELECT g, 0, 'p' || g FROM generate_series(1, %d) g", tbl(n), rows))
			}
			props := append([]string{"snapshot.mode", "no_data", "slot.name", "slot_" + ch, "publication.name", "pub_" + ch,
				"slot.drop.on.stop", "true", "signal.data.collection", "public.sig_" + ch,
				"incremental.snapshot.chunk.size", "20", "signal.poll.interval.ms", "100"}, c.props...)
			sink := signaltest.NewLog(t)
			r := startLogged(t, e.props(props...), nil, nil, sink)
			waitSlot(t, e, "slot_"+ch)
			send := c.send(ch)
			reads := func(n string) int { return len(incrementalReads(r.cap.records(), topic(n))) }

			// log
			send(t, "log-1", "log", `{"message": "hello from `+ch+` at {}"}`)
			sink.Wait(t, time.Minute, "hello from "+ch+" at {", "signal_id=log-1")

			// execute-snapshot, incremental by default
			send(t, "inc-1", "execute-snapshot", fmt.Sprintf(`{"data-collections": ["public\\.%s"]}`, tbl("small")))
			sink.Wait(t, time.Minute, "finished table", "table=public."+tbl("small"), "rows=300")
			// (the last window may reach the capture just after the log line)
			r.cap.waitFor(t, 300, func(rec *connect.Record) bool {
				return len(incrementalReads([]*connect.Record{rec}, topic("small"))) == 1
			})
			time.Sleep(200 * time.Millisecond)
			if n := reads("small"); n != 300 {
				t.Fatalf("%d incremental reads of %s, want 300", n, tbl("small"))
			}

			// pause-snapshot and resume-snapshot
			// (sent together, so the pause arrives while the snapshot runs
			// whatever the channel's latency)
			send(t, "inc-2", "execute-snapshot", fmt.Sprintf(`{"data-collections": ["public.%s"], "type": "incremental"}`, tbl("big")))
			send(t, "pause-1", "pause-snapshot", "")
			sink.Wait(t, time.Minute, "incremental snapshot paused", "signal_id=pause-1")
			time.Sleep(300 * time.Millisecond) // the chunk in flight closes
			paused := reads("big")
			time.Sleep(time.Second)
			if n := reads("big"); n != paused || n >= bigRows {
				t.Fatalf("reads went on while paused: %d, then %d", paused, n)
			}
			send(t, "resume-1", "resume-snapshot", "")
			sink.Wait(t, time.Minute, "finished table", "table=public."+tbl("big"), fmt.Sprintf("rows=%d", bigRows))
			t.Logf("paused after %d of %d rows", paused, bigRows)

			// stop-snapshot
			send(t, "inc-3", "execute-snapshot", fmt.Sprintf(`{"data-collections": ["public.%s"]}`, tbl("stopped")))
			send(t, "stop-1", "stop-snapshot", fmt.Sprintf(`{"data-collections": ["public.%s"], "type": "INCREMENTAL"}`, tbl("stopped")))
			sink.Wait(t, time.Minute, "incremental snapshot: tables removed", "public."+tbl("stopped"))
			sink.Wait(t, time.Minute, "incremental snapshot stopped")
			time.Sleep(300 * time.Millisecond) // the last window reaches the capture
			stopped := reads("stopped")
			time.Sleep(500 * time.Millisecond)
			if n := reads("stopped"); n != stopped || n >= stoppedRows {
				t.Fatalf("stopped snapshot went on: %d, then %d reads", stopped, n)
			}

			// blocking snapshot, with a full SELECT as the table's condition
			send(t, "block-1", "execute-snapshot", fmt.Sprintf(`{"data-collections": ["public.%s"], "type": "blocking", `+
				`"additional-conditions": [{"data-collection": "public.%s", "filter": "SELECT * FROM public.%s WHERE id <= 100"}]}`, tbl("blocked"), tbl("blocked"), tbl("blocked")))
			sink.Wait(t, time.Minute, "blocking snapshot completed", "signal_id=block-1", "rows=100")
			var blocked []*connect.Record
			for _, rec := range r.cap.records() {
				if rec.Topic == topic("blocked") {
					blocked = append(blocked, rec)
				}
			}
			if len(blocked) != 100 {
				t.Fatalf("%d records of the blocking snapshot, want 100", len(blocked))
			}
			first := blocked[0].Value.(*connect.StructValue)
			last := blocked[99].Value.(*connect.StructValue)
			if first.Get("op") != "r" || first.Get("source").(*connect.StructValue).Get("snapshot") != "first" ||
				last.Get("source").(*connect.StructValue).Get("snapshot") != "last" {
				t.Fatalf("blocking snapshot markers: first %v, last %v", first.Get("source"), last.Get("source"))
			}
			if blocked[0].SourceOffset[keySnapshot] != snapshotBlocking || blocked[99].SourceOffset[keySnapshotComplete] != true {
				t.Fatalf("blocking snapshot offsets: %v ... %v", blocked[0].SourceOffset, blocked[99].SourceOffset)
			}

			// signals that cannot be carried out: logged with their id
			send(t, "bad-type", "bogus", "")
			send(t, "bad-data", "execute-snapshot", `{"data-collections": "public.x"}`)
			send(t, "bad-table", "execute-snapshot", `{"data-collections": ["public.does_not_exist"]}`)
			send(t, "bad-log", "log", `{}`)
			sink.Wait(t, time.Minute, "unknown type", "signal_id=bad-type")
			sink.Wait(t, time.Minute, "malformed data", "signal_id=bad-data")
			sink.Wait(t, time.Minute, "does not exist", "signal_id=bad-table", "public.does_not_exist")
			sink.Wait(t, time.Minute, "malformed data", "signal_id=bad-log")
			switch ch {
			case "kafka":
				if err := raw.ProduceSync(context.Background(), "signals", []byte("someone-else"), []byte(jsonSignal("other-key", "log", `{"message":"x"}`))); err != nil {
					t.Fatal(err)
				}
				if err := raw.ProduceSync(context.Background(), "signals", []byte("dbserver1"), []byte(`{"id": "bad-json", "type": `)); err != nil {
					t.Fatal(err)
				}
				sink.Wait(t, time.Minute, "does not match topic.prefix", "key=someone-else")
				sink.Wait(t, time.Minute, "skipped a malformed signal", "channel=kafka")
			case "file":
				if err := os.WriteFile(filepath.Join(dir, "signals.txt"), []byte("{not json\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				sink.Wait(t, time.Minute, "skipped a malformed signal", "channel=file", "line=1")
			case "source":
				e.exec(t, "INSERT INTO sig_source VALUES ('bad-row', 'execute-snapshot', '{\"data-collections\": ')")
				sink.Wait(t, time.Minute, "malformed data", "signal_id=bad-row")
			}
			// ... and the stream goes on.
			marker++
			caughtUp(t, e, r.cap, marker)
			e.exec(t, fmt.Sprintf("UPDATE %s SET v = 7 WHERE id = 1", tbl("small")))
			r.cap.waitFor(t, 1, func(rec *connect.Record) bool {
				return rec.Topic == topic("small") && rec.Value != nil && rec.Value.(*connect.StructValue).Get("op") == "u"
			})
		})
	}
}

// TestSelectStatementOverrides: the initial snapshot reads a listed table
// with its statement (Debezium's snapshot.select.statement.overrides),
// other tables whole.
func TestSelectStatementOverrides(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE TABLE a (id int PRIMARY KEY, v text)`, `CREATE TABLE b (id int PRIMARY KEY, v text)`,
		`INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 10) g`, `INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 10) g`)
	r := startTask(t, e.props("snapshot.mode", "initial_only", "snapshot.select.statement.overrides", "public.a",
		"snapshot.select.statement.overrides.public.a", "SELECT id, upper(v) AS v FROM public.a WHERE id > 7 ORDER BY id DESC;"), nil, nil)
	select {
	case err := <-r.done:
		r.cancel = nil
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("snapshot did not finish")
	}
	var got []string
	nb := 0
	for _, rec := range r.cap.records() {
		after, _ := rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
		switch rec.Topic {
		case "dbserver1.public.a":
			got = append(got, fmt.Sprintf("%v %v", after.Get("id"), after.Get("v")))
		case "dbserver1.public.b":
			nb++
		}
	}
	if strings.Join(got, ",") != "10 A10,9 A9,8 A8" || nb != 10 {
		t.Fatalf("table a read as %v, table b %d rows", got, nb)
	}
}

func TestSignalPropertiesRejected(t *testing.T) {
	base := map[string]string{"database.hostname": "h", "database.user": "u", "database.dbname": "d", "topic.prefix": "p"}
	tests := []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"driver.loginTimeout": "5"}, "driver.loginTimeout: not supported because"},
		{map[string]string{"notification.enabled.channels": "log"}, "notification.enabled.channels: not supported because"},
		{map[string]string{"signal.enabled.channels": "jmx"}, "jmx not supported"},
		{map[string]string{"incremental.snapshot.allow.schema.changes": "true"}, "not supported"},
		{map[string]string{"snapshot.select.statement.overrides": "public.a"}, "holds no SELECT statement"},
		{map[string]string{"snapshot.select.statement.overrides.public.a": "SELECT 1"}, "does not list public.a"},
		{map[string]string{"signal.data.collection": "debezium_signal"}, "two parts"},
	}
	for _, tt := range tests {
		props := map[string]string{}
		for k, v := range base {
			props[k] = v
		}
		for k, v := range tt.props {
			props[k] = v
		}
		vals, err := Def().Parse(props)
		if err == nil {
			_, err = parseConfig(vals, slogDiscard())
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.props, err, tt.want)
		}
	}
}
