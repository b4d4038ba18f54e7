package rest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// TLSFiles are PEM files for an https listener (Kafka Connect's
// listeners.https.ssl.* settings, with PEM instead of JKS/PKCS12).
type TLSFiles struct {
	CertFile string // ssl.keystore.location: certificate chain (PEM)
	KeyFile  string // ssl.key.location: private key (PEM)
	// CAFile (ssl.truststore.location) verifies client certificates when
	// ClientAuth is "requested" or "required", and workers' certificates
	// when forwarding.
	CAFile     string
	ClientAuth string // ssl.client.auth: none (default), requested, required
}

// ServerConfig configures the listeners.
type ServerConfig struct {
	// Listeners is Kafka Connect's listeners: comma-separated
	// http://host:port and https://host:port (default http://:8083).
	Listeners string
	TLS       TLSFiles
	Logger    *slog.Logger
}

// Server serves the API on one or more listeners.
type Server struct {
	servers []*http.Server
	lns     []net.Listener
	schemes []string
	log     *slog.Logger
}

// ServerTLSConfig loads the server side TLS configuration.
func ServerTLSConfig(f TLSFiles) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("an https listener needs listeners.https.ssl.keystore.location (PEM certificate) and listeners.https.ssl.key.location (PEM key)")
	}
	pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("https listener: %w", err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	switch strings.ToLower(f.ClientAuth) {
	case "", "none":
	case "requested", "required":
		if f.CAFile == "" {
			return nil, fmt.Errorf("ssl.client.auth=%s needs ssl.truststore.location", f.ClientAuth)
		}
		pool, err := loadPool(f.CAFile)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.VerifyClientCertIfGiven
		if strings.EqualFold(f.ClientAuth, "required") {
			tc.ClientAuth = tls.RequireAndVerifyClientCert
		}
	default:
		return nil, fmt.Errorf("ssl.client.auth=%q: must be none, requested or required", f.ClientAuth)
	}
	return tc, nil
}

func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ssl.truststore.location: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ssl.truststore.location %s: no PEM certificates (Tributary reads PEM, not JKS)", path)
	}
	return pool, nil
}

// ForwardingClient returns the HTTP client used to forward requests to
// other workers: it trusts the configured CA (and presents the worker's
// certificate when client authentication is on).
func ForwardingClient(f TLSFiles, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CAFile != "" {
		pool, err := loadPool(f.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if f.CertFile != "" && f.KeyFile != "" && !strings.EqualFold(f.ClientAuth, "none") && f.ClientAuth != "" {
		pair, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, err
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	tr.TLSClientConfig = tc
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// Listen opens every listener; Serve starts serving.
func Listen(cfg ServerConfig, h http.Handler) (*Server, error) {
	listeners := cfg.Listeners
	if strings.TrimSpace(listeners) == "" {
		listeners = "http://:8083"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Server{log: log}
	for _, l := range strings.Split(listeners, ",") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" {
			s.Close()
			return nil, fmt.Errorf("listeners: %q is not of the form http://host:port or https://host:port", l)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		if u.Scheme == "https" {
			tc, err := ServerTLSConfig(cfg.TLS)
			if err != nil {
				s.Close()
				return nil, err
			}
			srv.TLSConfig = tc
		}
		ln, err := net.Listen("tcp", u.Host)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("listeners: %s: %w", l, err)
		}
		s.servers = append(s.servers, srv)
		s.lns = append(s.lns, ln)
		s.schemes = append(s.schemes, u.Scheme)
	}
	if len(s.lns) == 0 {
		return nil, errors.New("listeners: none configured")
	}
	return s, nil
}

// SetHandler sets the handler of every listener; call before Serve.
func (s *Server) SetHandler(h http.Handler) {
	for _, srv := range s.servers {
		srv.Handler = h
	}
}

// Addr returns the scheme and bound address of listener i.
func (s *Server) Addr(i int) (scheme string, addr net.Addr) { return s.schemes[i], s.lns[i].Addr() }

// Serve serves until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, len(s.servers))
	for i, srv := range s.servers {
		go func() {
			var err error
			if s.schemes[i] == "https" {
				err = srv.ServeTLS(s.lns[i], "", "")
			} else {
				err = srv.Serve(s.lns[i])
			}
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			errc <- err
		}()
		s.log.Info("HTTP listener started", "url", fmt.Sprintf("%s://%s/", s.schemes[i], s.lns[i].Addr()))
	}
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			s.Close()
			return fmt.Errorf("REST server: %w", err)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		srv.Shutdown(sctx)
	}
	return nil
}

// Close stops listening immediately.
func (s *Server) Close() {
	for _, srv := range s.servers {
		srv.Close()
	}
	for _, ln := range s.lns {
		ln.Close()
	}
}

// AdvertisedURL is the URL other workers reach this one at: Kafka
// Connect's rest.advertised.listener, rest.advertised.host.name and
// rest.advertised.port over the first matching listener.
func (s *Server) AdvertisedURL(listener, host string, port int) string {
	i := 0
	for j, sc := range s.schemes {
		if listener != "" && strings.EqualFold(sc, listener) {
			i = j
			break
		}
	}
	scheme, addr := s.Addr(i)
	h, p, _ := net.SplitHostPort(addr.String())
	if host == "" {
		host = h
		if ip := net.ParseIP(h); ip != nil && ip.IsUnspecified() {
			if hn, err := os.Hostname(); err == nil {
				host = hn
			}
		}
	}
	if port > 0 {
		p = strconv.Itoa(port)
	}
	return fmt.Sprintf("%s://%s/", scheme, net.JoinHostPort(host, p))
}
