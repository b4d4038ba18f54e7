package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/tributary-io/tributary/internal/testdb"
)

// chromiumPath finds Debian's chromium; under CI=true its absence fails
// the test (it is in .ci/test's package list), elsewhere it skips.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, n := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium): the console's browser test cannot run")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// connectorState reads the connector's state from the REST API, as an
// operator's script would.
func connectorState(t *testing.T, base, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/connectors/" + name + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st struct {
		Connector struct{ State string } `json:"connector"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st.Connector.State
}

// TestConsoleBrowser drives the live console in headless Chromium while a
// real PostgreSQL connector snapshots 400k rows and then streams: the
// snapshot bar reaches 100%, the events/s sparkline fills, Pause clicked
// in the page pauses the connector (seen in the REST status) and Resume
// resumes it; a screenshot is taken and checked.
func TestConsoleBrowser(t *testing.T) {
	chrome := chromiumPath(t)
	pg := testdb.StartPostgres(t)
	pg.CreateDatabase(t, "shop")
	pg.Exec(t, "shop",
		"CREATE TABLE big (id int PRIMARY KEY, payload text)",
		"INSERT INTO big SELECT g, repeat('x', 40) FROM generate_series(1, 400000) g",
		"ANALYZE big")
	dir := t.TempDir()
	port := freePort(t)
	cfg := filepath.Join(dir, "console.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`worker:
  listeners: http://127.0.0.1:%d
  offset.storage.file.filename: %s
  key.converter: org.apache.kafka.connect.json.JsonConverter
  key.converter.schemas.enable: "false"
  value.converter: org.apache.kafka.connect.json.JsonConverter
  value.converter.schemas.enable: "false"
name: big-pg
config:
  connector.class: io.debezium.connector.postgresql.PostgresConnector
  database.hostname: %s
  database.port: "%d"
  database.user: postgres
  database.dbname: shop
  topic.prefix: shop
  table.include.list: public.big
`, port, filepath.Join(dir, "offsets.json"), pg.Host, pg.Port)), 0o600); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()
	// Start the browser before the worker, so its start-up does not eat
	// into the snapshot.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	runInProcess(t, "run", "-c", cfg)
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/ui/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("console not served at %s/ui/: %v", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/ui/")); err != nil {
		t.Fatal(err)
	}

	// Watch the snapshot bar until it reads 100%.
	var seen []float64
	deadline = time.Now().Add(3 * time.Minute)
	for {
		pct, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const b = document.querySelector('.bar.snapshot[data-connector="big-pg"]'); return b ? b.dataset.percent : ""; })()`))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := strconv.ParseFloat(pct, 64); err == nil {
			if len(seen) == 0 || seen[len(seen)-1] != p {
				seen = append(seen, p)
			}
			if p >= 100 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot bar never reached 100%%; seen %v", seen)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("snapshot progress seen in the page: %v", seen)
	if len(seen) < 2 || seen[0] >= 100 {
		t.Fatalf("the page showed no snapshot progress before 100%%: %v", seen)
	}
	label, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const l = document.querySelector('.bar.snapshot[data-connector="big-pg"] .label'); return l ? l.textContent.trim() : ""; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(label, "100% · 400,000") {
		t.Fatalf("snapshot label %q, want 100%% of 400,000 rows", label)
	}

	// Stream: rows inserted now show up as events/s in the sparkline.
	stop := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if err := pg.ExecContext(context.Background(), "shop", fmt.Sprintf("INSERT INTO big SELECT g, 'streamed' FROM generate_series(%d, %d) g", 1_000_000+i*50, 1_000_000+i*50+49)); err != nil {
				t.Errorf("insert: %v", err)
				return
			}
		}
	}()
	defer close(stop)
	// The page re-renders its rows every second: the row is read in one
	// script, so a row replaced between two reads cannot fail the test
	// ("No node with given id found").
	type streamRow struct {
		Rate   string `json:"rate"`
		Total  string `json:"total"`
		Points string `json:"points"`
	}
	const readRow = `(() => {
		const r = document.querySelector('tr[data-connector="big-pg"]');
		if (!r) return {rate: "", total: "", points: ""};
		const q = (s) => r.querySelector(s);
		return {
			rate: q('.events-rate') ? q('.events-rate').textContent : "",
			total: q('.events-total') ? (q('.events-total').getAttribute('data-records') || "") : "",
			points: q('svg.spark.rate') ? (q('svg.spark.rate').getAttribute('data-points') || "") : "",
		};
	})()`
	var row streamRow
	deadline = time.Now().Add(60 * time.Second)
	for {
		if row, err = chromedp.Run(ctx, chromedp.Evaluate[streamRow](readRow)); err != nil {
			t.Fatal(err)
		}
		// Streamed events, beyond the snapshot's 400k, at a rate above 0,
		// and a sparkline of at least 3 points.
		n, _ := strconv.Atoi(row.Total)
		points, _ := strconv.Atoi(row.Points)
		if v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(row.Rate), ",", ""), 64); err == nil && v > 0 && n > 400_000 && points >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no streaming in the page (events/s %q, total %q, sparkline points %q)", row.Rate, row.Total, row.Points)
		}
		time.Sleep(300 * time.Millisecond)
	}

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	checkScreenshot(t, shot, 1280, 800)

	// Pause in the page; the REST API reports PAUSED. Then resume.
	for _, step := range []struct{ button, want string }{{"pause", "PAUSED"}, {"resume", "RUNNING"}} {
		sel := fmt.Sprintf(`button[data-action=%q][data-connector="big-pg"]`, step.button)
		// The page re-renders its table every second; a click that lands
		// between finding the button and clicking it is retried.
		for attempt := 1; ; attempt++ {
			err := chromedp.Do(ctx, chromedp.WaitVisible(sel), chromedp.Click(sel))
			if err == nil {
				break
			}
			if attempt == 5 {
				t.Fatalf("click %s: %v", step.button, err)
			}
		}
		deadline = time.Now().Add(30 * time.Second)
		for connectorState(t, base, "big-pg") != step.want {
			if time.Now().After(deadline) {
				t.Fatalf("after clicking %s the REST status is %s, want %s", step.button, connectorState(t, base, "big-pg"), step.want)
			}
			time.Sleep(100 * time.Millisecond)
		}
		var shown string
		deadline = time.Now().Add(10 * time.Second)
		for shown != step.want {
			// The live page re-renders its rows: a node read while it is
			// replaced is gone ("No node with given id found"); read again.
			if shown, err = chromedp.Run(ctx, chromedp.Text(`tr[data-connector="big-pg"] .connector-state`)); err != nil {
				shown = ""
			}
			if time.Now().After(deadline) {
				t.Fatalf("the page shows %q after %s, want %s (last error: %v)", shown, step.button, step.want, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// checkScreenshot decodes the PNG, checks its size and that it is not
// blank, and saves it (TRIBUTARY_TEST_ARTIFACTS, else the test's temp dir).
func checkScreenshot(t *testing.T, shot []byte, w, h int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("screenshot %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	colors := map[[3]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}]++
		}
	}
	if len(colors) < 20 {
		t.Fatalf("screenshot looks blank: %d distinct colours", len(colors))
	}
	// The header bar is dark, the page light: both must be there.
	dark, light := luminance(img.At(5, 5)), luminance(img.At(5, h-5))
	if dark > 0.3 || light < 0.7 {
		t.Fatalf("screenshot lacks the console's layout: header luminance %.2f, page %.2f", dark, light)
	}
	out := os.Getenv("TRIBUTARY_TEST_ARTIFACTS")
	if out == "" {
		out = t.TempDir()
	}
	p := filepath.Join(out, "console.png")
	if err := os.WriteFile(p, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s: %dx%d, %d bytes, %d colours", p, w, h, len(shot), len(colors))
}

func luminance(c interface{ RGBA() (r, g, b, a uint32) }) float64 {
	r, g, b, _ := c.RGBA()
	return (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 65535
}
