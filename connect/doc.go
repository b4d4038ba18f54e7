// Package connect is Tributary's plugin SDK: Kafka Connect's data model
// and the interfaces a connector or a transform implements, so that one
// written outside this module runs in a Tributary binary exactly as the
// built-in Debezium and JDBC connectors do.
//
// # Data model
//
// A [Schema] is Kafka Connect's (org.apache.kafka.connect.data.Schema):
// primitive types, structs, arrays, maps and the logical types (Decimal,
// Date, Time, Timestamp), built with a [Builder]. A struct value is a
// [StructValue]; other values are plain Go values (int8 to int64,
// float32/64, bool, string, []byte, []any, [MapValue]). A [Record] is
// what a source task writes and a sink task receives: topic, key and
// value with their schemas, headers, timestamp, and for sources the
// source partition and offset. The converters (key.converter,
// value.converter) serialise records exactly as Kafka Connect's do.
//
// # Plugins
//
// A [Plugin] describes one connector class: its class name and aliases (as
// connector.class names them), whether it is a source or a sink, its
// properties as a [config.Def] (from which validation, `tributary
// validate`, the REST API's validate endpoint and the reference docs
// come), and the function that creates its task. The runtime parses a
// connector's properties with the Def, adds its own (converters,
// transforms, errors.*, topic.creation.*) and hands the task the parsed
// [config.Values] and a [TaskContext]. Plugins are listed explicitly by the
// binary, not registered by init functions.
//
// # Source tasks and offsets
//
// A [SourceTask] reads its source and writes records to a
// [RecordWriter] until its context ends. Each record carries a source
// partition (which part of the source it comes from: a table, a file, a
// replication slot) and a source offset (where in that partition it is),
// both maps of JSON-compatible values, as in Kafka Connect. The runtime
// stores a partition's offset only after Kafka has acknowledged the record
// and every record before it, in the offset store the worker is
// configured with (a file, or Kafka Connect's offsets topic, in its format).
// When a task starts it asks [TaskContext.Offsets] for the last stored
// offset of its partitions and resumes after it; a crash therefore replays
// at most the records after the last commit, and never skips one. Numbers
// in a stored offset come back as decoded from JSON (json.Number or
// float64), not necessarily as the type written.
//
// A task returns nil when its context ends, or when its work is complete
// (a snapshot-only run); an error fails it. [Retriable] marks an error
// that a restart of the task can recover from (Kafka Connect's
// RetriableException).
//
// # Sink tasks
//
// A [SinkTask] receives records read from Kafka, already converted and
// transformed, in Put, which must make them durable before it returns: the
// runtime commits the consumer offsets of a batch only after Put
// succeeded. Close releases the target when the task stops.
//
// # Transforms and predicates
//
// A [Transform] is a single message transform (Kafka Connect's
// Transformation) and a [Predicate] decides whether one applies. A
// connector configures them with Kafka Connect's properties:
// "transforms=a", "transforms.a.type=<class>", "transforms.a.predicate=p",
// "predicates=p", "predicates.p.type=<class>". A [TransformFactory] or
// [PredicateFactory] receives the properties of its alias and should
// refuse the ones it does not know.
//
// # Converters
//
// A [Converter] (Kafka Connect's Converter) serialises keys or values for
// Kafka and back; a [ConverterFactory] builds one from the
// key.converter.* or value.converter.* properties.
//
// # A custom binary
//
// The tributary command is the public package
// github.com/tributary-io/tributary/cli. A binary with more connectors,
// transforms, predicates or converters is a main package that lists them:
//
//	func main() {
//		os.Exit(cli.Main(cli.Extensions{
//			Plugins:    connect.Plugins{counter.Plugin()},
//			Transforms: map[string]connect.TransformFactory{"com.example.UpperCase": upper.New},
//		}))
//	}
//
// It has every command of tributary (run, standalone, distributed,
// validate, plugins, ...) with the built-in plugins and its own; a class
// that clashes with a built-in one replaces it. examples/custom-connector
// in this repository is such a binary, in its own module, with a source
// connector whose offsets resume after a restart; docs/sdk.md walks
// through it.
package connect
