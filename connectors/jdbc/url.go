package jdbc

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

const (
	dialectPostgres = "postgresql"
	dialectMySQL    = "mysql"
	dialectMariaDB  = "mariadb"
)

// jdbcURL is a parsed JDBC connection URL. Only the subprotocols Tributary
// has drivers for are accepted; the URL's properties (user, password and
// driver settings) are kept so each dialect can map the ones it knows.
type jdbcURL struct {
	raw      string
	dialect  string // dialectPostgres, dialectMySQL or dialectMariaDB
	hosts    []hostPort
	database string
	user     string
	password string
	props    map[string]string // lower-cased keys, user/password removed
}

type hostPort struct {
	host string
	port int
}

// parseURL parses jdbc:postgresql://host[:port][,host2...]/db?props,
// jdbc:mysql://[user[:password]@]host[:port]/db?props and
// jdbc:mariadb://..., the forms the PostgreSQL, MySQL Connector/J and
// MariaDB Connector/J drivers document for TCP connections.
func parseURL(raw string) (jdbcURL, error) {
	u := jdbcURL{raw: raw, props: map[string]string{}}
	s := strings.TrimSpace(raw)
	if !strings.HasPrefix(s, "jdbc:") {
		return u, fmt.Errorf("not a JDBC URL (expected jdbc:postgresql://, jdbc:mysql:// or jdbc:mariadb://)")
	}
	s = s[len("jdbc:"):]
	colon := strings.Index(s, ":")
	if colon < 0 {
		return u, fmt.Errorf("JDBC URL has no subprotocol")
	}
	sub := strings.ToLower(s[:colon])
	rest := s[colon+1:]
	defPort := 0
	switch sub {
	case "postgresql", "pgsql":
		u.dialect, defPort = dialectPostgres, 5432
	case "mysql":
		u.dialect, defPort = dialectMySQL, 3306
	case "mariadb":
		u.dialect, defPort = dialectMariaDB, 3306
	default:
		return u, fmt.Errorf("unsupported JDBC subprotocol %q (supported: postgresql, mysql, mariadb)", sub)
	}
	if !strings.HasPrefix(rest, "//") {
		if u.dialect == dialectPostgres {
			// jdbc:postgresql:database connects to localhost.
			db, q, _ := strings.Cut(rest, "?")
			u.database = db
			u.hosts = []hostPort{{"localhost", defPort}}
			return u, u.parseProps(q)
		}
		return u, fmt.Errorf("JDBC URL must have the form jdbc:%s://host[:port]/database", sub)
	}
	rest = rest[2:]
	authority, path, _ := strings.Cut(rest, "/")
	var query string
	if i := strings.Index(authority, "?"); i >= 0 {
		authority, query = authority[:i], authority[i+1:]
	} else {
		path, query, _ = strings.Cut(path, "?")
	}
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo := authority[:at]
		authority = authority[at+1:]
		user, pass, _ := strings.Cut(userinfo, ":")
		var err error
		if u.user, err = url.PathUnescape(user); err != nil {
			return u, fmt.Errorf("JDBC URL user: %w", err)
		}
		if u.password, err = url.PathUnescape(pass); err != nil {
			return u, fmt.Errorf("JDBC URL password is not properly escaped")
		}
	}
	if authority == "" {
		u.hosts = []hostPort{{"localhost", defPort}}
	}
	for _, h := range strings.Split(authority, ",") {
		if h == "" {
			continue
		}
		host, port := h, defPort
		if strings.HasPrefix(h, "[") { // IPv6 literal
			end := strings.Index(h, "]")
			if end < 0 {
				return u, fmt.Errorf("JDBC URL host %q: unterminated IPv6 literal", h)
			}
			host = h[1:end]
			if p := h[end+1:]; p != "" {
				if !strings.HasPrefix(p, ":") {
					return u, fmt.Errorf("JDBC URL host %q: unexpected %q", h, p)
				}
				n, err := strconv.Atoi(p[1:])
				if err != nil || n <= 0 || n > 65535 {
					return u, fmt.Errorf("JDBC URL host %q: invalid port", h)
				}
				port = n
			}
		} else if hh, p, err := net.SplitHostPort(h); err == nil {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 65535 {
				return u, fmt.Errorf("JDBC URL host %q: invalid port %q", h, p)
			}
			host, port = hh, n
		}
		if host == "" {
			return u, fmt.Errorf("JDBC URL host %q: empty host name", h)
		}
		u.hosts = append(u.hosts, hostPort{host, port})
	}
	db, err := url.PathUnescape(path)
	if err != nil {
		return u, fmt.Errorf("JDBC URL database name: %w", err)
	}
	u.database = db
	return u, u.parseProps(query)
}

func (u *jdbcURL) parseProps(q string) error {
	if q == "" {
		return nil
	}
	// Connector/J also accepts ';' between properties.
	for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(kv, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return fmt.Errorf("JDBC URL property %q: %w", k, err)
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return fmt.Errorf("JDBC URL property %q: value is not properly escaped", key)
		}
		switch strings.ToLower(key) {
		case "user":
			u.user = val
		case "password":
			u.password = val
		default:
			u.props[strings.ToLower(key)] = val
		}
	}
	return nil
}

// redacted is the URL without credentials, for logs and errors.
func (u jdbcURL) redacted() string {
	var b strings.Builder
	b.WriteString("jdbc:" + u.dialect + "://")
	for i, h := range u.hosts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(net.JoinHostPort(h.host, strconv.Itoa(h.port)))
	}
	b.WriteString("/" + u.database)
	return b.String()
}
