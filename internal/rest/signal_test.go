package rest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tributary-io/tributary/internal/signal"
)

func TestSignalRoute(t *testing.T) {
	w := startWorker(t, workerOpts{})
	post := func(name, body string) (int, string) {
		t.Helper()
		resp, err := w.client.Post(w.url+"/connectors/"+name+"/signals", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, body := post("nobody", `{"id":"s1","type":"log","data":{"message":"hi"}}`); code != http.StatusNotFound || !strings.Contains(body, "Unknown connector: nobody") {
		t.Fatalf("signal to a connector without a task: %d %s", code, body)
	}
	ch := make(chan signal.Record, 1)
	defer w.signals.Register("pg", ch)()
	if code, body := post("pg", `{"type":"log"`); code != http.StatusBadRequest {
		t.Fatalf("malformed signal: %d %s", code, body)
	}
	code, body := post("pg", `{"id":"s2","type":"execute-snapshot","data":{"data-collections":["public.t"]}}`)
	if code != http.StatusAccepted || !strings.Contains(body, `"id":"s2"`) {
		t.Fatalf("signal: %d %s", code, body)
	}
	select {
	case r := <-ch:
		if r.ID != "s2" || r.Type != "execute-snapshot" || r.Data != `{"data-collections":["public.t"]}` || r.Channel != "rest" {
			t.Fatalf("delivered %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("signal not delivered")
	}
	// Without an id the signal gets one, so that the log can name it.
	code, body = post("pg", `{"type":"pause-snapshot"}`)
	r := <-ch
	if code != http.StatusAccepted || r.ID == "" || !strings.Contains(body, r.ID) {
		t.Fatalf("signal without id: %d %s, delivered %+v", code, body, r)
	}
}
