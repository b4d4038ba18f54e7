package mysql

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// tlsConfig returns the TLS settings for database.ssl.mode, or nil for
// an unencrypted connection. preferred/trust fall back to plain text when
// the server does not offer TLS, unless a client certificate is configured
// (database.ssl.keystore): then TLS is required.
func (s *settings) tlsConfig() (cfg *tls.Config, preferred bool, err error) {
	cfg, preferred, err = s.serverTLS()
	if err != nil || s.sslKeystore == "" {
		return cfg, preferred, err
	}
	if cfg == nil {
		return nil, false, fmt.Errorf("database.ssl.keystore: a client certificate needs an encrypted connection, but database.ssl.mode=%s", s.sslMode)
	}
	pem, err := os.ReadFile(s.sslKeystore)
	if err != nil {
		return nil, false, fmt.Errorf("database.ssl.keystore: %w", err)
	}
	cert, err := tls.X509KeyPair(pem, pem)
	if err != nil {
		return nil, false, fmt.Errorf("database.ssl.keystore %s: %w (give the client certificate and its unencrypted private key in one PEM file; Java keystores are not supported)", s.sslKeystore, err)
	}
	cfg.Certificates = []tls.Certificate{cert}
	return cfg, false, nil
}

// serverTLS is tlsConfig without the client certificate.
func (s *settings) serverTLS() (cfg *tls.Config, preferred bool, err error) {
	mode := s.sslMode
	switch mode {
	case "", "disabled", "disable":
		return nil, false, nil
	case "preferred", "trust":
		return &tls.Config{InsecureSkipVerify: true, ServerName: s.host}, true, nil
	case "required":
		return &tls.Config{InsecureSkipVerify: true, ServerName: s.host}, false, nil
	case "verify_ca", "verify-ca", "verify_identity", "verify-full":
		cfg = &tls.Config{ServerName: s.host}
		if s.truststore() != "" {
			pem, err := os.ReadFile(s.truststore())
			if err != nil {
				return nil, false, fmt.Errorf("database.ssl.truststore: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, false, fmt.Errorf("database.ssl.truststore %s: no PEM certificates found (Java keystores are not supported; convert to PEM)", s.truststore())
			}
			cfg.RootCAs = pool
		}
		if mode == "verify_ca" || mode == "verify-ca" {
			// verify the chain but not the host name
			cfg.InsecureSkipVerify = true
			roots := cfg.RootCAs
			cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
				certs := make([]*x509.Certificate, len(raw))
				for i, r := range raw {
					c, err := x509.ParseCertificate(r)
					if err != nil {
						return err
					}
					certs[i] = c
				}
				if len(certs) == 0 {
					return errors.New("server sent no certificate")
				}
				inter := x509.NewCertPool()
				for _, c := range certs[1:] {
					inter.AddCert(c)
				}
				_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
				return err
			}
		}
		return cfg, false, nil
	}
	return nil, false, fmt.Errorf("database.ssl.mode %q is not supported", mode)
}

func (s *settings) truststore() string { return s.sslTruststore }

// openDB opens a database/sql pool on the configured server.
func (s *settings) openDB() (*sql.DB, error) {
	c := gomysql.NewConfig()
	c.User = s.user
	c.Passwd = s.password
	c.Net = "tcp"
	c.Addr = fmt.Sprintf("%s:%d", s.host, s.port)
	c.Timeout = s.connectTimeout
	c.ParseTime = false
	c.AllowNativePasswords = true
	c.Collation = "utf8mb4_general_ci"
	tc, preferred, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	if tc != nil {
		name := fmt.Sprintf("tributary-%p", s)
		if err := gomysql.RegisterTLSConfig(name, tc); err != nil {
			return nil, fmt.Errorf("database.ssl.mode: %w", err)
		}
		c.TLSConfig = name
		if preferred {
			c.TLSConfig = "preferred"
			if tc.RootCAs != nil {
				c.TLSConfig = name
			}
		}
	}
	conn, err := gomysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("database connection settings: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// bounded limits ctx to connect.timeout.ms, for the short queries that
// connect and check the server: database/sql opens the connection under
// the query's context, and go-sql-driver's handshake honours it, so a
// server that accepts TCP connections but never answers cannot hold the
// task. Without a timeout (connect.timeout.ms <= 0) ctx is unchanged.
func (s *settings) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.connectTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.connectTimeout)
}

// timedOut explains a deadline of bounded: the server took longer than
// connect.timeout.ms to answer (while ctx, the task's, is still live).
func (s *settings) timedOut(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s:%d did not answer within connect.timeout.ms (%s)", err, s.host, s.port, s.connectTimeout)
	}
	return err
}

// serverInfo is what the connector learns about the server at start.
type serverInfo struct {
	version  string
	mariadb  bool
	gtidMode bool
	// notices are settings that do not stop capture but leave a
	// configured feature without effect; validate reports them as
	// problems, a task logs them.
	notices []string
}

// checkServer verifies the settings Debezium requires for binlog capture
// and returns an error naming the variable or privilege and the fix.
func checkServer(ctx context.Context, db *sql.DB, s *settings, locking bool) (*serverInfo, error) {
	vars := map[string]string{}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version','log_bin','binlog_format','binlog_row_image','gtid_mode','gtid_strict_mode','binlog_row_metadata','binlog_annotate_row_events','binlog_rows_query_log_events')")
	if err != nil {
		return nil, fmt.Errorf("connect to %s:%d as %q: %w", s.host, s.port, s.user, err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			rows.Close()
			return nil, err
		}
		vars[strings.ToLower(k)] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	info := &serverInfo{version: vars["version"], mariadb: strings.Contains(strings.ToLower(vars["version"]), "mariadb")}
	var problems []string
	if !strings.EqualFold(vars["log_bin"], "ON") {
		problems = append(problems, "the binary log is disabled (log_bin=OFF): start the server with --log-bin (and --server-id)")
	}
	if f := vars["binlog_format"]; !strings.EqualFold(f, "ROW") {
		problems = append(problems, fmt.Sprintf("binlog_format=%s but the connector needs ROW: SET GLOBAL binlog_format='ROW' (and in the server configuration)", f))
	}
	if img := vars["binlog_row_image"]; img != "" && !strings.EqualFold(img, "FULL") {
		problems = append(problems, fmt.Sprintf("binlog_row_image=%s but the connector needs FULL: SET GLOBAL binlog_row_image='FULL' (and in the server configuration)", img))
	}
	if info.mariadb {
		info.gtidMode = true
	} else {
		info.gtidMode = strings.EqualFold(vars["gtid_mode"], "ON")
	}
	if s.readOnly && !info.gtidMode {
		// read.only takes incremental snapshot watermarks from GTID sets
		info.notices = append(info.notices, "read.only=true but gtid_mode is not ON: incremental snapshots need GTIDs for their watermarks without writes to the signal table; SET GLOBAL gtid_mode=ON (and enforce_gtid_consistency=ON)")
	}
	if s.includeQuery {
		// include.query needs the server to write each row event's SQL
		// into the binlog (ANNOTATE_ROWS on MariaDB, ROWS_QUERY on MySQL)
		v := "binlog_rows_query_log_events"
		if info.mariadb {
			v = "binlog_annotate_row_events"
		}
		if val, ok := vars[v]; !ok || !strings.EqualFold(val, "ON") {
			if !ok {
				val = "unknown"
			}
			info.notices = append(info.notices, fmt.Sprintf("include.query=true but %s=%s: the server does not write the SQL of row changes into the binlog, so source.query stays null; SET GLOBAL %s=ON (and in the server configuration)", v, val, v))
		}
	}
	if err := checkPrivileges(ctx, db, s, locking, &problems); err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return info, fmt.Errorf("server %s:%d is not ready for change data capture:\n  - %s", s.host, s.port, strings.Join(problems, "\n  - "))
	}
	return info, nil
}

// checkPrivileges reads SHOW GRANTS for the connector's user.
func checkPrivileges(ctx context.Context, db *sql.DB, s *settings, locking bool, problems *[]string) error {
	rows, err := db.QueryContext(ctx, "SHOW GRANTS FOR CURRENT_USER()")
	if err != nil {
		return fmt.Errorf("read privileges of %q (SHOW GRANTS): %w", s.user, err)
	}
	defer rows.Close()
	var grants []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return err
		}
		grants = append(grants, strings.ToUpper(g))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	has := func(priv string) bool {
		for _, g := range grants {
			if !strings.HasPrefix(g, "GRANT ") {
				continue
			}
			on := strings.Index(g, " ON ")
			if on < 0 {
				continue
			}
			privs := g[len("GRANT "):on]
			if strings.Contains(privs, "ALL PRIVILEGES") && strings.Contains(g[on:], " ON *.* ") {
				return true
			}
			for _, p := range strings.Split(privs, ",") {
				p = strings.TrimSpace(p)
				if p == priv || (priv == "REPLICATION CLIENT" && p == "BINLOG MONITOR") || (priv == "REPLICATION SLAVE" && p == "REPLICATION REPLICA") {
					if strings.Contains(g[on:], " ON *.* ") || priv == "SELECT" {
						return true
					}
				}
			}
		}
		return false
	}
	need := []string{"REPLICATION SLAVE", "REPLICATION CLIENT", "SELECT"}
	if locking {
		need = append(need, "RELOAD")
	}
	var missing []string
	for _, p := range need {
		if !has(p) {
			missing = append(missing, p)
		}
	}
	if locking && !has("RELOAD") && has("LOCK TABLES") {
		// table-level locks are the fallback when FLUSH TABLES WITH READ
		// LOCK is not allowed
		missing = removeName(missing, "RELOAD")
	}
	if len(missing) > 0 {
		*problems = append(*problems, fmt.Sprintf("user %q lacks the privilege(s) %s: GRANT %s ON *.* TO '%s'@'%%'",
			s.user, strings.Join(missing, ", "), strings.Join(missing, ", "), s.user))
	}
	return nil
}

// binlogStatus reads the current binlog file and position
// (SHOW MASTER STATUS / SHOW BINARY LOG STATUS) and the executed GTID set.
func binlogStatus(ctx context.Context, q querier, mariadb bool) (file string, pos int64, gtids string, err error) {
	rows, err := q.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		rows, err = q.QueryContext(ctx, "SHOW BINARY LOG STATUS")
		if err != nil {
			return "", 0, "", fmt.Errorf("read binlog position: %w", err)
		}
	}
	cols, _ := rows.Columns()
	if !rows.Next() {
		rows.Close()
		return "", 0, "", errors.New("cannot read the binlog filename and position via SHOW MASTER STATUS; make sure the server has the binary log enabled (log_bin) and the user has REPLICATION CLIENT")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		rows.Close()
		return "", 0, "", err
	}
	rows.Close()
	file = vals[0].String
	fmt.Sscan(vals[1].String, &pos)
	if mariadb {
		var name string
		if err := q.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE 'GTID_BINLOG_POS'").Scan(&name, &gtids); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", 0, "", fmt.Errorf("read gtid_binlog_pos: %w", err)
		}
	} else if len(vals) > 4 {
		gtids = vals[4].String
	}
	return file, pos, gtids, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
