// Package transforms implements Kafka Connect single message transforms
// (SMTs), their predicates, and the transforms chain configured with
// "transforms=a,b", "transforms.a.type=...", "transforms.a.predicate=p",
// "transforms.a.negate=true", "predicates=p" and "predicates.p.type=...".
//
// Classes are accepted under their Java names and, as Kafka Connect
// allows, their simple names ("RegexRouter", "InsertField$Value"):
//
//   - Kafka Connect (org.apache.kafka.connect.transforms): Cast, DropHeaders,
//     ExtractField, Filter, Flatten, HeaderFrom, HoistField, InsertField,
//     InsertHeader, MaskField, RegexRouter, ReplaceField, SetSchemaMetadata,
//     TimestampConverter, TimestampRouter, ValueToKey ($Key/$Value where Kafka
//     has them); predicates TopicNameMatches, HasHeaderKey, RecordIsTombstone.
//   - Debezium: ExtractNewRecordState, ExtractChangedRecordState,
//     outbox.EventRouter, ByLogicalTableRouter, ToLogicalTopicRouter,
//     HeaderToValue, partitions.PartitionRouting, TimezoneConverter,
//     SchemaChangeEventFilter, ContentBasedRouter, Filter, and PostgreSQL's
//     DecodeLogicalDecodingMessageContent.
//
// Property names, defaults, validation and error messages are Kafka's and
// Debezium's; Build reports a bad property by its full name
// ("transforms.route.regex: Invalid value [ for configuration regex: ...").
// Derived schemas are cached per input schema, so a stream of records of
// one table allocates no schema per record.
//
// Where Tributary deliberately differs:
//   - Unknown transform and predicate properties are rejected (Kafka ignores
//     them), naming the closest known property: a typo otherwise silently
//     changes what reaches the topic.
//   - Regular expressions use Go's RE2 syntax, the same as Java's for the
//     patterns topic routing uses; look-around and back-references are
//     rejected as invalid. Replacement strings follow Java's Matcher rules
//     ("$1x" is group 1 then "x") and are checked at start-up.
//   - Debezium's ContentBasedRouter and Filter evaluate Go expressions
//     (language=expr, github.com/expr-lang/expr) instead of JSR 223 scripts;
//     a jsr223.* language is refused with the expr translation of the
//     expression.
//   - PartitionRouting supports partition.hash.function=java (the default)
//     only.
//   - HeaderFrom naming a field the schema lacks fails naming the field
//     (Java fails with a NullPointerException); ExtractChangedRecordState
//     compares bytes by content (Java by identity).
//   - EventRouter's envelope schema is cached per routed value as well as per
//     payload schema (Debezium names it after the first routed value seen).
package transforms
