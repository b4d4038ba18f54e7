package transforms

import (
	"errors"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// Bad configurations fail Build with the full property name (alias
// included), so validate and the REST API can point at it.
func TestBuildRejectsBadInput(t *testing.T) {
	const rr = kafkaPkg + "RegexRouter"
	cases := []struct {
		name     string
		props    map[string]string
		property string // the ConfigError's property
		wantErr  string
	}{
		{"unknown class", map[string]string{"transforms.route.type": kafkaPkg + "RegexRuoter"}, "transforms.route.type",
			`transforms.route.type: Invalid value org.apache.kafka.connect.transforms.RegexRuoter for configuration transforms.route.type: ` +
				`Class org.apache.kafka.connect.transforms.RegexRuoter could not be found. (did you mean "org.apache.kafka.connect.transforms.RegexRouter"?)`},
		{"missing required property", map[string]string{"transforms.route.type": rr, "transforms.route.replacement": "$1"}, "transforms.route.regex",
			`transforms.route.regex: Missing required configuration "regex" which has no default value.`},
		{"invalid regex", map[string]string{"transforms.route.type": rr, "transforms.route.regex": "(", "transforms.route.replacement": "$1"},
			"transforms.route.regex", "transforms.route.regex: Invalid value ( for configuration regex: Invalid regex"},
		{"look-around RE2 lacks", map[string]string{"transforms.route.type": rr, "transforms.route.regex": "a(?!b)", "transforms.route.replacement": "x"},
			"transforms.route.regex", "transforms.route.regex: Invalid value a(?!b) for configuration regex: Invalid regex"},
		{"replacement group the regex lacks", map[string]string{"transforms.route.type": rr, "transforms.route.regex": "a(.*)", "transforms.route.replacement": "$2"},
			"transforms.route.replacement", "transforms.route.replacement: Invalid value $2"},
		// A misspelt required property is reported as the typo, not as the
		// property missing.
		{"misspelt required property", map[string]string{"transforms.route.type": rr, "transforms.route.regex": "a", "transforms.route.replacment": "x"},
			"transforms.route.replacment", `transforms.route.replacment: unknown property (did you mean "replacement"?)`},
		{"outbox regex", map[string]string{"transforms.route.type": EventRouterClass, "transforms.route.route.topic.regex": "(?<x>a"},
			"transforms.route.route.topic.regex", "transforms.route.route.topic.regex: Invalid value (?<x>a for configuration route.topic.regex: Invalid regex"},
		{"outbox placement", map[string]string{"transforms.route.type": EventRouterClass, "transforms.route.table.fields.additional.placement": "type:body"},
			"transforms.route.table.fields.additional.placement", `unknown placement "body"`},
		{"missing fields", map[string]string{"transforms.route.type": kafkaPkg + "ValueToKey"}, "transforms.route.fields",
			`transforms.route.fields: Missing required configuration "fields" which has no default value.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"transforms": "route"}
			for k, v := range c.props {
				props[k] = v
			}
			_, err := buildChain(t, props)
			checkErr(t, err, c.wantErr)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Property != c.property {
				t.Errorf("error %v is not a ConfigError for %s", err, c.property)
			}
		})
	}
}

// A field the record lacks fails the record, naming the transform's alias
// and the field (the runtime adds the record's coordinates), where Kafka
// fails it; Cast and TimestampConverter pass such a record on unchanged,
// as Kafka's do.
func TestApplyNamesAliasAndMissingField(t *testing.T) {
	row := connect.StructBuilder().Name("row").Field("id", prim(connect.Int32)).Field("name", optPrim(connect.String)).MustBuild()
	rec := &connect.Record{Topic: "dbserver1.inventory.customers", ValueSchema: row, Value: structOf(row, int32(1), "Sally")}
	cases := []struct {
		name    string
		props   map[string]string
		wantErr string
	}{
		{"ValueToKey", map[string]string{"transforms.key.type": kafkaPkg + "ValueToKey", "transforms.key.fields": "id,nope"},
			`transform "key": `},
		{"ExtractField", map[string]string{"transforms.key.type": kafkaPkg + "ExtractField$Value", "transforms.key.field": "nope"},
			`transform "key": `},
		{"Cast", map[string]string{"transforms.key.type": kafkaPkg + "Cast$Value", "transforms.key.spec": "nope:int64"}, ""},
		{"TimestampConverter", map[string]string{"transforms.key.type": kafkaPkg + "TimestampConverter$Value", "transforms.key.field": "nope",
			"transforms.key.target.type": "Timestamp"}, ""},
		{"HeaderFrom", map[string]string{"transforms.key.type": kafkaPkg + "HeaderFrom$Value", "transforms.key.fields": "nope",
			"transforms.key.headers": "h", "transforms.key.operation": "copy"}, `transform "key": `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]string{"transforms": "key"}
			for k, v := range c.props {
				props[k] = v
			}
			chain, err := buildChain(t, props)
			if err != nil {
				t.Fatal(err)
			}
			out, err := chain.Apply(rec)
			checkErr(t, err, c.wantErr)
			if c.wantErr == "" {
				if !valEq(out.Value, rec.Value) {
					t.Errorf("value %v, want %v unchanged", out.Value, rec.Value)
				}
				return
			}
			checkErr(t, err, "nope")
			out, alias, err := chain.ApplyTraced(rec)
			if out != nil || alias != "key" || err == nil {
				t.Errorf("ApplyTraced = %v, %q, %v; want the failing alias \"key\"", out, alias, err)
			}
		})
	}
}
