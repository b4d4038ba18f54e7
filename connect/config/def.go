// Package config defines, parses and validates connector and worker
// properties the way Kafka Connect's ConfigDef does, so Debezium and Kafka
// Connect property names are accepted unchanged.
package config

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is a property's type, named as in Kafka's ConfigDef.Type.
type Type string

const (
	TypeString   Type = "STRING"
	TypeInt      Type = "INT"
	TypeLong     Type = "LONG"
	TypeDouble   Type = "DOUBLE"
	TypeBoolean  Type = "BOOLEAN"
	TypeList     Type = "LIST"
	TypePassword Type = "PASSWORD"
	TypeClass    Type = "CLASS"
)

// Importance mirrors ConfigDef.Importance; the REST validate endpoint
// reports it.
type Importance string

const (
	High   Importance = "HIGH"
	Medium Importance = "MEDIUM"
	Low    Importance = "LOW"
)

// Key describes one property.
type Key struct {
	Name       string
	Type       Type
	Default    string // "" with HasDefault=false means no default
	HasDefault bool
	Required   bool
	Doc        string
	Group      string
	Importance Importance
	// OneOf restricts the value (case-insensitive), as ConfigDef.ValidString.
	OneOf []string
	// Validate checks the raw value beyond its type.
	Validate func(v string) error
	// Deprecated names still accepted for this key, as Debezium's
	// Field.withDeprecatedAliases: Parse accepts them and Values.Deprecations
	// names the replacement, for a warning.
	Aliases []string
}

// Def is a set of property definitions.
type Def struct {
	keys map[string]*Key
	// prefixes whose properties are accepted without definition and passed
	// through (e.g. "transforms.", "database." driver settings).
	prefixes []string
	// named are list properties whose values name further prefixes:
	// Debezium's converters=a,b accepts a.type, a.selector, b.type...
	named []string
	order []string
	// renamed are names the upstream project renamed and no longer
	// accepts; renamedPrefixes the same for whole families of properties.
	renamed         map[string]Rename
	renamedPrefixes []Rename
	// refused are documented properties not implemented: accepted only at
	// the upstream default (which is what Tributary does), refused with
	// the reason otherwise.
	refused map[string]refusal
}

type refusal struct{ def, reason string }

// Refuse accepts name only at its upstream default value def (Tributary
// behaves as that default) and refuses any other value with reason.
func (d *Def) Refuse(name, def, reason string) *Def {
	if d.refused == nil {
		d.refused = map[string]refusal{}
	}
	d.refused[name] = refusal{def: def, reason: reason}
	return d
}

// Rename is a property (or, as a prefix, a family of properties) that
// Debezium or Kafka Connect renamed and no longer accepts.
type Rename struct {
	Old, New string
	// Since names the release that dropped the old name.
	Since string
}

// NewDef returns an empty definition.
func NewDef() *Def { return &Def{keys: map[string]*Key{}, renamed: map[string]Rename{}} }

// Renamed rejects old at Parse with a message naming its replacement.
func (d *Def) Renamed(old, replacement, since string) *Def {
	d.renamed[old] = Rename{Old: old, New: replacement, Since: since}
	return d
}

// RenamedPrefix rejects every property starting with old, naming the
// same property under the replacement prefix (database.history.kafka.topic
// becomes schema.history.internal.kafka.topic).
func (d *Def) RenamedPrefix(old, replacement, since string) *Def {
	d.renamedPrefixes = append(d.renamedPrefixes, Rename{Old: old, New: replacement, Since: since})
	return d
}

// Renames returns every renamed property and prefix.
func (d *Def) Renames() []Rename {
	out := make([]Rename, 0, len(d.renamed)+len(d.renamedPrefixes))
	for _, r := range d.renamed {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Old < out[j].Old })
	return append(out, d.renamedPrefixes...)
}

// renamedTo returns the message for a renamed property n, or "".
func (d *Def) renamedTo(n string) string {
	if r, ok := d.renamed[n]; ok {
		return fmt.Sprintf("renamed %s in %s, which no longer accepts the old name", r.New, r.Since)
	}
	for _, r := range d.renamedPrefixes {
		if rest, ok := strings.CutPrefix(n, r.Old); ok {
			return fmt.Sprintf("renamed %s%s in %s (every %s* property is now %s*), which no longer accepts the old name", r.New, rest, r.Since, r.Old, r.New)
		}
	}
	return ""
}

// Define adds k; a duplicate name replaces the earlier definition so that
// connectors can override runtime defaults.
func (d *Def) Define(k Key) *Def {
	if k.Importance == "" {
		k.Importance = Medium
	}
	if k.Type == "" {
		k.Type = TypeString
	}
	if k.Default != "" {
		k.HasDefault = true
	}
	if _, ok := d.keys[k.Name]; !ok {
		d.order = append(d.order, k.Name)
	}
	kk := k
	d.keys[k.Name] = &kk
	return d
}

// AllowPrefix accepts any property starting with p.
func (d *Def) AllowPrefix(p ...string) *Def { d.prefixes = append(d.prefixes, p...); return d }

// AllowNamed accepts any property "<name>.<rest>" for each name that the
// list property list holds, as Debezium's converters property
// (converters=boolean makes boolean.type and boolean.selector valid).
func (d *Def) AllowNamed(list ...string) *Def { d.named = append(d.named, list...); return d }

// Merge adds every key and prefix of o.
func (d *Def) Merge(o *Def) *Def {
	for _, n := range o.order {
		d.Define(*o.keys[n])
	}
	d.prefixes = append(d.prefixes, o.prefixes...)
	d.named = append(d.named, o.named...)
	for k, r := range o.renamed {
		d.renamed[k] = r
	}
	d.renamedPrefixes = append(d.renamedPrefixes, o.renamedPrefixes...)
	for k, r := range o.refused {
		d.Refuse(k, r.def, r.reason)
	}
	return d
}

// Keys returns the definitions in definition order.
func (d *Def) Keys() []*Key {
	out := make([]*Key, 0, len(d.order))
	for _, n := range d.order {
		out = append(out, d.keys[n])
	}
	return out
}

// Lookup returns the key called name.
func (d *Def) Lookup(name string) (*Key, bool) { k, ok := d.keys[name]; return k, ok }

// FieldError is a problem with one property.
type FieldError struct {
	Name    string
	Value   string
	Message string
}

func (e FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Name, e.Message)
	}
	return fmt.Sprintf("%s=%q: %s", e.Name, e.DisplayValue(), e.Message)
}

// Errors collects every invalid property so a user sees them all at once.
type Errors []FieldError

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return "invalid configuration: " + strings.Join(parts, "; ")
}

// Parse validates props against d and returns typed values. Unknown
// properties are errors unless covered by an allowed prefix.
func (d *Def) Parse(props map[string]string) (*Values, error) {
	var errs Errors
	vals := &Values{raw: map[string]string{}, def: d}
	for name, v := range props {
		vals.raw[name] = v
	}
	for _, n := range d.order {
		k := d.keys[n]
		for _, a := range k.Aliases {
			if v, ok := props[a]; ok {
				if _, set := props[k.Name]; !set {
					vals.raw[k.Name] = v
					vals.deprecations = append(vals.deprecations, fmt.Sprintf("%s is deprecated; use %s", a, k.Name))
				} else {
					vals.deprecations = append(vals.deprecations, fmt.Sprintf("%s is deprecated and ignored because %s is set", a, k.Name))
				}
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := d.keys[n]; !ok {
			if msg := d.renamedTo(n); msg != "" {
				errs = append(errs, FieldError{Name: n, Message: msg})
				continue
			}
			if r, ok := d.refused[n]; ok {
				if !strings.EqualFold(strings.TrimSpace(props[n]), r.def) {
					msg := "not supported: " + r.reason
					if r.def != "" {
						msg += " (only the default " + r.def + " is accepted)"
					}
					errs = append(errs, FieldError{Name: n, Message: msg})
				}
				continue
			}
		}
		if _, ok := d.keys[n]; ok || d.isAlias(n) || d.prefixed(n) || d.namedBy(n, vals.raw) {
			continue
		}
		// No value: an unknown property has no type to tell whether it
		// is a secret, and a misspelled database.passwrd is one.
		errs = append(errs, FieldError{Name: n, Message: "unknown property" + d.suggest(n)})
	}
	for _, n := range d.order {
		k := d.keys[n]
		v, ok := vals.raw[n]
		if !ok || (v == "" && k.Type != TypeString && k.Type != TypePassword && k.Type != TypeList) {
			if k.Required && !k.HasDefault {
				errs = append(errs, FieldError{Name: n, Message: "missing required property" + docHint(k)})
			}
			continue
		}
		if err := k.check(v); err != nil {
			errs = append(errs, FieldError{Name: n, Value: d.Display(n, v), Message: err.Error()})
		}
	}
	if len(errs) > 0 {
		return vals, errs
	}
	return vals, nil
}

func docHint(k *Key) string {
	if k.Doc == "" {
		return ""
	}
	return " (" + k.Doc + ")"
}

func (d *Def) isAlias(n string) bool {
	for _, k := range d.keys {
		for _, a := range k.Aliases {
			if a == n {
				return true
			}
		}
	}
	return false
}

func (d *Def) prefixed(n string) bool {
	for _, p := range d.prefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// namedBy reports whether n is "<name>.<rest>" for a name listed in one
// of the AllowNamed list properties.
func (d *Def) namedBy(n string, props map[string]string) bool {
	for _, list := range d.named {
		for _, name := range SplitList(props[list]) {
			if strings.HasPrefix(n, name+".") {
				return true
			}
		}
	}
	return false
}

// suggest names the closest known property, for typos.
func (d *Def) suggest(n string) string {
	best, bestDist := "", 4
	for k := range d.keys {
		if dist := EditDistance(n, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// EditDistance is the Levenshtein distance between a and b, which the
// "did you mean" suggestions for misspelt property and class names use.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (k *Key) check(v string) error {
	switch k.Type {
	case TypeInt:
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err != nil {
			return fmt.Errorf("not a valid INT")
		}
	case TypeLong:
		if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err != nil {
			return fmt.Errorf("not a valid LONG")
		}
	case TypeDouble:
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			return fmt.Errorf("not a valid DOUBLE")
		}
	case TypeBoolean:
		if _, err := parseBool(v); err != nil {
			return err
		}
	}
	if len(k.OneOf) > 0 {
		ok := false
		for _, o := range k.OneOf {
			if strings.EqualFold(strings.TrimSpace(v), o) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("must be one of %s", strings.Join(k.OneOf, ", "))
		}
	}
	if k.Validate != nil {
		return k.Validate(v)
	}
	return nil
}

func parseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a valid BOOLEAN (true or false)")
}

// ValidRegexList checks a comma-separated list of regular expressions, as
// Debezium's include/exclude lists are.
func ValidRegexList(v string) error {
	for _, p := range SplitList(v) {
		if _, err := regexp.Compile(p); err != nil {
			return fmt.Errorf("invalid regular expression %q: %w", p, err)
		}
	}
	return nil
}

// SplitList splits a comma-separated list, trimming blanks.
func SplitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Values are parsed, validated properties.
type Values struct {
	raw          map[string]string
	def          *Def
	deprecations []string
}

// Deprecations names each deprecated alias the properties used and its
// replacement, for the warnings Debezium logs.
func (v *Values) Deprecations() []string { return v.deprecations }

// Raw returns every property as given (after alias resolution).
func (v *Values) Raw() map[string]string {
	out := make(map[string]string, len(v.raw))
	for k, s := range v.raw {
		out[k] = s
	}
	return out
}

func (v *Values) get(name string) string {
	if s, ok := v.raw[name]; ok && (s != "" || v.def.keys[name] == nil || v.def.keys[name].Type == TypeString) {
		return s
	}
	if k, ok := v.def.keys[name]; ok {
		return k.Default
	}
	return ""
}

// Defines reports whether the definition behind v has a property name.
func (v *Values) Defines(name string) bool { _, ok := v.def.keys[name]; return ok }

// IsSet reports whether the user gave name explicitly.
func (v *Values) IsSet(name string) bool { _, ok := v.raw[name]; return ok }

// String returns the value or the default.
func (v *Values) String(name string) string { return strings.TrimSpace(v.get(name)) }

// Lower returns the value lower-cased, for enum-like properties.
func (v *Values) Lower(name string) string { return strings.ToLower(v.String(name)) }

// Int returns an INT or LONG value; Parse already checked it.
func (v *Values) Int(name string) int64 {
	n, _ := strconv.ParseInt(v.String(name), 10, 64)
	return n
}

// Float returns a DOUBLE value.
func (v *Values) Float(name string) float64 {
	f, _ := strconv.ParseFloat(v.String(name), 64)
	return f
}

// Bool returns a BOOLEAN value.
func (v *Values) Bool(name string) bool {
	b, _ := parseBool(v.get(name))
	return b
}

// List returns a LIST value.
func (v *Values) List(name string) []string { return SplitList(v.get(name)) }

// Millis returns a value given in milliseconds as a duration.
func (v *Values) Millis(name string) time.Duration {
	return time.Duration(v.Int(name)) * time.Millisecond
}

// WithPrefix returns properties starting with p, with p removed, as
// Kafka's AbstractConfig.originalsWithPrefix does.
func (v *Values) WithPrefix(p string) map[string]string {
	out := map[string]string{}
	for k, s := range v.raw {
		if strings.HasPrefix(k, p) {
			out[strings.TrimPrefix(k, p)] = s
		}
	}
	return out
}

// Knows reports whether Parse has an answer of its own for name: a
// definition (which may refuse values with the reason), an allowed prefix
// or a rename naming the replacement.
func (d *Def) Knows(name string) bool {
	_, ok := d.keys[name]
	_, refused := d.refused[name]
	return ok || refused || d.isAlias(name) || d.prefixed(name) || d.renamedTo(name) != ""
}
