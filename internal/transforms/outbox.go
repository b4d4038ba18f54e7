package transforms

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// EventRouterClass is Debezium's outbox event router.
const EventRouterClass = "io.debezium.transforms.outbox.EventRouter"

type additionalField struct {
	field, placement, alias string
}

// EventRouter is io.debezium.transforms.outbox.EventRouter: it turns
// change events of an outbox table into the events the rows hold, routed
// to a topic per aggregate type, keyed by the aggregate id, with the event
// id in the "id" header.
type EventRouter struct {
	logger                                   *slog.Logger
	fieldID, fieldKey, fieldPayload, fieldTS string
	fieldVersion, routeBy                    string
	invalidOp                                string
	additional                               []additionalField
	ignoreMissing                            bool
	onlyHeaders                              bool
	tombstoneOnEmpty, expandJSON             bool
	jsonSchemaData
	router  *RegexRouter
	mu      sync.Mutex
	schemas map[outboxSchemaKey]*connect.Schema
}

type outboxSchemaKey struct {
	row, payload *connect.Schema
	topic        string
	version      int
}

func enumCheck(options ...string) func(string) string {
	return func(v string) string {
		for _, o := range options {
			if strings.EqualFold(strings.TrimSpace(v), o) {
				return ""
			}
		}
		return "Value must be one of " + strings.Join(options, ", ")
	}
}

func newEventRouter(logger *slog.Logger) Factory {
	return func(props map[string]string) (Transform, error) {
		s, err := parseProps([]prop{
			defStr("table.field.event.id", "id"),
			defStr("table.field.event.key", "aggregateid"),
			defStr("table.field.event.type", "type"),
			defStr("table.field.event.payload", "payload"),
			strProp("table.field.event.timestamp"),
			strProp("table.fields.additional.placement").with(func(v string) string {
				for _, m := range strings.Split(v, ",") {
					if n := len(strings.Split(m, ":")); n != 2 && n != 3 {
						return "A comma-separated list of valid String pairs or trios is expected but got: " + v
					}
					parts := strings.Split(m, ":")
					if enumCheck("header", "envelope", "partition")(parts[1]) != "" {
						return fmt.Sprintf("unknown placement %q in %q (header, envelope or partition)", strings.TrimSpace(parts[1]), m)
					}
				}
				return ""
			}),
			defStr("table.field.additional.missing", "error").with(enumCheck("error", "ignore")),
			strProp("table.field.event.schema.version"),
			defStr("route.by.field", "aggregatetype"),
			defStr("route.topic.regex", "(?<routedByValue>.*)"),
			defStr("route.topic.replacement", "outbox.event.${routedByValue}"),
			boolProp("route.tombstone.on.empty.payload", false),
			defStr("table.op.invalid.behavior", "warn").with(enumCheck("warn", "error", "fatal")),
			boolProp("table.expand.json.payload", false),
			defStr("table.json.payload.null.behavior", "ignore").with(enumCheck("ignore", "optional_bytes")),
			defStr("table.json.payload.empty.array.behavior", "ignore").with(enumCheck("ignore", "optional_string")),
			// Nothing is accepted without effect: tracing (OpenTelemetry)
			// is not implemented, nor is renaming expanded payload fields.
			strProp("tracing.span.context.field").with(unsupported("tracing (OpenTelemetry spans) is not implemented")),
			strProp("tracing.operation.name").with(unsupported("tracing (OpenTelemetry spans) is not implemented")),
			strProp("tracing.with.context.field.only").with(unsupported("tracing (OpenTelemetry spans) is not implemented")),
			strProp("field.name.adjustment.mode").with(func(v string) string {
				if v == "" || strings.EqualFold(v, "none") {
					return ""
				}
				return "not supported: only none (field names of an expanded payload are kept as they are)"
			}),
		}, props)
		if err != nil {
			return nil, err
		}
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		t := &EventRouter{logger: logger,
			fieldID: s.str("table.field.event.id"), fieldKey: s.str("table.field.event.key"), fieldPayload: s.str("table.field.event.payload"),
			fieldVersion: s.str("table.field.event.schema.version"), routeBy: s.str("route.by.field"),
			invalidOp:        strings.ToLower(s.str("table.op.invalid.behavior")),
			ignoreMissing:    strings.EqualFold(s.str("table.field.additional.missing"), "ignore"),
			tombstoneOnEmpty: s.boolean("route.tombstone.on.empty.payload"), expandJSON: s.boolean("table.expand.json.payload"),
			jsonSchemaData: jsonSchemaData{
				nullAsBytes:        strings.EqualFold(s.str("table.json.payload.null.behavior"), "optional_bytes"),
				emptyArrayAsString: strings.EqualFold(s.str("table.json.payload.empty.array.behavior"), "optional_string"),
			},
			schemas: map[outboxSchemaKey]*connect.Schema{},
		}
		if !s.isNull("table.field.event.timestamp") {
			t.fieldTS = s.str("table.field.event.timestamp")
		}
		// Java's (?<name>...) is Go's (?P<name>...).
		regex := javaNamedGroups(s.str("route.topic.regex"))
		if msg := regexCheck(regex); msg != "" {
			return nil, invalidValue("route.topic.regex", s.str("route.topic.regex"), msg)
		}
		r, err := newRegexRouter(map[string]string{"regex": regex, "replacement": s.str("route.topic.replacement")})
		if err != nil {
			if ce, ok := err.(*ConfigError); ok && ce.Property == "replacement" {
				return nil, invalidValue("route.topic.replacement", s.str("route.topic.replacement"), strings.SplitN(ce.Message, ": ", 2)[1])
			}
			return nil, err
		}
		t.router = r.(*RegexRouter)
		if !s.isNull("table.fields.additional.placement") {
			for _, m := range strings.Split(s.str("table.fields.additional.placement"), ",") {
				parts := strings.Split(m, ":")
				f := additionalField{field: strings.TrimSpace(parts[0]), placement: strings.ToLower(strings.TrimSpace(parts[1]))}
				f.alias = f.field
				if len(parts) == 3 {
					f.alias = strings.TrimSpace(parts[2])
				}
				t.additional = append(t.additional, f)
			}
		}
		t.onlyHeaders = true
		for _, f := range t.additional {
			if f.placement == "envelope" {
				t.onlyHeaders = false
			}
		}
		return t, nil
	}
}

var javaNamedGroup = regexp.MustCompile(`\(\?<([A-Za-z][A-Za-z0-9]*)>`)

func javaNamedGroups(re string) string { return javaNamedGroup.ReplaceAllString(re, "(?P<$1>") }

// Apply implements Transform.
func (t *EventRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil {
		return nil, nil
	}
	if !isEnvelope(rec.ValueSchema) {
		return rec, nil
	}
	env, err := requireStruct(rec.Value, "Detect Debezium Operation")
	if err != nil {
		return nil, err
	}
	op, _ := rawGet(env, "op").(string)
	switch op {
	case "d":
		return nil, nil
	case "u":
		switch t.invalidOp {
		case "fatal":
			return nil, fmt.Errorf("unexpected update message received %v, fail (table.op.invalid.behavior=fatal)", rec.Key)
		case "error":
			t.logger.Error("EventRouter: unexpected update message received and ignored", "topic", rec.Topic)
		default:
			t.logger.Warn("EventRouter: unexpected update message received and ignored", "topic", rec.Topic)
		}
		return nil, nil
	}
	afterF := rec.ValueSchema.Field("after")
	if afterF == nil {
		return nil, fmt.Errorf("envelope %s has no field \"after\"", rec.ValueSchema.Name)
	}
	event, err := requireStruct(fieldValue(env, *afterF, true), "Read Outbox Event")
	if err != nil {
		return nil, err
	}
	rowSchema := event.Schema
	payloadF := rowSchema.Field(t.fieldPayload)
	if payloadF == nil {
		return nil, fmt.Errorf("table.field.event.payload: unable to find payload field %s in event", t.fieldPayload)
	}
	ts, err := t.timestamp(env, event)
	if err != nil {
		return nil, err
	}
	idF := rowSchema.Field(t.fieldID)
	if idF == nil {
		return nil, fmt.Errorf("table.field.event.id: unable to find event-id field %s in event", t.fieldID)
	}
	payloadSchema, payload := payloadF.Schema, fieldValue(event, *payloadF, true)
	headers := append(make([]connect.Header, 0, len(rec.Headers)+1+len(t.additional)), rec.Headers...)
	headers = append(headers, connect.Header{Key: "id", Schema: idF.Schema, Value: fieldValue(event, *idF, true)})
	if t.expandJSON {
		if str, ok := payload.(string); ok {
			if s, v, err := t.expand(str); err != nil {
				t.logger.Warn("EventRouter: JSON expansion failed", "topic", rec.Topic, "error", err)
			} else {
				payloadSchema, payload = s, v
			}
		} else if payload != nil {
			t.logger.Warn("EventRouter: table.expand.json.payload is on but the payload is not a string", "topic", rec.Topic)
		}
	}
	routeF := rowSchema.Field(t.routeBy)
	if routeF == nil {
		return nil, fmt.Errorf("route.by.field: unable to find field %s in event", t.routeBy)
	}
	routed, _ := fieldValue(event, *routeF, true).(string)
	var valueSchema *connect.Schema
	var value *connect.StructValue
	if !t.onlyHeaders {
		version := 0
		if t.fieldVersion != "" {
			vf := rowSchema.Field(t.fieldVersion)
			if vf == nil {
				return nil, fmt.Errorf("table.field.event.schema.version: unable to find field %s in event", t.fieldVersion)
			}
			n, _ := fieldValue(event, *vf, true).(int32)
			version = int(n)
		}
		if valueSchema, err = t.valueSchema(payloadSchema, rowSchema, routed, version); err != nil {
			return nil, err
		}
		value = connect.NewStruct(valueSchema)
		value.Values[0] = payload
	}
	partition := int32(-1)
	for _, f := range t.additional {
		af := rowSchema.Field(f.field)
		if af == nil {
			if t.ignoreMissing {
				continue
			}
			return nil, fmt.Errorf("table.fields.additional.placement: unable to find field %s in event", f.field)
		}
		v := fieldValue(event, *af, true)
		switch f.placement {
		case "envelope":
			value.Set(f.alias, v)
		case "header":
			headers = append(headers, connect.Header{Key: f.alias, Schema: af.Schema, Value: v})
		case "partition":
			n, ok := v.(int32)
			if !ok && v != nil {
				return nil, fmt.Errorf("table.fields.additional.placement: partition field %s is %s, not int32", f.field, af.Schema)
			}
			if ok {
				partition = n
			}
		}
	}
	out := *rec
	out.Topic, out.Partition, out.Timestamp, out.Headers = routed, partition, ts, headers
	deleted := payload == nil || strings.TrimSpace(javaToString(payload)) == ""
	switch {
	case deleted && t.tombstoneOnEmpty:
		out.ValueSchema, out.Value = nil, nil
	case t.onlyHeaders:
		out.ValueSchema, out.Value = payloadSchema, payload
	default:
		out.ValueSchema, out.Value = valueSchema, value
	}
	out.KeySchema, out.Key = connect.Prim(connect.String), nil
	if kf := rowSchema.Field(t.fieldKey); kf != nil {
		out.KeySchema, out.Key = kf.Schema, fieldValue(event, *kf, true)
	}
	return t.router.Apply(&out)
}

// javaToString is the payload's toString() for the empty-payload check.
func javaToString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return "[B@" // a byte array is never empty in Java's toString
	}
	return fmt.Sprint(v)
}

func (t *EventRouter) timestamp(env, event *connect.StructValue) (time.Time, error) {
	envTS := func() time.Time {
		if ms, ok := rawGet(env, "ts_ms").(int64); ok {
			return time.UnixMilli(ms).UTC()
		}
		return time.Time{}
	}
	if t.fieldTS == "" {
		return envTS(), nil
	}
	f := event.Schema.Field(t.fieldTS)
	if f == nil {
		return time.Time{}, fmt.Errorf("table.field.event.timestamp: unable to find timestamp field %s in event", t.fieldTS)
	}
	v := fieldValue(event, *f, true)
	if v == nil {
		return envTS(), nil
	}
	n, ok := v.(int64)
	if !ok {
		if tm, isTime := v.(time.Time); isTime && f.Schema.Name == connect.TimestampName {
			return tm.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("table.field.event.timestamp: unsupported field type %s for event timestamp", f.Schema)
	}
	switch f.Schema.Name {
	case "io.debezium.time.Timestamp", connect.TimestampName:
		return time.UnixMilli(n).UTC(), nil
	case "io.debezium.time.MicroTimestamp":
		return time.UnixMilli(n / 1000).UTC(), nil
	case "io.debezium.time.NanoTimestamp":
		return time.UnixMilli(n / 1000000).UTC(), nil
	case "":
		return time.Time{}, fmt.Errorf("table.field.event.timestamp: unsupported field type %s (without logical schema name) for event timestamp", kafkaTypeName(f.Schema.Type))
	}
	return time.Time{}, fmt.Errorf("table.field.event.timestamp: unsupported field type %s for event timestamp", f.Schema.Name)
}

// valueSchema is the envelope schema {payload, additional envelope
// fields}, named after the row schema with the routed value inserted
// before its last segment. Debezium caches it by payload schema only (so
// the first routed value names it for good); here the routed value is part
// of the key, so each aggregate type gets its own name.
func (t *EventRouter) valueSchema(payload, row *connect.Schema, routed string, version int) (*connect.Schema, error) {
	key := outboxSchemaKey{row: row, payload: payload, topic: routed, version: version}
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.schemas[key]; ok {
		return s, nil
	}
	name := routed
	if row.Name != "" {
		if i := strings.LastIndexByte(row.Name, '.'); i >= 0 {
			name = row.Name[:i+1] + routed + "." + row.Name[i+1:]
		} else {
			name = routed + "." + row.Name
		}
	}
	b := connect.StructBuilder().Name(name).Field("payload", payload)
	if version != 0 {
		b.Version(version)
	}
	for _, f := range t.additional {
		if f.placement != "envelope" {
			continue
		}
		rf := row.Field(f.field)
		if rf == nil {
			if t.ignoreMissing {
				continue
			}
			return nil, fmt.Errorf("table.fields.additional.placement: unable to find field %s in event", f.field)
		}
		b.Field(f.alias, rf.Schema)
	}
	s, err := b.Build()
	if err != nil {
		return nil, err
	}
	if len(t.schemas) > 10000 {
		t.schemas = map[outboxSchemaKey]*connect.Schema{}
	}
	t.schemas[key] = s
	return s, nil
}

// jsonNode is a JSON value with object members in document order, as
// Jackson's ObjectNode keeps them (Go maps do not).
type jsonNode struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys  []string
	elems []jsonNode
	str   string
	num   json.Number
	b     bool
}

// parseJSON parses one JSON document keeping object member order.
func parseJSON(s string) (jsonNode, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	n, err := parseJSONNode(d)
	if err != nil {
		return n, err
	}
	if _, err := d.Token(); err != io.EOF {
		return n, fmt.Errorf("unexpected data after the JSON document")
	}
	return n, nil
}

func parseJSONNode(d *json.Decoder) (jsonNode, error) {
	tok, err := d.Token()
	if err != nil {
		return jsonNode{}, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := jsonNode{kind: 'o'}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return n, err
				}
				e, err := parseJSONNode(d)
				if err != nil {
					return n, err
				}
				n.keys = append(n.keys, kt.(string))
				n.elems = append(n.elems, e)
			}
			_, err := d.Token()
			return n, err
		case '[':
			n := jsonNode{kind: 'a'}
			for d.More() {
				e, err := parseJSONNode(d)
				if err != nil {
					return n, err
				}
				n.elems = append(n.elems, e)
			}
			_, err := d.Token()
			return n, err
		}
	case string:
		return jsonNode{kind: 's', str: v}, nil
	case json.Number:
		return jsonNode{kind: 'n', num: v}, nil
	case bool:
		return jsonNode{kind: 'b', b: v}, nil
	case nil:
		return jsonNode{kind: 'z'}, nil
	}
	return jsonNode{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// expand is Debezium's JsonSchemaData: a JSON object or array in a string
// payload becomes a struct (array) with a schema inferred from it.
func (t *EventRouter) expand(s string) (*connect.Schema, any, error) {
	if !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
		if s == "" {
			return nil, nil, fmt.Errorf("unable to parse an empty payload")
		}
		return nil, nil, fmt.Errorf("unable to parse payload starting with '%c'", s[0])
	}
	n, err := parseJSON(s)
	if err != nil {
		return nil, nil, err
	}
	schema, err := t.jsonSchema(t.fieldPayload, n)
	if err != nil {
		return nil, nil, err
	}
	if schema == nil {
		return nil, nil, fmt.Errorf("payload has no schema")
	}
	return schema, jsonData(n, schema), nil
}

func jsonNumberSchema(n json.Number) *connect.Schema {
	if i, err := n.Int64(); err == nil && !strings.ContainsAny(string(n), ".eE") {
		if i >= -1<<31 && i < 1<<31 {
			return optPrimS(connect.Int32)
		}
		return optPrimS(connect.Int64)
	}
	return optPrimS(connect.Float64)
}

func optPrimS(t connect.Type) *connect.Schema { return connect.OptionalPrim(t) }

// jsonSchemaData is Debezium's JsonSchemaData: the null and empty array
// behaviours of schema inference.
type jsonSchemaData struct {
	nullAsBytes, emptyArrayAsString bool
}

func (t *jsonSchemaData) jsonSchema(key string, n jsonNode) (*connect.Schema, error) {
	switch n.kind {
	case 's':
		return optPrimS(connect.String), nil
	case 'b':
		return optPrimS(connect.Boolean), nil
	case 'n':
		return jsonNumberSchema(n.num), nil
	case 'z':
		if t.nullAsBytes {
			return optPrimS(connect.Bytes), nil
		}
		return nil, nil
	case 'a':
		if len(n.elems) == 0 {
			if t.emptyArrayAsString {
				return connect.ArrayOf(optPrimS(connect.String)).Optional().Build()
			}
			return nil, nil
		}
		var sample *jsonNode
		for i := range n.elems {
			e := &n.elems[i]
			if e.kind == 'z' {
				continue
			}
			if sample == nil {
				sample = e
			}
			if e.kind != sample.kind {
				return nil, fmt.Errorf("field is not a homogenous array")
			}
		}
		if sample == nil {
			return nil, fmt.Errorf("array has unrecognized member schema")
		}
		var elem *connect.Schema
		if sample.kind == 'o' {
			for _, e := range n.elems {
				if e.kind != 'o' {
					continue
				}
				es, err := t.jsonSchema(key, e)
				if err != nil {
					return nil, err
				}
				elem = mergeStructSchemas(elem, es)
			}
		} else {
			es, err := t.jsonSchema("", *sample)
			if err != nil {
				return nil, err
			}
			if es == nil {
				return nil, fmt.Errorf("array has unrecognized member schema")
			}
			elem = es
		}
		return connect.ArrayOf(elem).Optional().Build()
	case 'o':
		b := connect.StructBuilder().Name(key).Optional()
		seen := map[string]bool{}
		for i, k := range n.keys {
			fk := k
			if key != "" {
				fk = key + "." + k
			}
			fs, err := t.jsonSchema(fk, n.elems[i])
			if err != nil {
				return nil, err
			}
			if fs != nil && !seen[k] {
				seen[k] = true
				b.Field(k, fs)
			}
		}
		return b.Build()
	}
	return nil, nil
}

func mergeStructSchemas(left, right *connect.Schema) *connect.Schema {
	if left == nil {
		return right
	}
	var names []string
	fields := map[string]*connect.Schema{}
	for _, f := range left.Fields {
		names = append(names, f.Name)
		fields[f.Name] = f.Schema
	}
	for _, f := range right.Fields {
		old, ok := fields[f.Name]
		if !ok {
			names = append(names, f.Name)
			fields[f.Name] = f.Schema
		} else if old.Type == connect.Bytes && f.Schema.Type != connect.Bytes {
			fields[f.Name] = f.Schema
		}
	}
	b := copyBasics(left).SetOptional(left.Optional)
	for _, n := range names {
		b.Field(n, fields[n])
	}
	return b.MustBuild()
}

func jsonData(n jsonNode, s *connect.Schema) any {
	switch n.kind {
	case 'z':
		return nil
	case 's':
		return n.str
	case 'b':
		return n.b
	case 'n':
		switch s.Type {
		case connect.Int32:
			i, _ := n.num.Int64()
			return int32(i)
		case connect.Int64:
			i, _ := n.num.Int64()
			return i
		default:
			f, _ := n.num.Float64()
			return f
		}
	case 'a':
		out := make([]any, 0, len(n.elems))
		for _, e := range n.elems {
			out = append(out, jsonData(e, s.Value))
		}
		return out
	case 'o':
		v := connect.NewStruct(s)
		for i, k := range n.keys {
			if f := s.Field(k); f != nil {
				v.Values[f.Index] = jsonData(n.elems[i], f.Schema)
			}
		}
		return v
	}
	return nil
}

// unsupported is a property check that refuses any value, with why.
func unsupported(why string) func(string) string {
	return func(v string) string {
		if v == "" {
			return ""
		}
		return "not supported: " + why
	}
}
