package rest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/herder"
)

// notLeader answers every write like a worker that is not the leader.
type notLeader struct {
	Herder
	leaderURL string
}

func (n *notLeader) PutConnectorConfig(context.Context, string, map[string]string, bool, herder.TargetState) (bool, *herder.ConnectorInfo, error) {
	return false, nil, &herder.RequestTargetError{Msg: "Only the leader can set connector configs.", URL: n.leaderURL}
}

func (n *notLeader) DeleteConnector(context.Context, string) error {
	return &herder.RequestTargetError{Msg: "Only the leader can delete connector configs.", URL: n.leaderURL}
}

func TestForwardingToTheLeader(t *testing.T) {
	var mu sync.Mutex
	var got []string
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		w.Header().Set("Location", "/connectors/a%2Fb")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write([]byte(`{"name":"a/b","config":{},"tasks":[],"type":"source"}`))
	}))
	defer leader.Close()
	h := NewHandler(Options{Herder: &notLeader{leaderURL: leader.URL + "/"}, Logger: testLogger})
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/connectors", strings.NewReader(`{"name":"a/b","config":{"connector.class":"x"}}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("u", "p")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "/connectors/a%2Fb" || !strings.Contains(string(b), `"name":"a/b"`) {
		t.Fatalf("forwarded create: %d %s %s", resp.StatusCode, resp.Header, b)
	}
	req, _ = http.NewRequest("DELETE", srv.URL+"/connectors/a%2Fb", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		`POST /connectors?forward=true Basic dTpw {"config":{"connector.class":"x","name":"a/b"},"name":"a/b"}`,
		`DELETE /connectors/a%2Fb?forward=true  `,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("leader received:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A forwarded request that lands on another non-leader gives up (two
	// hops at most); so does a worker that knows no leader.
	r, _ := http.Post(srv.URL+"/connectors?forward=false", "application/json", strings.NewReader(`{"name":"x","config":{}}`))
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 409 || string(b) != `{"error_code":409,"message":"Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}` {
		t.Fatalf("second hop: %d %s", r.StatusCode, b)
	}
	noLeader := httptest.NewServer(NewHandler(Options{Herder: &notLeader{}, Logger: testLogger}))
	defer noLeader.Close()
	r, _ = http.Post(noLeader.URL+"/connectors", "application/json", strings.NewReader(`{"name":"x","config":{}}`))
	b, _ = io.ReadAll(r.Body)
	r.Body.Close()
	if r.StatusCode != 409 || string(b) != `{"error_code":409,"message":"Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."}` {
		t.Fatalf("no leader: %d %s", r.StatusCode, b)
	}
}

func TestHTTPSListener(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)

	files := TLSFiles{CertFile: certFile, KeyFile: keyFile, CAFile: certFile}
	srv, err := Listen(ServerConfig{Listeners: "https://127.0.0.1:0", TLS: files, Logger: testLogger},
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("secure")) }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(ctx)
	url := srv.AdvertisedURL("https", "127.0.0.1", 0)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("advertised %s", url)
	}
	client, err := ForwardingClient(files, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "secure" {
		t.Fatalf("got %q", b)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("a client without the CA trusted the self-signed certificate")
	}
	if _, err := Listen(ServerConfig{Listeners: "https://127.0.0.1:0"}, nil); err == nil {
		t.Fatal("https listener without a certificate accepted")
	}
	if _, err := Listen(ServerConfig{Listeners: "ftp://x:1"}, nil); err == nil {
		t.Fatal("bad listener accepted")
	}
}
