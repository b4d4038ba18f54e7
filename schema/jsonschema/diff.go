package jsonschema

import (
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// ChangeType names a difference between two schemas, as Confluent's
// json-schema-provider Difference.Type does.
type ChangeType string

// Difference is one change from the original schema to the update.
type Difference struct {
	Type ChangeType
	// Path is a JSON pointer into the schemas, "#/" for the root.
	Path string
}

func (d Difference) String() string { return string(d.Type) + " " + d.Path }

// compatibleStrict is Confluent's SchemaDiff.COMPATIBLE_CHANGES_STRICT: the
// changes after which readers of the update still read data written with
// the original.
var compatibleStrict = set(
	"ID_CHANGED", "DESCRIPTION_CHANGED", "TITLE_CHANGED", "DEFAULT_CHANGED", "SCHEMA_REMOVED", "TYPE_EXTENDED",
	"MAX_LENGTH_INCREASED", "MAX_LENGTH_REMOVED", "MIN_LENGTH_DECREASED", "MIN_LENGTH_REMOVED", "PATTERN_REMOVED",
	"MAXIMUM_INCREASED", "MAXIMUM_REMOVED", "MINIMUM_DECREASED", "MINIMUM_REMOVED",
	"EXCLUSIVE_MAXIMUM_INCREASED", "EXCLUSIVE_MAXIMUM_REMOVED", "EXCLUSIVE_MINIMUM_DECREASED", "EXCLUSIVE_MINIMUM_REMOVED",
	"MULTIPLE_OF_REDUCED", "MULTIPLE_OF_REMOVED",
	"REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED", "REQUIRED_ATTRIBUTE_REMOVED", "DEPENDENCY_ARRAY_NARROWED", "DEPENDENCY_ARRAY_REMOVED",
	"DEPENDENCY_SCHEMA_REMOVED", "MAX_PROPERTIES_INCREASED", "MAX_PROPERTIES_REMOVED", "MIN_PROPERTIES_DECREASED", "MIN_PROPERTIES_REMOVED",
	"ADDITIONAL_PROPERTIES_ADDED", "ADDITIONAL_PROPERTIES_EXTENDED", "UNEVALUATED_PROPERTIES_ADDED", "UNEVALUATED_PROPERTIES_EXTENDED",
	"PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
	"OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL", "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
	"PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL", "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
	"PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
	"MAX_ITEMS_INCREASED", "MAX_ITEMS_REMOVED", "MIN_ITEMS_DECREASED", "MIN_ITEMS_REMOVED",
	"MAX_CONTAINS_INCREASED", "MAX_CONTAINS_REMOVED", "MIN_CONTAINS_DECREASED", "MIN_CONTAINS_REMOVED",
	"UNIQUE_ITEMS_REMOVED", "ADDITIONAL_ITEMS_ADDED", "ADDITIONAL_ITEMS_EXTENDED", "UNEVALUATED_ITEMS_ADDED", "UNEVALUATED_ITEMS_EXTENDED",
	"ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
	"ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
	"ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
	"ENUM_ARRAY_EXTENDED", "COMBINED_TYPE_EXTENDED", "PRODUCT_TYPE_NARROWED", "SUM_TYPE_EXTENDED", "NOT_TYPE_NARROWED",
)

func set(names ...string) map[ChangeType]bool {
	m := make(map[ChangeType]bool, len(names))
	for _, n := range names {
		m[ChangeType(n)] = true
	}
	return m
}

// Compatible reports whether a change keeps data written with the original
// readable with the update, under Confluent's strict policy (its default).
func Compatible(t ChangeType) bool { return compatibleStrict[t] }

// Diff lists the changes from original to update, as Confluent's
// SchemaDiff.compare does.
func Diff(original, update *Schema) []Difference {
	c := &ctx{inProgress: map[[2]*Schema]bool{}}
	c.compare(original, update)
	return c.diffs
}

// Incompatibilities are the changes from original to update that break
// readers of the update reading data of the original; empty means the
// update is backward compatible with the original.
func Incompatibilities(original, update *Schema) []Difference {
	var out []Difference
	for _, d := range Diff(original, update) {
		if !Compatible(d.Type) {
			out = append(out, d)
		}
	}
	return out
}

type ctx struct {
	path       []string
	diffs      []Difference
	inProgress map[[2]*Schema]bool
}

func (c *ctx) sub() *ctx {
	return &ctx{path: append([]string(nil), c.path...), inProgress: c.inProgress}
}

func (c *ctx) enter(p string) func() {
	c.path = append(c.path, p)
	return func() { c.path = c.path[:len(c.path)-1] }
}

func (c *ctx) add(t ChangeType) {
	c.diffs = append(c.diffs, Difference{t, "#/" + strings.Join(c.path, "/")})
}

func (c *ctx) addAt(attr string, t ChangeType) {
	defer c.enter(attr)()
	c.add(t)
}

func (c *ctx) compatible() bool {
	for _, d := range c.diffs {
		if !compatibleStrict[d.Type] {
			return false
		}
	}
	return true
}

func (c *ctx) compare(original, update *Schema) {
	switch {
	case original == nil && update == nil:
		return
	case original == nil:
		c.add("SCHEMA_ADDED")
		return
	case update == nil:
		c.add("SCHEMA_REMOVED")
		return
	}
	original, update = deref(original), deref(update)
	// A pair met again while being compared is inside a recursive schema:
	// treating it as compatible is what makes the comparison end
	// (Context.compareMemoized).
	key := [2]*Schema{original, update}
	if c.inProgress[key] {
		return
	}
	c.inProgress[key] = true
	defer delete(c.inProgress, key)
	c.compareTypes(original, update)
}

func (c *ctx) compareTypes(original, update *Schema) {
	if original.Kind != KindCombined && update.Kind == KindCombined {
		if len(update.Subs) == 1 {
			s := c.sub()
			s.compare(original, update.Subs[0])
			if s.compatible() {
				c.diffs = append(c.diffs, s.diffs...)
				return
			}
		} else if update.Criterion == "anyOf" || update.Criterion == "oneOf" {
			for _, sub := range update.Subs {
				s := c.sub()
				s.compare(original, sub)
				if s.compatible() {
					c.diffs = append(c.diffs, s.diffs...)
					c.add("SUM_TYPE_EXTENDED")
					return
				}
			}
		}
	} else if original.Kind == KindCombined && update.Kind != KindCombined {
		if len(original.Subs) == 1 {
			s := c.sub()
			s.compare(original.Subs[0], update)
			if s.compatible() {
				c.diffs = append(c.diffs, s.diffs...)
				return
			}
		} else if original.Criterion == "allOf" {
			for _, sub := range original.Subs {
				s := c.sub()
				s.compare(sub, update)
				if s.compatible() {
					c.diffs = append(c.diffs, s.diffs...)
					c.add("PRODUCT_TYPE_NARROWED")
					return
				}
			}
		}
	}
	if original.Kind != update.Kind {
		if original.Kind == KindFalse || update.Kind.isEmpty() {
			return
		}
		// Kafka Connect's converters once changed how they write decimals;
		// two bytes-typed schemas are taken as the same type.
		if original.ConnectType == "bytes" && update.ConnectType == "bytes" {
			return
		}
		c.add("TYPE_CHANGED")
		return
	}
	if !eqStr(original.ID, update.ID) {
		c.add("ID_CHANGED")
	}
	if !eqStr(original.Title, update.Title) {
		c.add("TITLE_CHANGED")
	}
	if !eqStr(original.Description, update.Description) {
		c.add("DESCRIPTION_CHANGED")
	}
	if original.Default != update.Default {
		c.add("DEFAULT_CHANGED")
	}
	switch original.Kind {
	case KindString:
		c.compareString(original, update)
	case KindNumber:
		c.compareNumber(original, update)
	case KindConst:
		if original.Const != update.Const {
			c.addAt("const", "ENUM_ARRAY_CHANGED")
		}
	case KindEnum:
		c.compareEnum(original, update)
	case KindCombined:
		c.compareCombined(original, update)
	case KindNot:
		done := c.enter("not")
		s := c.sub()
		s.compare(update.Not, original.Not)
		if s.compatible() {
			c.add("NOT_TYPE_NARROWED")
		} else {
			c.add("NOT_TYPE_EXTENDED")
		}
		done()
	case KindObject:
		c.compareObject(original, update)
	case KindArray:
		c.compareArray(original, update)
	}
}

func eqStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// limit classifies a change of an optional numeric keyword.
func (c *ctx) limit(attr string, o, u *big.Rat, prefix string) {
	switch {
	case o == nil && u == nil:
	case o == nil:
		c.addAt(attr, ChangeType(prefix+"_ADDED"))
	case u == nil:
		c.addAt(attr, ChangeType(prefix+"_REMOVED"))
	case o.Cmp(u) < 0:
		c.addAt(attr, ChangeType(prefix+"_INCREASED"))
	case o.Cmp(u) > 0:
		c.addAt(attr, ChangeType(prefix+"_DECREASED"))
	}
}

func ratOf(i *int) *big.Rat {
	if i == nil {
		return nil
	}
	return new(big.Rat).SetInt64(int64(*i))
}

func (c *ctx) compareString(o, u *Schema) {
	c.limit("maxLength", ratOf(o.MaxLength), ratOf(u.MaxLength), "MAX_LENGTH")
	c.limit("minLength", ratOf(o.MinLength), ratOf(u.MinLength), "MIN_LENGTH")
	switch {
	case o.Pattern == nil && u.Pattern != nil:
		c.addAt("pattern", "PATTERN_ADDED")
	case o.Pattern != nil && u.Pattern == nil:
		c.addAt("pattern", "PATTERN_REMOVED")
	case o.Pattern != nil && *o.Pattern != *u.Pattern:
		c.addAt("pattern", "PATTERN_CHANGED")
	}
}

func (c *ctx) compareNumber(o, u *Schema) {
	c.limit("maximum", o.Maximum, u.Maximum, "MAXIMUM")
	c.limit("minimum", o.Minimum, u.Minimum, "MINIMUM")
	c.limit("exclusiveMaximum", o.ExclusiveMaximum, u.ExclusiveMaximum, "EXCLUSIVE_MAXIMUM")
	c.limit("exclusiveMinimum", o.ExclusiveMinimum, u.ExclusiveMinimum, "EXCLUSIVE_MINIMUM")
	om, um := o.MultipleOf, u.MultipleOf
	switch {
	case om == nil && um == nil, om != nil && um != nil && om.Cmp(um) == 0:
	case om == nil:
		c.addAt("multipleOf", "MULTIPLE_OF_ADDED")
	case um == nil:
		c.addAt("multipleOf", "MULTIPLE_OF_REMOVED")
	case om.Sign() != 0 && divides(om, um):
		c.addAt("multipleOf", "MULTIPLE_OF_EXPANDED")
	case um.Sign() != 0 && divides(um, om):
		c.addAt("multipleOf", "MULTIPLE_OF_REDUCED")
	default:
		c.addAt("multipleOf", "MULTIPLE_OF_CHANGED")
	}
	if o.RequiresInteger != u.RequiresInteger {
		if o.RequiresInteger {
			c.add("TYPE_EXTENDED")
		} else {
			c.add("TYPE_NARROWED")
		}
	}
}

// divides reports whether n is a whole multiple of d.
func divides(d, n *big.Rat) bool {
	q := new(big.Rat).Quo(n, d)
	return q.IsInt()
}

func containsAll(have, want []string) bool {
	m := map[string]bool{}
	for _, h := range have {
		m[h] = true
	}
	for _, w := range want {
		if !m[w] {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool { return containsAll(a, b) && containsAll(b, a) }

func (c *ctx) compareEnum(o, u *Schema) {
	if sameSet(o.Values, u.Values) {
		return
	}
	switch {
	case containsAll(u.Values, o.Values):
		c.addAt("enum", "ENUM_ARRAY_EXTENDED")
	case containsAll(o.Values, u.Values):
		c.addAt("enum", "ENUM_ARRAY_NARROWED")
	default:
		c.addAt("enum", "ENUM_ARRAY_CHANGED")
	}
}

func dedupe(subs []*Schema) []*Schema {
	seen := map[string]bool{}
	var out []*Schema
	for _, s := range subs {
		if !seen[s.canonical] {
			seen[s.canonical] = true
			out = append(out, s)
		}
	}
	return out
}

func (c *ctx) compareCombined(o, u *Schema) {
	// The criteria.
	switch {
	case o.Criterion == u.Criterion:
	case u.Criterion == "anyOf" ||
		(len(o.Subs) == 1 && len(u.Subs) == 1) ||
		(len(o.Subs) == 1 && u.Criterion == "oneOf") ||
		(len(u.Subs) == 1 && o.Criterion == "allOf"):
		c.add("COMBINED_TYPE_EXTENDED")
	default:
		c.add("COMBINED_TYPE_CHANGED")
		return
	}
	os, us := dedupe(o.Subs), dedupe(u.Subs)
	switch {
	case len(os) < len(us):
		if u.Criterion == "allOf" {
			c.add("PRODUCT_TYPE_EXTENDED")
		} else {
			c.add("SUM_TYPE_EXTENDED")
		}
	case len(os) > len(us):
		if o.Criterion == "anyOf" || o.Criterion == "oneOf" {
			c.add("SUM_TYPE_NARROWED")
		} else {
			c.add("PRODUCT_TYPE_NARROWED")
		}
	}
	// Which original subschema may become which update subschema, and
	// with which (compatible) differences; then a maximum matching.
	edges := make([][][]Difference, len(os))
	for i, osub := range os {
		done := c.enter(o.Criterion + "/" + strconv.Itoa(i))
		edges[i] = make([][]Difference, len(us))
		for j, usub := range us {
			s := c.sub()
			s.compare(osub, usub)
			if s.compatible() {
				edges[i][j] = append([]Difference{}, s.diffs...)
				if edges[i][j] == nil {
					edges[i][j] = []Difference{}
				}
			}
		}
		done()
	}
	match := maxMatching(edges, len(us))
	matched := 0
	for i, j := range match {
		if j >= 0 {
			matched++
			c.diffs = append(c.diffs, edges[i][j]...)
		}
	}
	if matched < min(len(os), len(us)) {
		c.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED")
	}
}

// maxMatching pairs left nodes with right nodes along non-nil edges, as
// many as possible (Kuhn's augmenting paths); it returns each left node's
// partner or -1.
func maxMatching(edges [][][]Difference, right int) []int {
	owner := make([]int, right)
	for i := range owner {
		owner[i] = -1
	}
	var try func(i int, seen []bool) bool
	try = func(i int, seen []bool) bool {
		for j := 0; j < right; j++ {
			if edges[i][j] == nil || seen[j] {
				continue
			}
			seen[j] = true
			if owner[j] < 0 || try(owner[j], seen) {
				owner[j] = i
				return true
			}
		}
		return false
	}
	for i := range edges {
		try(i, make([]bool, right))
	}
	out := make([]int, len(edges))
	for i := range out {
		out[i] = -1
	}
	for j, i := range owner {
		if i >= 0 {
			out[i] = j
		}
	}
	return out
}

func sortedKeys[V any](ms ...map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

func objectOpen(s *Schema) bool {
	if !s.AdditionalProperties || s.AdditionalPropsSchema != nil || len(s.PatternProperties) > 0 {
		return false
	}
	return s.UnevaluatedProperties == nil || s.UnevaluatedProperties.Kind.isEmpty()
}

func objectPartial(s *Schema, name string) *Schema {
	for _, pp := range s.PatternProperties {
		if pp.Pattern.MatchString(name) {
			return pp.Schema
		}
	}
	if s.AdditionalPropsSchema != nil {
		return s.AdditionalPropsSchema
	}
	if s.AdditionalProperties {
		if u := s.UnevaluatedProperties; u != nil && u.Kind != KindFalse && !u.Kind.isEmpty() {
			return u
		}
	}
	return nil
}

func (c *ctx) compareObject(o, u *Schema) {
	// required
	done := c.enter("required")
	for _, name := range sortedKeys(o.Properties) {
		if _, ok := u.Properties[name]; !ok {
			continue
		}
		or, ur := o.Required[name], u.Required[name]
		switch {
		case or && !ur:
			c.addAt(name, "REQUIRED_ATTRIBUTE_REMOVED")
		case !or && ur:
			if u.Properties[name].Default != "" {
				c.addAt(name, "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED")
			} else {
				c.addAt(name, "REQUIRED_ATTRIBUTE_ADDED")
			}
		}
	}
	done()
	// properties
	done = c.enter("properties")
	for _, name := range sortedKeys(o.Properties, u.Properties) {
		pdone := c.enter(name)
		os, us := o.Properties[name], u.Properties[name]
		switch {
		case us == nil:
			if objectOpen(u) {
				c.add("PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL")
			} else if partial := objectPartial(u, name); partial != nil {
				s := c.sub()
				s.compare(os, partial)
				c.diffs = append(c.diffs, s.diffs...)
				if s.compatible() {
					c.add("PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
				} else {
					c.add("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
				}
			} else if os.Kind == KindFalse {
				c.add("PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
			} else {
				c.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")
			}
		case os == nil:
			if objectOpen(o) {
				switch {
				case deref(us).Kind.isEmpty():
					c.add("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
				case u.Required[name] && us.Default != "":
					c.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL")
				case u.Required[name]:
					c.add("REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
				default:
					c.add("OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")
				}
			} else {
				if partial := objectPartial(o, name); partial != nil {
					s := c.sub()
					s.compare(partial, us)
					c.diffs = append(c.diffs, s.diffs...)
					if s.compatible() {
						c.add("PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
					} else {
						c.add("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
					}
				}
				switch {
				case u.Required[name] && us.Default != "":
					c.add("REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL")
				case u.Required[name]:
					c.add("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
				default:
					c.add("OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL")
				}
			}
		default:
			c.compare(os, us)
		}
		pdone()
	}
	done()
	// dependencies
	done = c.enter("dependencies")
	for _, name := range sortedKeys(o.PropertyDependencies, u.PropertyDependencies) {
		od, oin := o.PropertyDependencies[name]
		ud, uin := u.PropertyDependencies[name]
		switch {
		case !uin:
			c.addAt(name, "DEPENDENCY_ARRAY_REMOVED")
		case !oin:
			c.addAt(name, "DEPENDENCY_ARRAY_ADDED")
		case sameSet(od, ud):
		case containsAll(ud, od):
			c.addAt(name, "DEPENDENCY_ARRAY_EXTENDED")
		case containsAll(od, ud):
			c.addAt(name, "DEPENDENCY_ARRAY_NARROWED")
		default:
			c.addAt(name, "DEPENDENCY_ARRAY_CHANGED")
		}
	}
	for _, name := range sortedKeys(o.SchemaDependencies, u.SchemaDependencies) {
		os, us := o.SchemaDependencies[name], u.SchemaDependencies[name]
		switch {
		case us == nil:
			c.addAt(name, "DEPENDENCY_SCHEMA_REMOVED")
		case os == nil:
			c.addAt(name, "DEPENDENCY_SCHEMA_ADDED")
		default:
			d := c.enter(name)
			c.compare(os, us)
			d()
		}
	}
	done()
	// additionalProperties
	done = c.enter("additionalProperties")
	switch {
	case o.AdditionalProperties != u.AdditionalProperties:
		if u.AdditionalProperties {
			c.add("ADDITIONAL_PROPERTIES_ADDED")
		} else {
			c.add("ADDITIONAL_PROPERTIES_REMOVED")
		}
	case o.AdditionalPropsSchema == nil && u.AdditionalPropsSchema != nil:
		c.add("ADDITIONAL_PROPERTIES_NARROWED")
	case u.AdditionalPropsSchema == nil && o.AdditionalPropsSchema != nil:
		c.add("ADDITIONAL_PROPERTIES_EXTENDED")
	default:
		c.compare(o.AdditionalPropsSchema, u.AdditionalPropsSchema)
	}
	done()
	c.unevaluated("unevaluatedProperties", "UNEVALUATED_PROPERTIES", o.UnevaluatedProperties, u.UnevaluatedProperties)
	c.limit("maxProperties", ratOf(o.MaxProperties), ratOf(u.MaxProperties), "MAX_PROPERTIES")
	c.limit("minProperties", ratOf(o.MinProperties), ratOf(u.MinProperties), "MIN_PROPERTIES")
}

func (c *ctx) unevaluated(attr, prefix string, o, u *Schema) {
	if o == nil && u == nil {
		return
	}
	defer c.enter(attr)()
	switch {
	case o == nil && u.Kind == KindFalse:
		c.add(ChangeType(prefix + "_REMOVED"))
	case o == nil:
		c.add(ChangeType(prefix + "_NARROWED"))
	case u == nil && o.Kind == KindFalse:
		c.add(ChangeType(prefix + "_ADDED"))
	case u == nil:
		c.add(ChangeType(prefix + "_EXTENDED"))
	case o.Kind == KindFalse && u.Kind != KindFalse:
		c.add(ChangeType(prefix + "_ADDED"))
	case o.Kind != KindFalse && u.Kind == KindFalse:
		c.add(ChangeType(prefix + "_REMOVED"))
	case o.Kind.isEmpty() && !u.Kind.isEmpty():
		c.add(ChangeType(prefix + "_NARROWED"))
	case !o.Kind.isEmpty() && u.Kind.isEmpty():
		c.add(ChangeType(prefix + "_EXTENDED"))
	default:
		c.compare(o, u)
	}
}

func arrayOpen(s *Schema) bool {
	if !s.AdditionalItems || s.AdditionalItemsSchema != nil {
		return false
	}
	return s.UnevaluatedItems == nil || s.UnevaluatedItems.Kind.isEmpty()
}

func arrayPartial(s *Schema) *Schema {
	if s.AdditionalItemsSchema != nil {
		return s.AdditionalItemsSchema
	}
	if s.AdditionalItems {
		if u := s.UnevaluatedItems; u != nil && u.Kind != KindFalse && !u.Kind.isEmpty() {
			return u
		}
	}
	return nil
}

func (c *ctx) compareArray(o, u *Schema) {
	done := c.enter("items")
	c.compare(o.AllItems, u.AllItems)
	done()
	n := min(len(o.ItemSchemas), len(u.ItemSchemas))
	for i := 0; i < n; i++ {
		d := c.enter("items/" + strconv.Itoa(i))
		c.compare(o.ItemSchemas[i], u.ItemSchemas[i])
		d()
	}
	for i := n; i < len(o.ItemSchemas); i++ {
		d := c.enter("items/" + strconv.Itoa(i))
		os := o.ItemSchemas[i]
		if arrayOpen(u) {
			c.add("ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL")
		} else if partial := arrayPartial(u); partial != nil {
			s := c.sub()
			s.compare(os, partial)
			c.diffs = append(c.diffs, s.diffs...)
			if s.compatible() {
				c.add("ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			} else {
				c.add("ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			}
		} else if os.Kind == KindFalse {
			c.add("ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL")
		} else {
			c.add("ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL")
		}
		d()
	}
	for i := n; i < len(u.ItemSchemas); i++ {
		d := c.enter("items/" + strconv.Itoa(i))
		us := u.ItemSchemas[i]
		if arrayOpen(o) {
			if deref(us).Kind.isEmpty() {
				c.add("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL")
			} else {
				c.add("ITEM_ADDED_TO_OPEN_CONTENT_MODEL")
			}
		} else if partial := arrayPartial(o); partial != nil {
			s := c.sub()
			s.compare(partial, us)
			c.diffs = append(c.diffs, s.diffs...)
			if s.compatible() {
				c.add("ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			} else {
				c.add("ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL")
			}
		} else {
			c.add("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL")
		}
		d()
	}
	done = c.enter("additionalItems")
	switch {
	case o.AdditionalItems != u.AdditionalItems:
		if o.AdditionalItems {
			c.add("ADDITIONAL_ITEMS_REMOVED")
		} else {
			c.add("ADDITIONAL_ITEMS_ADDED")
		}
	case o.AdditionalItemsSchema == nil && u.AdditionalItemsSchema != nil:
		c.add("ADDITIONAL_ITEMS_NARROWED")
	case u.AdditionalItemsSchema == nil && o.AdditionalItemsSchema != nil:
		c.add("ADDITIONAL_ITEMS_EXTENDED")
	default:
		c.compare(o.AdditionalItemsSchema, u.AdditionalItemsSchema)
	}
	done()
	c.unevaluated("unevaluatedItems", "UNEVALUATED_ITEMS", o.UnevaluatedItems, u.UnevaluatedItems)
	c.limit("maxItems", ratOf(o.MaxItems), ratOf(u.MaxItems), "MAX_ITEMS")
	c.limit("minItems", ratOf(o.MinItems), ratOf(u.MinItems), "MIN_ITEMS")
	if o.UniqueItems != u.UniqueItems {
		if o.UniqueItems {
			c.addAt("uniqueItems", "UNIQUE_ITEMS_REMOVED")
		} else {
			c.addAt("uniqueItems", "UNIQUE_ITEMS_ADDED")
		}
	}
	c.limit("maxContains", ratOf(o.MaxContains), ratOf(u.MaxContains), "MAX_CONTAINS")
	c.limit("minContains", ratOf(o.MinContains), ratOf(u.MinContains), "MIN_CONTAINS")
}

// messageFormats phrase the differences as Confluent's Difference.error()
// does. Confluent never fills in the two %s placeholders (which schema is
// new, which old), and its messages reach clients with them; they are kept
// so that the text matches.
var messageFormats = []struct {
	types  map[ChangeType]bool
	format string
}{
	{set("MAXIMUM_ADDED", "MINIMUM_ADDED", "EXCLUSIVE_MAXIMUM_ADDED", "EXCLUSIVE_MINIMUM_ADDED", "MULTIPLE_OF_ADDED",
		"MAX_LENGTH_ADDED", "MIN_LENGTH_ADDED", "PATTERN_ADDED", "REQUIRED_ATTRIBUTE_ADDED", "MAX_PROPERTIES_ADDED",
		"MIN_PROPERTIES_ADDED", "DEPENDENCY_ARRAY_ADDED", "DEPENDENCY_SCHEMA_ADDED", "MAX_ITEMS_ADDED", "MIN_ITEMS_ADDED",
		"MAX_CONTAINS_ADDED", "MIN_CONTAINS_ADDED", "UNIQUE_ITEMS_ADDED", "ADDITIONAL_ITEMS_REMOVED",
		"ADDITIONAL_PROPERTIES_REMOVED", "UNEVALUATED_PROPERTIES_REMOVED", "UNEVALUATED_ITEMS_REMOVED"),
		"The keyword at path '{path}' in the %s schema is not present in the %s schema"},
	{set("MIN_LENGTH_INCREASED", "MINIMUM_INCREASED", "EXCLUSIVE_MINIMUM_INCREASED", "MIN_PROPERTIES_INCREASED",
		"MULTIPLE_OF_EXPANDED", "MIN_ITEMS_INCREASED", "MIN_CONTAINS_INCREASED"),
		"The value at path '{path}' in the %s schema is more than its value in the %s schema"},
	{set("MAX_LENGTH_DECREASED", "MAXIMUM_DECREASED", "MAX_ITEMS_DECREASED", "MAX_CONTAINS_DECREASED",
		"EXCLUSIVE_MAXIMUM_DECREASED", "MAX_PROPERTIES_DECREASED"),
		"The value at path '{path}' in the %s schema is less than its value in the %s schema"},
	{set("PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED"),
		"The value at path '{path}' is different between the %s and %s schema"},
	{set("ADDITIONAL_ITEMS_NARROWED", "ENUM_ARRAY_NARROWED", "SUM_TYPE_NARROWED", "ADDITIONAL_PROPERTIES_NARROWED",
		"UNEVALUATED_PROPERTIES_NARROWED", "UNEVALUATED_ITEMS_NARROWED"),
		"An array or combined type at path '{path}' has fewer elements in the %s schema than the %s schema"},
	{set("DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED"),
		"An array or combined type at path '{path}' has more elements in the %s schema than the %s schema"},
	{set("TYPE_CHANGED", "TYPE_NARROWED", "COMBINED_TYPE_CHANGED", "COMBINED_TYPE_SUBSCHEMAS_CHANGED", "ENUM_ARRAY_CHANGED"),
		"A type at path '{path}' is different between the %s schema and the %s schema"},
	{set("REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL",
		"OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"),
		"The %s schema has an open content model and has a property or item at path '{path}' which is missing in the %s schema"},
	{set("REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"),
		"The %s schema has an unopen content model and has a required property at path '{path}' which is missing in the %s schema"},
	{set("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL"),
		"The %s has a closed content model and is missing a property or item present at path '{path}' in the %s schema"},
	{set("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"),
		"A property or item is missing in the %s schema but present at path '{path}' in the %s schema and is not covered by its partially open content model"},
	{set("PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"),
		"The %s schema has a property or item at path '{path}' which is missing in the %s schema and is not covered by its partially open content model"},
}

// Message renders the difference as Confluent's Difference.toString, the
// form registry replies carry (quotes as unbalanced as Confluent's).
func (d Difference) Message() string {
	desc := ""
	for _, f := range messageFormats {
		if f.types[d.Type] {
			desc = strings.ReplaceAll(f.format, "{path}", d.Path)
			break
		}
	}
	return "{errorType:\"" + string(d.Type) + "\", description:\"" + desc + "'}"
}
