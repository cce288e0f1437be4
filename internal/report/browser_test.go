package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromium is Debian's chromium (make tools installs it), or
// CUTOVER_CHROMIUM. Never skipped: a missing browser is a broken setup.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CUTOVER_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (make tools installs it with apt-get, or set CUTOVER_CHROMIUM): %v", err)
	}
	return p
}

func headless(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--disable-background-networking"}
	cmd := exec.CommandContext(ctx, chromium(t), append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// TestHTMLInABrowser opens the HTML report in headless Chromium: the DOM
// it builds has the timeline as SVG (bars, the gate's shading, the traffic
// line, the rollback mark) and the tables; the screenshot shows the
// phase bars' colours, so the picture is drawn, not just present.
func TestHTMLInABrowser(t *testing.T) {
	var b bytes.Buffer
	if err := HTML(&b, rolledBack()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := string(headless(t, "--dump-dom", "file://"+path))
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg"`, `class="gate"`, `class="traffic"`, `class="rollback"`, `class="failed"`,
		"<h2>Approvals</h2>", "<h2>Findings: error (1)</h2>", "<td>smoke is green</td>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the browser's DOM lacks %s", want)
		}
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	headless(t, "--window-size=1100,900", "--hide-scrollbars", "--screenshot="+shot, "file://"+path)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The bar colours of TimelineSVG's style: ok #2e8b57, failed #c0392b.
	want := map[[3]uint8]string{{0x2e, 0x8b, 0x57}: "ok bar", {0xc0, 0x39, 0x2b}: "failed bar"}
	seen := map[string]bool{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if what, ok := want[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8)}]; ok {
				seen[what] = true
			}
		}
	}
	for _, what := range want {
		if !seen[what] {
			t.Errorf("the screenshot shows no %s: the timeline was not drawn", what)
		}
	}
}
