// Package server implements Confluent Schema Registry's REST API for Avro
// schemas on top of a Store: in memory for tests, or the Kafka _schemas topic
// in Confluent's own record format, so that it can share that topic with
// Confluent Schema Registry or Karapace.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/tributary-io/tributary/schema/avsc"
	"github.com/tributary-io/tributary/schema/compat"
	"github.com/tributary-io/tributary/schema/jsonschema"
	"github.com/tributary-io/tributary/schema/protobuf"
	"github.com/tributary-io/tributary/schema/registry"
)

// DefaultCompatibility applies when neither the subject nor the registry has
// a level configured, as in Confluent.
const DefaultCompatibility = compat.Backward

// GroupID is what /v1/metadata/id reports as the schema registry cluster:
// Confluent's default schema.registry.group.id.
const GroupID = "schema-registry"

// Server is an http.Handler serving the Confluent Schema Registry API.
type Server struct {
	store Store
	log   *slog.Logger
	mux   *http.ServeMux
	// incompatibleCode is the error_code of a 409 reply to an
	// incompatible schema.
	incompatibleCode int
	// writeMu makes "read state, decide, append" atomic for this instance.
	// Several instances writing one topic at once could still race; Confluent
	// avoids that with leader election, which Tributary does not implement.
	writeMu sync.Mutex
}

// Option configures a Server.
type Option func(*Server)

// WithLegacyIncompatibleErrorCode answers incompatible registrations with
// error_code 409, as Confluent Schema Registry 8.1 and earlier did, instead
// of 40901 (8.2 and later); the HTTP status is 409 either way. Clients that
// compare error_code with 409 (rather than the HTTP status) need it.
func WithLegacyIncompatibleErrorCode() Option {
	return func(s *Server) { s.incompatibleCode = registry.CodeIncompatibleSchemaLegacy }
}

// NewServer returns a registry serving store's content.
func NewServer(store Store, logger *slog.Logger, opts ...Option) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: store, log: logger, mux: http.NewServeMux(), incompatibleCode: registry.CodeIncompatibleSchema}
	for _, o := range opts {
		o(s)
	}
	routes := map[string]http.HandlerFunc{
		"GET /{$}":                                                  s.root,
		"GET /subjects":                                             s.listSubjects,
		"GET /subjects/{subject}/versions":                          s.listVersions,
		"POST /subjects/{subject}/versions":                         s.register,
		"GET /subjects/{subject}/versions/{version}":                s.getVersion,
		"GET /subjects/{subject}/versions/{version}/schema":         s.getVersionSchema,
		"GET /subjects/{subject}/versions/{version}/referencedby":   s.referencedBy,
		"POST /subjects/{subject}":                                  s.lookup,
		"DELETE /subjects/{subject}":                                s.deleteSubject,
		"DELETE /subjects/{subject}/versions/{version}":             s.deleteVersion,
		"GET /schemas":                                              s.listSchemas,
		"GET /schemas/ids/{id}":                                     s.schemaByID,
		"GET /schemas/ids/{id}/schema":                              s.rawSchemaByID,
		"GET /schemas/ids/{id}/versions":                            s.idVersions,
		"GET /schemas/ids/{id}/subjects":                            s.idSubjects,
		"GET /schemas/types":                                        s.schemaTypes,
		"GET /config":                                               s.getGlobalConfig,
		"PUT /config":                                               s.putGlobalConfig,
		"DELETE /config":                                            s.deleteGlobalConfig,
		"GET /v1/metadata/id":                                       s.metadataID,
		"GET /v1/metadata/version":                                  s.metadataVersion,
		"GET /config/{subject}":                                     s.getSubjectConfig,
		"PUT /config/{subject}":                                     s.putSubjectConfig,
		"DELETE /config/{subject}":                                  s.deleteSubjectConfig,
		"POST /compatibility/subjects/{subject}/versions/{version}": s.testCompatibility,
		"POST /compatibility/subjects/{subject}/versions":           s.testCompatibility,
		"GET /mode":                                                 s.getGlobalMode,
		"PUT /mode":                                                 s.putGlobalMode,
		"GET /mode/{subject}":                                       s.getSubjectMode,
		"PUT /mode/{subject}":                                       s.putSubjectMode,
		"DELETE /mode/{subject}":                                    s.deleteSubjectMode,
		"/":                                                         s.notFound,
	}
	for pattern, h := range routes {
		s.mux.HandleFunc(pattern, h)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", registry.ContentType)
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("write reply", "err", err)
	}
}

func (s *Server) ok(w http.ResponseWriter, v any) { s.reply(w, http.StatusOK, v) }

func (s *Server) fail(w http.ResponseWriter, code int, format string, args ...any) {
	s.reply(w, registry.HTTPStatus(code), registry.Error{Code: code, Message: fmt.Sprintf(format, args...)})
}

// storeFailed reports an Append error; they are the only 5xx this server gives.
func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("schema registry store write failed", "method", r.Method, "path", r.URL.Path, "err", err)
	code := registry.CodeStoreError
	if errors.Is(err, errStoreTimeout) {
		code = registry.CodeStoreTimeout
	}
	s.fail(w, code, "Error while writing to the schema store: %v", err)
}

// sync brings the state up to the log's end before a write decision.
func (s *Server) sync(w http.ResponseWriter, r *http.Request) bool {
	if err := s.store.Sync(r.Context()); err != nil {
		s.storeFailed(w, r, fmt.Errorf("catch up with the schema log: %w", err))
		return false
	}
	return true
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, http.StatusNotFound, "HTTP 404 Not Found")
}

func (s *Server) root(w http.ResponseWriter, r *http.Request) { s.ok(w, struct{}{}) }

func queryFlag(r *http.Request, name string) bool {
	v, _ := strconv.ParseBool(r.URL.Query().Get(name))
	return v
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		w.Header().Set("Content-Type", registry.ContentType)
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(registry.Error{Code: http.StatusBadRequest, Message: "Invalid request body: " + err.Error()})
		return false
	}
	return true
}

// parseVersion accepts what Confluent accepts: "latest", -1 (also latest) or
// a positive 32-bit number.
func parseVersion(v string) (n int, latest bool, ok bool) {
	if v == "latest" {
		return 0, true, true
	}
	i, err := strconv.Atoi(v)
	if err != nil || i == 0 || i < -1 || i > math.MaxInt32 {
		return 0, false, false
	}
	if i == -1 {
		return 0, true, true
	}
	return i, false, true
}

func (s *Server) invalidVersion(w http.ResponseWriter, v string) {
	s.fail(w, registry.CodeInvalidVersion,
		"The specified version '%s' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\"", v)
}

// validSubject applies Confluent's QualifiedSubject.isValidSubject: no ISO
// control characters, not one of the reserved names. Subjects qualified with
// a schema context (":.ctx:name") are refused too, with a message saying
// so, because this registry keeps a single context. On failure it has
// replied.
func (s *Server) validSubject(w http.ResponseWriter, subject string) bool {
	bad := subject == "__GLOBAL" || subject == "__EMPTY" || strings.IndexFunc(subject, unicode.IsControl) >= 0
	if bad {
		s.fail(w, registry.CodeInvalidSubject, "The specified subject '%s' is not a valid.", subject)
		return false
	}
	if strings.HasPrefix(subject, ":.") {
		s.fail(w, registry.CodeInvalidSubject,
			"The specified subject '%s' is not a valid. Schema contexts (subjects starting with \":.\") are not supported by this registry", subject)
		return false
	}
	return true
}

// refuseNormalize answers ?normalize=true, which this registry does not
// implement; on refusal it has replied.
func (s *Server) refuseNormalize(w http.ResponseWriter, r *http.Request) bool {
	if !queryFlag(r, "normalize") {
		return false
	}
	s.fail(w, registry.CodeOperationNotPermitted,
		"normalize=true is not supported by this registry: schemas are compared by their canonical form and stored as registered")
	return true
}

func (s *Server) subjectNotFound(w http.ResponseWriter, subject string) {
	s.fail(w, registry.CodeSubjectNotFound, "Subject '%s' not found.", subject)
}

func versionResponse(st *State, v *SchemaValue) registry.SubjectVersion {
	out := registry.SubjectVersion{Subject: v.Subject, Version: v.Version, ID: v.ID, Schema: v.Schema, References: v.References, Deleted: v.Deleted}
	if !isAvro(v.SchemaType) {
		out.SchemaType = v.SchemaType
	}
	if sch := st.schemas[v.ID]; sch != nil {
		out.Schema = sch.text
	}
	return out
}

func (s *Server) listSubjects(w http.ResponseWriter, r *http.Request) {
	var out []string
	s.store.Read(func(st *State) { out = st.subjectNames(queryFlag(r, "deleted")) })
	s.ok(w, out)
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	out := []int{}
	s.store.Read(func(st *State) {
		for _, v := range st.versions(subject, queryFlag(r, "deleted")) {
			out = append(out, v.Version)
		}
	})
	if len(out) == 0 {
		s.subjectNotFound(w, subject)
		return
	}
	s.ok(w, out)
}

// findVersion resolves a version path parameter; on failure it has already
// written the error reply.
func (s *Server) findVersion(w http.ResponseWriter, st *State, subject, version string, deleted bool) *SchemaValue {
	n, latest, ok := parseVersion(version)
	if !ok {
		s.invalidVersion(w, version)
		return nil
	}
	vs := st.versions(subject, deleted)
	if len(vs) == 0 {
		s.subjectNotFound(w, subject)
		return nil
	}
	if latest {
		return vs[len(vs)-1]
	}
	for _, v := range vs {
		if v.Version == n {
			return v
		}
	}
	s.fail(w, registry.CodeVersionNotFound, "Version %d not found.", n)
	return nil
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) {
	s.store.Read(func(st *State) {
		if v := s.findVersion(w, st, r.PathValue("subject"), r.PathValue("version"), queryFlag(r, "deleted")); v != nil {
			s.ok(w, versionResponse(st, v))
		}
	})
}

func (s *Server) getVersionSchema(w http.ResponseWriter, r *http.Request) {
	s.store.Read(func(st *State) {
		if v := s.findVersion(w, st, r.PathValue("subject"), r.PathValue("version"), queryFlag(r, "deleted")); v != nil {
			w.Header().Set("Content-Type", registry.ContentType)
			_, _ = io.WriteString(w, versionResponse(st, v).Schema)
		}
	})
}

// referencedBy lists the ids of the schemas that reference a version, as
// Confluent's getReferencedBy does (soft-deleted referrers with ?deleted=true).
func (s *Server) referencedBy(w http.ResponseWriter, r *http.Request) {
	deleted := queryFlag(r, "deleted")
	s.store.Read(func(st *State) {
		if v := s.findVersion(w, st, r.PathValue("subject"), r.PathValue("version"), deleted); v != nil {
			ids := []int{}
			for _, ref := range st.referrers(v.Subject, v.Version, deleted) {
				if len(ids) == 0 || ids[len(ids)-1] != ref.ID {
					ids = append(ids, ref.ID)
				}
			}
			s.ok(w, ids)
		}
	})
}

// referenceExists answers a deletion of a referenced version with
// Confluent's RestReferenceExistsException.
func (s *Server) referenceExists(w http.ResponseWriter, subject string, version int) {
	s.fail(w, registry.CodeReferenceExists, "One or more references exist to the schema {magic=1,keytype=SCHEMA,subject=%s,version=%d}.", subject, version)
}

// checkRequestSchema validates what a registration, lookup or
// compatibility body can be checked for without the registry's content.
func (s *Server) checkRequestSchema(w http.ResponseWriter, req *registry.RegisterRequest) bool {
	if t := normalType(req.SchemaType); t != "AVRO" && t != "JSON" && t != "PROTOBUF" {
		s.fail(w, registry.CodeInvalidSchema, "Invalid schema type %s", req.SchemaType)
		return false
	}
	if strings.TrimSpace(req.Schema) == "" {
		s.fail(w, registry.CodeInvalidSchema, "Empty schema")
		return false
	}
	for _, ref := range req.References {
		if ref.Name == "" || ref.Subject == "" || (ref.Version < 1 && ref.Version != -1) {
			s.fail(w, registry.CodeInvalidSchema, "Invalid schema %s: reference %+v needs a name, a subject and a version (-1 for the latest)", req.Schema, ref)
			return false
		}
	}
	return true
}

// resolveRequest parses the request's schema with its references, pinning
// references to "latest" (-1) to that version's number; on failure it has
// replied.
func (s *Server) resolveRequest(w http.ResponseWriter, st *State, req *registry.RegisterRequest) *resolved {
	for i, ref := range req.References {
		if ref.Version == -1 {
			vs := st.versions(ref.Subject, false)
			if len(vs) == 0 {
				s.fail(w, registry.CodeInvalidSchema, "Invalid schema %s: reference %q: subject %q not found", req.Schema, ref.Name, ref.Subject)
				return nil
			}
			req.References[i].Version = vs[len(vs)-1].Version
		}
	}
	r, err := st.resolve(normalType(req.SchemaType), req.Schema, req.References, true)
	if err != nil {
		s.fail(w, registry.CodeInvalidSchema, "Invalid schema %s: %v", req.Schema, err)
		return nil
	}
	return r
}

func modeOf(st *State, subject string) string {
	if m, ok := st.modes[subject]; ok && subject != "" {
		return m
	}
	if m, ok := st.modes[""]; ok {
		return m
	}
	return registry.ModeReadWrite
}

func levelOf(st *State, subject string) compat.Level {
	if l, ok := st.configs[subject]; ok && subject != "" {
		return compat.Level(l)
	}
	if l, ok := st.configs[""]; ok {
		return compat.Level(l)
	}
	return DefaultCompatibility
}

// compatibilityMessages renders violations the way Confluent's verbose
// replies and 409 details do.
func compatibilityMessages(level compat.Level, violations []compat.Violation, olds []*SchemaValue) []string {
	var out []string
	seen := map[int]bool{}
	for _, v := range violations {
		out = append(out, fmt.Sprintf("{errorType:'%s', description:'%s', additionalInfo:'%s'}", v.Type, v.Describe(), v.Message))
		if old := olds[v.Previous]; !seen[old.Version] {
			seen[old.Version] = true
			out = append(out, fmt.Sprintf("{oldSchemaVersion: %d}", old.Version), fmt.Sprintf("{oldSchema: '%s'}", old.Schema))
		}
	}
	if len(out) > 0 {
		out = append(out, fmt.Sprintf("{compatibility: '%s'}", level))
	}
	return out
}

// checkAgainst runs the level's checks of cand against olds (oldest first),
// skipping stored schemas this registry cannot parse.
func checkAgainst(st *State, level compat.Level, cand *resolved, olds []*SchemaValue) ([]string, error) {
	if _, err := compat.ParseLevel(string(level)); err != nil {
		return nil, err
	}
	var kept []*SchemaValue
	var prev []*resolved
	for _, o := range olds {
		if sch := st.schemas[o.ID]; sch != nil && sch.resolved != nil {
			kept = append(kept, o)
			prev = append(prev, sch.resolved)
		}
	}
	sameType := true
	for _, p := range prev {
		sameType = sameType && p.schemaType == cand.schemaType
	}
	if cand.schemaType == "AVRO" && sameType {
		parsed := make([]*avsc.Schema, len(prev))
		for i, p := range prev {
			parsed[i] = p.parsed
		}
		vs, err := compat.CheckLevel(level, cand.parsed, parsed)
		if err != nil {
			return nil, err
		}
		return compatibilityMessages(level, vs, kept), nil
	}
	return checkOtherTypes(level, cand, prev, kept), nil
}

// protoMessages checks one earlier version at a level, with Confluent's
// ProtobufSchema.isBackwardCompatible (the diff from the old schema to the
// new) and its reverse for forward.
func protoMessages(level compat.Level, cand, prev *protobuf.Schema) []string {
	name := string(level)
	var out []string
	if strings.HasPrefix(name, "BACKWARD") || strings.HasPrefix(name, "FULL") {
		for _, d := range protobuf.Incompatibilities(prev, cand) {
			out = append(out, d.Message())
		}
	}
	if strings.HasPrefix(name, "FORWARD") || strings.HasPrefix(name, "FULL") {
		for _, d := range protobuf.Incompatibilities(cand, prev) {
			out = append(out, d.Message())
		}
	}
	return out
}

// checkOtherTypes applies a level to JSON Schema, with the messages of
// Confluent's JsonSchema.isBackwardCompatible; a version of another type is
// never compatible.
func checkOtherTypes(level compat.Level, cand *resolved, prev []*resolved, olds []*SchemaValue) []string {
	if level == compat.None || len(prev) == 0 {
		return nil
	}
	first := len(prev) - 1
	if level.Transitive() {
		first = 0
	}
	var out []string
	for i := len(prev) - 1; i >= first; i-- {
		var msgs []string
		if prev[i].schemaType != cand.schemaType {
			msgs = append(msgs, "Incompatible because of different schema type")
		} else if cand.schemaType == "PROTOBUF" {
			msgs = protoMessages(level, cand.proto, prev[i].proto)
		} else {
			// One version at a time, so that each version's messages
			// are followed by its number, as in Confluent's replies.
			vs, _ := jsonschema.CheckLevel(level, cand.json.Root, []*jsonschema.Schema{prev[i].json.Root})
			for _, v := range vs {
				msgs = append(msgs, v.Message())
			}
		}
		if len(msgs) > 0 {
			out = append(out, msgs...)
			out = append(out, fmt.Sprintf("{oldSchemaVersion: %d}", olds[i].Version), fmt.Sprintf("{oldSchema: '%s'}", olds[i].Schema))
		}
	}
	if len(out) > 0 {
		out = append(out, fmt.Sprintf("{compatibility: '%s'}", level))
	}
	return out
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	// force skips the compatibility check outside IMPORT mode, as in
	// Confluent's KafkaSchemaRegistry.register; modes still apply.
	force := queryFlag(r, "force")
	var req registry.RegisterRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !s.validSubject(w, subject) || s.refuseNormalize(w, r) || !s.checkRequestSchema(w, &req) {
		return
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	var (
		rec      *SchemaValue
		existing = -1
		failed   bool
	)
	s.store.Read(func(st *State) {
		mode := modeOf(st, subject)
		if mode == registry.ModeReadOnly {
			s.fail(w, registry.CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
			failed = true
			return
		}
		res := s.resolveRequest(w, st, &req)
		if res == nil {
			failed = true
			return
		}
		live := st.versions(subject, false)
		// The same schema, or the same one sent with its references
		// inlined (KafkaSchemaRegistry.register's canLookup pass).
		for _, same := range []func(*storedSchema) bool{
			func(sch *storedSchema) bool { return sch.key == res.key },
			func(sch *storedSchema) bool { return sch.full == res.full },
		} {
			for _, v := range live {
				if sch := st.schemas[v.ID]; sch != nil && sch.resolved != nil && same(sch) && (req.ID == 0 || req.ID == v.ID) {
					existing = v.ID
					return
				}
			}
		}
		if mode != registry.ModeImport {
			if req.ID != 0 || req.Version != 0 {
				s.fail(w, registry.CodeOperationNotPermitted, "Subject %s is not in import mode; id and version may not be given", subject)
				failed = true
				return
			}
			level := levelOf(st, subject)
			if force {
				level = compat.None
			}
			msgs, err := checkAgainst(st, level, res, live)
			if err != nil {
				s.fail(w, registry.CodeInvalidCompatibilityLevel, "Invalid compatibility level %q configured for subject %s", level, subject)
				failed = true
				return
			}
			if len(msgs) > 0 {
				s.fail(w, s.incompatibleCode,
					"Schema being registered is incompatible with an earlier schema for subject \"%s\", details: [%s]", subject, strings.Join(msgs, ", "))
				failed = true
				return
			}
		}
		rec = &SchemaValue{Subject: subject, Schema: res.canonical, References: req.References}
		if res.schemaType != "AVRO" {
			rec.SchemaType = res.schemaType
		}
		switch id, known := st.byCanonical[res.key]; {
		case req.ID != 0:
			if other := st.schemas[req.ID]; other != nil && (other.resolved == nil || other.key != res.key) {
				s.fail(w, registry.CodeOperationNotPermitted, "Overwrite new schema with id %d is not permitted.", req.ID)
				failed = true
				return
			}
			rec.ID = req.ID
		case known:
			rec.ID = id
		default:
			rec.ID = st.maxID + 1
		}
		if sch := st.schemas[rec.ID]; sch != nil {
			// Keep one text per id, whichever registry wrote it first.
			rec.Schema = sch.text
		}
		rec.Version = st.latestVersion(subject) + 1
		if req.Version != 0 {
			if _, taken := st.subjects[subject][req.Version]; taken {
				s.fail(w, registry.CodeOperationNotPermitted, "Version %d of subject %s already exists", req.Version, subject)
				failed = true
				return
			}
			rec.Version = req.Version
		}
	})
	if failed {
		return
	}
	if existing >= 0 {
		s.ok(w, registry.RegisterResponse{ID: existing})
		return
	}
	if err := s.store.Append(r.Context(), Record{Key{KeySchema, strPtr(subject), rec.Version}, rec}); err != nil {
		s.storeFailed(w, r, fmt.Errorf("register subject %s version %d: %w", subject, rec.Version, err))
		return
	}
	s.log.Info("schema registered", "subject", subject, "version", rec.Version, "id", rec.ID)
	s.ok(w, registry.RegisterResponse{ID: rec.ID})
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	var req registry.RegisterRequest
	if !decodeBody(w, r, &req) || s.refuseNormalize(w, r) || !s.checkRequestSchema(w, &req) {
		return
	}
	s.store.Read(func(st *State) {
		vs := st.versions(subject, queryFlag(r, "deleted"))
		if len(vs) == 0 {
			s.subjectNotFound(w, subject)
			return
		}
		res := s.resolveRequest(w, st, &req)
		if res == nil {
			return
		}
		// As in Confluent's lookUpSchemaUnderSubject: the same schema
		// and references, else the same schema with references inlined
		// (Confluent's own tests look up with an empty reference list).
		for _, same := range []func(*storedSchema) bool{
			func(sch *storedSchema) bool { return sch.key == res.key },
			func(sch *storedSchema) bool { return sch.full == res.full },
		} {
			for i := len(vs) - 1; i >= 0; i-- {
				if sch := st.schemas[vs[i].ID]; sch != nil && sch.resolved != nil && same(sch) {
					s.ok(w, versionResponse(st, vs[i]))
					return
				}
			}
		}
		s.fail(w, registry.CodeSchemaNotFound, "Schema not found")
	})
}

func (s *Server) deleteSubject(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	permanent := queryFlag(r, "permanent")
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	var recs []Record
	deleted := []int{}
	failed := false
	s.store.Read(func(st *State) {
		all := st.versions(subject, true)
		live := st.versions(subject, false)
		switch {
		case len(all) == 0:
			s.subjectNotFound(w, subject)
			failed = true
			return
		case modeOf(st, subject) == registry.ModeReadOnly:
			s.fail(w, registry.CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
			failed = true
			return
		case !permanent && len(live) == 0:
			s.fail(w, registry.CodeSubjectSoftDeleted, "Subject '%s' was soft deleted.Set permanent=true to delete permanently", subject)
			failed = true
			return
		case permanent && len(live) > 0:
			s.fail(w, registry.CodeSubjectNotSoftDeleted, "Subject '%s' was not deleted first before being permanently deleted", subject)
			failed = true
			return
		}
		// References from the subject's own versions do not count, as in
		// KafkaSchemaRegistry.deleteSubject.
		targets := live
		if permanent {
			targets = all
		}
		for _, v := range targets {
			for _, ref := range st.referrers(subject, v.Version, permanent) {
				if ref.Subject != subject {
					s.referenceExists(w, subject, v.Version)
					failed = true
					return
				}
			}
		}
		if !permanent {
			for _, v := range live {
				deleted = append(deleted, v.Version)
				nv := *v
				nv.Deleted = true
				recs = append(recs, Record{Key{KeySchema, strPtr(subject), v.Version}, &nv})
			}
			recs = append(recs, Record{Key{KeyDeleteSubject, strPtr(subject), 0},
				DeleteSubjectValue{Subject: subject, Version: all[len(all)-1].Version}})
			return
		}
		for _, v := range all {
			deleted = append(deleted, v.Version)
			recs = append(recs, Record{Key{KeySchema, strPtr(subject), v.Version}, nil})
		}
		recs = append(recs, Record{Key{KeyClearSubject, strPtr(subject), 0}, ClearSubjectValue{Subject: subject}})
		// A permanently deleted subject forgets its settings too.
		if _, ok := st.configs[subject]; ok {
			recs = append(recs, Record{Key{KeyConfig, strPtr(subject), 0}, nil})
		}
		if _, ok := st.modes[subject]; ok {
			recs = append(recs, Record{Key{KeyMode, strPtr(subject), 0}, nil})
		}
	})
	if failed {
		return
	}
	if err := s.store.Append(r.Context(), recs...); err != nil {
		s.storeFailed(w, r, fmt.Errorf("delete subject %s: %w", subject, err))
		return
	}
	s.log.Info("subject deleted", "subject", subject, "permanent", permanent, "versions", deleted)
	s.ok(w, deleted)
}

func (s *Server) deleteVersion(w http.ResponseWriter, r *http.Request) {
	subject, version := r.PathValue("subject"), r.PathValue("version")
	permanent := queryFlag(r, "permanent")
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	var rec Record
	var target int
	failed := true
	s.store.Read(func(st *State) {
		if modeOf(st, subject) == registry.ModeReadOnly {
			s.fail(w, registry.CodeOperationNotPermitted, "Subject %s is in read-only mode", subject)
			return
		}
		// A numbered version is found even when soft-deleted, so that the
		// reply can say so; "latest" means the latest live one unless the
		// deletion is permanent.
		_, latest, _ := parseVersion(version)
		v := s.findVersion(w, st, subject, version, permanent || !latest)
		if v == nil {
			return
		}
		target = v.Version
		switch {
		case !permanent && v.Deleted:
			s.fail(w, registry.CodeSchemaVersionSoftDeleted, "Subject '%s' Version %d was soft deleted.Set permanent=true to delete permanently", subject, v.Version)
			return
		case len(st.referrers(subject, v.Version, permanent)) > 0:
			// A soft delete is refused while live schemas reference the
			// version, a permanent one while any does.
			s.referenceExists(w, subject, v.Version)
			return
		case permanent && !v.Deleted:
			s.fail(w, registry.CodeSchemaVersionNotSoftDeleted, "Subject '%s' Version %d was not deleted first before being permanently deleted", subject, v.Version)
			return
		case permanent:
			rec = Record{Key{KeySchema, strPtr(subject), v.Version}, nil}
		default:
			nv := *v
			nv.Deleted = true
			rec = Record{Key{KeySchema, strPtr(subject), v.Version}, &nv}
		}
		failed = false
	})
	if failed {
		return
	}
	if err := s.store.Append(r.Context(), rec); err != nil {
		s.storeFailed(w, r, fmt.Errorf("delete subject %s version %d: %w", subject, target, err))
		return
	}
	s.log.Info("schema version deleted", "subject", subject, "version", target, "permanent", permanent)
	s.ok(w, target)
}

// schemaForID resolves /schemas/ids/{id}; on failure it has replied.
func (s *Server) schemaForID(w http.ResponseWriter, r *http.Request, st *State) *storedSchema {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return nil
	}
	sch := st.schemas[id]
	users := st.idUsers(id, true)
	if sub := r.URL.Query().Get("subject"); sub != "" {
		kept := users[:0]
		for _, u := range users {
			if u.Subject == sub {
				kept = append(kept, u)
			}
		}
		users = kept
	}
	if sch == nil || len(users) == 0 {
		s.fail(w, registry.CodeSchemaNotFound, "Schema %d not found", id)
		return nil
	}
	return sch
}

func (s *Server) schemaByID(w http.ResponseWriter, r *http.Request) {
	s.store.Read(func(st *State) {
		sch := s.schemaForID(w, r, st)
		if sch == nil {
			return
		}
		out := registry.SchemaResponse{Schema: sch.text, References: sch.refs}
		if !isAvro(sch.schemaType) {
			out.SchemaType = sch.schemaType
		}
		if queryFlag(r, "fetchMaxId") {
			m := st.maxID
			out.MaxID = &m
		}
		s.ok(w, out)
	})
}

func (s *Server) rawSchemaByID(w http.ResponseWriter, r *http.Request) {
	s.store.Read(func(st *State) {
		if sch := s.schemaForID(w, r, st); sch != nil {
			w.Header().Set("Content-Type", registry.ContentType)
			_, _ = io.WriteString(w, sch.text)
		}
	})
}

func (s *Server) idVersions(w http.ResponseWriter, r *http.Request) {
	s.store.Read(func(st *State) {
		if sch := s.schemaForID(w, r, st); sch != nil {
			out := st.idUsers(sch.id, queryFlag(r, "deleted"))
			if out == nil {
				out = []registry.SubjectVersionRef{}
			}
			s.ok(w, out)
		}
	})
}

func (s *Server) idSubjects(w http.ResponseWriter, r *http.Request) {
	s.store.Read(func(st *State) {
		if sch := s.schemaForID(w, r, st); sch != nil {
			out := []string{}
			for _, u := range st.idUsers(sch.id, queryFlag(r, "deleted")) {
				if len(out) == 0 || out[len(out)-1] != u.Subject {
					out = append(out, u.Subject)
				}
			}
			s.ok(w, out)
		}
	})
}

func (s *Server) schemaTypes(w http.ResponseWriter, r *http.Request) {
	s.ok(w, []string{"AVRO", "JSON", "PROTOBUF"})
}

func (s *Server) getGlobalConfig(w http.ResponseWriter, r *http.Request) {
	var level compat.Level
	s.store.Read(func(st *State) { level = levelOf(st, "") })
	s.ok(w, registry.ConfigResponse{CompatibilityLevel: string(level)})
}

func (s *Server) putConfig(w http.ResponseWriter, r *http.Request, subject *string) {
	var req registry.ConfigRequest
	if !decodeBody(w, r, &req) {
		return
	}
	level, err := compat.ParseLevel(req.Compatibility)
	if err != nil {
		s.fail(w, registry.CodeInvalidCompatibilityLevel,
			"Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive")
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	if err := s.store.Append(r.Context(), Record{Key{KeyConfig, subject, 0}, ConfigValue{string(level)}}); err != nil {
		s.storeFailed(w, r, fmt.Errorf("set compatibility level: %w", err))
		return
	}
	s.ok(w, registry.ConfigRequest{Compatibility: string(level)})
}

func (s *Server) putGlobalConfig(w http.ResponseWriter, r *http.Request) { s.putConfig(w, r, nil) }

func (s *Server) putSubjectConfig(w http.ResponseWriter, r *http.Request) {
	if s.validSubject(w, r.PathValue("subject")) {
		s.putConfig(w, r, strPtr(r.PathValue("subject")))
	}
}

// deleteGlobalConfig drops the global level, so that the default applies
// again, and answers the level that was in force, as Confluent does.
func (s *Server) deleteGlobalConfig(w http.ResponseWriter, r *http.Request) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	var prev compat.Level
	var set bool
	s.store.Read(func(st *State) {
		prev = levelOf(st, "")
		_, set = st.configs[""]
	})
	if set {
		if err := s.store.Append(r.Context(), Record{Key{KeyConfig, nil, 0}, nil}); err != nil {
			s.storeFailed(w, r, fmt.Errorf("delete the global compatibility level: %w", err))
			return
		}
	}
	s.ok(w, registry.ConfigResponse{CompatibilityLevel: string(prev)})
}

func (s *Server) getSubjectConfig(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.store.Read(func(st *State) {
		if l, ok := st.configs[subject]; ok {
			s.ok(w, registry.ConfigResponse{CompatibilityLevel: l})
			return
		}
		if queryFlag(r, "defaultToGlobal") {
			s.ok(w, registry.ConfigResponse{CompatibilityLevel: string(levelOf(st, ""))})
			return
		}
		s.fail(w, registry.CodeSubjectCompatibilityNotFound, "Subject '%s' does not have subject-level compatibility configured", subject)
	})
}

func (s *Server) deleteSubjectConfig(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	var prev string
	var found bool
	s.store.Read(func(st *State) {
		prev, found = st.configs[subject]
		if !found && len(st.subjects[subject]) > 0 {
			prev, found = string(levelOf(st, "")), true
		}
	})
	if !found {
		s.subjectNotFound(w, subject)
		return
	}
	if err := s.store.Append(r.Context(), Record{Key{KeyConfig, strPtr(subject), 0}, nil}); err != nil {
		s.storeFailed(w, r, fmt.Errorf("delete compatibility level of subject %s: %w", subject, err))
		return
	}
	s.ok(w, registry.ConfigResponse{CompatibilityLevel: prev})
}

// testCompatibility follows Confluent's CompatibilityResource: against an
// explicit version ("latest" included) only that version is checked, even at
// a transitive level; without a version every live version is offered and
// the level picks (the latest, or all when transitive), as a registration
// would.
func (s *Server) testCompatibility(w http.ResponseWriter, r *http.Request) {
	subject, version := r.PathValue("subject"), r.PathValue("version")
	all := version == ""
	var n int
	var latest bool
	if !all {
		var ok bool
		if n, latest, ok = parseVersion(version); !ok {
			s.invalidVersion(w, version)
			return
		}
	}
	var req registry.RegisterRequest
	if !decodeBody(w, r, &req) || s.refuseNormalize(w, r) || !s.checkRequestSchema(w, &req) {
		return
	}
	s.store.Read(func(st *State) {
		res := s.resolveRequest(w, st, &req)
		if res == nil {
			return
		}
		live := st.versions(subject, false)
		level := levelOf(st, subject)
		var olds []*SchemaValue
		switch {
		case all:
			olds = live
		case latest:
			// A subject without live versions is compatible with anything.
			if len(live) > 0 {
				olds = live[len(live)-1:]
			}
		default:
			for _, v := range live {
				if v.Version == n {
					olds = []*SchemaValue{v}
				}
			}
			if olds == nil {
				// Confluent answers 40402 here even when the subject
				// does not exist at all.
				s.fail(w, registry.CodeVersionNotFound, "Version %d not found.", n)
				return
			}
		}
		msgs, err := checkAgainst(st, level, res, olds)
		if err != nil {
			s.fail(w, registry.CodeInvalidCompatibilityLevel, "Invalid compatibility level %q configured for subject %s", level, subject)
			return
		}
		if !queryFlag(r, "verbose") {
			s.ok(w, registry.CompatibilityResponse{IsCompatible: len(msgs) == 0})
			return
		}
		// Verbose replies carry "messages" even when empty, as Confluent's do.
		if msgs == nil {
			msgs = []string{}
		}
		s.ok(w, struct {
			IsCompatible bool     `json:"is_compatible"`
			Messages     []string `json:"messages"`
		}{len(msgs) == 0, msgs})
	})
}

var modes = []string{registry.ModeReadWrite, registry.ModeReadOnly, registry.ModeImport}

func (s *Server) getGlobalMode(w http.ResponseWriter, r *http.Request) {
	var m string
	s.store.Read(func(st *State) { m = modeOf(st, "") })
	s.ok(w, registry.ModeRequest{Mode: m})
}

func (s *Server) putMode(w http.ResponseWriter, r *http.Request, subject *string) {
	var req registry.ModeRequest
	if !decodeBody(w, r, &req) {
		return
	}
	mode := strings.ToUpper(req.Mode)
	valid := false
	for _, m := range modes {
		valid = valid || m == mode
	}
	if !valid {
		s.fail(w, registry.CodeInvalidMode, "Invalid mode. Valid values are READWRITE, READONLY, IMPORT")
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	if mode == registry.ModeImport && !queryFlag(r, "force") {
		// Importing over existing schemas could reuse their ids.
		nonEmpty := false
		s.store.Read(func(st *State) {
			if subject == nil {
				nonEmpty = len(st.subjects) > 0
			} else {
				nonEmpty = len(st.subjects[*subject]) > 0
			}
		})
		if nonEmpty {
			s.fail(w, registry.CodeOperationNotPermitted, "Cannot import since found existing subjects")
			return
		}
	}
	if err := s.store.Append(r.Context(), Record{Key{KeyMode, subject, 0}, ModeValue{mode}}); err != nil {
		s.storeFailed(w, r, fmt.Errorf("set mode: %w", err))
		return
	}
	s.ok(w, registry.ModeRequest{Mode: mode})
}

func (s *Server) putGlobalMode(w http.ResponseWriter, r *http.Request) { s.putMode(w, r, nil) }

func (s *Server) putSubjectMode(w http.ResponseWriter, r *http.Request) {
	if s.validSubject(w, r.PathValue("subject")) {
		s.putMode(w, r, strPtr(r.PathValue("subject")))
	}
}

func (s *Server) getSubjectMode(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.store.Read(func(st *State) {
		if m, ok := st.modes[subject]; ok {
			s.ok(w, registry.ModeRequest{Mode: m})
			return
		}
		if queryFlag(r, "defaultToGlobal") {
			s.ok(w, registry.ModeRequest{Mode: modeOf(st, "")})
			return
		}
		s.fail(w, registry.CodeSubjectModeNotFound, "Subject '%s' does not have subject-level mode configured", subject)
	})
}

func (s *Server) deleteSubjectMode(w http.ResponseWriter, r *http.Request) {
	subject := r.PathValue("subject")
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if !s.sync(w, r) {
		return
	}
	var prev string
	var found bool
	s.store.Read(func(st *State) { prev, found = st.modes[subject] })
	if !found {
		s.fail(w, registry.CodeSubjectModeNotFound, "Subject '%s' does not have subject-level mode configured", subject)
		return
	}
	if err := s.store.Append(r.Context(), Record{Key{KeyMode, strPtr(subject), 0}, nil}); err != nil {
		s.storeFailed(w, r, fmt.Errorf("delete mode of subject %s: %w", subject, err))
		return
	}
	s.ok(w, registry.ModeRequest{Mode: prev})
}

// kafkaClusterIDer is implemented by stores kept in a Kafka cluster.
type kafkaClusterIDer interface {
	KafkaClusterID(ctx context.Context) (string, error)
}

// metadataID answers /v1/metadata/id in Confluent's ServerClusterId shape:
// an empty id and a scope naming the Kafka cluster and the registry group.
func (s *Server) metadataID(w http.ResponseWriter, r *http.Request) {
	kafkaID := ""
	if k, ok := s.store.(kafkaClusterIDer); ok {
		id, err := k.KafkaClusterID(r.Context())
		if err != nil {
			s.storeFailed(w, r, fmt.Errorf("read the Kafka cluster id: %w", err))
			return
		}
		kafkaID = id
	}
	s.ok(w, map[string]any{
		"id": "",
		"scope": map[string]any{
			"path":     []string{},
			"clusters": map[string]string{"kafka-cluster": kafkaID, "schema-registry-cluster": GroupID},
		},
	})
}

// metadataVersion answers /v1/metadata/version with Tributary's own module
// version and VCS revision: it is not a Confluent release, and clients only
// display these.
func (s *Server) metadataVersion(w http.ResponseWriter, r *http.Request) {
	version, commit := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				commit = kv.Value
			}
		}
	}
	s.ok(w, map[string]string{"version": version, "commitId": commit})
}

// listSchemas answers GET /schemas with Confluent's filters: subjectPrefix,
// deleted, latestOnly, offset and limit (negative: no limit), ordered by
// subject then version. ruleType matches nothing, since this registry
// stores no rule sets; aliases has nothing to add, since it stores none.
func (s *Server) listSchemas(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	prefix := q.Get("subjectPrefix")
	deleted, latestOnly := queryFlag(r, "deleted"), queryFlag(r, "latestOnly")
	offset, limit := 0, -1
	for name, dst := range map[string]*int{"offset": &offset, "limit": &limit} {
		if raw := q.Get(name); raw != "" {
			v, err := strconv.Atoi(raw)
			if err != nil {
				s.fail(w, http.StatusBadRequest, "query param %s is not an integer: %q", name, raw)
				return
			}
			*dst = v
		}
	}
	out := []registry.SubjectVersion{}
	s.store.Read(func(st *State) {
		if q.Get("ruleType") != "" {
			return
		}
		for _, name := range st.subjectNames(deleted) {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			vs := st.versions(name, deleted)
			if latestOnly && len(vs) > 0 {
				vs = vs[len(vs)-1:]
			}
			for _, v := range vs {
				out = append(out, versionResponse(st, v))
			}
		}
	})
	if offset > 0 {
		out = out[min(offset, len(out)):]
	}
	if limit >= 0 && limit < len(out) {
		out = out[:limit]
	}
	s.ok(w, out)
}
