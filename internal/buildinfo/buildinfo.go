// Package buildinfo is the version and commit a cutover binary was built
// from, read the same way by the CLI (`cutover version`) and the worker
// (its startup log). The linker stamps them, as `make build` and
// deploy/Dockerfile do for both binaries:
//
//	go build -ldflags "-X github.com/cutover-dev/cutover/internal/buildinfo.Version=v0.2.0 \
//	  -X github.com/cutover-dev/cutover/internal/buildinfo.Commit=$(git rev-parse HEAD)" ./cmd/...
package buildinfo

import (
	"log/slog"
	"runtime"
	"runtime/debug"
)

// Version is the release, set by the linker. Empty falls back to the
// module version in the binary's build info (go install ...@v0.2.0), then
// "dev".
var Version string

// Commit is the VCS revision, set by the linker. Empty falls back to the
// vcs.revision the go command stamps when it builds inside a git checkout
// (not with -buildvcs=false, nor in an image build without .git).
var Commit string

// Info is what a binary says about its build.
type Info struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes (go's vcs.modified)
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// Read returns the running binary's Info: the stamped Version and Commit,
// completed from its build info.
func Read() Info {
	return read(Version, Commit, debug.ReadBuildInfo)
}

func read(version, commit string, buildInfo func() (*debug.BuildInfo, bool)) Info {
	i := Info{Version: version, Commit: commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := buildInfo(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		var revision string
		modified := false
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				revision = st.Value
			case "vcs.modified":
				modified = st.Value == "true"
			}
		}
		if i.Commit == "" {
			i.Commit = revision
		}
		// The tree's state is known only for the revision go saw.
		i.Modified = modified && i.Commit == revision
	}
	if i.Version == "" {
		i.Version = "dev"
	}
	return i
}

// ShortCommit is Commit's first 12 characters, with -dirty when the tree
// had uncommitted changes; empty when the commit is unknown.
func (i Info) ShortCommit() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	if c != "" && i.Modified {
		c += "-dirty"
	}
	return c
}

// LogValue logs Info as a group: logger.Info("Worker starting", "build",
// buildinfo.Read()) writes build.version, build.commit and build.go.
func (i Info) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("version", i.Version), slog.String("commit", i.Commit)}
	if i.Modified {
		attrs = append(attrs, slog.Bool("modified", true))
	}
	return slog.GroupValue(append(attrs, slog.String("go", i.Go))...)
}
