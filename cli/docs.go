package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/converter"
	"github.com/tributary-io/tributary/internal/runtime"
	"github.com/tributary-io/tributary/internal/transforms"
	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
)

// tributaryOnly are properties that neither Debezium nor Kafka Connect
// has: the reference marks them so, rather than as upstream's.
var tributaryOnly = map[string]bool{
	"toast.lookup.mode":        true,
	"embedded.broker.port":     true,
	"embedded.broker.data.dir": true,
	"embedded.registry.port":   true,
	"metrics.port":             true,
	"rest.auth.basic.file":     true,
}

// referencePage is one generated file of docs/reference: one table of
// properties (keys), or a section per class (transforms, predicates).
type referencePage struct {
	file, title, intro, upstream string
	keys                         []*config.Key
	sections                     []referenceSection
}

// referenceSection is one class of a page with several.
type referenceSection struct {
	title, intro, upstream string
	keys                   []*config.Key
}

// referencePages lists every page: one per connector class, the
// properties the runtime adds to every source and sink connector, and the
// worker's.
func (g *globalFlags) referencePages() []referencePage {
	var pages []referencePage
	for _, p := range g.plugins() {
		upstream := "Tributary only"
		switch {
		case strings.HasPrefix(p.Class, "io.debezium."):
			upstream = "Debezium 3.6"
		case strings.HasPrefix(p.Class, "io.confluent."):
			upstream = "Confluent"
		}
		aka := ""
		if len(p.Aliases) > 0 {
			aka = " (also `" + strings.Join(p.Aliases, "`, `") + "`)"
		}
		pages = append(pages, referencePage{
			file:     pageName(p) + ".md",
			title:    p.Class,
			intro:    fmt.Sprintf("`connector.class: %s`%s, a %s connector. The properties every %s connector also takes are in [%s-connector-common.md](%s-connector-common.md).", p.Class, aka, p.Type, p.Type, p.Type, p.Type),
			upstream: upstream,
			keys:     p.Config().Keys(),
		})
	}
	for _, t := range []connect.PluginType{connect.SourcePlugin, connect.SinkPlugin} {
		pages = append(pages, referencePage{
			file:     string(t) + "-connector-common.md",
			title:    fmt.Sprintf("Properties of every %s connector", t),
			intro:    "The Kafka Connect runtime's connector properties: converters, transforms, predicates, errors.*, topic creation and client overrides.",
			upstream: "Kafka Connect",
			keys:     runtime.ConnectorDef(t).Keys(),
		})
	}
	pages = append(pages, g.transformPages()...)
	pages = append(pages, g.converterPage())
	pages = append(pages, referencePage{
		file:     "worker.md",
		title:    "Worker properties",
		intro:    "The `worker:` section of a configuration file, or `tributary distributed`'s worker.properties: Kafka Connect's worker settings.",
		upstream: "Kafka Connect",
		keys:     fullWorkerDef().Keys(),
	})
	return pages
}

// transformPages are the pages of the transform and predicate classes
// the binary accepts, grouped by family, from their own definitions.
func (g *globalFlags) transformPages() []referencePage {
	families := []struct {
		file, title, intro string
		match              func(transforms.ClassDoc) bool
	}{
		{"kafka-transforms.md", "Kafka Connect transforms", "Kafka Connect's single message transforms (`transforms.<alias>.type`). Classes with a key and a value variant are named `<class>$Key` and `<class>$Value`; the simple class name is accepted as an alias. " + chainIntro,
			func(c transforms.ClassDoc) bool {
				return !c.Predicate && strings.HasPrefix(c.Class, "org.apache.kafka.")
			}},
		{"debezium-transforms.md", "Debezium transforms", "Debezium's single message transforms (`transforms.<alias>.type`); the simple class name is accepted as an alias, except for `io.debezium.transforms.Filter` (`Filter` is Kafka's). " + chainIntro,
			func(c transforms.ClassDoc) bool { return !c.Predicate && strings.HasPrefix(c.Class, "io.debezium.") }},
		{"predicates.md", "Predicates", "Kafka Connect's predicates (`predicates=<alias>`, `predicates.<alias>.type`), which a transform applies through `transforms.<alias>.predicate` and `transforms.<alias>.negate`.",
			func(c transforms.ClassDoc) bool { return c.Predicate }},
		{"other-transforms.md", "Transforms and predicates of this binary", "Classes this binary adds (cli.Extensions). " + chainIntro,
			func(c transforms.ClassDoc) bool {
				return !strings.HasPrefix(c.Class, "org.apache.kafka.") && !strings.HasPrefix(c.Class, "io.debezium.")
			}},
	}
	ref := g.transformRegistry().Reference()
	var pages []referencePage
	for _, fam := range families {
		pg := referencePage{file: fam.file, title: fam.title, intro: fam.intro}
		for _, c := range ref {
			if !fam.match(c) {
				continue
			}
			upstream := "Tributary only"
			switch {
			case strings.HasPrefix(c.Class, "io.debezium."):
				upstream = "Debezium 3.6"
			case strings.HasPrefix(c.Class, "org.apache.kafka."):
				upstream = "Kafka Connect"
			}
			intro := c.Doc
			if len(c.Variants) > 0 {
				intro = "`" + strings.Join(c.Variants, "`, `") + "`: " + intro
			}
			if !c.Described {
				intro += " (its properties are not described by the class)"
			} else if len(c.Keys) == 0 {
				intro += " (no properties)"
			}
			pg.sections = append(pg.sections, referenceSection{title: c.Class, intro: intro, upstream: upstream, keys: c.Keys})
		}
		if len(pg.sections) > 0 {
			pages = append(pages, pg)
		}
	}
	return pages
}

// converterDoc documents one converter class.
type converterDoc struct {
	class, upstream, doc string
	def                  *config.Def // nil: a class of this binary that does not describe itself
}

// converterDocs are the converter classes the binary builds (built in,
// and cli.Extensions'), with the definitions of their properties;
// TestConverterReference checks each property against the converter.
func (g *globalFlags) converterDocs() []converterDoc {
	docs := []converterDoc{
		{converter.JSONClass, "Kafka Connect", "JSON, with or without Kafka Connect's schema envelope (also `json`)", converter.JSONDef()},
		{converter.StringClass, "Kafka Connect", "the value as a string (also `string`)", converter.StringDef()},
		{converter.ByteArrayClass, "Kafka Connect", "the bytes unchanged (also `bytes`)", converter.ByteArrayDef()},
		{converter.AvroClass, "Confluent", "Avro in the schema registry's wire format (also `avro`). " + registryClientNote, avro.ConverterDef()},
		{jsonschema.ConverterClass, "Confluent", "JSON with the schema registered as a JSON Schema, in the registry's wire format. " + registryClientNote, jsonschema.ConverterDef()},
		{protobuf.ConverterClass, "Confluent", "Protobuf with the schema registered as PROTOBUF, in the registry's wire format. " + registryClientNote, protobuf.ConverterDef()},
	}
	known := map[string]bool{}
	for _, d := range docs {
		known[d.class] = true
	}
	var ext []string
	for class := range g.ext.Converters {
		if !known[class] {
			ext = append(ext, class)
		}
	}
	sort.Strings(ext)
	for _, class := range ext {
		docs = append(docs, converterDoc{class: class, upstream: "Tributary only", doc: "a converter of this binary (its properties are not described by the class)"})
	}
	return docs
}

// converterPage documents every converter class (key.converter,
// value.converter, header.converter).
func (g *globalFlags) converterPage() referencePage {
	pg := referencePage{file: "converters.md", title: "Converters",
		intro: "Classes for `key.converter`, `value.converter` (connector or worker) and their properties, given as `key.converter.<property>` / `value.converter.<property>`. An unknown property of the JsonConverter, AvroConverter, JsonSchemaConverter or ProtobufConverter is refused."}
	for _, d := range g.converterDocs() {
		sec := referenceSection{title: d.class, intro: d.doc, upstream: d.upstream}
		if d.def != nil {
			sec.keys = d.def.Keys()
		}
		pg.sections = append(pg.sections, sec)
	}
	return pg
}

// chainIntro says what every transform takes besides its own properties.
// registryClientNote is what the registry-based converters share beyond
// their tables.
const registryClientNote = "`request.header.<name>` sends the HTTP header <name> with every registry request; `http.connect.timeout.ms`, `http.read.timeout.ms`, `max.retries`, `retries.wait.ms`, `retries.max.wait.ms`, `url.randomize`, `proxy.host` and `proxy.port` also take the `schema.registry.` prefix Confluent's client strips (`schema.registry.max.retries`); given both ways, the two values must agree. bearer.auth.* is refused."

const chainIntro = "Every transform also takes `type` (the class), `predicate` (the alias of a predicate that decides whether it applies) and `negate` (apply where the predicate is false). Unlike Kafka Connect, an unknown property of a transform is refused, naming the closest known one."

// fullWorkerDef is every worker property run, standalone and distributed
// accept.
func fullWorkerDef() *config.Def { return runtime.WorkerDef().Merge(workerDef()) }

func pageName(p *connect.Plugin) string {
	if len(p.Aliases) > 0 && !strings.Contains(p.Aliases[0], ".") {
		return strings.ToLower(p.Aliases[0])
	}
	return p.Class[strings.LastIndex(p.Class, ".")+1:]
}

// renderPage writes a page as Markdown.
func renderPage(pg referencePage) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Generated by `tributary docs`; do not edit. -->\n# %s\n\n%s\n\n", pg.title, pg.intro)
	if len(pg.sections) == 0 {
		renderTable(&b, pg.upstream, pg.keys)
	}
	for _, sec := range pg.sections {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", sec.title, sec.intro)
		if len(sec.keys) > 0 {
			renderTable(&b, sec.upstream, sec.keys)
			b.WriteString("\n")
		}
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// renderTable writes the property table of a page or section.
func renderTable(b *bytes.Buffer, upstream string, pageKeys []*config.Key) {
	fmt.Fprintln(b, "| Property | Type | Default | Valid values | Importance | Upstream | Description |")
	fmt.Fprintln(b, "| --- | --- | --- | --- | --- | --- | --- |")
	keys := append([]*config.Key(nil), pageKeys...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	for _, k := range keys {
		def := ""
		switch {
		case k.Required:
			def = "*required*"
		case k.HasDefault:
			def = "`" + k.Default + "`"
		}
		valid := ""
		if len(k.OneOf) > 0 {
			valid = "`" + strings.Join(k.OneOf, "`, `") + "`"
		}
		up := upstream + ", same meaning"
		if tributaryOnly[k.Name] || upstream == "Tributary only" {
			up = "Tributary only"
		}
		if len(k.Aliases) > 0 {
			up += "; deprecated alias `" + strings.Join(k.Aliases, "`, `") + "`"
		}
		fmt.Fprintf(b, "| `%s` | %s | %s | %s | %s | %s | %s |\n", k.Name, k.Type, cell(def), cell(valid), k.Importance, up, cell(k.Doc))
	}
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// connectorFileSchema is the JSON Schema of a connector file: one
// connector ({name, config}) or several (connectors: [...]) with an
// optional worker section; each connector.class gets its own property
// list, so editors complete and check property names.
func (g *globalFlags) connectorFileSchema() ([]byte, error) {
	stringish := map[string]any{"type": []string{"string", "number", "boolean"}}
	propsOf := func(keys []*config.Key) map[string]any {
		out := map[string]any{}
		for _, k := range keys {
			s := map[string]any{"type": []string{"string", "number", "boolean"}}
			if k.Doc != "" {
				s["description"] = k.Doc
			}
			if k.HasDefault {
				s["default"] = k.Default
			}
			out[k.Name] = s
			for _, a := range k.Aliases {
				out[a] = map[string]any{"type": []string{"string", "number", "boolean"}, "deprecated": true, "description": "deprecated: use " + k.Name}
			}
		}
		return out
	}
	var classes []any
	var branches []any
	for _, p := range g.plugins() {
		names := append([]string{p.Class}, p.Aliases...)
		for _, n := range names {
			classes = append(classes, n)
		}
		def := runtime.ConnectorDef(p.Type).Merge(p.Config())
		props := propsOf(def.Keys())
		props["connector.class"] = map[string]any{"enum": names}
		props["name"] = stringish
		patterns := map[string]any{}
		for _, pre := range def.Prefixes() {
			patterns["^"+regexp.QuoteMeta(pre)] = stringish
		}
		if len(def.Named()) > 0 {
			// <name>.<property> for each name the list properties hold
			// (converters=a makes a.type valid): not expressible in a
			// schema, so any dotted name is let through for this class.
			patterns[`^[^.]+\..+$`] = stringish
		}
		branches = append(branches, map[string]any{
			"if":   map[string]any{"properties": map[string]any{"connector.class": map[string]any{"enum": names}}, "required": []string{"connector.class"}},
			"then": map[string]any{"properties": props, "patternProperties": patterns, "additionalProperties": false},
		})
	}
	connector := map[string]any{
		"type":     "object",
		"required": []string{"name", "config"},
		"properties": map[string]any{
			"name": map[string]any{"type": "string", "minLength": 1},
			"config": map[string]any{
				"type":                 "object",
				"required":             []string{"connector.class"},
				"properties":           map[string]any{"connector.class": map[string]any{"enum": classes}},
				"additionalProperties": stringish,
				"allOf":                branches,
			},
		},
	}
	schema := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://tributary.io/schemas/connector-file.schema.json",
		"title":       "Tributary connector file",
		"description": "Generated by `tributary docs`. One connector (name, config), or several under connectors, with optional worker properties.",
		"type":        "object",
		"$defs": map[string]any{
			"connector": connector,
			"worker": map[string]any{
				"type": "object", "properties": propsOf(fullWorkerDef().Keys()), "additionalProperties": stringish,
			},
		},
		"properties": map[string]any{
			"name":       map[string]any{"type": "string"},
			"config":     map[string]any{"$ref": "#/$defs/connector/properties/config"},
			"connectors": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/connector"}},
			"worker":     map[string]any{"$ref": "#/$defs/worker"},
		},
		"dependentRequired": map[string]any{"name": []string{"config"}, "config": []string{"name"}},
	}
	return json.MarshalIndent(schema, "", "  ")
}

// undocumented lists "<page> <property>" for every property without a
// description: the reference is not generated while one lacks it.
func undocumented(pages []referencePage) []string {
	var missing []string
	seen := map[string]bool{}
	add := func(where string, keys []*config.Key) {
		for _, k := range keys {
			m := where + " " + k.Name
			if strings.TrimSpace(k.Doc) == "" && !seen[m] {
				seen[m] = true
				missing = append(missing, m)
			}
		}
	}
	for _, pg := range pages {
		add(pg.file, pg.keys)
		for _, sec := range pg.sections {
			add(pg.file+" "+sec.title, sec.keys)
		}
	}
	sort.Strings(missing)
	return missing
}

// generateReference returns every generated file by its name under
// docs/reference, or an error naming each property without a description.
func (g *globalFlags) generateReference() (map[string][]byte, error) {
	pages := g.referencePages()
	if missing := undocumented(pages); len(missing) > 0 {
		return nil, fmt.Errorf("%d properties have no description (give their config.Key a Doc): %s", len(missing), strings.Join(missing, "; "))
	}
	out := map[string][]byte{}
	var index bytes.Buffer
	index.WriteString("<!-- Generated by `tributary docs`; do not edit. -->\n# Reference\n\nGenerated from the property definitions in the code (`tributary docs`); `go test ./cli -run TestReferenceDocs` fails when these files are stale.\n\n")
	for _, pg := range pages {
		out[pg.file] = renderPage(pg)
		fmt.Fprintf(&index, "- [%s](%s)\n", pg.title, pg.file)
	}
	index.WriteString("- [connector-file.schema.json](connector-file.schema.json): JSON Schema of connector files, for editors (YAML language servers: `# yaml-language-server: $schema=docs/reference/connector-file.schema.json`)\n")

	out["README.md"] = index.Bytes()
	schema, err := g.connectorFileSchema()
	if err != nil {
		return nil, err
	}
	out["connector-file.schema.json"] = append(schema, '\n')
	return out, nil
}

func newDocsCmd(g *globalFlags) *cobra.Command {
	var dir string
	var check bool
	cmd := &cobra.Command{
		Use:   "docs [--out DIR] [--check]",
		Short: "Write the property reference (Markdown per connector, worker) and the connector file JSON Schema",
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := g.generateReference()
			if err != nil {
				return err
			}
			names := make([]string, 0, len(files))
			for n := range files {
				names = append(names, n)
			}
			sort.Strings(names)
			var stale []string
			for _, n := range names {
				p := filepath.Join(dir, n)
				if check {
					old, err := os.ReadFile(p)
					if err != nil || !bytes.Equal(old, files[n]) {
						stale = append(stale, p)
					}
					continue
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(p, files[n], 0o644); err != nil {
					return err
				}
			}
			if len(stale) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("stale generated reference (run tributary docs --out %s): %s", dir, strings.Join(stale, ", "))}
			}
			if !check {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files to %s\n", len(names), dir)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "out", "docs/reference", "directory to write into")
	cmd.Flags().BoolVar(&check, "check", false, "only check that the files in --out are up to date (exit 1 if not)")
	return cmd
}
