package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/internal/offsets"
	"gopkg.in/yaml.v3"
)

// Request bodies are decoded as strictly as Kafka Connect's Jackson
// provider does; what Jackson rejects (malformed JSON, unknown fields,
// wrong shapes) Kafka Connect answers with 500 and Jackson's message, and
// so does Tributary, with Jackson's wording where it matters to clients.

func deserializeError(format string, args ...any) error {
	return errorf(http.StatusInternalServerError, format, args...)
}

func jacksonMessage(err error) error {
	msg := err.Error()
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return deserializeError("Unexpected character in JSON at offset %d: %s", syn.Offset, strings.TrimPrefix(msg, "json: "))
	case errors.As(err, &typ):
		return deserializeError("Cannot deserialize value of type `%s` from %s value", javaType(typ.Type), jacksonKind(typ.Value))
	case strings.HasPrefix(msg, "json: unknown field "):
		return deserializeError("Unrecognized field %s, not marked as ignorable", strings.TrimPrefix(msg, "json: unknown field "))
	case msg == "EOF" || msg == "unexpected EOF":
		return deserializeError("No content to map due to end-of-input")
	}
	return deserializeError("%s", strings.TrimPrefix(msg, "json: "))
}

func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jacksonMessage(err)
	}
	return nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jacksonMessage(err)
	}
	// encoding/json matches member names case-insensitively ("Config"
	// fills config); Jackson does not.
	dec = json.NewDecoder(bytes.NewReader(body))
	return exactNames(dec, reflect.TypeOf(v))
}

// exactNames reads the next JSON value from dec and rejects, as Jackson
// does, any object member whose name is not exactly the JSON name of a
// field of the struct type t it fills. Only the shapes decodeStrict has
// already accepted reach it.
func exactNames(dec *json.Decoder, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice {
		var skip json.RawMessage
		return dec.Decode(&skip)
	}
	tok, err := dec.Token()
	if err != nil {
		return jacksonMessage(err)
	}
	switch {
	case tok == json.Delim('[') && t.Kind() == reflect.Slice:
		for dec.More() {
			if err := exactNames(dec, t.Elem()); err != nil {
				return err
			}
		}
	case tok == json.Delim('{') && t.Kind() == reflect.Struct:
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return jacksonMessage(err)
			}
			f, ok := fieldByJSONName(t, k.(string))
			if !ok {
				return deserializeError("Unrecognized field %q, not marked as ignorable", k)
			}
			if err := exactNames(dec, f.Type); err != nil {
				return err
			}
		}
	default:
		return nil // null
	}
	_, err = dec.Token()
	return err
}

func fieldByJSONName(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// nullValueError is what Kafka Connect reports for a property set to null.
func nullValueError(n int) error {
	return errorf(http.StatusBadRequest, "Connector configuration is invalid and contains the following %d error(s):%s\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
		n, strings.Repeat("\nNull value can not be supplied as the configuration value.", n))
}

// scalarString turns a JSON scalar into a property value the way
// Jackson coerces scalars into a Map<String, String>.
func scalarString(key string, raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", deserializeError("No content to map due to end-of-input")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", jacksonMessage(err)
		}
		return s, nil
	case '{':
		return "", deserializeError("Cannot deserialize value of type `java.lang.String` from Object value (token `JsonToken.START_OBJECT`) for property %q", key)
	case '[':
		return "", deserializeError("Cannot deserialize value of type `java.lang.String` from Array value (token `JsonToken.START_ARRAY`) for property %q", key)
	}
	return string(raw), nil // numbers and booleans, verbatim
}

// decodeProps decodes a connector configuration object.
func decodeProps(body []byte) (map[string]string, error) {
	raw, err := decodeMembers(body)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, nil
	}
	out := make(map[string]string, len(raw))
	nulls := 0
	for k, v := range raw {
		if string(bytes.TrimSpace(v)) == "null" {
			nulls++
			continue
		}
		s, err := scalarString(k, v)
		if err != nil {
			return nil, err
		}
		out[k] = s
	}
	if nulls > 0 {
		return nil, nullValueError(nulls)
	}
	return out, nil
}

// decodeMembers decodes a JSON object of property values as Jackson reads
// a Map<String, String>: member by member, so that a duplicate name whose
// first value is an object or array fails as it does in Jackson, though
// the map keeps only the last value (a Go map alone never sees the first).
func decodeMembers(body []byte) (map[string]json.RawMessage, error) {
	var raw map[string]json.RawMessage
	if err := decodeJSON(body, &raw); err != nil || raw == nil {
		return raw, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the '{' decodeJSON accepted
		return nil, jacksonMessage(err)
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, jacksonMessage(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, jacksonMessage(err)
		}
		if string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		if _, err := scalarString(k.(string), v); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// decodeOffsetMap decodes a partition or offset object, keeping integers
// exact.
func decodeOffsetMap(what string, raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, deserializeError("Cannot deserialize value of type `java.util.LinkedHashMap<java.lang.String,java.lang.Object>` from %s value (%s)", jsonKind(raw[0]), what)
	}
	m, err := offsets.DecodeMap(raw)
	if err != nil {
		return nil, jacksonMessage(err)
	}
	return m, nil
}

func jsonKind(b byte) string {
	switch b {
	case '[':
		return "Array"
	case '"':
		return "String"
	case 't', 'f':
		return "Boolean"
	}
	return "Number"
}

// javaType names the Java type Kafka Connect's entity holds where the Go
// one would leak an internal name into an error message.
func javaType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "java.lang.String"
	case reflect.Bool:
		return "java.lang.Boolean"
	case reflect.Int, reflect.Int32:
		return "java.lang.Integer"
	case reflect.Int64:
		return "java.lang.Long"
	case reflect.Float32, reflect.Float64:
		return "java.lang.Double"
	case reflect.Map:
		return "java.util.LinkedHashMap<" + javaType(t.Key()) + "," + javaType(t.Elem()) + ">"
	case reflect.Slice:
		return "java.util.ArrayList<" + javaType(t.Elem()) + ">"
	case reflect.Interface:
		return "java.lang.Object"
	case reflect.Pointer:
		return javaType(t.Elem())
	}
	return "java.lang.Object"
}

// jacksonKind names a JSON value's kind as Jackson does ("Array value").
func jacksonKind(goKind string) string {
	switch goKind {
	case "array":
		return "Array"
	case "object":
		return "Object"
	case "string":
		return "String"
	case "bool":
		return "Boolean"
	case "null":
		return "Null"
	}
	return "Number"
}

// acceptedContentType reports whether a request body's Content-Type is
// JSON or YAML; a request without one is taken as JSON, as Jersey does.
func acceptedContentType(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || isYAML(r)
}

func isYAML(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return false
	}
	switch mt {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return false
}

// yamlConnector reads a YAML body: either the shape of a `tributary run -c`
// file ({name, config}) or, for PUT /connectors/{name}/config and
// validation, the properties themselves. Nested keys are joined with dots
// and lists with commas; ${...} references are kept for the runtime to
// resolve, as Kafka Connect keeps config provider references.
func yamlConnector(body []byte, urlName string) (string, map[string]string, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(body, &doc); err != nil {
		return "", nil, errorf(http.StatusBadRequest, "invalid YAML: %v", err)
	}
	if list, ok := doc["connectors"]; ok {
		items, _ := list.([]any)
		if len(items) != 1 {
			return "", nil, errorf(http.StatusBadRequest, "the YAML body must define exactly one connector, found %d", len(items))
		}
		m, ok := items[0].(map[string]any)
		if !ok {
			return "", nil, errorf(http.StatusBadRequest, "connectors[0]: expected a mapping")
		}
		doc = m
	}
	name := urlName
	cfg := doc
	if c, ok := doc["config"]; ok {
		m, ok := c.(map[string]any)
		if !ok {
			return "", nil, errorf(http.StatusBadRequest, "config: expected a mapping")
		}
		cfg = m
		if n, ok := doc["name"].(string); ok && name == "" {
			name = strings.TrimSpace(n)
		}
		for k := range doc {
			if k != "config" && k != "name" {
				return "", nil, errorf(http.StatusBadRequest, "unknown top-level key %q (expected name and config)", k)
			}
		}
	}
	props := map[string]string{}
	nulls := 0
	var walk func(prefix string, v any) error
	walk = func(prefix string, v any) error {
		switch t := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(t))
			for k := range t {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				if err := walk(p, t[k]); err != nil {
					return err
				}
			}
		case []any:
			parts := make([]string, len(t))
			for i, e := range t {
				s, err := yamlScalar(e)
				if err != nil {
					return errorf(http.StatusBadRequest, "%s[%d]: %v", prefix, i, err)
				}
				parts[i] = s
			}
			props[prefix] = strings.Join(parts, ",")
		case nil:
			nulls++
		default:
			s, err := yamlScalar(t)
			if err != nil {
				return errorf(http.StatusBadRequest, "%s: %v", prefix, err)
			}
			if _, dup := props[prefix]; dup {
				return errorf(http.StatusBadRequest, "property %q given twice", prefix)
			}
			props[prefix] = s
		}
		return nil
	}
	if err := walk("", cfg); err != nil {
		return "", nil, err
	}
	if nulls > 0 {
		return "", nil, nullValueError(nulls)
	}
	if name == "" {
		name = strings.TrimSpace(props["name"])
	}
	return name, props, nil
}

func yamlScalar(v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("unsupported value of type %T", v)
}
