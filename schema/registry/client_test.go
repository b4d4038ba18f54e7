package registry_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/riferrei/srclient"

	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

const (
	v1 = `{"type":"record","name":"User","fields":[{"name":"id","type":"long"}]}`
	v2 = `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}`
	v3 = `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"age","type":"int"}]}`
)

// counting wraps the server to count requests, so tests can see the cache work.
type counting struct {
	h http.Handler
	n atomic.Int64
}

func (c *counting) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.n.Add(1)
	c.h.ServeHTTP(w, r)
}

func newRegistry(t *testing.T) (*httptest.Server, *counting) {
	t.Helper()
	c := &counting{h: server.NewServer(server.NewMemoryStore(), nil)}
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	return ts, c
}

func TestClientAgainstServer(t *testing.T) {
	ctx := context.Background()
	ts, counter := newRegistry(t)
	c, err := registry.NewClient(registry.Config{URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	id1, err := c.Register(ctx, "users-value", v1)
	if err != nil {
		t.Fatal(err)
	}
	before := counter.n.Load()
	if again, err := c.Register(ctx, "users-value", v1); err != nil || again != id1 {
		t.Fatalf("cached Register = %d, %v", again, err)
	}
	if counter.n.Load() != before {
		t.Error("registering the same schema twice made a second request")
	}
	id2, err := c.Register(ctx, "users-value", v2)
	if err != nil || id2 == id1 {
		t.Fatalf("Register v2 = %d, %v", id2, err)
	}

	_, err = c.Register(ctx, "users-value", v3)
	var rerr *registry.Error
	if !errors.As(err, &rerr) || rerr.Code != registry.CodeIncompatibleSchema || rerr.Status != 409 || !registry.IsIncompatible(err) {
		t.Fatalf("incompatible Register error = %v", err)
	}

	// A fresh client fetches by id once, then serves from its cache.
	c2, _ := registry.NewClient(registry.Config{URL: ts.URL})
	s, err := c2.SchemaByID(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	before = counter.n.Load()
	if s2, _ := c2.SchemaByID(ctx, id2); s2 != s || counter.n.Load() != before {
		t.Error("SchemaByID is not cached")
	}
	if _, err := c2.SchemaByID(ctx, 999); registry.ErrorCode(err) != registry.CodeSchemaNotFound {
		t.Errorf("unknown id error = %v", err)
	}

	latest, err := c.Latest(ctx, "users-value")
	if err != nil || latest.Version != 2 || latest.ID != id2 {
		t.Errorf("Latest = %+v, %v", latest, err)
	}
	if v, err := c.Version(ctx, "users-value", 1); err != nil || v.ID != id1 {
		t.Errorf("Version 1 = %+v, %v", v, err)
	}
	if _, err := c.Version(ctx, "users-value", 9); registry.ErrorCode(err) != registry.CodeVersionNotFound {
		t.Errorf("Version 9 error = %v", err)
	}
	if _, err := c.Latest(ctx, "nobody"); registry.ErrorCode(err) != registry.CodeSubjectNotFound {
		t.Errorf("unknown subject error = %v", err)
	}
	if got, err := c.Lookup(ctx, "users-value", v1, false); err != nil || got.Version != 1 {
		t.Errorf("Lookup = %+v, %v", got, err)
	}
	if _, err := c.Lookup(ctx, "users-value", v3, false); registry.ErrorCode(err) != registry.CodeSchemaNotFound {
		t.Errorf("Lookup absent error = %v", err)
	}
	if subs, err := c.Subjects(ctx, false); err != nil || !reflect.DeepEqual(subs, []string{"users-value"}) {
		t.Errorf("Subjects = %v, %v", subs, err)
	}
	if vs, err := c.Versions(ctx, "users-value", false); err != nil || !reflect.DeepEqual(vs, []int{1, 2}) {
		t.Errorf("Versions = %v, %v", vs, err)
	}
	ok, msgs, err := c.TestCompatibility(ctx, "users-value", 0, v3)
	if err != nil || ok || len(msgs) == 0 {
		t.Errorf("TestCompatibility(v3) = %v, %v, %v", ok, msgs, err)
	}
	if err := c.SetCompatibility(ctx, "users-value", "NONE"); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Compatibility(ctx, "users-value"); err != nil || l != "NONE" {
		t.Errorf("Compatibility = %q, %v", l, err)
	}
	if err := c.SetCompatibility(ctx, "", "sideways"); registry.ErrorCode(err) != registry.CodeInvalidCompatibilityLevel {
		t.Errorf("invalid level error = %v", err)
	}
	if err := c.DeleteCompatibility(ctx, "users-value"); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Compatibility(ctx, "users-value"); err != nil || l != "BACKWARD" {
		t.Errorf("Compatibility after delete = %q, %v", l, err)
	}
	if v, err := c.DeleteVersion(ctx, "users-value", 0, false); err != nil || v != 2 {
		t.Errorf("DeleteVersion(latest) = %d, %v", v, err)
	}
	if vs, err := c.DeleteSubject(ctx, "users-value", false); err != nil || !reflect.DeepEqual(vs, []int{1}) {
		t.Errorf("DeleteSubject = %v, %v", vs, err)
	}
	if vs, err := c.DeleteSubject(ctx, "users-value", true); err != nil || !reflect.DeepEqual(vs, []int{1, 2}) {
		t.Errorf("DeleteSubject permanent = %v, %v", vs, err)
	}
}

func TestSubjectWithSlash(t *testing.T) {
	ts, _ := newRegistry(t)
	c, _ := registry.NewClient(registry.Config{URL: ts.URL})
	ctx := context.Background()
	id, err := c.Register(ctx, "a/b c", `"int"`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Latest(ctx, "a/b c")
	if err != nil || got.ID != id || got.Subject != "a/b c" {
		t.Errorf("Latest(a/b c) = %+v, %v", got, err)
	}
}

func TestBasicAuthAndTLS(t *testing.T) {
	h := server.NewServer(server.NewMemoryStore(), nil)
	var sawAuth atomic.Bool
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "alice" || p != "s3cret:x" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error_code":401,"message":"Unauthorized"}`))
			return
		}
		sawAuth.Store(true)
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	cfg, err := registry.ConfigFromProperties(map[string]string{
		"schema.registry.url":             ts.URL,
		"basic.auth.credentials.source":   "USER_INFO",
		"basic.auth.user.info":            "alice:s3cret:x",
		"schema.registry.ssl.ca.location": ca,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := registry.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, "s", `"int"`); err != nil {
		t.Fatalf("Register over TLS with basic auth: %v", err)
	}
	if !sawAuth.Load() {
		t.Error("credentials never reached the server")
	}

	noAuth, _ := registry.NewClient(registry.Config{URL: ts.URL, CAFile: ca})
	if _, err := noAuth.Subjects(ctx, false); registry.ErrorCode(err) != 401 {
		t.Errorf("without credentials: %v", err)
	}
	noCA, _ := registry.NewClient(registry.Config{URL: ts.URL, BasicAuthCredentialsSource: "USER_INFO", BasicAuthUserInfo: "alice:s3cret:x"})
	if _, err := noCA.Subjects(ctx, false); err == nil || registry.ErrorCode(err) != 0 {
		t.Errorf("an untrusted certificate was accepted: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []registry.Config{
		{URL: "not a url"},
		{URL: "http://x", BasicAuthCredentialsSource: "USER_INFO", BasicAuthUserInfo: "nocolon"},
		{URL: "http://x", BasicAuthUserInfo: "a:b"},
		{URL: "http://x", BasicAuthCredentialsSource: "SASL_INHERIT"},
		{URL: "http://x", BasicAuthCredentialsSource: "URL"},
		{URL: "https://x", CAFile: "/nonexistent/ca.pem"},
		{URL: "https://x", CertFile: "/tmp/only-cert.pem"},
	}
	for _, cfg := range bad {
		if _, err := registry.NewClient(cfg); err == nil {
			t.Errorf("NewClient(%+v) succeeded", cfg)
		}
	}
	if _, err := registry.ConfigFromProperties(map[string]string{}); err == nil {
		t.Error("properties without a url accepted")
	}
}

// TestSrclient has an independent Go client (riferrei/srclient) register and
// read schemas from our server.
func TestSrclient(t *testing.T) {
	ts, _ := newRegistry(t)
	sr := srclient.CreateSchemaRegistryClient(ts.URL)
	s1, err := sr.CreateSchema("orders-value", v1, srclient.Avro)
	if err != nil {
		t.Fatalf("srclient CreateSchema: %v", err)
	}
	s2, err := sr.CreateSchema("orders-value", v2, srclient.Avro)
	if err != nil {
		t.Fatalf("srclient CreateSchema v2: %v", err)
	}
	if s1.ID() == s2.ID() {
		t.Errorf("two schemas share id %d", s1.ID())
	}
	if _, err := sr.CreateSchema("orders-value", v3, srclient.Avro); err == nil {
		t.Error("srclient registered an incompatible schema")
	}
	sr.ResetCache()
	got, err := sr.GetSchema(s1.ID())
	if err != nil {
		t.Fatalf("srclient GetSchema: %v", err)
	}
	if got.Codec() == nil {
		t.Error("srclient could not build a codec from the served schema")
	}
	latest, err := sr.GetLatestSchema("orders-value")
	if err != nil || latest.ID() != s2.ID() || latest.Version() != 2 {
		t.Fatalf("srclient GetLatestSchema = %+v, %v", latest, err)
	}
	byVersion, err := sr.GetSchemaByVersion("orders-value", 1)
	if err != nil || byVersion.ID() != s1.ID() {
		t.Fatalf("srclient GetSchemaByVersion = %+v, %v", byVersion, err)
	}
	subjects, err := sr.GetSubjects()
	if err != nil || !reflect.DeepEqual(subjects, []string{"orders-value"}) {
		t.Errorf("srclient GetSubjects = %v, %v", subjects, err)
	}
	versions, err := sr.GetSchemaVersions("orders-value")
	if err != nil || !reflect.DeepEqual(versions, []int{1, 2}) {
		t.Errorf("srclient GetSchemaVersions = %v, %v", versions, err)
	}
	looked, err := sr.LookupSchema("orders-value", v1, srclient.Avro)
	if err != nil || looked.ID() != s1.ID() {
		t.Errorf("srclient LookupSchema = %+v, %v", looked, err)
	}
	ok, err := sr.IsSchemaCompatible("orders-value", v3, "latest", srclient.Avro)
	if err != nil || ok {
		t.Errorf("srclient IsSchemaCompatible(v3) = %v, %v", ok, err)
	}
	level, err := sr.GetGlobalCompatibilityLevel()
	if err != nil || *level != srclient.Backward {
		t.Errorf("srclient GetGlobalCompatibilityLevel = %v, %v", level, err)
	}
	if _, err := sr.ChangeSubjectCompatibilityLevel("orders-value", srclient.Full); err != nil {
		t.Errorf("srclient ChangeSubjectCompatibilityLevel: %v", err)
	}
	if err := sr.DeleteSubject("orders-value", false); err != nil {
		t.Errorf("srclient DeleteSubject: %v", err)
	}
	if subjects, _ := sr.GetSubjectsIncludingDeleted(); !reflect.DeepEqual(subjects, []string{"orders-value"}) {
		t.Errorf("srclient GetSubjectsIncludingDeleted = %v", subjects)
	}
}
