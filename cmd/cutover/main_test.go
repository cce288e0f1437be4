package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds cutover as `make build` does, with the version and
// commit set by the linker, and runs what needs no server: version,
// completion, help.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "cutover")
	const pkg = "github.com/cutover-dev/cutover/internal/buildinfo"
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X "+pkg+".Version=v0.0.0-test -X "+pkg+".Commit=0123456789abcdef0123456789abcdef01234567", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		// Nowhere: nothing here may contact Temporal.
		cmd.Env = append(cmd.Environ(), "TEMPORAL_ADDRESS=127.0.0.1:1")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version"}, 0, "cutover v0.0.0-test (commit 0123456789ab, go"},
		{[]string{"version", "-o", "json"}, 0, `"version": "v0.0.0-test"`},
		{[]string{"version", "-o", "json"}, 0, `"commit": "0123456789abcdef0123456789abcdef01234567"`},
		{[]string{"version", "-o", "yaml"}, 0, "commit: 0123456789abcdef0123456789abcdef01234567\n"},
		{[]string{"completion", "bash"}, 0, "__start_cutover"},
		{[]string{"completion", "zsh"}, 0, "#compdef cutover"},
		{[]string{"completion", "fish"}, 0, "complete -c cutover"},
		{[]string{"--help"}, 0, "cutover approve cutover-shop-prod-1-31 --gate cutover"},
		{[]string{"sandbox", "up", "--help"}, 0, "--kube-token-max-age"},
		{[]string{"status", "cutover-x"}, 3, "127.0.0.1:1"},
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
	} {
		if code, out := run(tc.args...); code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("cutover %s: exit %d, want %d with %q:\n%.1000s", strings.Join(tc.args, " "), code, tc.code, tc.want, out)
		}
	}
}
