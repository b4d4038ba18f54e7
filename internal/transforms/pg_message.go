package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// DecodeLogicalDecodingMessageContentClass is Debezium's PostgreSQL
// transform for pg_logical_emit_message events.
const DecodeLogicalDecodingMessageContentClass = "io.debezium.connector.postgresql.transforms.DecodeLogicalDecodingMessageContent"

const pgMessageValueSchema = "io.debezium.connector.postgresql.MessageValue"

// DecodeLogicalDecodingMessageContent turns a logical decoding message
// event (op "m", message.content holding JSON bytes) into a create event
// whose "after" is the decoded JSON, and drops its key.
//
// Unlike the other transforms it builds its output schema per record: the
// content's schema is inferred from each message's JSON, as in Debezium.
type DecodeLogicalDecodingMessageContent struct {
	json jsonSchemaData
}

func newDecodeLogicalDecodingMessageContent(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{boolProp("fields.null.include", false)}, props)
	if err != nil {
		return nil, err
	}
	return &DecodeLogicalDecodingMessageContent{json: jsonSchemaData{nullAsBytes: s.boolean("fields.null.include")}}, nil
}

// Apply implements Transform.
func (t *DecodeLogicalDecodingMessageContent) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.ValueSchema == nil || rec.ValueSchema.Name != pgMessageValueSchema {
		return rec, nil
	}
	v, err := requireStruct(rec.Value, "Retrieve a record value")
	if err != nil {
		return nil, err
	}
	msg, err := requireStruct(rawGet(v, "message"), "Retrieve content of a logical decoding message")
	if err != nil {
		return nil, err
	}
	cf := msg.Schema.Field("content")
	if cf == nil || cf.Schema.Type != connect.Bytes {
		return nil, fmt.Errorf("the content of a logical decoding message is non-binary")
	}
	content, _ := fieldValue(msg, *cf, true).([]byte)
	text := string(content)
	if !strings.HasPrefix(text, "{") && !strings.HasPrefix(text, "[") {
		return nil, dataErrorf("Unable to parse logical decoding message content JSON string '%s'", text)
	}
	node, err := parseJSON(text)
	if err != nil {
		return nil, fmt.Errorf("logical decoding message content: %w", err)
	}
	cs, err := t.json.jsonSchema("", node)
	if err != nil {
		return nil, fmt.Errorf("logical decoding message content: %w", err)
	}
	if cs == nil || cs.Type != connect.Struct {
		return nil, fmt.Errorf("logical decoding message content %q is not a JSON object", text)
	}
	after := jsonData(node, cs).(*connect.StructValue)
	b := connect.StructBuilder().Name(rec.ValueSchema.Name + ".Envelope")
	for _, f := range rec.ValueSchema.Fields {
		if f.Name != "message" {
			b.Field(f.Name, f.Schema)
		}
	}
	us, err := b.Field("after", cs).Build()
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(us)
	for i, f := range us.Fields {
		switch f.Name {
		case "after":
			out.Values[i] = after
		case "op":
			out.Values[i] = "c"
		default:
			out.Values[i] = fieldValue(v, *v.Schema.Field(f.Name), true)
		}
	}
	cp := *rec
	cp.KeySchema, cp.Key = nil, nil
	cp.ValueSchema, cp.Value = us, out
	return &cp, nil
}
