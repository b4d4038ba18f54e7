// Package redact keeps secrets out of logs, metrics and error messages.
//
// Properties typed PASSWORD are hidden where Tributary shows a value
// (config.Def does that). That is not enough on its own: a database driver
// may quote the connection string it was given, a URL property may carry
// user:password@, and a connector may wrap either in an error. So the
// places where errors and logs leave a connector (task status traces, the
// REST API, the log handler of each connector) also scrub the connector's
// secret values and anything that looks like credentials in a URL or
// connection string.
package redact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Hidden replaces a secret, as Kafka's Password.toString() does.
const Hidden = "[hidden]"

// secretSuffixes are property names that Kafka, Confluent's serializers and
// Debezium type PASSWORD although no segment says "password" or "secret".
// They match after any prefix (producer., value.converter., database.,
// listeners.https. ...).
var secretSuffixes = []string{
	"basic.auth.user.info", // Confluent schema registry clients
	"bearer.auth.token",
	"sasl.jaas.config",
	"ssl.keystore.key", // PEM private key given inline
	"ssl.keystore.certificate.chain",
	"ssl.truststore.certificates",
	"query.masked", // Confluent JDBC source: a query that must not be logged
}

// Name reports whether a property name denotes a secret by the
// conventions of Kafka, Confluent and Debezium: any dot-separated part
// containing "password", "passwd" or "secret" (database.password,
// ssl.key.password, sasl.oauthbearer.client.credentials.client.secret,
// database.sslpassword) or one of the names they type PASSWORD. It lets
// properties that no definition covers (converter, producer and driver
// pass-through properties, misspelled ones) be hidden too.
func Name(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, part := range strings.Split(n, ".") {
		if strings.Contains(part, "password") || strings.Contains(part, "passwd") || strings.Contains(part, "secret") {
			return true
		}
	}
	for _, s := range secretSuffixes {
		if n == s || strings.HasSuffix(n, "."+s) {
			return true
		}
	}
	return false
}

var (
	// userinfo of a URL: scheme://user:password@host (also inside jdbc:
	// URLs and messages quoting them). The password runs to the last @
	// before the path, as URL parsers read it: hiding a little too much of
	// a malformed URL is better than showing part of a password.
	urlUserinfo = regexp.MustCompile(`(//[^/?#@\s:'"]*):([^\s'"/]*)@`)
	// Oracle's thin driver puts them before the host without //:
	// jdbc:oracle:thin:scott/tiger@host:1521:orcl.
	oracleUserinfo = regexp.MustCompile(`(?i)(jdbc:oracle:\w+:[^/@\s'"]*)/([^\s'"@]*)@`)
	// password-like parameters of URLs and connection strings:
	// ?password=x, &sslpassword=x, ;password=x (JDBC, SQL Server),
	// password='x y' and password=x (libpq key/value).
	// A value runs to a separator (space, &, ;, comma); an already hidden
	// one is matched whole, so that hiding is idempotent.
	paramSecret = regexp.MustCompile(`(?i)(\b[\w.-]*(?:password|passwd|pwd|secret)[\w.-]*\s*=\s*)(\[hidden\]|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s&;,'"]*)`)
)

// URL hides the credentials in any URLs and connection strings within s:
// the password of user:password@ and the values of password-like
// parameters. It leaves everything else, so an error still says which
// host and database failed.
func URL(s string) string {
	if !strings.Contains(s, "@") && !strings.Contains(s, "=") {
		return s
	}
	s = urlUserinfo.ReplaceAllString(s, "$1:"+Hidden+"@")
	s = oracleUserinfo.ReplaceAllString(s, "$1/"+Hidden+"@")
	return paramSecret.ReplaceAllString(s, "${1}"+Hidden)
}

// Credentials returns the passwords embedded in s as URL userinfo or
// password-like parameters (jdbc:mysql://u:p@h/db, ...?password=p), so
// they can be scrubbed where a driver quotes them differently.
func Credentials(s string) []string {
	var out []string
	for _, re := range []*regexp.Regexp{urlUserinfo, oracleUserinfo} {
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			out = append(out, m[2])
		}
	}
	for _, m := range paramSecret.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.Trim(m[2], `'"`))
	}
	return out
}

// minSecret is the shortest value scrubbed from text. Replacing a one- to
// three-character secret everywhere would garble every message (and a
// password that short is no protection anyway).
const minSecret = 4

// Secrets scrubs known secret values, and URL credentials, from text. The
// zero value and nil scrub URL credentials only.
type Secrets struct {
	vals []string // longest first, so a secret containing another is hidden whole
}

// New returns a scrubber for vals, including their URL-escaped forms (a
// password in a DSN is percent-encoded).
func New(vals ...string) *Secrets {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if len(v) >= minSecret && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, v := range vals {
		add(v)
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		add(strings.TrimSpace(v))
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return &Secrets{vals: out}
}

// String returns text with every secret and URL credential hidden.
func (s *Secrets) String(text string) string {
	if s != nil {
		for _, v := range s.vals {
			if strings.Contains(text, v) {
				text = strings.ReplaceAll(text, v, Hidden)
			}
		}
	}
	return URL(text)
}

// Error returns err with a scrubbed message; errors.Is and errors.As still
// see the original chain. nil stays nil.
func (s *Secrets) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := s.String(err.Error())
	if msg == err.Error() {
		return err
	}
	return &scrubbed{msg: msg, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// Is reports whether err's message was scrubbed by a Secrets.
func Is(err error) bool {
	var s *scrubbed
	return errors.As(err, &s)
}

// Logger returns log writing through a handler that scrubs messages and
// attribute values.
func (s *Secrets) Logger(log *slog.Logger) *slog.Logger {
	return slog.New(s.Handler(log.Handler()))
}

// Handler wraps h so that messages and attribute values (strings,
// errors, and anything printed with %v) are scrubbed before h sees them.
func (s *Secrets) Handler(h slog.Handler) slog.Handler {
	if sh, ok := h.(*handler); ok && sh.s == s {
		return h
	}
	return &handler{inner: h, s: s}
}

type handler struct {
	inner slog.Handler
	s     *Secrets
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, h.s.String(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, nr)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return &handler{inner: h.inner.WithAttrs(out), s: h.s}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), s: h.s}
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		if s := h.s.String(v.String()); s != v.String() {
			return slog.String(a.Key, s)
		}
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i] = h.attr(ga)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		var text string
		switch x := v.Any().(type) {
		case error:
			text = x.Error()
		case fmt.Stringer:
			text = x.String()
		default:
			text = fmt.Sprint(x)
		}
		if s := h.s.String(text); s != text {
			return slog.String(a.Key, s)
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
