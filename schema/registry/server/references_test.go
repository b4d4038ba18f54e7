package server

import (
	"encoding/json"
	"testing"

	"github.com/tributary-io/tributary/schema/registry"
)

func refBody(schema string, refs ...registry.Reference) string {
	b, _ := json.Marshal(registry.RegisterRequest{Schema: schema, References: refs})
	return string(b)
}

// Schemas of Confluent's TestUtils.getAvroSchemaWithReferences and
// RestApiTest.testSchemaReferencesMultipleLevels.
const (
	subrecord = `{"type":"record","name":"Subrecord","namespace":"otherns","fields":[{"name":"field2","type":"string"}]}`
	myRecord  = `{"type":"record","name":"MyRecord","namespace":"ns","fields":[{"name":"field1","type":"otherns.Subrecord"}]}`
	// myRecordInlined is myRecord with the referenced type written out.
	myRecordInlined = `{"type":"record","name":"MyRecord","namespace":"ns","fields":[{"name":"field1","type":` + subrecord + `}]}`

	currency        = `{"type":"enum","name":"Currency","namespace":"myavro.currencies","symbols":["EUR","USD"]}`
	budgetDecreased = `{"type":"record","name":"BudgetDecreased","namespace":"myavro","fields":[{"name":"buyerId","type":"long"},{"name":"currency","type":{"type":"myavro.currencies.Currency"}},{"name":"amount","type":"double"}]}`
	budgetUpdated   = `{"type":"record","name":"BudgetUpdated","namespace":"myavro","fields":[{"name":"buyerId","type":"long"},{"name":"currency","type":{"type":"myavro.currencies.Currency"}},{"name":"updatedValue","type":"double"}]}`
	budgetRoot      = `["myavro.BudgetDecreased","myavro.BudgetUpdated"]`
)

// TestSchemaReferences ports RestApiTest.testSchemaReferences (default
// context), testSchemaMissingReferences, testRegisterInvalidSchemaBadReference
// and testSchemaReferencesMultipleLevels.
func TestSchemaReferences(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	subRef := registry.Reference{Name: "otherns.Subrecord", Subject: "my_reference", Version: 1}
	refsJSON := `"references":[{"name":"otherns.Subrecord","subject":"my_reference","version":1}]`
	run(t, h, []step{
		// testSchemaMissingReferences: the referencing schema alone is invalid.
		{"testSchemaMissingReferences", "POST", "/subjects/referrer/versions", refBody(myRecord), 422, `~"error_code":42201`},
		// testRegisterInvalidSchemaBadReference.
		{"testRegisterInvalidSchemaBadReference", "POST", "/subjects/testSubject/versions",
			refBody(`{"type":"record","name":"myrecord","fields":[{"type":"string","name":"field1"}]}`,
				registry.Reference{Name: "invalid.schema", Subject: "badSubject", Version: 1}), 422, `~"error_code":42201`},
		{"reference without a name", "POST", "/subjects/testSubject/versions",
			refBody(`"int"`, registry.Reference{Subject: "x", Version: 1}), 422, `~"error_code":42201`},

		// testSchemaReferences.
		{"register the reference", "POST", "/subjects/my_reference/versions", refBody(subrecord), 200, `{"id":1}`},
		{"register the referrer", "POST", "/subjects/my_referrer/versions", refBody(myRecord, subRef), 200, `{"id":2}`},
		{"getId returns the text and the references", "GET", "/schemas/ids/2", "", 200, `{"schema":"` + jsonEscape(myRecord) + `",` + refsJSON + `}`},
		{"version carries the references", "GET", "/subjects/my_referrer/versions/1", "", 200,
			`{"subject":"my_referrer","version":1,"id":2,` + refsJSON + `,"schema":"` + jsonEscape(myRecord) + `","deleted":false}`},
		{"getReferencedBy", "GET", "/subjects/my_reference/versions/1/referencedby", "", 200, `[2]`},
		{"re-registering with the same references is the same schema", "POST", "/subjects/my_referrer/versions", refBody(myRecord, subRef), 200, `{"id":2}`},
		{"a latest (-1) reference pins the version", "POST", "/subjects/my_referrer/versions",
			refBody(myRecord, registry.Reference{Name: "otherns.Subrecord", Subject: "my_reference", Version: -1}), 200, `{"id":2}`},
		// "we pass an empty list of refs since SR will perform a deep equality check"
		{"lookup with the references inlined", "POST", "/subjects/my_referrer", refBody(myRecordInlined), 200, `~"id":2`},
		{"lookup with the references", "POST", "/subjects/my_referrer", refBody(myRecord, subRef), 200, `~"id":2`},
		{"deleting a referenced version is refused", "DELETE", "/subjects/my_reference/versions/1", "", 422,
			`{"error_code":42206,"message":"One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=my_reference,version=1}."}`},
		{"deleting a referenced subject is refused", "DELETE", "/subjects/my_reference", "", 422, `~"error_code":42206`},
		{"compatibility with references", "POST", "/compatibility/subjects/my_referrer/versions/latest", refBody(myRecord, subRef), 200, `{"is_compatible":true}`},
		{"delete the referrer", "DELETE", "/subjects/my_referrer/versions/1", "", 200, `1`},
		{"no live referrers left", "GET", "/subjects/my_reference/versions/1/referencedby", "", 200, `[]`},
		{"soft-deleted referrer still listed with deleted=true", "GET", "/subjects/my_reference/versions/1/referencedby?deleted=true", "", 200, `[2]`},
		{"delete the reference", "DELETE", "/subjects/my_reference/versions/1", "", 200, `1`},

		// testSchemaReferencesMultipleLevels.
		{"shared", "POST", "/subjects/shared/versions", refBody(currency), 200, `{"id":3}`},
		{"ref1", "POST", "/subjects/ref1/versions", refBody(budgetDecreased, registry.Reference{Name: "myavro.currencies.Currency", Subject: "shared", Version: 1}), 200, `{"id":4}`},
		{"ref2", "POST", "/subjects/ref2/versions", refBody(budgetUpdated, registry.Reference{Name: "myavro.currencies.Currency", Subject: "shared", Version: 1}), 200, `{"id":5}`},
		{"root", "POST", "/subjects/root/versions", refBody(budgetRoot,
			registry.Reference{Name: "myavro.BudgetDecreased", Subject: "ref1", Version: 1},
			registry.Reference{Name: "myavro.BudgetUpdated", Subject: "ref2", Version: 1}), 200, `{"id":6}`},
		{"root keeps its text", "GET", "/schemas/ids/6", "", 200,
			`{"schema":"[\"myavro.BudgetDecreased\",\"myavro.BudgetUpdated\"]","references":[{"name":"myavro.BudgetDecreased","subject":"ref1","version":1},{"name":"myavro.BudgetUpdated","subject":"ref2","version":1}]}`},
		{"soft delete root", "DELETE", "/subjects/root/versions/1", "", 200, `1`},
		{"soft delete ref1", "DELETE", "/subjects/ref1/versions/1", "", 200, `1`},
		{"hard delete ref1 refused: root still references it", "DELETE", "/subjects/ref1/versions/1?permanent=true", "", 422, `~"error_code":42206`},
		{"hard delete root", "DELETE", "/subjects/root/versions/1?permanent=true", "", 200, `1`},
		{"hard delete ref1", "DELETE", "/subjects/ref1/versions/1?permanent=true", "", 200, `1`},
	})
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// TestReferencedSchemaEvolution: a new version of a referencing schema is
// checked with the referenced types resolved.
func TestReferencedSchemaEvolution(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	ref := registry.Reference{Name: "otherns.Subrecord", Subject: "sub", Version: 1}
	subV2 := `{"type":"record","name":"Subrecord","namespace":"otherns","fields":[{"name":"field2","type":"string"},{"name":"n","type":"int"}]}`
	run(t, h, []step{
		{"sub v1", "POST", "/subjects/sub/versions", refBody(subrecord), 200, `{"id":1}`},
		{"sub v2 (NONE)", "PUT", "/config/sub", `{"compatibility":"NONE"}`, 200, `~NONE`},
		{"sub v2", "POST", "/subjects/sub/versions", refBody(subV2), 200, `{"id":2}`},
		{"top v1", "POST", "/subjects/top/versions", refBody(myRecord, ref), 200, `{"id":3}`},
		// Reading old data with the v2 subrecord needs a default for n.
		{"top with sub v2 is not backward compatible", "POST", "/subjects/top/versions",
			refBody(myRecord, registry.Reference{Name: "otherns.Subrecord", Subject: "sub", Version: 2}), 409,
			`~READER_FIELD_MISSING_DEFAULT_VALUE`},
	})
}
