package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// Records sharing a schema must get the same output schema: transforms
// build derived schemas once per input schema, not per record.
func TestSchemasBuiltOncePerInputSchema(t *testing.T) {
	f := newUnwrapFixture()
	row := connect.StructBuilder().Name("r").Field("id", prim(connect.Int32)).Field("name", optPrim(connect.String)).
		Field("ts", prim(connect.Int64)).Field("nested", connect.StructBuilder().Field("a", prim(connect.Int32)).MustBuild()).MustBuild()
	rowRec := func() *connect.Record {
		return &connect.Record{Topic: "db.inv.customers_shard_1", KeySchema: row, Key: structOf(row, int32(1), "k", int64(5), structOf(row.Field("nested").Schema, int32(2))),
			ValueSchema: row, Value: structOf(row, int32(1), "n", int64(5), structOf(row.Field("nested").Schema, int32(2))),
			Headers: []connect.Header{{Key: "h", Schema: prim(connect.String), Value: "x"}}}
	}
	cases := []struct {
		class string
		props map[string]string
		in    func() *connect.Record
	}{
		{ExtractNewRecordStateClass, map[string]string{"delete.tombstone.handling.mode": "rewrite", "add.fields": "op,table,lsn"}, func() *connect.Record { return f.stream()[2] }},
		{ExtractNewRecordStateClass, nil, func() *connect.Record { return f.stream()[1] }},
		{kt + "InsertField$Value", map[string]string{"topic.field": "t"}, rowRec},
		{kt + "ReplaceField$Value", map[string]string{"exclude": "name"}, rowRec},
		{kt + "ValueToKey", map[string]string{"fields": "id"}, rowRec},
		{kt + "HoistField$Value", map[string]string{"field": "v"}, rowRec},
		{kt + "Flatten$Value", nil, rowRec},
		{kt + "Cast$Value", map[string]string{"spec": "id:int64"}, rowRec},
		{kt + "SetSchemaMetadata$Value", map[string]string{"schema.name": "x"}, rowRec},
		{kt + "TimestampConverter$Value", map[string]string{"field": "ts", "target.type": "Timestamp"}, rowRec},
		{kt + "HeaderFrom$Value", map[string]string{"fields": "name", "headers": "n", "operation": "move"}, rowRec},
		{HeaderToValueClass, map[string]string{"headers": "h", "fields": "hv", "operation": "copy"}, rowRec},
		{ByLogicalTableRouterClass, map[string]string{"topic.regex": "(.*)customers_shard(.*)", "topic.replacement": "$1customers"}, rowRec},
		{EventRouterClass, map[string]string{"table.fields.additional.placement": "type:envelope"}, defaultOutboxEvent},
	}
	for _, c := range cases {
		t.Run(c.class, func(t *testing.T) {
			tr := newT(t, c.class, c.props)
			in := c.in()
			a, b := apply(t, tr, in), apply(t, tr, in)
			if a.ValueSchema != b.ValueSchema || a.KeySchema != b.KeySchema {
				t.Errorf("output schema rebuilt for a record of the same schema")
			}
		})
	}
}
