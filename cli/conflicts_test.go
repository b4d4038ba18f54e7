package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// One connector name in two -c files, or two connectors on one
// replication slot in separate files, is refused before anything starts.
func TestConflictsAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	conn := func(name, slot string) string {
		return "name: " + name + "\nconfig:\n  connector.class: io.debezium.connector.postgresql.PostgresConnector\n  database.hostname: 127.0.0.1\n  database.user: postgres\n  database.dbname: inventory\n  topic.prefix: " + name + "\n  slot.name: " + slot + "\n"
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a.yaml", conn("inventory", "s1"))
	b := write("b.yaml", conn("inventory", "s2"))
	c := write("c.yaml", conn("other", "s1"))
	d := write("d.yaml", conn("third", "s3"))
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{a, b}, `connector "inventory" is already defined in ` + a},
		{[]string{a, c}, `connectors "inventory" and "other" both use replication slot "s1" of database "inventory" on 127.0.0.1:5432`},
		{[]string{a, d}, ""},
	} {
		args := []string{"validate", "--offline"}
		for _, f := range tc.files {
			args = append(args, "-c", f)
		}
		out, code := runCmd(t, args...)
		if tc.want == "" {
			if code != 0 {
				t.Errorf("%v: exit %d:\n%s", tc.files, code, out)
			}
			continue
		}
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, want an error containing %q:\n%s", tc.files, code, tc.want, out)
		}
	}
	// run refuses the duplicate name before starting anything.
	if out, code := runCmd(t, "run", "-c", a, "-c", b); code == 0 || !strings.Contains(out, "already defined") {
		t.Errorf("run with a duplicate name: exit %d\n%s", code, out)
	}
}
