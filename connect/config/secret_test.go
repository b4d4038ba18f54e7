package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const secret = "S3cr3t-T0ken-xyz"

func secretDef() *Def {
	d := NewDef()
	d.Define(Key{Name: "database.password", Type: TypePassword, Validate: func(string) error { return errors.New("too short") }})
	d.Define(Key{Name: "connection.url", Validate: func(string) error { return errors.New("unreachable") }})
	d.Define(Key{Name: "tasks.max", Type: TypeInt})
	d.AllowPrefix("value.converter.")
	return d
}

// Parse errors name the property but never show a secret: PASSWORD
// values, unknown properties (untyped, possibly a misspelled password) and
// passwords inside URLs.
func TestParseErrorsHideSecrets(t *testing.T) {
	cases := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"password fails validation", map[string]string{"database.password": secret}, `database.password="[hidden]": too short`},
		{"misspelled password", map[string]string{"database.passwrd": secret}, `database.passwrd: unknown property (did you mean "database.password"?)`},
		{"URL with a password", map[string]string{"connection.url": "jdbc:mysql://u:" + secret + "@h/db"},
			`connection.url="jdbc:mysql://u:[hidden]@h/db": unreachable`},
		{"URL password parameter", map[string]string{"connection.url": "jdbc:postgresql://h/db?password=" + secret},
			`connection.url="jdbc:postgresql://h/db?password=[hidden]": unreachable`},
		{"not a secret", map[string]string{"tasks.max": "x"}, `tasks.max="x": not a valid INT`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := secretDef().Parse(tc.props)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), secret) {
				t.Fatalf("Parse error %v, want it to contain %q and not the secret", err, tc.want)
			}
		})
	}
	// Connectors build field errors themselves: printing one hides the
	// secret too.
	fe := FieldError{Name: "value.converter.basic.auth.user.info", Value: "u:" + secret, Message: "bad"}
	if got := fe.Error(); got != `value.converter.basic.auth.user.info="[hidden]": bad` {
		t.Fatalf("FieldError.Error() = %q", got)
	}
}

func TestSecretValuesAndRedacted(t *testing.T) {
	d := secretDef()
	props := map[string]string{"database.password": secret, "value.converter.basic.auth.user.info": "u:reg-secret",
		"connection.url": "jdbc:mysql://u:url-secret@h/db", "tasks.max": "1"}
	v, _ := d.Parse(props)
	got := v.Secrets()
	slices.Sort(got)
	if want := []string{secret, "u:reg-secret", "url-secret"}; !slices.Equal(got, want) {
		t.Fatalf("Secrets() = %q, want %q", got, want)
	}
	if s := v.Scrubber().String("login u:reg-secret failed with " + secret); s != "login [hidden] failed with [hidden]" {
		t.Fatalf("Scrubber: %q", s)
	}
	r := Redacted(d, props)
	if r["database.password"] != "[hidden]" || r["value.converter.basic.auth.user.info"] != "[hidden]" ||
		r["connection.url"] != "jdbc:mysql://u:[hidden]@h/db" || r["tasks.max"] != "1" {
		t.Fatalf("Redacted = %v", r)
	}
}

// A configuration file keeps config provider references for the worker to
// store (Kafka Connect returns them unresolved), with relative file paths
// made absolute, and resolves them for running.
func TestFileKeepsRawReferences(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secrets.properties"), []byte("pw="+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIBUTARY_CONFIG_TEST_USER_INFO", "u:reg-secret")
	path := filepath.Join(dir, "c.yaml")
	yaml := `name: c
config:
  database.password: ${file:secrets.properties:pw}
  value.converter.basic.auth.user.info: ${env:TRIBUTARY_CONFIG_TEST_USER_INFO}
  database.user: bob
worker:
  sasl.password: ${env:TRIBUTARY_CONFIG_TEST_USER_INFO}
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Connectors[0]
	for _, tc := range []struct{ name, resolved, raw string }{
		{"database.password", secret, "${file:" + filepath.Join(dir, "secrets.properties") + ":pw}"},
		{"value.converter.basic.auth.user.info", "u:reg-secret", "${env:TRIBUTARY_CONFIG_TEST_USER_INFO}"},
		{"database.user", "bob", "bob"},
	} {
		if c.Config[tc.name] != tc.resolved || c.Raw[tc.name] != tc.raw {
			t.Errorf("%s: resolved %q raw %q, want %q and %q", tc.name, c.Config[tc.name], c.Raw[tc.name], tc.resolved, tc.raw)
		}
	}
	if _, ok := c.Raw["name"]; ok {
		t.Error("Raw holds the name")
	}
	if f.Worker["sasl.password"] != "u:reg-secret" {
		t.Errorf("worker properties are resolved: %v", f.Worker)
	}
	// A broken reference still fails at load, naming the property.
	if err := os.WriteFile(path, []byte("name: c\nconfig:\n  database.password: ${file:missing.properties:pw}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "config.database.password") {
		t.Fatalf("LoadFile with a broken reference: %v", err)
	}
}
