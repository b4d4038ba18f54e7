package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Cases follow java.util.Properties.load's documentation.
func TestParseProperties(t *testing.T) {
	cases := []struct {
		name, in string
		want     map[string]string
	}{
		{"separators", "a=1\nb:2\nc 3\nd\t=\t4\ne\n", map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": ""}},
		{"comments and blanks", "# c\n   ! c\n\n\t\nk=v # not a comment\n", map[string]string{"k": "v # not a comment"}},
		{"continuation", "fruits apple, banana, \\\n    pear, cantaloupe\n", map[string]string{"fruits": "apple, banana, pear, cantaloupe"}},
		{"continued comment-looking line is data", "k=a\\\n#b\n", map[string]string{"k": "a#b"}},
		{"even backslashes do not continue", "k=a\\\\\nl=b\n", map[string]string{"k": `a\`, "l": "b"}},
		{"escaped separators in key", `key\ with\:colon\=eq = v` + "\n", map[string]string{"key with:colon=eq": "v"}},
		{"escapes in value", `v=tab\there\nline \u00e9 \uD83D\uDE00 \q` + "\n", map[string]string{"v": "tab\there\nline é 😀 q"}},
		{"value keeps later separators", "url=jdbc:postgresql://h:5432/db?a=b\n", map[string]string{"url": "jdbc:postgresql://h:5432/db?a=b"}},
		{"windows and old mac line ends", "a=1\r\nb=2\rc=3", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"continuation at end of file", "k=v\\", map[string]string{"k": "v"}},
		{"later wins", "k=1\nk=2\n", map[string]string{"k": "2"}},
		{"latin-1 file", "k=caf\xe9\n", map[string]string{"k": "café"}},
		{"jaas value", `sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required \` + "\n" + `    username="u" password="p";` + "\n",
			map[string]string{"sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseProperties([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := parseProperties([]byte("k=\\u12\n")); err == nil {
		t.Fatal("a malformed \\u escape was accepted")
	}
}

// TestLoadPropertiesFiles reads Kafka Connect's own files: a
// connect-standalone worker file and a connector file.
func TestLoadPropertiesFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("TRIB_TEST_PW", "s3cret")
	worker := write("connect-standalone.properties", `bootstrap.servers=localhost:9092
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
offset.storage.file.filename=/tmp/connect.offsets
offset.flush.interval.ms=10000
`)
	conn := write("inventory-connector.properties", `name=inventory-connector
connector.class=io.debezium.connector.postgresql.PostgresConnector
database.hostname=localhost
database.password=${env:TRIB_TEST_PW}
table.include.list=inventory.customers,\
  inventory.orders
`)
	w, err := LoadFile(worker)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Connectors) != 0 || w.Worker["bootstrap.servers"] != "localhost:9092" || w.Worker["offset.flush.interval.ms"] != "10000" {
		t.Fatalf("worker file read as %+v", w)
	}
	c, err := LoadFile(conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Connectors) != 1 || len(c.Worker) != 0 {
		t.Fatalf("connector file read as %+v", c)
	}
	got := c.Connectors[0]
	if got.Name != "inventory-connector" || got.Config["table.include.list"] != "inventory.customers,inventory.orders" ||
		got.Config["database.password"] != "s3cret" || got.Raw["database.password"] != "${env:TRIB_TEST_PW}" {
		t.Fatalf("connector read as %+v", got)
	}
	if _, ok := got.Config["name"]; ok {
		t.Fatal("name kept in the config")
	}
	if _, err := LoadFile(write("noname.properties", "connector.class=x\n")); err == nil {
		t.Fatal("a connector file without name was accepted")
	}
}
