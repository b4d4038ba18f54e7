package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/schema/registry"
)

var updateSchemaGolden = flag.Bool("update-schema-golden", false, "rewrite testdata/schema-check golden reports")

const schemaGoldenDir = "../testdata/schema-check"

// runCmd executes a tributary subcommand and returns its output and exit code.
func runCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd(Extensions{})
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--log-level", "error"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	code := 0
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		} else {
			code = 1
		}
		out.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), code
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const shopConfig = `name: shop
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: 127.0.0.1
  database.port: "1"
  database.user: postgres
  database.dbname: shop
  topic.prefix: shop
  table.include.list: public.orders
  value.converter: io.confluent.connect.avro.AvroConverter
  value.converter.schema.registry.url: http://127.0.0.1:1
  key.converter: io.confluent.connect.avro.AvroConverter
  key.converter.schema.registry.url: http://127.0.0.1:1
`

// TestSchemaCheckWithDDL exports the schemas of a table built from DDL in a
// throwaway PostgreSQL, then checks a compatible and an incompatible
// migration against the exported files.
func TestSchemaCheckWithDDL(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1")
	}
	root := t.TempDir()
	cfg := filepath.Join(root, "shop.yaml")
	writeFiles(t, root, map[string]string{"shop.yaml": shopConfig})
	v1 := filepath.Join(root, "v1")
	writeFiles(t, v1, map[string]string{"001_orders.sql": `
CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty integer NOT NULL,
  amount numeric(10,2), created_at timestamp DEFAULT now());
CREATE TABLE ignored (id int PRIMARY KEY);`})
	schemas := filepath.Join(root, "schemas")
	out, code := runCmd(t, "schema", "export", "-c", cfg, "--ddl", v1, "--dir", schemas)
	if code != 0 {
		t.Fatalf("export exit %d:\n%s", code, out)
	}
	for _, f := range []string{"shop.public.orders-key.avsc", "shop.public.orders-value.avsc"} {
		b, err := os.ReadFile(filepath.Join(schemas, f))
		if err != nil {
			t.Fatalf("export did not write %s: %v\n%s", f, err, out)
		}
		if f == "shop.public.orders-value.avsc" && !strings.Contains(string(b), `{"name":"amount","type":["null",{"type":"bytes","scale":2,"precision":10,`) {
			t.Errorf("value schema lacks the decimal column:\n%s", b)
		}
	}

	// A nullable column and a column with a default are FULL-compatible.
	v2 := filepath.Join(root, "v2")
	writeFiles(t, v2, map[string]string{"001_orders.sql": `
CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, qty integer NOT NULL,
  amount numeric(10,2), created_at timestamp DEFAULT now(), note text, status text DEFAULT 'new');`})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v2, "--dir", schemas, "--level", "FULL")
	if code != 0 {
		t.Fatalf("compatible migration: exit %d\n%s", code, out)
	}
	golden(t, "cli-compatible.txt", strings.ReplaceAll(out, schemas, "schemas"))

	// Dropping a NOT NULL column and changing integer to text are not.
	v3 := filepath.Join(root, "v3")
	writeFiles(t, v3, map[string]string{"001_orders.sql": `
CREATE TABLE orders (id serial PRIMARY KEY, qty text NOT NULL,
  amount numeric(10,2), created_at timestamp DEFAULT now());`})
	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v3, "--dir", schemas, "--level", "FULL")
	if code != 1 {
		t.Fatalf("incompatible migration: exit %d\n%s", code, out)
	}
	golden(t, "cli-incompatible.txt", strings.ReplaceAll(out, schemas, "schemas"))

	out, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v3, "--dir", schemas, "--level", "FULL", "--format", "json")
	if code != 1 {
		t.Fatalf("json: exit %d\n%s", code, out)
	}
	jsonPart := out[:strings.LastIndex(out, "error: ")]
	var rep struct {
		Compatible bool `json:"compatible"`
		Subjects   []struct {
			Subject  string `json:"subject"`
			Status   string `json:"status"`
			Problems []struct {
				Rule, Path, Direction string
			} `json:"problems"`
		} `json:"subjects"`
	}
	if err := json.Unmarshal([]byte(jsonPart), &rep); err != nil {
		t.Fatalf("json report: %v\n%s", err, out)
	}
	rules := map[string]bool{}
	for _, s := range rep.Subjects {
		for _, p := range s.Problems {
			rules[p.Rule+" "+p.Path+" "+p.Direction] = true
		}
	}
	for _, want := range []string{"TYPE_MISMATCH Value.qty backward", "TYPE_MISMATCH Value.qty forward",
		"READER_FIELD_MISSING_DEFAULT_VALUE Value.customer forward"} {
		if !rules[want] {
			t.Errorf("json report lacks %q: %v", want, rules)
		}
	}
	if rep.Compatible {
		t.Error("json report says compatible")
	}

	// BACKWARD allows dropping the column but not the type change.
	_, code = runCmd(t, "schema", "check", "-c", cfg, "--ddl", v3, "--dir", schemas)
	if code != 1 {
		t.Errorf("BACKWARD: exit %d", code)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(schemaGoldenDir, name)
	if *updateSchemaGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-schema-golden)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", name, got, want)
	}
}

func TestSchemaCheckUsageErrors(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"shop.yaml": shopConfig})
	cfg := filepath.Join(root, "shop.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"schema", "check", "-c", cfg}, "exactly one of --registry URL and --dir DIR"},
		{[]string{"schema", "check", "-c", cfg, "--dir", root, "--level", "SIDEWAYS"}, "unknown compatibility level"},
		{[]string{"schema", "check", "-c", cfg, "--dir", root, "--format", "xml"}, "--format"},
		{[]string{"schema", "check", "--dir", root}, "no configuration"},
		{[]string{"schema", "export", "-c", cfg}, "--dir is required"},
		// The database in the config is not reachable: a connection error.
		{[]string{"schema", "check", "-c", cfg, "--registry", "http://127.0.0.1:1"}, "shop"},
	} {
		out, code := runCmd(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output:\n%s\nwant exit 2 mentioning %q", tc.args, code, out, tc.want)
		}
	}
}

func TestRegistryServe(t *testing.T) {
	for _, storage := range []string{"memory", "kafka"} {
		t.Run(storage, func(t *testing.T) {
			r, err := startRegistry(context.Background(), registryOptions{Listen: "127.0.0.1:0", Storage: storage, Topic: "_schemas"}, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			c, err := registry.NewClient(registry.Config{URL: r.URL})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			id, err := c.Register(ctx, "t-value", `{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}`)
			if err != nil || id != 1 {
				t.Fatalf("register: %d %v", id, err)
			}
			lv, err := c.Compatibility(ctx, "")
			if err != nil || lv != "BACKWARD" {
				t.Fatalf("level %q %v", lv, err)
			}
		})
	}
	if _, err := startRegistry(context.Background(), registryOptions{Listen: "127.0.0.1:0", Storage: "disk"}, quietLogger()); err == nil {
		t.Error("unknown storage accepted")
	}
}
