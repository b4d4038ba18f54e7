package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// Schemas of Confluent's RestApiTransitiveCompatibilityTest.
const (
	transBase        = `{"type":"record","name":"myrecord","fields":[{"type":"string","name":"f1"}]}`
	transWithDefault = `{"type":"record","name":"myrecord","fields":[{"type":"string","name":"f1"},{"type":"string","name":"f2","default":"foo"}]}`
	transNoDefault   = `{"type":"record","name":"myrecord","fields":[{"type":"string","name":"f1"},{"type":"string","name":"f2"}]}`
)

// TestConfluentParity ports assertions of Confluent Schema Registry's own
// tests (confluentinc/schema-registry, core/src/test/.../rest/), named in
// each step, plus the behaviour of its resources where no test pins it
// (CompatibilityResource, ConfigResource.deleteTopLevelConfig,
// SchemasResource.getSchemas, ServerMetadataResource, KafkaSchemaRegistry.register with force).
func TestConfluentParity(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	run(t, h, []step{
		// RestApiTest.testRegisterInvalidSubject: "\rbad\nsubject\t".
		{"RestApiTest.testRegisterInvalidSubject", "POST", "/subjects/%0Dbad%0Asubject%09/versions", body(`"int"`), 422,
			`{"error_code":42208,"message":"The specified subject '\rbad\nsubject\t' is not a valid."}`},
		{"DEL is an ISO control character too", "POST", "/subjects/a%7Fb/versions", body(`"int"`), 422, `~"error_code":42208`},
		{"C1 control", "POST", "/subjects/a%C2%85b/versions", body(`"int"`), 422, `~"error_code":42208`},
		{"reserved __GLOBAL", "POST", "/subjects/__GLOBAL/versions", body(`"int"`), 422, `~"error_code":42208`},
		{"reserved __EMPTY in config", "PUT", "/config/__EMPTY", `{"compatibility":"NONE"}`, 422, `~"error_code":42208`},
		{"control character in mode", "PUT", "/mode/a%01", `{"mode":"READONLY"}`, 422, `~"error_code":42208`},
		{"contexts are refused, saying so", "POST", "/subjects/:.ctx:s/versions", body(`"int"`), 422, `~Schema contexts`},
		// RestApiTest.testRegisterSchemaWithWildcardSubjectAllowedByDefault.
		{"RestApiTest.testRegisterSchemaWithWildcardSubjectAllowedByDefault", "POST", "/subjects/*/versions", body(`"string"`), 200, `{"id":1}`},
		{"non-ASCII printable subject", "POST", "/subjects/caf%C3%A9/versions", body(`"string"`), 200, `{"id":1}`},

		// RestApiTest.testCompatibilityNonExistentSubject.
		{"RestApiTest.testCompatibilityNonExistentSubject latest", "POST", "/compatibility/subjects/non-existent-subject/versions/latest", body(`"int"`), 200, `{"is_compatible":true}`},
		{"RestApiTest.testCompatibilityNonExistentSubject all", "POST", "/compatibility/subjects/non-existent-subject/versions", body(`"int"`), 200, `{"is_compatible":true}`},
		{"numbered version of a missing subject: 40402 as in CompatibilityResource", "POST", "/compatibility/subjects/non-existent-subject/versions/3", body(`"int"`), 404,
			`{"error_code":40402,"message":"Version 3 not found."}`},

		// RestApiTransitiveCompatibilityTest (FULL_TRANSITIVE).
		{"set FULL_TRANSITIVE", "PUT", "/config/testSubject", `{"compatibility":"FULL_TRANSITIVE"}`, 200, `{"compatibility":"FULL_TRANSITIVE"}`},
		{"transitive base", "POST", "/subjects/testSubject/versions", body(transBase), 200, `{"id":2}`},
		{"transitive with default", "POST", "/subjects/testSubject/versions", body(transWithDefault), 200, `{"id":3}`},
		{"RestApiTransitiveCompatibilityTest.testCompatibility", "POST", "/subjects/testSubject/versions", body(transNoDefault), 409,
			`~"error_code":40901,"message":"Schema being registered is incompatible with an earlier schema for subject \"testSubject\", details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'`},
		// The point: an explicit version, latest included, checks
		// only that version even at a transitive level.
		{"explicit latest checks only the latest", "POST", "/compatibility/subjects/testSubject/versions/latest", body(transNoDefault), 200, `{"is_compatible":true}`},
		{"explicit -1 is latest", "POST", "/compatibility/subjects/testSubject/versions/-1", body(transNoDefault), 200, `{"is_compatible":true}`},
		{"explicit version 2 checks only version 2", "POST", "/compatibility/subjects/testSubject/versions/2", body(transNoDefault), 200, `{"is_compatible":true}`},
		{"explicit version 1 checks only version 1", "POST", "/compatibility/subjects/testSubject/versions/1", body(transNoDefault), 200, `{"is_compatible":false}`},
		{"no version checks what registration would", "POST", "/compatibility/subjects/testSubject/versions?verbose=true", body(transNoDefault), 200,
			`~{oldSchemaVersion: 1}`},
		// RestApiTest.testCompatibilityInvalidVersion.
		{"RestApiTest.testCompatibilityInvalidVersion", "POST", "/compatibility/subjects/testSubject/versions/earliest", body(transNoDefault), 422, `~"error_code":42202`},
		// RestApiTest.testCompatibilityNonExistentVersion.
		{"RestApiTest.testCompatibilityNonExistentVersion", "POST", "/compatibility/subjects/testSubject/versions/100", body(transNoDefault), 404, `~"error_code":40402`},
		// RestApiTransitiveCompatibilityTest.validateTransitiveEffect.
		{"validateTransitiveEffect first", "PUT", "/config/other", `{"compatibility":"FULL_TRANSITIVE"}`, 200, `~FULL_TRANSITIVE`},
		{"validateTransitiveEffect v1", "POST", "/subjects/other/versions", body(transWithDefault), 200, `{"id":3}`},
		{"RestApiTransitiveCompatibilityTest.validateTransitiveEffect", "POST", "/subjects/other/versions", body(transNoDefault), 200, `{"id":4}`},

		// force=true skips the compatibility check (KafkaSchemaRegistry.register).
		{"force registers an incompatible schema", "POST", "/subjects/testSubject/versions?force=true", body(transNoDefault), 200, `{"id":4}`},
		{"force does not bypass READONLY", "PUT", "/mode/testSubject", `{"mode":"READONLY"}`, 200, `~READONLY`},
		{"forced registration refused read-only", "POST", "/subjects/testSubject/versions?force=true", body(`"long"`), 422, `~"error_code":42205`},
		{"back to read-write", "DELETE", "/mode/testSubject", "", 200, `~READONLY`},

		// RestApiTest.testGlobalConfigChange: DELETE /config reverts to the default and answers the old level.
		{"global FORWARD", "PUT", "/config", `{"compatibility":"FORWARD"}`, 200, `{"compatibility":"FORWARD"}`},
		{"RestApiTest.testGlobalConfigChange delete", "DELETE", "/config", "", 200, `{"compatibilityLevel":"FORWARD"}`},
		{"global reverted to the default", "GET", "/config", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
		{"deleting the default again answers it", "DELETE", "/config", "", 200, `{"compatibilityLevel":"BACKWARD"}`},

		// RestApiTest.testListSoftDeletedSubjectsAndSchemas, with the deleted flag.
		{"soft delete other v1", "DELETE", "/subjects/other/versions/1", "", 200, `1`},
		{"deleted flag on a soft-deleted version", "GET", "/subjects/other/versions/1?deleted=true", "", 200,
			`{"subject":"other","version":1,"id":3,"schema":` + canon(t, transWithDefault) + `,"deleted":true}`},
		{"deleted flag false on a live version", "GET", "/subjects/other/versions/2?deleted=true", "", 200, `~"deleted":false`},

		// GET /schemas (SchemasResource.getSchemas); RestApiTest.testBasic's latestOnly assertion.
		{"schemas latestOnly", "GET", "/schemas?latestOnly=true", "", 200, `[` +
			`{"subject":"*","version":1,"id":1,"schema":"\"string\"","deleted":false},` +
			`{"subject":"café","version":1,"id":1,"schema":"\"string\"","deleted":false},` +
			`{"subject":"other","version":2,"id":4,"schema":` + canon(t, transNoDefault) + `,"deleted":false},` +
			`{"subject":"testSubject","version":3,"id":4,"schema":` + canon(t, transNoDefault) + `,"deleted":false}]`},
		{"schemas by prefix", "GET", "/schemas?subjectPrefix=test", "", 200, `[` +
			`{"subject":"testSubject","version":1,"id":2,"schema":` + canon(t, transBase) + `,"deleted":false},` +
			`{"subject":"testSubject","version":2,"id":3,"schema":` + canon(t, transWithDefault) + `,"deleted":false},` +
			`{"subject":"testSubject","version":3,"id":4,"schema":` + canon(t, transNoDefault) + `,"deleted":false}]`},
		{"schemas without deleted", "GET", "/schemas?subjectPrefix=other", "", 200, `[{"subject":"other","version":2,"id":4,"schema":` + canon(t, transNoDefault) + `,"deleted":false}]`},
		{"schemas with deleted", "GET", "/schemas?subjectPrefix=other&deleted=true", "", 200, `[` +
			`{"subject":"other","version":1,"id":3,"schema":` + canon(t, transWithDefault) + `,"deleted":true},` +
			`{"subject":"other","version":2,"id":4,"schema":` + canon(t, transNoDefault) + `,"deleted":false}]`},
		{"schemas offset and limit", "GET", "/schemas?subjectPrefix=test&offset=1&limit=1", "", 200, `[{"subject":"testSubject","version":2,"id":3,"schema":` + canon(t, transWithDefault) + `,"deleted":false}]`},
		{"schemas offset past the end", "GET", "/schemas?offset=99", "", 200, `[]`},
		{"schemas ruleType: no rule sets here", "GET", "/schemas?ruleType=DOMAIN", "", 200, `[]`},
		{"schemas bad limit", "GET", "/schemas?limit=x", "", 400, `~"error_code":400`},

		// normalize is not implemented: refused with the reason.
		{"normalize refused on register", "POST", "/subjects/n/versions?normalize=true", body(`"int"`), 422, `~normalize=true is not supported`},
		{"normalize refused on lookup", "POST", "/subjects/n?normalize=true", body(`"int"`), 422, `~"error_code":42205`},
		{"normalize refused on compatibility", "POST", "/compatibility/subjects/n/versions?normalize=true", body(`"int"`), 422, `~"error_code":42205`},
		{"normalize=false is fine", "POST", "/subjects/n/versions?normalize=false", body(`"int"`), 200, `{"id":5}`},
	})
}

// TestLegacyIncompatibleErrorCode: Confluent 8.1 and earlier answered 409
// with error_code 409 (Errors.INCOMPATIBLE_SCHEMA_ERROR_CODE was
// CONFLICT.getStatusCode() until 8.2).
func TestLegacyIncompatibleErrorCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"current", nil, `"error_code":40901`},
		{"legacy", []Option{WithLegacyIncompatibleErrorCode()}, `"error_code":409,`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, NewServer(NewMemoryStore(), nil, tc.opts...), []step{
				{"v1", "POST", "/subjects/s/versions", body(transBase), 200, `{"id":1}`},
				{"incompatible", "POST", "/subjects/s/versions", body(transNoDefault), 409, "~" + tc.want},
			})
		})
	}
}

// TestMetadata ports RestApiTest.testGetClusterId and
// testGetSchemaRegistryServerVersion: the id is empty, the scope has an
// empty path and the clusters; the version reply has version and commitId.
func TestMetadata(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	get := func(path string) map[string]any {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	id := get("/v1/metadata/id")
	scope, _ := id["scope"].(map[string]any)
	clusters, _ := scope["clusters"].(map[string]any)
	if id["id"] != "" || scope == nil || len(scope["path"].([]any)) != 0 || clusters["schema-registry-cluster"] != GroupID {
		t.Errorf("/v1/metadata/id = %v", id)
	}
	if _, ok := clusters["kafka-cluster"]; !ok {
		t.Errorf("/v1/metadata/id has no kafka-cluster: %v", id)
	}
	v := get("/v1/metadata/version")
	if s, _ := v["version"].(string); strings.TrimSpace(s) == "" {
		t.Errorf("/v1/metadata/version = %v", v)
	}
	if _, ok := v["commitId"].(string); !ok {
		t.Errorf("/v1/metadata/version has no commitId: %v", v)
	}
}
