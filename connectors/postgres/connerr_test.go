package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// A wrong password with sslmode=prefer against a server without TLS: pgx
// tries TLS, then plain, and reports both. The message must start with
// the server's answer, not with the refused TLS attempt, and the PgError
// must stay reachable (its SQLSTATE decides retriability).
func TestConnectErrorRealCauseFirst(t *testing.T) {
	e := newEnv(t)
	e.exec(t, `CREATE ROLE pwuser LOGIN REPLICATION PASSWORD 'right-one'`)
	hba := filepath.Join(e.pg.DataDir(), "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	rules := "host all pwuser 127.0.0.1/32 scram-sha-256\nhost replication pwuser 127.0.0.1/32 scram-sha-256\n"
	if err := os.WriteFile(hba, append([]byte(rules), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	e.pg.Exec(t, "postgres", "SELECT pg_reload_conf()")

	p := Plugin()
	for _, tc := range []struct {
		name, sslmode string
		tried         bool // a TLS attempt is reported after the cause
	}{
		{"prefer", "prefer", true},
		{"disable", "disable", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, err := p.Config().Parse(e.props("database.user", "pwuser", "database.password", "wrong-one", "database.sslmode", tc.sslmode))
			if err != nil {
				t.Fatal(err)
			}
			err = p.Validate(context.Background(), vals)
			if err == nil {
				t.Fatal("validate accepted a wrong password")
			}
			msg := err.Error()
			auth := strings.Index(msg, "password authentication failed")
			tls := strings.Index(msg, "tls error")
			if auth < 0 {
				t.Fatalf("the cause is missing: %s", msg)
			}
			if tc.tried && (tls < 0 || tls < auth) {
				t.Fatalf("want the authentication failure first, then the TLS attempt: %s", msg)
			}
			if !tc.tried && tls >= 0 {
				t.Fatalf("no TLS attempt with sslmode=disable: %s", msg)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("one line expected: %q", msg)
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "28P01" {
				t.Errorf("PgError 28P01 not reachable through %T: %v", err, pe)
			}
		})
	}
}

func TestExplainConnectKeepsSingleAttempts(t *testing.T) {
	plain := fmt.Errorf("dial: %w", errors.New("connection refused"))
	if got := explainConnect(plain); got != plain {
		t.Fatalf("an error that is not a pgconn.ConnectError changed: %v", got)
	}
}
