package registry

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Config configures a Client. The property names in the comments are those
// of Confluent's client (SchemaRegistryClientConfig and
// AbstractKafkaSchemaSerDeConfig), read by ConfigFromProperties. A zero
// duration or size means Confluent's default, except where noted.
type Config struct {
	// URL is the registry's URL, or a comma-separated list of them
	// (schema.registry.url): requests go to one and fail over to the next
	// on a network error or a retriable status, as RestService does.
	URL string
	// URLRandomize starts at a random URL of the list instead of the
	// first (url.randomize, schema.registry.url.randomize).
	URLRandomize bool
	// BasicAuthCredentialsSource is USER_INFO, URL or empty
	// (basic.auth.credentials.source).
	BasicAuthCredentialsSource string
	// BasicAuthUserInfo is "user:password" (basic.auth.user.info).
	BasicAuthUserInfo string
	// CAFile, CertFile and KeyFile are PEM files for TLS
	// (schema.registry.ssl.ca.location, .certificate.location, .key.location).
	CAFile, CertFile, KeyFile string
	// ConnectTimeout bounds establishing a connection
	// (http.connect.timeout.ms; 0: 60 s).
	ConnectTimeout time.Duration
	// ReadTimeout bounds each wait for the reply: its headers, then every
	// read of its body (http.read.timeout.ms; 0: 60 s), as a socket read
	// timeout does.
	ReadTimeout time.Duration
	// MaxRetries is how often a request failing with a network error or
	// a retriable status (408, 429, 500, 502, 503, 504) is repeated
	// against the same URL (max.retries). Zero means none here;
	// ConfigFromProperties sets Confluent's default of 3.
	MaxRetries int
	// RetriesWait is the first backoff and RetriesMaxWait its cap
	// (retries.wait.ms, 0: 1 s; retries.max.wait.ms, 0: 20 s): the n-th
	// retry waits a random time up to min(RetriesWait·2ⁿ, RetriesMaxWait).
	RetriesWait, RetriesMaxWait time.Duration
	// Headers are sent with every request (request.header.<name>).
	Headers map[string]string
	// ProxyHost and ProxyPort name an HTTP proxy all requests go through
	// (proxy.host, proxy.port).
	ProxyHost string
	ProxyPort int
	// MaxSchemasPerSubject bounds each of the client's caches: subjects,
	// schemas per subject, schemas by id (max.schemas.per.subject; 0:
	// 1000). Past it the least recently used entry is dropped, as in
	// Confluent's client since 7.0 (earlier ones failed with "Too many
	// schema objects created for <subject>!").
	MaxSchemasPerSubject int
	// LatestCacheTTL is how long the latest version of a subject is
	// remembered (latest.cache.ttl.sec): negative for ever, zero not at
	// all (ConfigFromProperties sets Confluent's default of 60 s).
	LatestCacheTTL time.Duration
	// MissingCacheSize bounds the caches of not-found answers
	// (missing.cache.size; 0: 10000). MissingSchemaTTL and MissingIDTTL
	// are how long a schema not registered under a subject and an
	// unknown schema id are answered "not found" without asking
	// (missing.schema.cache.ttl.sec, missing.id.cache.ttl.sec; 0: not
	// remembered, Confluent's default).
	MissingCacheSize int
	MissingSchemaTTL time.Duration
	MissingIDTTL     time.Duration
	// HTTPClient overrides the transport entirely (TLS, proxy and
	// timeouts are then the caller's).
	HTTPClient *http.Client
	// Logger receives the fail-over warnings (nil: discarded).
	Logger *slog.Logger
}

// Confluent's defaults (SchemaRegistryClientConfig).
const (
	DefaultTimeout        = 60 * time.Second
	DefaultMaxRetries     = 3
	DefaultRetriesWait    = time.Second
	DefaultRetriesMaxWait = 20 * time.Second
	DefaultCacheCapacity  = 1000
	DefaultLatestCacheTTL = 60 * time.Second
	DefaultMissingSize    = 10000
)

// RequestHeaderPrefix is AbstractKafkaSchemaSerDeConfig.REQUEST_HEADER_PREFIX.
const RequestHeaderPrefix = "request.header."

// namespace is SchemaRegistryClientConfig.CLIENT_NAMESPACE: the client
// strips it from every property before configuring RestService, so
// schema.registry.max.retries means max.retries.
const namespace = "schema.registry."

// restProps are RestService's properties, accepted with or without the
// schema.registry. namespace.
var restProps = []string{"http.connect.timeout.ms", "http.read.timeout.ms", "max.retries", "retries.wait.ms",
	"retries.max.wait.ms", "url.randomize", "proxy.host", "proxy.port"}

// clientProps are the other properties ConfigFromProperties reads.
var clientProps = []string{"schema.registry.url", "url", "basic.auth.credentials.source", "basic.auth.user.info",
	"schema.registry.basic.auth.user.info", "schema.registry.ssl.ca.location", "ssl.ca.location",
	"schema.registry.ssl.certificate.location", "ssl.certificate.location", "schema.registry.ssl.key.location",
	"ssl.key.location", "max.schemas.per.subject", "latest.cache.ttl.sec", "missing.cache.size",
	"missing.id.cache.ttl.sec", "missing.schema.cache.ttl.sec", "missing.version.cache.ttl.sec"}

// IsClientProperty reports whether ConfigFromProperties reads k, so that
// the converters accept it.
func IsClientProperty(k string) bool {
	if strings.HasPrefix(k, RequestHeaderPrefix) && len(k) > len(RequestHeaderPrefix) {
		return true
	}
	for _, p := range clientProps {
		if k == p {
			return true
		}
	}
	k = strings.TrimPrefix(k, namespace)
	for _, p := range restProps {
		if k == p {
			return true
		}
	}
	return false
}

// ConfigFromProperties reads Confluent-style serializer properties, with
// Confluent's defaults. Each malformed value is reported naming its
// property.
func ConfigFromProperties(props map[string]string) (Config, error) {
	var errs []string
	get := func(keys ...string) string {
		for _, k := range keys {
			if v, ok := props[k]; ok {
				return v
			}
		}
		return ""
	}
	// rest reads a RestService property, given bare or under the
	// schema.registry. namespace; Java keeps whichever of the two it
	// meets last, so two different values are refused as ambiguous.
	rest := func(k string) (string, string, bool) {
		v, ok := props[k]
		nv, nok := props[namespace+k]
		switch {
		case ok && nok && strings.TrimSpace(v) != strings.TrimSpace(nv):
			errs = append(errs, fmt.Sprintf("%s=%q and %s%s=%q disagree", k, v, namespace, k, nv))
		case nok:
			return namespace + k, strings.TrimSpace(nv), true
		}
		return k, strings.TrimSpace(v), ok
	}
	integer := func(name, v string, min int64) (int64, bool) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil || n < min {
			errs = append(errs, fmt.Sprintf("%s=%q: not an integer of at least %d", name, v, min))
			return 0, false
		}
		return n, true
	}
	millis := func(k string, def time.Duration, min int64) time.Duration {
		if name, v, ok := rest(k); ok {
			if n, ok := integer(name, v, min); ok {
				return time.Duration(n) * time.Millisecond
			}
		}
		return def
	}
	seconds := func(k string, def time.Duration) time.Duration {
		v, ok := props[k]
		if !ok {
			return def
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: not an integer", k, v))
			return def
		}
		if n < 0 {
			return -1
		}
		return time.Duration(n) * time.Second
	}
	c := Config{
		URL:                        strings.TrimSpace(get("schema.registry.url", "url")),
		BasicAuthCredentialsSource: get("basic.auth.credentials.source"),
		BasicAuthUserInfo:          get("basic.auth.user.info", "schema.registry.basic.auth.user.info"),
		CAFile:                     get("schema.registry.ssl.ca.location", "ssl.ca.location"),
		CertFile:                   get("schema.registry.ssl.certificate.location", "ssl.certificate.location"),
		KeyFile:                    get("schema.registry.ssl.key.location", "ssl.key.location"),
		MaxRetries:                 DefaultMaxRetries,
		LatestCacheTTL:             DefaultLatestCacheTTL,
	}
	if c.URL == "" {
		errs = append(errs, "schema.registry.url is not set")
	}
	// Java's HttpURLConnection takes a timeout of 0 as "none"; a Go
	// transport cannot express that per phase, so 0 is refused.
	c.ConnectTimeout = millis("http.connect.timeout.ms", DefaultTimeout, 1)
	c.ReadTimeout = millis("http.read.timeout.ms", DefaultTimeout, 1)
	if name, v, ok := rest("max.retries"); ok {
		if n, ok := integer(name, v, 0); ok {
			c.MaxRetries = int(n)
		}
	}
	c.RetriesWait = millis("retries.wait.ms", DefaultRetriesWait, 0)
	c.RetriesMaxWait = millis("retries.max.wait.ms", DefaultRetriesMaxWait, 0)
	randomize := func(name, v string) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: not a boolean", name, v))
		}
		c.URLRandomize = c.URLRandomize || b
	}
	if name, v, ok := rest("url.randomize"); ok {
		randomize(name, v)
	}
	hostName, host, hostSet := rest("proxy.host")
	portName, port, portSet := rest("proxy.port")
	if portSet {
		if n, ok := integer(portName, port, -1); ok && n > 0 {
			c.ProxyPort = int(n)
		}
	}
	c.ProxyHost = host
	// RestService uses a proxy only when both are valid and otherwise
	// goes direct without a word; half a proxy setting is refused here.
	if (c.ProxyHost != "") != (c.ProxyPort > 0) && (hostSet || portSet) {
		errs = append(errs, fmt.Sprintf("%s and %s must be set together (a host and a port above 0) for requests to go through a proxy", hostName, portName))
	}
	if v, ok := props["max.schemas.per.subject"]; ok {
		if n, ok := integer("max.schemas.per.subject", v, 1); ok {
			c.MaxSchemasPerSubject = int(n)
		}
	}
	c.LatestCacheTTL = seconds("latest.cache.ttl.sec", DefaultLatestCacheTTL)
	if v, ok := props["missing.cache.size"]; ok {
		if n, ok := integer("missing.cache.size", v, 0); ok {
			c.MissingCacheSize = int(n)
			if n == 0 {
				c.MissingCacheSize = -1
			}
		}
	}
	// Guava refuses a negative expireAfterWrite, so Confluent's client
	// fails to start with one.
	ttl := func(k string) time.Duration {
		if v, ok := props[k]; ok {
			if n, ok := integer(k, v, 0); ok {
				return time.Duration(n) * time.Second
			}
		}
		return 0
	}
	c.MissingSchemaTTL = ttl("missing.schema.cache.ttl.sec")
	c.MissingIDTTL = ttl("missing.id.cache.ttl.sec")
	// Validated only: the client never fetches versions including deleted
	// ones, the one lookup this cache serves in Confluent's client (for
	// data-contract migrations, not implemented).
	ttl("missing.version.cache.ttl.sec")
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if name, ok := strings.CutPrefix(k, RequestHeaderPrefix); ok && name != "" {
			if c.Headers == nil {
				c.Headers = map[string]string{}
			}
			c.Headers[name] = props[k]
		}
	}
	if len(errs) > 0 {
		return c, errors.New("schema registry: " + strings.Join(errs, "; "))
	}
	return c, nil
}
