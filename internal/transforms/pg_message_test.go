package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// pgMessageEvent is the shape of the PostgreSQL connector's message event
// (io.debezium.connector.postgresql.MessageValue) that
// DecodeLogicalDecodingMessageContentTest reads from a live server.
func pgMessageEvent(content string) *connect.Record {
	source := connect.StructBuilder().Name("io.debezium.connector.postgresql.Source").Field("table", prim(connect.String)).MustBuild()
	message := connect.StructBuilder().Name("io.debezium.connector.postgresql.Message").Field("prefix", prim(connect.String)).Field("content", optPrim(connect.Bytes)).MustBuild()
	s := connect.StructBuilder().Name(pgMessageValueSchema).Field("op", prim(connect.String)).Field("ts_ms", optPrim(connect.Int64)).
		Field("source", source).Field("message", message).MustBuild()
	key := connect.StructBuilder().Name("io.debezium.connector.postgresql.MessageKey").Field("prefix", prim(connect.String)).MustBuild()
	return &connect.Record{Topic: "test_server.message", KeySchema: key, Key: structOf(key, "foo"), ValueSchema: s,
		Value: structOf(s, "m", int64(1), structOf(source, ""), structOf(message, "foo", []byte(content)))}
}

// Cases from DecodeLogicalDecodingMessageContentTest.
func TestDecodeLogicalDecodingMessageContent(t *testing.T) {
	t.Run("shouldFailWhenLogicalDecodingMessageContentIsEmptyString", func(t *testing.T) {
		_, err := newT(t, DecodeLogicalDecodingMessageContentClass, nil).Apply(pgMessageEvent(""))
		checkErr(t, err, "Unable to parse logical decoding message content JSON string ''")
	})
	cases := []struct {
		name, content string
		props         map[string]string
		fields        int
		want          map[string]any
	}{
		{"shouldConvertRecordWithNonTransactionalLogicalDecodingMessageWithEmptyContent", "{}", nil, 0, nil},
		{"shouldConvertRecordWithTransactionalLogicalDecodingMessageWithContentNotIncludingNullField", `{"bar": "baz", "qux": 9703, "quux": null}`, nil, 2,
			map[string]any{"bar": "baz", "qux": int32(9703)}},
		{"shouldConvertRecordWithTransactionalLogicalDecodingMessageWithContentIncludingNullField", `{"bar": "baz", "qux": 9703, "quux": null}`,
			map[string]string{"fields.null.include": "true"}, 3, map[string]any{"bar": "baz", "qux": int32(9703), "quux": nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := apply(t, newT(t, DecodeLogicalDecodingMessageContentClass, c.props), pgMessageEvent(c.content))
			v := out.Value.(*connect.StructValue)
			if v.Get("op") != "c" || out.Key != nil || out.KeySchema != nil {
				t.Errorf("op %v key %v", v.Get("op"), out.Key)
			}
			if out.ValueSchema.Field("message") != nil || out.ValueSchema.Name != pgMessageValueSchema+".Envelope" {
				t.Errorf("schema %q fields %+v", out.ValueSchema.Name, out.ValueSchema.Fields)
			}
			wantVal(t, "source.table", v.Get("source").(*connect.StructValue).Get("table"), "")
			after := v.Get("after").(*connect.StructValue)
			if len(after.Schema.Fields) != c.fields {
				t.Fatalf("after fields %+v", after.Schema.Fields)
			}
			for k, w := range c.want {
				wantVal(t, k, after.Get(k), w)
			}
		})
	}
	in := productEvent("c", nil, product(1, 1, "x"))
	if apply(t, newT(t, DecodeLogicalDecodingMessageContentClass, nil), in) != in {
		t.Error("other records must pass unchanged")
	}
}
