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
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tributary-io/tributary/internal/redact"
)

// Client talks to a Confluent-compatible schema registry. It caches
// subject+schema → id and id → schema, so that a converter makes one round
// trip per schema it has not seen before. It is safe for concurrent use.
type Client struct {
	urls   *urlList
	http   *http.Client
	auth   bool
	users  map[string]*url.Userinfo // by base URL, with basic.auth.credentials.source=URL
	user   *url.Userinfo            // with USER_INFO
	cfg    Config
	log    *slog.Logger
	jitter func(n int64) int64

	ids            *Cache[string, *Cache[string, int]] // subject → schema text → id
	schemas        *Cache[int, string]
	latest         *Cache[string, SubjectVersion]
	missingSchemas *Cache[string, struct{}] // subject + "\x00" + type + "\x00" + text
	missingIDs     *Cache[int, struct{}]
}

// urlList is Confluent's UrlList: the URL requests go to, moved on to the
// next when one fails.
type urlList struct {
	urls []*url.URL
	idx  atomic.Int64
}

func (l *urlList) current() (int, *url.URL) {
	i := int(l.idx.Load()) % len(l.urls)
	return i, l.urls[i]
}

// fail moves on from i unless another request already has.
func (l *urlList) fail(i int) {
	l.idx.CompareAndSwap(int64(i), int64((i+1)%len(l.urls)))
}

// NewClient validates cfg and builds a client.
func NewClient(cfg Config) (*Client, error) {
	c := &Client{cfg: cfg, log: cfg.Logger, urls: &urlList{}, jitter: rand.Int64N}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// RestService splits the list on commas with surrounding blanks.
	for _, raw := range strings.Split(cfg.URL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Scheme == "" || u.Host == "" {
			// Without the password of a user:password@ URL.
			return nil, fmt.Errorf("schema registry: invalid url %q in schema.registry.url", redact.URL(strings.TrimSpace(raw)))
		}
		c.urls.urls = append(c.urls.urls, u)
	}
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
		c.user, c.auth = url.UserPassword(user, pass), true
	case "URL":
		// UrlBasicAuthCredentialProvider reads the user info of the URL
		// each request goes to.
		c.users = map[string]*url.Userinfo{}
		for _, u := range c.urls.urls {
			if u.User == nil {
				return nil, fmt.Errorf("schema registry: basic.auth.credentials.source=URL but the url %s has no user info", redact.URL(u.String()))
			}
			ui := u.User
			u.User = nil
			c.users[u.String()] = ui
		}
		c.auth = true
	default:
		return nil, fmt.Errorf("schema registry: unsupported basic.auth.credentials.source %q", cfg.BasicAuthCredentialsSource)
	}
	if cfg.URLRandomize {
		c.urls.idx.Store(rand.Int64N(int64(len(c.urls.urls))))
	}
	capacity := cfg.MaxSchemasPerSubject
	if capacity <= 0 {
		capacity = DefaultCacheCapacity
	}
	missing := cfg.MissingCacheSize
	if missing == 0 {
		missing = DefaultMissingSize
	}
	c.ids = NewCache[string, *Cache[string, int]](capacity, -1, nil)
	c.schemas = NewCache[int, string](capacity, -1, nil)
	c.latest = NewCache[string, SubjectVersion](capacity, cfg.LatestCacheTTL, nil)
	c.missingSchemas = NewCache[string, struct{}](missing, cfg.MissingSchemaTTL, nil)
	c.missingIDs = NewCache[int, struct{}](missing, cfg.MissingIDTTL, nil)
	if cfg.RetriesWait == 0 {
		c.cfg.RetriesWait = DefaultRetriesWait
	}
	if cfg.RetriesMaxWait == 0 {
		c.cfg.RetriesMaxWait = DefaultRetriesMaxWait
	}
	if cfg.ReadTimeout <= 0 {
		c.cfg.ReadTimeout = DefaultTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		c.cfg.ConnectTimeout = DefaultTimeout
	}
	if cfg.HTTPClient != nil {
		c.http = cfg.HTTPClient
		return c, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	dialer := &net.Dialer{Timeout: c.cfg.ConnectTimeout, KeepAlive: 30 * time.Second}
	tr.DialContext = dialer.DialContext
	tr.TLSHandshakeTimeout = c.cfg.ConnectTimeout
	tr.ResponseHeaderTimeout = c.cfg.ReadTimeout
	if cfg.ProxyHost != "" || cfg.ProxyPort != 0 {
		if cfg.ProxyHost == "" || cfg.ProxyPort <= 0 {
			return nil, errors.New("schema registry: proxy.host and proxy.port must be set together")
		}
		host := cfg.ProxyHost
		if u, err := url.Parse(host); err == nil && u.Host != "" {
			// RestService's Apache client path takes a URL here.
			host = u.Hostname()
		}
		// Java's Proxy.Type.HTTP: plain requests go to the proxy, TLS
		// ones through CONNECT.
		proxy := &url.URL{Scheme: "http", Host: net.JoinHostPort(host, strconv.Itoa(cfg.ProxyPort))}
		tr.Proxy = http.ProxyURL(proxy)
	}
	if cfg.CAFile != "" || cfg.CertFile != "" || cfg.KeyFile != "" {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	c.http = &http.Client{Transport: tr}
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

// do sends a request and decodes a JSON reply into out (if non-nil), as
// RestService.httpRequest: each URL in turn, from the current one, with
// up to MaxRetries retries against it; it fails over to the next URL only
// after a network error or a retriable status. Registry errors come back
// as *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = b
	}
	n := len(c.urls.urls)
	for i := 0; ; i++ {
		idx, base := c.urls.current()
		err := c.retry(ctx, func() error { return c.send(ctx, base, method, path, query, payload, body != nil, out) })
		if err == nil {
			return nil
		}
		if ctx.Err() == nil && failsOver(err) {
			c.log.Warn("schema registry request failed; failing over to the next URL",
				"url", redact.URL(base.String()), "path", path, "error", err)
			// As RestService, the URL is marked failed even when it was
			// the last one to try.
			c.urls.fail(idx)
			if i < n-1 {
				continue
			}
		}
		return fmt.Errorf("schema registry %s %s: %w", method, path, err)
	}
}

// retriableStatus is RestService.isRestClientExceptionRetriable.
func retriableStatus(status int) bool {
	switch status {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// netError marks a failure to talk to the registry at all (Java's
// IOException), as opposed to a reply that could not be decoded.
type netError struct{ err error }

func (e *netError) Error() string { return e.err.Error() }
func (e *netError) Unwrap() error { return e.err }

// failsOver is RestService.isNonRetriableException negated: a retriable
// status, or a network error (ExceptionUtils.isNetworkConnectionException).
func failsOver(err error) bool {
	var re *Error
	if errors.As(err, &re) {
		return retriableStatus(re.Status)
	}
	var ne *netError
	return errors.As(err, &ne)
}

// retry is RetryExecutor.retry: a retriable status or an I/O error
// (network, or a reply Java could not parse) is tried again after a
// random wait of up to RetriesWait·2^attempt, capped at RetriesMaxWait
// ("full jitter").
func (c *Client) retry(ctx context.Context, call func() error) error {
	for attempt := 0; ; attempt++ {
		err := call()
		if err == nil || ctx.Err() != nil {
			return err
		}
		var re *Error
		if errors.As(err, &re) && !retriableStatus(re.Status) {
			return err
		}
		if attempt >= c.cfg.MaxRetries {
			return err
		}
		ceil := c.cfg.RetriesWait.Milliseconds() << min(attempt, 30)
		ceil = min(ceil, c.cfg.RetriesMaxWait.Milliseconds())
		if ceil > 0 {
			t := time.NewTimer(time.Duration(c.jitter(ceil)+1) * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
	}
}

// send makes one attempt against base.
func (c *Client) send(ctx context.Context, base *url.URL, method, path string, query url.Values, payload []byte, hasBody bool, out any) error {
	// path is already escaped (subjects may contain '/'), so the URL is
	// assembled as text rather than through url.URL.Path.
	baseText := base.String()
	target := strings.TrimSuffix(baseText, "/") + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	// The read timeout covers every wait for the body too, as a socket
	// read timeout would; the transport covers the wait for the headers.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rd io.Reader
	if hasBody {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(actx, method, target, rd)
	if err != nil {
		return err
	}
	if c.auth {
		ui := c.user
		if c.users != nil {
			ui = c.users[baseText]
		}
		pass, _ := ui.Password()
		req.SetBasicAuth(ui.Username(), pass)
	}
	// RestService sets the custom headers after the authentication and
	// before its own request properties, which win.
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Accept", ContentType+", application/json")
	if hasBody {
		req.Header.Set("Content-Type", ContentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &netError{err}
	}
	defer resp.Body.Close()
	idle := time.AfterFunc(c.cfg.ReadTimeout, cancel)
	defer idle.Stop()
	data, err := io.ReadAll(io.LimitReader(&idleReader{r: resp.Body, t: idle, d: c.cfg.ReadTimeout}, 64<<20))
	if err != nil {
		return &netError{fmt.Errorf("read reply: %w", err)}
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
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode reply: %w", err)
	}
	return nil
}

// idleReader restarts its timer on every read that makes progress.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.t.Reset(r.d)
	}
	return n, err
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
	if id, ok := c.cachedID(subject, schema); ok {
		return id, nil
	}
	var resp RegisterResponse
	if err := c.do(ctx, http.MethodPost, subjectPath(subject, "versions"), nil, RegisterRequest{Schema: schema}, &resp); err != nil {
		return 0, fmt.Errorf("register schema under subject %s: %w", subject, err)
	}
	c.remember(subject, schema, schema, resp.ID)
	// A new version may have been registered: CachedSchemaRegistryClient
	// forgets the subject's latest version here.
	c.latest.Delete(subject)
	return resp.ID, nil
}

func (c *Client) cachedID(subject, key string) (int, bool) {
	m, ok := c.ids.Get(subject)
	if !ok {
		return 0, false
	}
	return m.Get(key)
}

// remember caches subject+key → id (bounded per subject by
// max.schemas.per.subject) and id → schema.
func (c *Client) remember(subject, key, schema string, id int) {
	if subject != "" {
		m, ok := c.ids.Get(subject)
		if !ok {
			m = NewCache[string, int](c.ids.size, -1, nil)
			c.ids.Put(subject, m)
		}
		m.Put(key, id)
	}
	if _, ok := c.schemas.Get(id); !ok && schema != "" {
		c.schemas.Put(id, schema)
	}
}

// missingSchema answers a lookup remembered as not found (missing.schema.cache.ttl.sec),
// as CachedSchemaRegistryClient does, with the error the registry gave.
func missingSchema() error {
	return &Error{Status: http.StatusNotFound, Code: CodeSchemaNotFound, Message: "Schema not found"}
}

// notFound is CachedSchemaRegistryClient.isSchemaOrSubjectNotFoundException.
func notFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound && (e.Code == CodeSchemaNotFound || e.Code == CodeSubjectNotFound)
}

// Lookup finds the version of subject holding schema (40403 if none).
func (c *Client) Lookup(ctx context.Context, subject, schema string, deleted bool) (SubjectVersion, error) {
	out, err := c.lookup(ctx, subject, RegisterRequest{Schema: schema}, deleted)
	if err != nil {
		return out, fmt.Errorf("look up schema in subject %s: %w", subject, err)
	}
	if !deleted {
		c.remember(subject, schema, schema, out.ID)
	}
	return out, nil
}

func (c *Client) lookup(ctx context.Context, subject string, req RegisterRequest, deleted bool) (SubjectVersion, error) {
	var out SubjectVersion
	key := subject + "\x00" + req.SchemaType + "\x00" + req.Schema
	if _, ok := c.missingSchemas.Get(key); ok {
		return out, missingSchema()
	}
	err := c.do(ctx, http.MethodPost, subjectPath(subject), boolQuery("deleted", deleted), req, &out)
	if notFound(err) {
		c.missingSchemas.Put(key, struct{}{})
	}
	return out, err
}

func (c *Client) schemaByID(ctx context.Context, id int) (SchemaResponse, error) {
	var out SchemaResponse
	if _, ok := c.missingIDs.Get(id); ok {
		return out, &Error{Status: http.StatusNotFound, Code: CodeSchemaNotFound, Message: fmt.Sprintf("Schema %d not found", id)}
	}
	err := c.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.Itoa(id), nil, nil, &out)
	if notFound(err) {
		c.missingIDs.Put(id, struct{}{})
	}
	return out, err
}

// SchemaByID fetches a schema by its global id, cached (up to
// max.schemas.per.subject ids): ids are immutable.
func (c *Client) SchemaByID(ctx context.Context, id int) (string, error) {
	if s, ok := c.schemas.Get(id); ok {
		return s, nil
	}
	out, err := c.schemaByID(ctx, id)
	if err != nil {
		return "", fmt.Errorf("fetch schema id %d: %w", id, err)
	}
	c.schemas.Put(id, out.Schema)
	return out.Schema, nil
}

// Version fetches one version of a subject; version 0 means the latest,
// remembered for latest.cache.ttl.sec as CachedSchemaRegistryClient's
// getLatestSchemaMetadata does.
func (c *Client) Version(ctx context.Context, subject string, version int) (SubjectVersion, error) {
	v := "latest"
	if version != 0 {
		v = strconv.Itoa(version)
	} else if sv, ok := c.latest.Get(subject); ok {
		return sv, nil
	}
	var out SubjectVersion
	if err := c.do(ctx, http.MethodGet, subjectPath(subject, "versions", v), nil, nil, &out); err != nil {
		return out, fmt.Errorf("fetch subject %s version %s: %w", subject, v, err)
	}
	if version == 0 {
		c.latest.Put(subject, out)
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
	c.forget(subject)
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
	c.forget(subject)
	return out, nil
}

// forget drops what the client knows of subject after a deletion.
func (c *Client) forget(subject string) {
	c.ids.Delete(subject)
	c.latest.Delete(subject)
}

// RegisterSchema registers a schema of any type (req.SchemaType: AVRO,
// JSON, PROTOBUF) with its references, cached like Register by subject,
// type and text.
func (c *Client) RegisterSchema(ctx context.Context, subject string, req RegisterRequest) (int, error) {
	key := req.SchemaType + "\x00" + req.Schema
	if id, ok := c.cachedID(subject, key); ok && len(req.References) == 0 {
		return id, nil
	}
	var resp RegisterResponse
	if err := c.do(ctx, http.MethodPost, subjectPath(subject, "versions"), nil, req, &resp); err != nil {
		return 0, fmt.Errorf("register %s schema under subject %s: %w", req.SchemaType, subject, err)
	}
	c.remember(subject, key, "", resp.ID)
	c.latest.Delete(subject)
	return resp.ID, nil
}

// Schema fetches a schema by id with its type and references. Unlike
// SchemaByID it is not cached: callers cache what they derive from it.
func (c *Client) Schema(ctx context.Context, id int) (SchemaResponse, error) {
	out, err := c.schemaByID(ctx, id)
	if err != nil {
		return out, fmt.Errorf("fetch schema id %d: %w", id, err)
	}
	return out, nil
}

// LookupSchema is Lookup for a schema of any type with its references.
func (c *Client) LookupSchema(ctx context.Context, subject string, req RegisterRequest) (SubjectVersion, error) {
	out, err := c.lookup(ctx, subject, req, false)
	if err != nil {
		return out, fmt.Errorf("look up %s schema in subject %s: %w", req.SchemaType, subject, err)
	}
	return out, nil
}
