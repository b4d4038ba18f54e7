package check_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/check"
	"github.com/tributary-io/tributary/schema/compat"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

var update = flag.Bool("update", false, "rewrite golden files")

const goldenDir = "../../testdata/schema-check"

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

type column struct {
	name string
	s    *connect.Schema
}

// candidates builds the key and value subjects of public.orders as the
// PostgreSQL connector and the Avro converter would.
func candidates(t *testing.T, cols ...column) []check.Candidate {
	t.Helper()
	const topic = "shop.public.orders"
	key := connect.StructBuilder().Name(topic+".Key").Field("id", connect.Prim(connect.Int32)).MustBuild()
	rb := connect.StructBuilder().Name(topic+".Value").Optional().Field("id", connect.Prim(connect.Int32))
	for _, c := range cols {
		rb.Field(c.name, c.s)
	}
	source := debezium.SourceSchemaBuilder().Name("io.debezium.connector.postgresql.Source").
		Field("schema", connect.Prim(connect.String)).Field("table", connect.Prim(connect.String)).MustBuild()
	env := debezium.EnvelopeSchema(topic+".Envelope", rb.MustBuild(), source)
	var out []check.Candidate
	for _, side := range []struct {
		s     *connect.Schema
		isKey bool
	}{{key, true}, {env, false}} {
		as, err := avro.FromConnect(side.s, avro.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := avro.TopicNameStrategy.Subject(topic, side.isKey, as)
		out = append(out, check.Candidate{Subject: subject, Topic: topic, Key: side.isKey, Schema: as.String()})
	}
	return out
}

var (
	name     = column{"name", connect.Prim(connect.String)}
	qty      = column{"qty", connect.Prim(connect.Int32)}
	qtyText  = column{"qty", connect.Prim(connect.String)}
	note     = column{"note", connect.OptionalPrim(connect.String)}
	status   = column{"status", connect.NewBuilder(connect.String).Optional().Default("new").MustBuild()}
	required = column{"warehouse", connect.Prim(connect.String)}
)

func run(t *testing.T, base check.Baseline, level compat.Level, cands []check.Candidate) *check.Report {
	t.Helper()
	rep, err := check.Run(context.Background(), cands, base, level)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckAgainstDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := check.Export(dir, candidates(t, name, qty)); err != nil {
		t.Fatal(err)
	}
	base := &check.DirBaseline{Dir: "schemas"} // printed name; files are read from dir below
	base.Dir = dir

	// Adding nullable columns, one with a default, is compatible at FULL.
	rep := run(t, base, compat.Full, candidates(t, name, qty, note, status))
	if !rep.Compatible {
		t.Fatal("adding nullable columns reported incompatible")
	}
	var b bytes.Buffer
	rep.Baseline = "schema files in schemas/"
	rep.WriteText(&b)
	golden(t, "compatible.txt", b.Bytes())

	// Dropping a NOT NULL column, changing int to text and adding a NOT
	// NULL column without a default break FULL compatibility.
	rep = run(t, base, compat.Full, candidates(t, qtyText, required))
	if rep.Compatible {
		t.Fatal("breaking change reported compatible")
	}
	rep.Baseline = "schema files in schemas/"
	b.Reset()
	rep.WriteText(&b)
	golden(t, "incompatible.txt", b.Bytes())
	b.Reset()
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "incompatible.json", b.Bytes())
	var decoded map[string]any
	if err := json.Unmarshal(b.Bytes(), &decoded); err != nil || decoded["compatible"] != false {
		t.Fatalf("json report: %v %v", decoded["compatible"], err)
	}

	// Dropping a NOT NULL column is allowed BACKWARD (new readers ignore
	// it) but not FORWARD (old readers need it).
	if rep := run(t, base, compat.Backward, candidates(t, name)); !rep.Compatible {
		t.Error("dropping a column reported BACKWARD-incompatible")
	}
	rep = run(t, base, compat.Forward, candidates(t, name))
	if rep.Compatible {
		t.Error("dropping a NOT NULL column reported FORWARD-compatible")
	} else if p := rep.Subjects[1].Problems[0]; p.Rule != "READER_FIELD_MISSING_DEFAULT_VALUE" || p.Path != "Value.qty" || !strings.Contains(p.Fix, "nullable") {
		t.Errorf("problem = %+v", p)
	}
	// Unchanged and new subjects.
	rep = run(t, base, "", candidates(t, name, qty))
	if rep.Subjects[0].Status != check.StatusUnchanged || rep.Subjects[1].Status != check.StatusUnchanged {
		t.Errorf("statuses %s %s", rep.Subjects[0].Status, rep.Subjects[1].Status)
	}
	rep = run(t, &check.DirBaseline{Dir: t.TempDir()}, "", candidates(t, name))
	if rep.Subjects[0].Status != check.StatusNew || !rep.Compatible {
		t.Errorf("empty baseline: %+v", rep.Subjects[0])
	}
}

func TestCheckAgainstRegistryUsesSubjectLevel(t *testing.T) {
	ts := httptest.NewServer(server.NewServer(server.NewMemoryStore(), nil))
	defer ts.Close()
	client, err := registry.NewClient(registry.Config{URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range candidates(t, name, qty) {
		if _, err := client.Register(ctx, c.Subject, c.Schema); err != nil {
			t.Fatal(err)
		}
	}
	base := &check.RegistryBaseline{Client: client, URL: ts.URL}
	// The default level is BACKWARD: dropping qty passes...
	if rep := run(t, base, "", candidates(t, name)); !rep.Compatible || rep.Subjects[1].Level != compat.Backward {
		t.Fatalf("BACKWARD drop: %+v", rep.Subjects[1])
	}
	// ...until the subject is set to FORWARD_TRANSITIVE.
	if err := client.SetCompatibility(ctx, "shop.public.orders-value", "FORWARD_TRANSITIVE"); err != nil {
		t.Fatal(err)
	}
	rep := run(t, base, "", candidates(t, name))
	if rep.Compatible || rep.Subjects[1].Level != compat.ForwardTransitive || rep.Subjects[1].LatestVersion != 1 {
		t.Fatalf("FORWARD_TRANSITIVE drop: %+v", rep.Subjects[1])
	}
	// The registry agrees with our verdict.
	ok, _, err := client.TestCompatibility(ctx, "shop.public.orders-value", 0, candidates(t, name)[1].Schema)
	if err != nil || ok {
		t.Fatalf("registry says compatible=%v (%v)", ok, err)
	}
}
