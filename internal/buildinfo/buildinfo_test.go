package buildinfo

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRead(t *testing.T) {
	vcs := func(rev, modified string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	installed := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.3.0"}}, true
	}
	for _, c := range []struct {
		name            string
		version, commit string
		bi              func() (*debug.BuildInfo, bool)
		want            Info
	}{
		{"stamped", "v1.2.3", "abc123", vcs("def456", "true"), Info{Version: "v1.2.3", Commit: "abc123"}},
		{"stamped, go saw the same revision", "v1.2.3", "def456", vcs("def456", "true"), Info{Version: "v1.2.3", Commit: "def456", Modified: true}},
		{"from a checkout", "", "", vcs("def456", "false"), Info{Version: "dev", Commit: "def456"}},
		{"go install @version", "", "", installed, Info{Version: "v0.3.0"}},
		{"no build info", "", "", none, Info{Version: "dev"}},
	} {
		got := read(c.version, c.commit, c.bi)
		if got.Version != c.want.Version || got.Commit != c.want.Commit || got.Modified != c.want.Modified ||
			!strings.HasPrefix(got.Go, "go") || !strings.Contains(got.Platform, "/") {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if s := (Info{Commit: "0123456789abcdef", Modified: true}).ShortCommit(); s != "0123456789ab-dirty" {
		t.Errorf("ShortCommit %q", s)
	}
}

func TestLogValue(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("Worker starting", "build", Info{Version: "v1.2.3", Commit: "abc123", Go: "go1.26.8"})
	var line struct {
		Build map[string]any `json:"build"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Build["version"] != "v1.2.3" || line.Build["commit"] != "abc123" || line.Build["go"] != "go1.26.8" {
		t.Errorf("log line %s", buf.String())
	}
}
