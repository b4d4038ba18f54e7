package rest

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// BasicAuth checks HTTP Basic credentials against a credentials file in
// the format of the Jetty PropertyFileLoginModule that Kafka Connect's
// BasicAuthSecurityRestExtension uses: one "user: password" per line
// (optionally followed by ",role..."), # comments.
type BasicAuth struct {
	users map[string][32]byte
}

// LoadBasicAuth reads a credentials file.
func LoadBasicAuth(path string) (*BasicAuth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rest.auth.basic.file: %w", err)
	}
	defer f.Close()
	a := &BasicAuth{users: map[string][32]byte{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, ":=")
		if i <= 0 {
			return nil, fmt.Errorf("rest.auth.basic.file %s line %d: expected \"user: password\"", path, n)
		}
		user := strings.TrimSpace(line[:i])
		pass := strings.TrimSpace(line[i+1:])
		if j := strings.IndexByte(pass, ','); j >= 0 {
			pass = strings.TrimSpace(pass[:j])
		}
		if strings.HasPrefix(pass, "MD5:") || strings.HasPrefix(pass, "CRYPT:") || strings.HasPrefix(pass, "OBF:") {
			return nil, fmt.Errorf("rest.auth.basic.file %s line %d: only plain passwords are supported (found %s...)", path, n, pass[:strings.IndexByte(pass, ':')+1])
		}
		a.users[user] = sha256.Sum256([]byte(pass))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("rest.auth.basic.file %s: %w", path, err)
	}
	if len(a.users) == 0 {
		return nil, fmt.Errorf("rest.auth.basic.file %s: no users", path)
	}
	return a, nil
}

// NewBasicAuth builds an authenticator from user/password pairs.
func NewBasicAuth(users map[string]string) *BasicAuth {
	a := &BasicAuth{users: map[string][32]byte{}}
	for u, p := range users {
		a.users[u] = sha256.Sum256([]byte(p))
	}
	return a
}

func (a *BasicAuth) ok(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	want, known := a.users[user]
	got := sha256.Sum256([]byte(pass))
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1 && known
}

// wrap rejects requests without valid credentials the way Kafka Connect's
// JaasBasicAuthFilter does (401, plain-text body).
func (a *BasicAuth) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.ok(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="tributary"`)
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte("User cannot access the resource."))
			return
		}
		next.ServeHTTP(w, r)
	})
}
