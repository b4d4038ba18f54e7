// Package webhook is a sink connector that POSTs records to an HTTP
// endpoint. It reads Kafka topics like any Kafka Connect sink (consumer
// group, offsets committed after delivery, errors.tolerance, dead letter
// queue, transforms: all internal/sinkrunner's) and serves as the bus of
// Kafka-less pipelines (internal/pipeline). Property names follow
// Confluent's HTTP sink connector where it has the same setting
// (http.api.url, request.method, headers, header.separator,
// batch.max.size, retry.backoff.ms, http.request.timeout.ms).
//
// The body is the record value as JSON (one event per request), or with
// batch.max.size > 1 a JSON array of up to that many values. Every request
// carries Idempotency-Key (the first event's Kafka coordinates, or the
// pipeline event id) and, with hmac.secret, an HMAC-SHA256 of the body in
// hmac.header ("sha256=<hex>").
//
// Delivery: 2xx is success. 5xx, 408, 429, timeouts and connection errors
// are retried with exponential backoff and full jitter (retry.backoff.ms
// doubling up to retry.backoff.max.ms) for as long as the connector runs,
// so an outage of the receiver loses nothing. Any other 4xx rejects the
// request's events: the sink runner retries them one by one and hands the
// rejected one to errors.tolerance and the dead letter queue.
//
// Ordering: events are spread over http.max.concurrency lanes by a hash of
// their key; a lane sends one request at a time, so a key's events arrive
// in Kafka order while different keys are delivered concurrently. Events
// of a failed batch that were already accepted are sent again when the
// batch is retried (at-least-once); receivers deduplicate on
// Idempotency-Key.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/connect/config"
	"github.com/tributary-io/tributary/internal/bus"
)

// Class is the connector class.
const Class = "io.tributary.connect.http.WebhookSinkConnector"

// Plugin is the webhook sink connector.
func Plugin() *connect.Plugin {
	return bus.SinkPlugin(Class, []string{"webhook-sink", "WebhookSinkConnector"}, Def, NewPublisher)
}

// Def returns the connector's properties.
func Def() *config.Def {
	d := config.NewDef()
	d.Define(config.Key{Name: "http.api.url", Required: true, Importance: config.High, Doc: "endpoint the events are sent to (http or https)"})
	d.Define(config.Key{Name: "request.method", Default: "POST", OneOf: []string{"POST", "PUT"}, Doc: "HTTP method of each request: POST or PUT"})
	d.Define(config.Key{Name: "headers", Type: config.TypePassword,
		Doc: "extra request headers, Name:Value separated by header.separator (hidden in logs: they often carry tokens)"})
	d.Define(config.Key{Name: "header.separator", Default: "|", Doc: "separator between the name:value pairs of the headers property"})
	d.Define(config.Key{Name: "batch.max.size", Type: config.TypeInt, Default: "1", Validate: positive,
		Doc: "events per request; above 1 the body is a JSON array"})
	d.Define(config.Key{Name: "http.max.concurrency", Type: config.TypeInt, Default: "4", Validate: positive,
		Doc: "requests in flight at once; a key's events always go through the same lane, one request at a time"})
	d.Define(config.Key{Name: "hmac.secret", Type: config.TypePassword, Doc: "key of the HMAC-SHA256 signature of each body"})
	d.Define(config.Key{Name: "hmac.header", Default: "X-Tributary-Signature", Doc: "header carrying sha256=<hex signature>"})
	d.Define(config.Key{Name: "retry.backoff.ms", Type: config.TypeLong, Default: "3000", Validate: positive,
		Doc: "first pause before a failed request is retried; doubles, with full jitter"})
	d.Define(config.Key{Name: "retry.backoff.max.ms", Type: config.TypeLong, Default: "60000", Validate: positive, Doc: "longest pause between retries of a failed request (the pause doubles from retry.backoff.ms)"})
	d.Define(config.Key{Name: "http.request.timeout.ms", Type: config.TypeLong, Default: "30000", Validate: positive, Doc: "how long one request may take, response included"})
	d.Define(config.Key{Name: "http.connect.timeout.ms", Type: config.TypeLong, Default: "30000", Validate: positive, Doc: "how long connecting to the endpoint may take"})
	d.Merge(bus.EncoderDef())
	return d
}

func positive(v string) error {
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(v), &n); err != nil || n <= 0 {
		return errors.New("must be a positive integer")
	}
	return nil
}

// Publisher sends messages to the endpoint.
type Publisher struct {
	url        string
	method     string
	headers    http.Header
	batch      int
	lanes      int
	secret     []byte
	sigHeader  string
	backoff    time.Duration
	backoffMax time.Duration
	client     *http.Client
	log        *slog.Logger
}

var _ bus.Publisher = (*Publisher)(nil)

// NewPublisher reads the properties and checks that the endpoint's host
// accepts connections.
func NewPublisher(ctx context.Context, v *config.Values, log *slog.Logger) (*Publisher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	raw := v.String("http.api.url")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("http.api.url=%q: not an http:// or https:// URL", redact(raw))
	}
	p := &Publisher{url: raw, method: v.String("request.method"), headers: http.Header{}, batch: int(v.Int("batch.max.size")),
		lanes: int(v.Int("http.max.concurrency")), sigHeader: v.String("hmac.header"),
		backoff: v.Millis("retry.backoff.ms"), backoffMax: v.Millis("retry.backoff.max.ms"), log: log}
	if p.method == "" {
		p.method = "POST"
	}
	p.method = strings.ToUpper(p.method)
	if s := v.String("hmac.secret"); s != "" {
		if p.sigHeader == "" {
			return nil, errors.New("hmac.header: must name a header when hmac.secret is set")
		}
		p.secret = []byte(s)
	}
	sep := v.String("header.separator")
	if sep == "" {
		sep = "|"
	}
	if hs := v.String("headers"); hs != "" {
		for i, h := range strings.Split(hs, sep) {
			name, value, ok := strings.Cut(h, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
				// The entry may hold a token: name it by position only.
				return nil, fmt.Errorf("headers: entry %d is not Name:Value (entries are separated by header.separator %q)", i+1, sep)
			}
			p.headers.Add(name, strings.TrimSpace(value))
		}
	}
	dialer := &net.Dialer{Timeout: v.Millis("http.connect.timeout.ms")}
	p.client = &http.Client{
		Timeout:   v.Millis("http.request.timeout.ms"),
		Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: p.lanes, TLSHandshakeTimeout: v.Millis("http.connect.timeout.ms")},
	}
	// Fail at start rather than retrying for ever against a host that
	// does not exist or a port nobody listens on.
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	c, err := dialer.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("http.api.url=%s: cannot connect to %s (http.connect.timeout.ms=%d): %w", redact(raw), host,
			v.Int("http.connect.timeout.ms"), err)
	}
	c.Close()
	return p, nil
}

// redact hides credentials in a URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("[redacted]")
	return u.String()
}

// Publish implements bus.Publisher.
func (p *Publisher) Publish(ctx context.Context, msgs []*bus.Message) error {
	lanes := make([][]int, p.lanes)
	for i, m := range msgs {
		l := 0
		if p.lanes > 1 {
			h := fnv.New32a()
			h.Write(m.Key)
			l = int(h.Sum32() % uint32(p.lanes))
		}
		lanes[l] = append(lanes[l], i)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		rejected *bus.RejectedError
		failed   error
		wg       sync.WaitGroup
	)
	for _, idx := range lanes {
		if len(idx) == 0 {
			continue
		}
		wg.Add(1)
		go func(idx []int) {
			defer wg.Done()
			for start := 0; start < len(idx); start += p.batch {
				chunk := idx[start:min(start+p.batch, len(idx))]
				err := p.send(ctx, msgs, chunk)
				if err == nil {
					continue
				}
				mu.Lock()
				if r, ok := bus.IsRejected(err); ok {
					// The lowest index, so the runner isolates records in order.
					if rejected == nil || r.Index < rejected.Index {
						rejected = r
					}
				} else if failed == nil {
					failed = err
					cancel()
				}
				mu.Unlock()
				return // the lane's later events wait for the retry: per-key order
			}
		}(idx)
	}
	wg.Wait()
	if failed != nil {
		return bus.Transient(failed)
	}
	if rejected != nil {
		return rejected
	}
	return nil
}

// send delivers one request's events, retrying what may succeed later
// until ctx ends.
func (p *Publisher) send(ctx context.Context, msgs []*bus.Message, idx []int) error {
	body, err := p.body(msgs, idx)
	if err != nil {
		return &bus.RejectedError{Index: idx[0], Err: err}
	}
	first := msgs[idx[0]]
	backoff := p.backoff
	for attempt := 1; ; attempt++ {
		status, respBody, err := p.post(ctx, body, first.ID)
		switch {
		case err == nil && status/100 == 2:
			return nil
		case err == nil && status/100 == 4 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests:
			return &bus.RejectedError{Index: idx[0], Err: fmt.Errorf("http.api.url answered %d for %d event(s) from %s: %s",
				status, len(idx), first.Coords(), respBody)}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		reason := fmt.Sprintf("status %d: %s", status, respBody)
		if err != nil {
			reason = err.Error()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				reason += " (http.request.timeout.ms)"
			}
		}
		// Full jitter: many tasks retrying against one receiver spread out.
		wait := time.Duration(rand.Int64N(int64(backoff) + 1))
		p.log.Warn("webhook request failed; retrying", "events", len(idx), "first", first.Coords(), "attempt", attempt,
			"reason", reason, "wait", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, p.backoffMax)
	}
}

// body renders the request body: the value itself for one event, a JSON
// array of values for several.
func (p *Publisher) body(msgs []*bus.Message, idx []int) ([]byte, error) {
	if p.batch == 1 {
		m := msgs[idx[0]]
		if m.Value == nil {
			return []byte("null"), nil
		}
		if !json.Valid(m.Value) {
			return nil, fmt.Errorf("value of %s is not JSON (use JsonConverter, or StringConverter/ByteArrayConverter on JSON data)", m.Coords())
		}
		return m.Value, nil
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, j := range idx {
		if i > 0 {
			b.WriteByte(',')
		}
		m := msgs[j]
		if m.Value == nil {
			b.WriteString("null")
			continue
		}
		if !json.Valid(m.Value) {
			return nil, fmt.Errorf("value of %s is not JSON (use JsonConverter, or StringConverter/ByteArrayConverter on JSON data)", m.Coords())
		}
		b.Write(m.Value)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

func (p *Publisher) post(ctx context.Context, body []byte, id string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, p.method, p.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	for k, vs := range p.headers {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set("Idempotency-Key", id)
	}
	if p.secret != nil {
		mac := hmac.New(sha256.New, p.secret)
		mac.Write(body)
		req.Header.Set(p.sigHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may hold credentials
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(msg)), nil
}

// Close implements bus.Publisher.
func (p *Publisher) Close() error {
	p.client.CloseIdleConnections()
	return nil
}
