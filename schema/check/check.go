// Package check decides whether the Avro schemas a set of connectors would
// register now are compatible with the schemas already registered (in a
// schema registry, or committed as files), and explains every breaking
// change: which subject, what changed, which Avro resolution rule it
// breaks, and how to make the change safely. `tributary schema check` runs
// it in CI before a migration reaches production.
package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/schema/avsc"
	"github.com/tributary-io/tributary/schema/compat"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	"github.com/tributary-io/tributary/schema/registry"
)

// Candidate is a schema a connector would register.
type Candidate struct {
	Subject string
	Topic   string
	Key     bool
	Schema  string // schema text, as the converter registers it
	// SchemaType is the registry's type: "" or AVRO, or JSON for
	// the JsonSchemaConverter.
	SchemaType string
}

// Version is a registered version of a subject.
type Version struct {
	Version    int
	ID         int
	Schema     string
	SchemaType string // "" or AVRO, or JSON
}

func isJSON(schemaType string) bool { return strings.EqualFold(schemaType, "JSON") }

// Baseline supplies what is already registered.
type Baseline interface {
	// Versions returns the subject's versions, oldest first; none for a
	// subject that does not exist yet.
	Versions(ctx context.Context, subject string) ([]Version, error)
	// Level is the compatibility level that applies to the subject.
	Level(ctx context.Context, subject string) (compat.Level, error)
	// Describe names the baseline in reports.
	Describe() string
}

// Statuses of a subject.
const (
	StatusNew          = "new"          // nothing registered yet
	StatusUnchanged    = "unchanged"    // the latest version is this schema
	StatusCompatible   = "compatible"   // a new version the level allows
	StatusIncompatible = "incompatible" // a new version the level rejects
)

// Report is the outcome of a check.
type Report struct {
	Baseline   string    `json:"baseline"`
	Compatible bool      `json:"compatible"`
	Subjects   []Subject `json:"subjects"`
}

// Subject is the verdict for one subject.
type Subject struct {
	Subject       string       `json:"subject"`
	Topic         string       `json:"topic"`
	Key           bool         `json:"key"`
	Status        string       `json:"status"`
	Level         compat.Level `json:"level"`
	LatestVersion int          `json:"latest_version,omitempty"`
	Changes       []Change     `json:"changes,omitempty"`
	Problems      []Problem    `json:"problems,omitempty"`
	Schema        string       `json:"-"`
}

// Change is one difference between the latest registered schema and the
// candidate.
type Change struct {
	Path string `json:"path"`
	Kind string `json:"kind"` // field added, field removed, type changed, became optional, became required, default changed
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// Problem is one violated compatibility rule.
type Problem struct {
	Rule           string `json:"rule"`      // Avro's incompatibility type, e.g. READER_FIELD_MISSING_DEFAULT_VALUE
	Direction      string `json:"direction"` // backward: the new schema reads old data; forward: the old schema reads new data
	AgainstVersion int    `json:"against_version"`
	Path           string `json:"path"`     // field path in the reading schema
	Location       string `json:"location"` // Avro's JSON-pointer-like location
	Message        string `json:"message"`  // as Confluent Schema Registry words it
	Fix            string `json:"fix"`
}

// Run checks every candidate. level, if set, overrides the baseline's
// level for every subject.
func Run(ctx context.Context, cands []Candidate, base Baseline, level compat.Level) (*Report, error) {
	rep := &Report{Baseline: base.Describe(), Compatible: true}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Subject < cands[j].Subject })
	for _, c := range cands {
		s, err := checkOne(ctx, c, base, level)
		if err != nil {
			return nil, err
		}
		if s.Status == StatusIncompatible {
			rep.Compatible = false
		}
		rep.Subjects = append(rep.Subjects, s)
	}
	return rep, nil
}

func checkOne(ctx context.Context, c Candidate, base Baseline, level compat.Level) (Subject, error) {
	out := Subject{Subject: c.Subject, Topic: c.Topic, Key: c.Key, Schema: c.Schema}
	if isJSON(c.SchemaType) {
		return checkJSON(ctx, c, base, level, out)
	}
	if strings.EqualFold(c.SchemaType, "PROTOBUF") {
		return checkProtobuf(ctx, c, base, level, out)
	}
	cand, err := avsc.ParseOnly(c.Schema)
	if err != nil {
		return out, fmt.Errorf("subject %s: candidate schema: %w", c.Subject, err)
	}
	prev, versions, err := registered(ctx, c, base, &level, &out, func(v Version) error {
		if isJSON(v.SchemaType) {
			return fmt.Errorf("subject %s version %d is a JSON schema; the candidate is Avro", c.Subject, v.Version)
		}
		return nil
	}, avsc.ParseOnly)
	if err != nil || out.Status == StatusNew {
		return out, err
	}
	latest := prev[len(prev)-1]
	if latest.Canonical() == cand.Canonical() {
		out.Status = StatusUnchanged
		return out, nil
	}
	out.Changes = Diff(latest, cand)
	vs, err := compat.CheckLevel(level, cand, prev)
	if err != nil {
		return out, err
	}
	seen := map[string]bool{}
	for _, v := range expand(vs, cand, prev) {
		reader, writer := cand, prev[v.Previous]
		if v.Direction == compat.OldReadsNew {
			reader, writer = writer, reader
		}
		key := fmt.Sprint(v.Type, v.Direction, v.Previous, fieldPath(reader, v.Path))
		if seen[key] {
			continue // before and after share the row record
		}
		seen[key] = true
		p := Problem{
			Rule: string(v.Type), Direction: string(v.Direction), AgainstVersion: versions[v.Previous].Version,
			Location: v.Path, Path: fieldPath(reader, v.Path), Message: v.Describe(),
		}
		p.Fix = fixFor(v, p.Path, reader, writer)
		out.Problems = append(out.Problems, p)
	}
	return judged(out), nil
}

// registered reads what every schema format's check needs from the
// baseline: the subject's compatibility level (when *level is unset),
// validated, and its versions, each refused by mismatch when it is of
// another format, else parsed by parse. out gets the level and the latest version,
// or StatusNew when the subject has no versions.
func registered[T any](ctx context.Context, c Candidate, base Baseline, level *compat.Level, out *Subject,
	mismatch func(Version) error, parse func(text string) (T, error)) ([]T, []Version, error) {
	var err error
	if *level == "" {
		if *level, err = base.Level(ctx, c.Subject); err != nil {
			return nil, nil, fmt.Errorf("subject %s: %w", c.Subject, err)
		}
	}
	if _, err := compat.ParseLevel(string(*level)); err != nil {
		return nil, nil, fmt.Errorf("subject %s: %w", c.Subject, err)
	}
	out.Level = *level
	versions, err := base.Versions(ctx, c.Subject)
	if err != nil {
		return nil, nil, fmt.Errorf("subject %s: %w", c.Subject, err)
	}
	if len(versions) == 0 {
		out.Status = StatusNew
		return nil, nil, nil
	}
	prev := make([]T, len(versions))
	for i, v := range versions {
		if err := mismatch(v); err != nil {
			return nil, nil, err
		}
		if prev[i], err = parse(v.Schema); err != nil {
			return nil, nil, fmt.Errorf("subject %s version %d: %w", c.Subject, v.Version, err)
		}
	}
	out.LatestVersion = versions[len(versions)-1].Version
	return prev, versions, nil
}

// judged sets out's status from its problems.
func judged(out Subject) Subject {
	if len(out.Problems) > 0 {
		out.Status = StatusIncompatible
	} else {
		out.Status = StatusCompatible
	}
	return out
}

// expand replaces a MISSING_UNION_BRANCH between two versions of the same
// named record (the row inside before/after's ["null", Value]) with the
// reasons those records differ, which is what a reader needs to act on.
// Avro stops at the union; the detail is one level down.
func expand(vs []compat.Violation, cand *avsc.Schema, prev []*avsc.Schema) []compat.Violation {
	var out []compat.Violation
	for _, v := range vs {
		if v.Type != compat.MissingUnionBranch {
			out = append(out, v)
			continue
		}
		reader, writer := cand, prev[v.Previous]
		if v.Direction == compat.OldReadsNew {
			reader, writer = writer, reader
		}
		wb := resolve(writer, v.Path)
		ru := resolve(reader, v.Path[:max(0, strings.LastIndex(v.Path, "/"))])
		var rb *avsc.Schema
		if wb != nil && ru != nil && ru.Type == avsc.Union && wb.Type.Named() {
			for _, b := range ru.Branches {
				if b.Type == wb.Type && b.Name == wb.Name {
					rb = b
				}
			}
		}
		if rb == nil {
			out = append(out, v)
			continue
		}
		prefix := v.Path[:strings.LastIndex(v.Path, "/")] + "/" + strconv.Itoa(slicesIndex(ru.Branches, rb))
		inner := compat.Check(rb, wb)
		if len(inner) == 0 {
			out = append(out, v)
			continue
		}
		for _, inc := range inner {
			inc.Path = prefix + strings.TrimPrefix(inc.Path, "/")
			if !strings.HasPrefix(inc.Path, prefix+"/") && inc.Path != prefix {
				inc.Path = prefix + "/" + strings.TrimPrefix(inc.Path, prefix)
			}
			out = append(out, compat.Violation{Previous: v.Previous, Direction: v.Direction, Incompatibility: inc})
		}
	}
	return out
}

func slicesIndex(bs []*avsc.Schema, b *avsc.Schema) int {
	for i, x := range bs {
		if x == b {
			return i
		}
	}
	return -1
}

// resolve follows an Avro location from s.
func resolve(s *avsc.Schema, loc string) *avsc.Schema {
	segs := strings.Split(strings.Trim(loc, "/"), "/")
	cur := s
	for i := 0; i < len(segs) && cur != nil; i++ {
		switch seg := segs[i]; {
		case seg == "":
		case seg == "fields":
			if i+1 >= len(segs) || cur.Type != avsc.Record {
				return nil
			}
			n, err := strconv.Atoi(segs[i+1])
			if err != nil || n >= len(cur.Fields) {
				return nil
			}
			cur = cur.Fields[n].Type
			i++
		case seg == "type" || seg == "name" || seg == "size" || seg == "symbols":
		case seg == "items":
			cur = cur.Items
		case seg == "values":
			cur = cur.Values
		default:
			n, err := strconv.Atoi(seg)
			if err != nil || cur.Type != avsc.Union || n >= len(cur.Branches) {
				return nil
			}
			cur = cur.Branches[n]
		}
	}
	return cur
}

// fieldPath turns Avro's location ("/fields/1/type/1/fields/3/type") into
// the record-qualified name of the innermost field ("Value.c_int").
func fieldPath(s *avsc.Schema, loc string) string {
	segs := strings.Split(strings.Trim(loc, "/"), "/")
	var names []string
	cur := s
	for i := 0; i < len(segs) && cur != nil; i++ {
		switch segs[i] {
		case "fields":
			if i+1 >= len(segs) || cur.Type != avsc.Record {
				return strings.Join(names, " → ")
			}
			n, err := strconv.Atoi(segs[i+1])
			if err != nil || n >= len(cur.Fields) {
				return strings.Join(names, " → ")
			}
			f := cur.Fields[n]
			names = append(names, cur.ShortName()+"."+f.Name)
			cur = f.Type
			i++
		case "type":
			// a union branch index may follow
			if i+1 < len(segs) && cur.Type == avsc.Union {
				if n, err := strconv.Atoi(segs[i+1]); err == nil && n < len(cur.Branches) {
					cur = cur.Branches[n]
					i++
				}
			}
		case "items":
			if cur.Type == avsc.Array {
				cur = cur.Items
			}
		case "values":
			if cur.Type == avsc.Map {
				cur = cur.Values
			}
		default:
			if cur.Type == avsc.Union {
				if n, err := strconv.Atoi(segs[i]); err == nil && n < len(cur.Branches) {
					cur = cur.Branches[n]
				}
			}
		}
	}
	if len(names) == 0 {
		return s.ShortName()
	}
	// The innermost record and field name the column; the envelope path to
	// it (before or after) does not matter to whoever changes the table.
	return names[len(names)-1]
}

func fixFor(v compat.Violation, path string, reader, writer *avsc.Schema) string {
	field := path
	if i := strings.LastIndex(path, "."); i >= 0 {
		field = path[i+1:]
	}
	switch v.Type {
	case compat.ReaderFieldMissingDefaultValue:
		if v.Direction == compat.NewReadsOld {
			return fmt.Sprintf("column %q was added without a default and is required: add it as a nullable column or with a DEFAULT "+
				"so that consumers using the new schema can still read older events", v.Message)
		}
		return fmt.Sprintf("column %q, required and without a default, was removed: consumers still on the old schema cannot read new events. "+
			"Make the column nullable (or give it a DEFAULT) and release that first; drop it once every consumer has the new schema, "+
			"or run this check with a level that allows it", v.Message)
	case compat.TypeMismatch:
		return fmt.Sprintf("the type of %s changed in a way Avro cannot convert (only int→long→float→double, string↔bytes widen): "+
			"add a column with the new type and migrate to it instead of altering the column in place", field)
	case compat.MissingUnionBranch:
		return fmt.Sprintf("a type that %s can now hold is not readable by the other schema (a column that became nullable or changed type inside a nullable union): "+
			"keep the column's type and nullability, or add a new column", field)
	case compat.NameMismatch:
		return "a record or type name changed (topic.prefix, table rename, schema.name.adjustment.mode or decimal.handling.mode?): " +
			"names are part of Avro compatibility; keep the old name or register under a new subject"
	case compat.MissingEnumSymbols:
		return "enum values were removed: keep the old values (a PostgreSQL enum can only gain values), or read with a level that allows it"
	case compat.FixedSizeMismatch:
		return "a fixed-size type changed size: keep the size, or add a new column"
	}
	return ""
}

// Diff lists field-level changes from old to new, once per named record.
func Diff(old, new *avsc.Schema) []Change {
	d := &differ{seen: map[string]bool{}}
	d.schema(old.ShortName(), old, new)
	return d.out
}

type differ struct {
	seen map[string]bool
	out  []Change
}

func describe(s *avsc.Schema) string {
	if s.Type == avsc.Union {
		var parts []string
		nullable := false
		for _, b := range s.Branches {
			if b.Type == avsc.Null {
				nullable = true
				continue
			}
			parts = append(parts, describe(b))
		}
		d := strings.Join(parts, "|")
		if nullable {
			d += " (nullable)"
		}
		return d
	}
	d := string(s.Type)
	if s.Type.Named() {
		d = s.Name
	}
	if s.Type == avsc.Array {
		d = "array<" + describe(s.Items) + ">"
	}
	if s.Type == avsc.Map {
		d = "map<" + describe(s.Values) + ">"
	}
	if raw, ok := s.Props["connect.name"]; ok && !s.Type.Named() {
		var name string
		if json.Unmarshal(raw, &name) == nil {
			d += " " + name
		}
	}
	if s.LogicalType == "decimal" {
		d += fmt.Sprintf("(%s,%s)", s.Props["precision"], s.Props["scale"])
	}
	return d
}

func nonNull(s *avsc.Schema) (*avsc.Schema, bool) {
	if s.Type != avsc.Union {
		return s, false
	}
	var other *avsc.Schema
	nullable := false
	for _, b := range s.Branches {
		if b.Type == avsc.Null {
			nullable = true
		} else if other == nil {
			other = b
		} else {
			return s, nullable
		}
	}
	if other == nil {
		return s, nullable
	}
	return other, nullable
}

func (d *differ) schema(path string, old, new *avsc.Schema) {
	o, on := nonNull(old)
	n, nn := nonNull(new)
	if o.Type == avsc.Record && n.Type == avsc.Record {
		if o.Name == n.Name {
			if d.seen[o.Name] {
				return
			}
			d.seen[o.Name] = true
		}
		d.record(o, n)
		if on != nn {
			d.nullability(path, on, nn)
		}
		return
	}
	if describe(o) != describe(n) {
		d.out = append(d.out, Change{Path: path, Kind: "type changed", Old: describe(old), New: describe(new)})
		return
	}
	if on != nn {
		d.nullability(path, on, nn)
	}
	if o.Type == avsc.Array {
		d.schema(path+"[]", o.Items, n.Items)
	}
	if o.Type == avsc.Map {
		d.schema(path+"{}", o.Values, n.Values)
	}
}

func (d *differ) nullability(path string, was, is bool) {
	if is {
		d.out = append(d.out, Change{Path: path, Kind: "became optional"})
	} else {
		d.out = append(d.out, Change{Path: path, Kind: "became required"})
	}
}

func (d *differ) record(o, n *avsc.Schema) {
	rec := n.ShortName()
	for _, of := range o.Fields {
		nf := n.Field(of.Name)
		p := rec + "." + of.Name
		if nf == nil {
			def := "no default"
			if of.HasDefault() {
				def = "default " + string(of.Default)
			}
			d.out = append(d.out, Change{Path: p, Kind: "field removed", Old: describe(of.Type) + ", " + def})
			continue
		}
		d.schema(p, of.Type, nf.Type)
		if string(of.Default) != string(nf.Default) {
			d.out = append(d.out, Change{Path: p, Kind: "default changed", Old: defaultText(of), New: defaultText(nf)})
		}
	}
	for _, nf := range n.Fields {
		if o.Field(nf.Name) == nil {
			def := "no default"
			if nf.HasDefault() {
				def = "default " + string(nf.Default)
			}
			d.out = append(d.out, Change{Path: rec + "." + nf.Name, Kind: "field added", New: describe(nf.Type) + ", " + def})
		}
	}
}

func defaultText(f *avsc.Field) string {
	if !f.HasDefault() {
		return "none"
	}
	return string(f.Default)
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Schema compatibility against %s\n\n", r.Baseline)
	counts := map[string]int{}
	for _, s := range r.Subjects {
		counts[s.Status]++
		side := "value"
		if s.Key {
			side = "key"
		}
		switch s.Status {
		case StatusNew:
			fmt.Fprintf(w, "NEW           %s (topic %s, %s): not registered yet\n", s.Subject, s.Topic, side)
		case StatusUnchanged:
			fmt.Fprintf(w, "UNCHANGED     %s (topic %s, %s): same as version %d\n", s.Subject, s.Topic, side, s.LatestVersion)
		case StatusCompatible:
			fmt.Fprintf(w, "COMPATIBLE    %s (topic %s, %s): new version allowed by %s after version %d\n", s.Subject, s.Topic, side, s.Level, s.LatestVersion)
		case StatusIncompatible:
			fmt.Fprintf(w, "INCOMPATIBLE  %s (topic %s, %s): rejected by %s after version %d\n", s.Subject, s.Topic, side, s.Level, s.LatestVersion)
		}
		if len(s.Changes) > 0 {
			fmt.Fprintf(w, "  changes:\n")
			for _, c := range s.Changes {
				fmt.Fprintf(w, "    - %s: %s", c.Path, c.Kind)
				switch {
				case c.Old != "" && c.New != "":
					fmt.Fprintf(w, " (%s → %s)", c.Old, c.New)
				case c.Old != "":
					fmt.Fprintf(w, " (was %s)", c.Old)
				case c.New != "":
					fmt.Fprintf(w, " (%s)", c.New)
				}
				fmt.Fprintln(w)
			}
		}
		if len(s.Problems) > 0 {
			fmt.Fprintf(w, "  problems:\n")
			for _, p := range s.Problems {
				dir := "new schema reading old data"
				if p.Direction == string(compat.OldReadsNew) {
					dir = "old schema reading new data"
				}
				fmt.Fprintf(w, "    - %s at %s (%s, against version %d)\n", p.Rule, p.Path, dir, p.AgainstVersion)
				fmt.Fprintf(w, "      %s\n", p.Message)
				if p.Fix != "" {
					fmt.Fprintf(w, "      fix: %s\n", p.Fix)
				}
			}
		}
	}
	verdict := "compatible"
	if !r.Compatible {
		verdict = "INCOMPATIBLE"
	}
	fmt.Fprintf(w, "\n%d subject(s): %d incompatible, %d compatible, %d unchanged, %d new — %s\n", len(r.Subjects),
		counts[StatusIncompatible], counts[StatusCompatible], counts[StatusUnchanged], counts[StatusNew], verdict)
}

// WriteJSON prints the report for machines.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// RegistryBaseline reads subjects from a schema registry.
type RegistryBaseline struct {
	Client *registry.Client
	URL    string
}

func (b *RegistryBaseline) Describe() string { return "schema registry " + b.URL }

func (b *RegistryBaseline) Versions(ctx context.Context, subject string) ([]Version, error) {
	nums, err := b.Client.Versions(ctx, subject, false)
	if registry.ErrorCode(err) == registry.CodeSubjectNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(nums))
	for _, n := range nums {
		sv, err := b.Client.Version(ctx, subject, n)
		if err != nil {
			return nil, err
		}
		if sv.SchemaType != "" && sv.SchemaType != "AVRO" && sv.SchemaType != "JSON" && sv.SchemaType != "PROTOBUF" {
			return nil, fmt.Errorf("version %d is a %s schema; schema check reads AVRO, JSON and PROTOBUF", n, sv.SchemaType)
		}
		if len(sv.References) > 0 {
			return nil, fmt.Errorf("version %d has schema references, which schema check does not resolve", n)
		}
		out = append(out, Version{Version: sv.Version, ID: sv.ID, Schema: sv.Schema, SchemaType: sv.SchemaType})
	}
	return out, nil
}

func (b *RegistryBaseline) Level(ctx context.Context, subject string) (compat.Level, error) {
	lv, err := b.Client.Compatibility(ctx, subject)
	if err != nil {
		return "", err
	}
	return compat.ParseLevel(lv)
}

// DirBaseline reads committed schemas: <dir>/<subject>.avsc (Avro),
// .json (JSON Schema) or .proto (Protobuf), one version per subject, as
// `tributary schema export` writes them.
type DirBaseline struct {
	Dir          string
	DefaultLevel compat.Level
}

func (b *DirBaseline) Describe() string { return "schema files in " + b.Dir }

func (b *DirBaseline) Versions(_ context.Context, subject string) ([]Version, error) {
	for _, schemaType := range []string{"AVRO", "JSON", "PROTOBUF"} {
		data, err := os.ReadFile(SchemaFileOfType(b.Dir, subject, schemaType))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return []Version{{Version: 1, Schema: strings.TrimSpace(string(data)), SchemaType: schemaType}}, nil
	}
	return nil, nil
}

func (b *DirBaseline) Level(context.Context, string) (compat.Level, error) {
	if b.DefaultLevel == "" {
		return compat.Backward, nil
	}
	return b.DefaultLevel, nil
}

// SchemaFile is where a subject's schema lives in a schema directory.
// Subjects may contain '/', which a file name cannot.
func SchemaFile(dir, subject string) string { return SchemaFileOfType(dir, subject, "AVRO") }

// SchemaFileOfType is SchemaFile for a schema type: .json for JSON Schema,
// .proto for Protobuf.
func SchemaFileOfType(dir, subject, schemaType string) string {
	ext := ".avsc"
	switch {
	case isJSON(schemaType):
		ext = ".json"
	case strings.EqualFold(schemaType, "PROTOBUF"):
		ext = ".proto"
	}
	return filepath.Join(dir, strings.ReplaceAll(subject, "/", "%2F")+ext)
}

// Export writes each candidate to <dir>/<subject>.avsc and returns the
// files written.
func Export(dir string, cands []Candidate) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, c := range cands {
		p := SchemaFileOfType(dir, c.Subject, c.SchemaType)
		if err := os.WriteFile(p, []byte(c.Schema+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("subject %s: %w", c.Subject, err)
		}
		files = append(files, p)
	}
	return files, nil
}

// checkJSON is checkOne for JSON Schema candidates: Confluent's JSON Schema
// rules, the same the registry applies.
func checkJSON(ctx context.Context, c Candidate, base Baseline, level compat.Level, out Subject) (Subject, error) {
	cand, err := jsonschema.Parse(c.Schema, nil)
	if err != nil {
		return out, fmt.Errorf("subject %s: candidate schema: %w", c.Subject, err)
	}
	prev, versions, err := registered(ctx, c, base, &level, &out, func(v Version) error {
		if !isJSON(v.SchemaType) {
			return fmt.Errorf("subject %s version %d is not a JSON schema; the candidate is", c.Subject, v.Version)
		}
		return nil
	}, func(text string) (*jsonschema.Document, error) { return jsonschema.Parse(text, nil) })
	if err != nil || out.Status == StatusNew {
		return out, err
	}
	roots := make([]*jsonschema.Schema, len(prev))
	for i, d := range prev {
		roots[i] = d.Root
	}
	latest := prev[len(prev)-1]
	if latest.Canonical == cand.Canonical {
		out.Status = StatusUnchanged
		return out, nil
	}
	for _, d := range jsonschema.Diff(latest.Root, cand.Root) {
		out.Changes = append(out.Changes, Change{Path: d.Path, Kind: strings.ToLower(strings.ReplaceAll(string(d.Type), "_", " "))})
	}
	vs, err := jsonschema.CheckLevel(level, cand.Root, roots)
	if err != nil {
		return out, err
	}
	for _, v := range vs {
		out.Problems = append(out.Problems, Problem{
			Rule: string(v.Type), Direction: string(v.Direction), AgainstVersion: versions[v.Previous].Version,
			Path: v.Path, Location: v.Path, Message: v.Message(), Fix: jsonFix(v),
		})
	}
	return judged(out), nil
}

// jsonFix suggests the usual way out of the common JSON Schema breaks.
func jsonFix(v jsonschema.Violation) string {
	switch v.Type {
	case "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "REQUIRED_ATTRIBUTE_ADDED":
		return "give the new column a default, or make it nullable"
	case "COMBINED_TYPE_SUBSCHEMAS_CHANGED":
		return "a column of the row changed in a way the level rejects (type changed, required column added or removed); check the row's columns one by one"
	case "TYPE_CHANGED", "TYPE_NARROWED":
		return "keep the column's type, or add a new column and migrate to it"
	case "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL":
		return "keep the column until readers no longer need it, or use a compatibility level that allows removal"
	}
	return "see Confluent's JSON Schema compatibility rules for " + string(v.Type)
}

// checkProtobuf is checkOne for .proto candidates (without references):
// Confluent's protobuf rules, the same the registry applies.
func checkProtobuf(ctx context.Context, c Candidate, base Baseline, level compat.Level, out Subject) (Subject, error) {
	cand, err := protobuf.Parse(c.Schema, nil)
	if err != nil {
		return out, fmt.Errorf("subject %s: candidate schema: %w", c.Subject, err)
	}
	prev, versions, err := registered(ctx, c, base, &level, &out, func(v Version) error {
		if !strings.EqualFold(v.SchemaType, "PROTOBUF") {
			return fmt.Errorf("subject %s version %d is not a protobuf schema; the candidate is", c.Subject, v.Version)
		}
		return nil
	}, func(text string) (*protobuf.Schema, error) { return protobuf.Parse(text, nil) })
	if err != nil || out.Status == StatusNew {
		return out, err
	}
	latest := prev[len(prev)-1]
	if latest.Canonical == cand.Canonical {
		out.Status = StatusUnchanged
		return out, nil
	}
	for _, d := range protobuf.Diff(latest, cand) {
		out.Changes = append(out.Changes, Change{Path: d.Path, Kind: strings.ToLower(strings.ReplaceAll(string(d.Type), "_", " "))})
	}
	first := len(prev) - 1
	if level.Transitive() {
		first = 0
	}
	name := string(level)
	for i := len(prev) - 1; i >= first && level != compat.None; i-- {
		var ds []Problem
		if strings.HasPrefix(name, "BACKWARD") || strings.HasPrefix(name, "FULL") {
			for _, d := range protobuf.Incompatibilities(prev[i], cand) {
				ds = append(ds, Problem{Rule: string(d.Type), Direction: string(compat.NewReadsOld), Path: d.Path, Location: d.Path, Message: d.Message()})
			}
		}
		if strings.HasPrefix(name, "FORWARD") || strings.HasPrefix(name, "FULL") {
			for _, d := range protobuf.Incompatibilities(cand, prev[i]) {
				ds = append(ds, Problem{Rule: string(d.Type), Direction: string(compat.OldReadsNew), Path: d.Path, Location: d.Path, Message: d.Message()})
			}
		}
		for _, p := range ds {
			p.AgainstVersion = versions[i].Version
			p.Fix = "keep field numbers and their kinds; add new fields under new numbers"
			out.Problems = append(out.Problems, p)
		}
	}
	return judged(out), nil
}
