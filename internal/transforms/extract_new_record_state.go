package transforms

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
)

// ExtractNewRecordStateClass is Debezium's class name; "unwrap" is the
// alias most deployments use for it.
const ExtractNewRecordStateClass = "io.debezium.transforms.ExtractNewRecordState"

// DeletedField is the field rewrite modes add ("__deleted").
const DeletedField = "__deleted"

// deleteMode is what becomes of a delete event (op=d).
type deleteMode int

const (
	deleteDrop        deleteMode = iota // removed from the stream
	deleteNullValue                     // value null but value schema kept: a "flattened delete"
	deleteToTombstone                   // value and value schema null
	deleteRewrite                       // the before image with __deleted=true
)

// ExtractNewRecordState is io.debezium.transforms.ExtractNewRecordState as
// of Debezium 3.6.1: it replaces a change-event envelope by its "after"
// row (or "before" for rewritten deletes), optionally adding envelope
// fields as value fields or headers.
type ExtractNewRecordState struct {
	deletes            deleteMode
	keepTombstones     bool
	rewrite            bool
	routeByField       string
	addFields          []fieldRef
	addHeaders         []fieldRef
	replaceNullDefault bool
	dropFieldsHeader   string
	dropFieldsFromKey  bool
	dropKeepCompatible bool

	// Schemas derived from input schemas, built once rather than per
	// record.
	deletedSchemas schemaCache
	plansMu        sync.Mutex
	plans          map[[2]*connect.Schema]*addFieldsPlan
}

// ExtractNewRecordStateDef lists the transform's properties. The removed
// Debezium 2.x options delete.handling.mode and drop.tombstones are
// accepted because Debezium 3.6.1 tolerates them, but they have no effect
// there either; NewExtractNewRecordState warns about them.
func ExtractNewRecordStateDef() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "type", Required: true})
	d.Define(config.Key{Name: "delete.tombstone.handling.mode", Default: "tombstone",
		OneOf: []string{"drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"},
		Doc:   "what becomes of delete events and tombstones"})
	d.Define(config.Key{Name: "route.by.field", Doc: "value field whose content replaces the topic name"})
	d.Define(config.Key{Name: "add.fields.prefix", Default: "__"})
	d.Define(config.Key{Name: "add.fields", Type: config.TypeList})
	d.Define(config.Key{Name: "add.headers.prefix", Default: "__"})
	d.Define(config.Key{Name: "add.headers", Type: config.TypeList})
	d.Define(config.Key{Name: "replace.null.with.default", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "drop.fields.header.name"})
	d.Define(config.Key{Name: "drop.fields.from.key", Type: config.TypeBoolean, Default: "false"})
	d.Define(config.Key{Name: "drop.fields.keep.schema.compatible", Type: config.TypeBoolean, Default: "true"})
	d.Define(config.Key{Name: "delete.handling.mode", OneOf: []string{"none", "drop", "rewrite"}, Doc: "removed in Debezium 3.x, which ignores it; so does Tributary, logging a warning with the delete.tombstone.handling.mode to use instead"})
	d.Define(config.Key{Name: "drop.tombstones", Type: config.TypeBoolean, Doc: "removed in Debezium 3.x, which ignores it; so does Tributary, logging a warning with the delete.tombstone.handling.mode to use instead"})
	d.Define(config.Key{Name: "predicate"})
	d.Define(config.Key{Name: "negate", Type: config.TypeBoolean})
	return d
}

// NewExtractNewRecordState configures the transform from its properties
// (without the "transforms.<alias>." prefix). logger may be nil.
func NewExtractNewRecordState(props map[string]string, logger *slog.Logger) (*ExtractNewRecordState, error) {
	if _, ok := props[describeKey]; ok {
		return nil, &described{keys: ExtractNewRecordStateDef().Keys()}
	}
	v, err := ExtractNewRecordStateDef().Parse(props)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if v.IsSet("delete.handling.mode") || v.IsSet("drop.tombstones") {
		// Debezium 3.6.1 no longer reads these and silently uses
		// delete.tombstone.handling.mode; we do the same so events stay
		// identical, but say so loudly.
		logger.Warn("ExtractNewRecordState: delete.handling.mode and drop.tombstones were removed in Debezium 3.x and are ignored; set delete.tombstone.handling.mode instead (none→tombstone, rewrite→rewrite, drop→drop; drop.tombstones=false→rewrite-with-tombstone)",
			"delete.handling.mode", v.String("delete.handling.mode"), "drop.tombstones", v.String("drop.tombstones"),
			"delete.tombstone.handling.mode", v.Lower("delete.tombstone.handling.mode"))
	}
	t := &ExtractNewRecordState{
		routeByField:       v.String("route.by.field"),
		replaceNullDefault: v.Bool("replace.null.with.default"),
		dropFieldsHeader:   v.String("drop.fields.header.name"),
		dropFieldsFromKey:  v.Bool("drop.fields.from.key"),
		dropKeepCompatible: v.Bool("drop.fields.keep.schema.compatible"),
	}
	switch v.Lower("delete.tombstone.handling.mode") {
	case "drop":
		t.deletes = deleteDrop
	case "tombstone":
		t.deletes = deleteNullValue
	case "rewrite":
		t.deletes, t.rewrite = deleteRewrite, true
	case "rewrite-with-tombstone":
		t.deletes, t.rewrite, t.keepTombstones = deleteRewrite, true, true
	case "delete-to-tombstone":
		t.deletes = deleteToTombstone
	}
	if t.addFields, err = parseFieldRefs(v.String("add.fields.prefix"), v.List("add.fields")); err != nil {
		return nil, fmt.Errorf("add.fields: %w", err)
	}
	if t.addHeaders, err = parseFieldRefs(v.String("add.headers.prefix"), v.List("add.headers")); err != nil {
		return nil, fmt.Errorf("add.headers: %w", err)
	}
	return t, nil
}

// fieldRef is one entry of add.fields/add.headers: "op", "table",
// "source.ts_ms" or "source.ts_ms:EVENT_TS".
type fieldRef struct {
	parent   string // "source", "transaction", ... or "" for top-level envelope fields
	field    string
	newField string
}

func parseFieldRefs(prefix string, entries []string) ([]fieldRef, error) {
	var out []fieldRef
	for _, e := range entries {
		parts := strings.Split(e, ":")
		if len(parts) > 2 {
			return nil, fmt.Errorf("unexpected field name %q", e)
		}
		splits := strings.Split(parts[0], ".")
		var r fieldRef
		if len(splits) == 1 {
			r.field = splits[0]
			r.parent = envelopeParentOf(r.field)
		} else {
			r.parent, r.field = splits[0], splits[1]
		}
		switch {
		case len(parts) == 2:
			r.newField = prefix + parts[1]
		case len(splits) == 1:
			r.newField = prefix + r.field
		default:
			r.newField = prefix + r.parent + "_" + r.field
		}
		out = append(out, r)
	}
	return out, nil
}

// envelopeParentOf is where Debezium looks for an unqualified field.
func envelopeParentOf(field string) string {
	switch field {
	case "id", "data_collection_order", "total_order":
		return "transaction"
	case "op", "ts_ms", "ts_us", "ts_ns":
		return ""
	case "updateDescription":
		return "updateDescription"
	}
	return "source"
}

// schema returns the schema the added field or header gets: the source
// field's basics (type, name, version, doc, parameters), made optional.
// ok is false when the envelope has no such field.
func (r fieldRef) schema(env *connect.Schema) (*connect.Schema, bool, error) {
	parent := env
	if r.parent != "" {
		pf := env.Field(r.parent)
		if pf == nil {
			return nil, false, fmt.Errorf("envelope %q has no field %q (needed for %q)", env.Name, r.parent, r.newField)
		}
		parent = pf.Schema
	}
	f := parent.Field(r.field)
	if f == nil {
		if f = env.Field(r.field); f == nil {
			return nil, false, nil
		}
	}
	return copyBasics(f.Schema).Optional().MustBuild(), true, nil
}

func (r fieldRef) value(env *connect.StructValue) any {
	parent := env
	if r.parent != "" {
		p, _ := rawGet(env, r.parent).(*connect.StructValue)
		if p == nil {
			return nil
		}
		parent = p
	}
	if parent.Schema.Field(r.field) != nil {
		return rawGet(parent, r.field)
	}
	return rawGet(env, r.field)
}

// copyBasics mirrors Kafka's SchemaUtil.copySchemaBasics: type, name,
// version, doc and parameters, but neither optionality nor default nor
// struct fields.
func copyBasics(s *connect.Schema) *connect.Builder {
	var b *connect.Builder
	switch s.Type {
	case connect.Array:
		b = connect.ArrayOf(s.Value)
	case connect.Map:
		b = connect.MapOf(s.Key, s.Value)
	default:
		b = connect.NewBuilder(s.Type)
	}
	b.Name(s.Name).Version(s.Version).Doc(s.Doc)
	for _, p := range s.Params {
		b.Param(p.Key, p.Value)
	}
	return b
}

// rawGet is Struct.getWithoutDefault.
func rawGet(v *connect.StructValue, name string) any {
	f := v.Schema.Field(name)
	if f == nil {
		return nil
	}
	return v.Values[f.Index]
}

// getWithDefault is Struct.get: the schema default replaces a null.
func getWithDefault(v *connect.StructValue, f connect.Field) any {
	if x := v.Values[f.Index]; x != nil {
		return x
	}
	if f.Schema.HasDefault {
		return f.Schema.Default
	}
	return nil
}

func isEnvelope(s *connect.Schema) bool {
	return s != nil && s.Name != "" && strings.HasSuffix(s.Name, ".Envelope")
}

// Apply implements Transform.
func (t *ExtractNewRecordState) Apply(rec *connect.Record) (*connect.Record, error) {
	tombstone := rec.Value == nil
	envelope := isEnvelope(rec.ValueSchema)
	if !tombstone && !envelope {
		return rec, nil
	}
	var env *connect.StructValue
	if !tombstone {
		var ok bool
		if env, ok = rec.Value.(*connect.StructValue); !ok {
			return nil, fmt.Errorf("topic %s: envelope value is %T, not a struct", rec.Topic, rec.Value)
		}
	}
	if len(t.addHeaders) > 0 {
		hs, err := t.makeHeaders(env)
		if err != nil {
			return nil, fmt.Errorf("topic %s: %w", rec.Topic, err)
		}
		cp := *rec
		cp.Headers = append(append([]connect.Header(nil), rec.Headers...), hs...)
		rec = &cp
	}
	if tombstone {
		if t.keepTombstones {
			return rec, nil
		}
		return nil, nil
	}
	afterF, beforeF := rec.ValueSchema.Field("after"), rec.ValueSchema.Field("before")
	if afterF == nil {
		return nil, fmt.Errorf("topic %s: unknown field: after", rec.Topic)
	}
	if beforeF == nil {
		return nil, fmt.Errorf("topic %s: unknown field: before", rec.Topic)
	}
	after, before := getWithDefault(env, *afterF), getWithDefault(env, *beforeF)
	if after == nil && before == nil {
		// truncate (or an envelope without row images): Debezium drops it
		return nil, nil
	}
	if after == nil {
		return t.handleDelete(rec, env, beforeF.Schema, before, afterF.Schema)
	}
	row, ok := after.(*connect.StructValue)
	if !ok {
		return nil, fmt.Errorf("topic %s: after is %T, not a struct", rec.Topic, after)
	}
	out := withValue(rec, afterF.Schema, row)
	if t.rewrite {
		out = withValue(out, nil, nil)
		out.ValueSchema, out.Value = t.insertDeleted(row, "false")
	}
	if t.routeByField != "" {
		v := out.Value.(*connect.StructValue)
		s, err := routeField(v, t.routeByField)
		if err != nil {
			return nil, fmt.Errorf("topic %s: route.by.field: %w", rec.Topic, err)
		}
		if strings.TrimSpace(s) != "" {
			out.Topic = s
		}
	}
	out, err := t.addFieldsTo(out, env)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", rec.Topic, err)
	}
	if t.dropFieldsHeader != "" {
		if out, err = t.dropFields(out); err != nil {
			return nil, fmt.Errorf("topic %s: %w", rec.Topic, err)
		}
	}
	return out, nil
}

func (t *ExtractNewRecordState) handleDelete(rec *connect.Record, env *connect.StructValue, beforeSchema *connect.Schema, before any, afterSchema *connect.Schema) (*connect.Record, error) {
	var out *connect.Record
	switch t.deletes {
	case deleteDrop:
		return nil, nil
	case deleteNullValue:
		// Value null with the row schema kept: the JDBC sink reads this
		// as a flattened delete.
		out = withValue(rec, afterSchema, nil)
	case deleteToTombstone:
		out = withValue(rec, nil, nil)
	case deleteRewrite:
		row, ok := before.(*connect.StructValue)
		if !ok {
			return nil, fmt.Errorf("topic %s: before is %T, not a struct", rec.Topic, before)
		}
		s, v := t.insertDeleted(row, "true")
		out = withValue(rec, s, v)
	}
	if t.routeByField != "" {
		b, _ := before.(*connect.StructValue)
		if b == nil {
			return nil, fmt.Errorf("topic %s: route.by.field: delete event has no before image", rec.Topic)
		}
		s, err := routeField(b, t.routeByField)
		if err != nil {
			return nil, fmt.Errorf("topic %s: route.by.field: %w", rec.Topic, err)
		}
		if strings.TrimSpace(s) != "" {
			out.Topic = s
		}
	}
	var err error
	if strings.TrimSpace(t.dropFieldsHeader) != "" {
		if out, err = t.dropFields(out); err != nil {
			return nil, fmt.Errorf("topic %s: %w", rec.Topic, err)
		}
	}
	if out.Value != nil {
		if out, err = t.addFieldsTo(out, env); err != nil {
			return nil, fmt.Errorf("topic %s: %w", rec.Topic, err)
		}
	}
	return out, nil
}

func routeField(v *connect.StructValue, name string) (string, error) {
	f := v.Schema.Field(name)
	if f == nil {
		return "", fmt.Errorf("%q is not a valid field name", name)
	}
	if f.Schema.Type != connect.String {
		return "", fmt.Errorf("field %q is %s, not a string", name, f.Schema.Type)
	}
	s, _ := getWithDefault(v, *f).(string)
	return s, nil
}

func withValue(rec *connect.Record, s *connect.Schema, v any) *connect.Record {
	cp := *rec
	cp.ValueSchema, cp.Value = s, v
	return &cp
}

// insertDeleted is Kafka's InsertField$Value with static.field=__deleted.
// The schema is built once per row schema.
func (t *ExtractNewRecordState) insertDeleted(row *connect.StructValue, val string) (*connect.Schema, *connect.StructValue) {
	s, _ := t.deletedSchemas.get(row.Schema, func(rs *connect.Schema) (*connect.Schema, error) {
		b := copyBasics(rs)
		for _, f := range rs.Fields {
			b.Field(f.Name, f.Schema)
		}
		b.Field(DeletedField, connect.OptionalPrim(connect.String))
		return b.MustBuild(), nil
	})
	out := connect.NewStruct(s)
	for i, f := range row.Schema.Fields {
		if t.replaceNullDefault {
			out.Values[i] = getWithDefault(row, f)
		} else {
			out.Values[i] = row.Values[i]
		}
	}
	out.Values[len(row.Schema.Fields)] = val
	return s, out
}

// addFieldsPlan is the schema add.fields gives a row schema within an
// envelope schema, and the fields it appends, in order.
type addFieldsPlan struct {
	schema *connect.Schema
	refs   []fieldRef
}

// addPlan builds (once per row and envelope schema) the schema with the
// add.fields fields appended.
func (t *ExtractNewRecordState) addPlan(row, env *connect.Schema) (*addFieldsPlan, error) {
	key := [2]*connect.Schema{row, env}
	t.plansMu.Lock()
	p, ok := t.plans[key]
	t.plansMu.Unlock()
	if ok {
		return p, nil
	}
	b := copyBasics(row)
	for _, f := range row.Fields {
		b.Field(f.Name, f.Schema)
	}
	p = &addFieldsPlan{}
	for _, r := range t.addFields {
		fs, ok, err := r.schema(env)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		b.Field(r.newField, fs)
		p.refs = append(p.refs, r)
	}
	s, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("add.fields: %w", err)
	}
	p.schema = s
	t.plansMu.Lock()
	if t.plans == nil || len(t.plans) >= schemaCacheSize {
		t.plans = map[[2]*connect.Schema]*addFieldsPlan{}
	}
	t.plans[key] = p
	t.plansMu.Unlock()
	return p, nil
}

func (t *ExtractNewRecordState) addFieldsTo(rec *connect.Record, env *connect.StructValue) (*connect.Record, error) {
	v, ok := rec.Value.(*connect.StructValue)
	if !ok {
		return nil, fmt.Errorf("only Struct objects supported for source field insertion, found: %T", rec.Value)
	}
	plan, err := t.addPlan(v.Schema, env.Schema)
	if err != nil {
		return nil, err
	}
	out := connect.NewStruct(plan.schema)
	copy(out.Values, v.Values)
	for i, r := range plan.refs {
		out.Values[len(v.Values)+i] = r.value(env)
	}
	return withValue(rec, plan.schema, out), nil
}

func (t *ExtractNewRecordState) makeHeaders(env *connect.StructValue) ([]connect.Header, error) {
	var hs []connect.Header
	for _, r := range t.addHeaders {
		if env == nil {
			// tombstones only carry the operation, as "d"
			if r.field == "op" {
				hs = append(hs, connect.Header{Key: r.newField, Schema: connect.Prim(connect.String), Value: "d"})
			}
			continue
		}
		s, ok, err := r.schema(env.Schema)
		if err != nil {
			return nil, err
		}
		if ok {
			hs = append(hs, connect.Header{Key: r.newField, Schema: s, Value: r.value(env)})
		}
	}
	return hs, nil
}

// dropFields removes the value (and optionally key) fields listed in the
// drop.fields.header.name header, as ExtractNewRecordState's drop-fields
// feature does.
func (t *ExtractNewRecordState) dropFields(rec *connect.Record) (*connect.Record, error) {
	var names []string
	for i := len(rec.Headers) - 1; i >= 0; i-- {
		h := rec.Headers[i]
		if h.Key != t.dropFieldsHeader {
			continue
		}
		if h.Value == nil {
			return rec, nil
		}
		list, ok := h.Value.([]any)
		if !ok {
			return nil, fmt.Errorf("header %q must hold a list of field names, got %T", h.Key, h.Value)
		}
		for _, e := range list {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("header %q must hold a list of field names, got element %T", h.Key, e)
			}
			names = append(names, s)
		}
		break
	}
	if len(names) == 0 {
		return rec, nil
	}
	out := *rec
	if t.dropFieldsFromKey && rec.Key != nil {
		if kv, ok := rec.Key.(*connect.StructValue); ok {
			if drop := t.fieldsToDrop(rec.KeySchema, names); len(drop) > 0 {
				out.KeySchema, out.Key = excludeFields(kv, drop)
			}
		}
	}
	if vv, ok := rec.Value.(*connect.StructValue); ok {
		if drop := t.fieldsToDrop(rec.ValueSchema, names); len(drop) > 0 {
			out.ValueSchema, out.Value = excludeFields(vv, drop)
		}
	}
	return &out, nil
}

func (t *ExtractNewRecordState) fieldsToDrop(s *connect.Schema, names []string) []string {
	if !t.dropKeepCompatible {
		return names
	}
	var out []string
	for _, f := range s.Fields {
		if !f.Schema.Optional {
			continue
		}
		for _, n := range names {
			if n == f.Name {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// excludeFields is Kafka's ReplaceField with "exclude".
func excludeFields(v *connect.StructValue, drop []string) (*connect.Schema, *connect.StructValue) {
	dropped := map[string]bool{}
	for _, d := range drop {
		dropped[d] = true
	}
	b := copyBasics(v.Schema)
	var keep []connect.Field
	for _, f := range v.Schema.Fields {
		if !dropped[f.Name] {
			b.Field(f.Name, f.Schema)
			keep = append(keep, f)
		}
	}
	s := b.MustBuild()
	out := connect.NewStruct(s)
	for i, f := range keep {
		out.Values[i] = getWithDefault(v, f)
	}
	return s, out
}
