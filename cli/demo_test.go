package cli

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemo runs `tributary demo` and checks what it prints: the snapshot,
// the changes, and the outbox event the EventRouter routes from the
// order written with its outbox row in one transaction.
func TestDemo(t *testing.T) {
	if os.Getenv("TRIBUTARY_SKIP_DB") == "1" {
		t.Skip("TRIBUTARY_SKIP_DB=1: the demo starts PostgreSQL and MariaDB")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := builtin().runDemo(ctx, slog.New(slog.DiscardHandler), &out, false, false, 90*time.Second); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^==> snapshot complete; making changes$`),
		regexp.MustCompile(`(?m)^dbserver1\.inventory\.customers +op=c +key=\{"id":1005\}`),
		regexp.MustCompile(`(?m)^dbserver1\.inventory\.orders +op=c +key=\{"id":10003\}`),
		regexp.MustCompile(`(?m)^outbox\.event\.order +outbox +key=10003 id=[0-9a-f-]{36} payload=\{"id":10003,"quantity":2,"purchaser":1003,"product_id":103\}$`),
		regexp.MustCompile(`(?m)^mariadb1\.inventory\.customers +op=d +key=\{"id":1003\}`),
		regexp.MustCompile(`(?m)^==> done: events r=14 .*outbox=1$`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the demo's output lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", strings.TrimSpace(text))
	}
}
