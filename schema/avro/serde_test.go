package avro_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/tributary-io/tributary/schema/avro"
	"github.com/tributary-io/tributary/schema/registry"
	"github.com/tributary-io/tributary/schema/registry/server"
)

func TestFrame(t *testing.T) {
	got, err := avro.AppendFrame(nil, 0x01020304, []byte{0xAA})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 1, 2, 3, 4, 0xAA}; !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame = %x, want %x", got, want)
	}
	id, payload, err := avro.SplitFrame(got)
	if err != nil || id != 0x01020304 || !bytes.Equal(payload, []byte{0xAA}) {
		t.Fatalf("SplitFrame = %d, %x, %v", id, payload, err)
	}
	for _, bad := range [][]byte{nil, {0, 0, 0, 1}, {1, 0, 0, 0, 1, 2}} {
		if _, _, err := avro.SplitFrame(bad); !errors.Is(err, avro.ErrNotFramed) {
			t.Errorf("SplitFrame(%x) error = %v", bad, err)
		}
	}
	if _, err := avro.AppendFrame(nil, -1, nil); err == nil {
		t.Error("negative id framed")
	}
}

const userSchema = `{"type":"record","name":"User","fields":[{"name":"id","type":"long"},{"name":"email","type":["null","string"],"default":null}]}`

func TestSerdeRoundTripThroughRegistry(t *testing.T) {
	var requests atomic.Int64
	h := server.NewServer(server.NewMemoryStore(), nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	ctx := context.Background()

	producerClient, _ := registry.NewClient(registry.Config{URL: ts.URL})
	enc := avro.NewSerde(producerClient, nil)
	var msgs [][]byte
	for i := range 5 {
		m, err := enc.Encode(ctx, "users-value", userSchema, map[string]any{
			"id": int64(i), "email": map[string]any{"string": "u@example.com"},
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("5 encodes with one schema made %d registry requests, want 1", n)
	}
	// id 1, then long 4 (zigzag 8), union branch 1 (zigzag 2), string of 13.
	want := append([]byte{0, 0, 0, 0, 1, 8, 2, 26}, "u@example.com"...)
	if !bytes.Equal(msgs[4], want) {
		t.Errorf("message = %x, want %x", msgs[4], want)
	}

	consumerClient, _ := registry.NewClient(registry.Config{URL: ts.URL})
	dec := avro.NewSerde(nil, consumerClient)
	before := requests.Load()
	for i, m := range msgs {
		native, id, err := dec.Decode(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		wantNative := map[string]any{"id": int64(i), "email": map[string]any{"string": "u@example.com"}}
		if id != 1 || !reflect.DeepEqual(native, wantNative) {
			t.Errorf("Decode = %v (id %d), want %v", native, id, wantNative)
		}
	}
	if n := requests.Load() - before; n != 1 {
		t.Errorf("5 decodes of one schema id made %d registry requests, want 1", n)
	}

	if _, _, err := dec.Decode(ctx, []byte{0, 0, 0, 0, 9, 1}); registry.ErrorCode(err) != registry.CodeSchemaNotFound {
		t.Errorf("unknown id: %v", err)
	}
	if _, _, err := dec.Decode(ctx, append(append([]byte{}, msgs[0]...), 0)); err == nil {
		t.Error("trailing byte accepted")
	}
	if _, err := enc.Encode(ctx, "users-value", userSchema, map[string]any{"id": "nope"}); err == nil {
		t.Error("value not matching the schema encoded")
	}
	if _, err := enc.Encode(ctx, "users-value", `{"type":"nope"}`, nil); err == nil {
		t.Error("invalid schema accepted")
	}
}
