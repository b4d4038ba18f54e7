package server

import (
	"encoding/json"
	"testing"

	"github.com/tributary-io/tributary/schema/registry"
)

func jsonBody(schema string, refs ...registry.Reference) string {
	b, _ := json.Marshal(registry.RegisterRequest{Schema: schema, SchemaType: "JSON", References: refs})
	return string(b)
}

// Schemas of Confluent's rest/json/RestApiTest.
const (
	jsonIncompat1 = `{"$schema": "http://json-schema.org/draft-07/schema#","$id": "https://acme.com/referrer.json","type":"object","properties":{"myField1": {"type":"string"},"myField2": {"type":"number"}},"additionalProperties":false}`
	jsonIncompat2 = `{"$schema": "http://json-schema.org/draft-07/schema#","$id": "https://acme.com/referrer.json","type":"object","properties":{"myField1": {"type":"string"},"myField2": {"type":"string"}},"additionalProperties":false}`
	jsonRef       = `{"type":"object","additionalProperties":false,"definitions":{"ExternalType":{"type":"object","properties":{"name":{"type":"string"}},"additionalProperties":false}}}`
	jsonMain      = `{"$id": "https://acme.com/referrer.json","$schema": "http://json-schema.org/draft-07/schema#","type":"object","properties":{"Ref":{"$ref":"ref.json#/definitions/ExternalType"}},"additionalProperties":false}`
)

// TestJSONSchemaType ports Confluent's rest/json/RestApiTest (testBad,
// testIncompatibleSchema, testSchemaReferences, testSchemaMissingReferences)
// and checks the seven levels on one pair from diff-schema-examples.json
// ("Detect optional property added to closed content model": compatible
// one way only).
func TestJSONSchemaType(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	ref := registry.Reference{Name: "ref.json", Subject: "reference", Version: 1}
	closed1 := `{"properties":{"foo":{"type":"string"}},"additionalProperties":false}`
	closed2 := `{"properties":{"foo":{"type":"string"},"bar":{"type":"number"}},"additionalProperties":false}`
	steps := []step{
		// testBad.
		{"testBad bad type", "POST", "/subjects/testTopic1/versions", jsonBody(`{"type":"bad-object","properties":{"f1":{"type":"string"}},"additionalProperties":false}`), 422, `~"error_code":42201`},
		{"testBad bad reference", "POST", "/subjects/testTopic1/versions", jsonBody(`{"type":"string"}`, registry.Reference{Name: "bad", Subject: "bad", Version: 100}), 422, `~"error_code":42201`},
		{"not JSON", "POST", "/subjects/testTopic1/versions", jsonBody(`{"type":`), 422, `~"error_code":42201`},
		{"testBad registers nothing", "GET", "/subjects", "", 200, `[]`},

		// testIncompatibleSchema (FULL).
		{"FULL", "PUT", "/config/testSubject", `{"compatibility":"FULL"}`, 200, `~FULL`},
		{"first", "POST", "/subjects/testSubject/versions", jsonBody(jsonIncompat1), 200, `{"id":1}`},
		{"same schema, other whitespace", "POST", "/subjects/testSubject/versions", jsonBody(`{"$schema":"http://json-schema.org/draft-07/schema#","$id":"https://acme.com/referrer.json","type":"object","properties":{"myField1":{"type":"string"},"myField2":{"type":"number"}},"additionalProperties":false}`), 200, `{"id":1}`},
		{"testIncompatibleSchema", "POST", "/subjects/testSubject/versions", jsonBody(jsonIncompat2), 409,
			`~details: [{errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/myField2' is different between the %s schema and the %s schema'}, {errorType:\"TYPE_CHANGED\", description:\"A type at path '#/properties/myField2' is different between the %s schema and the %s schema'}, {oldSchemaVersion: 1}, {oldSchema: '`},
		{"incompatible names the level", "POST", "/subjects/testSubject/versions", jsonBody(jsonIncompat2), 409, `~{compatibility: 'FULL'}`},
		{"version reply has the type", "GET", "/subjects/testSubject/versions/1", "", 200, `~"schemaType":"JSON"`},
		{"same text as Avro is another schema", "POST", "/subjects/avro/versions", body(`"string"`), 200, `{"id":2}`},
		{"different types are incompatible", "POST", "/subjects/avro/versions", jsonBody(`{"type":"string"}`), 409, `~Incompatible because of different schema type`},

		// testSchemaReferences / testSchemaMissingReferences.
		{"testSchemaMissingReferences", "POST", "/subjects/referrer/versions", jsonBody(jsonMain), 422, `~"error_code":42201`},
		{"register ref.json", "POST", "/subjects/reference/versions", jsonBody(jsonRef), 200, `{"id":3}`},
		{"register main.json", "POST", "/subjects/referrer/versions", jsonBody(jsonMain, ref), 200, `{"id":4}`},
		{"getId", "GET", "/schemas/ids/4", "", 200,
			`{"schema":` + mustJSON(t, compactJSON(t, jsonMain)) + `,"schemaType":"JSON","references":[{"name":"ref.json","subject":"reference","version":1}]}`},
		{"getReferencedBy", "GET", "/subjects/reference/versions/1/referencedby", "", 200, `[4]`},
		{"lookUpSubjectVersion", "POST", "/subjects/referrer", jsonBody(jsonMain, ref), 200, `~"id":4`},
		{"delete referenced", "DELETE", "/subjects/reference/versions/1", "", 422, `~"error_code":42206`},
		{"delete referrer", "DELETE", "/subjects/referrer/versions/1", "", 200, `1`},
		{"delete reference", "DELETE", "/subjects/reference/versions/1", "", 200, `1`},

		// Levels: closed1 -> closed2 adds an optional property to a
		// closed content model: backward compatible; the reverse
		// removes it from a closed model: not.
		{"v1", "POST", "/subjects/levels/versions", jsonBody(closed1), 200, `{"id":5}`},
		{"v2 (BACKWARD)", "POST", "/subjects/levels/versions", jsonBody(closed2), 200, `{"id":6}`},
	}
	for _, lc := range []struct {
		level string
		ok    bool
	}{
		{"NONE", true}, {"BACKWARD", false}, {"BACKWARD_TRANSITIVE", false}, {"FORWARD", true},
		{"FORWARD_TRANSITIVE", true}, {"FULL", false}, {"FULL_TRANSITIVE", false},
	} {
		want := `{"is_compatible":false}`
		if lc.ok {
			want = `{"is_compatible":true}`
		}
		steps = append(steps,
			step{"set " + lc.level, "PUT", "/config/levels", `{"compatibility":"` + lc.level + `"}`, 200, `~` + lc.level},
			// closed1 after closed2 removes bar from a closed model.
			step{"closed1 at " + lc.level, "POST", "/compatibility/subjects/levels/versions/latest", jsonBody(closed1), 200, want})
	}
	run(t, h, steps)
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var v json.RawMessage
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func mustJSON(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
