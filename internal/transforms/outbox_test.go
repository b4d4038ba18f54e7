package transforms

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// outboxEvent is EventRouterTest.createEventRecord: a create event of an
// outbox row (id, aggregatetype, aggregateid, type, payload, is_deleted
// plus extra fields) in an "event.Envelope".
func outboxEvent(op, eventID, eventType, aggregateID, aggregateType string, payload any, extra []connect.Field, extraVals map[string]any) *connect.Record {
	b := connect.StructBuilder().Field("id", prim(connect.String)).Field("aggregatetype", prim(connect.String)).
		Field("aggregateid", prim(connect.String)).Field("type", prim(connect.String)).Field("payload", optPrim(connect.String)).
		Field("is_deleted", optPrim(connect.Boolean))
	for _, f := range extra {
		b.Field(f.Name, f.Schema)
	}
	row := b.MustBuild()
	env := connect.StructBuilder().Name("event.Envelope").Field("before", row).Field("after", row).
		Field("source", connect.StructBuilder().MustBuild()).Field("op", prim(connect.String)).Field("ts_ms", optPrim(connect.Int64)).MustBuild()
	after := structOf(row, eventID, aggregateType, aggregateID, eventType, payload)
	for k, v := range extraVals {
		after.Set(k, v)
	}
	e := connect.NewStruct(env).Set("op", op).Set("ts_ms", int64(1588252618953))
	if op == "d" {
		e.Set("before", after)
	} else {
		e.Set("after", after)
	}
	return &connect.Record{Topic: "db.outbox", Partition: -1, ValueSchema: env, Value: e}
}

func defaultOutboxEvent() *connect.Record {
	return outboxEvent("c", "da8d6de6-3b77-45ff-8f44-57db55a7a06c", "UserCreated", "10711fa5", "User", "{}", nil, nil)
}

func header(rec *connect.Record, key string) *connect.Header {
	for i := range rec.Headers {
		if rec.Headers[i].Key == key {
			return &rec.Headers[i]
		}
	}
	return nil
}

// Cases from EventRouterTest (debezium-connect-plugins/src/test/java/io/
// debezium/transforms/outbox).
func TestEventRouter(t *testing.T) {
	router := func(t *testing.T, props map[string]string) Transform { return newT(t, EventRouterClass, props) }
	t.Run("canSkipTombstone", func(t *testing.T) {
		if out := apply(t, router(t, nil), &connect.Record{Topic: "test", Key: "k"}); out != nil {
			t.Error("tombstone must be dropped")
		}
	})
	t.Run("canSkipDeletion", func(t *testing.T) {
		in := outboxEvent("d", "da8d6de6", "UserCreated", "10711fa5", "User", "{}", nil, nil)
		if out := apply(t, router(t, nil), in); out != nil {
			t.Error("delete must be dropped")
		}
	})
	t.Run("canSkipMessagesWithoutDebeziumCdcEnvelope", func(t *testing.T) {
		for _, in := range []*connect.Record{
			{Topic: "test", ValueSchema: connect.StructBuilder().Field("a", prim(connect.String)).MustBuild(), Value: "x"},               // DueToMissingSchemaName
			{Topic: "test", ValueSchema: connect.StructBuilder().Name("event").Field("a", prim(connect.String)).MustBuild(), Value: "x"}, // DueToMissingSchemaNameSuffix
			{Topic: "test", Value: "x"}, // DueToMissingValueSchema
		} {
			if out := apply(t, router(t, nil), in); out != in {
				t.Error("non-envelope records must pass unchanged")
			}
		}
	})
	t.Run("canSkipUpdates", func(t *testing.T) {
		in := outboxEvent("u", "da8d6de6", "UserCreated", "10711fa5", "User", "{}", nil, nil)
		if out := apply(t, router(t, nil), in); out != nil {
			t.Error("update must be dropped")
		}
		_, err := router(t, map[string]string{"table.op.invalid.behavior": "fatal"}).Apply(in)
		checkErr(t, err, "unexpected update message")
	})
	t.Run("canExtractTableFields", func(t *testing.T) {
		out := apply(t, router(t, nil), defaultOutboxEvent())
		wantVal(t, "value", out.Value, "{}")
		if out.ValueSchema.Version != 0 {
			t.Error("no schema version expected")
		}
		h := header(out, "id")
		if h == nil || h.Value != "da8d6de6-3b77-45ff-8f44-57db55a7a06c" || h.Schema.Type != connect.String {
			t.Errorf("id header %+v", h)
		}
	})
	t.Run("canSetDefaultMessageKey", func(t *testing.T) {
		out := apply(t, router(t, nil), defaultOutboxEvent())
		if out.KeySchema.Type != connect.String || out.Key != "10711fa5" {
			t.Errorf("key %v %v", out.KeySchema, out.Key)
		}
	})
	t.Run("canSetMessageKey", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.field.event.key": "type"}), defaultOutboxEvent())
		wantVal(t, "key", out.Key, "UserCreated")
	})
	t.Run("canSetTimestampFromDebeziumEnvelopeByDefault", func(t *testing.T) {
		out := apply(t, router(t, nil), defaultOutboxEvent())
		if !out.Timestamp.Equal(time.UnixMilli(1588252618953)) {
			t.Errorf("timestamp %v", out.Timestamp)
		}
	})
	t.Run("canSetTimestampByUserDefinedConfiguration", func(t *testing.T) {
		tsSchema := connect.NewBuilder(connect.Int64).Name("io.debezium.time.Timestamp").Version(1).MustBuild()
		in := outboxEvent("c", "166080d9", "UserCreated", "420b186d", "User", "{}", []connect.Field{{Name: "event_timestamp", Schema: tsSchema}}, map[string]any{"event_timestamp": int64(14222264625338)})
		out := apply(t, router(t, map[string]string{"table.field.event.timestamp": "event_timestamp"}), in)
		if !out.Timestamp.Equal(time.UnixMilli(14222264625338)) {
			t.Errorf("timestamp %v", out.Timestamp)
		}
		if !in.Timestamp.IsZero() {
			t.Error("input record modified")
		}
	})
	t.Run("canRouteBasedOnField", func(t *testing.T) {
		tr := router(t, map[string]string{"route.by.field": "aggregatetype"})
		for _, c := range []struct{ typ, want string }{{"User", "outbox.event.User"}, {"Address", "outbox.event.Address"}} {
			out := apply(t, tr, outboxEvent("c", "ab720dd3", "X", "10711fa5", c.typ, "{}", nil, nil))
			if out.Topic != c.want {
				t.Errorf("topic %q, want %q", out.Topic, c.want)
			}
		}
	})
	t.Run("route.topic.regex/replacement", func(t *testing.T) {
		tr := router(t, map[string]string{"route.topic.regex": "(?<routedByValue>.*)", "route.topic.replacement": "${routedByValue}.events"})
		if out := apply(t, tr, defaultOutboxEvent()); out.Topic != "User.events" {
			t.Errorf("topic %q", out.Topic)
		}
	})
	t.Run("canSetPayloadTypeIntoTheEnvelope", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.fields.additional.placement": "type:envelope"}), defaultOutboxEvent())
		sv := out.Value.(*connect.StructValue)
		wantVal(t, "type", sv.Get("type"), "UserCreated")
		wantVal(t, "payload", sv.Get("payload"), "{}")
		if sv.Schema.Name != "User" {
			// an unnamed row schema: the envelope is named after the routed value
			t.Errorf("schema name %q", sv.Schema.Name)
		}
	})
	t.Run("canSetPayloadTypeIntoTheEnvelopeWithAlias", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.fields.additional.placement": "type:envelope:aggregateType"}), defaultOutboxEvent())
		wantVal(t, "aggregateType", out.Value.(*connect.StructValue).Get("aggregateType"), "UserCreated")
	})
	t.Run("canSetMultipleFieldsIntoTheEnvelope and a header", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.fields.additional.placement": "type:envelope:eventType,aggregatetype:envelope,type:header:eventType"}), defaultOutboxEvent())
		sv := out.Value.(*connect.StructValue)
		wantVal(t, "eventType", sv.Get("eventType"), "UserCreated")
		wantVal(t, "aggregatetype", sv.Get("aggregatetype"), "User")
		if h := header(out, "eventType"); h == nil || h.Value != "UserCreated" {
			t.Errorf("eventType header %+v", h)
		}
	})
	t.Run("canSetPartitionWithAdditionalFields", func(t *testing.T) {
		in := outboxEvent("c", "da8d6de6", "UserCreated", "10711fa5", "User", "{}", []connect.Field{{Name: "partition", Schema: prim(connect.Int32)}}, map[string]any{"partition": int32(3)})
		out := apply(t, router(t, map[string]string{"table.fields.additional.placement": "partition:partition"}), in)
		if out.Partition != 3 {
			t.Errorf("partition %d", out.Partition)
		}
	})
	t.Run("canMarkAnEventAsDeleted", func(t *testing.T) {
		tr := router(t, map[string]string{"table.fields.additional.placement": "is_deleted:envelope:deleted", "route.tombstone.on.empty.payload": "true"})
		out := apply(t, tr, outboxEvent("c", "da8d6de6", "UserCreated", "10711fa5", "User", "{}", nil, map[string]any{"is_deleted": true}))
		wantVal(t, "deleted", out.Value.(*connect.StructValue).Get("deleted"), true)
		out = apply(t, tr, outboxEvent("c", "da8d6de6", "UserCreated", "10711fa5", "User", "", nil, map[string]any{"is_deleted": true}))
		if out.Value != nil || out.ValueSchema != nil || out.Key != "10711fa5" {
			t.Errorf("tombstone expected, got %+v", out)
		}
	})
	t.Run("noTombstoneIfNotConfigured", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.fields.additional.placement": "is_deleted:envelope:deleted"}),
			outboxEvent("c", "da8d6de6", "UserCreated", "10711fa5", "User", "", nil, map[string]any{"is_deleted": true}))
		if out.Value == nil {
			t.Error("value must be kept without route.tombstone.on.empty.payload")
		}
	})
	t.Run("canExpandJsonPayloadIfConfigured", func(t *testing.T) {
		payload := `{"fullName": "John Doe", "enabled": true, "rating": 4.9, "age": 42, "pets": ["dog", "cat"], "petObjects": [{"type": "dog"}, {"type": "cat"}]}`
		out := apply(t, router(t, map[string]string{"table.expand.json.payload": "true"}), outboxEvent("c", "da8d6de6", "UserCreated", "10711fa5", "User", payload, nil, nil))
		s := out.ValueSchema
		if s.Type != connect.Struct || len(s.Fields) != 6 {
			t.Fatalf("schema %+v", s)
		}
		for name, typ := range map[string]connect.Type{"fullName": connect.String, "enabled": connect.Boolean, "rating": connect.Float64, "age": connect.Int32, "pets": connect.Array} {
			if s.Field(name).Schema.Type != typ {
				t.Errorf("%s: %s, want %s", name, s.Field(name).Schema.Type, typ)
			}
		}
		if s.Fields[0].Name != "fullName" || s.Fields[5].Name != "petObjects" {
			t.Error("fields must keep the JSON document's order")
		}
		v := out.Value.(*connect.StructValue)
		wantVal(t, "fullName", v.Get("fullName"), "John Doe")
		wantVal(t, "rating", v.Get("rating"), 4.9)
		wantVal(t, "age", v.Get("age"), int32(42))
		wantVal(t, "pets", v.Get("pets"), []any{"dog", "cat"})
		pets := v.Get("petObjects").([]any)
		wantVal(t, "petObjects[1].type", pets[1].(*connect.StructValue).Get("type"), "cat")
	})
	t.Run("shouldExpandJSONPayloadWithEmptyArrayAndRemoveThatArray", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.expand.json.payload": "true"}), outboxEvent("c", "x", "T", "k", "User", `{"a": 1, "empty": []}`, nil, nil))
		if out.ValueSchema.Field("empty") != nil || out.ValueSchema.Field("a") == nil {
			t.Errorf("schema %+v", out.ValueSchema.Fields)
		}
		out = apply(t, router(t, map[string]string{"table.expand.json.payload": "true", "table.json.payload.empty.array.behavior": "optional_string"}),
			outboxEvent("c", "x", "T", "k", "User", `{"a": 1, "empty": []}`, nil, nil))
		if f := out.ValueSchema.Field("empty"); f == nil || f.Schema.Type != connect.Array || f.Schema.Value.Type != connect.String {
			t.Errorf("schema %+v", out.ValueSchema.Fields)
		}
	})
	t.Run("shouldNotExpandJSONPayloadIfNotConfigured", func(t *testing.T) {
		out := apply(t, router(t, nil), outboxEvent("c", "x", "T", "k", "User", `{"a": 1}`, nil, nil))
		wantVal(t, "value", out.Value, `{"a": 1}`)
	})
	t.Run("canSetFieldIntoTheEnvelopeWithMissingField", func(t *testing.T) {
		out := apply(t, router(t, map[string]string{"table.fields.additional.placement": "nonExistingField:envelope:alias", "table.field.additional.missing": "ignore"}), defaultOutboxEvent())
		if out.Value.(*connect.StructValue).Schema.Field("alias") != nil {
			t.Error("alias should not be in the struct")
		}
	})
	t.Run("shouldFailOnMissingField", func(t *testing.T) {
		_, err := router(t, map[string]string{"table.fields.additional.placement": "nonExistingField:envelope:alias"}).Apply(defaultOutboxEvent())
		checkErr(t, err, "unable to find field nonExistingField in event")
	})
	t.Run("config errors", func(t *testing.T) {
		_, err := newTErr(EventRouterClass, map[string]string{"table.fields.additional.placement": "a"})
		checkErr(t, err, "A comma-separated list of valid String pairs or trios is expected but got: a")
		_, err = newTErr(EventRouterClass, map[string]string{"route.topic.regex": "("})
		checkErr(t, err, "route.topic.regex: Invalid value ( for configuration route.topic.regex: Invalid regex")
		_, err = newTErr(EventRouterClass, map[string]string{"table.op.invalid.behavior": "explode"})
		checkErr(t, err, "Value must be one of warn, error, fatal")
		_, err = newTErr(EventRouterClass, map[string]string{"route.topic.replacement": "${nope}"})
		checkErr(t, err, "route.topic.replacement: Invalid value ${nope} for configuration route.topic.replacement: No group with name {nope}")
	})
	t.Run("missing payload field names it", func(t *testing.T) {
		_, err := router(t, map[string]string{"table.field.event.payload": "body"}).Apply(defaultOutboxEvent())
		checkErr(t, err, "unable to find payload field body in event")
	})
}
