package transforms

import (
	"sort"
	"strings"

	"github.com/tributary-io/tributary/connect/config"
)

// replaceNullDoc is Kafka's replace.null.with.default (KIP-1040), shared
// by its field transforms.
const replaceNullDoc = "true: a null field whose schema has a default value is read as that default; false keeps the null (KIP-1040)"

// classDocs describe each transform and predicate class ("" key) and its
// properties, by the class a reference page documents (BaseClass). The
// property lists come from the factories (Class.Keys); TestClassDocs
// fails when a property has no description here or in its definition, or
// when an entry here names a property or class that no longer exists.
var classDocs = map[string]map[string]string{
	kafkaPkg + "Cast": {
		"":                          "casts fields, or the whole key/value, to another primitive type (Kafka's Cast)",
		"spec":                      "field:type pairs (int8, int16, int32, int64, float32, float64, boolean, string), or a single type to cast the whole key/value",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "DropHeaders": {
		"":        "removes headers by name",
		"headers": "names of the headers to remove",
	},
	kafkaPkg + "ExtractField": {
		"":                          "replaces the key/value with one of its fields",
		"field":                     "the field to extract (with field.syntax.version=V2 a dotted path into nested structs)",
		"replace.null.with.default": replaceNullDoc,
		"field.syntax.version":      "V1: field names are taken literally; V2: dots separate nested fields, backticks quote names containing dots (KIP-821)",
	},
	kafkaPkg + "Filter": {
		"": "drops every record; used with a predicate (transforms.<alias>.predicate) to drop the records it matches",
	},
	kafkaPkg + "Flatten": {
		"":          "flattens nested structs (and maps without schema) into top-level fields named by their path",
		"delimiter": "separator put between the names of the parent and nested field",
	},
	kafkaPkg + "HeaderFrom": {
		"":                          "copies or moves fields of the key/value into headers",
		"fields":                    "the fields to take, in the order of headers",
		"headers":                   "the header names, one per field",
		"operation":                 "copy (the field stays) or move (the field is removed)",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "HoistField": {
		"":      "wraps the key/value in a struct (or map) with one field",
		"field": "name of the field the old key/value becomes",
	},
	kafkaPkg + "InsertField": {
		"":                          "adds fields with the record's topic, partition, offset, timestamp or a static value; a name ending in ! makes the field required, ? optional (the default)",
		"topic.field":               "field to hold the topic name",
		"partition.field":           "field to hold the Kafka partition",
		"offset.field":              "field to hold the Kafka offset (sink connectors only: a source record has none yet)",
		"timestamp.field":           "field to hold the record timestamp",
		"static.field":              "field to hold static.value",
		"static.value":              "the value of static.field",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "InsertHeader": {
		"":              "adds a header with a literal value",
		"header":        "name of the header",
		"value.literal": "its value, parsed as Kafka's Values.parseString does (a number, boolean, list... or else a string)",
	},
	kafkaPkg + "MaskField": {
		"":                          "replaces fields with a null equivalent of their type (0, false, empty string...) or with replacement",
		"fields":                    "fields to mask",
		"replacement":               "value for masked fields, converted to the field's type; empty: the type's null equivalent",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "RegexRouter": {
		"":            "renames the topic with a regular expression",
		"regex":       "regular expression matched against the whole topic name (RE2 syntax; look-around and back-references are refused)",
		"replacement": "the new topic name; $1, $2... are the groups, as Java's Matcher.replaceFirst",
	},
	kafkaPkg + "ReplaceField": {
		"":                          "keeps, drops and renames fields",
		"exclude":                   "fields to drop (before include applies)",
		"include":                   "fields to keep; empty: all",
		"renames":                   "old:new pairs of field names",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "SetSchemaMetadata": {
		"":                          "sets the name and/or version of the key/value schema",
		"schema.name":               "the schema's new name",
		"schema.version":            "the schema's new version",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "TimestampConverter": {
		"":                          "converts a timestamp field (or the whole key/value) between Unix epoch numbers, formatted strings and Connect's Date, Time and Timestamp types",
		"field":                     "the field to convert; empty: the whole key/value",
		"target.type":               "string, unix, Date, Time or Timestamp",
		"format":                    "java.text.SimpleDateFormat pattern, for target.type=string and for parsing strings",
		"unix.precision":            "unit of unix numbers: seconds, milliseconds, microseconds or nanoseconds",
		"replace.null.with.default": replaceNullDoc,
	},
	kafkaPkg + "TimestampRouter": {
		"":                 "renames the topic with the record timestamp",
		"topic.format":     "the new topic name; ${topic} and ${timestamp} are replaced",
		"timestamp.format": "java.text.SimpleDateFormat pattern of ${timestamp} (UTC)",
	},
	kafkaPkg + "ValueToKey": {
		"":                          "replaces the key with a struct of fields of the value",
		"fields":                    "value fields that make up the key",
		"replace.null.with.default": replaceNullDoc,
	},
	TopicNameMatchesClass: {
		"":        "true for records whose whole topic name matches pattern",
		"pattern": "regular expression matched against the whole topic name (RE2 syntax)",
	},
	HasHeaderKeyClass: {
		"":     "true for records with at least one header of that name",
		"name": "the header name",
	},
	RecordIsTombstoneClass: {
		"": "true for tombstones (records with a null value)",
	},
	ExtractNewRecordStateClass: {
		"":                                   "replaces Debezium's change event envelope with its after state, optionally adding envelope and source fields (Tributary also accepts the type unwrap)",
		"add.fields.prefix":                  "prefix of the names of fields added by add.fields",
		"add.fields":                         "envelope or source fields to add to the value (op, table, source.ts_ms, or field:newName)",
		"add.headers.prefix":                 "prefix of the names of headers added by add.headers",
		"add.headers":                        "envelope or source fields to add as headers",
		"replace.null.with.default":          "a null field whose schema has a default value is read as that default; false keeps the null",
		"drop.fields.header.name":            "header listing fields to drop from the value (and with drop.fields.from.key from the key)",
		"drop.fields.from.key":               "also drop the fields named in that header from the key",
		"drop.fields.keep.schema.compatible": "drop only optional fields, so that the schema stays compatible",
	},
	ExtractChangedRecordStateClass: {
		"":                      "adds headers listing the fields an update changed and did not change",
		"header.changed.name":   "header listing the changed fields; empty: none",
		"header.unchanged.name": "header listing the unchanged fields; empty: none",
	},
	EventRouterClass: {
		"":                                        "the outbox event router: turns rows of an outbox table into events routed by aggregate type",
		"table.field.event.id":                    "column with the event id (becomes the id header)",
		"table.field.event.key":                   "column with the event key (the Kafka key)",
		"table.field.event.type":                  "column with the event type",
		"table.field.event.payload":               "column with the event payload (the Kafka value)",
		"table.field.event.timestamp":             "column with the event timestamp; empty: the change event's timestamp",
		"table.fields.additional.placement":       "column:placement[:alias] entries placing more columns in a header, the envelope or the partition",
		"table.field.additional.missing":          "error or ignore an additional column missing from a row",
		"table.field.event.schema.version":        "column with the payload schema's version",
		"route.by.field":                          "column whose value names the destination",
		"route.topic.regex":                       "regular expression matched against that value (named group routedByValue)",
		"route.topic.replacement":                 "the destination topic; ${routedByValue} is the matched value",
		"route.tombstone.on.empty.payload":        "emit a tombstone when the payload is null or empty",
		"table.op.invalid.behavior":               "what an update of the outbox table (only inserts are events) does: warn, error or fatal",
		"table.expand.json.payload":               "turn a JSON string payload into a structured value",
		"table.json.payload.null.behavior":        "with the expanded payload: ignore null fields or give them optional bytes",
		"table.json.payload.empty.array.behavior": "with the expanded payload: ignore empty arrays or type them optional string",
		"tracing.span.context.field":              "refused: tracing (OpenTelemetry spans) is not implemented",
		"tracing.operation.name":                  "refused: tracing (OpenTelemetry spans) is not implemented",
		"tracing.with.context.field.only":         "refused: tracing (OpenTelemetry spans) is not implemented",
		"field.name.adjustment.mode":              "only none: field names of an expanded payload are kept as they are",
	},
	ByLogicalTableRouterClass: logicalRouterDocs("deprecated name of ToLogicalTopicRouter (a warning is logged); its key field defaults to __dbz__physicalTableIdentifier, and logical.table.cache.size is accepted as the old name of logical.destination.cache.size"),
	ToLogicalTopicRouterClass: logicalRouterDocs("routes the events of several tables (shards) to one topic, adding a key field that tells them apart"),
	HeaderToValueClass: {
		"":          "copies or moves headers into fields of the value",
		"headers":   "header names",
		"fields":    "the field names, one per header",
		"operation": "copy (the header stays) or move (the header is removed)",
	},
	SchemaChangeEventFilterClass: {
		"":                                 "drops schema change events of the listed kinds",
		"schema.change.event.exclude.list": "schema change types to drop: CREATE, ALTER, DROP, TRUNCATE, DATABASE (upper case)",
	},
	PartitionRoutingClass: {
		"":                         "sets the partition from a hash of payload fields",
		"partition.payload.fields": "fields (change.name or source.name paths) whose values are hashed",
		"partition.topic.num":      "number of partitions of the destination topic",
		"partition.hash.function":  "only java (Java's hashCode, as Debezium's default) is implemented",
	},
	DecodeLogicalDecodingMessageContentClass: {
		"":                    "decodes the content of PostgreSQL logical decoding messages (pg_logical_emit_message) from JSON into a structured value",
		"fields.null.include": "keep fields whose JSON value is null",
	},
	TimezoneConverterClass: {
		"":                   "converts the timestamp fields of change events to a time zone",
		"converted.timezone": "the target time zone (IANA name or offset)",
		"include.list":       "convert only these: source:<table>[:<fields>], topic:<topic>[:<fields>] or <name>[:<fields>] rules; may not be combined with exclude.list",
		"exclude.list":       "convert all but these rules (same format as include.list)",
	},
	ContentBasedRouterClass: scriptDocs("routes each record to the topic an expression returns (null: unchanged)", "topic.expression", "expression whose string result is the destination topic"),
	ScriptFilterClass:       scriptDocs("keeps the records for which an expression is true", "condition", "expression; records for which it is false are dropped"),
}

func logicalRouterDocs(what string) map[string]string {
	return map[string]string{
		"":                               what,
		"topic.regex":                    "regular expression matched against the whole topic name",
		"topic.replacement":              "the destination topic ($1... are groups)",
		"key.enforce.uniqueness":         "add the key field that holds the original topic, so keys of different tables stay distinct",
		"key.field.regex":                "regular expression applied to the original topic for the key field's value",
		"key.field.name":                 "name of the added key field",
		"key.field.replacement":          "the key field's value ($1... are groups of key.field.regex); required with it",
		"schema.name.adjustment.mode":    "none, avro or avro_unicode: how schema names are made valid",
		"logical.destination.cache.size": "number of routed topic names cached",
	}
}

func scriptDocs(what, exprProp, exprDoc string) map[string]string {
	return map[string]string{
		"":                   what + "; Tributary evaluates Go expressions (language=expr, expr-lang) instead of JSR 223 scripts, and refuses jsr223.* with the translation",
		"topic.regex":        "apply only to records of topics matching this regular expression",
		"language":           "expr; jsr223.* languages are refused with the expr form of the expression",
		exprProp:             exprDoc,
		"null.handling.mode": "what a tombstone does: keep, drop or evaluate",
	}
}

// ClassDoc is one transform or predicate class of the reference.
type ClassDoc struct {
	Class     string   // Java class name; Kafka's $Key/$Value variants share one
	Variants  []string // the $Key and $Value class names, when Kafka has both
	Predicate bool
	Doc       string
	// Keys are the properties the class parses, described; nil when the
	// class does not describe itself (a custom binary's own).
	Keys      []*config.Key
	Described bool
}

// chainKeys are transforms.<alias>.type, .predicate and .negate, which
// Build reads for every transform (the reference documents them once).
var chainKeys = map[string]bool{"type": true, "predicate": true, "negate": true}

// Reference documents every class r holds under a Java class name, sorted.
func (r Registry) Reference() []ClassDoc {
	byBase := map[string]*ClassDoc{}
	var names []string
	for _, class := range append(r.Classes(), r.PredicateClasses()...) {
		base := BaseClass(class)
		cd := byBase[base]
		if cd == nil {
			cd = &ClassDoc{Class: base, Predicate: r[class].Predicate != nil, Doc: classDocs[base][""]}
			keys, ok := r[class].Keys()
			cd.Described = ok
			for _, k := range keys {
				if chainKeys[k.Name] {
					continue
				}
				k := *k
				if strings.TrimSpace(k.Doc) == "" {
					k.Doc = classDocs[base][k.Name]
				}
				cd.Keys = append(cd.Keys, &k)
			}
			byBase[base] = cd
			names = append(names, base)
		}
		if class != base {
			cd.Variants = append(cd.Variants, class)
		}
	}
	sort.Strings(names)
	out := make([]ClassDoc, 0, len(names))
	for _, n := range names {
		sort.Strings(byBase[n].Variants)
		out = append(out, *byBase[n])
	}
	return out
}
