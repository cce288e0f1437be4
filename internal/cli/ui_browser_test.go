package cli_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	sdkpb "go.temporal.io/api/sdk/v1"

	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// browser is headless Debian Chromium (make tools installs it; or
// CUTOVER_CHROMIUM) driven by chromedp. Never skipped: a missing browser
// is a broken setup.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("CUTOVER_CHROMIUM")
	if path == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			t.Fatalf("chromium not found (make tools installs it with apt-get, or set CUTOVER_CHROMIUM): %v", err)
		}
		path = p
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 800), chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; it lives as long as ctx.
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where browser tests leave their screenshots
// (CUTOVER_TEST_ARTIFACTS, default <tmp>/cutover-test-artifacts).
func artifacts(t *testing.T) string {
	dir := os.Getenv("CUTOVER_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "cutover-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// panel is what the UI shows in one section of the User Metadata tab.
type panel struct {
	Found bool `json:"found"`
	// Text is the section body's rendered text.
	Text string `json:"text"`
	// Clipped are the elements of the body drawn outside it, and the
	// overflow of the body itself (scroll size beyond its box).
	Clipped []string `json:"clipped"`
}

// readPanel finds the section headed title and measures it. Temporal UI
// 2.x renders Current Details' Markdown in an iframe of fixed height
// (100px): what does not fit is cut off, so the frame's document is
// measured against the frame.
const readPanel = `((title) => {
  const h = [...document.querySelectorAll('h3')].find(e => e.textContent.trim() === title);
  if (!h) return {found: false, text: "", clipped: []};
  const head = h.closest('.surface-information') || h;
  const body = head.nextElementSibling;
  if (!body) return {found: false, text: "", clipped: []};
  const frame = body.querySelector('iframe');
  const clipped = [];
  if (frame) {
    const doc = frame.contentDocument;
    if (!doc || !doc.body) return {found: true, text: "", clipped: []};
    const root = doc.documentElement;
    if (root.scrollHeight > frame.clientHeight + 1) clipped.push('frame: ' + root.scrollHeight + 'px of content in ' + frame.clientHeight + 'px');
    if (root.scrollWidth > frame.clientWidth + 1) clipped.push('frame: ' + root.scrollWidth + 'px wide in ' + frame.clientWidth + 'px');
    return {found: true, text: doc.body.innerText, clipped};
  }
  const box = body.getBoundingClientRect();
  body.querySelectorAll('*').forEach(e => {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > box.right + 1 || r.bottom > box.bottom + 1 || r.left < box.left - 1))
      clipped.push(e.tagName + ' "' + e.textContent.trim().slice(0, 40) + '"');
  });
  return {found: true, text: body.innerText, clipped};
})`

// plain is Current Details' Markdown as the UI renders it: no emphasis or
// code marks, straight quotes (the renderer curls them), one space
// between words.
func plain(md string) string {
	md = strings.NewReplacer("**", "", "`", "", "“", `"`, "”", `"`, "‘", "'", "’", "'").Replace(md)
	return strings.Join(strings.Fields(md), " ")
}

// TestCurrentDetailsFitInTheUI opens the real Temporal UI (the dev
// server's, 2.x) in headless Chromium at a run waiting at its gate and
// again when it is Done: the User Metadata tab's Current Details show the
// whole text the workflow set, every line, nothing drawn outside the
// frame; the Summary is the one `cutover start` set. Screenshots are left
// in the artifacts directory.
func TestCurrentDetailsFitInTheUI(t *testing.T) {
	srv := sandboxtest.TemporalWithUI(t)
	d := startWorkerOn(t, srv)
	c := d.client

	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, []byte(fmt.Sprintf(e2eSpec, 11)), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := d.cutover("start", "-f", specPath); code != 0 {
		t.Fatalf("start: %d %s%s", code, out, errs)
	}
	id := "cutover-e2e-11"
	ctx := browser(t)
	shots := artifacts(t)

	look := func(state string) {
		t.Helper()
		v, err := c.QueryWorkflow(context.Background(), id, "", "__temporal_workflow_metadata")
		if err != nil {
			t.Fatal(err)
		}
		var meta sdkpb.WorkflowMetadata
		if err := v.Get(&meta); err != nil {
			t.Fatal(err)
		}
		want := meta.GetCurrentDetails()
		run, err := c.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			t.Fatal(err)
		}
		url := fmt.Sprintf("http://%s/namespaces/%s/workflows/%s/%s/user-metadata", srv.UIAddress, srv.Namespace, id, run.GetWorkflowExecutionInfo().GetExecution().GetRunId())
		tctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if _, err := chromedp.Run(tctx, chromedp.Navigate(url)); err != nil {
			t.Fatalf("open %s: %v", url, err)
		}
		var details, summary panel
		deadline := time.Now().Add(30 * time.Second)
		for {
			details, err = chromedp.Run(tctx, chromedp.Evaluate[panel](readPanel+`("Current Details")`))
			if err == nil && details.Found && plain(details.Text) == plain(want) {
				break
			}
			if time.Now().After(deadline) {
				if png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)); err == nil {
					_ = os.WriteFile(filepath.Join(shots, "current-details-"+state+"-failed.png"), png, 0o644)
				}
				t.Fatalf("%s: Current Details (found %v) show %q (%v), want %q; screenshot in %s", state, details.Found, details.Text, err, plain(want), shots)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(shots, "current-details-"+state+".png"), png, 0o644)
		}
		if len(details.Clipped) > 0 {
			t.Errorf("%s: Current Details do not fit their frame: %v", state, details.Clipped)
		}
		// Every line is its own line, not run together into one paragraph.
		if lines := strings.Count(strings.TrimSpace(details.Text), "\n") + 1; lines != strings.Count(strings.TrimSpace(want), "\n")+1 {
			t.Errorf("%s: %d lines shown, want %d: %q", state, lines, strings.Count(strings.TrimSpace(want), "\n")+1, details.Text)
		}
		if summary, err = chromedp.Run(tctx, chromedp.Evaluate[panel](readPanel+`("Summary")`)); err != nil || !strings.Contains(summary.Text, "Blue/green migration e2e-11: blue → green at Kubernetes 1.31") {
			t.Errorf("%s: Summary %q (%v)", state, summary.Text, err)
		}
		t.Logf("%s: screenshot %s", state, filepath.Join(shots, "current-details-"+state+".png"))
	}

	waitGate(t, d.cutover, id, "cutover")
	look("gate")
	if !regexp.MustCompile(`^\*\*Waiting for gate "cutover"\*\*`).MatchString(currentDetails(t, d, id)) {
		t.Fatalf("not at the gate: %q", currentDetails(t, d, id))
	}
	if code, _, errs := d.cutover("approve", id, "--gate", "cutover", "--by", "bob"); code != 0 {
		t.Fatalf("approve: %s", errs)
	}
	waitGate(t, d.cutover, id, "retire")
	if code, _, errs := d.cutover("approve", id, "--gate", "retire", "--by", "alice"); code != 0 {
		t.Fatalf("approve retire: %s", errs)
	}
	if code, out, errs := d.cutover("watch", id); code != 0 {
		t.Fatalf("watch: %d %s%s", code, out, errs)
	}
	look("done")
	if !strings.HasPrefix(currentDetails(t, d, id), "**Done**") {
		t.Fatalf("not done: %q", currentDetails(t, d, id))
	}
}

func currentDetails(t *testing.T, d *devServer, id string) string {
	t.Helper()
	v, err := d.client.QueryWorkflow(context.Background(), id, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	if err := v.Get(&meta); err != nil {
		t.Fatal(err)
	}
	return meta.GetCurrentDetails()
}
