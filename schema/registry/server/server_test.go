package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	userV1 = `{"type":"record","name":"User","namespace":"t","fields":[{"name":"id","type":"long"}]}`
	// userV2 adds a field with a default: backward compatible.
	userV2 = `{"type":"record","name":"User","namespace":"t","fields":[{"name":"id","type":"long"},{"name":"email","type":"string","default":""}]}`
	// userV3 adds a field without a default: not backward compatible.
	userV3 = `{"type":"record","name":"User","namespace":"t","fields":[{"name":"id","type":"long"},{"name":"age","type":"int"}]}`
)

// userV1Spaced is userV1 with different whitespace and attribute order: the
// same schema, so it must get the same id.
const userV1Spaced = `{ "namespace": "t", "type": "record",  "name": "User",
  "fields": [ { "type": "long", "name": "id" } ] }`

func body(schema string) string {
	b, _ := json.Marshal(map[string]string{"schema": schema})
	return string(b)
}

type step struct {
	name, method, path, body string
	status                   int
	// want is the exact JSON reply (compared after normalising), or, when it
	// starts with "~", a substring the raw reply must contain.
	want string
}

func run(t *testing.T, h http.Handler, steps []step) {
	t.Helper()
	for _, st := range steps {
		var rd io.Reader
		if st.body != "" {
			rd = strings.NewReader(st.body)
		}
		req := httptest.NewRequest(st.method, st.path, rd)
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Body.String()
		if rec.Code != st.status {
			t.Fatalf("%s: %s %s: status %d, want %d; body %s", st.name, st.method, st.path, rec.Code, st.status, got)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/vnd.schemaregistry.v1+json" {
			t.Errorf("%s: content type %q", st.name, ct)
		}
		if strings.HasPrefix(st.want, "~") {
			if !strings.Contains(got, st.want[1:]) {
				t.Errorf("%s: %s %s: body %s does not contain %s", st.name, st.method, st.path, got, st.want[1:])
			}
			continue
		}
		if !jsonEqual(got, st.want) {
			t.Errorf("%s: %s %s:\n got %s\nwant %s", st.name, st.method, st.path, strings.TrimSpace(got), st.want)
		}
	}
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return strings.TrimSpace(a) == strings.TrimSpace(b)
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func canon(t *testing.T, schema string) string {
	t.Helper()
	s, err := json.Marshal(mustCanonical(t, schema))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestEndpoints(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	v1, v2 := canon(t, userV1), canon(t, userV2)
	run(t, h, []step{
		{"root", "GET", "/", "", 200, `{}`},
		{"unknown path", "GET", "/nope", "", 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`},
		{"types", "GET", "/schemas/types", "", 200, `["AVRO","JSON","PROTOBUF"]`},
		{"no subjects", "GET", "/subjects", "", 200, `[]`},
		{"versions of unknown subject", "GET", "/subjects/users-value/versions", "", 404, `{"error_code":40401,"message":"Subject 'users-value' not found."}`},
		{"unknown subject version", "GET", "/subjects/users-value/versions/1", "", 404, `{"error_code":40401,"message":"Subject 'users-value' not found."}`},
		{"invalid version", "GET", "/subjects/users-value/versions/0", "", 422,
			`{"error_code":42202,"message":"The specified version '0' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""}`},
		{"invalid version text", "GET", "/subjects/users-value/versions/abc", "", 422, `~"error_code":42202`},
		{"unknown id", "GET", "/schemas/ids/1", "", 404, `{"error_code":40403,"message":"Schema 1 not found"}`},
		{"register invalid json schema", "POST", "/subjects/users-value/versions", body(`{"type":`), 422, `~"error_code":42201`},
		{"register invalid avro", "POST", "/subjects/users-value/versions", body(`{"type":"record","name":"R"}`), 422, `~"error_code":42201`},
		{"register empty schema", "POST", "/subjects/users-value/versions", `{"schema":""}`, 422, `{"error_code":42201,"message":"Empty schema"}`},
		{"register invalid protobuf", "POST", "/subjects/users-value/versions", `{"schema":"message {","schemaType":"PROTOBUF"}`, 422, `~"error_code":42201`},
		{"register unknown type", "POST", "/subjects/users-value/versions", `{"schema":"x","schemaType":"XML"}`, 422, `{"error_code":42201,"message":"Invalid schema type XML"}`},
		{"register with references", "POST", "/subjects/users-value/versions",
			`{"schema":"\"int\"","references":[{"name":"a","subject":"b","version":1}]}`, 422, `~"error_code":42201`},
		{"register bad body", "POST", "/subjects/users-value/versions", `not json`, 400, `~"error_code":400`},
		{"register v1", "POST", "/subjects/users-value/versions", body(userV1), 200, `{"id":1}`},
		{"register v1 again", "POST", "/subjects/users-value/versions", body(userV1Spaced), 200, `{"id":1}`},
		{"register v1 with explicit type and empty references", "POST", "/subjects/users-value/versions",
			`{"schema":` + v1 + `,"schemaType":"AVRO","references":[]}`, 200, `{"id":1}`},
		{"same schema, other subject, same id", "POST", "/subjects/other/versions", body(userV1), 200, `{"id":1}`},
		{"register v2", "POST", "/subjects/users-value/versions", body(userV2), 200, `{"id":2}`},
		{"incompatible v3", "POST", "/subjects/users-value/versions", body(userV3), 409,
			`~Schema being registered is incompatible with an earlier schema for subject \"users-value\", details: [{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'The field 'age' at path '/fields/1' in the new schema has no default value and is missing in the old schema', additionalInfo:'age'}, {oldSchemaVersion: 2}`},
		{"incompatible status code", "POST", "/subjects/users-value/versions", body(userV3), 409, `~"error_code":409`},
		{"subjects", "GET", "/subjects", "", 200, `["other","users-value"]`},
		{"versions", "GET", "/subjects/users-value/versions", "", 200, `[1,2]`},
		{"version 1", "GET", "/subjects/users-value/versions/1", "", 200, `{"subject":"users-value","version":1,"id":1,"schema":` + v1 + `,"deleted":false}`},
		{"latest", "GET", "/subjects/users-value/versions/latest", "", 200, `{"subject":"users-value","version":2,"id":2,"schema":` + v2 + `,"deleted":false}`},
		{"latest as -1", "GET", "/subjects/users-value/versions/-1", "", 200, `~"version":2`},
		{"missing version", "GET", "/subjects/users-value/versions/7", "", 404, `{"error_code":40402,"message":"Version 7 not found."}`},
		{"raw schema", "GET", "/subjects/users-value/versions/1/schema", "", 200, mustCanonical(t, userV1)},
		{"referenced by", "GET", "/subjects/users-value/versions/1/referencedby", "", 200, `[]`},
		{"schema by id", "GET", "/schemas/ids/2", "", 200, `{"schema":` + v2 + `}`},
		{"schema by id and subject", "GET", "/schemas/ids/1?subject=other", "", 200, `{"schema":` + v1 + `}`},
		{"schema by id, wrong subject", "GET", "/schemas/ids/2?subject=other", "", 404, `{"error_code":40403,"message":"Schema 2 not found"}`},
		{"schema by id with max id", "GET", "/schemas/ids/1?fetchMaxId=true", "", 200, `{"schema":` + v1 + `,"maxId":2}`},
		{"non-numeric id", "GET", "/schemas/ids/x", "", 404, `~"error_code":404`},
		{"id versions", "GET", "/schemas/ids/1/versions", "", 200, `[{"subject":"other","version":1},{"subject":"users-value","version":1}]`},
		{"id subjects", "GET", "/schemas/ids/1/subjects", "", 200, `["other","users-value"]`},
		{"lookup", "POST", "/subjects/users-value", body(userV1Spaced), 200, `{"subject":"users-value","version":1,"id":1,"schema":` + v1 + `,"deleted":false}`},
		{"lookup absent schema", "POST", "/subjects/users-value", body(userV3), 404, `{"error_code":40403,"message":"Schema not found"}`},
		{"lookup absent subject", "POST", "/subjects/nobody", body(userV1), 404, `{"error_code":40401,"message":"Subject 'nobody' not found."}`},
		{"lookup invalid schema", "POST", "/subjects/users-value", body(`"nope"`), 422, `~"error_code":42201`},

		{"global config default", "GET", "/config", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
		{"subject config unset", "GET", "/config/users-value", "", 404,
			`{"error_code":40408,"message":"Subject 'users-value' does not have subject-level compatibility configured"}`},
		{"subject config default to global", "GET", "/config/users-value?defaultToGlobal=true", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
		{"set invalid level", "PUT", "/config", `{"compatibility":"SIDEWAYS"}`, 422,
			`{"error_code":42203,"message":"Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive"}`},
		{"set subject level", "PUT", "/config/users-value", `{"compatibility":"none"}`, 200, `{"compatibility":"NONE"}`},
		{"get subject level", "GET", "/config/users-value", "", 200, `{"compatibilityLevel":"NONE"}`},
		{"compatibility test, NONE", "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", body(userV3), 200, `{"is_compatible":true,"messages":[]}`},
		{"delete subject level", "DELETE", "/config/users-value", "", 200, `{"compatibilityLevel":"NONE"}`},
		{"delete config of unknown subject", "DELETE", "/config/nobody", "", 404, `~"error_code":40401`},
		{"compatibility test", "POST", "/compatibility/subjects/users-value/versions/latest", body(userV3), 200, `{"is_compatible":false}`},
		{"compatibility test verbose", "POST", "/compatibility/subjects/users-value/versions/latest?verbose=true", body(userV3), 200,
			`~"is_compatible":false,"messages":["{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'`},
		{"compatibility test ok", "POST", "/compatibility/subjects/users-value/versions/1?verbose=true", body(userV2), 200, `{"is_compatible":true,"messages":[]}`},
		{"compatibility test all versions", "POST", "/compatibility/subjects/users-value/versions", body(userV2), 200, `{"is_compatible":true}`},
		{"compatibility test unknown version", "POST", "/compatibility/subjects/users-value/versions/9", body(userV2), 404, `~"error_code":40402`},
		{"compatibility test bad version", "POST", "/compatibility/subjects/users-value/versions/x", body(userV2), 422, `~"error_code":42202`},
		{"compatibility test new subject", "POST", "/compatibility/subjects/fresh/versions/latest", body(userV2), 200, `{"is_compatible":true}`},
		{"compatibility test invalid schema", "POST", "/compatibility/subjects/users-value/versions/latest", body(`{}`), 422, `~"error_code":42201`},
		{"set global FULL", "PUT", "/config", `{"compatibility":"FULL"}`, 200, `{"compatibility":"FULL"}`},
		{"global is FULL", "GET", "/config", "", 200, `{"compatibilityLevel":"FULL"}`},
		{"FULL rejects a new field without default", "POST", "/subjects/users-value/versions", body(userV3), 409, `~{compatibility: 'FULL'}`},
		{"set global BACKWARD", "PUT", "/config", `{"compatibility":"BACKWARD"}`, 200, `{"compatibility":"BACKWARD"}`},

		{"global mode", "GET", "/mode", "", 200, `{"mode":"READWRITE"}`},
		{"subject mode unset", "GET", "/mode/users-value", "", 404,
			`{"error_code":40409,"message":"Subject 'users-value' does not have subject-level mode configured"}`},
		{"subject mode default", "GET", "/mode/users-value?defaultToGlobal=true", "", 200, `{"mode":"READWRITE"}`},
		{"invalid mode", "PUT", "/mode", `{"mode":"SIDEWAYS"}`, 422, `~"error_code":42204`},
		{"import refused with subjects", "PUT", "/mode", `{"mode":"IMPORT"}`, 422, `{"error_code":42205,"message":"Cannot import since found existing subjects"}`},
		{"subject read-only", "PUT", "/mode/users-value", `{"mode":"READONLY"}`, 200, `{"mode":"READONLY"}`},
		{"subject mode", "GET", "/mode/users-value", "", 200, `{"mode":"READONLY"}`},
		{"register refused read-only", "POST", "/subjects/users-value/versions", body(userV2), 422, `{"error_code":42205,"message":"Subject users-value is in read-only mode"}`},
		{"delete refused read-only", "DELETE", "/subjects/users-value", "", 422, `~"error_code":42205`},
		{"other subject still writable", "POST", "/subjects/other/versions", body(userV2), 200, `{"id":2}`},
		{"delete subject mode", "DELETE", "/mode/users-value", "", 200, `{"mode":"READONLY"}`},
		{"delete unset subject mode", "DELETE", "/mode/users-value", "", 404, `~"error_code":40409`},

		{"permanent version delete before soft", "DELETE", "/subjects/users-value/versions/1?permanent=true", "", 404,
			`{"error_code":40407,"message":"Subject 'users-value' Version 1 was not deleted first before being permanently deleted"}`},
		{"soft delete version", "DELETE", "/subjects/users-value/versions/1", "", 200, `1`},
		{"soft delete version again", "DELETE", "/subjects/users-value/versions/1", "", 404,
			`{"error_code":40406,"message":"Subject 'users-value' Version 1 was soft deleted.Set permanent=true to delete permanently"}`},
		{"deleted version hidden", "GET", "/subjects/users-value/versions/1", "", 404, `~"error_code":40402`},
		{"deleted version visible with deleted=true", "GET", "/subjects/users-value/versions/1?deleted=true", "", 200, `~"version":1`},
		{"versions without deleted", "GET", "/subjects/users-value/versions", "", 200, `[2]`},
		{"versions with deleted", "GET", "/subjects/users-value/versions?deleted=true", "", 200, `[1,2]`},
		{"soft-deleted schema still fetchable by id", "GET", "/schemas/ids/1?subject=users-value", "", 200, `~"schema"`},
		{"permanent version delete", "DELETE", "/subjects/users-value/versions/1?permanent=true", "", 200, `1`},
		{"permanently deleted version gone", "GET", "/subjects/users-value/versions/1?deleted=true", "", 404, `~"error_code":40402`},
		{"permanent subject delete before soft", "DELETE", "/subjects/users-value?permanent=true", "", 404,
			`{"error_code":40405,"message":"Subject 'users-value' was not deleted first before being permanently deleted"}`},
		{"soft delete subject", "DELETE", "/subjects/users-value", "", 200, `[2]`},
		{"soft delete subject again", "DELETE", "/subjects/users-value", "", 404,
			`{"error_code":40404,"message":"Subject 'users-value' was soft deleted.Set permanent=true to delete permanently"}`},
		{"subjects after soft delete", "GET", "/subjects", "", 200, `["other"]`},
		{"subjects with deleted", "GET", "/subjects?deleted=true", "", 200, `["other","users-value"]`},
		{"lookup soft-deleted", "POST", "/subjects/users-value?deleted=true", body(userV2), 200, `~"version":2`},
		{"re-register after soft delete gets next version", "POST", "/subjects/users-value/versions", body(userV2), 200, `{"id":2}`},
		{"versions after re-register", "GET", "/subjects/users-value/versions", "", 200, `[3]`},
		{"soft delete subject once more", "DELETE", "/subjects/users-value", "", 200, `[3]`},
		{"permanent subject delete", "DELETE", "/subjects/users-value?permanent=true", "", 200, `[2,3]`},
		{"subject gone", "GET", "/subjects?deleted=true", "", 200, `["other"]`},
		{"delete unknown subject", "DELETE", "/subjects/users-value", "", 404, `~"error_code":40401`},
		{"delete unknown version", "DELETE", "/subjects/other/versions/9", "", 404, `~"error_code":40402`},
		{"delete invalid version", "DELETE", "/subjects/other/versions/0", "", 422, `~"error_code":42202`},
		{"id still used by other subject", "GET", "/schemas/ids/2/versions", "", 200, `[{"subject":"other","version":2}]`},
	})
}

func TestImportMode(t *testing.T) {
	h := NewServer(NewMemoryStore(), nil)
	run(t, h, []step{
		{"import mode on empty registry", "PUT", "/mode", `{"mode":"IMPORT"}`, 200, `{"mode":"IMPORT"}`},
		{"import with id and version", "POST", "/subjects/s/versions", `{"schema":"\"int\"","id":42,"version":5}`, 200, `{"id":42}`},
		// Import skips compatibility: a string may follow an int.
		{"import incompatible", "POST", "/subjects/s/versions", `{"schema":"\"string\"","id":43,"version":6}`, 200, `{"id":43}`},
		{"import id clash", "POST", "/subjects/t/versions", `{"schema":"\"long\"","id":42}`, 422, `~Overwrite new schema with id 42`},
		{"imported version", "GET", "/subjects/s/versions/5", "", 200, `{"subject":"s","version":5,"id":42,"schema":"\"int\"","deleted":false}`},
		{"back to read-write", "PUT", "/mode", `{"mode":"READWRITE"}`, 200, `{"mode":"READWRITE"}`},
		{"ids continue after imported ones", "POST", "/subjects/u/versions", body(`"long"`), 200, `{"id":44}`},
		{"re-registering an imported schema returns its id", "POST", "/subjects/s/versions", body(`"string"`), 200, `{"id":43}`},
		{"id outside import mode", "POST", "/subjects/u/versions", `{"schema":"\"double\"","id":99}`, 422, `~"error_code":42205`},
		{"read-only globally", "PUT", "/mode", `{"mode":"READONLY"}`, 200, `{"mode":"READONLY"}`},
		{"register refused", "POST", "/subjects/v/versions", body(`"int"`), 422, `~read-only`},
	})
}

// TestLogFormat pins the records written to the store to Confluent's key
// and value layout, which other registries sharing the topic parse.
func TestLogFormat(t *testing.T) {
	m := NewMemoryStore()
	h := NewServer(m, nil)
	run(t, h, []step{
		{"register", "POST", "/subjects/s/versions", body(`"int"`), 200, `{"id":1}`},
		{"config", "PUT", "/config", `{"compatibility":"FULL"}`, 200, `{"compatibility":"FULL"}`},
		{"subject config", "PUT", "/config/s", `{"compatibility":"NONE"}`, 200, `{"compatibility":"NONE"}`},
		{"mode", "PUT", "/mode/s", `{"mode":"READWRITE"}`, 200, `{"mode":"READWRITE"}`},
		{"soft delete", "DELETE", "/subjects/s", "", 200, `[1]`},
		{"hard delete", "DELETE", "/subjects/s?permanent=true", "", 200, `[1]`},
	})
	var lines []string
	for _, r := range m.Log() {
		v := "null"
		if r.Value != nil {
			v = string(r.Value)
		}
		lines = append(lines, string(r.Key)+" "+v)
	}
	golden(t, "testdata/log_format.golden", strings.Join(lines, "\n")+"\n")
}
