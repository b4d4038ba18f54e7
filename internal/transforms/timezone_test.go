package transforms

import (
	"testing"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// The schemas of TimezoneConverterTest.
var (
	tzSourceSchema = connect.StructBuilder().Optional().Field("table", prim(connect.String)).Field("lsn", prim(connect.Int32)).
			Field("ts_ms", optPrim(connect.Int64)).Field("ts_us", optPrim(connect.Int64)).Field("ts_ns", optPrim(connect.Int64)).
			Field("random", optPrim(connect.Int64)).MustBuild()
	tzRecordSchema = connect.StructBuilder().Optional().Field("id", prim(connect.Int8)).Field("name", prim(connect.String)).
			Field("order_date", connect.NewBuilder(connect.Int32).Name("io.debezium.time.Date").Version(1).Optional().MustBuild()).
			Field("ship_date", connect.NewBuilder(connect.Int32).Name("io.debezium.time.Date").Version(1).Optional().MustBuild()).
			Field("order_date_micros", connect.NewBuilder(connect.Int64).Name(dbzMicroTimestamp).Version(1).Optional().MustBuild()).
			Field("order_date_nanos", connect.NewBuilder(connect.Int64).Name(dbzNanoTimestamp).Version(1).Optional().MustBuild()).
			Field("order_date_timestamp", connect.NewBuilder(connect.Int64).Name(dbzTimestamp).Version(1).Optional().MustBuild()).
			Field("order_date_zoned_timestamp", connect.NewBuilder(connect.String).Name(dbzZonedTimestamp).Version(1).Optional().MustBuild()).
			Field("shipping_date_zoned_timestamp", connect.NewBuilder(connect.String).Name(dbzZonedTimestamp).Version(1).Optional().MustBuild()).
			Field("order_date_zoned_time", connect.NewBuilder(connect.String).Name(dbzZonedTime).Version(1).Optional().MustBuild()).
			Field("order_date_kc_timestamp", connect.TimestampSchema().Optional().MustBuild()).MustBuild()
	tzEnvSchema = connect.StructBuilder().Name("dummy.Envelope").Field("before", tzRecordSchema).Field("after", tzRecordSchema).
			Field("source", tzSourceSchema).Field("op", prim(connect.String)).MustBuild()
)

// tzEvent is the tests' envelope.create(row, source): a create event on
// topic db.server1.table1 (or topic).
func tzEvent(topic, table string, row map[string]any, src map[string]any) *connect.Record {
	r := connect.NewStruct(tzRecordSchema).Set("id", int8(1)).Set("name", "John Doe")
	for k, v := range row {
		r.Set(k, v)
	}
	s := connect.NewStruct(tzSourceSchema).Set("table", table).Set("lsn", int32(1)).Set("ts_ms", int64(123456789))
	for k, v := range src {
		s.Set(k, v)
	}
	env := connect.NewStruct(tzEnvSchema).Set("after", r).Set("source", s).Set("op", "c")
	if topic == "" {
		topic = "db.server1.table1"
	}
	return &connect.Record{Topic: topic, ValueSchema: tzEnvSchema, Value: env}
}

func afterOf(rec *connect.Record) *connect.StructValue {
	return rec.Value.(*connect.StructValue).Get("after").(*connect.StructValue)
}

func sourceOf(rec *connect.Record) *connect.StructValue {
	return rec.Value.(*connect.StructValue).Get("source").(*connect.StructValue)
}

// Cases from TimezoneConverterTest.
func TestTimezoneConverter(t *testing.T) {
	cases := []struct {
		name       string
		props      map[string]string
		topic      string
		table      string
		row, src   map[string]any
		want       map[string]any
		wantSource map[string]any
	}{
		{"testMultipleDebeziumTimestamps", map[string]string{"converted.timezone": "+05:30"}, "", "orders",
			map[string]any{"order_date_micros": int64(1529507596945104), "order_date_nanos": int64(1531481025340000104), "order_date_timestamp": int64(1514908810123),
				"order_date_zoned_timestamp": "2018-01-02T11:15:30.123456789+00:00", "order_date_zoned_time": "11:15:30.123456789+00:00"}, nil,
			map[string]any{"order_date_micros": int64(1529487796945104), "order_date_nanos": int64(1531461225340000104), "order_date_timestamp": int64(1514889010123),
				"order_date_zoned_timestamp": "2018-01-02T16:45:30.123456789+05:30", "order_date_zoned_time": "16:45:30.123456789+05:30"},
			map[string]any{"table": "orders", "ts_ms": int64(123456789)}},
		{"testSingleDebeziumTimestamp", map[string]string{"converted.timezone": "Pacific/Easter"}, "", "orders",
			map[string]any{"order_date_zoned_timestamp": "2011-01-11T16:40:30.123456789+00:00", "shipping_date_zoned_timestamp": "2011-02-02T11:04:30.123456789+00:00"}, nil,
			map[string]any{"order_date_zoned_timestamp": "2011-01-11T11:40:30.123456789-05:00", "shipping_date_zoned_timestamp": "2011-02-02T06:04:30.123456789-05:00"}, nil},
		{"testKafkaConnectTimestamp", map[string]string{"converted.timezone": "Africa/Cairo"}, "", "orders",
			map[string]any{"order_date_kc_timestamp": time.Date(2018, 3, 27, 2, 0, 0, 0, time.UTC)}, nil,
			map[string]any{"order_date_kc_timestamp": time.Date(2018, 3, 27, 0, 0, 0, 0, time.UTC)}, nil},
		{"testIncludeListWithTablePrefix", map[string]string{"converted.timezone": "Atlantic/Azores", "include.list": "source:customers:after.order_date_zoned_timestamp"}, "", "customers",
			map[string]any{"order_date_zoned_timestamp": "2020-01-01T11:55:30+00:00", "shipping_date_zoned_timestamp": "2020-05-01T11:55:30+00:00"}, nil,
			map[string]any{"order_date_zoned_timestamp": "2020-01-01T10:55:30-01:00", "shipping_date_zoned_timestamp": "2020-05-01T11:55:30+00:00"}, nil},
		{"testIncludeListWithTopicPrefix", map[string]string{"converted.timezone": "+05:30", "include.list": "topic:db.server1.table1:order_date_zoned_time"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:55:30+00:00"}, nil, map[string]any{"order_date_zoned_time": "17:25:30+05:30"}, nil},
		{"testIncludeListWithNoPrefix", map[string]string{"converted.timezone": "Asia/Kolkata", "include.list": "db.server1.table1:order_date_zoned_time"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:55:30+00:00"}, nil, map[string]any{"order_date_zoned_time": "17:25:30+05:30"}, nil},
		{"testExcludeListWithTablePrefix", map[string]string{"converted.timezone": "+05:30", "exclude.list": "source:customers:order_date_zoned_timestamp"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:55:30+00:00"}, nil, map[string]any{"order_date_zoned_time": "17:25:30+05:30"}, nil},
		{"testExcludeListWithTopicPrefix", map[string]string{"converted.timezone": "America/Chicago", "exclude.list": "topic:db.server1.table1:order_date_zoned_time"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:55:30+00:00", "order_date": int32(17109)}, nil,
			map[string]any{"order_date_zoned_time": "11:55:30+00:00", "order_date": int32(17109)}, nil},
		{"testExcludeListWithNoPrefix", map[string]string{"converted.timezone": "+08:00:00", "exclude.list": "db.server1.table1:ship_date"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:55:30+00:00"}, nil, map[string]any{"order_date_zoned_time": "19:55:30+08:00"}, nil},
		{"testIncludeListMultipleTables/customers1", map[string]string{"converted.timezone": "+03:00", "include.list": "source:customers1,orders1,public1"}, "", "customers1",
			map[string]any{"order_date_zoned_timestamp": "2020-01-01T11:55:30+00:00", "shipping_date_zoned_timestamp": "2020-01-01T15:40:10+00:00"}, nil,
			map[string]any{"order_date_zoned_timestamp": "2020-01-01T14:55:30+03:00", "shipping_date_zoned_timestamp": "2020-01-01T18:40:10+03:00"}, nil},
		{"testIncludeListMultipleTables/orders1", map[string]string{"converted.timezone": "+03:00", "include.list": "source:customers1,orders1,public1"}, "", "orders1",
			map[string]any{"order_date_zoned_timestamp": "2023-08-01T11:50:45+00:00", "shipping_date_zoned_timestamp": "2023-09-01T11:55:30+00:00"}, nil,
			map[string]any{"order_date_zoned_timestamp": "2023-08-01T14:50:45+03:00", "shipping_date_zoned_timestamp": "2023-09-01T14:55:30+03:00"}, nil},
		{"testIncludeListMultipleTables/other1", map[string]string{"converted.timezone": "+03:00", "include.list": "source:customers1,orders1,public1"}, "", "other1",
			map[string]any{"order_date_zoned_timestamp": "2023-08-01T11:50:45+00:00"}, nil, map[string]any{"order_date_zoned_timestamp": "2023-08-01T11:50:45+00:00"}, nil},
		{"testExcludeListMultipleTables/customers", map[string]string{"converted.timezone": "-06:00", "exclude.list": "topic:db.server1.customers,db.server1.public"}, "db.server1.customers", "customers1",
			map[string]any{"order_date_zoned_timestamp": "2020-01-01T11:55:30+00:00"}, nil, map[string]any{"order_date_zoned_timestamp": "2020-01-01T11:55:30+00:00"}, nil},
		{"testExcludeListMultipleTables/orders", map[string]string{"converted.timezone": "-06:00", "exclude.list": "topic:db.server1.customers,db.server1.public"}, "db.server1.orders", "orders1",
			map[string]any{"order_date_zoned_timestamp": "2023-08-01T11:50:45+00:00"}, nil, map[string]any{"order_date_zoned_timestamp": "2023-08-01T05:50:45-06:00"}, nil},
		{"testExcludeListWithMultipleFields/customers", map[string]string{"converted.timezone": "Europe/Moscow", "exclude.list": "topic:db.server1.customers:order_date_zoned_time,db.server1.inventory:order_date"},
			"db.server1.customers", "customers", map[string]any{"name": "Amy Rose", "order_date_zoned_time": "10:19:25+00:00"}, nil,
			map[string]any{"name": "Amy Rose", "order_date_zoned_time": "10:19:25+00:00"}, nil},
		{"testExcludeListWithMultipleFields/inventory", map[string]string{"converted.timezone": "Europe/Moscow", "exclude.list": "topic:db.server1.customers:order_date_zoned_time,db.server1.inventory:order_date"},
			"db.server1.inventory", "inventory", map[string]any{"name": "Amy Rose", "order_date_zoned_time": "19:19:25+00:00"}, nil,
			map[string]any{"name": "Amy Rose", "order_date_zoned_time": "22:19:25+03:00"}, nil},
		{"testDayLightSavings", map[string]string{"converted.timezone": "Europe/Paris"}, "", "customers",
			map[string]any{"order_date_zoned_timestamp": "2014-06-22T10:15:30Z", "shipping_date_zoned_timestamp": "2014-12-22T10:15:30Z"}, nil,
			map[string]any{"order_date_zoned_timestamp": "2014-06-22T12:15:30+02:00", "shipping_date_zoned_timestamp": "2014-12-22T11:15:30+01:00"}, nil},
		{"testUnsupportedLogicalTypes", map[string]string{"converted.timezone": "Europe/Moscow", "include.list": "source:customers:order_date"}, "", "customers",
			map[string]any{"order_date": int32(17109), "ship_date": int32(17111)}, nil, map[string]any{"order_date": int32(17109), "ship_date": int32(17111)}, nil},
		{"testSourceBlockTimestamp", map[string]string{"converted.timezone": "Europe/Moscow", "include.list": "source:customers:source.ts_ms"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:15:30.123456789+00:00"}, map[string]any{"ts_ms": int64(1234567890)},
			map[string]any{"order_date_zoned_time": "11:15:30.123456789+00:00"}, map[string]any{"ts_ms": int64(1245367890)}},
		{"testEpochTimezoneConversion", map[string]string{"converted.timezone": "Asia/Kolkata",
			"include.list": "source:customers:source.ts_ms,customers:source.ts_ns,customers:source.ts_us,customers:source.random,customers:order_date_zoned_time"}, "", "customers",
			map[string]any{"order_date_zoned_time": "11:00:00.123456789+00:00"},
			map[string]any{"ts_ms": int64(1762652621071), "ts_ns": int64(1762652621071088000), "ts_us": int64(1762652621071088), "random": int64(125)},
			map[string]any{"order_date_zoned_time": "16:30:00.123456789+05:30"},
			map[string]any{"ts_ms": int64(1762672421071), "ts_ns": int64(1762672421071088000), "ts_us": int64(1762672421071088), "random": int64(125)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := tzEvent(c.topic, c.table, c.row, c.src)
			out := apply(t, newT(t, TimezoneConverterClass, c.props), in)
			after := afterOf(out)
			for k, w := range c.want {
				wantVal(t, "after."+k, after.Get(k), w)
			}
			for k, w := range c.wantSource {
				wantVal(t, "source."+k, sourceOf(out).Get(k), w)
			}
			for k, w := range c.row {
				wantVal(t, "input after."+k, afterOf(in).Get(k), w)
			}
			if out.ValueSchema != in.ValueSchema {
				t.Error("schemas are unchanged and must be reused")
			}
		})
	}
	for _, c := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"testBothIncludeExcludeList", map[string]string{"converted.timezone": "+05:30", "include.list": "topic:db.server1.customers,db.server1.public", "exclude.list": "topic:db.server1.customers,db.server1.public"},
			"Both include and exclude lists are specified. Please specify only one."},
		{"testWithNoConfig", map[string]string{"include.list": "topic:db.server1.customers"}, "Invalid value null for configuration converted.timezone: The 'converted.timezone' value is invalid: A value is required"},
		{"testWithInvalidConfig", map[string]string{"converted.timezone": "Asia", "include.list": "topic:db.server1.customers"},
			"Invalid timezone format. Please specify either a geographic timezone (e.g. America/Los_Angeles) or a UTC offset in the format of +/-hh:mm, (e.g. +08:00)."},
		{"invalid include list", map[string]string{"converted.timezone": "UTC", "include.list": "customers"}, "Invalid include list format."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := newTErr(TimezoneConverterClass, c.props)
			checkErr(t, err, c.want)
		})
	}
}
