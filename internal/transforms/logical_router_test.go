package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// Cases from ByLogicalTableRouterTest.
func TestByLogicalTableRouter(t *testing.T) {
	keySchema := connect.StructBuilder().Name("mysql-server-1.inventory.customers_shard_1.Key").Field("id", prim(connect.Int64)).MustBuild()
	for _, c := range []struct{ mode, wantName string }{
		{"avro", "mysql_server_1.inventory.customers_all_shards.Key"}, // testKeyReplacementWorkingConfigurationWithAvroSchemaNameAdjustment
		{"none", "mysql-server-1.inventory.customers_all_shards.Key"}, // testKeyReplacementWorkingConfigurationWithNoSchemaNameAdjustment
	} {
		t.Run("testKeyReplacementWorkingConfiguration/"+c.mode, func(t *testing.T) {
			tr := newT(t, ByLogicalTableRouterClass, map[string]string{"topic.regex": "(.*)customers_shard(.*)", "topic.replacement": "$1customers_all_shards",
				"key.field.name": "shard_id", "key.field.regex": "(.*)customers_shard_(.*)", "key.field.replacement": "$2", "schema.name.adjustment.mode": c.mode})
			for _, r := range []struct {
				topic string
				id    int64
				shard string
			}{{"mysql-server-1.inventory.customers_shard_1", 123, "1"}, {"mysql-server-1.inventory.customers_shard_2", 123, "2"}, {"mysql-server-1.inventory.customers_shard_2", 456, "2"}} {
				out := apply(t, tr, &connect.Record{Topic: r.topic, KeySchema: keySchema, Key: structOf(keySchema, r.id)})
				if out.Topic != "mysql-server-1.inventory.customers_all_shards" || out.KeySchema.Name != c.wantName {
					t.Errorf("topic %q key schema %q", out.Topic, out.KeySchema.Name)
				}
				ws := connect.StructBuilder().Name(c.wantName).Field("id", prim(connect.Int64)).Field("shard_id", prim(connect.String)).MustBuild()
				wantVal(t, "key", out.Key, structOf(ws, r.id, r.shard))
			}
		})
	}
	t.Run("validateKeyFieldReplacement: key.field.regex without key.field.replacement", func(t *testing.T) {
		_, err := newTErr(ByLogicalTableRouterClass, map[string]string{"topic.regex": "(.*)customers_shard(.*)", "topic.replacement": "$1customers_all_shards",
			"key.field.regex": "(.*)customers_shard_(.*)"})
		checkErr(t, err, "key.field.replacement must be non-empty if key.field.regex is set.")
	})
	t.Run("shouldUseDefaultKeyFieldNameWhenNotExplicitlySet", func(t *testing.T) {
		for class, want := range map[string]string{ByLogicalTableRouterClass: "__dbz__physicalTableIdentifier", ToLogicalTopicRouterClass: "__dbz__sourceIdentifier"} {
			tr := newT(t, class, map[string]string{"topic.regex": "(.*)customers_shard(.*)", "topic.replacement": "$1customers_all_shards"})
			out := apply(t, tr, &connect.Record{Topic: "mysql-server-1.inventory.customers_shard_1", KeySchema: keySchema, Key: structOf(keySchema, int64(1))})
			if out.KeySchema.Field(want) == nil {
				t.Errorf("%s: key fields %+v", class, out.KeySchema.Fields)
			}
			wantVal(t, "identifier", out.Key.(*connect.StructValue).Get(want), "mysql-server-1.inventory.customers_shard_1")
		}
	})
	t.Run("testKeyNullValue / not matching", func(t *testing.T) {
		tr := newT(t, ByLogicalTableRouterClass, map[string]string{"topic.regex": "(.*)customers_shard(.*)", "topic.replacement": "$1customers_all_shards"})
		out := apply(t, tr, &connect.Record{Topic: "mysql-server-1.inventory.customers_shard_1"})
		if out.Topic != "mysql-server-1.inventory.customers_all_shards" || out.Key != nil {
			t.Errorf("got %+v", out)
		}
		in := &connect.Record{Topic: "other"}
		if apply(t, tr, in) != in {
			t.Error("non-matching topic must pass unchanged")
		}
	})
	t.Run("envelope schemas renamed", func(t *testing.T) {
		row := connect.StructBuilder().Name("s.inv.customers_shard_1.Value").Optional().Field("id", prim(connect.Int64)).MustBuild()
		env := connect.StructBuilder().Name("s.inv.customers_shard_1.Envelope").Field("before", row).Field("after", row).Field("op", prim(connect.String)).MustBuild()
		tr := newT(t, ByLogicalTableRouterClass, map[string]string{"topic.regex": "(.*)customers_shard(.*)", "topic.replacement": "$1customers_all_shards", "key.enforce.uniqueness": "false"})
		in := &connect.Record{Topic: "s.inv.customers_shard_1", KeySchema: keySchema, Key: structOf(keySchema, int64(7)),
			ValueSchema: env, Value: structOf(env, nil, structOf(row, int64(7)), "c")}
		out := apply(t, tr, in)
		if out.ValueSchema.Name != "s.inv.customers_all_shards.Envelope" || out.ValueSchema.Field("after").Schema.Name != "s.inv.customers_all_shards.Value" {
			t.Errorf("schemas %q %q", out.ValueSchema.Name, out.ValueSchema.Field("after").Schema.Name)
		}
		if len(out.KeySchema.Fields) != 1 {
			t.Error("key.enforce.uniqueness=false must not add a key field")
		}
		wantVal(t, "after.id", out.Value.(*connect.StructValue).Get("after").(*connect.StructValue).Get("id"), int64(7))
	})
}
