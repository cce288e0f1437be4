package deploy_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfilePinsAndStamps: every base image of deploy/Dockerfile is
// pinned by a sha256 digest, and both binaries are built with the
// buildinfo version and commit stamped (what `cutover version` and the
// worker's startup log print). It reads the file; no image is built here.
func TestDockerfilePinsAndStamps(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`(?m)^FROM\s+(\S+)`)
	pinned := regexp.MustCompile(`^[^@\s]+:[^@\s]+@sha256:[0-9a-f]{64}$`)
	froms := from.FindAllStringSubmatch(string(b), -1)
	if len(froms) != 2 {
		t.Fatalf("want the build and runtime stages, got FROM %v", froms)
	}
	for _, m := range froms {
		if !pinned.MatchString(m[1]) {
			t.Errorf("FROM %s: want NAME:TAG@sha256:DIGEST", m[1])
		}
	}
	const pkg = "github.com/cutover-dev/cutover/internal/buildinfo"
	s := string(b)
	for _, want := range []string{"-X " + pkg + ".Version=${VERSION}", "-X " + pkg + ".Commit=${COMMIT}", "ARG VERSION", "ARG COMMIT"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	for _, bin := range []string{"./cmd/cutover-worker", "./cmd/cutover"} {
		if !regexp.MustCompile(`go build -trimpath -ldflags "\$LDFLAGS" -o \S+ ` + regexp.QuoteMeta(bin) + `(\s|$)`).MatchString(s) {
			t.Errorf("Dockerfile does not build %s with the stamped $LDFLAGS", bin)
		}
	}
}

// TestHelmTestImagePinned: helm test's pod image is pinned by digest too.
func TestHelmTestImagePinned(t *testing.T) {
	for _, o := range renderRaw(t) {
		if o["kind"] != "Pod" {
			continue
		}
		c := o["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
		if img, _ := c["image"].(string); !regexp.MustCompile(`^busybox:[0-9.]+@sha256:[0-9a-f]{64}$`).MatchString(img) {
			t.Errorf("helm test's pod runs %q, want busybox:TAG@sha256:DIGEST", img)
		}
		return
	}
	t.Error("no helm test pod rendered")
}
