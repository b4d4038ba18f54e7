package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5"
	"github.com/tributary-io/tributary/internal/herder"
	"github.com/tributary-io/tributary/internal/rest"
	"github.com/tributary-io/tributary/internal/testdb"
	"github.com/tributary-io/tributary/schema/registry/server"
)

// The distinctive secrets of TestSecretsNeverLeak: each must appear only
// where Kafka Connect itself returns it.
const (
	pgSecret       = "S3cr3t-T0ken-xyz" // the role's password
	wrongSecret    = "Wr0ng-P4ss-abc"   // a wrong password, in failing configs
	changedSecret  = "Ch4nged-Pw-def"   // the role's password after rotation
	registryUser   = "registry-user"
	registrySecret = "Reg1stry-Pa55-qrs" // the schema registry's basic auth password
)

var allSecrets = []string{pgSecret, wrongSecret, changedSecret, registrySecret}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// exchange is one REST or metrics request and its answer.
type exchange struct {
	method, path string
	status       int
	body         string
}

type secretsHarness struct {
	t        *testing.T
	url      string // the worker's REST API
	exchange []exchange
	errors   []string // every error string the test saw outside REST
}

func (h *secretsHarness) do(method, path string, body any) exchange {
	h.t.Helper()
	var text string
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		text = string(b)
	}
	r := call(h.t, method, h.url+path, text)
	e := exchange{method: method, path: path, status: r.status, body: string(r.body)}
	h.exchange = append(h.exchange, e)
	return e
}

func (h *secretsHarness) get(path string) exchange { return h.do("GET", path, nil) }

// status returns a connector's state and its first task's state and
// trace.
func (h *secretsHarness) status(name string) (conn, task, trace string) {
	e := h.get("/connectors/" + name + "/status")
	var st herder.ConnectorStateInfo
	if e.status != 200 || json.Unmarshal([]byte(e.body), &st) != nil {
		return "", "", e.body
	}
	if len(st.Tasks) == 0 {
		return string(st.Connector.State), "", st.Connector.Trace
	}
	return string(st.Connector.State), string(st.Tasks[0].State), st.Tasks[0].Trace
}

func (h *secretsHarness) waitTask(name, state string) string {
	h.t.Helper()
	var trace string
	waitFor(h.t, 90*time.Second, name+" task "+state, func() (bool, string) {
		c, tk, tr := h.status(name)
		trace = tr
		return tk == state, fmt.Sprintf("connector %s task %s trace %s", c, tk, tr)
	})
	return trace
}

// requirePasswords makes the test server check passwords for role (the
// test servers trust every connection), so a wrong password fails as in
// production.
func requirePasswords(t *testing.T, pg *testdb.Postgres, role string) {
	t.Helper()
	hba := filepath.Join(pg.DataDir(), "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	rules := fmt.Sprintf("host all %[1]s 127.0.0.1/32 scram-sha-256\nhost replication %[1]s 127.0.0.1/32 scram-sha-256\n", role)
	// os.WriteFile keeps the owner (postgres) of the existing file.
	if err := os.WriteFile(hba, append([]byte(rules), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	pg.Exec(t, "postgres", "SELECT pg_reload_conf()")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dsn := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/inventory?sslmode=disable", role, wrongSecret, pg.Port)
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.Close(ctx)
		t.Fatal("the test server accepted a wrong password; pg_hba.conf was not applied")
	}
}

// basicAuth guards h with HTTP Basic auth, as a secured Confluent schema
// registry does.
func basicAuth(user, pass string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error_code":401,"message":"Unauthorized"}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func topicRecords(t *testing.T, brokers []string, topic string) int64 {
	client, err := sarama.NewClient(brokers, sarama.NewConfig())
	if err != nil {
		return 0
	}
	defer client.Close()
	n, err := client.GetOffset(topic, 0, sarama.OffsetNewest)
	if err != nil {
		return 0
	}
	return n
}

// TestSecretsNeverLeak runs a real pipeline (PostgreSQL with a password
// role, Avro through a schema registry behind basic auth) next to
// deliberately failing configurations (wrong password, unreachable host,
// a misspelled password property, a password rotated under a running
// task, a JDBC URL carrying the password), captures all log output, every
// REST and metrics answer and every error, and checks that no secret
// appears anywhere except where Kafka Connect itself returns it: the
// configuration of a connector that was given the secret literally.
func TestSecretsNeverLeak(t *testing.T) {
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "inventory")
	pg.Exec(t, "inventory", demoPostgresSQL)
	pg.Exec(t, "inventory", fmt.Sprintf("CREATE ROLE tribsecret LOGIN SUPERUSER PASSWORD '%s'", pgSecret))
	requirePasswords(t, pg, "tribsecret")

	var regDenied sync.Map // requests the registry refused, by path
	regHandler := basicAuth(registryUser, registrySecret, server.NewServer(server.NewMemoryStore(), quietLogger()))
	registry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != registryUser || p != registrySecret {
			regDenied.Store(r.URL.Path, true)
		}
		regHandler.ServeHTTP(w, r)
	}))
	defer registry.Close()

	dir := t.TempDir()
	secretsFile := filepath.Join(dir, "secrets.properties")
	if err := os.WriteFile(secretsFile, []byte("pg.password="+pgSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIB_TEST_REGISTRY_USER_INFO", registryUser+":"+registrySecret)

	// All log output of the worker, of everything using slog.Default and
	// of the standard log package, at debug level.
	var logs syncBuffer
	logHandler := slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	prevDefault := slog.Default()
	slog.SetDefault(slog.New(logHandler))
	defer slog.SetDefault(prevDefault)
	root := new(slog.LevelVar)
	root.Set(slog.LevelDebug)
	loggers := rest.NewLoggers(root)
	brokersCh := make(chan []string, 1)
	env := &workerEnv{plugins: builtin().plugins(), converters: builtin().converters(), transforms: builtin().transformRegistry(),
		log: slog.New(loggers.Handler(logHandler)), loggers: loggers,
		onBrokers: func(b []string) { brokersCh <- b }}

	restPort, metricsPort := freePort(t), freePort(t)
	closedPort := freePort(t) // nothing listens there: an unreachable database
	cfgPath := filepath.Join(dir, "worker.yaml")
	yaml := fmt.Sprintf(`worker:
  listeners: http://127.0.0.1:%d
  metrics.port: %d
  offset.storage.file.filename: %s
  offset.flush.interval.ms: 200
  task.restart.backoff.ms: 200
  task.restart.backoff.max.ms: 1000
connectors:
  - name: pg-ref
    config:
      connector.class: io.debezium.connector.postgresql.PostgresConnector
      database.hostname: 127.0.0.1
      database.port: %d
      database.user: tribsecret
      database.password: ${file:secrets.properties:pg.password}
      database.dbname: inventory
      database.sslmode: disable
      topic.prefix: refsrv
      slot.name: ref_slot
      table.include.list: inventory.customers
      value.converter: io.confluent.connect.avro.AvroConverter
      value.converter.schema.registry.url: %s
      value.converter.basic.auth.credentials.source: USER_INFO
      value.converter.basic.auth.user.info: ${env:TRIB_TEST_REGISTRY_USER_INFO}
`, restPort, metricsPort, filepath.Join(dir, "offsets.json"), pg.Port, registry.URL)
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := loadFiles([]string{cfgPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	workerDone := make(chan error, 1)
	go func() { workerDone <- runWorker(ctx, env, file, false, true) }()
	defer func() {
		cancel()
		select {
		case <-workerDone:
		case <-time.After(60 * time.Second):
			t.Error("worker did not stop")
		}
	}()
	var brokers []string
	select {
	case brokers = <-brokersCh:
	case err := <-workerDone:
		t.Fatalf("worker stopped: %v\n%s", err, logs.String())
	case <-time.After(2 * time.Minute):
		t.Fatal("worker did not start")
	}
	h := &secretsHarness{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", restPort)}
	defer func() {
		if t.Failed() {
			t.Logf("--- worker log ---\n%s", logs.String())
		}
	}()

	// 1. The working pipeline, secrets given as references: events reach
	// Kafka through the authenticated registry.
	h.waitTask("pg-ref", "RUNNING")
	waitFor(t, 90*time.Second, "pg-ref snapshot in Kafka", func() (bool, string) {
		n := topicRecords(t, brokers, "refsrv.inventory.customers")
		return n >= 4, fmt.Sprintf("%d records", n)
	})
	// Kafka Connect returns config provider references unresolved.
	var refCfg map[string]string
	if e := h.get("/connectors/pg-ref/config"); e.status != 200 || json.Unmarshal([]byte(e.body), &refCfg) != nil {
		t.Fatalf("GET /connectors/pg-ref/config: %d %s", e.status, e.body)
	}
	if got, want := refCfg["database.password"], "${file:"+secretsFile+":pg.password}"; got != want {
		t.Errorf("pg-ref database.password = %q, want the reference %q", got, want)
	}
	if got, want := refCfg["value.converter.basic.auth.user.info"], "${env:TRIB_TEST_REGISTRY_USER_INFO}"; got != want {
		t.Errorf("pg-ref value.converter.basic.auth.user.info = %q, want the reference %q", got, want)
	}

	// 2. The same, secrets given literally through the REST API.
	literal := map[string]string{
		"connector.class":   "io.debezium.connector.postgresql.PostgresConnector",
		"database.hostname": "127.0.0.1", "database.port": fmt.Sprint(pg.Port),
		"database.user": "tribsecret", "database.password": pgSecret, "database.dbname": "inventory",
		"database.sslmode": "disable", "topic.prefix": "litsrv", "slot.name": "lit_slot",
		"table.include.list":                            "inventory.customers",
		"value.converter":                               "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url":           registry.URL,
		"value.converter.basic.auth.credentials.source": "USER_INFO",
		"value.converter.basic.auth.user.info":          registryUser + ":" + registrySecret,
	}
	if e := h.do("PUT", "/connectors/pg-literal/config", literal); e.status != 201 {
		t.Fatalf("creating pg-literal: %d %s", e.status, e.body)
	}
	h.waitTask("pg-literal", "RUNNING")
	waitFor(t, 90*time.Second, "pg-literal snapshot in Kafka", func() (bool, string) {
		n := topicRecords(t, brokers, "litsrv.inventory.customers")
		return n >= 4, fmt.Sprintf("%d records", n)
	})
	var litCfg map[string]string
	if e := h.get("/connectors/pg-literal/config"); e.status != 200 || json.Unmarshal([]byte(e.body), &litCfg) != nil {
		t.Fatalf("GET /connectors/pg-literal/config: %d %s", e.status, e.body)
	}
	if litCfg["database.password"] != pgSecret {
		t.Errorf("pg-literal database.password = %q, want the literal value as given (Kafka Connect returns it)", litCfg["database.password"])
	}

	// 3. Failing configurations, through validation and creation.
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	wrong := with(literal, "database.password", wrongSecret, "slot.name", "bad_slot", "topic.prefix", "badsrv")
	unreachable := with(literal, "database.port", fmt.Sprint(closedPort), "slot.name", "un_slot", "topic.prefix", "unsrv")
	misspelled := with(literal, "database.password", "", "database.passwrd", pgSecret)
	noClass := with(literal, "connector.class", "")
	const validate = "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate"

	var infos herder.ConfigInfos
	e := h.do("PUT", validate, with(literal, "name", "v"))
	if e.status != 200 || json.Unmarshal([]byte(e.body), &infos) != nil || infos.ErrorCount != 0 {
		t.Fatalf("validating the working config: %d %s", e.status, e.body)
	}
	if v := configValue(infos, "database.password"); v != "[hidden]" {
		t.Errorf("validate returned database.password = %q, want [hidden] as Kafka Connect does", v)
	}
	e = h.do("PUT", validate, with(wrong, "name", "v"))
	if e.status != 200 || !strings.Contains(e.body, "password authentication failed") {
		t.Errorf("validating a wrong password: %d %s; want the authentication failure", e.status, e.body)
	}
	e = h.do("PUT", validate, with(misspelled, "name", "v"))
	if e.status != 200 || !strings.Contains(e.body, `Unknown configuration \"database.passwrd\"`) {
		t.Errorf("validating a misspelled password property: %d %s", e.status, e.body)
	}
	for name, cfg := range map[string]map[string]string{"bad-password": wrong, "unreachable": unreachable, "misspelled": misspelled, "no-class": noClass} {
		if e := h.do("PUT", "/connectors/"+name+"/config", cfg); e.status != 400 && e.status != 500 {
			t.Errorf("creating %s: %d %s, want it rejected", name, e.status, e.body)
		}
		h.do("POST", "/connectors", map[string]any{"name": name + "-post", "config": cfg})
	}
	// A JDBC source whose connection.url carries the password, to an
	// unreachable server.
	jdbcURL := fmt.Sprintf("jdbc:postgresql://127.0.0.1:%d/inventory?user=tribsecret&password=%s", closedPort, pgSecret)
	jdbc := map[string]string{"connector.class": "io.confluent.connect.jdbc.JdbcSourceConnector", "connection.url": jdbcURL,
		"connection.attempts": "1", "mode": "incrementing", "incrementing.column.name": "id", "topic.prefix": "jdbc-"}
	h.do("PUT", "/connector-plugins/io.confluent.connect.jdbc.JdbcSourceConnector/config/validate", with(jdbc, "name", "jdbc"))
	h.do("PUT", "/connectors/jdbc-url/config", jdbc)

	// 4. The password rotates under the running tasks: they fail on
	// their next connection, and report it.
	pg.Exec(t, "postgres", fmt.Sprintf("ALTER ROLE tribsecret PASSWORD '%s'", changedSecret))
	for _, name := range []string{"pg-ref", "pg-literal"} {
		if e := h.do("POST", "/connectors/"+name+"/restart?includeTasks=true", nil); e.status >= 300 {
			t.Fatalf("restarting %s: %d %s", name, e.status, e.body)
		}
	}
	for _, name := range []string{"pg-ref", "pg-literal"} {
		trace := h.waitTask(name, "FAILED")
		if !strings.Contains(trace, "password authentication failed") {
			t.Errorf("%s failed with %q; want the authentication failure", name, trace)
		}
	}

	// 5. Everything else the API and the metrics endpoints serve.
	names := []string{"pg-ref", "pg-literal", "jdbc-url", "bad-password", "unreachable", "misspelled", "no-class"}
	for _, p := range []string{"/", "/connectors", "/connectors?expand=status&expand=info", "/connector-plugins",
		"/connector-plugins?connectorsOnly=false", "/admin/loggers", "/metrics", "/healthz", "/readyz",
		"/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config"} {
		h.get(p)
	}
	for _, n := range names {
		for _, p := range []string{"", "/config", "/status", "/tasks", "/tasks-config", "/tasks/0/status", "/topics", "/offsets"} {
			h.get("/connectors/" + n + p)
		}
	}
	for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
		r := call(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", metricsPort, p), "")
		h.exchange = append(h.exchange, exchange{method: "GET", path: "metrics.port" + p, status: r.status, body: string(r.body)})
	}

	// 6. The command line: `tributary validate` of a wrong password, and
	// `run` (no REST, so it ends with its connector) failing on it.
	badCfg := filepath.Join(dir, "bad.yaml")
	bad := fmt.Sprintf(`name: bad
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: %d
  database.user: tribsecret
  database.password: %s
  database.dbname: inventory
  database.sslmode: disable
  topic.prefix: lean
  slot.name: lean_slot
`, pg.Port, wrongSecret)
	if err := os.WriteFile(badCfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := runCmd(t, "validate", "-c", badCfg)
	if code == 0 || !strings.Contains(out, "password authentication failed") {
		t.Errorf("tributary validate of a wrong password: exit %d\n%s", code, out)
	}
	h.errors = append(h.errors, out)
	leanFile, err := loadFiles([]string{badCfg})
	if err != nil {
		t.Fatal(err)
	}
	leanFile.Worker = map[string]string{"bootstrap.servers": strings.Join(brokers, ","), "offset.storage.file.filename": filepath.Join(dir, "lean-offsets.json")}
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Second)
	leanErr := runConnectors(lctx, builtin().runEnv(slog.New(logHandler)), leanFile)
	lcancel()
	if leanErr == nil {
		t.Error("run accepted a wrong password")
	} else {
		h.errors = append(h.errors, leanErr.Error())
	}

	// The registry saw the worker's credentials, never a refusal.
	regDenied.Range(func(k, _ any) bool {
		t.Errorf("the schema registry refused %s: the converter did not authenticate", k)
		return true
	})

	// The verdict. Kafka Connect returns a connector's configuration as
	// submitted, so a literal secret may appear in the configuration
	// endpoints of a connector it was given to; nowhere else.
	givenLiterally := `(pg-literal|jdbc-url|bad-password|unreachable|misspelled|no-class)`
	allowed := regexp.MustCompile(`^/connectors/` + givenLiterally + `(/config|/tasks|/tasks-config)?$`)
	expandInfo := regexp.MustCompile(`^/connectors\?.*expand=info`)
	jdbcValidate := "/connector-plugins/io.confluent.connect.jdbc.JdbcSourceConnector/config/validate"
	leaks := 0
	for _, ex := range h.exchange {
		for _, s := range allSecrets {
			if !strings.Contains(ex.body, s) {
				continue
			}
			switch {
			case ex.method == "GET" && (allowed.MatchString(ex.path) || expandInfo.MatchString(ex.path)):
			// Creating a connector answers with its configuration.
			case ex.status < 300 && (ex.method == "PUT" && allowed.MatchString(ex.path) || ex.method == "POST" && ex.path == "/connectors"):
			// Kafka Connect echoes a STRING property such as
			// connection.url in the validation result, password and all.
			case ex.path == jdbcValidate && !strings.Contains(withoutValue(t, ex.body, "connection.url"), s):
			default:
				leaks++
				t.Errorf("%s %s (%d) contains the secret %q:\n%s", ex.method, ex.path, ex.status, s, ex.body)
			}
		}
	}
	cancel()
	select {
	case err := <-workerDone:
		if err != nil {
			h.errors = append(h.errors, err.Error())
		}
	case <-time.After(60 * time.Second):
		t.Error("worker did not stop")
	}
	workerDone <- nil // for the deferred wait
	logText := logs.String()
	for _, s := range allSecrets {
		if i := strings.Index(logText, s); i >= 0 {
			leaks++
			start, end := max(0, i-300), min(len(logText), i+100)
			t.Errorf("the log contains the secret %q: ...%s...", s, logText[start:end])
		}
		for _, text := range h.errors {
			if strings.Contains(text, s) {
				leaks++
				t.Errorf("an error contains the secret %q: %s", s, text)
			}
		}
	}
	// The failures were real and were reported, or the checks above
	// proved nothing.
	if !strings.Contains(logText, "password authentication failed") {
		t.Error("the log does not report the authentication failures")
	}
	if os.Getenv("TRIBUTARY_TEST_LOGS") != "" {
		for _, ex := range h.exchange {
			if ex.status >= 400 || strings.Contains(ex.path, "status") || strings.Contains(ex.path, "validate") {
				t.Logf("%s %s -> %d %.1500s", ex.method, ex.path, ex.status, ex.body)
			}
		}
		t.Logf("errors: %q", h.errors)
		t.Logf("log:\n%s", logText)
	}
	t.Logf("checked %d REST/metrics answers, %d KiB of logs and %d other errors for %d secrets: %d leaks",
		len(h.exchange), len(logText)/1024, len(h.errors), len(allSecrets), leaks)
}

// withoutValue is a validation result without the value of property
// name.
func withoutValue(t *testing.T, body, name string) string {
	var ci herder.ConfigInfos
	if err := json.Unmarshal([]byte(body), &ci); err != nil {
		return body
	}
	for _, c := range ci.Configs {
		if c.Value != nil && c.Value.Name == name {
			c.Value.Value = nil
		}
	}
	b, err := json.Marshal(ci)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func configValue(ci herder.ConfigInfos, name string) string {
	for _, c := range ci.Configs {
		if c.Value != nil && c.Value.Name == name && c.Value.Value != nil {
			return *c.Value.Value
		}
	}
	return "<absent>"
}
