package transforms

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf16"

	"github.com/tributary-io/tributary/connect"
)

// Debezium transform classes implemented in this file.
const (
	ExtractChangedRecordStateClass = "io.debezium.transforms.ExtractChangedRecordState"
	HeaderToValueClass             = "io.debezium.transforms.HeaderToValue"
	SchemaChangeEventFilterClass   = "io.debezium.transforms.SchemaChangeEventFilter"
	PartitionRoutingClass          = "io.debezium.transforms.partitions.PartitionRouting"
)

// ExtractChangedRecordState is io.debezium.transforms.ExtractChangedRecordState:
// headers listing the fields an update changed and/or left unchanged.
type ExtractChangedRecordState struct {
	changed, unchanged             string
	changedSchema, unchangedSchema *connect.Schema
}

func newExtractChangedRecordState(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{strProp("header.changed.name"), strProp("header.unchanged.name")}, props)
	if err != nil {
		return nil, err
	}
	t := &ExtractChangedRecordState{}
	if !s.isNull("header.changed.name") {
		t.changed = s.str("header.changed.name")
		t.changedSchema = connect.ArrayOf(connect.OptionalPrim(connect.String)).Optional().Name(t.changed).MustBuild()
	}
	if !s.isNull("header.unchanged.name") {
		t.unchanged = s.str("header.unchanged.name")
		t.unchangedSchema = connect.ArrayOf(connect.OptionalPrim(connect.String)).Optional().Name(t.unchanged).MustBuild()
	}
	return t, nil
}

// Apply implements Transform.
func (t *ExtractChangedRecordState) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil || !isEnvelope(rec.ValueSchema) {
		return rec, nil
	}
	env, err := requireStruct(rec.Value, "Record value should be struct.")
	if err != nil {
		return nil, err
	}
	changed, unchanged := []any{}, []any{}
	after, before := rawGet(env, "after"), rawGet(env, "before")
	if after != nil && before != nil {
		a, err := requireStruct(after, "After value should be struct.")
		if err != nil {
			return nil, err
		}
		b, err := requireStruct(before, "Before value should be struct.")
		if err != nil {
			return nil, err
		}
		for _, f := range a.Schema.Fields {
			// Values are compared by content (Java compares byte[] by
			// identity, so it reports every bytes column as changed).
			if connect.Equal(rawGet(a, f.Name), rawGet(b, f.Name)) {
				unchanged = append(unchanged, f.Name)
			} else {
				changed = append(changed, f.Name)
			}
		}
	}
	if strings.TrimSpace(t.changed) == "" && strings.TrimSpace(t.unchanged) == "" {
		return rec, nil
	}
	cp := *rec
	cp.Headers = append(make([]connect.Header, 0, len(rec.Headers)+2), rec.Headers...)
	if strings.TrimSpace(t.changed) != "" {
		cp.Headers = append(cp.Headers, connect.Header{Key: t.changed, Schema: t.changedSchema, Value: changed})
	}
	if strings.TrimSpace(t.unchanged) != "" {
		cp.Headers = append(cp.Headers, connect.Header{Key: t.unchanged, Schema: t.unchangedSchema, Value: unchanged})
	}
	return &cp, nil
}

// noBlankElements is Debezium's Field::notContainSpaceInAnyElement and
// notContainEmptyElements.
func noBlankElements(v string) string {
	for _, e := range strings.Split(v, ",") {
		switch {
		case strings.TrimSpace(e) == "":
			return "Cannot contain empty elements"
		case strings.ContainsAny(strings.TrimSpace(e), " \t"):
			return "Cannot contain spaces in elements: " + strings.TrimSpace(e)
		}
	}
	return ""
}

// HeaderToValue is io.debezium.transforms.HeaderToValue: copies or moves
// headers into value fields ("a.b" adds b to the struct a).
type HeaderToValue struct {
	fields, headers []string
	move            bool
	cache           schemaCache
}

func newHeaderToValue(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqList("headers").with(noBlankElements), reqList("fields").with(noBlankElements),
		reqStr("operation").with(enumCheck("move", "copy"))}, props)
	if err != nil {
		return nil, err
	}
	t := &HeaderToValue{fields: s.list("fields"), headers: s.list("headers"), move: strings.EqualFold(s.str("operation"), "move")}
	if len(t.fields) != len(t.headers) {
		return nil, &ConfigError{Property: "fields", Message: "'fields' config must have the same number of elements as 'headers' config."}
	}
	return t, nil
}

type newEntry struct {
	path   []string
	schema *connect.Schema
	value  any
}

// Apply implements Transform.
func (t *HeaderToValue) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil {
		return rec, nil
	}
	v, err := requireStruct(rec.Value, "Header field insertion")
	if err != nil {
		return nil, err
	}
	var entries []newEntry
	for _, h := range rec.Headers {
		for i, name := range t.headers {
			if name == h.Key {
				entries = append(entries, newEntry{path: strings.Split(t.fields[i], "."), schema: h.Schema, value: h.Value})
				break
			}
		}
	}
	if len(entries) == 0 {
		return rec, nil
	}
	us, err := t.cache.get(v.Schema, func(s *connect.Schema) (*connect.Schema, error) { return addEntriesSchema(s, entries) })
	if err != nil {
		return nil, err
	}
	cp := *rec
	cp.ValueSchema, cp.Value = us, addEntriesValue(v, us, entries)
	if t.move {
		var kept []connect.Header
		for _, h := range rec.Headers {
			moved := false
			for _, name := range t.headers {
				moved = moved || name == h.Key
			}
			if !moved {
				kept = append(kept, h)
			}
		}
		cp.Headers = kept
	}
	return &cp, nil
}

// addEntriesSchema is ConnectRecordUtil.makeNewSchema: existing fields are
// kept (nested structs extended), new top-level fields appended, and new
// parents for dotted names created as optional structs.
func addEntriesSchema(s *connect.Schema, entries []newEntry) (*connect.Schema, error) {
	b := structBuilder(s).SetOptional(s.Optional)
	for _, f := range s.Fields {
		var sub []newEntry
		for _, e := range entries {
			if len(e.path) > 1 && e.path[0] == f.Name {
				sub = append(sub, newEntry{path: e.path[1:], schema: e.schema})
			}
		}
		if len(sub) == 0 {
			b.Field(f.Name, f.Schema)
			continue
		}
		if f.Schema.Type != connect.Struct {
			return nil, fmt.Errorf("field '%s' is a primitive type, not a struct. Cannot add nested field '%s.%s'", f.Name, f.Name, strings.Join(sub[0].path, "."))
		}
		ns, err := addEntriesSchema(f.Schema, sub)
		if err != nil {
			return nil, err
		}
		b.Field(f.Name, ns)
	}
	added := map[string]bool{}
	for _, e := range entries {
		name := e.path[0]
		if s.Field(name) != nil || added[name] {
			continue
		}
		added[name] = true
		if len(e.path) == 1 {
			b.Field(name, e.schema)
			continue
		}
		var sub []newEntry
		for _, o := range entries {
			if len(o.path) > 1 && o.path[0] == name {
				sub = append(sub, newEntry{path: o.path[1:], schema: o.schema})
			}
		}
		parent, err := addEntriesSchema(connect.StructBuilder().Optional().MustBuild(), sub)
		if err != nil {
			return nil, err
		}
		b.Field(name, parent)
	}
	return b.Build()
}

func addEntriesValue(v *connect.StructValue, s *connect.Schema, entries []newEntry) *connect.StructValue {
	out := connect.NewStruct(s)
	for i, f := range s.Fields {
		var sub []newEntry
		var direct *newEntry
		for j, e := range entries {
			if e.path[0] != f.Name {
				continue
			}
			if len(e.path) == 1 {
				direct = &entries[j]
			} else {
				sub = append(sub, newEntry{path: e.path[1:], schema: e.schema, value: e.value})
			}
		}
		var old any
		if v != nil {
			if of := v.Schema.Field(f.Name); of != nil {
				old = v.Values[of.Index]
			}
		}
		switch {
		case direct != nil && (v == nil || v.Schema.Field(f.Name) == nil):
			out.Values[i] = direct.value
		case len(sub) > 0:
			ov, _ := old.(*connect.StructValue)
			out.Values[i] = addEntriesValue(ov, f.Schema, sub)
		default:
			out.Values[i] = old
		}
	}
	return out
}

// schemaChangeTypes are Debezium's SchemaChangeEvent.SchemaChangeEventType.
var schemaChangeTypes = []string{"CREATE", "ALTER", "DROP", "TRUNCATE", "DATABASE"}

// SchemaChangeEventFilter is io.debezium.transforms.SchemaChangeEventFilter:
// drops schema change events of the listed types.
type SchemaChangeEventFilter struct{ exclude map[string]bool }

func newSchemaChangeEventFilter(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{reqStr("schema.change.event.exclude.list").with(func(v string) string {
		for _, e := range strings.Split(v, ",") {
			if enumCheck(schemaChangeTypes...)(e) != "" || strings.TrimSpace(e) != strings.ToUpper(strings.TrimSpace(e)) {
				return fmt.Sprintf("No enum constant io.debezium.schema.SchemaChangeEvent.SchemaChangeEventType.%s (one of %s)", strings.TrimSpace(e), strings.Join(schemaChangeTypes, ", "))
			}
		}
		return ""
	})}, props)
	if err != nil {
		return nil, err
	}
	t := &SchemaChangeEventFilter{exclude: map[string]bool{}}
	for _, e := range strings.Split(s.str("schema.change.event.exclude.list"), ",") {
		t.exclude[strings.TrimSpace(e)] = true
	}
	return t, nil
}

// Apply implements Transform.
func (t *SchemaChangeEventFilter) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil || rec.ValueSchema == nil || !strings.HasSuffix(rec.ValueSchema.Name, ".SchemaChangeValue") {
		return rec, nil
	}
	v, err := requireStruct(rec.Value, "Read schema change event to filter")
	if err != nil {
		return nil, err
	}
	changes, _ := rawGet(v, "tableChanges").([]any)
	if changes == nil {
		return nil, nil
	}
	typ := "DATABASE"
	if len(changes) > 0 {
		c, err := requireStruct(changes[0], "Read schema change event to filter")
		if err != nil {
			return nil, err
		}
		typ, _ = rawGet(c, "type").(string)
	}
	if t.exclude[typ] {
		return nil, nil
	}
	return rec, nil
}

// PartitionRouting is io.debezium.transforms.partitions.PartitionRouting:
// the partition is the Java hash of the listed payload fields modulo
// partition.topic.num.
type PartitionRouting struct {
	fields     [][]string
	partitions int
}

func newPartitionRouting(props map[string]string) (Transform, error) {
	s, err := parseProps([]prop{
		reqList("partition.payload.fields").with(func(v string) string {
			for _, e := range strings.Split(v, ",") {
				if strings.TrimSpace(e) == "" {
					return "Cannot contain empty elements"
				}
			}
			return ""
		}),
		{name: "partition.topic.num", kind: kInt, required: true, check: func(v string) string {
			if n := strings.TrimSpace(v); strings.HasPrefix(n, "-") || n == "0" {
				return "A positive integer is expected"
			}
			return ""
		}},
		defStr("partition.hash.function", "java"),
	}, props)
	if err != nil {
		return nil, err
	}
	if h := strings.ToLower(strings.TrimSpace(s.str("partition.hash.function"))); h == "murmur" {
		return nil, invalidValue("partition.hash.function", s.str("partition.hash.function"), "murmur is not supported by Tributary; use java (the default)")
	}
	t := &PartitionRouting{partitions: s.integer("partition.topic.num")}
	for _, f := range s.list("partition.payload.fields") {
		parts := strings.Split(f, ".")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		t.fields = append(t.fields, parts)
	}
	return t, nil
}

// Apply implements Transform.
func (t *PartitionRouting) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Value == nil || !isEnvelope(rec.ValueSchema) {
		return rec, nil
	}
	env, ok := rec.Value.(*connect.StructValue)
	if !ok {
		return nil, fmt.Errorf("unprocessable message: value is %T, not a struct", rec.Value)
	}
	op, _ := rawGet(env, "op").(string)
	if op == "t" || op == "m" {
		return rec, nil
	}
	total := int32(0)
	found := false
	for _, path := range t.fields {
		v := envelopePath(env, path, op)
		if v == nil {
			continue
		}
		h, err := javaHashCode(v)
		if err != nil {
			return nil, fmt.Errorf("partition.payload.fields %s: %w", strings.Join(path, "."), err)
		}
		total += h
		found = true
	}
	if !found {
		return rec, nil
	}
	n := total & math.MaxInt32
	if n == math.MaxInt32 {
		n = 0
	}
	cp := *rec
	cp.Partition = n % int32(t.partitions)
	return &cp, nil
}

// envelopePath reads a dotted path of the envelope; "change" is after, or
// before for deletes. A missing field yields nil (the field is not used).
func envelopePath(env *connect.StructValue, path []string, op string) any {
	cur := env
	for i, step := range path {
		if step == "change" && i < len(path)-1 {
			step = "after"
			if op == "d" {
				step = "before"
			}
		}
		f := cur.Schema.Field(step)
		if f == nil {
			return nil
		}
		v := fieldValue(cur, *f, true)
		if i == len(path)-1 {
			return v
		}
		next, ok := v.(*connect.StructValue)
		if !ok || next == nil {
			return nil
		}
		cur = next
	}
	return nil
}

// javaHashCode is Object.hashCode for the value types a partition key
// holds.
func javaHashCode(v any) (int32, error) {
	switch x := v.(type) {
	case string:
		var h int32
		for _, c := range utf16.Encode([]rune(x)) {
			h = 31*h + int32(c)
		}
		return h, nil
	case int8:
		return int32(x), nil
	case int16:
		return int32(x), nil
	case int32:
		return x, nil
	case int64:
		return int32(x ^ int64(uint64(x)>>32)), nil
	case bool:
		if x {
			return 1231, nil
		}
		return 1237, nil
	case float32:
		return int32(math.Float32bits(x)), nil
	case float64:
		b := math.Float64bits(x)
		return int32(b ^ b>>32), nil
	}
	return 0, fmt.Errorf("cannot hash a %s as Java does", className(v))
}
