package mysql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// tableChange is one entry of a schema change's tableChanges.
type tableChange struct {
	typ    changeKind // CREATE, ALTER, DROP
	id     TableID
	prevID *TableID
	table  *Table // nil for DROP
}

// tableDoc is JsonTableChangeSerializer's table document.
func tableDoc(t *Table) jdoc {
	var d jdoc
	d.set("defaultCharsetName", nullString(t.DefaultCharset))
	pk := t.PK
	if pk == nil {
		pk = []string{}
	}
	d.set("primaryKeyColumnNames", pk)
	cols := make([]any, len(t.Columns))
	for i, c := range t.Columns {
		var cd jdoc
		cd.set("name", c.Name)
		cd.set("jdbcType", int64(c.JDBCType))
		cd.set("typeName", c.TypeName)
		cd.set("typeExpression", c.TypeExpression)
		cd.set("charsetName", nullString(c.Charset))
		if c.Length != -1 {
			cd.set("length", int64(c.Length))
		}
		if c.Scale != nil {
			cd.set("scale", int64(*c.Scale))
		}
		cd.set("position", int64(c.Position))
		cd.set("optional", c.Optional)
		cd.set("autoIncremented", c.AutoIncrement)
		cd.set("generated", c.Generated)
		cd.set("comment", nullStringPtr(c.Comment))
		cd.set("hasDefaultValue", c.HasDefault)
		if c.DefaultExpr != nil {
			cd.set("defaultValueExpression", *c.DefaultExpr)
		}
		ev := c.EnumValues
		if ev == nil {
			ev = []string{}
		}
		cd.set("enumValues", ev)
		cols[i] = cd
	}
	d.set("columns", cols)
	d.set("attributes", []any{})
	return d
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullStringPtr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func changesDoc(changes []tableChange) []any {
	out := make([]any, len(changes))
	for i, ch := range changes {
		var d jdoc
		d.set("type", string(ch.typ))
		d.set("id", ch.id.doubleQuoted())
		if ch.prevID != nil {
			d.set("previousId", ch.prevID.doubleQuoted())
		}
		if ch.table != nil {
			d.set("table", tableDoc(ch.table))
			d.set("comment", nullStringPtr(ch.table.Comment))
		}
		out[i] = d
	}
	return out
}

// historyRecord is Debezium's HistoryRecord document.
func (c *connectorState) historyRecord(o *offsetState, db, ddl string, changes []tableChange, ts time.Time) []byte {
	var d jdoc
	var src jdoc
	src.set("server", c.cfg.topicPrefix)
	d.set("source", src)
	d.set("position", o.offsetDoc())
	d.set("ts_ms", ts.UnixMilli())
	d.set("databaseName", db)
	if ddl != "" {
		d.set("ddl", ddl)
	}
	d.set("tableChanges", changesDoc(changes))
	return d.marshal()
}

// tableFromDoc rebuilds a table from a history tableChanges entry.
func tableFromDoc(id TableID, d jdoc) (*Table, error) {
	t := &Table{ID: id}
	if v, ok := d.get("defaultCharsetName"); ok && v != nil {
		t.DefaultCharset, _ = v.(string)
	}
	if v, ok := d.get("primaryKeyColumnNames"); ok && v != nil {
		arr, _ := v.([]any)
		for _, x := range arr {
			s, _ := x.(string)
			t.PK = append(t.PK, s)
		}
	}
	colsV, _ := d.get("columns")
	cols, _ := colsV.([]any)
	for i, cv := range cols {
		cd, ok := cv.(jdoc)
		if !ok {
			return nil, fmt.Errorf("table %s: column %d is not an object", id, i)
		}
		col := &Column{Length: -1, TableCharset: t.DefaultCharset}
		str := func(k string) string { v, _ := cd.get(k); s, _ := v.(string); return s }
		num := func(k string) (int64, bool) { v, ok := cd.get(k); n, isN := v.(int64); return n, ok && isN }
		boolean := func(k string) bool { v, _ := cd.get(k); b, _ := v.(bool); return b }
		col.Name = str("name")
		if col.Name == "" {
			return nil, fmt.Errorf("table %s: column %d has no name", id, i)
		}
		if n, ok := num("jdbcType"); ok {
			col.JDBCType = int(n)
		}
		col.TypeName = str("typeName")
		col.TypeExpression = str("typeExpression")
		col.Charset = str("charsetName")
		if n, ok := num("length"); ok {
			col.Length = int(n)
		}
		if n, ok := num("scale"); ok {
			s := int(n)
			col.Scale = &s
		}
		if n, ok := num("position"); ok {
			col.Position = int(n)
		}
		col.Optional = boolean("optional")
		col.AutoIncrement = boolean("autoIncremented")
		col.Generated = boolean("generated")
		if v, ok := cd.get("comment"); ok && v != nil {
			s, _ := v.(string)
			col.Comment = &s
		}
		col.HasDefault = boolean("hasDefaultValue")
		if v, ok := cd.get("defaultValueExpression"); ok && v != nil {
			s, _ := v.(string)
			col.DefaultExpr = &s
			col.HasDefault = true
		}
		if v, ok := cd.get("enumValues"); ok && v != nil {
			arr, _ := v.([]any)
			for _, x := range arr {
				s, _ := x.(string)
				col.EnumValues = append(col.EnumValues, s)
			}
		}
		t.Columns = append(t.Columns, col)
	}
	return t, nil
}

// parseTableIDQuoted parses TableId.toDoubleQuotedString.
func parseTableIDQuoted(s string) (TableID, error) {
	parts := strings.Split(s, `"."`)
	switch len(parts) {
	case 2:
		return TableID{DB: strings.TrimPrefix(parts[0], `"`), Table: strings.TrimSuffix(parts[1], `"`)}, nil
	case 1:
		return TableID{Table: strings.Trim(parts[0], `"`)}, nil
	}
	return TableID{}, fmt.Errorf("invalid table id %q", s)
}

// historyPosition is the stored position of a history record, for
// comparing with the connector's offset (BinlogHistoryRecordComparator).
type historyPosition struct {
	gtids    string
	file     string
	pos      int64
	event    int64
	row      int64
	snapshot bool
}

func positionFrom(m map[string]any) historyPosition {
	p := historyPosition{}
	p.gtids, _ = m[offGtids].(string)
	p.file, _ = m[offFile].(string)
	p.pos, _ = offsetInt(m, offPos)
	p.event, _ = offsetInt(m, offEvent)
	p.row, _ = offsetInt(m, offRow)
	switch s := m[offSnapshot].(type) {
	case bool:
		p.snapshot = s
	case string:
		p.snapshot = s != "" && s != "false"
	}
	return p
}

// atOrBefore reports whether a history record at position rec belongs to
// the state at offset off. Of GTID sets only the sources gtidFilter
// selects count (BinlogHistoryRecordComparator with gtid.source.*).
func atOrBefore(mariadb bool, gtidFilter *debezium.Filter, rec, off historyPosition) bool {
	if rec.gtids != "" && off.gtids != "" {
		rg, err1 := parseGtidSet(mariadb, rec.gtids)
		og, err2 := parseGtidSet(mariadb, off.gtids)
		if err1 == nil && err2 == nil {
			rg, og = rg.filtered(gtidFilter), og.filtered(gtidFilter)
			if rg.String() == og.String() {
				return compareWithin(rec, off)
			}
			return og.contains(rg)
		}
	}
	if rec.file != off.file {
		return binlogIndex(rec.file) < binlogIndex(off.file)
	}
	if rec.pos != off.pos {
		return rec.pos < off.pos
	}
	return compareWithin(rec, off)
}

func compareWithin(rec, off historyPosition) bool {
	if rec.snapshot && !off.snapshot {
		return true
	}
	if rec.event != off.event {
		return rec.event < off.event
	}
	return rec.row <= off.row
}

// historyStore is what the schema history needs of Kafka. Debezium's
// KafkaSchemaHistory keeps the history in the one partition of its topic,
// so that it is read back in the order it was written: DDL replayed out of
// order rebuilds wrong table structures. kafka.Raw implements it.
type historyStore interface {
	Partitions(ctx context.Context, topic string) (int, error)
	CreateTopic(ctx context.Context, topic string, partitions int32, configs map[string]string) (bool, error)
	ProducePartition(ctx context.Context, topic string, partition int32, key, value []byte) error
	ReadPartition(ctx context.Context, topic string, partition int32) ([]connect.KV, error)
}

// historyPartition is the one partition of the schema history topic
// (KafkaSchemaHistory.PARTITION).
const historyPartition = 0

// historyTopicConfigs are the settings KafkaSchemaHistory.initializeStorage
// creates the topic with: the history must never be deleted or compacted
// away (every record is needed to rebuild the table structures), so
// retention is unlimited in time (Long.MAX_VALUE, as Debezium sets it) and
// size.
var historyTopicConfigs = map[string]string{
	"cleanup.policy":  "delete",
	"retention.ms":    "9223372036854775807",
	"retention.bytes": "-1",
}

// ensureHistoryTopic creates the schema history topic with one partition
// when it is missing (KafkaSchemaHistory.initializeStorage), before
// anything reads or writes it: writing to a missing topic would let the
// broker auto-create it with its default number of partitions. A topic
// with more than one partition is refused: its records may be spread over
// the partitions (as Tributary wrote them before it kept to partition 0),
// and no order between partitions can be recovered. Debezium only warns
// about such a topic; it then reads partition 0 alone.
func (c *connectorState) ensureHistoryTopic(ctx context.Context) error {
	if c.store != nil {
		return c.store.ensure(ctx)
	}
	topic := c.cfg.historyTopic
	n, err := c.history.Partitions(ctx, topic)
	if err != nil {
		return fmt.Errorf("schema history topic %q: %w", topic, err)
	}
	switch {
	case n == 0:
		created, err := c.history.CreateTopic(ctx, topic, 1, historyTopicConfigs)
		if err != nil {
			return fmt.Errorf("creation of schema history topic %q failed, please create the topic manually with one partition and cleanup.policy=delete: %w", topic, err)
		}
		if created {
			c.log.Info("created schema history topic", "topic", topic, "partitions", 1,
				"cleanup.policy", historyTopicConfigs["cleanup.policy"], "retention.ms", historyTopicConfigs["retention.ms"])
		}
	case n > 1:
		return noRetry(fmt.Errorf("schema history topic %q has %d partitions but must have exactly one: the history is read back in order from a single partition, and records spread over several cannot be put back in order; "+
			"delete the topic (or set schema.history.internal.kafka.topic to a new one) and restart with snapshot.mode=recovery to rebuild the history", topic, n))
	}
	return nil
}

// historyName names where the schema history is kept, in messages.
func (c *connectorState) historyName() string {
	if c.store != nil {
		return c.store.String()
	}
	return fmt.Sprintf("schema history topic %q", c.cfg.historyTopic)
}

// writeHistory appends one record to the schema history.
func (c *connectorState) writeHistory(ctx context.Context, rec []byte) error {
	var err error
	if c.store != nil {
		err = c.store.append(ctx, rec)
	} else {
		err = c.history.ProducePartition(ctx, c.cfg.historyTopic, historyPartition, nil, rec)
	}
	if err != nil {
		return noRetry(fmt.Errorf("write %s: %w", c.historyName(), err))
	}
	return nil
}

// historyEntries reads every record of the schema history in the order
// it was written; the topic's in offset order, as
// KafkaSchemaHistory.recoverRecords.
func (c *connectorState) historyEntries(ctx context.Context) ([]historyEntry, error) {
	if c.store != nil {
		return c.store.entries(ctx)
	}
	recs, err := c.history.ReadPartition(ctx, c.cfg.historyTopic, historyPartition)
	if err != nil {
		return nil, err
	}
	out := make([]historyEntry, len(recs))
	for i, kv := range recs {
		out[i] = historyEntry{where: "offset " + strconv.Itoa(i), value: kv.Value}
	}
	return out, nil
}

// recoverHistory rebuilds the schema model from the schema history, up to
// and including the records at or before offset.
func (c *connectorState) recoverHistory(ctx context.Context, off map[string]any) (*schemaModel, int, error) {
	m := newSchemaModel()
	recs, err := c.historyEntries(ctx)
	if err != nil {
		return nil, 0, noRetry(fmt.Errorf("read %s: %w", c.historyName(), err))
	}
	offPos := positionFrom(off)
	applied := 0
	for _, e := range recs {
		if len(e.value) == 0 {
			// KafkaSchemaHistory skips null records with a warning
			c.log.Warn("skipping null schema history record", "store", c.historyName(), "at", e.where)
			continue
		}
		d, err := parseJdoc(e.value)
		if err != nil {
			return nil, 0, fmt.Errorf("%s record at %s: %w", c.historyName(), e.where, err)
		}
		posV, _ := d.get("position")
		pd, _ := posV.(jdoc)
		pm := map[string]any{}
		for _, f := range pd {
			pm[f.k] = f.v
		}
		if off != nil && !atOrBefore(c.cfg.flavor.mariadb, c.cfg.gtidFilter, positionFrom(pm), offPos) {
			continue
		}
		if err := c.applyHistoryRecord(m, d); err != nil {
			return nil, 0, fmt.Errorf("%s record at %s: %w", c.historyName(), e.where, err)
		}
		applied++
	}
	return m, applied, nil
}

func (c *connectorState) applyHistoryRecord(m *schemaModel, d jdoc) error {
	tcV, _ := d.get("tableChanges")
	changes, _ := tcV.([]any)
	dbV, _ := d.get("databaseName")
	db, _ := dbV.(string)
	if len(changes) == 0 {
		ddlV, _ := d.get("ddl")
		ddl, _ := ddlV.(string)
		if ddl == "" {
			return nil
		}
		// database-level statements (SET, USE, CREATE DATABASE) carry
		// charset state; replay them
		if _, err := m.applyDDL(ddl, db); err != nil {
			var de *ddlError
			if errors.As(err, &de) && c.cfg.skipUnparseable {
				return nil
			}
			return err
		}
		return nil
	}
	for _, chV := range changes {
		ch, ok := chV.(jdoc)
		if !ok {
			return fmt.Errorf("table change is not an object")
		}
		typV, _ := ch.get("type")
		typ, _ := typV.(string)
		idV, _ := ch.get("id")
		ids, _ := idV.(string)
		id, err := parseTableIDQuoted(ids)
		if err != nil {
			return err
		}
		if pv, ok := ch.get("previousId"); ok && pv != nil {
			if ps, ok := pv.(string); ok {
				if pid, err := parseTableIDQuoted(ps); err == nil {
					delete(m.tables, pid)
				}
			}
		}
		switch typ {
		case "CREATE", "ALTER":
			tv, _ := ch.get("table")
			td, ok := tv.(jdoc)
			if !ok {
				return fmt.Errorf("table change %s for %s has no table", typ, id)
			}
			t, err := tableFromDoc(id, td)
			if err != nil {
				return err
			}
			if cv, ok := ch.get("comment"); ok && cv != nil {
				s, _ := cv.(string)
				t.Comment = &s
			}
			m.tables[id] = t
		case "DROP":
			delete(m.tables, id)
		default:
			return fmt.Errorf("unknown table change type %q for %s", typ, id)
		}
	}
	return nil
}

// Schema change topic schemas (SchemaFactory, names per connector).
func schemaChangeSchemas(f flavor, source *connect.Schema) (key, value, change *connect.Schema) {
	col := connect.StructBuilder().Name("io.debezium.connector.schema.Column").Version(1).
		Field("name", connect.Prim(connect.String)).
		Field("jdbcType", connect.Prim(connect.Int32)).
		Field("nativeType", connect.OptionalPrim(connect.Int32)).
		Field("typeName", connect.Prim(connect.String)).
		Field("typeExpression", connect.OptionalPrim(connect.String)).
		Field("charsetName", connect.OptionalPrim(connect.String)).
		Field("length", connect.OptionalPrim(connect.Int32)).
		Field("scale", connect.OptionalPrim(connect.Int32)).
		Field("position", connect.Prim(connect.Int32)).
		Field("optional", connect.OptionalPrim(connect.Boolean)).
		Field("autoIncremented", connect.OptionalPrim(connect.Boolean)).
		Field("generated", connect.OptionalPrim(connect.Boolean)).
		Field("comment", connect.OptionalPrim(connect.String)).
		Field("defaultValueExpression", connect.OptionalPrim(connect.String)).
		Field("enumValues", connect.ArrayOf(connect.Prim(connect.String)).Optional().MustBuild()).
		MustBuild()
	table := connect.StructBuilder().Name("io.debezium.connector.schema.Table").Version(1).Optional().
		Field("defaultCharsetName", connect.OptionalPrim(connect.String)).
		Field("primaryKeyColumnNames", connect.ArrayOf(connect.Prim(connect.String)).Optional().MustBuild()).
		Field("columns", connect.ArrayOf(col).MustBuild()).
		Field("comment", connect.OptionalPrim(connect.String)).
		MustBuild()
	change = connect.StructBuilder().Name("io.debezium.connector.schema.Change").Version(1).
		Field("type", connect.Prim(connect.String)).
		Field("id", connect.Prim(connect.String)).
		Field("table", table).
		MustBuild()
	key = connect.StructBuilder().Name("io.debezium.connector."+f.connector+".SchemaChangeKey").Version(1).
		Field("databaseName", connect.Prim(connect.String)).MustBuild()
	value = connect.StructBuilder().Name("io.debezium.connector."+f.connector+".SchemaChangeValue").Version(1).
		Field("source", source).
		Field("ts_ms", connect.Prim(connect.Int64)).
		Field("databaseName", connect.OptionalPrim(connect.String)).
		Field("schemaName", connect.OptionalPrim(connect.String)).
		Field("ddl", connect.OptionalPrim(connect.String)).
		Field("tableChanges", connect.ArrayOf(change).MustBuild()).
		MustBuild()
	return key, value, change
}

// changesStruct is ConnectTableChangeSerializer.serialize.
func (c *connectorState) changesStruct(changes []tableChange) []any {
	out := make([]any, len(changes))
	tableS := c.changeS.Field("table").Schema
	colS := tableS.Field("columns").Schema.Value
	for i, ch := range changes {
		s := connect.NewStruct(c.changeS)
		s.Set("type", string(ch.typ))
		s.Set("id", ch.id.doubleQuoted())
		if ch.table != nil {
			t := ch.table
			ts := connect.NewStruct(tableS)
			if t.DefaultCharset != "" {
				ts.Set("defaultCharsetName", t.DefaultCharset)
			}
			pk := make([]any, len(t.PK))
			for k, n := range t.PK {
				pk[k] = n
			}
			ts.Set("primaryKeyColumnNames", pk)
			cols := make([]any, len(t.Columns))
			for k, col := range t.Columns {
				cs := connect.NewStruct(colS)
				cs.Set("name", col.Name)
				cs.Set("jdbcType", int32(col.JDBCType))
				cs.Set("typeName", col.TypeName)
				cs.Set("typeExpression", col.TypeExpression)
				if col.Charset != "" {
					cs.Set("charsetName", col.Charset)
				}
				if col.Length != -1 {
					cs.Set("length", int32(col.Length))
				}
				if col.Scale != nil {
					cs.Set("scale", int32(*col.Scale))
				}
				cs.Set("position", int32(col.Position))
				cs.Set("optional", col.Optional)
				cs.Set("autoIncremented", col.AutoIncrement)
				cs.Set("generated", col.Generated)
				if col.Comment != nil {
					cs.Set("comment", *col.Comment)
				}
				if col.DefaultExpr != nil {
					cs.Set("defaultValueExpression", *col.DefaultExpr)
				}
				if len(col.EnumValues) > 0 {
					ev := make([]any, len(col.EnumValues))
					for j, e := range col.EnumValues {
						ev[j] = e
					}
					cs.Set("enumValues", ev)
				}
				cols[k] = cs
			}
			ts.Set("columns", cols)
			if t.Comment != nil {
				ts.Set("comment", *t.Comment)
			}
			s.Set("table", ts)
		}
		out[i] = s
	}
	return out
}
