package transforms

import (
	"testing"

	"github.com/tributary-io/tributary/connect"
)

var productRowSchema = connect.StructBuilder().Name("server1.inventory.product.Value").Optional().
	Field("id", prim(connect.Int64)).Field("price", optPrim(connect.Float32)).Field("product", optPrim(connect.String)).MustBuild()

// productEvent is PartitionRoutingTest.buildSourceRecord /
// ExtractChangedRecordStateTest's records: an envelope of a product row.
func productEvent(op string, before, after *connect.StructValue) *connect.Record {
	env := connect.StructBuilder().Name("server1.inventory.product.Envelope").Field("before", productRowSchema).Field("after", productRowSchema).
		Field("op", prim(connect.String)).MustBuild()
	v := structOf(env, nil, nil, op)
	if before != nil {
		v.Values[0] = before
	}
	if after != nil {
		v.Values[1] = after
	}
	return &connect.Record{Topic: "prefix.inventory.products", Partition: -1, ValueSchema: env, Value: v}
}

func product(id int64, price float32, name string) *connect.StructValue {
	return structOf(productRowSchema, id, price, name)
}

// Cases from ExtractChangedRecordStateTest.
func TestExtractChangedRecordState(t *testing.T) {
	both := map[string]string{"header.changed.name": "Changed", "header.unchanged.name": "Unchanged"}
	cases := []struct {
		name             string
		props            map[string]string
		in               *connect.Record
		changed, unchang []any
		headers          int
	}{
		{"testAddUpdatedFieldToHeaders", both, productEvent("u", product(1, 1, "old"), product(1, 1, "new")), []any{"product"}, []any{"id", "price"}, 2},
		{"testAddUpdatedFieldToHeaders (changed only)", map[string]string{"header.changed.name": "Changed"}, productEvent("u", product(1, 1, "old"), product(1, 1, "new")), []any{"product"}, nil, 1},
		{"testAddCreatedFieldToHeaders", both, productEvent("c", nil, product(1, 1, "new")), []any{}, []any{}, 2},
		{"testNoHeadersSetWhenNotConfiguredWithUpdate", nil, productEvent("u", product(1, 1, "old"), product(1, 1, "new")), nil, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := apply(t, newT(t, ExtractChangedRecordStateClass, c.props), c.in)
			if len(out.Headers) != c.headers {
				t.Fatalf("headers %+v", out.Headers)
			}
			if h := header(out, "Changed"); h != nil {
				wantVal(t, "Changed", h.Value, c.changed)
				if h.Schema.Name != "Changed" || h.Schema.Type != connect.Array {
					t.Errorf("Changed schema %+v", h.Schema)
				}
			}
			if h := header(out, "Unchanged"); h != nil {
				wantVal(t, "Unchanged", h.Value, c.unchang)
			}
		})
	}
}

// Cases from HeaderToValueTest.
func TestHeaderToValue(t *testing.T) {
	for _, c := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"whenOperationIsNotMoveOrCopyAConfigExceptionIsThrew", map[string]string{"headers": "h1", "fields": "f1", "operation": "invalidOp"}, "Value must be one of move, copy"},
		{"whenNoFieldsDeclaredAConfigExceptionIsThrew", map[string]string{"headers": "h1", "operation": "copy"}, `Missing required configuration "fields"`},
		{"whenNoHeadersDeclaredAConfigExceptionIsThrew", map[string]string{"fields": "f1", "operation": "copy"}, `Missing required configuration "headers"`},
		{"whenHeadersAndFieldsHaveDifferentSizeAConfigExceptionIsThrew", map[string]string{"headers": "h1,h2", "fields": "f1", "operation": "copy"}, "'fields' config must have the same number of elements as 'headers' config."},
		{"whenFieldsOrHeadersContainsAnEmptyValueAConfigExceptionIsThrew", map[string]string{"headers": "h1,,h3", "fields": "f1,f2,f3", "operation": "copy"}, "Cannot contain empty elements"},
		{"whenFieldsOrHeadersContainsASpaceAConfigExceptionIsThrew", map[string]string{"headers": "h1,h 2", "fields": "f1,f2", "operation": "copy"}, "Cannot contain spaces"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTErr(HeaderToValueClass, c.props)
			checkErr(t, err, c.want)
		})
	}
	row := connect.StructBuilder().Name("Value").Field("id", prim(connect.Int64)).Field("price", prim(connect.Float32)).Field("product", prim(connect.String)).MustBuild()
	value := connect.StructBuilder().Name("Envelope").Field("after", row).Field("op", prim(connect.String)).MustBuild()
	rec := func() *connect.Record {
		return &connect.Record{Topic: "t", ValueSchema: value, Value: structOf(value, structOf(row, int64(101), float32(20), "a product"), "c"),
			Headers: []connect.Header{{Key: "h1", Schema: prim(connect.String), Value: "this is a value from h1 header"},
				{Key: "h2", Schema: prim(connect.String), Value: "this is a value from h2 header"}}}
	}
	t.Run("whenARecordThatContainsADefinedHeaderItWillBeCopiedInTheDefinedField", func(t *testing.T) {
		out := apply(t, newT(t, HeaderToValueClass, map[string]string{"headers": "h1,h2", "fields": "f1,f2", "operation": "copy"}), rec())
		v := out.Value.(*connect.StructValue)
		wantVal(t, "f1", v.Get("f1"), "this is a value from h1 header")
		wantVal(t, "f2", v.Get("f2"), "this is a value from h2 header")
		if len(out.Headers) != 2 {
			t.Error("copy keeps the headers")
		}
	})
	t.Run("leadingAndTrailingSpacesInFieldsAndHeadersConfigurationAreCorrectlyTrimmed", func(t *testing.T) {
		out := apply(t, newT(t, HeaderToValueClass, map[string]string{"headers": " h1 , h2 ", "fields": " f1 , f2 ", "operation": "copy"}), rec())
		wantVal(t, "f1", out.Value.(*connect.StructValue).Get("f1"), "this is a value from h1 header")
	})
	t.Run("whenARecordThatContainsADefinedHeaderAndOperationIsMoveItWillBeCopiedInTheDefinedFieldAndRemovedFromHeaders", func(t *testing.T) {
		out := apply(t, newT(t, HeaderToValueClass, map[string]string{"headers": "h1,h2", "fields": "f1,f2", "operation": "move"}), rec())
		wantVal(t, "f2", out.Value.(*connect.StructValue).Get("f2"), "this is a value from h2 header")
		if len(out.Headers) != 0 {
			t.Errorf("move removes the headers: %+v", out.Headers)
		}
	})
	t.Run("supportNestedField", func(t *testing.T) {
		out := apply(t, newT(t, HeaderToValueClass, map[string]string{"headers": "h1,h2", "fields": "f1,after.f2", "operation": "copy"}), rec())
		v := out.Value.(*connect.StructValue)
		wantVal(t, "f1", v.Get("f1"), "this is a value from h1 header")
		after := v.Get("after").(*connect.StructValue)
		wantVal(t, "after.f2", after.Get("f2"), "this is a value from h2 header")
		wantVal(t, "after.id", after.Get("id"), int64(101))
	})
}

// Cases from SchemaChangeEventFilterTest.
func TestSchemaChangeEventFilter(t *testing.T) {
	change := connect.StructBuilder().Field("type", prim(connect.String)).MustBuild()
	s := connect.StructBuilder().Name("io.debezium.connector.mysql.SchemaChangeValue").Field("tableChanges", connect.ArrayOf(change).MustBuild()).MustBuild()
	rec := func(types ...string) *connect.Record {
		var cs []any
		for _, ty := range types {
			cs = append(cs, structOf(change, ty))
		}
		if cs == nil {
			cs = []any{}
		}
		return &connect.Record{Topic: "server", ValueSchema: s, Value: structOf(s, cs)}
	}
	_, err := newTErr(SchemaChangeEventFilterClass, nil)
	checkErr(t, err, `Missing required configuration "schema.change.event.exclude.list"`) // whenNoDeclaredConfigExceptionIsThrew
	tr := newT(t, SchemaChangeEventFilterClass, map[string]string{"schema.change.event.exclude.list": "ALTER,CREATE"})
	if apply(t, tr, rec("ALTER")) != nil { // testSchemaChangeContainsEventTypeFilter
		t.Error("ALTER must be dropped")
	}
	if in := rec("DROP"); apply(t, tr, in) != in { // testSchemaChangeNonContainsEventTypeFilter
		t.Error("DROP must pass")
	}
	if in := productEvent("c", nil, product(1, 1, "x")); apply(t, tr, in) != in { // testSchemaChangeNonEventTypeFilter
		t.Error("non schema change events must pass")
	}
	tr = newT(t, SchemaChangeEventFilterClass, map[string]string{"schema.change.event.exclude.list": "DATABASE"})
	if apply(t, tr, rec()) != nil {
		t.Error("an event without table changes is DATABASE")
	}
	_, err = newTErr(SchemaChangeEventFilterClass, map[string]string{"schema.change.event.exclude.list": "ALTER,RENAME"})
	checkErr(t, err, "No enum constant io.debezium.schema.SchemaChangeEvent.SchemaChangeEventType.RENAME")
}

// Cases from PartitionRoutingTest.
func TestPartitionRouting(t *testing.T) {
	for _, c := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"whenNoPartitionPayloadFieldDeclaredAConfigExceptionIsThrew", map[string]string{"partition.topic.num": "2"}, `Missing required configuration "partition.payload.fields"`},
		{"whenNoPartitionTopicNumFieldDeclaredAConfigExceptionIsThrew", map[string]string{"partition.payload.fields": "after.product"}, `Missing required configuration "partition.topic.num"`},
		{"whenPartitionPayloadFieldContainsEmptyElementAConfigExceptionIsThrew", map[string]string{"partition.payload.fields": ",source.table", "partition.topic.num": "2"}, "Cannot contain empty elements"},
		{"murmurHashWillBeUsed (not supported)", map[string]string{"partition.payload.fields": "change.id", "partition.topic.num": "100", "partition.hash.function": "murmur"}, "murmur is not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTErr(PartitionRoutingClass, c.props)
			checkErr(t, err, c.want)
		})
	}
	cases := []struct {
		name   string
		fields string
		num    string
		in     *connect.Record
		want   int32
	}{
		{"spaceBetweenNestedFiledSeparatedWillBeCorrectManaged", "change . product", "2", productEvent("c", nil, product(1, 1, "APPLE")), 0},
		{"correctComputeKafkaPartitionBasedOnNewConfiguredFieldOnCreateAndUpdateEvents", "after.product", "2", productEvent("c", nil, product(1, 1, "APPLE")), 0},
		{"correctComputeKafkaPartitionBasedOnSpecialChangeNestedFieldOnCreateDelete", "change.product", "2", productEvent("d", product(1, 1, "APPLE"), nil), 0},
		{"byDefaultJavaHashIsUsed", "change.id, change.product", "100", productEvent("c", nil, product(1, 1, "orange")), 39},
		{"whenASpecifiedFieldIsNotFoundOnPayloadItWillBeIgnored", "after.not_exist", "2", productEvent("c", nil, product(1, 1, "APPLE")), -1},
		{"truncateOperationRecordWillBeSkipped", "after.product", "2", productEvent("t", nil, nil), -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := apply(t, newT(t, PartitionRoutingClass, map[string]string{"partition.payload.fields": c.fields, "partition.topic.num": c.num}), c.in)
			if out.Partition != c.want {
				t.Errorf("partition %d, want %d", out.Partition, c.want)
			}
		})
	}
}
