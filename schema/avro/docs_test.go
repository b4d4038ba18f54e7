package avro

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// TestDocumentedDebeziumSchema compares the schema we produce for the
// Debezium tutorial's inventory.customers table with the one Confluent's
// converter registered for it in published data, field for field. The
// expected differences are listed, with their reasons, in
// testdata/avro/docs/differences.txt.
func TestDocumentedDebeziumSchema(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "avro", "docs")
	raw, err := os.ReadFile(filepath.Join(dir, "debezium-tutorial-customers-value.avsc"))
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := Parse(string(bytes.TrimSpace(raw)))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "dbserver1.inventory.customers"
	row := connect.StructBuilder().Name(prefix+".Value").Optional().
		Field("id", connect.Prim(connect.Int32)).
		Field("first_name", connect.Prim(connect.String)).
		Field("last_name", connect.Prim(connect.String)).
		Field("email", connect.Prim(connect.String)).MustBuild()
	source := debezium.SourceSchemaBuilder().Name("io.debezium.connector.mysql.Source").
		Field("table", connect.OptionalPrim(connect.String)).
		Field("server_id", connect.Prim(connect.Int64)).
		Field("gtid", connect.OptionalPrim(connect.String)).
		Field("file", connect.Prim(connect.String)).
		Field("pos", connect.Prim(connect.Int64)).
		Field("row", connect.Prim(connect.Int32)).
		Field("thread", connect.OptionalPrim(connect.Int64)).
		Field("query", connect.OptionalPrim(connect.String)).MustBuild()
	ours, err := FromConnect(debezium.EnvelopeSchema(prefix+".Envelope", row, source), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	got := diffSchemas("", ours, theirs, map[string]bool{})

	wantRaw, err := os.ReadFile(filepath.Join(dir, "differences.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, line := range strings.Split(string(wantRaw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want = append(want, line)
	}
	for _, d := range got {
		if !slices.Contains(want, d) {
			t.Errorf("undocumented difference: %s", d)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("documented difference no longer present: %s", w)
		}
	}
}

// diffSchemas lists differences between ours and theirs as
// "path: what"; named types are compared once.
func diffSchemas(path string, ours, theirs *Schema, seen map[string]bool) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, pathOr(path)+": "+fmt.Sprintf(format, args...)) }
	if ours.Type != theirs.Type {
		add("type %s, published %s", ours.Type, theirs.Type)
		return out
	}
	if ours.named() {
		if ours.FullName() != theirs.FullName() {
			add("name %s, published %s", ours.FullName(), theirs.FullName())
		}
		if seen[ours.FullName()] {
			return out
		}
		seen[ours.FullName()] = true
	}
	for _, p := range ours.props {
		if tp := theirs.Prop(p.key); tp == nil {
			add("property %s=%s only in ours", p.key, p.val)
		} else if !bytes.Equal(tp, p.val) {
			add("property %s=%s, published %s", p.key, p.val, tp)
		}
	}
	for _, p := range theirs.props {
		if ours.Prop(p.key) == nil {
			add("property %s=%s only in published", p.key, p.val)
		}
	}
	switch ours.Type {
	case "record":
		var on, tn []string
		for _, f := range ours.Fields {
			on = append(on, f.Name)
		}
		for _, f := range theirs.Fields {
			tn = append(tn, f.Name)
		}
		for _, f := range ours.Fields {
			i := slices.Index(tn, f.Name)
			if i < 0 {
				add("field %s only in ours", f.Name)
				continue
			}
			tf := theirs.Fields[i]
			if !bytes.Equal(f.Default, tf.Default) {
				add("field %s default %s, published %s", f.Name, f.Default, tf.Default)
			}
			out = append(out, diffSchemas(path+"."+f.Name, f.Schema, tf.Schema, seen)...)
		}
		for _, n := range tn {
			if !slices.Contains(on, n) {
				add("field %s only in published", n)
			}
		}
		var common, tcommon []string
		for _, n := range on {
			if slices.Contains(tn, n) {
				common = append(common, n)
			}
		}
		for _, n := range tn {
			if slices.Contains(on, n) {
				tcommon = append(tcommon, n)
			}
		}
		if !slices.Equal(common, tcommon) {
			add("field order %s, published %s", strings.Join(common, ","), strings.Join(tcommon, ","))
		}
	case "union":
		if len(ours.Branches) != len(theirs.Branches) {
			add("%d union branches, published %d", len(ours.Branches), len(theirs.Branches))
			return out
		}
		for i := range ours.Branches {
			out = append(out, diffSchemas(fmt.Sprintf("%s|%d", path, i), ours.Branches[i], theirs.Branches[i], seen)...)
		}
	case "array":
		out = append(out, diffSchemas(path+"[]", ours.Items, theirs.Items, seen)...)
	case "map":
		out = append(out, diffSchemas(path+"{}", ours.Values, theirs.Values, seen)...)
	}
	return out
}
