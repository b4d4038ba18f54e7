package jdbc

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

type op int

const (
	opUpsert op = iota // insert/upsert/update, by insert.mode
	opDelete
	opTruncate
	opSkip
)

// tableID names a target table. schema is the PostgreSQL schema or the
// MySQL database; "" means the connection's default.
type tableID struct {
	schema, name string
}

func (t tableID) String() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
}

// column is one column of a change, bound to the record field it comes
// from.
type column struct {
	name   string // target column name, after identifier normalisation
	field  string // record field name
	schema *connect.Schema
	kind   kind
	key    bool
}

// change is what one record asks of the target.
type change struct {
	rec    *connect.Record
	table  tableID
	op     op
	cols   []column // key columns first
	vals   []any
	sig    string // identifies the column set, to group rows into statements
	reason string // why a record is skipped
	// unavailable names the fields left out because they hold the
	// unavailable-value placeholder; such a change may only update an
	// existing row.
	unavailable []string
}

// coords names a record for error messages.
func coords(r *connect.Record) string {
	return fmt.Sprintf("topic=%s partition=%d offset=%d", r.Topic, r.Partition, r.KafkaOffset)
}

var sourcePlaceholder = regexp.MustCompile(`\$\{source\.([^}]*)}`)

func isEnvelopeSchema(s *connect.Schema) bool {
	if s == nil || s.Type != connect.Struct {
		return false
	}
	if s.Name != "" {
		return strings.HasSuffix(s.Name, ".Envelope")
	}
	return s.Field("op") != nil
}

// interpreter turns records into changes.
type interpreter struct {
	s        *settings
	normName func(string) string
	// defaultSchema fills tableID.schema for unqualified names ("" keeps
	// the connection default).
	splitName func(string) (tableID, error)
	// bindings caches, per topic and key/value schema, the columns
	// bindColumns derived: converters return the same *connect.Schema for
	// the same schema, so later records only collect their values
	// (bindColumns deriving them per record was a third of Put's CPU).
	bindings map[bindKey]*binding
}

type bindKey struct {
	topic        string
	key, payload *connect.Schema
	upsert       bool
}

// valueFrom says where a bound column's value comes from.
type valueFrom uint8

const (
	fromTopic valueFrom = iota
	fromPartition
	fromOffset
	fromKey      // the whole (primitive) key
	fromKeyField // field i of the struct key
	fromPayload  // field i of the payload
)

type valueSrc struct {
	from valueFrom
	i    int
}

// binding is the column list of the records of one bindKey. cols is shared
// by their changes and must not be modified.
type binding struct {
	cols []column
	src  []valueSrc
	sig  string
}

// maxBindings bounds the cache for converters that build a new schema per
// record; it is then only rebuilt more often.
const maxBindings = 1024

func (in *interpreter) interpret(r *connect.Record) (*change, error) {
	ch := &change{rec: r}
	if r.ValueSchema != nil && strings.Contains(r.ValueSchema.Name, "SchemaChangeValue") {
		ch.op, ch.reason = opSkip, "schema change events are not supported by the JDBC sink; exclude the schema change topic"
		return ch, nil
	}
	tombstone := r.Value == nil && r.ValueSchema == nil
	envelope := r.Value != nil && isEnvelopeSchema(r.ValueSchema)

	var env *connect.StructValue
	if envelope {
		var ok bool
		if env, ok = r.Value.(*connect.StructValue); !ok {
			return nil, fmt.Errorf("%s: envelope value is %T, not a struct", coords(r), r.Value)
		}
	}
	if tombstone && env == nil && strings.Contains(in.s.tableFormat, "${source.") {
		// A tombstone carries no source block to name the table by; the
		// delete event before it already removed the row (Debezium skips
		// it too).
		ch.op, ch.reason = opSkip, "tombstone cannot be routed with "+in.s.tableFormat
		return ch, nil
	}
	table, err := in.tableName(r, env)
	if err != nil {
		return nil, err
	}
	if ch.table, err = in.splitName(table); err != nil {
		return nil, fmt.Errorf("%s: table name %q: %w", coords(r), table, err)
	}

	var payload *connect.StructValue
	switch {
	case tombstone:
		ch.op = opDelete
	case envelope:
		opCode, _ := env.Get("op").(string)
		switch opCode {
		case "c", "r", "u":
			ch.op = opUpsert
			after, ok := env.Get("after").(*connect.StructValue)
			if !ok {
				return nil, fmt.Errorf("%s: op=%s event without an after image", coords(r), opCode)
			}
			payload = after
		case "d":
			ch.op = opDelete
			payload, _ = env.Get("before").(*connect.StructValue)
		case "t":
			ch.op = opTruncate
			if !in.s.truncateEnabled {
				ch.op, ch.reason = opSkip, "truncate.enabled=false"
			}
			return ch, nil
		default:
			ch.op, ch.reason = opSkip, fmt.Sprintf("operation %q is not a row change", opCode)
			return ch, nil
		}
	case r.Value == nil:
		// flattened delete: ExtractNewRecordState keeps the value schema
		ch.op = opDelete
	default:
		v, ok := r.Value.(*connect.StructValue)
		if !ok {
			return nil, fmt.Errorf("%s: value is %T; the JDBC sink needs struct values with schemas (JsonConverter schemas.enable=true or Avro)", coords(r), r.Value)
		}
		ch.op, payload = opUpsert, v
	}
	if ch.op == opDelete && !in.s.deleteEnabled {
		ch.op, ch.reason = opSkip, "delete.enabled=false"
		return ch, nil
	}
	if err := in.bindColumns(ch, payload); err != nil {
		return nil, fmt.Errorf("%s: table %s: %w", coords(r), ch.table, err)
	}
	if len(ch.unavailable) > 0 && in.s.insertMode == modeInsert {
		return nil, fmt.Errorf("%s: table %s: %w", coords(r), ch.table, in.unavailableError(ch, "insert.mode=insert"))
	}
	return ch, nil
}

// errUnavailable marks records refused because a column holds the
// unavailable-value placeholder where a full row is needed.
var errUnavailable = errors.New("unavailable-value placeholder in a row to insert")

func (in *interpreter) unavailableError(ch *change, why string) error {
	return fmt.Errorf("%w (%s): field(s) %s hold %q, the source's unavailable.value.placeholder (typically an unchanged TOAST value under REPLICA IDENTITY DEFAULT); the row is not written so that the placeholder never reaches the target",
		errUnavailable, why, strings.Join(ch.unavailable, ","), in.s.placeholder.str)
}

// tableName applies collection.name.format / table.name.format.
func (in *interpreter) tableName(r *connect.Record, env *connect.StructValue) (string, error) {
	topic := r.Topic
	if in.s.flavour == flavourDebezium {
		// DefaultCollectionNamingStrategy
		topic = strings.ReplaceAll(topic, ".", "_")
	}
	name := strings.ReplaceAll(in.s.tableFormat, "${topic}", topic)
	if !strings.Contains(name, "${source.") {
		return name, nil
	}
	if env == nil {
		return "", fmt.Errorf("%s: table name format %q uses ${source.*} but the record is not a Debezium change event (was it flattened by ExtractNewRecordState?)", coords(r), in.s.tableFormat)
	}
	src, _ := env.Get("source").(*connect.StructValue)
	if src == nil {
		return "", fmt.Errorf("%s: change event has no source block for %q", coords(r), in.s.tableFormat)
	}
	var ferr error
	name = sourcePlaceholder.ReplaceAllStringFunc(name, func(m string) string {
		field := sourcePlaceholder.FindStringSubmatch(m)[1]
		v, ok := src.Get(field).(string)
		if !ok {
			ferr = fmt.Errorf("%s: table name format %q: source.%s is not a string field of the source block", coords(r), in.s.tableFormat, field)
		}
		return v
	})
	return name, ferr
}

// bindColumns fills the key and value columns according to
// primary.key.mode.
func (in *interpreter) bindColumns(ch *change, payload *connect.StructValue) error {
	r := ch.rec
	bk := bindKey{topic: r.Topic, key: r.KeySchema, upsert: ch.op == opUpsert}
	if payload != nil {
		bk.payload = payload.Schema
	}
	if b := in.bindings[bk]; b != nil && in.bindFast(ch, payload, b) {
		return nil
	}
	var src []valueSrc
	keyNames := map[string]bool{}
	addColFrom := func(field string, s *connect.Schema, v any, key bool, from valueSrc) error {
		k, err := kindOf(s)
		if err != nil {
			return fmt.Errorf("field %q: %w", field, err)
		}
		ch.cols = append(ch.cols, column{name: in.normName(field), field: field, schema: s, kind: k, key: key})
		ch.vals = append(ch.vals, v)
		src = append(src, from)
		return nil
	}
	// Each addCol below is preceded by setting next to its value's source.
	var next valueSrc
	addCol := func(field string, s *connect.Schema, v any, key bool) error {
		return addColFrom(field, s, v, key, next)
	}
	wanted := func(f string) bool {
		if len(in.s.pkFields) == 0 {
			return true
		}
		for _, p := range in.s.pkFields {
			if p == f {
				return true
			}
		}
		return false
	}
	switch in.s.pkMode {
	case pkKafka:
		for _, c := range []struct {
			name string
			s    *connect.Schema
			v    any
			from valueFrom
		}{
			{"__connect_topic", connect.Prim(connect.String), r.Topic, fromTopic},
			{"__connect_partition", connect.Prim(connect.Int32), r.Partition, fromPartition},
			{"__connect_offset", connect.Prim(connect.Int64), r.KafkaOffset, fromOffset},
		} {
			next = valueSrc{from: c.from}
			if err := addCol(c.name, c.s, c.v, true); err != nil {
				return err
			}
			keyNames[c.name] = true
		}
	case pkRecordKey:
		if r.KeySchema == nil || r.Key == nil {
			return fmt.Errorf("primary.key.mode=record_key but the record has no key (with a schema)")
		}
		if r.KeySchema.Type == connect.Struct {
			kv, ok := r.Key.(*connect.StructValue)
			if !ok {
				return fmt.Errorf("key is %T, not a struct", r.Key)
			}
			for i, f := range r.KeySchema.Fields {
				if !wanted(f.Name) {
					continue
				}
				next = valueSrc{from: fromKeyField, i: i}
				if err := addCol(f.Name, f.Schema, kv.Values[i], true); err != nil {
					return err
				}
				keyNames[f.Name] = true
			}
		} else {
			if len(in.s.pkFields) != 1 {
				return fmt.Errorf("primitive record key needs exactly one name in primary.key.fields")
			}
			next = valueSrc{from: fromKey}
			if err := addCol(in.s.pkFields[0], r.KeySchema, r.Key, true); err != nil {
				return err
			}
			keyNames[in.s.pkFields[0]] = true
		}
		if len(keyNames) == 0 {
			return fmt.Errorf("no key field left after primary.key.fields=%s", strings.Join(in.s.pkFields, ","))
		}
	case pkRecordValue:
		if payload == nil {
			return fmt.Errorf("primary.key.mode=record_value but the record has no value")
		}
		for i, f := range payload.Schema.Fields {
			if !wanted(f.Name) {
				continue
			}
			next = valueSrc{from: fromPayload, i: i}
			if err := addCol(f.Name, f.Schema, payload.Values[i], true); err != nil {
				return err
			}
			keyNames[f.Name] = true
		}
		for _, p := range in.s.pkFields {
			if !keyNames[p] {
				return fmt.Errorf("primary.key.fields names %q, which the record value does not have", p)
			}
		}
	}
	if ch.op == opUpsert {
		for i, f := range payload.Schema.Fields {
			if keyNames[f.Name] || !in.s.keepField(r.Topic, f.Name) {
				continue
			}
			if in.s.placeholder.matches(payload.Values[i]) {
				ch.unavailable = append(ch.unavailable, f.Name)
				continue
			}
			next = valueSrc{from: fromPayload, i: i}
			if err := addCol(f.Name, f.Schema, payload.Values[i], false); err != nil {
				return err
			}
		}
	}
	ch.sig = columnSignature(ch.cols)
	if len(ch.unavailable) > 0 {
		// Partial rows are written by UPDATE, never in the same statement
		// as full rows.
		ch.sig += "|partial"
		return nil
	}
	if in.bindings == nil || len(in.bindings) >= maxBindings {
		in.bindings = map[bindKey]*binding{}
	}
	in.bindings[bk] = &binding{cols: ch.cols, src: src, sig: ch.sig}
	return nil
}

// bindFast fills ch from a cached binding. It returns false, leaving ch
// untouched, for any record the general path must look at: a missing or
// mistyped key or payload (which it reports) or a value holding the
// unavailable-value placeholder (which changes the column set).
func (in *interpreter) bindFast(ch *change, payload *connect.StructValue, b *binding) bool {
	r := ch.rec
	var kv *connect.StructValue
	if in.s.pkMode == pkRecordKey {
		if r.Key == nil {
			return false
		}
		if r.KeySchema.Type == connect.Struct {
			var ok bool
			if kv, ok = r.Key.(*connect.StructValue); !ok || len(kv.Values) != len(r.KeySchema.Fields) {
				return false
			}
		}
	}
	if payload != nil && len(payload.Values) != len(payload.Schema.Fields) {
		return false
	}
	vals := make([]any, len(b.src))
	for j, sv := range b.src {
		switch sv.from {
		case fromTopic:
			vals[j] = r.Topic
		case fromPartition:
			vals[j] = r.Partition
		case fromOffset:
			vals[j] = r.KafkaOffset
		case fromKey:
			vals[j] = r.Key
		case fromKeyField:
			vals[j] = kv.Values[sv.i]
		case fromPayload:
			if payload == nil {
				return false
			}
			v := payload.Values[sv.i]
			if !b.cols[j].key && in.s.placeholder.matches(v) {
				return false
			}
			vals[j] = v
		}
	}
	ch.cols, ch.vals, ch.sig = b.cols, vals, b.sig
	return true
}

// columnSignature identifies a column set as "name:kind:key," per column.
// It runs for every record, so it is built without fmt (fmt.Fprintf per
// column was 7 % of the sink's CPU).
func columnSignature(cols []column) string {
	n := 0
	for _, c := range cols {
		n += len(c.name) + len(":00:false,")
	}
	var sig strings.Builder
	sig.Grow(n)
	for _, c := range cols {
		sig.WriteString(c.name)
		sig.WriteByte(':')
		sig.WriteString(strconv.Itoa(int(c.kind)))
		sig.WriteByte(':')
		sig.WriteString(strconv.FormatBool(c.key))
		sig.WriteByte(',')
	}
	return sig.String()
}
