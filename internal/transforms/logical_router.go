package transforms

import (
	"log/slog"
	"regexp"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Debezium's topic routers.
const (
	ByLogicalTableRouterClass = "io.debezium.transforms.ByLogicalTableRouter"
	ToLogicalTopicRouterClass = "io.debezium.transforms.ToLogicalTopicRouter"
)

// LogicalTableRouter is io.debezium.transforms.ToLogicalTopicRouter and its
// deprecated name ByLogicalTableRouter: records of several physical tables
// go to one topic; the key gains a field telling the tables apart, and key,
// value and envelope schemas are renamed after the new topic.
type LogicalTableRouter struct {
	topicRe    *regexp.Regexp
	topicRepl  javaReplacement
	keyRe      *regexp.Regexp
	keyRepl    javaReplacement
	keyField   string
	unique     bool
	avroNames  bool
	keySchemas schemaCache
	envSchemas schemaCache
}

func newLogicalTableRouter(legacy bool, logger *slog.Logger) Factory {
	return func(props map[string]string) (Transform, error) {
		keyFieldDefault := "__dbz__sourceIdentifier"
		if legacy {
			// ByLogicalTableRouter.applyLegacyConfigurationIfApplicable
			keyFieldDefault = "__dbz__physicalTableIdentifier"
			if v, ok := props["logical.table.cache.size"]; ok {
				props = copyProps(props)
				delete(props, "logical.table.cache.size")
				if _, set := props["logical.destination.cache.size"]; !set {
					props["logical.destination.cache.size"] = v
				}
			}
			if logger != nil && !describing(props) {
				logger.Warn(ByLogicalTableRouterClass + " is deprecated and will be removed in a future release. Please adjust the connector configuration to use " + ToLogicalTopicRouterClass + " instead.")
			}
		}
		s, err := parseProps([]prop{
			reqStr("topic.regex").with(regexCheck), reqStr("topic.replacement"),
			boolProp("key.enforce.uniqueness", true),
			strProp("key.field.regex").with(regexCheck),
			defStr("key.field.name", keyFieldDefault),
			strProp("key.field.replacement"),
			defStr("schema.name.adjustment.mode", "none").with(enumCheck("none", "avro", "avro_unicode")),
			{name: "logical.destination.cache.size", kind: kInt, def: "16", hasDef: true},
		}, props)
		if err != nil {
			return nil, err
		}
		t := &LogicalTableRouter{keyField: s.str("key.field.name"), unique: s.boolean("key.enforce.uniqueness"),
			avroNames: strings.HasPrefix(strings.ToLower(s.str("schema.name.adjustment.mode")), "avro")}
		t.topicRe, _ = compileWhole(s.str("topic.regex"))
		if t.topicRepl, err = parseJavaReplacement(s.str("topic.replacement"), t.topicRe); err != nil {
			return nil, invalidValue("topic.replacement", s.str("topic.replacement"), err.Error())
		}
		if kr := strings.TrimSpace(s.str("key.field.regex")); kr != "" {
			repl := strings.TrimSpace(s.str("key.field.replacement"))
			if repl == "" {
				return nil, &ConfigError{Property: "key.field.replacement", Message: "key.field.replacement must be non-empty if key.field.regex is set."}
			}
			t.keyRe, _ = compileWhole(kr)
			if t.keyRepl, err = parseJavaReplacement(s.str("key.field.replacement"), t.keyRe); err != nil {
				return nil, invalidValue("key.field.replacement", s.str("key.field.replacement"), err.Error())
			}
		}
		return t, nil
	}
}

func copyProps(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

var avroInvalid = regexp.MustCompile(`[^A-Za-z0-9_.]`)

// adjust is SchemaNameAdjuster for schema.name.adjustment.mode=avro.
func (t *LogicalTableRouter) adjust(name string) string {
	if !t.avroNames {
		return name
	}
	name = avroInvalid.ReplaceAllString(name, "_")
	if name != "" && name[0] >= '0' && name[0] <= '9' {
		name = "_" + name[1:]
	}
	return name
}

// copyExcludingName is copySchemaExcludingName: version, doc, parameters,
// optionality and (optionally) fields.
func copyExcludingName(s *connect.Schema, fields bool) *connect.Builder {
	b := connect.StructBuilder().Version(s.Version).Doc(s.Doc).SetOptional(s.Optional)
	for _, p := range s.Params {
		b.Param(p.Key, p.Value)
	}
	if fields {
		for _, f := range s.Fields {
			b.Field(f.Name, f.Schema)
		}
	}
	return b
}

// Apply implements Transform.
func (t *LogicalTableRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	oldTopic := rec.Topic
	if !t.topicRe.MatchString(oldTopic) {
		return rec, nil
	}
	newTopic := t.topicRepl.replaceFirst(t.topicRe, oldTopic)
	if newTopic == "" {
		return rec, nil
	}
	out := *rec
	out.Topic = newTopic
	if rec.Key != nil {
		oldKey, err := requireStruct(rec.Key, "Updating schema")
		if err != nil {
			return nil, err
		}
		ks, err := t.keySchemas.get(oldKey.Schema, func(s *connect.Schema) (*connect.Schema, error) {
			b := copyExcludingName(s, true).Name(t.adjust(newTopic + ".Key"))
			if t.unique {
				b.Field(t.keyField, connect.Prim(connect.String))
			}
			return b.Build()
		})
		if err != nil {
			return nil, err
		}
		key := connect.NewStruct(ks)
		copy(key.Values, oldKey.Values)
		if t.unique {
			id := oldTopic
			if t.keyRe != nil && t.keyRe.MatchString(oldTopic) {
				id = t.keyRepl.replaceFirst(t.keyRe, oldTopic)
			}
			key.Values[len(oldKey.Values)] = id
		}
		out.KeySchema, out.Key = ks, key
	}
	if rec.Value == nil || !isEnvelope(rec.ValueSchema) {
		return &out, nil
	}
	env, err := requireStruct(rec.Value, "Updating schema")
	if err != nil {
		return nil, err
	}
	es, err := t.envSchemas.get(env.Schema, func(s *connect.Schema) (*connect.Schema, error) {
		var valueSchema *connect.Schema
		if vf := fieldWithFallback(s, "before", "after"); vf != nil {
			vs, err := copyExcludingName(vf.Schema, true).Name(t.adjust(newTopic + ".Value")).Build()
			if err != nil {
				return nil, err
			}
			valueSchema = vs
		}
		b := copyExcludingName(s, false)
		for _, f := range s.Fields {
			fs := f.Schema
			if valueSchema != nil && (f.Name == "before" || f.Name == "after") {
				fs = valueSchema
			}
			b.Field(f.Name, fs)
		}
		return b.Name(t.adjust(newTopic + ".Envelope")).Build()
	})
	if err != nil {
		return nil, err
	}
	newEnv := connect.NewStruct(es)
	var valueSchema *connect.Schema
	if vf := fieldWithFallback(es, "before", "after"); vf != nil {
		valueSchema = vf.Schema
	}
	for i, f := range env.Schema.Fields {
		v := fieldValue(env, f, true)
		if valueSchema != nil && (f.Name == "before" || f.Name == "after") && v != nil {
			row, err := requireStruct(v, "Updating schema")
			if err != nil {
				return nil, err
			}
			nr := connect.NewStruct(valueSchema)
			copy(nr.Values, row.Values)
			v = nr
		}
		newEnv.Values[i] = v
	}
	out.ValueSchema, out.Value = es, newEnv
	return &out, nil
}

func fieldWithFallback(s *connect.Schema, name, fallback string) *connect.Field {
	if f := s.Field(name); f != nil {
		return f
	}
	return s.Field(fallback)
}
