// Package registry speaks Confluent Schema Registry's REST API: the wire
// types and error codes shared by the client here and the server in
// schema/registry/server.
package registry

import (
	"errors"
	"fmt"
)

// ContentType is the media type Confluent's API uses for requests and replies.
const ContentType = "application/vnd.schemaregistry.v1+json"

// Error codes from Confluent Schema Registry. The HTTP status is the first
// three digits (CodeIncompatibleSchemaLegacy, 409, stands alone).
const (
	CodeSubjectNotFound              = 40401
	CodeVersionNotFound              = 40402
	CodeSchemaNotFound               = 40403
	CodeSubjectSoftDeleted           = 40404
	CodeSubjectNotSoftDeleted        = 40405
	CodeSchemaVersionSoftDeleted     = 40406
	CodeSchemaVersionNotSoftDeleted  = 40407
	CodeSubjectCompatibilityNotFound = 40408
	CodeSubjectModeNotFound          = 40409
	// CodeIncompatibleSchema is what Confluent Schema Registry 8.2 and
	// later answer a registration that fails the compatibility check with
	// (HTTP 409); 8.1 and earlier used CodeIncompatibleSchemaLegacy.
	CodeIncompatibleSchema        = 40901
	CodeIncompatibleSchemaLegacy  = 409
	CodeInvalidSchema             = 42201
	CodeInvalidVersion            = 42202
	CodeInvalidCompatibilityLevel = 42203
	CodeInvalidMode               = 42204
	CodeOperationNotPermitted     = 42205
	CodeReferenceExists           = 42206
	CodeInvalidSubject            = 42208
	// Confluent's RestServerErrorException default, for failures that are
	// neither the store's nor a timeout.
	CodeInternalServerError = 500
	CodeStoreError          = 50001
	CodeStoreTimeout        = 50002
)

// Error is an error reply from the registry, carrying Confluent's error_code.
type Error struct {
	// Status is the HTTP status of the reply.
	Status  int    `json:"-"`
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("schema registry error %d: %s", e.Code, e.Message)
}

// Incompatible reports a refused schema (409): the runtime parks the
// table (internal/runtime.RegistryRefused) without importing this package.
func (e *Error) Incompatible() bool {
	return e.Code == CodeIncompatibleSchema || e.Code == CodeIncompatibleSchemaLegacy
}

// Temporary reports a reply that a later attempt may not get: the
// registry's own failures (5xx: its store failed or timed out). The
// runtime retries conversions failing with it under errors.retry.timeout.
func (e *Error) Temporary() bool { return e.Status >= 500 || HTTPStatus(e.Code) >= 500 }

// HTTPStatus derives the HTTP status Confluent pairs with an error code.
func HTTPStatus(code int) int {
	if code < 1000 {
		return code
	}
	for code >= 1000 {
		code /= 10
	}
	return code
}

// IsIncompatible reports whether err is a registry's refusal of an
// incompatible schema, under either error code Confluent has used for it.
func IsIncompatible(err error) bool {
	c := ErrorCode(err)
	return c == CodeIncompatibleSchema || c == CodeIncompatibleSchemaLegacy
}

// ErrorCode returns the Confluent error code in err's chain, or 0.
func ErrorCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// Reference is a schema reference: the referenced schema is version Version
// of Subject, and Name is how the referring schema names it (for Avro the
// full name of the referenced type).
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// RegisterRequest is the body of POST /subjects/{s}/versions and POST /subjects/{s}.
type RegisterRequest struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	// ID and Version are honoured only in IMPORT mode.
	ID      int `json:"id,omitempty"`
	Version int `json:"version,omitempty"`
}

// RegisterResponse is the reply to a registration.
type RegisterResponse struct {
	ID int `json:"id"`
}

// SubjectVersion is one version of a subject as the API returns it.
type SubjectVersion struct {
	Subject    string      `json:"subject"`
	Version    int         `json:"version"`
	ID         int         `json:"id"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	Schema     string      `json:"schema"`
	// Deleted is in every version reply of current Confluent releases; it
	// is true only for soft-deleted versions, read with ?deleted=true.
	Deleted bool `json:"deleted"`
}

// SchemaResponse is the reply to GET /schemas/ids/{id}.
type SchemaResponse struct {
	Schema     string      `json:"schema"`
	SchemaType string      `json:"schemaType,omitempty"`
	References []Reference `json:"references,omitempty"`
	MaxID      *int        `json:"maxId,omitempty"`
}

// SubjectVersionRef names a version, as in GET /schemas/ids/{id}/versions.
type SubjectVersionRef struct {
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// ConfigRequest is the body of PUT /config and PUT /config/{s}, and its reply.
type ConfigRequest struct {
	Compatibility string `json:"compatibility"`
}

// ConfigResponse is the reply to GET /config and GET /config/{s}.
type ConfigResponse struct {
	CompatibilityLevel string `json:"compatibilityLevel"`
}

// ModeRequest is the body and reply of the /mode endpoints.
type ModeRequest struct {
	Mode string `json:"mode"`
}

// CompatibilityResponse is the reply to POST /compatibility/...
type CompatibilityResponse struct {
	IsCompatible bool     `json:"is_compatible"`
	Messages     []string `json:"messages,omitempty"`
}

// Modes a registry or subject can be in.
const (
	ModeReadWrite = "READWRITE"
	ModeReadOnly  = "READONLY"
	ModeImport    = "IMPORT"
)
