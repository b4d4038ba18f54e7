package redact

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
)

func TestName(t *testing.T) {
	cases := map[string]bool{
		"database.password":                                 true,
		"connection.password":                               true,
		"database.sslpassword":                              true,
		"database.ssl.keystore.password":                    true,
		"producer.ssl.key.password":                         true,
		"value.converter.basic.auth.user.info":              true,
		"schema.registry.basic.auth.user.info":              true,
		"key.converter.bearer.auth.token":                   true,
		"producer.override.sasl.jaas.config":                true,
		"listeners.https.ssl.keystore.key":                  true,
		"sasl.oauthbearer.client.credentials.client.secret": true,
		"query.masked":                                      true,
		"DATABASE.PASSWORD":                                 true,
		"database.user":                                     false,
		"database.hostname":                                 false,
		"connection.url":                                    false,
		"basic.auth.credentials.source":                     false,
		"ssl.keystore.location":                             false,
		"query":                                             false,
	}
	for name, want := range cases {
		if got := Name(name); got != want {
			t.Errorf("Name(%q) = %t, want %t", name, got, want)
		}
	}
}

func TestURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://bob:S3cr3t@db:5432/inv?sslmode=disable", "postgres://bob:[hidden]@db:5432/inv?sslmode=disable"},
		{"jdbc:mysql://bob:S3cr3t@db:3306/inv", "jdbc:mysql://bob:[hidden]@db:3306/inv"},
		{"jdbc:postgresql://db/inv?user=bob&password=S3cr3t&ssl=true", "jdbc:postgresql://db/inv?user=bob&password=[hidden]&ssl=true"},
		{"jdbc:sqlserver://db;user=bob;password=S3cr3t;encrypt=true", "jdbc:sqlserver://db;user=bob;password=[hidden];encrypt=true"},
		{"host=db user=bob password='S3 cr3t' dbname=inv", "host=db user=bob password=[hidden] dbname=inv"},
		{"host=db password=S3cr3t dbname=inv", "host=db password=[hidden] dbname=inv"},
		{"cannot parse `http://u:p%40ss@h:8081`: bad", "cannot parse `http://u:[hidden]@h:8081`: bad"},
		{"sslpassword=S3cr3t trustStorePassword=S3cr3t", "sslpassword=[hidden] trustStorePassword=[hidden]"},
		{"{user=bob, password=a]b}c, db=x}", "{user=bob, password=[hidden], db=x}"},
		{`unsupported JDBC URL "jdbc:oracle:thin:scott/tiger@db:1521:orcl"`, `unsupported JDBC URL "jdbc:oracle:thin:scott/[hidden]@db:1521:orcl"`},
		// Nothing to hide: left exactly as it was.
		{"postgres://bob@db:5432/inv", "postgres://bob@db:5432/inv"},
		{"dial tcp 127.0.0.1:5432: connect: connection refused", "dial tcp 127.0.0.1:5432: connect: connection refused"},
		{"database.password: missing required property", "database.password: missing required property"},
	}
	for _, tc := range cases {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
		// Messages are often hidden twice (a field error's value, then
		// the error that quotes it): the second pass changes nothing.
		if again := URL(tc.want); again != tc.want {
			t.Errorf("URL is not idempotent: URL(%q) = %q", tc.want, again)
		}
	}
}

func TestCredentials(t *testing.T) {
	got := Credentials("jdbc:mysql://bob:one1@db/x and jdbc:postgresql://db/x?password=two2&ssl=1 host=db password='three 3' jdbc:oracle:thin:u/four4@h")
	want := []string{"one1", "four4", "two2", "three 3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Credentials = %q, want %q", got, want)
	}
}

func TestSecretsScrubErrorsAndLogs(t *testing.T) {
	const secret = "p@ss w/rd"
	s := New(secret, "ab") // too short to scrub
	inner := fmt.Errorf("connect: %w", fs.ErrPermission)
	for _, tc := range []struct{ in, want string }{
		{"auth failed for p@ss w/rd", "auth failed for [hidden]"},
		{"dsn postgres://u:p%40ss%20w%2Frd@h/db", "dsn postgres://u:[hidden]@h/db"},
		{"query p%40ss+w%2Frd", "query [hidden]"},
		{"tab and ab stay", "tab and ab stay"},
	} {
		if got := s.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	err := s.Error(fmt.Errorf("login with %s: %w", secret, inner))
	if strings.Contains(err.Error(), secret) || !errors.Is(err, fs.ErrPermission) || !Is(err) {
		t.Fatalf("Error = %q (Is ErrPermission %t)", err, errors.Is(err, fs.ErrPermission))
	}
	if s.Error(nil) != nil || s.Error(inner) != inner {
		t.Fatal("Error must return nil and clean errors unchanged")
	}
	var nilSecrets *Secrets
	if got := nilSecrets.String("postgres://u:x@h"); got != "postgres://u:[hidden]@h" {
		t.Fatalf("nil Secrets: %q", got)
	}

	var buf bytes.Buffer
	log := s.Logger(slog.New(slog.NewTextHandler(&buf, nil)))
	log = log.With("dsn", "postgres://u:"+secret+"@h/db").WithGroup("g")
	log.Info("connecting with "+secret, "error", errors.New("bad "+secret), "any", map[string]string{"k": secret},
		slog.Group("sub", "pw", secret), "n", 3)
	out := buf.String()
	if strings.Contains(out, "p@ss") || strings.Count(out, Hidden) != 5 || !strings.Contains(out, "g.n=3") {
		t.Fatalf("log line not scrubbed: %s", out)
	}
}
