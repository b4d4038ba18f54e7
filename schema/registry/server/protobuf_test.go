package server

import (
	"encoding/json"
	"testing"

	"github.com/tributary-io/tributary/schema/registry"
)

func protoBody(schema string, refs ...registry.Reference) string {
	b, _ := json.Marshal(registry.RegisterRequest{Schema: schema, SchemaType: "PROTOBUF", References: refs})
	return string(b)
}

// Schemas after Confluent's rest/protobuf/RestApiTest
// getProtobufSchemaWithDependencies (without confluent/meta.proto, which
// Tributary does not ship).
const (
	protoRef  = "syntax = \"proto3\";\npackage io.confluent.kafka.serializers.protobuf.test;\n\nmessage ReferencedMessage {\n  string ref_id = 1;\n  bool is_active = 2;\n}\n"
	protoMain = "syntax = \"proto3\";\npackage io.confluent.kafka.serializers.protobuf.test;\n\nimport \"ref.proto\";\n\n" +
		"message ReferrerMessage {\n  string root_id = 1;\n  .io.confluent.kafka.serializers.protobuf.test.ReferencedMessage ref = 2;\n}\n"
	protoV1 = "syntax = \"proto3\";\nmessage TestMessage {\n  string test_string = 1;\n  int32 test_int = 2;\n}\n"
	// protoV1Reformatted is protoV1 with other whitespace and a comment.
	protoV1Reformatted = "syntax=\"proto3\";  // same\nmessage TestMessage { string test_string = 1; int32 test_int = 2; }"
	// protoV2 turns test_int into a string: FIELD_SCALAR_KIND_CHANGED.
	protoV2 = "syntax = \"proto3\";\nmessage TestMessage {\n  string test_string = 1;\n  string test_int = 2;\n}\n"
	// protoV3 adds a field: compatible every way.
	protoV3 = "syntax = \"proto3\";\nmessage TestMessage {\n  string test_string = 1;\n  int32 test_int = 2;\n  float f = 3;\n}\n"
)

// TestProtobufType ports Confluent's rest/protobuf/RestApiTest
// (testSchemaReferences, testSchemaMissingReferences, testIncompatibleSchema,
// testBad) to the PROTOBUF type.
func TestProtobufType(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	ref := registry.Reference{Name: "ref.proto", Subject: "ref", Version: 1}
	run(t, h, []step{
		{"testBad", "POST", "/subjects/bad/versions", protoBody("syntax = \"proto3\";\nmessage {"), 422, `~"error_code":42201`},
		{"testSchemaMissingReferences", "POST", "/subjects/referrer/versions", protoBody(protoMain), 422, `~"error_code":42201`},
		{"register ref.proto", "POST", "/subjects/ref/versions", protoBody(protoRef), 200, `{"id":1}`},
		{"register the referrer", "POST", "/subjects/referrer/versions", protoBody(protoMain, ref), 200, `{"id":2}`},
		{"getId", "GET", "/schemas/ids/2", "", 200,
			`{"schema":` + mustJSON(t, protoMain[:len(protoMain)-1]) + `,"schemaType":"PROTOBUF","references":[{"name":"ref.proto","subject":"ref","version":1}]}`},
		{"referencedby", "GET", "/subjects/ref/versions/1/referencedby", "", 200, `[2]`},
		{"lookup", "POST", "/subjects/referrer", protoBody(protoMain, ref), 200, `~"id":2`},
		{"delete referenced", "DELETE", "/subjects/ref/versions/1", "", 422, `~"error_code":42206`},

		{"v1", "POST", "/subjects/testSubject/versions", protoBody(protoV1), 200, `{"id":3}`},
		{"v1 reformatted is the same schema", "POST", "/subjects/testSubject/versions", protoBody(protoV1Reformatted), 200, `{"id":3}`},
		{"testIncompatibleSchema", "POST", "/subjects/testSubject/versions", protoBody(protoV2), 409,
			`~{errorType:\"FIELD_SCALAR_KIND_CHANGED\", description:\"The kind of a SCALAR field at path '#/TestMessage/2' in the %s schema does not match its kind in the %s schema\"}, {oldSchemaVersion: 1}`},
		{"compatible v3", "POST", "/subjects/testSubject/versions", protoBody(protoV3), 200, `{"id":4}`},
		{"FULL_TRANSITIVE", "PUT", "/config/testSubject", `{"compatibility":"FULL_TRANSITIVE"}`, 200, `~FULL_TRANSITIVE`},
		{"v2 against all", "POST", "/compatibility/subjects/testSubject/versions", protoBody(protoV2), 200, `{"is_compatible":false}`},
		{"version reply has the type", "GET", "/subjects/testSubject/versions/1", "", 200, `~"schemaType":"PROTOBUF"`},
		{"another type is incompatible", "POST", "/compatibility/subjects/testSubject/versions/latest", jsonBody(`{"type":"string"}`), 200, `{"is_compatible":false}`},
	})
}
