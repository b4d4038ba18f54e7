package mysql

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/internal/runtime"
)

// parseProps parses props on top of a minimal valid configuration as the
// runtime does (its own properties merged with the connector's), then the
// connector's settings.
func parseProps(t *testing.T, f flavor, props map[string]string) (*settings, error) {
	t.Helper()
	all := map[string]string{"connector.class": f.class, "topic.prefix": "x", "database.hostname": "h", "database.user": "u",
		"schema.history.internal.kafka.topic": "hist"}
	for k, v := range props {
		all[k] = v
	}
	plugin := Plugin()
	if f.mariadb {
		plugin = MariaDBPlugin()
	}
	v, err := runtime.ConnectorDef(plugin.Type).Merge(plugin.Config()).Parse(all)
	if err != nil {
		return nil, err
	}
	return parseSettings(f, v)
}

// Every property the connector accepts has an effect or is refused with
// the reason, when the configuration is parsed (validate --offline runs
// the definitions; a task and validate run the settings too).
func TestPropertiesRefusedWithReason(t *testing.T) {
	cases := []struct {
		name   string
		flavor flavor
		props  map[string]string
		want   []string // substrings of the error
	}{
		{"binlog.buffer.size", mariadbFlavor, map[string]string{"binlog.buffer.size": "1024"}, []string{"binlog.buffer.size", "ROLLBACK is not implemented"}},
		{"adaptive time precision", mariadbFlavor, map[string]string{"time.precision.mode": "adaptive"}, []string{"time.precision.mode", "no longer supported"}},
		{"isostring time precision", mariadbFlavor, map[string]string{"time.precision.mode": "isostring"}, []string{"not implemented"}},
		{"snapshot.max.threads", mariadbFlavor, map[string]string{"snapshot.max.threads": "0"}, []string{"snapshot.max.threads", "positive"}},
		{"max.queue.size.in.bytes", mariadbFlavor, map[string]string{"max.queue.size.in.bytes": "1048576"}, []string{"max.queue.size.in.bytes", "only the default 0"}},
		{"max.queue.size below the batch", mariadbFlavor, map[string]string{"max.queue.size": "100", "max.batch.size": "200"}, []string{"max.queue.size", "larger than max.batch.size (200)"}},
		{"custom snapshot query", mariadbFlavor, map[string]string{"snapshot.query.mode": "custom", "snapshot.query.mode.custom.name": "x"}, []string{"snapshot.query.mode", "snapshot.query.mode.custom.name"}},
		{"include.unknown.datatypes", mariadbFlavor, map[string]string{"include.unknown.datatypes": "true"}, []string{"include.unknown.datatypes"}},
		{"deprecated deserialization mode", mariadbFlavor, map[string]string{"event.deserialization.failure.handling.mode": "warn"}, []string{"event.processing.failure.handling.mode"}},
		{"keystore password", mariadbFlavor, map[string]string{"database.ssl.keystore.password": "p"}, []string{"database.ssl.keystore.password", "PEM"}},
		{"truststore password", mariadbFlavor, map[string]string{"database.ssl.truststore.password": "p"}, []string{"database.ssl.truststore.password", "PEM"}},
		{"percona locks", mysqlFlavor, map[string]string{"snapshot.locking.mode": "minimal_percona"}, []string{"Percona"}},
		{"legacy ddl parser", mysqlFlavor, map[string]string{"ddl.parser.type": "legacy"}, []string{"one DDL parser"}},
		{"jdbc driver", mariadbFlavor, map[string]string{"database.jdbc.driver": "com.example.Driver"}, []string{"database.jdbc.driver", "does not use a JDBC driver"}},
		{"topic naming", mariadbFlavor, map[string]string{"topic.naming.strategy": "com.example.Naming"}, []string{"topic.naming.strategy", "Java classes"}},
		{"history store", mariadbFlavor, map[string]string{"schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory"}, []string{"schema.history.internal", "Kafka"}},
		{"file history property", mariadbFlavor, map[string]string{"schema.history.internal.file.filename": "/tmp/h"}, []string{"schema.history.internal.file.filename", "KafkaSchemaHistory"}},
		{"signal table with three parts", mariadbFlavor, map[string]string{"signal.data.collection": "a.b.signals"}, []string{"signal.data.collection", "two parts"}},
		{"jmx signal channel", mariadbFlavor, map[string]string{"signal.enabled.channels": "source,jmx"}, []string{"signal.enabled.channels", "no JMX"}},
		{"kafka signals without brokers", mariadbFlavor, map[string]string{"signal.enabled.channels": "kafka"}, []string{"signal.kafka.bootstrap.servers", "required"}},
		{"unknown signal property", mariadbFlavor, map[string]string{"signal.foo": "x"}, []string{"signal.foo"}},
		{"incremental snapshot schema changes", mariadbFlavor, map[string]string{"incremental.snapshot.allow.schema.changes": "true"}, []string{"incremental.snapshot.allow.schema.changes"}},
		{"notifications", mariadbFlavor, map[string]string{"notification.enabled.channels": "log"}, []string{"notification.enabled.channels"}},
		{"jdbc driver settings", mariadbFlavor, map[string]string{"driver.useSSL": "false"}, []string{"driver.useSSL", "JDBC"}},
		{"configuration-based snapshot", mariadbFlavor, map[string]string{"snapshot.mode.configuration.based.snapshot.data": "true"}, []string{"snapshot.mode.configuration.based.snapshot.data"}},
		{"unknown column mapper", mariadbFlavor, map[string]string{"column.mask.with.x.chars": "a.b.c"}, []string{"column.mask.with.x.chars"}},
		{"unknown converter class", mariadbFlavor, map[string]string{"converters": "isbn", "isbn.type": "com.example.IsbnConverter"}, []string{"isbn.type", "Java classes"}},
		{"converter without class", mariadbFlavor, map[string]string{"converters": "boolean"}, []string{"boolean.type", "missing"}},
		{"unknown converter setting", mariadbFlavor, map[string]string{"converters": "boolean", "boolean.type": "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter", "boolean.flavour": "x"}, []string{"boolean.flavour"}},
		{"converter setting without converter", mariadbFlavor, map[string]string{"boolean.type": "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter"}, []string{"boolean.type: unknown property"}},
		{"select override for an unlisted table", mariadbFlavor, map[string]string{"snapshot.select.statement.overrides.inventory.a": "SELECT * FROM inventory.a"}, []string{"does not list inventory.a"}},
		{"listed table without a select override", mariadbFlavor, map[string]string{"snapshot.select.statement.overrides": "inventory.a"}, []string{"holds no SELECT"}},
		{"both GTID source lists", mariadbFlavor, map[string]string{"gtid.source.includes": "0-1", "gtid.source.excludes": "0-2"}, []string{"cannot both be set"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseProps(t, tc.flavor, tc.props)
			if err == nil {
				t.Fatalf("%v accepted", tc.props)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// What the accepted properties set.
func TestPropertiesAccepted(t *testing.T) {
	s, err := parseProps(t, mariadbFlavor, map[string]string{
		"converters": "boolean, b2", "boolean.type": "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter",
		"boolean.selector": "inventory.t.flag, inventory\\.u\\..*", "b2.type": "io.debezium.connector.mysql.converters.TinyIntOneToBooleanConverter",
		"b2.length.checker":            "false",
		"skip.messages.without.change": "true", "event.converting.failure.handling.mode": "fail", "event.processing.failure.handling.mode": "warn",
		"snapshot.query.mode": "select_all", "streaming.delay.ms": "1500", "snapshot.delay.ms": "250", "topic.heartbeat.name": "beats",
		"max.queue.size": "4096", "max.queue.size.in.bytes": "0", "include.schema.comments": "true",
		"snapshot.include.collection.list": "inventory.a", "snapshot.select.statement.overrides": "inventory.a",
		"snapshot.select.statement.overrides.inventory.a": "SELECT * FROM inventory.a WHERE id > 1;",
		"heartbeat.action.query":                          "UPDATE inventory.hb SET n = n + 1", "poll.interval.ms": "5",
		"gtid.source.excludes": "0-7", "gtid.source.filter.dml.events": "true",
		"binlog.net.read.timeout": "30", "binlog.net.write.timeout": "40", "use.nongraceful.disconnect": "true",
		"enable.time.adjuster": "false", "database.jdbc.driver": "org.mariadb.jdbc.Driver", "database.protocol": "jdbc:mariadb",
		"schema.history.internal.kafka.recovery.attempts": "10", "schema.history.internal.producer.security.protocol": "SSL",
		"snapshot.fetch.size": "500",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.types.boolConverters) != 2 || !s.types.boolConverters[0].lengthChecker || s.types.boolConverters[1].lengthChecker {
		t.Errorf("converters %+v", s.types.boolConverters)
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"skip.messages.without.change", s.skipUnchanged},
		{"event.converting.failure.handling.mode", s.convertingMode == "fail"},
		{"event.processing.failure.handling.mode", s.processingMode == "warn"},
		{"streaming.delay.ms", s.streamingDelay == 1500*time.Millisecond},
		{"snapshot.delay.ms", s.snapshotDelay == 250*time.Millisecond},
		{"topic.heartbeat.name", s.heartbeatTopic == "beats"},
		{"include.schema.comments", s.includeComments},
		{"snapshot.include.collection.list", s.snapshotTables.Match("inventory.a") && !s.snapshotTables.Match("inventory.b")},
		{"snapshot.select.statement.overrides", s.selectOverrides[TableID{"inventory", "a"}] == "SELECT * FROM inventory.a WHERE id > 1"},
		{"heartbeat.action.query", s.heartbeatQuery == "UPDATE inventory.hb SET n = n + 1"},
		{"poll.interval.ms", s.pollInterval == 5*time.Millisecond},
		{"gtid.source.excludes", s.gtidFilter != nil && !s.gtidFilter.Match("0-7") && s.gtidFilter.Match("0-1")},
		{"gtid.source.filter.dml.events", s.gtidFilterDML},
		{"binlog.net.*.timeout", s.netReadTimeout == 30 && s.netWriteTimeout == 40},
		{"use.nongraceful.disconnect", s.nongraceful},
		{"enable.time.adjuster", !s.types.timeAdjuster},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s not applied: %+v", c.what, s)
		}
	}
	// a topic.heartbeat.name-less configuration keeps Debezium's default
	d, err := parseProps(t, mariadbFlavor, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.heartbeatTopic != "__debezium-heartbeat.x" || d.convertingMode != "warn" || d.processingMode != "fail" || !d.types.timeAdjuster || d.includeComments {
		t.Errorf("defaults: %+v", d)
	}
}

// TinyIntOneToBooleanConverter's column test: TINYINT(1) (signed or not)
// unless length.checker is off, and the selector against
// <database>.<table>.<column>, case-insensitively.
func TestTinyIntBoolApplies(t *testing.T) {
	byName := tinyIntBool{lengthChecker: true}
	anyLen := tinyIntBool{lengthChecker: false}
	selected, err := parseConverters(mustParse(t, map[string]string{"converters": "b", "b.type": "io.debezium.connector.binlog.converters.TinyIntOneToBooleanConverter", "b.selector": "db1.table1.*, db1.table2.column1"}))
	if err != nil {
		t.Fatal(err)
	}
	id1, id2 := TableID{"db1", "table1"}, TableID{"DB1", "TABLE2"}
	cases := []struct {
		conv tinyIntBool
		id   TableID
		col  Column
		want bool
	}{
		{byName, id1, Column{Name: "c", TypeName: "TINYINT", Length: 1}, true},
		{byName, id1, Column{Name: "c", TypeName: "TINYINT UNSIGNED", Length: 1}, true},
		{byName, id1, Column{Name: "c", TypeName: "TINYINT", Length: 4}, false},
		{byName, id1, Column{Name: "c", TypeName: "TINYINT", Length: -1}, false},
		{byName, id1, Column{Name: "c", TypeName: "SMALLINT", Length: 1}, false},
		{byName, id1, Column{Name: "c", TypeName: "BOOLEAN", Length: -1}, false},
		{anyLen, id1, Column{Name: "c", TypeName: "TINYINT", Length: 4}, true},
		{selected[0], id1, Column{Name: "anything", TypeName: "TINYINT", Length: 1}, true},
		{selected[0], id2, Column{Name: "COLUMN1", TypeName: "TINYINT", Length: 1}, true},
		{selected[0], id2, Column{Name: "column2", TypeName: "TINYINT", Length: 1}, false},
	}
	for i, c := range cases {
		if got := c.conv.applies(c.id, &c.col); got != c.want {
			t.Errorf("case %d %s %+v: %v, want %v", i, c.id, c.col, got, c.want)
		}
	}
}

func mustParse(t *testing.T, props map[string]string) *config.Values {
	t.Helper()
	all := map[string]string{"topic.prefix": "x", "database.hostname": "h", "database.user": "u", "schema.history.internal.kafka.topic": "hist"}
	for k, v := range props {
		all[k] = v
	}
	v, err := MariaDBPlugin().Config().Parse(all)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// event.converting.failure.handling.mode: a value that does not convert is
// an error (fail), or null with a warning (warn) or quietly (skip); a key
// or NOT NULL column cannot be null, so it stays an error.
// event.processing.failure.handling.mode then decides about the row.
func TestFailureHandlingModes(t *testing.T) {
	cases := []struct {
		mode, column string
		wantErr      bool
		wantLog      bool // a warning
	}{
		{"fail", "n", true, false},
		{"warn", "n", false, true},
		{"skip", "n", false, false},
		{"warn", "id", true, false},
		{"skip", "m", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.mode+"/"+tc.column, func(t *testing.T) {
			var logs logBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			c, err := newConnectorState(mariadbFlavor, mustParse(t, map[string]string{"event.converting.failure.handling.mode": tc.mode}), connect.TaskContext{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.model.applyDDL("CREATE TABLE t (id INT PRIMARY KEY, n INT NULL, m INT NOT NULL)", "db"); err != nil {
				t.Fatal(err)
			}
			tbl := c.model.table(TableID{"db", "t"})
			ts, err := c.buildTableSchema(tbl)
			if err != nil {
				t.Fatal(err)
			}
			_, fail := tbl.column(tc.column)
			_, v, err := ts.rowValue(func(ci int, cv *converter) (any, error) {
				if ci == fail {
					return nil, errors.New("cannot convert")
				}
				return int32(ci + 1), nil
			})
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want one: %v", err, tc.wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), `column "`+tc.column+`"`) || !strings.Contains(err.Error(), "cannot convert") {
					t.Errorf("error %q does not name the column and the cause", err)
				}
				return
			}
			if got := v.Get(tc.column); got != nil {
				t.Errorf("%s = %v, want null", tc.column, got)
			}
			if got := v.Get("m"); got != int32(3) {
				t.Errorf("m = %v: the other fields must be converted", got)
			}
			if logged := strings.Contains(logs.String(), "failed to convert a column value"); logged != tc.wantLog {
				t.Errorf("warning logged: %v, want %v\n%s", logged, tc.wantLog, logs.String())
			}
		})
	}
	for _, mode := range []string{"fail", "warn", "skip", "ignore"} {
		tk := &task{c: &connectorState{cfg: &settings{processingMode: mode}, log: slog.New(slog.DiscardHandler)}}
		err := tk.processingFailed(errors.New("row 3: bad"))
		if (err != nil) != (mode == "fail") {
			t.Errorf("event.processing.failure.handling.mode=%s: %v", mode, err)
		}
		if err != nil && !strings.Contains(err.Error(), "event.processing.failure.handling.mode=warn or skip would skip the row") {
			t.Errorf("error %q does not name the way out", err)
		}
	}
}

// enable.time.adjuster (default true) reads the years 0-99 of DATE and
// DATETIME values as Debezium's adjustTemporal does: 0-69 as 2000-2069,
// 70-99 as 1900-1999; with false the stored year is kept.
func TestTimeAdjuster(t *testing.T) {
	days := func(y, m, d int) int32 { return int32(daysFromCivil(y, m, d)) }
	cases := []struct {
		typ, value string
		adjust     bool
		want       any
	}{
		{"DATE", "0069-03-01", true, days(2069, 3, 1)},
		{"DATE", "0070-03-01", true, days(1970, 3, 1)},
		{"DATE", "0099-12-31", true, days(1999, 12, 31)},
		{"DATE", "0100-01-01", true, days(100, 1, 1)},
		{"DATE", "0069-03-01", false, days(69, 3, 1)},
		{"DATETIME", "0005-01-02 03:04:05", true, int64(days(2005, 1, 2))*86_400_000 + (3*3600+4*60+5)*1000},
		{"DATETIME", "0005-01-02 03:04:05", false, int64(days(5, 1, 2))*86_400_000 + (3*3600+4*60+5)*1000},
	}
	for _, tc := range cases {
		m := newSchemaModel()
		if _, err := m.applyDDL("CREATE TABLE t (c "+tc.typ+" NULL)", "db"); err != nil {
			t.Fatal(err)
		}
		col := m.table(TableID{"db", "t"}).Columns[0]
		cv, err := newConverter(TableID{"db", "t"}, col, &typeOptions{timePrecision: "adaptive_time_microseconds", timeAdjuster: tc.adjust})
		if err != nil {
			t.Fatal(err)
		}
		for _, how := range []string{"text", "binlog"} {
			var got any
			if how == "text" {
				got, err = cv.fromText([]byte(tc.value))
			} else {
				got, err = cv.fromBinlog(tc.value)
			}
			if err != nil || got != tc.want {
				t.Errorf("%s %s %s adjust=%v: %v (%v), want %v", how, tc.typ, tc.value, tc.adjust, got, err, tc.want)
			}
		}
	}
}

// database.ssl.keystore: a PEM file with the client certificate and its
// key is presented to the server; it needs an encrypted connection.
func TestSSLKeystore(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tributary"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "client.pem")
	os.WriteFile(good, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...), 0o600)
	certOnly := filepath.Join(dir, "cert.pem")
	os.WriteFile(certOnly, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	cases := []struct {
		mode, keystore string
		wantErr        string // "" for success
	}{
		{"required", good, ""},
		{"preferred", good, ""},
		{"disabled", good, "needs an encrypted connection"},
		{"required", certOnly, "unencrypted private key in one PEM file"},
		{"required", filepath.Join(dir, "missing.pem"), "database.ssl.keystore"},
	}
	for _, tc := range cases {
		s := &settings{sslMode: tc.mode, sslKeystore: tc.keystore, host: "h"}
		cfg, preferred, err := s.tlsConfig()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %s: %v, want %q", tc.mode, tc.keystore, err, tc.wantErr)
			}
			continue
		}
		if err != nil || len(cfg.Certificates) != 1 || preferred {
			t.Errorf("%s: %v %v %v", tc.mode, cfg, preferred, err)
		}
	}
}

// Recovery compares GTID positions only on the sources gtid.source.*
// selects, as BinlogHistoryRecordComparator does with a GTID source filter.
func TestHistoryPositionGtidFilter(t *testing.T) {
	exclude5, err := debezium.NewFilter("gtid.source.includes", nil, "gtid.source.excludes", []string{"5-.*"})
	if err != nil {
		t.Fatal(err)
	}
	rec := historyPosition{gtids: "0-1-5,5-1-9", file: "binlog.000001", pos: 900}
	off := historyPosition{gtids: "0-1-5", file: "binlog.000001", pos: 1000}
	if atOrBefore(true, nil, rec, off) {
		t.Error("without a filter a record with a GTID of domain 5 the offset lacks is after it")
	}
	if !atOrBefore(true, exclude5, rec, off) {
		t.Error("with domain 5 left out the record is at the offset")
	}
	myRec := historyPosition{gtids: "aaaaaaaa-0000-0000-0000-000000000001:1-10,bbbbbbbb-0000-0000-0000-000000000002:1-3"}
	myOff := historyPosition{gtids: "aaaaaaaa-0000-0000-0000-000000000001:1-10"}
	onlyA, _ := debezium.NewFilter("gtid.source.includes", []string{"aaaaaaaa-.*"}, "gtid.source.excludes", nil)
	if atOrBefore(false, nil, myRec, myOff) || !atOrBefore(false, onlyA, myRec, myOff) {
		t.Error("MySQL GTID sets are not compared on the included sources only")
	}
}
