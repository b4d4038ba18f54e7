package avro_test

import (
	"math/big"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/debezium"
)

// The fixture below builds the Connect schemas of one PostgreSQL table the
// way Debezium 3.6.1's PostgreSQL connector names and shapes them
// (decimal.handling.mode=precise, time.precision.mode=adaptive,
// hstore.handling.mode=map), covering the semantic types users meet.

func semantic(name string, t connect.Type) *connect.Builder {
	return connect.NewBuilder(t).Name(name).Version(1)
}

func pgDecimal(precision, scale int) *connect.Builder {
	return connect.DecimalSchema(scale).Param("connect.decimal.precision", itoa(precision))
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func variableScaleDecimal() *connect.Builder {
	return connect.StructBuilder().Name("io.debezium.data.VariableScaleDecimal").Version(1).
		Doc("Variable scaled decimal").
		Field("scale", connect.Prim(connect.Int32)).
		Field("value", connect.Prim(connect.Bytes))
}

func pointSchema() *connect.Builder {
	return connect.StructBuilder().Name("io.debezium.data.geometry.Point").Version(1).Doc("Geometry (POINT)").
		Field("x", connect.Prim(connect.Float64)).
		Field("y", connect.Prim(connect.Float64)).
		Field("wkb", connect.OptionalPrim(connect.Bytes)).
		Field("srid", connect.OptionalPrim(connect.Int32))
}

func postgresSourceSchema() *connect.Schema {
	return debezium.SourceSchemaBuilder().Name("io.debezium.connector.postgresql.Source").
		Field("schema", connect.Prim(connect.String)).
		Field("table", connect.Prim(connect.String)).
		Field("txId", connect.OptionalPrim(connect.Int64)).
		Field("lsn", connect.OptionalPrim(connect.Int64)).
		Field("xmin", connect.OptionalPrim(connect.Int64)).
		Field("origin", connect.OptionalPrim(connect.String)).
		Field("origin_lsn", connect.OptionalPrim(connect.Int64)).
		MustBuild()
}

type pgFixture struct {
	key, row, envelope *connect.Schema
}

func newPGFixture() *pgFixture {
	const prefix = "dbserver1.public.all_types"
	key := connect.StructBuilder().Name(prefix+".Key").
		Field("id", connect.Prim(connect.Int32)).MustBuild()
	opt := func(b *connect.Builder) *connect.Schema { return b.Optional().MustBuild() }
	row := connect.StructBuilder().Name(prefix+".Value").Optional().
		Field("id", connect.Prim(connect.Int32)).
		Field("c_smallint", connect.OptionalPrim(connect.Int16)).
		Field("c_smallint_default", connect.NewBuilder(connect.Int16).Default(int16(42)).MustBuild()).
		Field("c_integer", connect.OptionalPrim(connect.Int32)).
		Field("c_bigint", connect.Prim(connect.Int64)).
		Field("c_real", connect.OptionalPrim(connect.Float32)).
		Field("c_real_default", connect.NewBuilder(connect.Float32).Optional().Default(float32(0.1)).MustBuild()).
		Field("c_double", connect.OptionalPrim(connect.Float64)).
		Field("c_double_default", connect.NewBuilder(connect.Float64).Optional().Default(1.5).MustBuild()).
		Field("c_bool", connect.OptionalPrim(connect.Boolean)).
		Field("c_numeric", opt(pgDecimal(10, 2))).
		Field("c_numeric_default", pgDecimal(5, 2).Default(connect.Decimal{Unscaled: big.NewInt(314), Scale: 2}).MustBuild()).
		Field("c_numeric_var", opt(variableScaleDecimal())).
		Field("c_numeric_var2", opt(variableScaleDecimal())).
		Field("c_money", opt(connect.DecimalSchema(2))).
		Field("c_text", connect.OptionalPrim(connect.String)).
		Field("c_varchar_default", connect.NewBuilder(connect.String).Optional().Default("it's \"quoted\"\n").MustBuild()).
		Field("c_char", connect.OptionalPrim(connect.String)).
		Field("c_bytea", connect.OptionalPrim(connect.Bytes)).
		Field("c_date", opt(semantic("io.debezium.time.Date", connect.Int32))).
		Field("c_time", opt(semantic("io.debezium.time.MicroTime", connect.Int64))).
		Field("c_time_ms", opt(semantic("io.debezium.time.Time", connect.Int32))).
		Field("c_timestamp", opt(semantic("io.debezium.time.MicroTimestamp", connect.Int64))).
		Field("c_timestamp_ms", opt(semantic("io.debezium.time.Timestamp", connect.Int64))).
		Field("c_timestamptz", opt(semantic("io.debezium.time.ZonedTimestamp", connect.String))).
		Field("c_timetz", opt(semantic("io.debezium.time.ZonedTime", connect.String))).
		Field("c_interval", opt(semantic("io.debezium.time.MicroDuration", connect.Int64))).
		Field("c_uuid", opt(semantic("io.debezium.data.Uuid", connect.String))).
		Field("c_json", opt(semantic("io.debezium.data.Json", connect.String))).
		Field("c_jsonb", semantic("io.debezium.data.Json", connect.String).Optional().Default("{}").MustBuild()).
		Field("c_xml", opt(semantic("io.debezium.data.Xml", connect.String))).
		Field("c_bit", connect.OptionalPrim(connect.Boolean)).
		Field("c_bits", opt(semantic("io.debezium.data.Bits", connect.Bytes).Param("length", "8"))).
		Field("c_enum", opt(semantic("io.debezium.data.Enum", connect.String).Param("allowed", "sad,ok,happy"))).
		Field("c_ltree", opt(semantic("io.debezium.data.Ltree", connect.String))).
		Field("c_point", opt(pointSchema())).
		Field("c_hstore", connect.MapOf(connect.Prim(connect.String), connect.OptionalPrim(connect.String)).Optional().MustBuild()).
		Field("c_int_array", connect.ArrayOf(connect.OptionalPrim(connect.Int32)).Optional().MustBuild()).
		Field("c_text_array", connect.ArrayOf(connect.OptionalPrim(connect.String)).Optional().MustBuild()).
		Field("c_numeric_array", connect.ArrayOf(opt(pgDecimal(6, 3))).Optional().MustBuild()).
		Field("c_connect_date", opt(connect.DateSchema())).
		Field("c_connect_time", opt(connect.TimeSchema())).
		Field("c_connect_timestamp", opt(connect.TimestampSchema())).
		MustBuild()
	env := debezium.EnvelopeSchema(prefix+".Envelope", row, postgresSourceSchema())
	return &pgFixture{key: key, row: row, envelope: env}
}
