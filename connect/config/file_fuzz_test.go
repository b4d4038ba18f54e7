package config

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse parses arbitrary connector and worker files (YAML, and JSON
// as YAML) with ${env:...} and ${file:...} references. Beyond "no panic":
// a file that loads, written back as YAML, loads to the same worker
// properties and connectors.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secrets.properties"), []byte("password=s3cret\n# comment\nuser : alice\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	f.Setenv("TRIBUTARY_FUZZ_HOST", "db.example.com")
	for _, name := range []string{"postgres-inventory.yaml", "mariadb-inventory.yaml"} {
		if data, err := os.ReadFile(filepath.Join("..", "..", "testdata", name)); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{
		"name: inventory\nconfig:\n  connector.class: io.debezium.connector.postgresql.PostgresConnector\n  database.hostname: ${env:TRIBUTARY_FUZZ_HOST}\n  database.password: ${file:secrets.properties:password}\n  table.include.list: [public.a, public.b]\n  snapshot:\n    mode: initial\n  database.port: 5432\n  tombstones.on.delete: false\n",
		`{"name": "json-connector", "config": {"connector.class": "io.debezium.connector.mysql.MySqlConnector", "database.server.id": 184054, "heartbeat.interval.ms": 1e4}}`,
		"worker:\n  bootstrap.servers: localhost:9092\n  offset.flush.interval.ms: 1000\nconnectors:\n  - name: a\n    config: {x: 1}\n  - config: {name: b, y: \"\"}\n",
		"connectors:\n  - name: a\n  - name: a\n",
		"config:\n  a.b: 1\n  a:\n    b: 2\n",
		"name: x\nconfig:\n  v: ${env:TRIBUTARY_FUZZ_UNSET}\n",
		"name: x\nconfig:\n  v: 2024-01-01\n  w: !!binary aGVsbG8=\n",
		"name: &a x\nconfig: {k: *a}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, dir)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		for _, c := range file.Connectors {
			if c.Name == "" {
				t.Fatal("connector without a name")
			}
			if _, ok := c.Config["name"]; ok {
				t.Fatalf("connector %q keeps name among its properties", c.Name)
			}
		}
		if hasReference(file) {
			// A resolved value may spell a reference again (an empty
			// variable between "${" and "env:X}"), and the file format
			// has no escape for a literal "${": it would resolve again.
			return
		}
		out, err := yaml.Marshal(renderFile(file))
		if err != nil {
			t.Fatal(err)
		}
		back, err := Parse(out, dir)
		if err != nil {
			t.Fatalf("cannot load the file written back: %v\n%s", err, out)
		}
		if !sameFile(file, back) {
			t.Fatalf("file changed in the round trip:\n%+v\n%+v\nwritten as\n%s", file, back, out)
		}
	})
}

func hasReference(f *File) bool {
	check := func(m map[string]string) bool {
		for k, v := range m {
			if strings.Contains(k, "${") || strings.Contains(v, "${") {
				return true
			}
		}
		return false
	}
	if check(f.Worker) {
		return true
	}
	for _, c := range f.Connectors {
		if check(c.Config) || strings.Contains(c.Name, "${") {
			return true
		}
	}
	return false
}

// renderFile is the YAML document of f: worker properties and a list of
// connectors, every value a string.
func renderFile(f *File) map[string]any {
	doc := map[string]any{}
	if len(f.Worker) > 0 {
		doc["worker"] = f.Worker
	}
	var cs []map[string]any
	for _, c := range f.Connectors {
		cs = append(cs, map[string]any{"name": c.Name, "config": c.Config})
	}
	if cs != nil {
		doc["connectors"] = cs
	}
	return doc
}

func sameFile(a, b *File) bool {
	norm := func(m map[string]string) map[string]string {
		if m == nil {
			return map[string]string{}
		}
		return m
	}
	if !reflect.DeepEqual(norm(a.Worker), norm(b.Worker)) || len(a.Connectors) != len(b.Connectors) {
		return false
	}
	for i := range a.Connectors {
		if a.Connectors[i].Name != b.Connectors[i].Name || !reflect.DeepEqual(norm(a.Connectors[i].Config), norm(b.Connectors[i].Config)) {
			return false
		}
	}
	return true
}

// FuzzReadProperties reads arbitrary text as a properties file, as
// ${file:path:key} references and Kafka Connect .properties files do.
// Keys come out trimmed, and the properties written back as key=value
// lines, escaped as java.util.Properties.store escapes them, read back the
// same.
func FuzzReadProperties(f *testing.F) {
	dir := f.TempDir()
	for _, s := range []string{
		"password=s3cret\nuser : alice\n# comment\n! other comment\n\nflag\n",
		"a=b=c\n  spaced key  =  spaced value  \r\nurl: jdbc:postgresql://h:5432/db\n",
		"=empty key\nk=\n",
		"dup=1\ndup=2\n",
		"continued=one \\\n  two\n",
		"esc\\=aped\\ key = tab\\there \\u00e9\\uD83D\\uDE00 back\\\\slash\n",
		"odd\\\\\\\n  joined\neven\\\\\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "fuzz.properties")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		props, err := readProperties(path)
		if err != nil {
			return // a line longer than the scanner takes
		}
		keys := make([]string, 0, len(props))
		for k, v := range props {
			if k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
				t.Fatalf("untrimmed property %q=%q", k, v)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(escapeProperty(k, true) + "=" + escapeProperty(props[k], false) + "\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := readProperties(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(props, back) {
			t.Fatalf("properties changed when written back:\n%q\n%q\nwritten as %q", props, back, b.String())
		}
	})
}

// escapeProperty writes s as java.util.Properties.store does: backslash,
// line breaks and tabs escaped, and in a key the separators and comment
// characters too.
func escapeProperty(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\f':
			b.WriteString(`\f`)
		case key && (r == '=' || r == ':' || r == ' '),
			i == 0 && (r == '#' || r == '!' || r == ' '):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
