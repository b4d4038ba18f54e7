package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tributary-io/tributary/schema/avsc"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	"github.com/tributary-io/tributary/schema/registry"
)

// Key types of records in Confluent's _schemas topic.
const (
	KeySchema        = "SCHEMA"
	KeyConfig        = "CONFIG"
	KeyMode          = "MODE"
	KeyDeleteSubject = "DELETE_SUBJECT"
	KeyClearSubject  = "CLEAR_SUBJECT"
	KeyNoop          = "NOOP"
)

// Key is a record key in Confluent's format. A nil Subject on CONFIG and MODE
// keys means the global setting.
type Key struct {
	KeyType string
	Subject *string
	Version int
}

// MarshalJSON writes the key with Confluent's attribute order and magic
// numbers (1 for SCHEMA keys, 0 otherwise); compaction keys on these exact
// bytes, so a key written by Confluent or Karapace must match ours.
func (k Key) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"keytype":`)
	kt, _ := json.Marshal(k.KeyType)
	b.Write(kt)
	if k.KeyType != KeyNoop {
		b.WriteString(`,"subject":`)
		if k.Subject == nil {
			b.WriteString("null")
		} else {
			s, _ := json.Marshal(*k.Subject)
			b.Write(s)
		}
	}
	if k.KeyType == KeySchema {
		fmt.Fprintf(&b, `,"version":%d,"magic":1}`, k.Version)
	} else {
		b.WriteString(`,"magic":0}`)
	}
	return b.Bytes(), nil
}

// UnmarshalJSON reads any Confluent key.
func (k *Key) UnmarshalJSON(data []byte) error {
	var raw struct {
		KeyType string  `json:"keytype"`
		Subject *string `json:"subject"`
		Version int     `json:"version"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*k = Key{KeyType: raw.KeyType, Subject: raw.Subject, Version: raw.Version}
	return nil
}

// SchemaValue is the value of a SCHEMA record.
type SchemaValue struct {
	Subject    string               `json:"subject"`
	Version    int                  `json:"version"`
	ID         int                  `json:"id"`
	SchemaType string               `json:"schemaType,omitempty"`
	References []registry.Reference `json:"references,omitempty"`
	Schema     string               `json:"schema"`
	Deleted    bool                 `json:"deleted"`
}

// ConfigValue is the value of a CONFIG record.
type ConfigValue struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

// ModeValue is the value of a MODE record.
type ModeValue struct {
	Mode string `json:"mode"`
}

// DeleteSubjectValue soft-deletes every version up to Version.
type DeleteSubjectValue struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// ClearSubjectValue drops a subject's soft-deleted versions.
type ClearSubjectValue struct {
	Subject string `json:"subject"`
}

// Record is one message of the log. A nil Value is a tombstone.
type Record struct {
	Key   Key
	Value any
}

func (r Record) encode() (key, value []byte, err error) {
	key, err = json.Marshal(r.Key)
	if err != nil {
		return nil, nil, err
	}
	if r.Value == nil {
		return key, nil, nil
	}
	value, err = json.Marshal(r.Value)
	return key, value, err
}

func strPtr(s string) *string { return &s }

// storedSchema is a schema text known by id, with the forms used to
// recognise re-registrations of the same schema.
type storedSchema struct {
	id         int
	text       string
	schemaType string
	refs       []registry.Reference
	*resolved
}

// resolved is a schema parsed with its references.
type resolved struct {
	// schemaType is AVRO or JSON; parsed is set for the first, json for
	// the second.
	schemaType string
	json       *jsonschema.Document
	proto      *protobuf.Schema
	parsed     *avsc.Schema
	// canonical prints referenced types by name: the text to store.
	canonical string
	// key is canonical plus the references: two registrations are the
	// same schema when their keys are equal.
	key string
	// full inlines the referenced types, so that a schema sent with its
	// references resolved still matches (Confluent's canLookup).
	full string
}

// maxReferenceDepth bounds reference chains, which a hand-written log
// could make circular.
const maxReferenceDepth = 64

// referenceTexts lists the texts of refs and of their own references,
// each after those it depends on and each once; names gets each text's
// reference name.
func (s *State) referenceTexts(refs []registry.Reference, names map[string]string) ([]string, error) {
	var out []string
	seen := map[registry.Reference]bool{}
	var walk func(refs []registry.Reference, depth int) error
	walk = func(refs []registry.Reference, depth int) error {
		if depth > maxReferenceDepth {
			return fmt.Errorf("schema references nest deeper than %d", maxReferenceDepth)
		}
		for _, r := range refs {
			v := s.subjects[r.Subject][r.Version]
			if v == nil {
				return fmt.Errorf("reference %q: version %d of subject %q not found", r.Name, r.Version, r.Subject)
			}
			key := registry.Reference{Subject: r.Subject, Version: r.Version}
			if seen[key] {
				continue
			}
			seen[key] = true
			if err := walk(v.References, depth+1); err != nil {
				return err
			}
			out = append(out, v.Schema)
			if names != nil {
				names[r.Name] = v.Schema
			}
		}
		return nil
	}
	return out, walk(refs, 0)
}

// resolve parses an Avro schema with its references; validate adds
// goavro's compile check for schemas without references, as registration
// of new schemas does.
func (s *State) resolve(schemaType, text string, refs []registry.Reference, validate bool) (*resolved, error) {
	names := map[string]string{}
	texts, err := s.referenceTexts(refs, names)
	if err != nil {
		return nil, err
	}
	var refKey string
	if len(refs) > 0 {
		b, _ := json.Marshal(refs)
		refKey = "\x00" + string(b)
	}
	if schemaType == "PROTOBUF" {
		deps, err := s.protoDependencies(refs)
		if err != nil {
			return nil, err
		}
		p, err := protobuf.Parse(text, deps)
		if err != nil {
			return nil, err
		}
		// Stored as registered: Tributary does not reprint .proto files
		// the way Confluent's canonical form does; sameness is decided on
		// the compiled descriptor.
		key := "PROTOBUF\x00" + p.Canonical + refKey
		return &resolved{schemaType: "PROTOBUF", proto: p, canonical: strings.TrimSpace(text), key: key, full: key}, nil
	}
	if schemaType == "JSON" {
		d, err := jsonschema.Parse(text, names)
		if err != nil {
			return nil, err
		}
		// The type leads the key: the same text as Avro and as JSON
		// Schema are different schemas.
		key := "JSON\x00" + d.Canonical + refKey
		return &resolved{schemaType: "JSON", json: d, canonical: d.Canonical, key: key, full: key}, nil
	}
	var p *avsc.Schema
	var known map[string]bool
	if len(refs) == 0 && validate {
		p, err = avsc.Parse(text)
	} else {
		p, known, err = avsc.ParseReferencing(text, texts)
	}
	if err != nil {
		return nil, err
	}
	r := &resolved{schemaType: "AVRO", parsed: p, canonical: p.CanonicalKnown(known), full: p.Canonical()}
	r.key = r.canonical + refKey
	return r, nil
}

// protoDependencies lists the files a .proto schema's references bring in,
// each under its reference name (the import path), nested ones included.
func (s *State) protoDependencies(refs []registry.Reference) ([]protobuf.Dependency, error) {
	var out []protobuf.Dependency
	seen := map[string]bool{}
	var walk func(refs []registry.Reference, depth int) error
	walk = func(refs []registry.Reference, depth int) error {
		if depth > maxReferenceDepth {
			return fmt.Errorf("schema references nest deeper than %d", maxReferenceDepth)
		}
		for _, r := range refs {
			v := s.subjects[r.Subject][r.Version]
			if v == nil {
				return fmt.Errorf("reference %q: version %d of subject %q not found", r.Name, r.Version, r.Subject)
			}
			if seen[r.Name] {
				continue
			}
			seen[r.Name] = true
			if err := walk(v.References, depth+1); err != nil {
				return err
			}
			out = append(out, protobuf.Dependency{Name: r.Name, Schema: v.Schema, Ref: protobuf.Ref{Subject: r.Subject, Version: r.Version}})
		}
		return nil
	}
	return out, walk(refs, 0)
}

// referrers lists the versions whose schemas reference version of subject,
// soft-deleted ones too when deleted is set.
func (s *State) referrers(subject string, version int, deleted bool) []*SchemaValue {
	var out []*SchemaValue
	for _, vs := range s.subjects {
		for _, v := range vs {
			if v.Deleted && !deleted {
				continue
			}
			for _, r := range v.References {
				if r.Subject == subject && r.Version == version {
					out = append(out, v)
					break
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// State is the registry's content, rebuilt by applying log records in order.
// It is only ever read under the owning store's lock.
type State struct {
	subjects    map[string]map[int]*SchemaValue
	schemas     map[int]*storedSchema
	byCanonical map[string]int
	configs     map[string]string // "" is the global level
	modes       map[string]string // "" is the global mode
	maxID       int
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		subjects:    map[string]map[int]*SchemaValue{},
		schemas:     map[int]*storedSchema{},
		byCanonical: map[string]int{},
		configs:     map[string]string{},
		modes:       map[string]string{},
	}
}

// Apply folds one raw record (as found in the topic) into the state. Records
// this registry does not understand are reported and otherwise ignored, so a
// topic shared with a newer Confluent version still loads.
func (s *State) Apply(key, value []byte) error {
	var k Key
	if err := json.Unmarshal(key, &k); err != nil {
		return fmt.Errorf("record key %q: %w", key, err)
	}
	subject := ""
	if k.Subject != nil {
		subject = *k.Subject
	}
	switch k.KeyType {
	case KeySchema:
		if value == nil {
			s.dropVersion(subject, k.Version)
			return nil
		}
		var v SchemaValue
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("schema record for subject %q version %d: %w", subject, k.Version, err)
		}
		s.putVersion(&v)
	case KeyConfig:
		if value == nil {
			delete(s.configs, subject)
			return nil
		}
		var v ConfigValue
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("config record for subject %q: %w", subject, err)
		}
		s.configs[subject] = v.CompatibilityLevel
	case KeyMode:
		if value == nil {
			delete(s.modes, subject)
			return nil
		}
		var v ModeValue
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("mode record for subject %q: %w", subject, err)
		}
		s.modes[subject] = v.Mode
	case KeyDeleteSubject:
		if value == nil {
			return nil
		}
		var v DeleteSubjectValue
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("delete-subject record for %q: %w", subject, err)
		}
		for ver, sv := range s.subjects[v.Subject] {
			if ver <= v.Version {
				sv.Deleted = true
			}
		}
	case KeyClearSubject:
		if value == nil {
			return nil
		}
		var v ClearSubjectValue
		if err := json.Unmarshal(value, &v); err != nil {
			return fmt.Errorf("clear-subject record for %q: %w", subject, err)
		}
		for ver, sv := range s.subjects[v.Subject] {
			if sv.Deleted {
				s.dropVersion(v.Subject, ver)
			}
		}
	case KeyNoop:
	default:
		return fmt.Errorf("unknown record key type %q", k.KeyType)
	}
	return nil
}

func (s *State) putVersion(v *SchemaValue) {
	vs := s.subjects[v.Subject]
	if vs == nil {
		vs = map[int]*SchemaValue{}
		s.subjects[v.Subject] = vs
	}
	vs[v.Version] = v
	if v.ID > s.maxID {
		s.maxID = v.ID
	}
	if _, ok := s.schemas[v.ID]; ok {
		return
	}
	st := &storedSchema{id: v.ID, text: v.Schema, schemaType: v.SchemaType, refs: v.References}
	if t := normalType(v.SchemaType); t == "AVRO" || t == "JSON" || t == "PROTOBUF" {
		// Schemas another registry accepted but we cannot parse stay
		// fetchable by id; they just never match a lookup by content.
		if r, err := s.resolve(t, v.Schema, v.References, false); err == nil {
			st.resolved = r
			if _, dup := s.byCanonical[r.key]; !dup {
				s.byCanonical[r.key] = v.ID
			}
		}
	}
	s.schemas[v.ID] = st
}

func (s *State) dropVersion(subject string, version int) {
	vs := s.subjects[subject]
	delete(vs, version)
	if len(vs) == 0 {
		delete(s.subjects, subject)
	}
}

func isAvro(schemaType string) bool { return schemaType == "" || schemaType == "AVRO" }

// normalType spells a schemaType as the registry stores it, AVRO for none.
func normalType(schemaType string) string {
	if t := strings.ToUpper(schemaType); t != "" {
		return t
	}
	return "AVRO"
}

// versions lists a subject's versions in order, optionally with soft-deleted ones.
func (s *State) versions(subject string, deleted bool) []*SchemaValue {
	var out []*SchemaValue
	for _, v := range s.subjects[subject] {
		if deleted || !v.Deleted {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

func (s *State) subjectNames(deleted bool) []string {
	out := []string{}
	for name := range s.subjects {
		if len(s.versions(name, deleted)) > 0 {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// latestVersion is the highest version number ever used by the subject that
// is still in the log, deleted or not; new versions continue after it.
func (s *State) latestVersion(subject string) int {
	max := 0
	for v := range s.subjects[subject] {
		if v > max {
			max = v
		}
	}
	return max
}

// idUsers lists the versions that use a schema id.
func (s *State) idUsers(id int, deleted bool) []registry.SubjectVersionRef {
	var out []registry.SubjectVersionRef
	for name, vs := range s.subjects {
		for _, v := range vs {
			if v.ID == id && (deleted || !v.Deleted) {
				out = append(out, registry.SubjectVersionRef{Subject: name, Version: v.Version})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Subject != out[j].Subject {
			return out[i].Subject < out[j].Subject
		}
		return out[i].Version < out[j].Version
	})
	return out
}
