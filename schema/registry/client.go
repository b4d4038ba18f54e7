package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/internal/redact"
)

// Config configures a Client. The property names in the comments are those
// Confluent's serializers use, accepted by ConfigFromProperties.
type Config struct {
	// URL of the registry (schema.registry.url); only the first of a
	// comma-separated list is used.
	URL string
	// BasicAuthCredentialsSource is USER_INFO, URL or empty
	// (basic.auth.credentials.source).
	BasicAuthCredentialsSource string
	// BasicAuthUserInfo is "user:password" (basic.auth.user.info).
	BasicAuthUserInfo string
	// CAFile, CertFile and KeyFile are PEM files for TLS
	// (schema.registry.ssl.ca.location, .certificate.location, .key.location).
	CAFile, CertFile, KeyFile string
	// Timeout per request; 0 means 30s.
	Timeout time.Duration
	// HTTPClient overrides the transport entirely (TLS options are then ignored).
	HTTPClient *http.Client
}

// ConfigFromProperties reads Confluent-style serializer properties, with or
// without the "schema.registry." prefix on the TLS ones.
func ConfigFromProperties(props map[string]string) (Config, error) {
	get := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := props[k]; ok {
				return v
			}
		}
		return ""
	}
	c := Config{
		URL:                        get("schema.registry.url", "url"),
		BasicAuthCredentialsSource: get("basic.auth.credentials.source"),
		BasicAuthUserInfo:          get("basic.auth.user.info", "schema.registry.basic.auth.user.info"),
		CAFile:                     get("schema.registry.ssl.ca.location", "ssl.ca.location"),
		CertFile:                   get("schema.registry.ssl.certificate.location", "ssl.certificate.location"),
		KeyFile:                    get("schema.registry.ssl.key.location", "ssl.key.location"),
	}
	if c.URL == "" {
		return c, errors.New("schema registry: schema.registry.url is not set")
	}
	return c, nil
}

// Client talks to a Confluent-compatible schema registry. It caches
// subject+schema → id and id → schema, so that a converter makes one round
// trip per schema it has not seen before. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	http     *http.Client
	user     string
	password string
	auth     bool

	mu      sync.RWMutex
	ids     map[string]map[string]int // subject → schema text → id
	schemas map[int]string
}

// NewClient validates cfg and builds a client.
func NewClient(cfg Config) (*Client, error) {
	raw := strings.TrimSpace(strings.Split(cfg.URL, ",")[0])
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		// Without the password of a user:password@ URL.
		return nil, fmt.Errorf("schema registry: invalid url %q", redact.URL(cfg.URL))
	}
	c := &Client{base: u, ids: map[string]map[string]int{}, schemas: map[int]string{}}
	switch strings.ToUpper(cfg.BasicAuthCredentialsSource) {
	case "":
		if cfg.BasicAuthUserInfo != "" {
			return nil, errors.New("schema registry: basic.auth.user.info is set but basic.auth.credentials.source is not")
		}
	case "USER_INFO":
		user, pass, ok := strings.Cut(cfg.BasicAuthUserInfo, ":")
		if !ok {
			return nil, errors.New("schema registry: basic.auth.user.info must be user:password")
		}
		c.user, c.password, c.auth = user, pass, true
	case "URL":
		if u.User == nil {
			return nil, errors.New("schema registry: basic.auth.credentials.source=URL but the url has no user info")
		}
		c.user = u.User.Username()
		c.password, _ = u.User.Password()
		c.auth = true
		u.User = nil
	default:
		return nil, fmt.Errorf("schema registry: unsupported basic.auth.credentials.source %q", cfg.BasicAuthCredentialsSource)
	}
	if cfg.HTTPClient != nil {
		c.http = cfg.HTTPClient
		return c, nil
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	c.http = &http.Client{Transport: tr, Timeout: timeout}
	return c, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("schema registry: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("schema registry: no certificates in %s", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("schema registry: TLS certificate and key must be given together")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("schema registry: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// do sends a request and decodes a JSON reply into out (if non-nil).
// Registry errors come back as *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	// path is already escaped (subjects may contain '/'), so the URL is
	// assembled as text rather than through url.URL.Path.
	target := strings.TrimSuffix(c.base.String(), "/") + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", ContentType+", application/json")
	if body != nil {
		req.Header.Set("Content-Type", ContentType)
	}
	if c.auth {
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("schema registry %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("schema registry %s %s: read reply: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == 0 {
			e.Code = resp.StatusCode
			e.Message = strings.TrimSpace(string(data))
			if e.Message == "" {
				e.Message = resp.Status
			}
		}
		return fmt.Errorf("schema registry %s %s: %w", method, path, e)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("schema registry %s %s: decode reply: %w", method, path, err)
	}
	return nil
}

func subjectPath(subject string, rest ...string) string {
	p := "/subjects/" + url.PathEscape(subject)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func boolQuery(name string, v bool) url.Values {
	if !v {
		return nil
	}
	return url.Values{name: {"true"}}
}

// Register registers an Avro schema under subject and returns its id,
// from the cache when this client has registered the same text before.
func (c *Client) Register(ctx context.Context, subject, schema string) (int, error) {
	c.mu.RLock()
	id, ok := c.ids[subject][schema]
	c.mu.RUnlock()
	if ok {
		return id, nil
	}
	var resp RegisterResponse
	if err := c.do(ctx, http.MethodPost, subjectPath(subject, "versions"), nil, RegisterRequest{Schema: schema}, &resp); err != nil {
		return 0, fmt.Errorf("register schema under subject %s: %w", subject, err)
	}
	c.remember(subject, schema, resp.ID)
	return resp.ID, nil
}

func (c *Client) remember(subject, schema string, id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if subject != "" {
		if c.ids[subject] == nil {
			c.ids[subject] = map[string]int{}
		}
		c.ids[subject][schema] = id
	}
	if _, ok := c.schemas[id]; !ok {
		c.schemas[id] = schema
	}
}

// Lookup finds the version of subject holding schema (40403 if none).
func (c *Client) Lookup(ctx context.Context, subject, schema string, deleted bool) (SubjectVersion, error) {
	var out SubjectVersion
	if err := c.do(ctx, http.MethodPost, subjectPath(subject), boolQuery("deleted", deleted), RegisterRequest{Schema: schema}, &out); err != nil {
		return out, fmt.Errorf("look up schema in subject %s: %w", subject, err)
	}
	if !deleted {
		c.remember(subject, schema, out.ID)
	}
	return out, nil
}

// SchemaByID fetches a schema by its global id, cached forever: ids are immutable.
func (c *Client) SchemaByID(ctx context.Context, id int) (string, error) {
	c.mu.RLock()
	s, ok := c.schemas[id]
	c.mu.RUnlock()
	if ok {
		return s, nil
	}
	var out SchemaResponse
	if err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, nil, &out); err != nil {
		return "", fmt.Errorf("fetch schema id %d: %w", id, err)
	}
	c.mu.Lock()
	c.schemas[id] = out.Schema
	c.mu.Unlock()
	return out.Schema, nil
}

// Version fetches one version of a subject; version 0 means the latest.
func (c *Client) Version(ctx context.Context, subject string, version int) (SubjectVersion, error) {
	v := "latest"
	if version != 0 {
		v = strconv.Itoa(version)
	}
	var out SubjectVersion
	if err := c.do(ctx, http.MethodGet, subjectPath(subject, "versions", v), nil, nil, &out); err != nil {
		return out, fmt.Errorf("fetch subject %s version %s: %w", subject, v, err)
	}
	return out, nil
}

// Latest fetches the latest version of a subject.
func (c *Client) Latest(ctx context.Context, subject string) (SubjectVersion, error) {
	return c.Version(ctx, subject, 0)
}

// Subjects lists subjects, with soft-deleted ones if deleted is set.
func (c *Client) Subjects(ctx context.Context, deleted bool) ([]string, error) {
	var out []string
	if err := c.do(ctx, http.MethodGet, "/subjects", boolQuery("deleted", deleted), nil, &out); err != nil {
		return nil, fmt.Errorf("list subjects: %w", err)
	}
	return out, nil
}

// Versions lists a subject's versions.
func (c *Client) Versions(ctx context.Context, subject string, deleted bool) ([]int, error) {
	var out []int
	if err := c.do(ctx, http.MethodGet, subjectPath(subject, "versions"), boolQuery("deleted", deleted), nil, &out); err != nil {
		return nil, fmt.Errorf("list versions of subject %s: %w", subject, err)
	}
	return out, nil
}

// TestCompatibility asks whether schema could be registered under subject
// against version (0 means latest, i.e. what the level covers). The messages
// explain an incompatibility.
func (c *Client) TestCompatibility(ctx context.Context, subject string, version int, schema string) (bool, []string, error) {
	v := "latest"
	if version != 0 {
		v = strconv.Itoa(version)
	}
	var out CompatibilityResponse
	path := "/compatibility" + subjectPath(subject, "versions", v)
	if err := c.do(ctx, http.MethodPost, path, url.Values{"verbose": {"true"}}, RegisterRequest{Schema: schema}, &out); err != nil {
		return false, nil, fmt.Errorf("test compatibility with subject %s version %s: %w", subject, v, err)
	}
	return out.IsCompatible, out.Messages, nil
}

func configPath(subject string) string {
	if subject == "" {
		return "/config"
	}
	return "/config/" + url.PathEscape(subject)
}

// Compatibility returns the level for subject ("" for the global level),
// falling back to the global level when the subject has none.
func (c *Client) Compatibility(ctx context.Context, subject string) (string, error) {
	var out ConfigResponse
	q := url.Values{}
	if subject != "" {
		q.Set("defaultToGlobal", "true")
	}
	if err := c.do(ctx, http.MethodGet, configPath(subject), q, nil, &out); err != nil {
		return "", fmt.Errorf("get compatibility level of %q: %w", subject, err)
	}
	return out.CompatibilityLevel, nil
}

// SetCompatibility sets the level for subject ("" for the global level).
func (c *Client) SetCompatibility(ctx context.Context, subject, level string) error {
	var out ConfigRequest
	if err := c.do(ctx, http.MethodPut, configPath(subject), nil, ConfigRequest{Compatibility: level}, &out); err != nil {
		return fmt.Errorf("set compatibility level of %q to %s: %w", subject, level, err)
	}
	return nil
}

// DeleteCompatibility removes a subject's own level.
func (c *Client) DeleteCompatibility(ctx context.Context, subject string) error {
	if err := c.do(ctx, http.MethodDelete, configPath(subject), nil, nil, nil); err != nil {
		return fmt.Errorf("delete compatibility level of %q: %w", subject, err)
	}
	return nil
}

// DeleteSubject soft-deletes a subject, or removes it for good when permanent
// (which Confluent allows only after a soft delete). It returns the versions
// deleted.
func (c *Client) DeleteSubject(ctx context.Context, subject string, permanent bool) ([]int, error) {
	var out []int
	if err := c.do(ctx, http.MethodDelete, subjectPath(subject), boolQuery("permanent", permanent), nil, &out); err != nil {
		return nil, fmt.Errorf("delete subject %s: %w", subject, err)
	}
	c.mu.Lock()
	delete(c.ids, subject)
	c.mu.Unlock()
	return out, nil
}

// DeleteVersion deletes one version of a subject; version 0 means latest.
func (c *Client) DeleteVersion(ctx context.Context, subject string, version int, permanent bool) (int, error) {
	v := "latest"
	if version != 0 {
		v = strconv.Itoa(version)
	}
	var out int
	if err := c.do(ctx, http.MethodDelete, subjectPath(subject, "versions", v), boolQuery("permanent", permanent), nil, &out); err != nil {
		return 0, fmt.Errorf("delete subject %s version %s: %w", subject, v, err)
	}
	c.mu.Lock()
	delete(c.ids, subject)
	c.mu.Unlock()
	return out, nil
}

// RegisterSchema registers a schema of any type (req.SchemaType: AVRO,
// JSON, PROTOBUF) with its references, cached like Register by subject,
// type and text.
func (c *Client) RegisterSchema(ctx context.Context, subject string, req RegisterRequest) (int, error) {
	key := req.SchemaType + "\x00" + req.Schema
	c.mu.RLock()
	id, ok := c.ids[subject][key]
	c.mu.RUnlock()
	if ok && len(req.References) == 0 {
		return id, nil
	}
	var resp RegisterResponse
	if err := c.do(ctx, http.MethodPost, subjectPath(subject, "versions"), nil, req, &resp); err != nil {
		return 0, fmt.Errorf("register %s schema under subject %s: %w", req.SchemaType, subject, err)
	}
	c.mu.Lock()
	if c.ids[subject] == nil {
		c.ids[subject] = map[string]int{}
	}
	c.ids[subject][key] = resp.ID
	c.mu.Unlock()
	return resp.ID, nil
}

// Schema fetches a schema by id with its type and references. Unlike
// SchemaByID it is not cached: callers cache what they derive from it.
func (c *Client) Schema(ctx context.Context, id int) (SchemaResponse, error) {
	var out SchemaResponse
	if err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, nil, &out); err != nil {
		return out, fmt.Errorf("fetch schema id %d: %w", id, err)
	}
	return out, nil
}

// LookupSchema is Lookup for a schema of any type with its references.
func (c *Client) LookupSchema(ctx context.Context, subject string, req RegisterRequest) (SubjectVersion, error) {
	var out SubjectVersion
	if err := c.do(ctx, http.MethodPost, subjectPath(subject), nil, req, &out); err != nil {
		return out, fmt.Errorf("look up %s schema in subject %s: %w", req.SchemaType, subject, err)
	}
	return out, nil
}
