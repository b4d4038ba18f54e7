package testdb

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgQuery returns the single text value of a query.
func pgQuery(t *testing.T, p *Postgres, dbname, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.DSN(dbname))
	if err != nil {
		t.Fatalf("connect to %s: %v", p.DSN(dbname), err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// myQuery returns the single text value of a query.
func myQuery(t *testing.T, m *MariaDB, dbname, query string) string {
	t.Helper()
	db, err := sql.Open("mysql", m.DSN(dbname))
	if err != nil {
		t.Fatalf("open %s: %v", m.DSN(dbname), err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(query).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// portOpen reports whether something accepts TCP connections on port.
func portOpen(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	began := time.Now()
	p := StartPostgres(t)
	t.Logf("StartPostgres took %s", time.Since(began).Round(time.Millisecond))

	wantDSN := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/app?sslmode=disable", p.Port)
	if got := p.DSN("app"); got != wantDSN {
		t.Errorf("DSN = %q, want %q", got, wantDSN)
	}
	for setting, want := range map[string]string{
		"wal_level":             "logical",
		"max_replication_slots": "20",
		"max_wal_senders":       "20",
		"fsync":                 "off",
		"server_encoding":       "UTF8",
		"listen_addresses":      "127.0.0.1",
	} {
		if got := pgQuery(t, p, "postgres", "SHOW "+setting); got != want {
			t.Errorf("%s = %q, want %q", setting, got, want)
		}
	}
	if v := pgQuery(t, p, "postgres", "SHOW server_version"); !strings.HasPrefix(v, "15.") {
		t.Errorf("server_version = %q, want 15.x", v)
	}

	p.CreateDatabase(t, "app")
	p.Exec(t, "app",
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t VALUES (1, 'one'); INSERT INTO t VALUES (2, 'two')",
		"SELECT pg_create_logical_replication_slot('s1', 'pgoutput')",
	)

	port := p.Port
	began = time.Now()
	p.Stop(t)
	t.Logf("Stop took %s", time.Since(began).Round(time.Millisecond))
	if portOpen(port) {
		t.Errorf("port %d still accepts connections after Stop", port)
	}
	began = time.Now()
	p.Start(t)
	t.Logf("Start took %s", time.Since(began).Round(time.Millisecond))
	if p.Port != port {
		t.Errorf("port changed across Stop/Start: %d, then %d", port, p.Port)
	}
	if got := pgQuery(t, p, "app", "SELECT string_agg(v, ',' ORDER BY id) FROM t"); got != "one,two" {
		t.Errorf("rows after restart = %q, want one,two", got)
	}
	if got := pgQuery(t, p, "app", "SELECT slot_name FROM pg_replication_slots"); got != "s1" {
		t.Errorf("slot after restart = %q, want s1", got)
	}

	p.Crash(t)
	p.Start(t)
	if got := pgQuery(t, p, "app", "SELECT count(*)::text FROM t"); got != "2" {
		t.Errorf("rows after crash and restart = %s, want 2", got)
	}
}

func TestPostgresExecError(t *testing.T) {
	t.Parallel()
	p := StartPostgres(t)
	err := p.ExecContext(context.Background(), "postgres", "SELECT 1", "SELECT * FROM missing_table")
	if err == nil || !strings.Contains(err.Error(), "missing_table") {
		t.Fatalf("ExecContext error = %v, want one naming missing_table", err)
	}
}

func TestMariaDB(t *testing.T) {
	t.Parallel()
	began := time.Now()
	m := StartMariaDB(t)
	t.Logf("StartMariaDB took %s", time.Since(began).Round(time.Millisecond))

	wantDSN := fmt.Sprintf("root@tcp(127.0.0.1:%d)/test?parseTime=false&multiStatements=true", m.Port)
	if got := m.DSN("test"); got != wantDSN {
		t.Errorf("DSN = %q, want %q", got, wantDSN)
	}
	for variable, want := range map[string]string{
		"@@log_bin":            "1",
		"@@binlog_format":      "ROW",
		"@@binlog_row_image":   "FULL",
		"@@server_id":          "1",
		"@@bind_address":       "127.0.0.1",
		"DATABASE()":           "test",
		"LEFT(@@version, 6)":   "10.11.",
		"CURRENT_USER() <> ''": "1",
	} {
		if got := myQuery(t, m, "test", "SELECT "+variable); got != want {
			t.Errorf("%s = %q, want %q", variable, got, want)
		}
	}

	if got, want := myQuery(t, m, "", "SELECT @@tmpdir"), m.Dir+"/tmp"; got != want {
		t.Errorf("tmpdir = %q, want the private %q", got, want)
	}

	m.Exec(t, "test",
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t VALUES (1, 'one'); INSERT INTO t VALUES (2, 'two')",
	)
	if got := myQuery(t, m, "test", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'test'"); got != "1" {
		t.Errorf("tables in test = %s, want 1", got)
	}

	port := m.Port
	began = time.Now()
	m.Stop(t)
	t.Logf("Stop took %s", time.Since(began).Round(time.Millisecond))
	if portOpen(port) {
		t.Errorf("port %d still accepts connections after Stop", port)
	}
	began = time.Now()
	m.Start(t)
	t.Logf("Start took %s", time.Since(began).Round(time.Millisecond))
	if got := myQuery(t, m, "test", "SELECT GROUP_CONCAT(v ORDER BY id) FROM t"); got != "one,two" {
		t.Errorf("rows after restart = %q, want one,two", got)
	}
	// Both runs wrote binary logs; a connector resuming after a restart
	// needs the earlier one to still be there.
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatalf("SHOW BINARY LOGS: %v", err)
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Close(); err != nil {
		t.Fatalf("SHOW BINARY LOGS: %v", err)
	}
	if n < 2 {
		t.Errorf("binary logs after restart = %d, want at least 2", n)
	}

	m.Crash(t)
	m.Start(t)
	if got := myQuery(t, m, "test", "SELECT COUNT(*) FROM t"); got != "2" {
		t.Errorf("rows after crash and restart = %s, want 2", got)
	}
}

// TestParallelInstances starts two servers of each kind at once and checks
// that they do not share anything.
func TestParallelInstances(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		ports = map[int]string{}
		dirs  = map[string]string{}
	)
	record := func(t *testing.T, port int, dir string) {
		mu.Lock()
		defer mu.Unlock()
		if other, ok := ports[port]; ok {
			t.Errorf("port %d used by both %s and %s", port, other, t.Name())
		}
		if other, ok := dirs[dir]; ok {
			t.Errorf("directory %s used by both %s and %s", dir, other, t.Name())
		}
		ports[port], dirs[dir] = t.Name(), t.Name()
	}
	for i := range 2 {
		t.Run(fmt.Sprintf("postgres%d", i), func(t *testing.T) {
			t.Parallel()
			p := StartPostgres(t)
			record(t, p.Port, p.Dir)
			p.Exec(t, "postgres", "CREATE TABLE mine (name text)", "INSERT INTO mine VALUES ('"+t.Name()+"')")
			time.Sleep(200 * time.Millisecond) // overlap with the sibling
			if got := pgQuery(t, p, "postgres", "SELECT string_agg(name, ',') FROM mine"); got != t.Name() {
				t.Errorf("table holds %q, want only %q", got, t.Name())
			}
		})
		t.Run(fmt.Sprintf("mariadb%d", i), func(t *testing.T) {
			t.Parallel()
			m := StartMariaDB(t)
			record(t, m.Port, m.Dir)
			m.Exec(t, "test", "CREATE TABLE mine (name text)", "INSERT INTO mine VALUES ('"+t.Name()+"')")
			time.Sleep(200 * time.Millisecond)
			if got := myQuery(t, m, "test", "SELECT GROUP_CONCAT(name) FROM mine"); got != t.Name() {
				t.Errorf("table holds %q, want only %q", got, t.Name())
			}
		})
	}
}

// TestCloseCleansUp checks that Close stops the servers and removes their
// directories.
func TestCloseCleansUp(t *testing.T) {
	skipIfRequested(t)
	t.Parallel()
	ctx := context.Background()
	p, err := NewPostgres(ctx, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMariaDB(ctx, "", nil)
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		port  int
		dir   string
		close func() error
	}{
		{"PostgreSQL", p.Port, p.Dir, p.Close},
		{"MariaDB", m.Port, m.Dir, m.Close},
	} {
		if err := c.close(); err != nil {
			t.Errorf("%s Close: %v", c.name, err)
		}
		if err := c.close(); err != nil {
			t.Errorf("%s second Close: %v", c.name, err)
		}
		if portOpen(c.port) {
			t.Errorf("%s port %d still open after Close", c.name, c.port)
		}
		if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s directory %s still there after Close (stat: %v)", c.name, c.dir, err)
		}
	}
}

// TestKeptDirectory checks that a caller-chosen directory survives Close and
// is reused by the next start.
func TestKeptDirectory(t *testing.T) {
	skipIfRequested(t)
	t.Parallel()
	ctx := context.Background()
	base, err := os.MkdirTemp("", "tributary-testdb-kept-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	// The postgres user must be able to reach the directory.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}

	t.Run("postgres", func(t *testing.T) {
		dir := base + "/pg"
		p, err := NewPostgres(ctx, dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		p.Exec(t, "postgres", "CREATE TABLE kept (x int)", "INSERT INTO kept VALUES (42)")
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		p, err = NewPostgres(ctx, dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if got := pgQuery(t, p, "postgres", "SELECT x::text FROM kept"); got != "42" {
			t.Errorf("kept row = %s, want 42", got)
		}
	})
	t.Run("mariadb", func(t *testing.T) {
		dir := base + "/mariadb"
		m, err := NewMariaDB(ctx, dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		m.Exec(t, "test", "CREATE TABLE kept (x int)", "INSERT INTO kept VALUES (42)")
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		m, err = NewMariaDB(ctx, dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if got := myQuery(t, m, "test", "SELECT x FROM kept"); got != "42" {
			t.Errorf("kept row = %s, want 42", got)
		}
	})
}

// helperEnv makes the test binary act as a process that starts servers,
// prints where they are and waits to be killed; see TestWatchdog.
const helperEnv = "TRIBUTARY_TESTDB_HELPER"

func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("only runs as TestWatchdog's child")
	}
	ctx := context.Background()
	p, err := NewPostgres(ctx, "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Println("error starting PostgreSQL (see stderr)")
		os.Exit(1)
	}
	m, err := NewMariaDB(ctx, "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		fmt.Println("error starting MariaDB (see stderr)")
		p.Close()
		os.Exit(1)
	}
	fmt.Println("postgres", p.Port, p.Dir)
	fmt.Println("mariadb", m.Port, m.Dir)
	fmt.Println("ready")
	time.Sleep(time.Minute) // until TestWatchdog kills us
	os.Exit(1)
}

// TestWatchdog kills a process that started servers with SIGKILL and checks
// that the servers go away and their directories are removed.
func TestWatchdog(t *testing.T) {
	t.Parallel()
	skipIfRequested(t)
	began := time.Now()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type server struct {
		port int
		dir  string
	}
	var servers []server
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "ready" {
			break
		}
		if len(f) == 3 && (f[0] == "postgres" || f[0] == "mariadb") {
			port, _ := strconv.Atoi(f[1])
			servers = append(servers, server{port, f[2]})
			continue
		}
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", sc.Text())
	}
	if len(servers) != 2 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper reported %d servers, want 2", len(servers))
	}
	for _, s := range servers {
		if !portOpen(s.port) {
			t.Errorf("port %d not open while the helper runs", s.port)
		}
	}
	t.Logf("helper started its servers in %s", time.Since(began).Round(time.Millisecond))
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()

	deadline := time.Now().Add(20 * time.Second)
	for _, s := range servers {
		for portOpen(s.port) || dirExists(s.dir) {
			if time.Now().After(deadline) {
				t.Fatalf("server on port %d (dir %s) still there 20s after its owner was killed (port open: %v, dir exists: %v)",
					s.port, s.dir, portOpen(s.port), dirExists(s.dir))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("servers gone %s after the helper was killed", time.Since(killed).Round(time.Millisecond))
}

func dirExists(dir string) bool {
	_, err := os.Stat(dir)
	return err == nil
}

func TestMissingBinaryNamesPackage(t *testing.T) {
	err := requireBinary("/nonexistent/initdb", "postgresql-15")
	if !errors.Is(err, ErrMissingBinary) || !strings.Contains(err.Error(), "postgresql-15") || !strings.Contains(err.Error(), "/nonexistent/initdb") {
		t.Errorf("requireBinary error = %v, want ErrMissingBinary naming the path and package", err)
	}
	_, err = findBinary("tributary-no-such-binary", "mariadb-server")
	if !errors.Is(err, ErrMissingBinary) || !strings.Contains(err.Error(), "mariadb-server") {
		t.Errorf("findBinary error = %v, want ErrMissingBinary naming the package", err)
	}
}

// TestPostgresUnreachableDir checks the error for a caller's directory the
// postgres user cannot reach (only possible to provoke as root).
func TestPostgresUnreachableDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the server runs as the postgres user only when the tests run as root")
	}
	skipIfRequested(t)
	t.Parallel()
	base, err := os.MkdirTemp("", "tributary-testdb-private-*") // 0700, root's
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	p, err := NewPostgres(context.Background(), base+"/pg", nil)
	if err == nil {
		p.Close()
		t.Fatal("NewPostgres in a root-only directory succeeded")
	}
	if !strings.Contains(err.Error(), "cannot write to") {
		t.Errorf("error = %v, want one explaining the postgres user cannot write there", err)
	}
}

// TestRestartOnTakenPort checks that a start failing because the port is
// taken is recognised as such (NewPostgres and NewMariaDB retry on another
// port then) and that the server starts once the port is free again.
func TestRestartOnTakenPort(t *testing.T) {
	t.Parallel()
	type server interface {
		StopServer(context.Context) error
		StartServer(context.Context) error
	}
	p := StartPostgres(t)
	m := StartMariaDB(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		port int
		s    server
	}{
		{"PostgreSQL", p.Port, p},
		{"MariaDB", m.Port, m},
	} {
		if err := c.s.StopServer(ctx); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(c.port))
		if err != nil {
			t.Fatalf("%s: take port %d: %v", c.name, c.port, err)
		}
		began := time.Now()
		err = c.s.StartServer(ctx)
		l.Close()
		t.Logf("%s: start on a taken port failed after %s", c.name, time.Since(began).Round(time.Millisecond))
		if !errors.Is(err, errPortInUse) {
			t.Errorf("%s: start on a taken port: error = %v, want errPortInUse", c.name, err)
		}
		if err := c.s.StartServer(ctx); err != nil {
			t.Errorf("%s: start once the port is free: %v", c.name, err)
		}
	}
	p.Exec(t, "postgres", "SELECT 1")
	m.Exec(t, "test", "SELECT 1")
}
