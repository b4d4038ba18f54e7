package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"regexp"
	"testing"
	"time"
)

// TestDemoWebhook runs `tributary demo --webhook`: PostgreSQL's snapshot
// and an update reach the in-process webhook receiver with no Kafka.
func TestDemoWebhook(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1: the demo starts PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := builtin().runWebhookDemo(ctx, slog.New(slog.DiscardHandler), &out, 90*time.Second); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^webhook <- customers op=r after=\{"id":1001,`),
		regexp.MustCompile(`(?m)^webhook <- customers op=u after=\{"id":1001,.*"email":"sally@acme.com"\}$`),
		regexp.MustCompile(`(?m)^==> done: 4 snapshot and 1 update events delivered by webhook$`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("the demo's output lacks %s:\n%s", want, out.String())
		}
	}
}
